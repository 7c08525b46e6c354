"""Sensitivity answers from the residual network of the optimal flow (:mod:`allocator.solvers.residual`).

Used wherever ``structure(problem) != "none"``; the re-solving code of
:mod:`allocator.reports.sensitivity` stays the fallback, and the reference the
tests compare with. Where a question changes the targets (a limit moved to or
from 0 changes which leaves are eligible) or many cells at once (the stability
limit), the answer is a re-solve here too.

Nothing here reads or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from allocator.core.problem import ProblemData, with_totals
from allocator.io.schemas import Instance, Model, Specialty
from allocator.solvers.diagnose import Rule
from allocator.solvers.residual import Residual, copy_of

Posts = dict[tuple[str, str], float]


@dataclass
class RangingStep:
    """The plan of one specialty at its total + ``delta`` units, and how it was found."""

    delta: int
    posts: dict[str, float] | None
    objective: float | None
    #: ``path`` (augmenting paths) or ``re-solve`` (the plan there is tied, so the tie rule decides).
    method: str


def with_total(instance: Instance, specialty_id: str, total: float) -> Instance:
    """``instance`` with one specialty's total replaced (derived facts shared)."""
    from allocator.reports.sensitivity import variant

    specialties = [s.model_copy(update={"total": total}) if s.id == specialty_id else s for s in instance.specialties]
    return variant(instance, specialties=specialties)


def moved_row(instance: Instance, rule: Rule, side: str, step: int) -> Instance | None:
    """``instance`` with the bound row of ``rule`` moved by ``step`` units on ``side`` (fresh, nothing shared).

    None when the moved limit would fall below 0.
    """
    from allocator.reports.sensitivity import variant

    unit = float(instance.unit)
    rows = []
    for row in instance.bounds:
        if row.area == rule.area and row.specialty == rule.specialty:
            if side == "max":
                value = (row.max or 0.0) + step * unit
                if value < -1e-9:
                    return None
                row = row._replace(max=value)
            else:
                value = (row.min or 0.0) - step * unit
                if value < -1e-9:
                    return None
                row = row._replace(min=value)
        rows.append(row)
    return variant(instance, bounds=rows)


def _stability_limits(problem: ProblemData) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's (floor, cap) in units from stability alone (0 and a large cap where none)."""
    floor = np.zeros(problem.n_cells, dtype=np.int64)
    cap = np.full(problem.n_cells, np.iinfo(np.int64).max // 4, dtype=np.int64)
    if problem.max_change is not None:
        known = ~np.isnan(problem.previous)
        prev = np.nan_to_num(problem.previous)
        floor = np.where(known, np.maximum(0, np.ceil((prev - problem.max_change) / problem.unit - 1e-9)),
                         0).astype(np.int64)
        cap = np.where(known, np.floor((prev + problem.max_change) / problem.unit + 1e-9), cap).astype(np.int64)
    return floor, cap


def rule_moves(residual: Residual, rule: Rule, side: str, units: int,
               weights: np.ndarray) -> tuple[float | None, float | None] | None:
    """(relax, tighten): the exact change in objective when a tight bound row moves one unit each way.

    None when this question needs a re-solve: the row's maximum moves to or
    from 0, which changes the leaves eligible for a target.
    """
    if side == "max" and (rule.hi == 0 or rule.hi == 1):
        return None
    key = rule.name
    arc = residual.shape.group_arc.get(key)
    if arc is not None:
        s = residual.shape
        flow = int(residual.flow[arc])
        lo, hi = int(s.tree_lo[arc]), int(s.tree_hi[arc])
        if side == "max":
            relax = residual.arc_move(arc, +1, weights, only_gain=True)
            tighten = residual.arc_move(arc, -1, weights) if flow - 1 >= lo else None
        else:
            relax = residual.arc_move(arc, -1, weights, only_gain=True)
            tighten = residual.arc_move(arc, +1, weights) if flow + 1 <= hi else None
        return relax, tighten
    # A row on one cell: the cell's own box.
    problem = residual.problem
    cell = int(problem.members_of((str(rule.area), rule.specialty))[0]) if problem.arrays is not None else -1
    n = int(residual.units[cell])
    floor, cap = _stability_limits(problem)
    lo, hi = int(residual.lo[cell]), int(residual.hi[cell])
    if side == "max":
        opened = min(int(rule.hi or 0) + 1, int(cap[cell]))
        if opened <= n:
            relax: float = 0.0
        else:
            relax = residual.cell_move(cell, +1, weights, within_limits=False, only_gain=True) or 0.0
        tighten = residual.cell_move(cell, -1, weights) if n - 1 >= lo else None
    else:
        lowered = max(int(floor[cell]), rule.lo - 1)
        if lowered >= n:
            relax = 0.0
        else:
            relax = residual.cell_move(cell, -1, weights, within_limits=False, only_gain=True) or 0.0
        tighten = residual.cell_move(cell, +1, weights) if rule.lo + 1 <= hi else None
    return relax, tighten


def ranging(instance: Instance, model: Model, problem: ProblemData, residual: Residual, specialty: Specialty,
            k: int, resolve_units: Any) -> tuple[list[RangingStep], float | None]:
    """Plans of ``specialty`` at totals T-k … T+k by augmenting paths, and its next post's margin.

    Each step moves the total by one unit: the targets of the specialty
    scale with it, so cells whose next unit became cheaper move first and
    the imbalance goes along shortest augmenting paths. A step whose plan of
    this specialty is not the only optimal one is re-solved
    (``resolve_units(problem)`` returns the canonical units, or None), so the
    plan shown is always the one ``allocator solve`` would write.

    The margin is how much more the plan at T+1 would cost if the cells that
    gain there could not gain: 0 means the next post is tied, small means close.
    """
    unit = float(instance.unit)
    si = problem.specialties.index(specialty.id)
    mine = np.flatnonzero(problem.cell_specialty == si)
    leaves = [problem.leaves[int(problem.cell_leaf[c])] for c in mine.tolist()]
    steps: list[RangingStep] = []
    margin: float | None = None
    for direction in (+1, -1):
        state = copy_of(residual)
        feasible = True
        for size in range(1, k + 1):
            delta = direction * size
            total = specialty.total + delta * unit
            if total < -1e-9 or not feasible:
                feasible = False
                steps.append(RangingStep(delta, None, None, "path"))
                continue
            moved = with_totals(problem, with_total(instance, specialty.id, total), model)
            before = state.units.copy()
            if not state.reoptimize(moved, {si: direction}, changed=mine):
                feasible = False
                steps.append(RangingStep(delta, None, None, "path"))
                continue
            up, down = state.tied_cells(state.reduced(), exact=False)
            units, method = state.units, "path"
            if up[mine].any() or down[mine].any():
                canonical = resolve_units(moved)
                if canonical is None:
                    raise AssertionError("a re-solve found no plan where augmenting paths found one")
                units, method = canonical, "re-solve"
            steps.append(RangingStep(delta, {leaf: float(units[c]) * unit for leaf, c in zip(leaves, mine.tolist())},
                                     moved.total_cost(units), method))
            if delta == 1:
                margin = _margin(state, moved, before, mine)
    steps.sort(key=lambda step: step.delta)
    return steps, margin


def _margin(state: Residual, problem: ProblemData, before: np.ndarray, mine: np.ndarray) -> float | None:
    """Extra cost at T+1 if the cells that gained could not (None: the post can go nowhere else)."""
    winners = mine[state.units[mine] > before[mine]]
    if not len(winners):
        return None
    other = copy_of(state)
    hi = other.hi.copy()
    hi[winners] = before[winners]
    best = problem.total_cost(state.units)
    if not other.reoptimize(problem, hi=hi, changed=winners):
        return None
    return max(0.0, problem.total_cost(other.units) - best)


def tied_moves(residual: Residual) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: can it take one unit more / fewer in another optimal plan (exact verdicts)."""
    return residual.tied_cells(residual.reduced(), exact=True)


def units_of(posts: Posts, cells: list[tuple[str, str]], unit: float) -> np.ndarray:
    """Units per cell, in ``cells`` order."""
    return np.array([int(round(posts[cell] / unit)) for cell in cells], dtype=np.int64)
