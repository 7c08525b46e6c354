"""Warm-started Monte Carlo draws and weight-range steps equal the re-solving reference.

A draw or a weight step changes costs only; ``allocator.solvers.warm`` solves it from
the base optimum and accepts the plan only where it is the one optimum by more than
the solver's rounding. Each answer here is compared with the reference: a fresh build
of the noisy or re-weighted instance, solved from scratch with the tie rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.core.problem import build_problem
from allocator.errors import InputError
from allocator.io.loading import load_instance, load_model
from allocator.reports.draws import NoisyTargets
from allocator.reports.sensitivity import (
    _noisy_areas,
    _range_end,
    noisy_outcome,
    resolve,
    tree_totals,
    variant,
    warm_noisy_outcome,
    weight_ends,
)
from allocator.solvers.warm import CostVariants
from tests.conftest import DK_INSTANCE, MODELS, SYNTHETIC_INSTANCE, make_instance, make_model
from tests.strategies import instances, models


def _reference_targets(instance, model, seed: int, noise: float, draw: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng([seed, draw])
    return build_problem(variant(instance, areas=_noisy_areas(instance, rng, noise)), model).target


def _base_variants(instance, model):  # type: ignore[no-untyped-def]
    """The base optimum and the cost variants around it; None when the model refuses the instance or no plan
    exists."""
    try:
        base = resolve(instance, model)
    except InputError:
        return None
    return None if base.posts is None else (base, CostVariants(base.problem, base.units))


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(instances(max_leaves=5, max_specialties=3), models(apportionment=True), st.integers(0, 3))
def test_warm_draws_equal_fresh_re_solves(instance, model, seed) -> None:  # type: ignore[no-untyped-def]
    found = _base_variants(instance, model)
    if found is None:
        return
    base, variants = found
    noisy = NoisyTargets(instance, model)
    for draw in range(3):
        try:
            reference = noisy_outcome(instance, model, seed, 0.2, draw)
        except InputError:
            continue  # the reference refuses this draw (e.g. a zero target under a divisor method)
        targets = noisy.targets(seed, 0.2, draw)
        if targets is not None:
            assert np.array_equal(targets, _reference_targets(instance, model, seed, 0.2, draw))
            if variants.usable:  # the re-solve of a tied draw is solve's own computation, ties included
                assert np.array_equal(variants.canonical(variants.variant(target=targets)), reference)
        found = warm_noisy_outcome(instance, model, seed, 0.2, draw, variants, noisy)
        assert (found is None) == (reference is None)
        if found is not None:
            assert np.array_equal(found, reference)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(instances(max_leaves=4, max_specialties=2), models())
def test_warm_weight_ranges_equal_bisection_by_re_solves(instance, model) -> None:  # type: ignore[no-untyped-def]
    found = _base_variants(instance, model)
    if found is None:
        return
    base, variants = found
    for name, value, floor, ceiling in weight_ends(instance, model):
        for limit in (floor, ceiling):
            if limit is None:
                continue
            try:
                reference = _range_end(instance, model, name, value, limit, base.posts)
            except InputError:
                continue
            assert _range_end(instance, model, name, value, limit, base.posts, variants) == reference


def _generated(tmp_path, *options: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from allocator.cli import main

    done = CliRunner().invoke(main, ["generate", *options, "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    return load_instance(tmp_path / "instance.yaml").value


def test_a_unique_optimum_is_taken_warm_and_equals_the_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On a generated national shape without equal specialties the draws are taken warm, not re-solved."""
    instance = _generated(tmp_path, "--tree", "4,60", "--specialties", "6", "--posts", "500", "--seed", "5",
                          "--offered", "4", "--no-cell-caps")
    model = load_model(MODELS / "need-weighted.yaml").value
    base = resolve(instance, model)
    variants, noisy = CostVariants(base.problem, base.units), NoisyTargets(instance, model)
    assert variants.usable and noisy.usable and variants.base_unique
    for draw in range(8):
        found = warm_noisy_outcome(instance, model, 0, 0.05, draw, variants, noisy)
        assert found is not None and np.array_equal(found, noisy_outcome(instance, model, 0, 0.05, draw))
    assert variants.answers["warm"] >= 6, variants.answers


def test_a_tied_optimum_is_never_taken_warm() -> None:
    """Two specialties with equal totals over the same leaves have equal targets; both want the larger leaf,
    which has room for one post, so either may have it: swapping them costs nothing."""
    areas = [{"id": "l0", "population": 10, "indicators": {"per_gp": 1}},
             {"id": "l1", "population": 30, "indicators": {"per_gp": 1}}]
    instance = make_instance(specialties=[{"id": "a", "total": 1}, {"id": "b", "total": 1}], areas=areas,
                             bounds=[{"area": "l0", "max": 1}, {"area": "l1", "max": 1}])
    model = make_model(objective="squared")
    base = resolve(instance, model)
    variants = CostVariants(base.problem, base.units)
    assert variants.usable and not variants.base_unique
    assert variants.solve(variants.variant(target=base.problem.target * 1.01)) is None


def test_tree_totals_sum_every_level() -> None:
    instance = load_instance(SYNTHETIC_INSTANCE).value
    model = load_model(MODELS / "need-weighted.yaml").value
    from allocator.reports.sensitivity import explain_areas
    from allocator.results.solve import solve

    plan = solve(instance, model)
    areas = explain_areas(instance, model, plan, build_problem(instance, model).needs)
    rows = tree_totals(instance, areas, None, None)
    inner = {a.id for a in instance.areas if instance.children[a.id]}
    assert [row["area"] for row in rows if row["area"] in inner] == [row["area"] for row in rows]
    assert {row["area"] for row in rows} == inner
    for row in rows:
        below = set(instance.leaves_under[row["area"]])
        mine = [a for a in areas if a.area in below]
        assert row["cells"] == len(mine) and row["leaves"] == len(below)
        assert row["posts"] == pytest.approx(sum(a.posts for a in mine))
        assert row["level"] == len(instance.ancestors(row["area"])) - 1
        assert row["cells_changing_in_some_draw"] is None
    tops = [row for row in rows if row["level"] == 0]
    assert sum(row["posts"] for row in tops) == pytest.approx(sum(s.total for s in instance.specialties))


def test_dk_draws_equal_the_reference() -> None:
    instance = load_instance(DK_INSTANCE).value
    model = load_model(MODELS / "need-weighted.yaml").value
    base = resolve(instance, model)
    variants, noisy = CostVariants(base.problem, base.units), NoisyTargets(instance, model)
    for draw in range(20):
        assert np.array_equal(warm_noisy_outcome(instance, model, 7, 0.05, draw, variants, noisy),
                              noisy_outcome(instance, model, 7, 0.05, draw))
