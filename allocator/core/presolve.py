"""Step 4b: presolve, the one place where the problem is made smaller before a solver sees it.

- A cell whose box fixes it (lo = hi, e.g. every ``max: 0`` that closes a
  specialty at a site) leaves the problem; it comes back in the plan with its
  fixed posts.
- Each group keeps only its free cells; its limits move by the fixed posts
  inside it.
- A bound group that can no longer bind (no minimum left, and a maximum the
  free cells' own caps already meet) is dropped. A group with no free cells
  left is dropped once its fixed posts are checked against its limits.
- Specialty totals always stay, one per specialty in specialty order, even
  when empty: backends find a specialty's total by its position.

Every optimum of the smaller problem, with the fixed cells put back, is an
optimum of the whole one (the fixed cells' cost is a constant), and the
order of the free cells is kept, so the tie rule still applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from allocator.core.problem import Group, ProblemData


@dataclass
class Presolved:
    """A problem made smaller, and how to put a solution of it back.

    Attributes
    ----------
    problem
        The smaller problem over the free cells (None when presolve proved the problem infeasible).
    free
        The cells of the whole problem that the smaller one keeps, in order.
    fixed
        Units of every cell of the whole problem where presolve fixed it (0 elsewhere).
    report
        What presolve removed, for the plan's metadata.
    infeasible
        Why no plan exists, when presolve found out (a group's fixed cells break its limits).
    """

    problem: ProblemData | None
    free: np.ndarray
    fixed: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)
    infeasible: str | None = None

    def restore(self, units: np.ndarray) -> np.ndarray:
        """The units of every cell of the whole problem, given those of the free cells."""
        whole = self.fixed.copy()
        whole[self.free] = units
        return whole


def presolve(problem: ProblemData) -> Presolved:
    """Remove fixed cells and groups that cannot bind (see the module docstring)."""
    is_fixed = problem.lo == problem.hi
    free = np.flatnonzero(~is_fixed)
    fixed = np.where(is_fixed, problem.lo, 0).astype(np.int64)
    new_code = np.full(problem.n_cells, -1, dtype=np.int64)
    new_code[free] = np.arange(len(free))
    # Every group's fixed posts, free cells and their room, for all groups at once.
    sizes = np.array([len(group.cells) for group in problem.groups], dtype=np.int64)
    members = np.concatenate([group.cells for group in problem.groups]) if len(sizes) else \
        np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    fixed_sum = np.bincount(owner, weights=fixed[members], minlength=len(sizes)).astype(np.int64)
    is_free = ~is_fixed[members]
    room = np.bincount(owner[is_free], weights=problem.hi[members[is_free]], minlength=len(sizes))
    free_members = new_code[members[is_free]]
    free_ends = np.cumsum(np.bincount(owner[is_free], minlength=len(sizes))).tolist()
    groups: list[Group] = []
    dropped_never_binding = dropped_all_fixed = 0
    begin = 0
    for g, group in enumerate(problem.groups):
        kept = free_members[begin:free_ends[g]]
        begin = free_ends[g]
        held = int(fixed_sum[g])
        lo = max(0, group.lo - held)
        hi = None if group.hi is None else group.hi - held
        if hi is not None and hi < 0 or (not len(kept) and lo > 0):
            limits = f"{group.lo}" if group.hi == group.lo else f"[{group.lo}, {'∞' if group.hi is None else group.hi}]"
            return Presolved(None, free, fixed, {}, f"{group.name}: its fixed cells hold {held} units, outside {limits}")
        if group.kind == "bound":
            if not len(kept):
                dropped_all_fixed += 1
                continue
            if lo == 0 and (hi is None or hi >= room[g]):
                dropped_never_binding += 1
                continue
        groups.append(Group(group.name, group.kind, kept, lo, hi, group.area, group.specialty))
    report = {
        "cells": problem.n_cells,
        "fixed_cells": int(is_fixed.sum()),
        "free_cells": len(free),
        "groups": len(problem.groups),
        "groups_dropped_all_fixed": dropped_all_fixed,
        "groups_dropped_never_binding": dropped_never_binding,
        "groups_to_solver": len(groups),
    }
    if problem.arrays is not None:
        report["bound_rows"] = len(problem.arrays.bounds)
        report["bound_rows_as_cell_boxes"] = int(problem.arrays.bounds.is_cell.sum())
    smaller = replace(
        problem, target=problem.target[free], previous=problem.previous[free], penalty=problem.penalty[free],
        lo=problem.lo[free], hi=problem.hi[free], cap=problem.cap[free], groups=groups,
        cell_leaf=problem.cell_leaf[free], cell_specialty=problem.cell_specialty[free], arrays=None, derived={})
    return Presolved(smaller, free, fixed, report)
