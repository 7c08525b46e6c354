"""A local search that improves a multi-year warm start before the MILP solve (issue 14).

The MILP solvers prune with their incumbent, so a better first plan shrinks the
tree. The search takes a feasible plan n[p, c] (the myopic plan) and repeats
the best *exact* improving move of one unit from one cell to another of the same
specialty in one plan year (a pair move keeps every specialty total), until no
candidate move improves the objective.

Candidates are ranked by a separable estimate (each cell's own change in
yearly cost and shortfall, the pool's effect on the other cells left out);
the first ``CANDIDATES`` of them, in that order, are evaluated exactly (the
specialty's whole share of the objective: its coverage and yearly costs, which
no other specialty's posts change), and the first that lowers it by more than
``MIN_GAIN`` is made. Specialties are searched one after another, in order;
ties in the estimate keep the order (year, from-cell, to-cell), so the result
is deterministic. The search proves nothing: the MILP still certifies the plan.
"""

from __future__ import annotations

import numpy as np

from allocator.core.horizon import HorizonProblem
from allocator.core.problem import Group

#: Moves evaluated exactly per step, best estimate first; the search stops when none of them improves.
CANDIDATES = 40

#: A move must lower the objective by more than this (cost units) to be made; rounding noise is not a gain.
MIN_GAIN = 1e-9

#: At most this many moves per specialty (a bound on the work; each move lowers the objective, so the search
#: ends anyway).
MAX_MOVES = 2000


def keeps_rules(problem: HorizonProblem, n: np.ndarray) -> bool:
    """Whether ``n[p, c]`` is a plan of ``problem`` (one row per plan year, one column per cell) that keeps
    every box, group and stability limit."""
    if np.shape(n) != (problem.plan_years, len(problem.cells)):
        return False
    limit = problem.max_change_units()
    for p, year in enumerate(problem.years):
        if np.any(n[p] < year.lo) or np.any(n[p] > year.hi):
            return False
        for group in year.groups:
            total = int(n[p, group.cells].sum())
            if total < group.lo or (group.hi is not None and total > group.hi):
                return False
    return limit is None or bool(np.all(np.abs(np.diff(n, axis=0)) <= limit))


class _Part:
    """The cells of one specialty: their share of the objective depends on their own posts only."""

    def __init__(self, problem: HorizonProblem, cells: np.ndarray) -> None:
        self.problem = problem
        self.cells = cells
        self.reach = problem.reach[cells]                                  # (C, K, P)
        self.const, self.demand = problem.const[cells], problem.demand[cells]
        self.own, self.out, self.pi = problem.own[cells], problem.out[cells], problem.pi[cells]
        self.weight = problem.coverage_weight * problem.penalty[cells][:, None]

    def supply(self, n: np.ndarray) -> np.ndarray:
        """Supply per cell of the part and outlook year (HorizonProblem.supply, restricted)."""
        m = n[:, self.cells].astype(float)
        pool = m @ self.out                                                # one pool per plan year
        own = np.einsum("ckp,pc->ck", self.reach, m) * self.own[:, None]
        return self.const + own + (self.reach @ pool) * self.pi[:, None]

    def posts(self, n: np.ndarray, p: int, values: np.ndarray) -> np.ndarray:
        """Each cell's share of the posts cost that depends on n[p, c], were n[p, c] = values[c]."""
        problem = self.problem
        cost = problem.years[p].cell_cost(values, self.cells)
        weight = problem.stability_weight * problem.unit
        if weight:
            if p:
                cost = cost + weight * np.abs(values - n[p - 1, self.cells])
            if p + 1 < problem.plan_years:
                cost = cost + weight * np.abs(n[p + 1, self.cells] - values)
        return cost

    def value(self, n: np.ndarray) -> float:
        """The part's coverage cost plus its yearly costs (what a move within the part changes)."""
        short = self.weight * np.maximum(0.0, self.demand - self.supply(n))
        total = float(short.sum())
        for p, year in enumerate(self.problem.years):
            total += float(year.cell_cost(n[p, self.cells].astype(float), self.cells).sum())
            if p and self.problem.stability_weight:
                total += self.problem.stability_weight * self.problem.unit * float(
                    np.abs(n[p, self.cells] - n[p - 1, self.cells]).sum())
        return total

    def estimates(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(minus[p, i], plus[p, i]): the estimated change for one unit less / more in the part's cell i, year p.

        Exact for the cell's own yearly cost and shortfall (its pool share included); the change of
        the pool seen by the part's other cells is left out (a move is checked exactly before it is made).
        """
        gap = self.demand - self.supply(n)
        shortfall = self.weight * np.maximum(0.0, gap)
        per_unit = self.own + self.pi * self.out
        minus = np.full((n.shape[0], len(self.cells)), np.inf)
        plus = np.full_like(minus, np.inf)
        for p, year in enumerate(self.problem.years):
            step = self.reach[:, :, p] * per_unit[:, None]
            now_n = n[p, self.cells]
            now = self.posts(n, p, now_n.astype(float))
            for sign, out in ((-1, minus), (1, plus)):
                values = now_n + sign
                inside = (values >= year.lo[self.cells]) & (values <= year.hi[self.cells])
                posts = self.posts(n, p, values.astype(float)) - now
                cover = (self.weight * np.maximum(0.0, gap - sign * step) - shortfall).sum(axis=1)
                out[p] = np.where(inside, posts + cover, np.inf)
        return minus, plus


def improve_plan(problem: HorizonProblem, start: np.ndarray) -> np.ndarray:
    """A plan at least as good as ``start`` (n[p, c]), by exact improving pair moves; ``start`` if it is infeasible.

    Only moves within one specialty and one plan year are tried, so totals stay exact; groups and
    the stability limit are checked before a move is made. A specialty's cells share no cost with
    the others (their pools are their own), so each specialty is searched in turn, in order.
    """
    n = np.array(start, dtype=np.int64, copy=True)
    if not keeps_rules(problem, n):
        return np.asarray(start, dtype=np.int64)
    limit = problem.max_change_units()
    membership = [[(group, np.isin(np.arange(len(problem.cells)), group.cells)) for group in year.groups]
                  for year in problem.years]
    for s in range(len(problem.specialties)):
        cells = np.flatnonzero(problem.cell_specialty == s)
        if len(cells) < 2:
            continue
        part = _Part(problem, cells)
        best = part.value(n)
        for _ in range(MAX_MOVES):
            minus, plus = part.estimates(n)
            # estimate[p, i, j]: one unit from the part's cell i to its cell j in year p
            estimate = minus[:, :, None] + plus[:, None, :]
            estimate[:, np.arange(len(cells)), np.arange(len(cells))] = np.inf
            flat = estimate.ravel()
            order = np.argsort(flat, kind="stable")[:CANDIDATES]
            moved = False
            for index in order.tolist():
                if not np.isfinite(flat[index]):
                    break
                p, i, j = np.unravel_index(index, estimate.shape)
                a, b = int(cells[i]), int(cells[j])
                trial = n.copy()
                trial[p, a] -= 1
                trial[p, b] += 1
                if not _move_allowed(trial, membership[p], p, a, b, limit):
                    continue
                value = part.value(trial)
                if value < best - MIN_GAIN:
                    n, best, moved = trial, value, True
                    break
            if not moved:
                break
    return n


def _move_allowed(trial: np.ndarray, groups: list[tuple[Group, np.ndarray]], p: int, a: int, b: int,
                  limit: int | None) -> bool:
    """Whether the groups of year p and the stability limit still hold after moving a unit from a to b."""
    for group, member in groups:
        if member[a] == member[b]:
            continue
        total = int(trial[p, group.cells].sum())
        if total < group.lo or (group.hi is not None and total > group.hi):
            return False
    if limit is not None:
        for c in (a, b):
            column = trial[:, c]
            if np.any(np.abs(np.diff(column)) > limit):
                return False
    return True
