"""HiGHS on the integral-relaxation LP, reached through OR-Tools.

ortools 9.15 and highspy 1.15 cannot live in one process (a HiGHS symbol
clash, google/or-tools#5246), and PuLP's HiGHS uses highspy, so HiGHS is
called through OR-Tools' own build. The model is solved as an LP: its
relaxation is integral (see :mod:`allocator.core.formulation`), and a MIP solve
would both cost more and stop at HiGHS's default relative gap of 1e-4. The
LP's vertex is checked to be integral before it is accepted.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.init.python import init
from ortools.linear_solver import pywraplp

from allocator.core.formulation import build_segments
from allocator.core.problem import ProblemData
from allocator.solvers.base import (
    Backend,
    BackendResult,
    Capability,
    Status,
    solve_in_windows,
)


def add_groups(solver: pywraplp.Solver, problem: ProblemData, n: list) -> list[pywraplp.Constraint]:
    """Add every constraint group as one ranged row over the cell variables; return the rows."""
    infinity = solver.infinity()
    rows = []
    for group in problem.groups:
        row = solver.Constraint(float(group.lo), infinity if group.hi is None else float(group.hi))
        for c in group.cells.tolist():
            row.SetCoefficient(n[c], 1.0)
        rows.append(row)
    return rows


def build_lp(problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
             engine: str = "HIGHS_LP") -> tuple[pywraplp.Solver, list, list]:
    """The segment LP over the window [wlo, whi]: (solver, cell variables, one row per group)."""
    segments = build_segments(problem, wlo, whi)
    solver = pywraplp.Solver.CreateSolver(engine)
    solver.SuppressOutput()
    if engine == "HIGHS_LP":
        # SuppressOutput does not silence HiGHS's start-up banner; its own option does.
        solver.SetSolverSpecificParametersAsString("output_flag = false\n")
    n = [solver.NumVar(float(wlo[c]), float(whi[c]), "") for c in range(problem.n_cells)]
    pieces = [solver.NumVar(0.0, float(length), "") for length in segments.length.tolist()]
    objective = solver.Objective()
    for piece, slope in zip(pieces, segments.slope.tolist()):
        objective.SetCoefficient(piece, slope)
    objective.SetOffset(float(segments.start_cost.sum()))
    objective.SetMinimization()
    for c, first, last in segments.runs():
        link = solver.Constraint(float(wlo[c]), float(wlo[c]))
        link.SetCoefficient(n[c], 1.0)
        for j in range(first, last):
            link.SetCoefficient(pieces[j], -1.0)
    return solver, n, add_groups(solver, problem, n)


def group_duals(problem: ProblemData, units: np.ndarray) -> dict[str, float] | None:
    """LP duals of the groups, with each cell held within one unit of the integer plan ``units``.

    Conditional on that plan: the LP is solved on the window [units - 1,
    units + 1] (within each box), whose optimum is the plan itself; its duals
    are marginal costs per unit of each group's limit around the plan, and
    may be degenerate (any value in an interval is a valid dual).

    Solved by GLOP: OR-Tools' HiGHS interface (9.15) returns each row's
    activity where the dual should be, so HiGHS does not declare DUALS.
    """
    wlo = np.maximum(problem.lo, units - 1)
    whi = np.minimum(problem.hi, units + 1)
    solver, _, rows = build_lp(problem, wlo, whi, "GLOP")
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return {group.name: row.dual_value() for group, row in zip(problem.groups, rows)}


class HighsBackend(Backend):
    """HiGHS (simplex) on the LP with an integral relaxation."""

    name = "highs"
    capabilities = Capability.EXACT | Capability.TIME_LIMIT

    def available(self) -> bool:
        return pywraplp.Solver.CreateSolver("HIGHS_LP") is not None

    def solve(self, problem: ProblemData, time_limit: float | None = None) -> BackendResult:
        return solve_in_windows(problem, self._solve_window, f"HiGHS LP via OR-Tools {init.OrToolsVersion.version_string()}",
                                time_limit)

    def _solve_window(self, problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
                      time_limit: float | None) -> tuple[Status, np.ndarray | None, float, float]:
        started = time.perf_counter()
        solver, n, _ = build_lp(problem, wlo, whi)
        if time_limit is not None:
            solver.SetTimeLimit(int(time_limit * 1000))
        built = time.perf_counter()
        status = solver.Solve()
        solved = time.perf_counter()
        if status == pywraplp.Solver.INFEASIBLE:
            return "infeasible", None, built - started, solved - built
        if status != pywraplp.Solver.OPTIMAL:
            return ("time_limit" if time_limit is not None and solved - started >= time_limit * 0.99 else "error"), \
                None, built - started, solved - built
        values = np.array([v.solution_value() for v in n])
        units = np.rint(values).astype(np.int64)
        if np.any(np.abs(values - units) > 1e-6):
            return "error", None, built - started, solved - built
        return "optimal", units, built - started, solved - built
