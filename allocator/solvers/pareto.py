"""The exact equity–stability trade-off: the ε-constraint method on the flow network or a MILP.

Two objectives over the integer plans of a problem (in units n_c, posts x_c = u n_c):

- f1, equity: the model's own cost without its stability term (``equity``),
  the summed weighted shortfall sum_c p_c max(0, t_c - x_c) (``shortfall``),
  or compare's max/min ratio of posts per need over the leaves with need
  (``ratio``, infinite when such a leaf gets no post; :class:`RatioFront`);
- f2, stability: the disruption sum_c |x_c - prev_c| over the cells with last
  year's posts.

The first two and f2 are separable and convex. The ε-constraint method finds every
nondominated point: take the plan that minimises f1 and, among those, f2
(lexicographic); then require f2 <= f2(last point) - u and repeat until no
plan is left. Every nondominated point is found, because f2 takes values on
the unit lattice when last year's posts do (so no value of f2 lies strictly
between two steps), and each step is a lexicographic optimum. Nothing in
this argument needs f1 to be separable: the ratio's steps are lexicographic
optima too, found by Dinkelbach's iteration (:class:`RatioFront`).

**Flow path.** When every constraint group lies within one specialty, the
groups form one laminar family, and every cell has last year's posts, the
ε-problem is a min-cost flow: each unit of a cell above its last year's posts
goes through one budget node M, whose arc to the sink carries at most B
units. With fixed totals, f2 = 2·F_above - (N - L) + sum_c |lo_c - p_c| (N the
posts placed, L the cells' lower limits, in units), so f2 <= ε is exactly
F_above <= B = floor((ε + N - L - sum_c |lo_c - p_c|) / 2). The
lexicographic order is one integer cost: K·s1 + [unit above last year], with
s1 the integer-scaled equity slopes (as on the solve's flow path,
:func:`allocator.core.formulation.integer_slopes`) and K = B + 1 > F_above.

**MILP** otherwise (OR-Tools' SCIP, relative gap 0): the same two stages, f1
by its exact convex segments, then f2 with f1 held at its optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.linear_solver import pywraplp

from allocator.core.problem import ProblemData
from allocator.solvers.flow import laminar_parents, nesting_order

Equity = Literal["equity", "shortfall", "ratio"]
EQUITY_METRICS: tuple[str, ...] = ("equity", "shortfall", "ratio")
#: The MILP's slack when holding f1 at its optimum in the second stage (relative, and absolute below 1).
_HOLD = 1e-9


@dataclass(frozen=True)
class FrontPoint:
    """One nondominated plan: its units, f1 (equity) and f2 (disruption, posts), and the ε that found it."""

    units: np.ndarray
    equity: float
    stability: float
    epsilon: float | None


def equity_costs(problem: ProblemData, equity: Equity, n: np.ndarray, cells: np.ndarray | None = None) -> np.ndarray:
    """f1 of each cell at ``n`` units (``problem`` must have stability weight 0 for ``equity``)."""
    if equity == "equity":
        return problem.cell_cost(n, cells)
    idx = slice(None) if cells is None else cells
    x = np.asarray(n, dtype=float) * problem.unit
    return problem.penalty[idx] * np.maximum(0.0, problem.target[idx] - x)


def disruption(problem: ProblemData, units: np.ndarray) -> float:
    """f2: sum over cells with last year's posts of |x - prev| (posts), summed exactly."""
    known = ~np.isnan(problem.previous)
    change = np.abs(units[known].astype(float) * problem.unit - problem.previous[known])
    return math.fsum(change.tolist())


def objectives(problem: ProblemData, equity: Equity, units: np.ndarray) -> tuple[float, float]:
    """(f1, f2) of a plan, summed exactly (f1 of ``ratio``: :func:`need_ratio`)."""
    if equity == "ratio":
        return need_ratio(problem, units), disruption(problem, units)
    return math.fsum(equity_costs(problem, equity, units).tolist()), disruption(problem, units)


def needy_leaves(problem: ProblemData) -> tuple[np.ndarray, np.ndarray]:
    """The leaves with need > 0 (indices into ``problem.leaves``) and their need, as compare measures them."""
    needs = np.array([problem.needs[leaf].need if leaf in problem.needs else 0.0 for leaf in problem.leaves])
    which = np.flatnonzero(needs > 0)
    return which, needs[which]


def need_ratio(problem: ProblemData, units: np.ndarray) -> float:
    """compare's ``posts_per_need_max_min_ratio`` of a plan: max_l / min_l of posts_l / need_l (inf: a leaf has 0).

    Over the leaves with need > 0, posts summed over specialties (a leaf's posts are multiples of the
    unit, so their sum is exact in any order), divided as :func:`allocator.reports.compare.max_min_ratio`
    divides.
    """
    which, needs = needy_leaves(problem)
    posts = np.bincount(problem.cell_leaf, weights=np.asarray(units, dtype=float) * problem.unit,
                        minlength=len(problem.leaves))
    per_need = [p / n for p, n in zip(posts[which].tolist(), needs.tolist())]
    if not per_need or min(per_need) <= 0:
        return math.inf
    return max(per_need) / min(per_need)


def on_lattice(problem: ProblemData) -> bool:
    """Whether every known last year's posts is a whole number of units (then f2 moves in steps of u)."""
    known = problem.previous[~np.isnan(problem.previous)] / problem.unit
    return bool(np.all(np.abs(known - np.rint(known)) <= 1e-9))


def flow_ready(problem: ProblemData) -> bool:
    """Whether each ε-problem is a min-cost flow (see the module's docstring)."""
    if np.isnan(problem.previous).any():
        return False
    for group in problem.groups:
        if len(group.cells) and len(set(problem.cell_specialty[group.cells].tolist())) > 1:
            return False
    parents = laminar_parents(problem.groups)
    return parents is not None and all(parent != -1 or g.kind == "total" for g, parent in zip(problem.groups, parents))


def _unit_slopes(problem: ProblemData, equity: Equity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell, start point (units) and equity slope of every unit step of every cell's box."""
    spans = np.maximum(problem.hi - problem.lo, 0)
    cells = np.repeat(np.arange(problem.n_cells), spans)
    points = problem.lo[cells] + np.arange(len(cells)) - np.repeat(np.cumsum(spans) - spans, spans)
    slopes = equity_costs(problem, equity, points + 1, cells) - equity_costs(problem, equity, points, cells)
    return cells, points, slopes


class FlowFront:
    """The ε-problems of one problem as min-cost flows; the network's fixed parts are made once."""

    def __init__(self, problem: ProblemData, equity: Equity) -> None:
        self.problem = problem
        groups = problem.groups
        parents = laminar_parents(groups)
        assert parents is not None
        self.sink = len(groups) + 1
        self.budget_node = len(groups)
        supplies = np.zeros(len(groups) + 2, dtype=np.int64)
        big = int(sum(g.lo for g in groups if g.kind == "total"))
        tails, heads, caps = [], [], []
        self.feasible = True
        for g, (group, parent) in enumerate(zip(groups, parents)):
            if parent == -1:
                supplies[g] += group.lo
                supplies[self.sink] -= group.lo
                continue
            upper = big if group.hi is None else group.hi
            if group.lo > upper:
                self.feasible = False
            supplies[parent] -= group.lo
            supplies[g] += group.lo
            tails.append(parent)
            heads.append(g)
            caps.append(max(0, upper - group.lo))
        innermost = np.full(problem.n_cells, -1, dtype=np.int64)
        for k in nesting_order(groups):
            innermost[groups[k].cells] = k
        np.subtract.at(supplies, innermost, problem.lo)
        supplies[self.sink] += int(problem.lo.sum())
        self.supplies = supplies
        self.tree = (np.array(tails, dtype=np.int64), np.array(heads, dtype=np.int64), np.array(caps, dtype=np.int64))
        cells, points, slopes = _unit_slopes(problem, equity)
        prev_units = np.rint(problem.previous / problem.unit).astype(np.int64)
        self.cells, self.slopes = cells, slopes
        self.above = points >= prev_units[cells]
        self.tails = innermost[cells]
        self.heads = np.where(self.above, self.budget_node, self.sink)
        # f2 = 2 F_above + offset (module docstring), in units.
        placed = int(sum(g.lo for g in groups if g.kind == "total"))
        self.offset = -(placed - int(problem.lo.sum())) + int(np.abs(problem.lo - prev_units).sum())
        self.largest_above = int(self.above.sum())

    def lexmin(self, epsilon_units: int | None) -> np.ndarray | None:
        """The plan minimising f1, then f2, with f2 <= ``epsilon_units`` units (None: no limit); None if none."""
        if not self.feasible:
            return None
        budget = self.largest_above if epsilon_units is None else (epsilon_units - self.offset) // 2
        if budget < 0:
            return None
        budget = min(budget, self.largest_above)
        weight = budget + 1
        largest = (float(np.max(np.abs(self.slopes))) if len(self.slopes) else 0.0) or 1.0
        units_in_play = max(1, len(self.slopes))
        scale = 2.0 ** math.floor(math.log2(2.0**52 / (largest * weight * units_in_play)))
        costs = np.rint(self.slopes * scale).astype(np.int64) * weight + self.above.astype(np.int64)
        flow = min_cost_flow.SimpleMinCostFlow()
        tails, heads, caps = self.tree
        if len(tails):
            flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, np.zeros(len(tails), dtype=np.int64))
        first = len(tails)
        if len(self.cells):
            flow.add_arcs_with_capacity_and_unit_cost(self.tails, self.heads, np.ones(len(self.cells), dtype=np.int64),
                                                      costs)
        flow.add_arc_with_capacity_and_unit_cost(self.budget_node, self.sink, budget, 0)
        flow.set_nodes_supplies(np.arange(len(self.supplies)), self.supplies)
        status = flow.solve()
        if status == flow.INFEASIBLE:
            return None
        if status != flow.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed on an ε-problem (status {status})")
        flows = flow.flows(np.arange(first, first + len(self.cells)))
        return self.problem.lo + np.bincount(self.cells, weights=flows, minlength=self.problem.n_cells).astype(np.int64)


class MilpFront:
    """The ε-problems as MILPs (SCIP through OR-Tools, gap 0), for problems the flow cannot take."""

    def __init__(self, problem: ProblemData, equity: Equity) -> None:
        self.problem = problem
        self.equity = equity

    def lexmin(self, epsilon_units: int | None) -> np.ndarray | None:
        """As :meth:`FlowFront.lexmin`, by two MILP solves."""
        problem = self.problem
        solver, n, change = _rules_milp(problem, epsilon_units)
        parameters = pywraplp.MPSolverParameters()
        parameters.SetDoubleParam(parameters.RELATIVE_MIP_GAP, 0.0)
        cells, _, slopes = _unit_slopes(problem, self.equity)
        # One piece per unit step: convex slopes, so the cheap steps fill first at every integer n_c.
        pieces = [solver.NumVar(0.0, 1.0, "") for _ in range(len(cells))]
        for c in range(problem.n_cells):
            link = solver.Constraint(float(problem.lo[c]), float(problem.lo[c]))
            link.SetCoefficient(n[c], 1.0)
            for j in np.flatnonzero(cells == c).tolist():
                link.SetCoefficient(pieces[j], -1.0)
        start = math.fsum(equity_costs(problem, self.equity, problem.lo).tolist())
        objective = solver.Objective()
        for piece, slope in zip(pieces, slopes.tolist()):
            objective.SetCoefficient(piece, slope)
        objective.SetMinimization()
        status = solver.Solve(parameters)
        if status == pywraplp.Solver.INFEASIBLE:
            return None
        if status != pywraplp.Solver.OPTIMAL:
            raise RuntimeError(f"the MILP failed on an ε-problem (status {status})")
        best = objective.Value()
        hold = solver.Constraint(-solver.infinity(), best + _HOLD * max(1.0, abs(best + start)))
        for piece, slope in zip(pieces, slopes.tolist()):
            hold.SetCoefficient(piece, slope)
        objective.Clear()
        for d in change:
            objective.SetCoefficient(d, 1.0)
        objective.SetMinimization()
        status = solver.Solve(parameters)
        if status != pywraplp.Solver.OPTIMAL:
            raise RuntimeError(f"the MILP's second stage failed on an ε-problem (status {status})")
        return np.array([round(v.solution_value()) for v in n], dtype=np.int64)


class RatioFront:
    """The ε-problems of the max/min ratio of posts per need (f1 = :func:`need_ratio`), as MILPs.

    f1 is not separable, so the flow path does not apply. For one ε (module docstring):

    1. a plan with f2 <= ε that gives every leaf with need a post (none: every plan within ε has an
       infinite ratio, and the one of least f2 is returned);
    2. Dinkelbach's iteration from its ratio λ: maximise λ·m - M over the plans with f2 <= ε, where
       m <= P_l/ν_l <= M for every leaf with need (P_l its posts, ν_l its need scaled to at most 1).
       At the optimum m and M are the plan's least and largest posts per need, so a positive value
       is a plan of ratio M/m < λ; λ takes that plan's ratio (recomputed as compare computes it)
       and the step repeats. It stops when no plan beats λ: λ is then the least ratio within ε.
       λ falls strictly and takes only values of plans, of which there are finitely many, so it stops;
    3. among the plans of ratio <= λ (m·ν_l <= P_l <= λ·m·ν_l) and f2 <= ε, one of least f2.
    """

    def __init__(self, problem: ProblemData) -> None:
        self.problem = problem
        self.needy, needs = needy_leaves(problem)
        self.scaled = needs / needs.max() if len(needs) else needs

    def _model(self, epsilon_units: int | None, posts_everywhere: bool) -> tuple[pywraplp.Solver, list, list, list]:
        """The rules, |x - prev| <= d, f2 <= ε, and (optionally) a post for every leaf with need."""
        problem = self.problem
        solver, n, change = _rules_milp(problem, epsilon_units)
        leaf_posts = []
        for leaf in self.needy.tolist():
            cells = np.flatnonzero(problem.cell_leaf == leaf).tolist()
            leaf_posts.append(cells)
            if posts_everywhere:
                row = solver.Constraint(1.0, solver.infinity())
                for c in cells:
                    row.SetCoefficient(n[c], 1.0)
        return solver, n, change, leaf_posts

    def _ratio_rows(self, solver: pywraplp.Solver, n: list, leaf_posts: list, high: float | None) -> tuple:
        """m <= P_l / ν_l for every leaf with need, and P_l / ν_l <= M (or <= high·m when ``high`` is given)."""
        unit = self.problem.unit
        low = solver.NumVar(0.0, solver.infinity(), "")
        top = solver.NumVar(0.0, solver.infinity(), "") if high is None else None
        for cells, nu in zip(leaf_posts, self.scaled.tolist()):
            floor = solver.Constraint(0.0, solver.infinity())  # P_l - ν_l m >= 0
            ceiling = solver.Constraint(-solver.infinity(), 0.0)  # P_l - ν_l M <= 0, or P_l - high ν_l m <= 0
            for c in cells:
                floor.SetCoefficient(n[c], unit)
                ceiling.SetCoefficient(n[c], unit)
            floor.SetCoefficient(low, -nu)
            if top is None:
                ceiling.SetCoefficient(low, -high * nu)
            else:
                ceiling.SetCoefficient(top, -nu)
        return low, top

    def _least_disruption(self, epsilon_units: int | None, posts_everywhere: bool,
                          ratio: float | None = None) -> np.ndarray | None:
        """A plan of least f2 within ε (optionally with a post for every needy leaf, and ratio <= ``ratio``)."""
        solver, n, change, leaf_posts = self._model(epsilon_units, posts_everywhere)
        if ratio is not None:
            self._ratio_rows(solver, n, leaf_posts, ratio)
        objective = solver.Objective()
        for d in change:
            objective.SetCoefficient(d, 1.0)
        objective.SetMinimization()
        return _solved(solver, n)

    def lexmin(self, epsilon_units: int | None) -> np.ndarray | None:
        """The plan of least ratio, then least f2, with f2 <= ``epsilon_units`` units; None if no plan."""
        problem = self.problem
        best = self._least_disruption(epsilon_units, True) if len(self.needy) else None
        if best is None:  # no plan within ε gives every leaf with need a post: every ratio is infinite
            return self._least_disruption(epsilon_units, False)
        ratio = need_ratio(problem, best)
        while True:
            solver, n, _, leaf_posts = self._model(epsilon_units, True)
            low, top = self._ratio_rows(solver, n, leaf_posts, None)
            objective = solver.Objective()
            objective.SetCoefficient(low, ratio)
            objective.SetCoefficient(top, -1.0)
            objective.SetMaximization()
            better = _solved(solver, n)
            if better is None or not need_ratio(problem, better) < ratio:
                break
            best, ratio = better, need_ratio(problem, better)
        least = self._least_disruption(epsilon_units, True, ratio)
        # The MILP's tolerance could let a plan of a slightly larger ratio through; the plan of step 2
        # then stands (epsilon_front drops a point that the next step shows to be dominated).
        if least is not None and need_ratio(problem, least) <= ratio:
            return least
        return best


def _rules_milp(problem: ProblemData, epsilon_units: int | None) -> tuple[pywraplp.Solver, list, list]:
    """SCIP with the plan's integer units n, every group, d >= |u n - prev| per known cell, and sum d <= ε."""
    solver = pywraplp.Solver.CreateSolver("SCIP")
    solver.SuppressOutput()
    n = [solver.IntVar(float(problem.lo[c]), float(problem.hi[c]), "") for c in range(problem.n_cells)]
    for group in problem.groups:
        row = solver.Constraint(float(group.lo), solver.infinity() if group.hi is None else float(group.hi))
        for c in group.cells.tolist():
            row.SetCoefficient(n[c], 1.0)
    change = []
    unit = problem.unit
    for c in np.flatnonzero(~np.isnan(problem.previous)).tolist():
        d = solver.NumVar(0.0, solver.infinity(), "")
        prev = float(problem.previous[c])
        up = solver.Constraint(-prev, solver.infinity())
        up.SetCoefficient(d, 1.0)
        up.SetCoefficient(n[c], -unit)
        down = solver.Constraint(prev, solver.infinity())
        down.SetCoefficient(d, 1.0)
        down.SetCoefficient(n[c], unit)
        change.append(d)
    if epsilon_units is not None:
        limit = solver.Constraint(-solver.infinity(), epsilon_units * unit + 1e-9)
        for d in change:
            limit.SetCoefficient(d, 1.0)
    return solver, n, change


def _solved(solver: pywraplp.Solver, n: list) -> np.ndarray | None:
    """The units of an optimal solution (gap 0); None when infeasible."""
    parameters = pywraplp.MPSolverParameters()
    parameters.SetDoubleParam(parameters.RELATIVE_MIP_GAP, 0.0)
    status = solver.Solve(parameters)
    if status == pywraplp.Solver.INFEASIBLE:
        return None
    if status != pywraplp.Solver.OPTIMAL:
        raise RuntimeError(f"the MILP failed on an ε-problem (status {status})")
    return np.array([round(v.solution_value()) for v in n], dtype=np.int64)


def epsilon_front(problem: ProblemData, equity: Equity, path: str = "auto") -> tuple[list[FrontPoint], str]:
    """Every nondominated (f1, f2) point, f2 falling, with one lexicographically optimal plan each.

    Parameters
    ----------
    problem
        Built with the model's stability weight set to 0 (the stability limit stays a rule).
    path
        ``flow``, ``milp`` or ``auto`` (the flow when :func:`flow_ready`).

    Returns
    -------
    points, path used

    Raises
    ------
    ValueError
        When last year's posts are not whole units, or ``path`` is ``flow`` on a problem it cannot take.
    """
    if not on_lattice(problem):
        raise ValueError("last year's posts are not whole units, so the disruption has no step")
    if equity == "ratio" and path == "flow":
        raise ValueError("the ratio of posts per need is not a sum over cells, so its front is found by MILP only")
    if path == "auto":
        path = "flow" if equity != "ratio" and flow_ready(problem) else "milp"
    if path == "flow" and not flow_ready(problem):
        raise ValueError("the flow path needs every group within one specialty, nested groups, and last "
                         "year's posts in every cell")
    points: list[FrontPoint] = []
    if (problem.lo > problem.hi).any():  # a cell's own bounds (with the stability limit) leave no value
        return points, path
    solver: FlowFront | MilpFront | RatioFront = (RatioFront(problem) if equity == "ratio" else
                                                  FlowFront(problem, equity) if path == "flow" else
                                                  MilpFront(problem, equity))
    epsilon: int | None = None
    while True:
        units = solver.lexmin(epsilon)
        if units is None:
            break
        f1, f2 = objectives(problem, equity, units)
        slack = 1e-9 * max(1.0, abs(f1)) if math.isfinite(f1) else 0.0
        if points and not (f2 < points[-1].stability and f1 >= points[-1].equity - slack):
            raise RuntimeError("the ε-constraint steps did not trade equity for stability; report this")
        if equity == "ratio" and points and f1 <= points[-1].equity:
            points.pop()  # the same ratio with less disruption: the earlier point was not its lexicographic optimum
        points.append(FrontPoint(units, f1, f2, None if epsilon is None else epsilon * problem.unit))
        epsilon = int(round(f2 / problem.unit)) - 1
        if epsilon < 0:
            break
    return points, path
