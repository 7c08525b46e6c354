"""The library entry point: instance + model -> verified plan.

``solve`` builds the numeric problem, runs a backend, checks the plan with the
independent verifier and only then returns it. Nothing here touches files.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocator import __version__
from allocator.core.presolve import presolve
from allocator.core.problem import ProblemData, build_problem
from allocator.errors import InfeasibleError, InputError, Location, SolverError
from allocator.io.schemas import Instance, Model
from allocator.results.plan import Plan, build_plan
from allocator.results.verify import verify
from allocator.solvers import BackendResult, choose_backend
from allocator.solvers.flow import FlowBackend, structure

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


@dataclass
class ExactSolution:
    """The outcome of :func:`solve_exact`: the backend's result, and the canonical units of every cell."""

    result: BackendResult
    units: np.ndarray | None
    backend: str
    reason: str
    tie_rule: str
    presolve: dict[str, Any]


def solve_exact(problem: ProblemData, solver: str = "auto", time_limit: float | None = None) -> ExactSolution:
    """Presolve ``problem``, solve what is left to proven optimality, and put the fixed cells back.

    The units returned are the canonical optimum (see :func:`canonical_optimum`).

    Raises
    ------
    ValueError
        When ``solver`` is unknown or cannot take the problem.
    """
    presolved = presolve(problem)
    smaller = presolved.problem
    if smaller is None:
        return ExactSolution(BackendResult("infeasible", None, "presolve", presolved.infeasible or ""), None,
                             "presolve", "", "", presolved.report)
    backend, reason = choose_backend(solver, smaller)
    if smaller.n_cells == 0:  # every cell is fixed, and presolve checked every group against them
        result = BackendResult("optimal", np.zeros(0, dtype=np.int64), "presolve", "every cell is fixed by its bounds")
        return ExactSolution(result, presolved.restore(result.units), backend.name, reason,
                             "unique: every cell is fixed", presolved.report)
    if (smaller.lo > smaller.hi).any():
        result = BackendResult("infeasible", None, backend.name, "a cell's own bounds leave no value")
    else:
        result = backend.solve(smaller, time_limit=time_limit)
    if result.status != "optimal" or result.units is None:
        return ExactSolution(result, None, backend.name, reason, "", presolved.report)
    units, tie_rule = canonical_optimum(smaller, result.units, backend.name)
    return ExactSolution(result, presolved.restore(units), backend.name, reason, tie_rule, presolved.report)


def solve(instance: Instance, model: Model, *, solver: str = "auto", time_limit: float | None = None,
          inputs: dict[str, str] | None = None, diagnose_infeasible: bool = True) -> Plan:
    """Solve ``instance`` under ``model`` to proven optimality and verify the plan.

    Parameters
    ----------
    solver
        A backend name, or ``auto``.
    time_limit
        Seconds the solver may use; past it, :class:`SolverError`.
    inputs
        SHA-256 of the input files, recorded in the plan's metadata.
    diagnose_infeasible
        Name the conflicting rules of an infeasible instance (the diagnosis can take minutes on thousands
        of cells; a sweep only needs to know there is no plan).

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
    if model.objective == "biproportional":
        return _solve_biproportional(instance, model, problem, inputs, started, built)
    try:
        exact = solve_exact(problem, solver, time_limit)
    except ValueError as exc:
        raise InputError(str(exc), where=Location(None, None, "--solver")) from None
    result = exact.result
    if result.status == "infeasible" and not diagnose_infeasible:
        raise InfeasibleError("no plan meets every rule (not diagnosed)")
    if result.status == "infeasible":
        from allocator.solvers.diagnose import (
            diagnose,  # only here: it loads OR-Tools' linear solver (13 ms)
        )

        diagnosis = diagnose(instance, model)
        raise InfeasibleError(diagnosis.explanation, [rule.name for rule in diagnosis.conflicting], diagnosis)
    if result.status == "time_limit":
        raise SolverError(f"the solver stopped at the time limit of {time_limit:g} s before proving an optimum; "
                          "no plan was written. Raise --time-limit, or use --solver auto")
    if result.status != "optimal" or exact.units is None:
        raise SolverError(f"the solver {result.solver} failed ({result.status}) {result.detail}".strip())
    units, name, reason, tie_rule = exact.units, exact.backend, exact.reason, exact.tie_rule
    metadata: dict[str, Any] = {
        **run_metadata(instance.name, model, inputs),
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
        "presolve": exact.presolve,
        "seconds": {"prepare": built - started, "build": result.build_seconds, "solve": result.solve_seconds},
    }
    plan = build_plan(instance, model, problem, units, metadata)
    verify(instance, model, plan)
    plan.metadata["seconds"]["total"] = time.perf_counter() - started
    plan.metadata["verified"] = True
    return plan


def run_metadata(instance_name: str, model: Model, inputs: dict[str, str] | None) -> dict[str, Any]:
    """The first keys of every plan's metadata: the tool, the instance, the model and the inputs' SHA-256."""
    return {"tool": "allocator", "tool_version": __version__, "instance": instance_name, "model": model.name,
            "inputs": dict(sorted((inputs or {}).items()))}


def _solve_biproportional(instance: Instance, model: Model, problem: ProblemData, inputs: dict[str, str] | None,
                          started: float, built: float) -> Plan:
    """``objective: biproportional``: the exact biproportional divisor method, verified like every plan."""
    from allocator.core.matrix import matrix_plan

    bounds = {(bound.area, bound.specialty): bound for bound in instance.bounds}

    def locate(area: str, specialty: str | None) -> Location | None:
        bound = bounds.get((area, specialty))
        return bound.where("area") if bound is not None else None

    matrix = matrix_plan(problem, locate)
    solved = time.perf_counter()
    metadata: dict[str, Any] = {
        **run_metadata(instance.name, model, inputs),
        "solver": "biproportional",
        "solver_version": "tie-and-transfer (exact)",
        "solver_choice": "objective: biproportional",
        "status": "optimal",
        "solver_detail": "the biproportional divisor method; it minimises the reported objective",
        "tie_rule": "areas and specialties in ascending id order; ties are listed under 'biproportional'",
        "solver_path": "biproportional",
        "python": platform.python_version(),
        "cells": problem.n_cells,
        "constraint_groups": len(problem.groups),
        "presolve": {},
        "biproportional": matrix.details,
        "seconds": {"prepare": built - started, "build": 0.0, "solve": solved - built},
    }
    plan = build_plan(instance, model, problem, matrix.units, metadata)
    verify(instance, model, plan)
    plan.metadata["seconds"]["total"] = time.perf_counter() - started
    plan.metadata["verified"] = True
    return plan
