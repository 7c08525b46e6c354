"""The reference backend: the exact integer program in PuLP, solved by CBC."""

from __future__ import annotations

import time

import numpy as np
import pulp

from allocator.core.formulation import build_segments
from allocator.core.problem import ProblemData
from allocator.solvers.base import (
    Backend,
    BackendResult,
    Capability,
    Status,
    solve_in_windows,
)


def build_pulp_model(problem: ProblemData, wlo: np.ndarray, whi: np.ndarray) -> tuple[pulp.LpProblem, list]:
    """The integer program over the windows ``[wlo, whi]``, as a PuLP problem.

    Returns the problem and the list of integer variables n_c, one per cell.
    """
    segments = build_segments(problem, wlo, whi)
    model = pulp.LpProblem("allocation", pulp.LpMinimize)
    n = [pulp.LpVariable(f"n_{c}", int(wlo[c]), int(whi[c]), cat=pulp.LpInteger) for c in range(problem.n_cells)]
    pieces = [pulp.LpVariable(f"s_{j}", 0, int(length)) for j, length in enumerate(segments.length)]
    model += pulp.LpAffineExpression(
        list(zip(pieces, segments.slope.tolist())), constant=float(segments.start_cost.sum())
    ), "cost"
    for c, first, last in segments.runs():
        link = pulp.LpAffineExpression([(n[c], 1.0)] + [(pieces[j], -1.0) for j in range(first, last)])
        model += pulp.LpConstraint(link, pulp.LpConstraintEQ, f"link_{c}", float(wlo[c]))
    for index, group in enumerate(problem.groups):
        total = pulp.LpAffineExpression([(n[c], 1.0) for c in group.cells.tolist()])
        if group.hi is not None and group.lo == group.hi:
            model += pulp.LpConstraint(total, pulp.LpConstraintEQ, f"g{index}_eq", group.lo)
            continue
        if group.lo > 0:
            model += pulp.LpConstraint(total, pulp.LpConstraintGE, f"g{index}_lo", group.lo)
        if group.hi is not None:
            model += pulp.LpConstraint(total, pulp.LpConstraintLE, f"g{index}_hi", group.hi)
    return model, n


class CbcBackend(Backend):
    """PuLP + CBC: the general engine and the reference for every other backend."""

    name = "cbc"
    capabilities = Capability.EXACT | Capability.TIME_LIMIT

    def available(self) -> bool:
        return bool(pulp.PULP_CBC_CMD(msg=False).available())

    def solve(self, problem: ProblemData, time_limit: float | None = None) -> BackendResult:
        return solve_in_windows(problem, self._solve_window, f"CBC via PuLP {pulp.__version__}", time_limit)

    def _solve_window(self, problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
                      time_limit: float | None) -> tuple[Status, np.ndarray | None, float, float]:
        started = time.perf_counter()
        model, n = build_pulp_model(problem, wlo, whi)
        built = time.perf_counter()
        options = {"msg": False, "threads": 1}
        if time_limit is not None:
            # as given: CBC's -sec takes fractions of a second (int() made 0.5 s a whole second)
            options["timeLimit"] = float(time_limit)
        model.solve(pulp.PULP_CBC_CMD(**options))
        solved = time.perf_counter()
        # PuLP reports "Optimal" when CBC stops at its time limit with a solution
        # (coin-or/pulp#649); only sol_status tells a proven optimum apart.
        if model.status == pulp.LpStatusInfeasible or model.sol_status == pulp.LpSolutionInfeasible:
            return "infeasible", None, built - started, solved - built
        if model.status == pulp.LpStatusOptimal and model.sol_status == pulp.LpSolutionOptimal:
            values = np.array([v.varValue if v.varValue is not None else np.nan for v in n])
            units = np.rint(values).astype(np.int64)
            if np.any(np.abs(values - units) > 1e-6):
                return "error", None, built - started, solved - built
            return "optimal", units, built - started, solved - built
        if model.sol_status == pulp.LpSolutionIntegerFeasible or model.status == pulp.LpStatusNotSolved:
            return "time_limit", None, built - started, solved - built
        return "error", None, built - started, solved - built
