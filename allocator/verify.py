"""Step 6b: the independent verifier.

:func:`verify` checks a plan against the instance and the model directly: it
shares no code with the formulation or the backends. It recomputes the sums
under every area, every bound, stability, the unit, the targets and the
objective from BRIEF.md's cost formula, scalar by scalar.
"""

from __future__ import annotations

import math

from allocator.errors import VerificationError
from allocator.need import targets
from allocator.plan import Plan
from allocator.schemas import Instance, Model

_ABS = 1e-9
_REL = 1e-9


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _ABS + _REL * max(abs(a), abs(b))


def cost_of(x: float, t: float, p: float, prev: float | None, objective: str, stability_weight: float) -> float:
    """BRIEF.md's cost of x posts against target t, written out as in the docs."""
    short = max(0.0, t - x)
    over = max(0.0, x - t)
    if objective == "absolute":
        cost = p * short + over
    else:
        cost = (p * short * short + over * over) / (t if t > 0 else 1.0)
    if prev is not None:
        cost += stability_weight * abs(x - prev)
    return cost


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


def check_plan(instance: Instance, model: Model, plan: Plan) -> list[str]:
    """Every way in which ``plan`` breaks the rules; empty when it is valid."""
    problems: list[str] = []
    unit = float(instance.unit)
    expected = _cells_to_cover(instance)
    seen: dict[tuple[str, str], float] = {}
    for row in plan.rows:
        key = (row.area, row.specialty)
        if key not in expected:
            problems.append(f"row {key} is not a cell (leaf area and specialty) of the instance")
            continue
        if key in seen:
            problems.append(f"row {key} appears twice")
        seen[key] = row.posts
        if not math.isfinite(row.posts) or row.posts < -_ABS:
            problems.append(f"{key}: posts {row.posts} is negative or not finite")
        elif abs(row.posts / unit - round(row.posts / unit)) > 1e-9:
            problems.append(f"{key}: posts {row.posts} is not a multiple of the unit {unit:g}")
    missing = expected - set(seen)
    if missing:
        problems.append(f"{len(missing)} cells are missing, e.g. {sorted(missing)[0]}")
    if problems:
        return problems

    by_specialty: dict[str, list[float]] = {s.id: [] for s in instance.specialties}
    for (_, specialty), value in seen.items():
        by_specialty[specialty].append(value)
    for specialty in instance.specialties:
        total = math.fsum(by_specialty[specialty.id])
        if not _close(total, specialty.total):
            problems.append(f"specialty {specialty.id}: posts add up to {total:g}, not the total {specialty.total:g}")

    # Sum every cell into each of its ancestors, walking the parent links.
    parent = {area.id: area.parent for area in instance.areas}
    under: dict[tuple[str, str | None], list[float]] = {}
    for (leaf, specialty), value in seen.items():
        area: str | None = leaf
        while area is not None:
            under.setdefault((area, specialty), []).append(value)
            under.setdefault((area, None), []).append(value)
            area = parent[area]
    for bound in instance.bounds:
        total = math.fsum(under.get((bound.area, bound.specialty), []))
        scope = bound.specialty or "all specialties"
        if bound.min is not None and total < bound.min - _ABS:
            problems.append(f"area {bound.area} ({scope}): {total:g} posts, under its min {bound.min:g}")
        if bound.max is not None and total > bound.max + _ABS:
            problems.append(f"area {bound.area} ({scope}): {total:g} posts, over its max {bound.max:g}")

    previous = {(row.area, row.specialty): row.posts for row in instance.previous}
    max_change = model.stability.max_change
    if max_change is not None:
        for key, prev in previous.items():
            if key in seen and abs(seen[key] - prev) > max_change + _ABS:
                problems.append(f"{key}: changes by {seen[key] - prev:g} against last year, over max_change {max_change:g}")

    expected_targets = targets(instance, model)
    weight = model.underserved_weight
    underserved = {area.id for area in instance.areas if area.underserved}
    costs = []
    for row in plan.rows:
        key = (row.area, row.specialty)
        t = expected_targets[key]
        if not _close(row.target, t):
            problems.append(f"{key}: target {row.target} differs from the recomputed {t}")
        prev = previous.get(key)
        if row.previous != prev:
            problems.append(f"{key}: previous {row.previous} differs from the instance")
        p = weight if row.area in underserved else 1.0
        costs.append(cost_of(row.posts, t, p, prev, model.objective, model.stability.weight))
    objective = math.fsum(costs)
    if not (abs(objective - plan.objective) <= 1e-7 + 1e-9 * abs(objective)):
        problems.append(f"objective {plan.objective!r} differs from the recomputed {objective!r}")
    return problems


def verify(instance: Instance, model: Model, plan: Plan) -> None:
    """Raise :class:`~allocator.errors.VerificationError` unless ``plan`` is valid."""
    problems = check_plan(instance, model, plan)
    if problems:
        raise VerificationError(problems)
