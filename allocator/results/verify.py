"""Step 6b: the independent verifier.

:func:`verify` checks a plan against the instance and the model directly: it
shares no code with the formulation or the backends. It recomputes the sums
under every area, every bound, stability, the unit, the targets and the
objective from BRIEF.md's cost formula, column by column.
"""

from __future__ import annotations

import math

import numpy as np

from allocator.errors import VerificationError
from allocator.core.need import targets
from allocator.results.plan import Plan, PlanRow
from allocator.io.schemas import Instance, Model

_ABS = 1e-9
_REL = 1e-9


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _ABS + _REL * max(abs(a), abs(b))


def _divisor_cost(method: str, x: np.ndarray, t: np.ndarray, unit: float) -> np.ndarray:
    """sum_{k < n} s(k) / w for n = x / unit units and weight w = t / unit (docs/mathematics.md)."""
    n = np.rint(x / unit).astype(np.int64)
    if method == "jefferson":
        total = n * (n + 1) / 2.0
    elif method == "webster":
        total = n * n / 2.0
    elif method == "adams":
        total = n * (n - 1) / 2.0
    else:
        k = np.arange(int(n.max(initial=0)), dtype=float)
        steps = np.sqrt(k * (k + 1)) if method == "huntington-hill" else k * (k + 1) / (k + 0.5)
        total = np.r_[0.0, np.cumsum(steps)][n]
    w = t / unit
    return np.where(w > 0, total / np.where(w > 0, w, 1.0), 0.0)


def cost_of(x: np.ndarray, t: np.ndarray, p: np.ndarray, prev: np.ndarray, objective: str,
            stability_weight: float, method: str | None = None, unit: float = 1.0) -> np.ndarray:
    """BRIEF.md's cost of x posts against target t, cell by cell, written out as in the docs.

    ``p`` is the shortfall weight (the under-served weight or 1); ``prev`` is
    last year's posts, NaN where unknown (no stability cost). ``method`` and
    ``unit`` are used by the apportionment objective only.
    """
    short = np.maximum(0.0, t - x)
    over = np.maximum(0.0, x - t)
    if objective == "absolute":
        cost = p * short + over
    elif objective == "apportionment":
        cost = (x - t) ** 2 if method == "hamilton" else _divisor_cost(method or "", x, t, unit)
    else:
        cost = (p * short * short + over * over) / np.where(t > 0, t, 1.0)
    return cost + np.where(np.isnan(prev), 0.0, stability_weight * np.abs(x - np.nan_to_num(prev)))


def _cells_to_cover(instance: Instance) -> set[tuple[str, str]]:
    """The (leaf, specialty) pairs a plan must have, found from the parent links alone."""
    kids: dict[str, list[str]] = {area.id: [] for area in instance.areas}
    for area in instance.areas:
        if area.parent is not None:
            kids[area.parent].append(area.id)
    leaves_below: dict[str, list[str]] = {}

    def below(area_id: str) -> list[str]:
        if area_id not in leaves_below:
            leaves_below[area_id] = [leaf for kid in kids[area_id] for leaf in below(kid)] or [area_id]
        return leaves_below[area_id]

    if instance.offers:
        return {(leaf, offer.specialty) for offer in instance.offers for leaf in below(offer.area)}
    return {(area_id, s.id) for area_id, children in kids.items() if not children for s in instance.specialties}


def _shape_problems(instance: Instance, plan: Plan, keys: list[tuple[str, str]], posts: np.ndarray) -> list[str]:
    problems: list[str] = []
    unit = float(instance.unit)
    expected = _cells_to_cover(instance)
    given = set(keys)
    for key in sorted(given - expected)[:10]:
        problems.append(f"row {key} is not a cell (leaf area and specialty) of the instance")
    if len(given) < len(keys):
        seen: set[tuple[str, str]] = set()
        twice = sorted({key for key in keys if key in seen or seen.add(key)})  # type: ignore[func-returns-value]
        problems += [f"row {key} appears twice" for key in twice[:10]]
    missing = expected - given
    if missing:
        problems.append(f"{len(missing)} cells are missing, e.g. {sorted(missing)[0]}")
    bad = ~np.isfinite(posts) | (posts < -_ABS)
    for k in np.flatnonzero(bad)[:10]:
        problems.append(f"{keys[k]}: posts {posts[k]} is negative or not finite")
    off_unit = ~bad & (np.abs(posts / unit - np.round(posts / unit)) > 1e-9)
    for k in np.flatnonzero(off_unit)[:10]:
        problems.append(f"{keys[k]}: posts {posts[k]} is not a multiple of the unit {unit:g}")
    return problems


def check_plan(instance: Instance, model: Model, plan: Plan) -> list[str]:
    """Every way in which ``plan`` breaks the rules; empty when it is valid.

    Works on whole columns (numpy), so that a 250,000-cell plan is checked in
    well under a second; sums are exact because posts are multiples of 0.5.
    """
    columns = list(zip(*plan.rows)) if plan.rows else [()] * len(PlanRow._fields)
    column = dict(zip(PlanRow._fields, columns))
    keys = list(zip(column["area"], column["specialty"]))
    posts = np.array(column["posts"], dtype=float)
    problems = _shape_problems(instance, plan, keys, posts)
    if problems:
        return problems

    specialty_code = {s.id: k for k, s in enumerate(instance.specialties)}
    n_specs = len(specialty_code)
    spec = np.fromiter(map(specialty_code.__getitem__, column["specialty"]), dtype=np.int64, count=len(keys))
    totals = np.bincount(spec, weights=posts, minlength=n_specs)
    for specialty in instance.specialties:
        total = float(totals[specialty_code[specialty.id]])
        if not _close(total, specialty.total):
            problems.append(f"specialty {specialty.id}: posts add up to {total:g}, not the total {specialty.total:g}")

    # Sum every cell into each of its ancestors, walking the parent links level by level.
    area_code = {area.id: k for k, area in enumerate(instance.areas)}
    n_areas = len(area_code)
    parent_code = np.array([area_code[a.parent] if a.parent is not None else -1 for a in instance.areas] + [-1])
    sum_all = np.zeros(n_areas)
    sum_spec = np.zeros(n_areas * n_specs)
    current = np.fromiter(map(area_code.__getitem__, column["area"]), dtype=np.int64, count=len(keys))
    while len(current):
        sum_all += np.bincount(current, weights=posts, minlength=n_areas)
        sum_spec += np.bincount(current * n_specs + spec, weights=posts, minlength=n_areas * n_specs)
        current = parent_code[current]
        alive = current >= 0
        current, spec, posts = current[alive], spec[alive], posts[alive]
    if instance.bounds:
        b_area, b_spec, b_min, b_max = (list(c) for c in list(zip(*instance.bounds))[:4])
        a = np.fromiter(map(area_code.__getitem__, b_area), dtype=np.int64, count=len(b_area))
        sp = np.array([-1 if v is None else specialty_code[v] for v in b_spec], dtype=np.int64)
        under = np.where(sp < 0, sum_all[a], sum_spec[a * n_specs + np.maximum(sp, 0)])
        low = np.array([np.nan if v is None else v for v in b_min], dtype=float)
        high = np.array([np.nan if v is None else v for v in b_max], dtype=float)
        for k in np.flatnonzero(under < low - _ABS):
            problems.append(f"area {b_area[k]} ({b_spec[k] or 'all specialties'}): {under[k]:g} posts, "
                            f"under its min {low[k]:g}")
        for k in np.flatnonzero(under > high + _ABS):
            problems.append(f"area {b_area[k]} ({b_spec[k] or 'all specialties'}): {under[k]:g} posts, "
                            f"over its max {high[k]:g}")

    posts = np.array(column["posts"], dtype=float)
    known = {(row.area, row.specialty): row.posts for row in instance.previous}
    previous = np.array([known.get(key, np.nan) for key in keys], dtype=float)
    given_previous = np.array([np.nan if v is None else v for v in column["previous"]], dtype=float)
    differs = ~((previous == given_previous) | (np.isnan(previous) & np.isnan(given_previous)))
    for k in np.flatnonzero(differs)[:10]:
        problems.append(f"{keys[k]}: previous {column['previous'][k]} differs from the instance")
    max_change = model.stability.max_change
    if max_change is not None:
        change = posts - previous
        for k in np.flatnonzero(np.abs(change) > max_change + _ABS)[:10]:
            problems.append(f"{keys[k]}: changes by {change[k]:g} against last year, over max_change {max_change:g}")

    expected_targets = targets(instance, model)
    target = np.fromiter(map(expected_targets.__getitem__, keys), dtype=float, count=len(keys))
    given_target = np.array(column["target"], dtype=float)
    off = np.abs(given_target - target) > _ABS + _REL * np.maximum(np.abs(given_target), np.abs(target))
    for k in np.flatnonzero(off)[:10]:
        problems.append(f"{keys[k]}: target {given_target[k]} differs from the recomputed {target[k]}")
    underserved = {area.id for area in instance.areas if area.underserved}
    weight = np.array([model.underserved_weight if area in underserved else 1.0 for area in column["area"]])
    costs = cost_of(posts, target, weight, previous, model.objective, model.stability.weight, model.method,
                    float(instance.unit))
    objective = math.fsum(costs.tolist())
    if not (abs(objective - plan.objective) <= 1e-7 + 1e-9 * abs(objective)):
        problems.append(f"objective {plan.objective!r} differs from the recomputed {objective!r}")
    return problems


def verify(instance: Instance, model: Model, plan: Plan) -> None:
    """Raise :class:`~allocator.errors.VerificationError` unless ``plan`` is valid."""
    problems = check_plan(instance, model, plan)
    if problems:
        raise VerificationError(problems)
