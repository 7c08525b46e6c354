"""The integer program's optimum equals independent exact optima (hypothesis).

Two oracles, neither sharing code with the formulation: brute force over
every allocation of tiny instances, and greedy marginal allocation on
single-level instances with box bounds (exact for one total and a separable
convex cost).
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.errors import InfeasibleError
from allocator.core.need import targets
from allocator.io.schemas import Instance, Model
from allocator.results.solve import solve
from tests.strategies import instances, models


def cost(x: float, t: float, p: float, prev: float | None, model: Model) -> float:
    """BRIEF.md's cost, written out again for the oracles."""
    if model.objective == "absolute":
        value = p * max(0.0, t - x) + max(0.0, x - t)
    else:
        value = (p * max(0.0, t - x) ** 2 + max(0.0, x - t) ** 2) / (t if t > 0 else 1.0)
    return value + (model.stability.weight * abs(x - prev) if prev is not None else 0.0)


def brute_force(instance: Instance, model: Model) -> float | None:
    """The least cost over every allocation that meets every rule; None when none does."""
    unit = instance.unit
    leaves, specs = instance.leaves, instance.specialty_ids
    t = targets(instance, model)
    prev = instance.previous_posts
    total = {s.id: int(round(s.total / unit)) for s in instance.specialties}

    def compositions(n: int, k: int):
        for cuts in itertools.combinations(range(n + k - 1), k - 1):
            parts, last = [], -1
            for cut in (*cuts, n + k - 1):
                parts.append(cut - last - 1)
                last = cut
            yield parts

    best = None
    for choice in itertools.product(*[list(compositions(total[s], len(leaves))) for s in specs]):
        x = {(leaf, s): choice[j][i] * unit for j, s in enumerate(specs) for i, leaf in enumerate(leaves)}
        if not all(_bound_holds(instance, bound, x) for bound in instance.bounds):
            continue
        mc = model.stability.max_change
        if mc is not None and any(abs(x[key] - p) > mc + 1e-9 for key, p in prev.items()):
            continue
        value = math.fsum(
            cost(x[(leaf, s)], t[(leaf, s)],
                 model.underserved_weight if instance.area_by_id[leaf].underserved else 1.0,
                 prev.get((leaf, s)), model)
            for leaf in leaves for s in specs)
        best = value if best is None else min(best, value)
    return best


def _bound_holds(instance: Instance, bound, x: dict) -> bool:
    total = sum(v for (leaf, s), v in x.items()
                if bound.area in instance.ancestors(leaf) and (bound.specialty in (None, s)))
    return (bound.min is None or total >= bound.min - 1e-9) and (bound.max is None or total <= bound.max + 1e-9)


def greedy(instance: Instance, model: Model) -> float | None:
    """Marginal allocation, unit by unit, for flat instances with per-cell boxes only."""
    unit = instance.unit
    t = targets(instance, model)
    prev = instance.previous_posts
    value = 0.0
    for spec in instance.specialties:
        s = spec.id
        low, high = {}, {}
        for leaf in instance.leaves:
            bound = instance.bound_at.get((leaf, s))
            low[leaf] = math.ceil((bound.min or 0) / unit - 1e-9) if bound and bound.min is not None else 0
            high[leaf] = math.floor(bound.max / unit + 1e-9) if bound and bound.max is not None else 10**9
        n = dict(low)
        left = int(round(spec.total / unit)) - sum(n.values())
        if left < 0:
            return None

        def f(leaf: str, units: int) -> float:
            p = model.underserved_weight if instance.area_by_id[leaf].underserved else 1.0
            return cost(units * unit, t[(leaf, s)], p, prev.get((leaf, s)), model)

        for _ in range(left):
            open_leaves = [leaf for leaf in instance.leaves if n[leaf] < high[leaf]]
            if not open_leaves:
                return None
            leaf = min(open_leaves, key=lambda a: (f(a, n[a] + 1) - f(a, n[a]), a))
            n[leaf] += 1
        value += math.fsum(f(leaf, n[leaf]) for leaf in instance.leaves)
    return value


def assert_matches(instance: Instance, model: Model, expected: float | None) -> None:
    """CBC's optimum equals the oracle's, or both find no plan."""
    try:
        got: float | None = solve(instance, model, solver="cbc").objective
    except InfeasibleError:
        got = None
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(), model=models())
def test_matches_brute_force_on_tiny_instances(instance: Instance, model: Model) -> None:
    assert_matches(instance, model, brute_force(instance, model))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_leaves=12, max_specialties=3, max_total=60, tree=False, shared=False),
       model=models(stability=False))
def test_matches_greedy_on_single_level_instances(instance: Instance, model: Model) -> None:
    assert_matches(instance, model, greedy(instance, model))


@given(data=st.data())
@settings(max_examples=30, deadline=None)
def test_solution_is_deterministic(data: st.DataObject) -> None:
    instance = data.draw(instances(max_leaves=4, max_total=10))
    model = data.draw(models())
    try:
        first = solve(instance, model).posts()
    except InfeasibleError:
        return
    assert solve(instance, model).posts() == first
