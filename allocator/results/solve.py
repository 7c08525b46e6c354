"""The library entry point: instance + model -> verified plan.

``solve`` builds the numeric problem, runs a backend, checks the plan with the
independent verifier and only then returns it. Nothing here touches files.
"""

from __future__ import annotations

import platform
import time
from typing import Any

import numpy as np

from allocator import __version__
from allocator.solvers import BackendResult, choose_backend
from allocator.solvers.flow import FlowBackend, structure
from allocator.errors import InfeasibleError, InputError, Location, SolverError
from allocator.results.plan import Plan, build_plan
from allocator.core.problem import ProblemData, build_problem
from allocator.io.schemas import Instance, Model
from allocator.results.verify import verify


#: Backends' optimal objectives may differ by rounding in the last digits (CP-SAT and min-cost
#: flow optimise integer-scaled costs, see docs/mathematics.md); more than this is a disagreement.
AGREEMENT = 1e-6


def canonical_optimum(problem: ProblemData, units: np.ndarray, solver: str) -> tuple[np.ndarray, str]:
    """The plan to write among all optimal ones, whichever backend proved the optimum.

    Different backends may return different plans of exactly equal cost. The
    tie rule is implemented once: the plan is the one the exact fast path
    (greedy, or min-cost flow on the cells in sorted order) returns. Its
    objective must equal the proving backend's, or this raises.
    """
    if solver == "flow" or structure(problem) == "none":
        return units, f"as returned by {solver}"
    fast = FlowBackend().solve(problem)
    if fast.status != "optimal" or fast.units is None:
        raise SolverError(f"the exact fast path failed ({fast.status}) on a problem {solver} solved; report this")
    proved, canonical = problem.total_cost(units), problem.total_cost(fast.units)
    if abs(proved - canonical) > AGREEMENT * max(1.0, abs(proved)):
        raise SolverError(f"{solver} and the fast path disagree on the optimum ({proved!r} vs {canonical!r}); "
                          "no plan was written. Report this, and use --solver auto meanwhile")
    return fast.units, f"canonical optimum of the {fast.extra.get('path', 'flow')} path (objective proved by {solver})"


def solve(instance: Instance, model: Model, *, solver: str = "auto", time_limit: float | None = None,
          inputs: dict[str, str] | None = None) -> Plan:
    """Solve ``instance`` under ``model`` to proven optimality and verify the plan.

    Parameters
    ----------
    solver
        A backend name, or ``auto``.
    time_limit
        Seconds the solver may use; past it, :class:`SolverError`.
    inputs
        SHA-256 of the input files, recorded in the plan's metadata.

    Raises
    ------
    InfeasibleError
        When no plan meets every rule; the message names the conflicting rules.
    SolverError
        When the solver fails or stops at the time limit.
    VerificationError
        When the plan breaks a rule (a defect in a backend).
    """
    started = time.perf_counter()
    problem = build_problem(instance, model)
    built = time.perf_counter()
    try:
        backend, reason = choose_backend(solver, problem)
    except ValueError as exc:
        raise InputError(str(exc), where=Location(None, None, "--solver")) from None
    name = backend.name
    if (problem.lo > problem.hi).any():
        result = BackendResult("infeasible", None, name, "a cell's own bounds leave no value")
    else:
        result = backend.solve(problem, time_limit=time_limit)
    if result.status == "infeasible":
        from allocator.solvers.diagnose import diagnose  # only here: it loads OR-Tools' linear solver (13 ms)

        diagnosis = diagnose(instance, model)
        raise InfeasibleError(diagnosis.explanation, [rule.name for rule in diagnosis.conflicting], diagnosis)
    if result.status == "time_limit":
        raise SolverError(f"the solver stopped at the time limit of {time_limit:g} s before proving an optimum; "
                          "no plan was written. Raise --time-limit, or use --solver auto")
    if result.status != "optimal" or result.units is None:
        raise SolverError(f"the solver {result.solver} failed ({result.status}) {result.detail}".strip())
    units, tie_rule = canonical_optimum(problem, result.units, name)
    metadata: dict[str, Any] = {
        "tool": "allocator",
        "tool_version": __version__,
        "instance": instance.name,
        "model": model.name,
        "inputs": dict(sorted((inputs or {}).items())),
        "solver": name,
        "solver_version": result.solver,
        "solver_choice": reason,
        "status": "optimal",
        "solver_detail": result.detail,
        "tie_rule": tie_rule,
        "solver_path": result.extra.get("path", name),
        "python": platform.python_version(),
        "cells": problem.n_cells,
        "constraint_groups": len(problem.groups),
        "seconds": {"prepare": built - started, "build": result.build_seconds, "solve": result.solve_seconds},
    }
    plan = build_plan(instance, model, problem, units, metadata)
    verify(instance, model, plan)
    plan.metadata["seconds"]["total"] = time.perf_counter() - started
    plan.metadata["verified"] = True
    return plan
