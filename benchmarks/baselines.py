"""The two PuLP + CBC baselines of the benchmark, on the same numeric problem as the backends.

- ``well-formulated``: the exact segment formulation over each cell's whole
  box, with no windows and no fast path (``allocator.solvers.cbc`` solves the
  same model in windows). Its LP relaxation is integral, so CBC finishes at
  the root node.
- ``plain``: the model a first-time PuLP user writes: an integer variable per
  cell, and continuous shortfall, excess and change variables tied to it by
  inequalities. It states the same absolute objective, but its relaxation is
  fractional, so CBC has to branch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pulp

from allocator.solvers.cbc import build_pulp_model
from allocator.core.problem import ProblemData


@dataclass
class BaselineResult:
    """What one baseline run gave: status, exact objective of its plan, build and solve seconds."""

    status: str
    objective: float | None
    build_seconds: float
    solve_seconds: float


def _solve(model: pulp.LpProblem, variables: list[pulp.LpVariable], problem: ProblemData,
           time_limit: float, started: float) -> BaselineResult:
    built = time.perf_counter()
    model.solve(pulp.PULP_CBC_CMD(msg=False, threads=1, timeLimit=time_limit))
    solved = time.perf_counter()
    proven = model.status == pulp.LpStatusOptimal and model.sol_status == pulp.LpSolutionOptimal
    if not proven:
        status = "time limit" if model.sol_status in (pulp.LpSolutionIntegerFeasible, pulp.LpSolutionNoSolutionFound) \
            else pulp.LpStatus[model.status].lower()
        return BaselineResult(status, None, built - started, solved - built)
    units = np.rint([v.varValue for v in variables]).astype(np.int64)
    return BaselineResult("optimal", problem.total_cost(units), built - started, solved - built)


def well_formulated_cbc(problem: ProblemData, time_limit: float) -> BaselineResult:
    """The segment formulation over every cell's whole box, solved once by CBC."""
    started = time.perf_counter()
    model, n = build_pulp_model(problem, problem.lo, problem.hi)
    return _solve(model, n, problem, time_limit, started)


def plain_cbc(problem: ProblemData, time_limit: float) -> BaselineResult:
    """The first-time user's model (absolute objective only: there is no plain way to write the squared one)."""
    if problem.objective != "absolute":
        raise ValueError("the plain baseline states the absolute objective only")
    started = time.perf_counter()
    unit = problem.unit
    model = pulp.LpProblem("plain", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x_{c}", int(problem.lo[c]), int(problem.hi[c]), cat=pulp.LpInteger)
         for c in range(problem.n_cells)]
    cost = []
    for c in range(problem.n_cells):
        target = float(problem.target[c])
        short = pulp.LpVariable(f"short_{c}", 0)
        over = pulp.LpVariable(f"over_{c}", 0)
        model += short >= target - unit * x[c]
        model += over >= unit * x[c] - target
        cost += [(short, float(problem.penalty[c])), (over, 1.0)]
        previous = problem.previous[c]
        if problem.stability_weight and not np.isnan(previous):
            change = pulp.LpVariable(f"change_{c}", 0)
            model += change >= unit * x[c] - float(previous)
            model += change >= float(previous) - unit * x[c]
            cost.append((change, problem.stability_weight))
    model += pulp.LpAffineExpression(cost)
    for group in problem.groups:
        total = pulp.lpSum(x[c] for c in group.cells.tolist())
        if group.hi is not None and group.lo == group.hi:
            model += total == group.lo
            continue
        if group.lo > 0:
            model += total >= group.lo
        if group.hi is not None:
            model += total <= group.hi
    return _solve(model, x, problem, time_limit, started)
