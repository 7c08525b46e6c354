"""The sensitivity report: every figure is an exact re-solve, and equals a fresh solve of that variant."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.io.loading import load_instance, load_model
from allocator.core.problem import build_problem, with_totals
from allocator.reports.sensitivity import _with_total, resolve, sensitivity
from allocator.results.solve import solve
from tests.conftest import DK_INSTANCE, MODELS, SYNTHETIC_INSTANCE


def _copy_with_total(source: Path, folder: Path, specialty: str, total: float) -> Path:
    """The instance folder copied, with one specialty's total rewritten in its YAML (a user's own edit)."""
    folder.mkdir()
    for path in source.parent.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    path = folder / "instance.yaml"
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"(\{{id: {re.escape(specialty)},[^}}]*total: )([0-9.]+)")
    if pattern.search(text) is None:  # the Danish file writes the row over several lines
        pattern = re.compile(rf"(id: {re.escape(specialty)}\n(?:\s+\w+: .*\n)*?\s+total: )([0-9.]+)")
    assert pattern.search(text), specialty
    path.write_text(pattern.sub(lambda m: f"{m.group(1)}{total:g}", text, count=1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("source", "model_name"), [(DK_INSTANCE, "need-weighted.yaml"),
                                                    (SYNTHETIC_INSTANCE, "population.yaml")], ids=["dk", "synthetic"])
def test_total_ranging_equals_fresh_solves(tmp_path: Path, source: Path, model_name: str) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["sensitivity", str(source), "-m", str(MODELS / model_name), "-o", str(out),
                                       "--k", "3", "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))
    instance = load_instance(source).value
    checked = 0
    for specialty, steps in report["total_ranging"].items():
        assert sorted(step["delta"] for step in steps) == [-3, -2, -1, 1, 2, 3]
        total = next(s.total for s in instance.specialties if s.id == specialty)
        for step in steps:
            path = _copy_with_total(source, tmp_path / f"{specialty}{step['delta']}", specialty,
                                    total + step["delta"] * float(instance.unit))
            fresh = tmp_path / f"plan-{specialty}{step['delta']}"
            done = CliRunner().invoke(main, ["solve", str(path), "-m", str(MODELS / model_name), "-o", str(fresh),
                                             "-q", "--no-xlsx"])
            if step.get("infeasible"):
                assert done.exit_code == 3
                continue
            assert done.exit_code == 0, done.output
            rows = json.loads((fresh / "plan.json").read_text(encoding="utf-8"))["rows"]
            assert step["posts"] == {r["area"]: r["posts"] for r in rows if r["specialty"] == specialty}
            checked += 1
    assert checked >= 3


def test_rebuilding_for_new_totals_equals_a_fresh_build() -> None:
    instance = load_instance(SYNTHETIC_INSTANCE).value
    model = load_model(MODELS / "need-weighted.yaml").value
    base = build_problem(instance, model)
    for specialty in instance.specialties:
        for delta in (-7, -1, 1, 40):
            moved = _with_total(instance, specialty.id, max(0.0, specialty.total + delta))
            fast, fresh = with_totals(base, moved, model), build_problem(moved, model)
            assert np.array_equal(fast.target, fresh.target)
            assert np.array_equal(fast.lo, fresh.lo) and np.array_equal(fast.hi, fresh.hi)
            assert [(g.name, g.lo, g.hi, g.cells.tolist()) for g in fast.groups] == \
                [(g.name, g.lo, g.hi, g.cells.tolist()) for g in fresh.groups]


def test_binding_changes_are_exact_re_solves() -> None:
    """Relaxing Nordjylland's cap by one post under need-weighted: compare with a fresh solve of that variant."""
    instance = load_instance(DK_INSTANCE).value
    model = load_model(MODELS / "need-weighted.yaml").value
    plan = solve(instance, model)
    report = sensitivity(instance, model, plan, k=1)
    by_rule = {b.rule: b for b in report.binding}
    assert "total[almen-medicin]" in by_rule
    for name, bound in by_rule.items():
        if bound.kind != "bound":
            continue
        area = name.split("[", 1)[1].split("|", 1)[0]
        for step, change in ((+1, bound.relax), (-1, bound.tighten)):
            rows = [b._replace(max=b.max + step) if b.area == area and bound.side == "max" else b
                    for b in instance.bounds]
            fields = {f: getattr(instance, f) for f in type(instance).model_fields}
            fresh = resolve(type(instance)(**{**fields, "bounds": rows}), model)
            assert change == pytest.approx(None if fresh.objective is None else fresh.objective - plan.objective,
                                           abs=1e-12)


def test_every_area_is_explained_in_words() -> None:
    instance = load_instance(SYNTHETIC_INSTANCE).value
    model = load_model(MODELS / "need-weighted.yaml").value
    plan = solve(instance, model)
    report = sensitivity(instance, model, plan, k=1)
    assert len(report.areas) == len(plan.rows)
    assert {a.reason for a in report.areas} <= {"target rounded", "bound", "stability", "under-served weight",
                                                 "rounding against a neighbour"}
    for area in report.areas:
        assert area.sentence.startswith(next(r.area_name for r in plan.rows if r.area == area.area))


def test_monte_carlo_is_reproducible_for_a_seed() -> None:
    from allocator.reports.sensitivity import robustness

    instance = load_instance(DK_INSTANCE).value
    model = load_model(MODELS / "need-weighted.yaml").value
    plan = solve(instance, model)
    first = robustness(instance, model, plan, draws=30, noise=0.05, seed=7)
    again = robustness(instance, model, plan, draws=30, noise=0.05, seed=7)
    other = robustness(instance, model, plan, draws=30, noise=0.05, seed=8)
    assert first.cells == again.cells
    assert first.cells != other.cells
    for cell in first.cells:
        assert cell["min"] <= cell["median"] <= cell["max"] and 0.0 <= cell["keep_share"] <= 1.0
    no_noise = robustness(instance, model, plan, draws=5, noise=0.0, seed=1)
    assert all(cell["keep_share"] == 1.0 for cell in no_noise.cells)


def test_each_end_of_each_weight_range_is_checked_just_inside_and_just_outside() -> None:
    from allocator.reports.sensitivity import TOLERANCE, _with_weight, weight_ranges
    from tests.conftest import make_model

    instance = load_instance(SYNTHETIC_INSTANCE).value
    model = make_model(criteria=[{"indicator": "inhabitants_per_gp", "weight": 1},
                                 {"indicator": "closed_practice_share", "weight": 1}],
                       underserved_weight=2, stability={"weight": 0.25})
    base = resolve(instance, model).posts
    ranges = weight_ranges(instance, model, base)
    assert {r.weight for r in ranges} == {"criterion:inhabitants_per_gp", "criterion:closed_practice_share",
                                          "underserved_weight", "stability.weight"}
    finite = 0
    for weight_range in ranges:
        assert weight_range.low.inside <= weight_range.value <= weight_range.high.inside
        for end in (weight_range.low, weight_range.high):
            assert resolve(instance, _with_weight(model, weight_range.weight, end.inside)).posts == base
            if end.outside is None:
                continue
            finite += 1
            assert abs(end.outside - end.inside) <= TOLERANCE * max(weight_range.value, 1.0)
            outside = resolve(instance, _with_weight(model, weight_range.weight, end.outside)).posts
            assert outside != base
            assert end.gains and end.losses, "a changed plan moves posts from someone to someone"
    assert finite >= 2, "the generated instance should have weights whose ranges end"


def test_apportionment_models_get_no_underserved_weight_range() -> None:
    """Regression: the weight must be 1 under objective apportionment, so ranging it reported a non-question."""
    from allocator.reports.sensitivity import weight_ranges

    instance = load_instance(DK_INSTANCE).value
    model = load_model(MODELS / "webster.yaml").value
    names = {r.weight for r in weight_ranges(instance, model, resolve(instance, model).posts)}
    assert "underserved_weight" not in names


def test_tied_optima_are_found_and_each_exchange_costs_the_same() -> None:
    from allocator.results.plan import build_plan
    from allocator.reports.sensitivity import alternative_optima
    from allocator.results.verify import check_plan
    from tests.conftest import make_instance, make_model

    instance = make_instance(specialties=[{"id": "gp", "total": 3}],
                             areas=[{"id": "a", "population": 100}, {"id": "b", "population": 100}])
    model = make_model()
    base = resolve(instance, model)
    found = alternative_optima(base)
    assert not found.unique and found.count == 1
    exchange = found.exchanges[0]
    units = base.units.copy()
    cells = instance.cells
    units[cells.index((exchange["from"], "gp"))] -= 1
    units[cells.index((exchange["to"], "gp"))] += 1
    other = build_plan(instance, model, base.problem, units)
    assert check_plan(instance, model, other) == []
    assert other.objective == pytest.approx(base.objective, abs=1e-12)
    assert other.posts() != base.posts


def test_a_plan_without_ties_is_called_unique() -> None:
    from allocator.reports.sensitivity import alternative_optima

    instance = load_instance(DK_INSTANCE).value
    assert alternative_optima(resolve(instance, load_model(MODELS / "need-weighted.yaml").value)).unique


def test_regression_a_unique_plan_is_not_answered_no(tmp_path: Path) -> None:
    """sensitivity.md asked "Is this the only optimal plan?" and answered "No: no other plan has the same cost"
    for a unique plan. The answer now agrees with sensitivity.json's verdict."""
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sensitivity", str(DK_INSTANCE), "-m", str(MODELS / "need-weighted.yaml"),
                                       "-o", str(out), "-q", "--draws", "0", "--lang", "en"])
    assert result.exit_code == 0, result.output
    verdict = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))["alternative_optima"]["unique"]
    memo = (out / "sensitivity.md").read_text(encoding="utf-8")
    answer = memo.split("## Is this the only optimal plan?\n\n", 1)[1].split("\n", 1)[0]
    assert verdict is True and answer.startswith("Yes: no other plan has the same cost"), answer


def test_solve_with_sensitivity_writes_plan_and_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(DK_INSTANCE), "-m", str(MODELS / "need-weighted.yaml"),
                                       "-o", str(out), "-q", "--sensitivity"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["plan.csv", "plan.json", "plan.xlsx", "sensitivity.json",
                                                     "sensitivity.md", "sensitivity_cells.csv",
                                                     "sensitivity_rules.csv", "summary.md"]
    report = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))
    assert set(report) >= {"binding_bounds", "total_ranging", "priority", "weight_ranges", "alternative_optima",
                           "robustness", "areas"}
    assert len(report["total_ranging"]["almen-medicin"]) == 10
    # sensitivity.md is in summary.md's language: the instance's, Danish.
    memo = (out / "sensitivity.md").read_text(encoding="utf-8")
    assert memo.index("## Hovedpunkter") < memo.index("## Bindende regler") < memo.index("## Ændring af det samlede")
    assert (out / "summary.md").read_text(encoding="utf-8").startswith("# Fordelingsplan: ")


def test_sensitivity_of_an_infeasible_instance_exits_3(tmp_path: Path) -> None:
    from tests.conftest import DATA

    result = CliRunner().invoke(main, ["sensitivity", str(DATA / "infeasible" / "floors_over_total.yaml"),
                                       "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 3 and "minimums add up to 11 posts" in result.output
    assert not (tmp_path / "out").exists()


def test_jobs_one_and_two_write_the_same_files(tmp_path: Path) -> None:
    """Issue 13: results do not depend on the number of workers (spawned processes) nor on completion order."""
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = CliRunner().invoke(main, ["sensitivity", str(SYNTHETIC_INSTANCE), "-m",
                                           str(MODELS / "need-weighted.yaml"), "-o", str(out), "--k", "2",
                                           "--draws", "12", "--jobs", jobs, "-q"])
        assert result.exit_code == 0, result.output
        outs.append(out)
    for name in ("sensitivity.json", "sensitivity.md", "sensitivity_rules.csv", "sensitivity_cells.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_the_bar_is_silent_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    result = CliRunner(mix_stderr=False).invoke(main, ["sensitivity", str(DK_INSTANCE), "-o", str(tmp_path / "o"),
                                                       "--draws", "3", "--jobs", "1"]) \
        if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else \
        CliRunner().invoke(main, ["sensitivity", str(DK_INSTANCE), "-o", str(tmp_path / "o"), "--draws", "3",
                                  "--jobs", "1"])
    assert result.exit_code == 0
    assert "%" not in result.output and "eta" not in result.output.lower()
