"""Step 6a: the plan, the result of a solve, with the bounds that bind.

Tie rule (documented in docs/mathematics.md): every backend builds its model
from cells in sorted order (leaf id, then specialty id), and the greedy path
gives each next unit to the cheapest marginal cost, ties going to the cell
that comes first in that order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocator.problem import ProblemData
from allocator.schemas import Instance, Model

_TIGHT = 1e-9


@dataclass(frozen=True)
class PlanRow:
    """The posts of one leaf area in one specialty, and why."""

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


def binding_labels(instance: Instance, model: Model,
                   posts: dict[tuple[str, str], float]) -> dict[tuple[str, str], tuple[str, ...]]:
    """For every cell, the bounds that hold with equality at ``posts``.

    Labels: ``min``/``max`` for the cell's own bound, ``max (all specialties)``
    for a leaf bound summed over specialties, ``max <area>`` for a bound on an
    ancestor, ``fixed`` where min = max, and ``max_change`` for stability.
    """
    sums: dict[tuple[str, str | None], float] = {}
    for (leaf, specialty), value in posts.items():
        for area in instance.ancestors(leaf):
            for key in ((area, specialty), (area, None)):
                if key in instance.bound_at:
                    sums[key] = sums.get(key, 0.0) + value
    tight: dict[tuple[str, str | None], str] = {}
    for key, bound in instance.bound_at.items():
        total = sums.get(key, 0.0)
        at_min = bound.min is not None and abs(total - bound.min) <= _TIGHT
        at_max = bound.max is not None and abs(total - bound.max) <= _TIGHT
        if at_min and at_max:
            tight[key] = "fixed"
        elif at_min:
            tight[key] = "min"
        elif at_max:
            tight[key] = "max"
    max_change = model.stability.max_change
    result = {}
    for (leaf, specialty), value in sorted(posts.items()):
        labels = []
        for area in instance.ancestors(leaf):
            for key, scope in (((area, specialty), ""), ((area, None), " (all specialties)")):
                if key in tight:
                    where = "" if area == leaf else f" {area}"
                    labels.append(f"{tight[key]}{where}{scope}")
        prev = instance.previous_posts.get((leaf, specialty))
        if max_change is not None and prev is not None and abs(abs(value - prev) - max_change) <= _TIGHT:
            labels.append("max_change")
        result[(leaf, specialty)] = tuple(labels)
    return result


def build_plan(instance: Instance, model: Model, problem: ProblemData, units: np.ndarray,
               metadata: dict[str, Any] | None = None) -> Plan:
    """Turn a backend's units per cell into a plan, rows sorted by (area, specialty)."""
    posts = {(problem.leaves[problem.cell_leaf[c]], problem.specialties[problem.cell_specialty[c]]):
             float(units[c]) * problem.unit for c in range(problem.n_cells)}
    binding = binding_labels(instance, model, posts)
    rows = []
    for c in range(problem.n_cells):
        leaf = problem.leaves[problem.cell_leaf[c]]
        specialty = problem.specialties[problem.cell_specialty[c]]
        own = instance.bound_at.get((leaf, specialty))
        area = instance.area_by_id[leaf]
        prev = problem.previous[c]
        rows.append(PlanRow(
            area=leaf, area_name=area.label, region=top_region(instance, leaf), specialty=specialty,
            posts=posts[(leaf, specialty)], target=float(problem.target[c]),
            previous=None if math.isnan(prev) else float(prev),
            min=own.min if own else None, max=own.max if own else None,
            binding=binding[(leaf, specialty)], underserved=area.underserved,
            need_index=problem.needs[leaf].index,
        ))
    rows.sort(key=lambda row: (row.area, row.specialty))
    return Plan(instance=instance.name, model=model.name, unit=problem.unit,
                objective=problem.total_cost(units), rows=rows, metadata=dict(metadata or {}))
