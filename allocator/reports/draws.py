"""Monte Carlo draws without rebuilding the instance: each draw's targets from columns.

The reference draw (:func:`allocator.reports.sensitivity.noisy_outcome`)
multiplies every area's population and indicators by (1 + e), builds a new
instance and the whole problem, and re-solves it. A draw changes targets only:
the cells, boxes and groups stay. :class:`NoisyTargets` makes the same random
numbers in one call (a generator gives the same stream either way) and the same
targets with the same floating-point operations in the same order (sums
left to right, as Python's ``sum`` takes them), so each draw's targets are
bit for bit those of the reference (tested). Models it does not cover (a list
of bases) and draws whose needs would be refused (an indicator that noise
drove to 0 where it is inverted) return None, and the caller takes the
reference.

Nothing here reads or writes files.
"""

from __future__ import annotations

import numpy as np

from allocator.core.need import leaf_capacity, target_from_need
from allocator.io.schemas import Instance, Model


class NoisyTargets:
    """Every cell's target in Monte Carlo draw number d, made from columns (see the module docstring)."""

    def __init__(self, instance: Instance, model: Model) -> None:
        self.instance, self.model = instance, model
        base_values: list[float] = []
        population_at: dict[str, int] = {}
        indicator_at: dict[tuple[str, str], int] = {}
        # The reference draws, area by area: the population (if given), then the indicators in name order.
        for area in instance.areas:
            if area.population is not None:
                population_at[area.id] = len(base_values)
                base_values.append(area.population)
            for name, value in sorted(area.indicators.items()):
                indicator_at[(area.id, name)] = len(base_values)
                base_values.append(value)
        self.base_values = np.array(base_values, dtype=float)
        leaves = instance.leaves
        #: Where each leaf's population sits among the drawn values (-1: none, so 0).
        self.population = np.array([population_at.get(leaf, -1) for leaf in leaves], dtype=np.int64)
        self.usable = isinstance(model.base, str) and bool((self.population >= 0).all())
        names = {c.indicator for c in model.criteria}
        if isinstance(model.base, str) and model.base not in ("population", "capacity"):
            names.add(model.base)
        #: Per indicator, where each leaf's value sits (the nearest area up the tree that has it).
        self.indicator: dict[str, np.ndarray] = {}
        for name in sorted(names):
            found = []
            for leaf in leaves:
                place = next((indicator_at[(a, name)] for a in instance.ancestors(leaf) if (a, name) in indicator_at),
                             -1)
                found.append(place)
            self.indicator[name] = np.array(found, dtype=np.int64)
            self.usable = self.usable and bool((self.indicator[name] >= 0).all())
        self.capacity = (np.array([leaf_capacity(instance, leaf) for leaf in leaves], dtype=float)
                         if self.usable and model.base == "capacity" else None)
        self.addition = np.array([1.0 + model.underserved_addition if instance.area_by_id[leaf].underserved else 1.0
                                  for leaf in leaves], dtype=float)

    def targets(self, seed: int, noise: float, draw: int) -> np.ndarray | None:
        """The targets of draw ``draw`` in ``instance.cells`` order; None: take the reference for this draw."""
        if not self.usable:
            return None
        model = self.model
        rng = np.random.default_rng([seed, draw])
        drawn = self.base_values * (1.0 + noise * rng.standard_normal(len(self.base_values)))
        drawn = np.where(drawn > 0.0, drawn, 0.0)  # max(0.0, v), as the reference clips
        population = drawn[self.population]
        # Python's sum, left to right, as need_breakdown takes it.
        total_population = sum(population.tolist())
        if model.base == "population":
            base = population
        elif model.base == "capacity":
            assert self.capacity is not None
            if not np.isfinite(self.capacity).all():
                return None
            base = self.capacity
        else:
            base = drawn[self.indicator[str(model.base)]]
        ratios: dict[str, np.ndarray] = {}
        for criterion in model.criteria:
            values = drawn[self.indicator[criterion.indicator]]
            if criterion.direction == "higher_is_better" and not (values > 0).all():
                return None  # the reference refuses an indicator it cannot invert
            if total_population > 0:
                mean = sum((population * values).tolist()) / total_population
            else:
                mean = sum(values.tolist()) / len(values)
            if mean <= 0:
                return None
            ratios[criterion.indicator] = values / mean if criterion.direction == "higher_is_worse" else mean / values
        if model.criteria:
            weight_sum = sum(c.weight for c in model.criteria)
            total = np.zeros(len(base))
            for criterion in model.criteria:
                total = total + criterion.weight * ratios[criterion.indicator]
            index = total / weight_sum
        else:
            index = np.ones(len(base))
        return target_from_need(self.instance, base * index * self.addition)
