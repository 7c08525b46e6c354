"""`allocator compare`: plans side by side, equity metrics, and the differences explained."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

from allocator.cli import main
from allocator.reports.compare import compare, gini, max_min_ratio
from allocator.io.loading import load_instance, load_model
from allocator.core.need import need_breakdown
from tests.conftest import DK_INSTANCE, MODELS, SYNTHETIC_INSTANCE, make_model

#: The library, population first: the reference every delta is taken against (as in `make compare`).
LIBRARY = sorted(MODELS.glob("*.yaml"), key=lambda path: (path.stem != "population", path.stem))


def test_gini_and_ratio_by_hand() -> None:
    """Equal values give 0; two equal-weight areas with 1 and 3 give |1-3| * 2 / (2 * 4 * 2) = 0.25."""
    assert gini([2.0, 2.0, 2.0], [1.0, 5.0, 9.0]) == 0.0
    assert gini([1.0, 3.0], [1.0, 1.0]) == pytest.approx(0.25)
    assert max_min_ratio([2.0, 4.0]) == 2.0
    assert max_min_ratio([0.0, 4.0]) is None


def _pairwise_gini(values: list[float], weights: list[float]) -> float:
    """The definition, sum over every ordered pair (the reference for the sorted form)."""
    total = math.fsum(weights)
    mean = math.fsum(w * v for w, v in zip(weights, values)) / total
    spread = math.fsum(wi * wj * abs(vi - vj) for wi, vi in zip(weights, values) for wj, vj in zip(weights, values))
    return spread / (2 * total**2 * mean)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e4, allow_subnormal=False), st.floats(1e-3, 1e6, allow_subnormal=False)),
                min_size=1, max_size=40))
def test_gini_equals_the_pairwise_definition(pairs: list[tuple[float, float]]) -> None:
    """The sorted O(n log n) form equals the O(n^2) pairwise definition (ties and equal values included)."""
    values, weights = [v for v, _ in pairs], [w for _, w in pairs]
    if math.fsum(w * v for w, v in pairs) <= 0:
        assert gini(values, weights) == 0.0
        return
    assert gini(values, weights) == pytest.approx(_pairwise_gini(values, weights), rel=1e-9, abs=1e-12)


def test_library_has_the_policies_a_danish_policymaker_compares() -> None:
    """At least six documented models; every one loads, says what it stands for and solves both instances."""
    names = {path.stem for path in LIBRARY}
    assert {"population", "need-weighted", "closed-practice", "strong-underserved", "stability-first",
            "japan-style", "webster", "dhondt", "hamilton"} <= names
    for path in LIBRARY:
        model = load_model(path).value
        assert model.name == path.stem
        assert model.description.strip()
        assert path.read_text(encoding="utf-8").startswith(("# Policy:", "# Baseline:"))


def test_compare_on_the_danish_instance_shows_real_differences(tmp_path: Path) -> None:
    """Every library model on the Danish instance: the plans differ, and comparison.md says why in words."""
    out = tmp_path / "cmp"
    # The instance's language is Danish; the English memo is asked for (the Danish one: tests/test_language.py).
    args = ["compare", str(DK_INSTANCE), "--out", str(out), "--lang", "en"]
    for path in LIBRARY:
        args += ["--model", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    document = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    plans = {model["name"] for model in document["models"]}
    assert len(plans) == len(LIBRARY)
    distinct = {tuple(cell["posts"][name] for cell in document["cells"]) for name in plans}
    assert len(distinct) >= 5
    text = (out / "comparison.md").read_text(encoding="utf-8")
    # The need criteria move posts to Nordjylland until its capacity holds it.
    assert "Region Nordjylland +7 (35 → 42)" in text and "held by its max of 42" in text
    assert "need-weighted, strong-underserved. Bounds hold" in text
    with (out / "comparison.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["area"] for row in rows] == ["Hovedstaden", "Midtjylland", "Nordjylland", "Sjælland", "Syddanmark"]
    first = document["reference"]
    for row in rows:
        for name in plans - {first}:
            assert float(row[f"{name}_vs_{first}"]) == float(row[name]) - float(row[first])


def test_metrics_follow_their_definitions() -> None:
    """The reference's objective under its own cost equals its own objective; shares and deviations recomputed."""
    instance = load_instance(SYNTHETIC_INSTANCE).value
    models = [load_model(MODELS / "population.yaml").value, load_model(MODELS / "need-weighted.yaml").value]
    comparison = compare(instance, models)
    reference, other = comparison.models
    assert reference.metrics.objective_reference == pytest.approx(reference.metrics.objective_own)
    assert other.metrics.objective_reference >= reference.metrics.objective_own - 1e-9  # the reference's optimum
    designated = {a.id for a in instance.areas if a.underserved}
    share = sum(r.posts for r in other.plan.rows if r.area in designated) / sum(r.posts for r in other.plan.rows)
    assert other.metrics.underserved_share == pytest.approx(share)
    assert other.metrics.largest_deviation == pytest.approx(max(abs(r.posts - r.target) for r in other.plan.rows))


def test_posts_per_need_use_the_chosen_yardstick(tmp_path: Path) -> None:
    """With population first, posts per need is posts per inhabitant again; --need-model measures against real need."""
    instance = load_instance(DK_INSTANCE).value
    population, weighted = (load_model(MODELS / name).value for name in ("population.yaml", "need-weighted.yaml"))
    default = compare(instance, [population, weighted])
    assert default.need_yardstick == "population"
    for compared in default.models:  # the same ratio: need under population is population
        assert compared.metrics.per_need_max_min == pytest.approx(compared.metrics.per_100k_max_min)
    measured = compare(instance, [population, weighted], need_model=weighted)
    assert measured.need_yardstick == "need-weighted"
    need = {leaf: breakdown.need for leaf, breakdown in need_breakdown(instance, weighted).items()}
    for compared in measured.models:
        per_need = [posts / need[leaf] for leaf, posts in measured.leaf_posts(compared).items()]
        assert compared.metrics.per_need_max_min == pytest.approx(max(per_need) / min(per_need))
    assert measured.models[0].metrics.per_need_max_min != pytest.approx(default.models[0].metrics.per_need_max_min)
    result = CliRunner().invoke(main, ["compare", str(DK_INSTANCE), "-m", str(MODELS / "population.yaml"),
                                       "-m", str(MODELS / "webster.yaml"), "--need-model",
                                       str(MODELS / "need-weighted.yaml"), "-o", str(tmp_path / "c"), "--lang", "en"])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "c" / "comparison.json").read_text(encoding="utf-8"))
    assert document["need_yardstick"] == "need-weighted"
    assert "posts per need (need-weighted)" in (tmp_path / "c" / "comparison.md").read_text(encoding="utf-8")


def test_compare_refuses_one_model_and_twin_names(tmp_path: Path) -> None:
    """Fewer than two models, or two with one name, exit 2 and write nothing."""
    result = CliRunner().invoke(main, ["compare", str(DK_INSTANCE), "-m", str(MODELS / "population.yaml"),
                                       "-o", str(tmp_path / "a")])
    assert result.exit_code == 2 and "at least two models" in result.output
    result = CliRunner().invoke(main, ["compare", str(DK_INSTANCE), "-m", str(MODELS / "population.yaml"),
                                       "-m", str(MODELS / "population.yaml"), "-o", str(tmp_path / "b")])
    assert result.exit_code == 2 and "two models are named 'population'" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(ValueError):
        compare(load_instance(DK_INSTANCE).value, [make_model()])
