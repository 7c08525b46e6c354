"""OR-Tools CP-SAT on the segment model with integer-scaled costs.

CP-SAT needs integer objective coefficients: slopes are scaled by a power of
two and rounded (:func:`allocator.core.formulation.integer_slopes`), and the plan's
objective is recomputed from the true costs.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.init.python import init
from ortools.sat.python import cp_model

from allocator.core.formulation import build_segments, integer_slopes
from allocator.core.problem import ProblemData
from allocator.solvers.base import (
    Backend,
    BackendResult,
    Capability,
    Status,
    solve_in_windows,
)


class CpSatBackend(Backend):
    """CP-SAT: exact on the scaled integer costs, single worker for reproducible runs."""

    name = "cpsat"
    capabilities = Capability.EXACT | Capability.TIME_LIMIT | Capability.WARM_START

    def solve(self, problem: ProblemData, time_limit: float | None = None) -> BackendResult:
        return solve_in_windows(problem, self._solve_window, f"CP-SAT {init.OrToolsVersion.version_string()}",
                                time_limit)

    def _solve_window(self, problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
                      time_limit: float | None) -> tuple[Status, np.ndarray | None, float, float]:
        started = time.perf_counter()
        segments = build_segments(problem, wlo, whi)
        slopes, _ = integer_slopes(segments, int(segments.length.sum()))
        model = cp_model.CpModel()
        n = [model.new_int_var(int(wlo[c]), int(whi[c]), f"n{c}") for c in range(problem.n_cells)]
        pieces = [model.new_int_var(0, int(length), f"s{j}") for j, length in enumerate(segments.length.tolist())]
        for c, first, last in segments.runs():
            model.add(n[c] == int(wlo[c]) + sum(pieces[first:last]))
        for group in problem.groups:
            total = sum(n[c] for c in group.cells.tolist())
            if group.hi is not None and group.lo == group.hi:
                model.add(total == group.lo)
            else:
                if group.lo > 0:
                    model.add(total >= group.lo)
                if group.hi is not None:
                    model.add(total <= group.hi)
        model.minimize(sum(int(a) * p for a, p in zip(slopes.tolist(), pieces)))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        if time_limit is not None:
            solver.parameters.max_time_in_seconds = float(time_limit)
        built = time.perf_counter()
        status = solver.solve(model)
        solved = time.perf_counter()
        if status == cp_model.INFEASIBLE:
            return "infeasible", None, built - started, solved - built
        if status == cp_model.OPTIMAL:
            return "optimal", np.array([solver.value(v) for v in n], dtype=np.int64), built - started, solved - built
        if status == cp_model.FEASIBLE or status == cp_model.UNKNOWN:
            return "time_limit", None, built - started, solved - built
        return "error", None, built - started, solved - built
