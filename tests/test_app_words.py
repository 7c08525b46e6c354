"""The app's pieces that need no web framework: the diagnosis in words and the exported model file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.app.whatif import Settings, diagnosis_words, model_of, settings_of
from allocator.io.loading import load_instance, load_model
from allocator.solvers.diagnose import diagnose
from allocator.writers.model import model_yaml
from tests.conftest import MODELS, ROOT

INFEASIBLE = ROOT / "tests" / "data" / "infeasible"
KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"


@pytest.mark.parametrize(("instance", "model"), [
    ("floors_over_total.yaml", None),
    ("parent_against_children.yaml", None),
    ("stability_against_new_cap.yaml", "stability_2.yaml"),
    ("unit_mismatch.yaml", None),
])
def test_the_diagnosis_in_english_is_solves_own_and_danish_is_not(instance: str, model: str | None) -> None:
    loaded = load_instance(INFEASIBLE / instance).value
    policy = load_model(ROOT / "tests" / "data" / model if model else MODELS / "population.yaml").value
    diagnosis = diagnose(loaded, policy)
    assert diagnosis.conflicting and diagnosis.relaxation
    rules, changes = diagnosis_words(loaded, policy, diagnosis, "en")
    assert rules == [rule.text for rule in diagnosis.conflicting]  # the words of allocator solve's diagnosis.md
    assert changes == [change.text for change in diagnosis.relaxation]
    danish_rules, danish_changes = diagnosis_words(loaded, policy, diagnosis, "da")
    assert len(danish_rules) == len(rules) and len(danish_changes) == len(changes)
    assert not set(danish_rules) & set(rules) and not set(danish_changes) & set(changes)


def test_every_bundled_model_survives_the_round_trip_through_its_file(tmp_path: Path) -> None:
    for path in sorted(MODELS.glob("*.yaml")):
        model = load_model(path).value
        (tmp_path / path.name).write_text(model_yaml(model, ["a header"]), encoding="utf-8")
        assert load_model(tmp_path / path.name).value.model_dump() == model.model_dump(), path.name


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=2, max_size=2),
       underserved=st.floats(min_value=1, max_value=1e3), limit=st.one_of(st.none(), st.floats(0, 1e4)),
       stability=st.floats(min_value=0, max_value=1e3),
       objective=st.sampled_from(["absolute", "squared", "apportionment"]))
def test_any_settings_load_back_from_the_exported_file_as_the_same_model(
        tmp_path_factory: pytest.TempPathFactory, weights: list[float], underserved: float, limit: float | None,
        stability: float, objective: str) -> None:
    instance = load_instance(KOMMUNER).value
    start = load_model(MODELS / "closed-practice.yaml").value
    base = settings_of(instance, start)
    chosen = Settings(weights=tuple((indicator, weight) for (indicator, _w), weight in zip(base.weights, weights)),
                      underserved_weight=underserved, max_change=limit, stability_weight=stability,
                      objective=objective, method=None, totals=base.totals, name="what-if")
    model = model_of(start, chosen)
    path = tmp_path_factory.mktemp("model") / "what-if.yaml"
    path.write_text(model_yaml(model), encoding="utf-8")
    assert load_model(path).value.model_dump() == model.model_dump()  # every double back bit for bit
