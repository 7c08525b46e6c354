"""Infeasible instances whose cause is known by construction: the diagnosis names exactly that cause,
and its smallest relaxation, once applied, gives a plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.solvers.diagnose import apply_relaxation, diagnose
from allocator.errors import InfeasibleError
from allocator.io.schemas import Instance, Model
from allocator.results.solve import solve
from tests.conftest import DATA, make_instance, make_model
from tests.strategies import instances, models


def three_leaves(**changes: Any) -> dict[str, Any]:
    """Region P holds leaves a and b; leaf c stands alone; one specialty gp with total 12."""
    fields: dict[str, Any] = {
        "specialties": [{"id": "gp", "total": 12}],
        "areas": [{"id": "P"}, {"id": "a", "parent": "P", "population": 100},
                  {"id": "b", "parent": "P", "population": 100}, {"id": "c", "population": 100}],
    }
    fields.update(changes)
    return fields


def floors_over_total(excess: int) -> tuple[Instance, Model, set[str]]:
    """Floors on a and c add up to the total plus ``excess``."""
    instance = make_instance(**three_leaves(bounds=[{"area": "a", "specialty": "gp", "min": 6},
                                                    {"area": "c", "specialty": "gp", "min": 6 + excess}]))
    return instance, make_model(), {"total[gp]", "bound[a|gp]", "bound[c|gp]"}


def parent_against_children(excess: int) -> tuple[Instance, Model, set[str]]:
    """P may get at most 8, but its children a and b must get 4 + 4 + ``excess``."""
    instance = make_instance(**three_leaves(bounds=[{"area": "P", "max": 8},
                                                    {"area": "a", "specialty": "gp", "min": 4},
                                                    {"area": "b", "specialty": "gp", "min": 4 + excess}]))
    return instance, make_model(), {"bound[P|*]", "bound[a|gp]", "bound[b|gp]"}


def stability_against_new_cap(excess: int) -> tuple[Instance, Model, set[str]]:
    """Last year a had 10; it may change by at most 2, but a new cap allows 8 - ``excess``."""
    instance = make_instance(**three_leaves(bounds=[{"area": "a", "specialty": "gp", "max": 8 - excess}],
                                            previous=[{"area": "a", "specialty": "gp", "posts": 10}]))
    return instance, make_model(stability={"max_change": 2}), {"stability[a|gp]", "bound[a|gp]"}


def unit_mismatch(_: int) -> tuple[Instance, Model, set[str]]:
    """Whole posts, but a cell must get exactly 2.5: no whole number fits."""
    instance = make_instance(**three_leaves(bounds=[{"area": "b", "specialty": "gp", "min": 2.5, "max": 2.5}]))
    return instance, make_model(), {"bound[b|gp]"}


CONSTRUCTED = {"floors-over-total": floors_over_total, "parent-against-children": parent_against_children,
               "stability-against-new-cap": stability_against_new_cap, "unit-mismatch": unit_mismatch}


@pytest.mark.parametrize("name", sorted(CONSTRUCTED))
@pytest.mark.parametrize("excess", [1, 3])
def test_diagnosis_names_the_constructed_conflict_and_its_fix_works(name: str, excess: int) -> None:
    instance, model, expected = CONSTRUCTED[name](excess)
    with pytest.raises(InfeasibleError) as caught:
        solve(instance, model)
    diagnosis = caught.value.diagnosis
    assert {rule.name for rule in diagnosis.conflicting} == expected
    assert set(caught.value.conflicts) == expected
    assert diagnosis.relaxation, "an infeasible instance must get a suggested change"
    assert {change.rule.name for change in diagnosis.relaxation} <= expected
    relaxed_instance, relaxed_model = apply_relaxation(instance, model, diagnosis.relaxation)
    solve(relaxed_instance, relaxed_model)  # raises if the suggestion does not give a plan


def test_relaxation_changes_bounds_before_the_total() -> None:
    instance, model, _ = floors_over_total(2)
    diagnosis = diagnose(instance, model)
    assert [change.rule.kind for change in diagnosis.relaxation] == ["bound"]
    assert sum(change.lower_by for change in diagnosis.relaxation) == 2
    assert "lower the minimum for" in diagnosis.relaxation[0].text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(CONSTRUCTED)), excess=st.integers(1, 4))
def test_every_constructed_conflict_is_found(name: str, excess: int) -> None:
    instance, model, expected = CONSTRUCTED[name](excess)
    diagnosis = diagnose(instance, model)
    assert {rule.name for rule in diagnosis.conflicting} == expected
    solve(*apply_relaxation(instance, model, diagnosis.relaxation))


def test_cli_writes_diagnosis_files_and_exits_3(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(DATA / "infeasible" / "floors_over_total.yaml"), "--out", str(out)])
    assert result.exit_code == 3, result.output
    assert "Smallest change that gives a plan" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["diagnosis.json", "diagnosis.md"]
    document = json.loads((out / "diagnosis.json").read_text(encoding="utf-8"))
    assert document["status"] == "infeasible"
    assert {r["name"] for r in document["conflicting_rules"]} == {"total[gp]", "bound[A|gp]", "bound[B|gp]"}
    assert document["smallest_relaxation"] and "lower the minimum" in document["smallest_relaxation"][0]["text"]
    memo = (out / "diagnosis.md").read_text(encoding="utf-8")
    assert "## Rules that conflict" in memo and "A must get at least 6 posts of gp" in memo


def test_cli_refuses_to_overwrite_a_folder_with_other_files_when_infeasible(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["solve", str(DATA / "infeasible" / "floors_over_total.yaml"), "--out", str(out)])
    assert result.exit_code == 2 and "already holds files" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def _one_rule_at_a_time(rules: list[Any]) -> list[Any]:
    """The deletion filter as it was first written: one LP, built afresh, per rule (the reference)."""
    from allocator.solvers.diagnose import feasible

    order = {"stability": 0, "bound": 1, "total": 2}
    kept = list(rules)
    for rule in sorted(rules, key=lambda r: (order[r.kind], r.name)):
        trial = [r for r in kept if r is not rule]
        if not feasible(trial):
            kept = trial
    return kept


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_leaves=5, max_specialties=3), model=models())
def test_the_block_filter_names_what_the_one_rule_filter_names(instance: Instance, model: Model) -> None:
    """Regression (397 s to diagnose one infeasible 3,920-cell instance): the deletion filter now drops rules in
    blocks from one LP re-solved with rows freed. It must name exactly the rules, in the same order, that the
    one-rule-at-a-time filter names, and they must be irreducible."""
    from allocator.solvers.diagnose import conflicting_rules, feasible, rules_of

    rules = rules_of(instance, model)
    assume(not feasible(rules))
    found = conflicting_rules(instance, model, rules)
    assert found == _one_rule_at_a_time(rules)
    assert found and not feasible(found)
    for rule in found:
        assert feasible([r for r in found if r is not rule]), f"{rule.name} is not needed"
