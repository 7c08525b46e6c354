"""Step 6a: the plan, the result of a solve, with the bounds that bind.

Tie rule (documented in docs/mathematics.md): every backend builds its model
from cells in sorted order (leaf id, then specialty id), and the greedy path
gives each next unit to the cheapest marginal cost, ties going to the cell
that comes first in that order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from allocator.core.problem import ProblemData
from allocator.io.schemas import Instance, Model

_TIGHT = 1e-9


class PlanRow(NamedTuple):
    """The posts of one leaf area in one specialty, and why (a named tuple: plans have 100,000s of rows)."""

    area: str
    area_name: str
    region: str
    specialty: str
    posts: float
    target: float
    previous: float | None
    min: float | None
    max: float | None
    binding: tuple[str, ...]
    underserved: bool
    need_index: float

    @property
    def change(self) -> float | None:
        """Posts minus last year's, when last year is known."""
        return None if self.previous is None else self.posts - self.previous


@dataclass
class Plan:
    """An allocation plan: one row per leaf area and specialty, plus run metadata."""

    instance: str
    model: str
    unit: float
    objective: float
    rows: list[PlanRow]
    metadata: dict[str, Any] = field(default_factory=dict)

    def posts(self) -> dict[tuple[str, str], float]:
        """Posts keyed by (leaf area, specialty)."""
        return {(row.area, row.specialty): row.posts for row in self.rows}


def top_region(instance: Instance, leaf: str) -> str:
    """The top-level area (a training region, in Denmark) above ``leaf``."""
    return instance.ancestors(leaf)[-1]


def binding_labels(instance: Instance, model: Model, problem: ProblemData,
                   units: np.ndarray) -> list[tuple[str, ...]]:
    """For every cell of ``problem``, the bounds that hold with equality at ``units``.

    Labels: ``min``/``max`` for the cell's own bound, ``max (all specialties)``
    for a leaf bound summed over specialties, ``max <area>`` for a bound on an
    ancestor, ``fixed`` where min = max, and ``max_change`` for stability.
    Labels are ordered from the leaf upwards, a specialty's own bound before
    the one summed over specialties.
    """
    posts = units.astype(float) * problem.unit
    found: dict[int, list[tuple[int, bool, str]]] = {}
    for key, members in problem.bound_cells.items():
        bound = instance.bound_at[key]
        total = math.fsum(posts[members].tolist())
        at_min = bound.min is not None and abs(total - bound.min) <= _TIGHT
        at_max = bound.max is not None and abs(total - bound.max) <= _TIGHT
        if not (at_min or at_max):
            continue
        kind = "fixed" if at_min and at_max else "min" if at_min else "max"
        area, specialty = key
        is_leaf = not instance.children[area]
        label = f"{kind}{'' if is_leaf else f' {area}'}{'' if specialty is not None else ' (all specialties)'}"
        # Deeper areas first: rank by minus the area's depth.
        entry = (-len(instance.ancestors(area)), specialty is None, label)
        for c in members.tolist():
            found.setdefault(c, []).append(entry)
    max_change = model.stability.max_change
    if max_change is not None:
        change = np.abs(posts - problem.previous)
        for c in np.flatnonzero(np.abs(change - max_change) <= _TIGHT).tolist():
            found.setdefault(c, []).append((1, True, "max_change"))
    result: list[tuple[str, ...]] = [()] * problem.n_cells
    for c, labels in found.items():
        result[c] = (labels[0][2],) if len(labels) == 1 else tuple(label for _, _, label in sorted(labels))
    return result


def build_plan(instance: Instance, model: Model, problem: ProblemData, units: np.ndarray,
               metadata: dict[str, Any] | None = None) -> Plan:
    """Turn a backend's units per cell into a plan, rows in (area, specialty) order."""
    leaves, specialties = problem.leaves, problem.specialties
    cell_leaf = problem.cell_leaf.tolist()
    cell_specialty = problem.cell_specialty.tolist()
    cells = [(leaves[li], specialties[si]) for li, si in zip(cell_leaf, cell_specialty)]
    posts = (units.astype(float) * problem.unit).tolist()
    binding = binding_labels(instance, model, problem, units)
    leaf_label = [instance.area_by_id[leaf].label for leaf in leaves]
    leaf_region = [top_region(instance, leaf) for leaf in leaves]
    leaf_underserved = [instance.area_by_id[leaf].underserved for leaf in leaves]
    leaf_index = [problem.needs[leaf].index for leaf in leaves]
    bound_at = instance.bound_at
    own = [bound_at.get(cell) for cell in cells]
    # Cells come in (leaf, specialty) order (instance.cells is sorted), so the rows do too.
    rows = list(map(
        PlanRow,
        [leaf for leaf, _ in cells], [leaf_label[li] for li in cell_leaf], [leaf_region[li] for li in cell_leaf],
        [specialty for _, specialty in cells], posts, problem.target.tolist(),
        [None if math.isnan(prev) else prev for prev in problem.previous.tolist()],
        [bound.min if bound else None for bound in own], [bound.max if bound else None for bound in own],
        binding, [leaf_underserved[li] for li in cell_leaf],
        [leaf_index[li] for li in cell_leaf],
    ))
    return Plan(instance=instance.name, model=model.name, unit=problem.unit,
                objective=problem.total_cost(units), rows=rows, metadata=dict(metadata or {}))
