"""The library entry point: instance + model -> verified plan.

``solve`` builds the numeric problem, runs a backend, checks the plan with the
independent verifier and only then returns it. Nothing here touches files.
"""

from __future__ import annotations

import platform
import time
from typing import Any

from allocator import __version__
from allocator.backends import BackendResult, choose_backend
from allocator.diagnose import diagnose
from allocator.errors import InfeasibleError, InputError, Location, SolverError
from allocator.plan import Plan, build_plan
from allocator.problem import build_problem
from allocator.schemas import Instance, Model
from allocator.verify import verify


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
        diagnosis = diagnose(instance, model)
        raise InfeasibleError(diagnosis.explanation, [rule.name for rule in diagnosis.conflicting], diagnosis)
    if result.status == "time_limit":
        raise SolverError(f"the solver stopped at the time limit of {time_limit:g} s before proving an optimum; "
                          "no plan was written. Raise --time-limit, or use --solver auto")
    if result.status != "optimal" or result.units is None:
        raise SolverError(f"the solver {result.solver} failed ({result.status}) {result.detail}".strip())
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
        "solver_path": result.extra.get("path", name),
        "python": platform.python_version(),
        "cells": problem.n_cells,
        "constraint_groups": len(problem.groups),
        "seconds": {"prepare": built - started, "build": result.build_seconds, "solve": result.solve_seconds},
    }
    plan = build_plan(instance, model, problem, result.units, metadata)
    verify(instance, model, plan)
    plan.metadata["seconds"]["total"] = time.perf_counter() - started
    plan.metadata["verified"] = True
    return plan
