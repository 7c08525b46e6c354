"""Step 3 of the pipeline: need index, eligibility and targets (BRIEF.md's default mathematics).

For criterion k with weight w_k, m_k is the population-weighted mean of the
indicator over the leaves. The ratio is r_lk = v_lk / m_k when higher is worse
and m_k / v_lk when higher is better. index_l = sum_k w_k r_lk / sum_k w_k (1
without criteria), need_l = base_l * index_l (times 1 + underserved_addition in
designated areas), and the target of leaf l for
specialty s is T_s * need_l / (sum of need over the leaves eligible for s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from allocator.core.arrays import instance_arrays
from allocator.errors import InputError, Location
from allocator.io.schemas import Instance, Model


@dataclass(frozen=True)
class NeedBreakdown:
    """The need of one leaf, criterion by criterion.

    Attributes
    ----------
    base
        The leaf's base (population by default).
    ratios
        r_lk for each criterion, keyed by indicator.
    index
        The weighted need index.
    need
        base * index.
    """

    base: float
    ratios: dict[str, float]
    index: float
    need: float


def indicator_value(instance: Instance, leaf: str, indicator: str) -> float | None:
    """The indicator of ``leaf``, inherited from its nearest ancestor that has it."""
    for area_id in instance.ancestors(leaf):
        value = instance.area_by_id[area_id].indicators.get(indicator)
        if value is not None:
            return value
    return None


def leaf_capacity(instance: Instance, leaf: str) -> float:
    """The most posts the bounds let ``leaf`` take over all specialties (inf when nothing caps it).

    The smaller of the sum of its cells' caps and a max on the leaf summed over specialties.
    """
    capacities = instance.__dict__.get("_leaf_capacity")
    if capacities is None:
        arrays = instance_arrays(instance)
        bounds = arrays.bounds
        high = cell_limits(instance)[1]
        runs = np.searchsorted(arrays.cell_leaf, np.arange(len(arrays.leaf_ids) + 1))
        leaf_of_area = np.full(len(arrays.area_ids), -1, dtype=np.int64)
        leaf_of_area[arrays.leaf_area] = np.arange(len(arrays.leaf_ids))
        # A max on the leaf itself, summed over specialties, caps it too.
        own = (bounds.specialty < 0) & (leaf_of_area[bounds.area] >= 0) & ~np.isnan(bounds.max)
        own_max = np.full(len(arrays.leaf_ids), math.inf)
        own_max[leaf_of_area[bounds.area[own]]] = bounds.max[own]
        capacities = {leaf_id: min(math.fsum(high[runs[code]:runs[code + 1]].tolist()), float(own_max[code]))
                      for code, leaf_id in enumerate(arrays.leaf_ids)}
        instance.__dict__["_leaf_capacity"] = capacities  # instances are frozen
    return capacities[leaf]


def base_value(instance: Instance, model: Model, leaf: str, base: str | None = None) -> float:
    """The base of ``leaf``: its population, an indicator, or its ``capacity`` (``base`` overrides the model's)."""
    name = base if base is not None else model.base
    assert isinstance(name, str), "a list of bases is resolved by need_breakdown"
    if name == "population":
        population = instance.area_by_id[leaf].population
        assert population is not None  # check_instance guarantees it on leaves
        return population
    if name == "capacity":
        value = leaf_capacity(instance, leaf)
        if not math.isfinite(value):
            raise InputError(f"the model's base 'capacity' needs a max on every leaf; '{leaf}' has none",
                             where=instance.area_by_id[leaf].where(), fix=f"add a bound row with a max for {leaf}")
        return value
    value = indicator_value(instance, leaf, name)
    if value is None:
        raise InputError(f"the model's base '{name}' is not given for leaf area '{leaf}'",
                         where=instance.area_by_id[leaf].where(name),
                         fix=f"add the indicator '{name}' to the area or an ancestor")
    if value < 0:
        raise InputError(f"the base '{name}' is negative ({value:g})",
                         where=instance.area_by_id[leaf].where(name), fix="use a value >= 0")
    return value


def bases(instance: Instance, model: Model) -> dict[str, float]:
    """base_l of every leaf; for a list of bases, the first base's total times the largest of the leaf's shares."""
    leaves = instance.leaves
    if isinstance(model.base, str):
        return {leaf: base_value(instance, model, leaf) for leaf in leaves}
    columns = [[base_value(instance, model, leaf, name) for leaf in leaves] for name in model.base]
    sums = [math.fsum(column) for column in columns]
    for name, total in zip(model.base, sums):
        if total <= 0:
            raise InputError(f"the base '{name}' is 0 in every leaf area, so it has no shares",
                             where=Location(None, None, name), fix="drop it from the model's base list")
    return {leaf: sums[0] * max(column[i] / total for column, total in zip(columns, sums))
            for i, leaf in enumerate(leaves)}


def need_breakdown(instance: Instance, model: Model) -> dict[str, NeedBreakdown]:
    """Compute the need of every leaf under ``model``.

    Raises
    ------
    InputError
        When an indicator the model uses is missing, or cannot be inverted.
    """
    leaves = instance.leaves
    population = {leaf: instance.area_by_id[leaf].population or 0.0 for leaf in leaves}
    total_population = sum(population[leaf] for leaf in leaves)
    base_of = bases(instance, model)
    ratios: dict[str, dict[str, float]] = {leaf: {} for leaf in leaves}
    for criterion in model.criteria:
        values: dict[str, float] = {}
        for leaf in leaves:
            value = indicator_value(instance, leaf, criterion.indicator)
            if value is None:
                raise InputError(
                    f"the indicator '{criterion.indicator}' used by the model is not given for leaf area '{leaf}'",
                    where=instance.area_by_id[leaf].where(criterion.indicator),
                    fix="add it to the area, or to an ancestor it can inherit from",
                )
            if value < 0 or (criterion.direction == "higher_is_better" and value <= 0):
                bound = "> 0 (higher is better, so it is inverted)" if criterion.direction == "higher_is_better" else ">= 0"
                raise InputError(f"the indicator '{criterion.indicator}' is {value:g} for leaf area '{leaf}'",
                                 where=instance.area_by_id[leaf].where(criterion.indicator),
                                 fix=f"use a value {bound}")
            values[leaf] = value
        if total_population > 0:
            mean = sum(population[leaf] * values[leaf] for leaf in leaves) / total_population
        else:
            mean = sum(values.values()) / len(values)
        if mean <= 0:
            raise InputError(f"the indicator '{criterion.indicator}' is 0 in every leaf area",
                             where=Location(None, None, criterion.indicator),
                             fix="drop the criterion from the model or give real values")
        for leaf in leaves:
            value = values[leaf]
            ratios[leaf][criterion.indicator] = (value / mean if criterion.direction == "higher_is_worse"
                                                 else mean / value)
    weight_sum = sum(c.weight for c in model.criteria)
    result = {}
    for leaf in leaves:
        index = (sum(c.weight * ratios[leaf][c.indicator] for c in model.criteria) / weight_sum
                 if model.criteria else 1.0)
        addition = 1.0 + model.underserved_addition if instance.area_by_id[leaf].underserved else 1.0
        result[leaf] = NeedBreakdown(base_of[leaf], ratios[leaf], index, base_of[leaf] * index * addition)
    return result


def cell_limits(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """The tightest (min, max) in posts that bound rows place on each cell by itself (max inf where none).

    Only the bound row on the cell itself sets a min; a max on the leaf or on
    any ancestor (per specialty, or summed over specialties) caps the cell.
    Computed for all rows at once, and once per instance.
    """
    cached = instance.__dict__.get("_cell_limits")
    if cached is None:
        arrays = instance_arrays(instance)
        bounds = arrays.bounds
        low = np.zeros(arrays.n_cells)
        high = np.full(arrays.n_cells, np.inf)
        own = np.flatnonzero(bounds.is_cell & ~np.isnan(bounds.min) & (bounds.end > bounds.start))
        low[arrays.by_specialty[bounds.start[own]]] = bounds.min[own]
        capped = np.flatnonzero(~np.isnan(bounds.max))
        rows, cells = arrays.expand(capped)
        np.minimum.at(high, cells, bounds.max[rows])
        cached = (low, high)
        instance.__dict__["_cell_limits"] = cached  # instances are frozen; the limits never change
    return cached


def target_array(instance: Instance, model: Model, needs: dict[str, NeedBreakdown] | None = None) -> np.ndarray:
    """The target t_ls of every cell, in ``instance.cells`` order; 0 for ineligible cells.

    Each specialty's need sum is taken with math.fsum (exact, so independent
    of the order of the cells).
    """
    needs = needs if needs is not None else need_breakdown(instance, model)
    return target_from_need(instance, np.array([needs[leaf].need for leaf in instance.leaves], dtype=float))


def target_from_need(instance: Instance, leaf_need: np.ndarray) -> np.ndarray:
    """:func:`target_array` from each leaf's need (in ``instance.leaves`` order), for needs made elsewhere."""
    arrays = instance_arrays(instance)
    need = leaf_need[arrays.cell_leaf]
    open_cell = cell_limits(instance)[1] >= instance.unit - 1e-9
    order = np.argsort(arrays.cell_specialty, kind="stable")
    starts = np.searchsorted(arrays.cell_specialty[order], np.arange(len(instance.specialty_ids) + 1))
    code = {s: k for k, s in enumerate(instance.specialty_ids)}
    share = np.zeros(len(need))
    for specialty in instance.specialties:
        k = code[specialty.id]
        members = order[starts[k]:starts[k + 1]]
        members = members[open_cell[members]]
        need_sum = math.fsum(need[members].tolist())
        if need_sum > 0:
            share[members] = specialty.total * need[members] / need_sum
        elif len(members):
            # No leaf has any need: share equally, so the cost stays defined.
            share[members] = specialty.total / len(members)
    return share


def targets(instance: Instance, model: Model,
            needs: dict[str, NeedBreakdown] | None = None) -> dict[tuple[str, str], float]:
    """:func:`target_array` keyed by cell (leaf, specialty)."""
    return dict(zip(instance.cells, target_array(instance, model, needs).tolist()))
