"""The sensitivity report of a multi-year plan: ``allocator sensitivity`` and ``solve --sensitivity`` on a horizon.

Real data: the bundled Danish horizon instance (each variant checked against
the instance file edited by hand and solved afresh); generated tiny instances
(tests/test_horizon.py's strategy) for regret and the same reference; and a
constructed instance whose shortfall kink is never reached, where a growth
shift must move no post.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.errors import InfeasibleError
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL
from allocator.reports.horizon_sensitivity import (POST_STEP, REGRET_TOLERANCE, SHIFTS, HorizonSensitivity,
                                                  horizon_sensitivity, region_coverage, solve_variant, variants_of)
from allocator.results.horizon import ABSOLUTE, TOLERANCE, project_plan, solve_horizon
from allocator.writers.horizon_sensitivity import (horizon_sensitivity_csv, horizon_sensitivity_markdown,
                                                   variant_label)
from allocator.writers.language import MemoNumbers
from tests.conftest import ROOT, SYNTHETIC_INSTANCE, make_model
from tests.test_horizon import tiny_horizons, tiny_models

HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
FILES = ("sensitivity.csv", "sensitivity.json", "sensitivity.md")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= ABSOLUTE + 10 * TOLERANCE * max(1.0, abs(a), abs(b))


@pytest.fixture(scope="module")
def danish(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``sensitivity`` twice (in this process, then on two worker processes) and ``solve --sensitivity`` once on
    the Danish horizon instance (Danish memos)."""
    folder = tmp_path_factory.mktemp("horizon-sensitivity")
    runner = CliRunner()
    runs = {"first": ["sensitivity", str(HORIZON), "-o", str(folder / "first"), "-q"],
            "again": ["sensitivity", str(HORIZON), "-o", str(folder / "again"), "-q", "--jobs", "2"],
            "solve": ["solve", str(HORIZON), "-o", str(folder / "solve"), "-q", "--sensitivity", "--no-xlsx"]}
    for name, arguments in runs.items():
        result = runner.invoke(main, arguments)
        assert result.exit_code == 0, result.output
    return {name: folder / name for name in runs}


def _csv(folder: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((folder / "sensitivity.csv").read_text(encoding="utf-8"))))


def test_sensitivity_and_solve_sensitivity_write_the_same_files_byte_for_byte(danish: dict[str, Path]) -> None:
    """The same files whether the variants are solved here or on worker processes, and from either command."""
    assert sorted(p.name for p in danish["first"].iterdir()) == sorted(FILES)
    for name in FILES:
        assert (danish["first"] / name).read_bytes() == (danish["again"] / name).read_bytes(), name
        assert (danish["first"] / name).read_bytes() == (danish["solve"] / name).read_bytes(), name
    assert (danish["solve"] / "plan.json").is_file() and not (danish["first"] / "plan.json").exists()


def test_every_variant_is_solved_and_the_plans_regret_is_never_negative(danish: dict[str, Path]) -> None:
    document = json.loads((danish["first"] / "sensitivity.json").read_text(encoding="utf-8"))
    assert document["kind"] == "multi-year"
    horizon = load_horizon_instance(HORIZON).value
    keys = [v.key for v in variants_of(horizon, DEFAULT_MODEL)]
    assert [v["variant"] for v in document["variants"]] == keys
    # 3 fields x (every cell + 5 cells) x 2, growth x (every leaf + 5 leaves) x 2, the weight x 2, 5 years x 2
    assert len(keys) == 3 * 6 * 2 + 6 * 2 + 2 + 5 * 2
    for variant in document["variants"]:
        assert variant["status"] == "optimal", variant
        if variant["kind"] == "posts":
            assert variant["regret"] is None
            assert variant["posts_moved"] >= POST_STEP  # the total itself changed
        else:
            assert variant["regret"] >= 0.0
            # regret = the plan's own cost there minus the optimum (a rounding below 0 written as 0)
            assert variant["plan_cost"] - variant["objective"] > -REGRET_TOLERANCE * variant["objective"]
            assert _close(max(variant["plan_cost"] - variant["objective"], 0.0), variant["regret"])
            if variant["regret"] == 0.0:
                assert variant["posts_moved"] == 0.0  # the plan is kept when it is still optimal (tie rule)


def _edited(data: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    """The Danish instance file with one variant written into it by hand."""
    edited = copy.deepcopy(data)
    name, area = variant["field"], variant["area"]
    if variant["kind"] == "posts":
        specialty = edited["specialties"][0]
        total = specialty.pop("total")
        specialty["totals"] = {year: total for year in range(2021, 2026)}
        specialty["totals"][variant["year"]] = variant["to"]
    elif name == "population_growth":
        row = next(a for a in edited["areas"] if a["id"] == area)
        row["population_growth"] = variant["to"]
    else:
        # Rates are inherited from the training region's row; the leaf's own row overrides them.
        row = next(w for w in edited["workforce"] if w["area"] == area)
        row[name] = variant["to"]
    return edited


@pytest.mark.parametrize("key", ["fill_rate-0.05@Sjælland", "retention+0.1@Hovedstaden", "exit_rate+0.01@Nordjylland",
                                 "population_growth-0.005@Midtjylland", "posts+1@2021", "posts-1@2024",
                                 "coverage_weight*2"])
def test_a_variant_equals_solving_the_hand_edited_instance(danish: dict[str, Path], key: str, tmp_path: Path) -> None:
    document = json.loads((danish["first"] / "sensitivity.json").read_text(encoding="utf-8"))
    variant = next(v for v in document["variants"] if v["variant"] == key)
    data = yaml.safe_load(HORIZON.read_text(encoding="utf-8"))
    model = DEFAULT_MODEL
    if variant["kind"] == "coverage_weight":
        model = make_model(**{**DEFAULT_MODEL.model_dump(), "coverage_weight": variant["to"]})
    else:
        data = _edited(data, variant)
    del data["geometry"]  # the map is no part of the plan
    path = tmp_path / "instance.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    edited = load_horizon_instance(path).value
    reference = solve_horizon(edited, model)
    # The optimum is unique in value; a tied plan may differ in posts, so the objective is what must agree.
    assert _close(variant["objective"], reference.objective)
    plan = solve_horizon(load_horizon_instance(HORIZON).value, DEFAULT_MODEL)
    if variant["kind"] != "posts":
        regret = project_plan(edited, model, plan.posts()).objective - reference.objective
        assert _close(max(regret, 0.0), variant["regret"])


def test_danish_memo_figures_equal_the_csv(danish: dict[str, Path]) -> None:
    memo = (danish["first"] / "sensitivity.md").read_text(encoding="utf-8")
    assert "Alle varianter" in memo and "Hvad ét forløb mere eller færre er værd" in memo
    horizon = load_horizon_instance(HORIZON).value
    n = MemoNumbers("da")
    rows = {line.split(" | ")[0].lstrip("| "): line.strip("| ").split(" | ") for line in memo.splitlines()
            if line.startswith("| ")}
    checked = 0
    for row in _csv(danish["first"])[1:]:
        area = horizon.instance.area_by_id[row["area"]].label if row["area"] else ""
        label = variant_label("da", row["kind"], row["field"], float(row["change"]), area, row["specialty"],
                              int(row["year"]) if row["year"] else None)
        cells = rows[label]
        assert cells[3] == n.formatted(float(row["objective"]), ".6g"), label
        assert cells[4] == n.count(float(row["inhabitant_years_without_specialist"])), label
        assert cells[5] == n.signed_count(float(row["inhabitant_years_change"])), label
        assert cells[6] == n.posts(float(row["posts_moved"])), label
        assert cells[7] == n.posts(float(row["posts_moved_first_year"])), label
        assert cells[8] == ("–" if not row["regret"] else n.formatted(float(row["regret"]), ".4g")), label
        assert cells[9] == n.percent(float(row["coverage.Nord.2032"])), label
        checked += 1
    assert checked == 60
    # The first-year table: each area's range is the plan's posts plus the CSV's first-year changes.
    plan_posts = {p["area"]: p["posts"] for p in
                  json.loads((danish["first"] / "sensitivity.json").read_text(encoding="utf-8"))["plan"][
                      "first_year_posts"]}
    for leaf, posts in plan_posts.items():
        changes = [float(part.split(":")[1]) for row in _csv(danish["first"])[1:] if row["kind"] != "posts"
                   for part in row["first_year_changes"].split(";") if part and part.split(":")[0] == leaf]
        label = horizon.instance.area_by_id[leaf].label
        line = next(cells for name, cells in rows.items() if name.rstrip(" ⚑") == label and len(cells) == 5)
        assert line[1:4] == [n.posts(posts), n.posts(posts + min([0.0, *changes])), n.posts(posts + max([0.0, *changes]))]


def test_report_shows_the_multi_year_sensitivity_in_both_languages(danish: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    for language, heading in (("da", "Hvor fast flerårsplanen under population er"),
                              ("en", "How firm the multi-year plan under population is")):
        out = tmp_path / language
        result = runner.invoke(main, ["report", str(danish["solve"]), "-o", str(out), "--lang", language])
        assert result.exit_code == 0, result.output
        page = (out / "report.html").read_text(encoding="utf-8")
        assert heading in page and 'id="table-hsens-0"' in page


# --- a shift that changes nothing -------------------------------------------------------------------------

def _never_short() -> dict[str, Any]:
    """Two leaves whose specialists far outnumber the demand in every year, however the growth moves."""
    return {
        "name": "never-short", "horizon": {"first_year": 2021, "plan_years": 2, "outlook_years": 4},
        "specialties": [{"id": "gp", "total": 3, "training_years": 1, "completion": 1,
                         "inhabitants_per_specialist": 1000}],
        "areas": [{"id": "R", "population_growth": 0.01},
                  {"id": "A", "parent": "R", "population": 2000}, {"id": "B", "parent": "R", "population": 3000}],
        "workforce": [{"area": "R", "specialty": "gp", "exit_rate": 0.05, "retention": 0.5},
                      {"area": "A", "specialty": "gp", "headcount": 50, "fill_rate": 0.8},
                      {"area": "B", "specialty": "gp", "headcount": 50, "fill_rate": 0.8}],
        "previous": [{"area": "A", "specialty": "gp", "posts": 1}, {"area": "B", "specialty": "gp", "posts": 2}]}


def test_a_growth_shift_below_the_kink_moves_no_post(tmp_path: Path) -> None:
    path = tmp_path / "instance.yaml"
    path.write_text(yaml.safe_dump(_never_short()), encoding="utf-8")
    horizon = load_horizon_instance(path).value
    model = make_model(stability={"weight": 0.5})
    plan = solve_horizon(horizon, model)
    assert plan.projection.inhabitant_years_without == 0.0
    report = horizon_sensitivity(horizon, model, plan)
    growth = [r for r in report.variants if r.variant.field in ("population_growth", "exit_rate", "retention",
                                                                 "fill_rate")]
    assert len(growth) == 2 * (3 * 3 + 3)
    # Without the shifts of each area alone: every area at once, the weight and the posts only.
    assert [v.key for v in variants_of(horizon, model, per_area=False)] == [
        "fill_rate-0.05", "fill_rate+0.05", "retention-0.1", "retention+0.1", "exit_rate-0.01", "exit_rate+0.01",
        "population_growth-0.005", "population_growth+0.005", "coverage_weight*0.5", "coverage_weight*2",
        "posts+1@2021", "posts-1@2021", "posts+1@2022", "posts-1@2022"]
    for result in growth:
        assert result.status == "optimal"
        assert result.posts_moved == 0.0 and result.first_year_changes == {}
        assert result.regret == 0.0 and result.objective == plan.objective
        assert result.inhabitant_years_without == 0.0


def test_a_variant_stopped_by_the_time_limit_is_reported_without_figures_and_a_gap_is_named() -> None:
    horizon = load_horizon_instance(HORIZON).value
    plan = solve_horizon(horizon, DEFAULT_MODEL)
    variants = variants_of(horizon, DEFAULT_MODEL)
    stopped = [solve_variant(horizon, DEFAULT_MODEL, plan, v, time_limit=1e-4) for v in (variants[0], variants[-1])]
    assert [r.status for r in stopped] == ["time-limit", "time-limit"]
    assert all(r.objective is None and "time limit" in r.message for r in stopped)
    gap = solve_variant(horizon, DEFAULT_MODEL, plan, variants[0], accept_gap=0.5)
    assert gap.status == "gap ≤ 0.5" and gap.gap is not None and gap.regret is not None and gap.regret >= 0.0
    last = horizon.first_year + horizon.outlook_years - 1
    report = HorizonSensitivity(horizon, DEFAULT_MODEL, plan, region_coverage(horizon, plan, last),
                                [*stopped, gap], {"shifts": dict(SHIFTS)})
    memo = horizon_sensitivity_markdown(report, "da")
    assert "ingen plan (tidsgrænse)" in memo and "Forskydninger uden en plan inden for grænserne: 2" not in memo
    assert "Forskydninger uden en plan inden for grænserne: 1;" in memo
    rows = list(csv.DictReader(io.StringIO(horizon_sensitivity_csv(report))))
    assert [r["status"] for r in rows] == ["optimal", "time-limit", "time-limit", "gap ≤ 0.5"]
    assert rows[1]["objective"] == "" and rows[1]["regret"] == ""


# --- generated instances ----------------------------------------------------------------------------------

@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tiny_horizons(second_specialty=False), model=tiny_models(), pick=st.data())  # edits gp only
def test_generated_variants_have_no_negative_regret_and_equal_a_fresh_solve(data: dict[str, Any], model: Any,
                                                                            pick: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "instance.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        horizon = load_horizon_instance(path).value
        try:
            plan = solve_horizon(horizon, model)
        except InfeasibleError:
            assume(False)
        report = horizon_sensitivity(horizon, model, plan)
        for result in report.variants:
            if result.regret is not None:
                assert result.regret >= 0.0
        result = pick.draw(st.sampled_from(report.variants))
        variant = result.variant
        edited = copy.deepcopy(data)
        reference_model = model
        if variant.kind == "coverage_weight":
            reference_model = make_model(**{**model.model_dump(), "coverage_weight": variant.after})
        elif variant.kind == "posts":
            edited["specialties"][0]["totals"][variant.year] = variant.after
        else:
            # Every leaf, or one: the value each leaf resolves to, written on the leaf's own row.
            for leaf in ("A", "B"):
                if variant.area not in ("", leaf):
                    continue
                if variant.field == "population_growth":
                    value = horizon.growth[leaf] + variant.change
                    row = next(a for a in edited["areas"] if a["id"] == leaf)
                    row["population_growth"] = min(1.0, max(-1.0 + 1e-12, value))
                else:
                    value = getattr(horizon.cells[(leaf, "gp")], variant.field) + variant.change
                    row = next(w for w in edited["workforce"] if w["area"] == leaf)
                    row[variant.field] = min(1.0, max(0.0, value))
        path.write_text(yaml.safe_dump(edited), encoding="utf-8")
        reference_horizon = load_horizon_instance(path).value
    try:
        reference = solve_horizon(reference_horizon, reference_model)
    except InfeasibleError:
        assert result.status == "infeasible" and variant.kind == "posts"
        return
    assert result.status == "optimal"
    assert result.objective is not None and _close(result.objective, reference.objective)


# --- bad input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("arguments", "fragment"), [
    ([str(HORIZON), "--draws", "10"], "--draws is for one-year instances"),
    ([str(HORIZON), "--k", "3"], "--k is for one-year instances"),
    ([str(HORIZON), "--solver", "flow"], "does not solve multi-year instances"),
    ([str(SYNTHETIC_INSTANCE), "--time-limit", "5"], "--time-limit is for multi-year instances"),
    ([str(SYNTHETIC_INSTANCE), "--accept-gap", "0.01"], "--accept-gap is for multi-year instances"),
    ([str(SYNTHETIC_INSTANCE), "--no-per-area"], "--per-area is for multi-year instances"),
])
def test_options_a_sensitivity_cannot_honour_are_located_errors(tmp_path: Path, arguments: list[str],
                                                               fragment: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sensitivity", *arguments, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_the_shifts_are_the_documented_ones() -> None:
    text = (ROOT / "docs" / "mathematics.md").read_text(encoding="utf-8")
    for name, amount in SHIFTS.items():
        assert f"`{name}` ±{amount:g}" in text
