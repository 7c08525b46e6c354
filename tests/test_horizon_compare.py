"""`allocator compare` on a multi-year instance: each model solved over the horizon, side by side."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from tests.conftest import MODELS, ROOT

HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
TWO_MODELS = ["-m", str(MODELS / "population.yaml"), "-m", str(MODELS / "need-weighted.yaml")]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Danish horizon instance compared under population and need-weighted, and each solved alone."""
    root = tmp_path_factory.mktemp("horizon-compare")
    # The instance's language is Danish; these tests read the English memo (the Danish: tests/test_memos_danish.py).
    code, output = _run("compare", str(HORIZON), *TWO_MODELS, "-o", str(root / "comparison"), "--lang", "en")
    assert code == 0, output
    for model in ("population", "need-weighted"):
        code, output = _run("solve", str(HORIZON), "-m", str(MODELS / f"{model}.yaml"), "-q", "--no-xlsx",
                            "-o", str(root / model))
        assert code == 0, output
    return root


def test_each_model_is_its_own_multi_year_solve(compared: Path) -> None:
    """Every model's figures and posts in the comparison are those of `allocator solve` under that model."""
    document = json.loads((compared / "comparison" / "comparison.json").read_text(encoding="utf-8"))
    assert document["kind"] == "multi-year" and document["reference"] == "population"
    assert document["years"] == {"first": 2021, "last_plan": 2025, "last_outlook": 2032}
    for entry in document["models"]:
        plan = json.loads((compared / entry["name"] / "plan.json").read_text(encoding="utf-8"))
        metrics = entry["metrics"]
        assert metrics["status"] == plan["status"] == "optimal"
        assert metrics["objective"] == plan["objective"]
        assert metrics["inhabitant_years_without_specialist"] == plan["inhabitant_years_without_specialist"]
        assert metrics["myopic_inhabitant_years_without_specialist"] == \
            plan["myopic"]["inhabitant_years_without_specialist"]
        posts = {(row["area"], row["specialty"], row["year"]): row["posts"] for row in plan["rows"]}
        mine = {(cell["area"], cell["specialty"], cell["year"]): cell["posts"][entry["name"]]
                for cell in document["cells"] if cell["posts"][entry["name"]] is not None}
        assert mine == posts
        # posts moved from year to year, recomputed from the solve's own rows (year 0 against last year's posts)
        moved = math.fsum(abs(row["change"]) for row in plan["rows"] if row["change"] is not None)
        assert metrics["posts_moved"] == pytest.approx(moved, abs=1e-9)
        projection = {(row["area"], row["specialty"], row["year"]): row["coverage"] for row in plan["projection"]}
        assert {(c["area"], c["specialty"], c["year"]): c["coverage"][entry["name"]]
                for c in document["cells"]} == projection


def test_overall_coverage_and_the_year_each_area_reaches_its_target(compared: Path) -> None:
    """Coverage of all areas is Σ supply / Σ demand of the solve's projection; 'reaches its target' is the
    first year from which coverage stays at 100 % or more (recomputed here from projection.csv)."""
    document = json.loads((compared / "comparison" / "comparison.json").read_text(encoding="utf-8"))
    with (compared / "population" / "projection.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    supply = math.fsum(float(r["supply"]) for r in rows if r["year"] == "2032")
    demand = math.fsum(float(r["demand"]) for r in rows if r["year"] == "2032")
    metrics = document["models"][0]["metrics"]
    assert metrics["coverage_last_outlook_year"]["almen-medicin"] == pytest.approx(supply / demand, rel=1e-12)
    reached = {}
    for area in {r["area"] for r in rows}:
        years = sorted((int(r["year"]), float(r["coverage"])) for r in rows if r["area"] == area)
        first = None
        for year, value in years:
            first = (first or year) if value >= 1 else None
        reached[area] = first
    assert metrics["cells_reaching_target"] == sum(year is not None for year in reached.values())
    assert metrics["last_year_reached"] == max(year for year in reached.values() if year is not None)
    memo = (compared / "comparison" / "comparison.md").read_text(encoding="utf-8")
    assert "## The year each area reaches its target" in memo
    assert f"| Region Sjælland ⚑ | {reached['Sjælland']} |" in memo


def test_csv_has_a_row_per_cell_and_outlook_year_with_posts_in_plan_years_only(compared: Path) -> None:
    """comparison.csv: one row per leaf × specialty × outlook year; posts empty after the plan years."""
    with (compared / "comparison" / "comparison.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 * 12
    assert {row["year"] for row in rows} == {str(y) for y in range(2021, 2033)}
    for row in rows:
        in_plan = int(row["year"]) <= 2025
        assert (row["population"] != "") == in_plan and (row["need-weighted"] != "") == in_plan
        if in_plan:
            assert float(row["need-weighted_vs_population"]) == float(row["need-weighted"]) - float(row["population"])


def test_the_same_comparison_twice_is_byte_identical(compared: Path, tmp_path: Path) -> None:
    code, output = _run("compare", str(HORIZON), *TWO_MODELS, "-o", str(tmp_path), "--lang", "en")
    assert code == 0, output
    for name in ("comparison.csv", "comparison.json", "comparison.md"):
        assert (tmp_path / name).read_bytes() == (compared / "comparison" / name).read_bytes()


def test_need_model_on_a_multi_year_comparison_is_refused(tmp_path: Path) -> None:
    code, output = _run("compare", str(HORIZON), *TWO_MODELS, "-o", str(tmp_path / "out"),
                        "--need-model", str(MODELS / "population.yaml"))
    assert code == 2 and "--need-model is for one-year comparisons" in output and "Traceback" not in output
    assert not (tmp_path / "out").exists()


def test_the_report_of_a_multi_year_comparison(compared: Path, tmp_path: Path) -> None:
    """compare --report: the policies' coverage and disruption, per training region and per area, in Danish
    (the instance's language), with the figures of comparison.json; `allocator report DIR` gives the same file."""
    out = tmp_path / "with-report"
    code, output = _run("compare", str(HORIZON), *TWO_MODELS, "-o", str(out), "--report")
    assert code == 0, output
    html = (out / "report.html").read_text(encoding="utf-8")
    document = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert '<html lang="da">' in html and "Politikkerne side om side over 2021–2032" in html
    fewest = min(document["models"], key=lambda m: m["metrics"]["inhabitant_years_without_specialist"])
    count = f"{round(fewest['metrics']['inhabitant_years_without_specialist']):,}".replace(",", ".")
    assert f"{fewest['name']} efterlader færrest indbyggerår uden en speciallæge: {count}." in html
    table = html[html.index('id="table-hcmp-0"'):]
    table = table[:table.index("</table>")]
    memo = (out / "comparison.md").read_text(encoding="utf-8")
    # comparison.md is in the report's language too (Danish): the same years as the report's table.
    for line in memo[memo.index("## Året, hvor hvert område når sit mål"):].splitlines()[4:9]:
        name, *years = [cell.strip().removesuffix(" ⚑") for cell in line.strip("|").split("|")]
        row = table[table.index(f"<td>{name}"):]
        assert re.findall(r'<td class="num">([^<]*)</td>', row[:row.index("</tr>")]) == years, name
    maps = re.findall(r'<g id="area-(\d+)-(\d+)" class="area"><title>([^<]*)</title>', html)
    assert len(maps) == 5 * 2, "each region on each policy's map"
    code, output = _run("report", str(out), "--out", str(tmp_path / "again"))
    assert code == 0, output
    assert (tmp_path / "again" / "report.html").read_bytes() == (out / "report.html").read_bytes()


@pytest.mark.parametrize("option", ["--time-limit", "--accept-gap"])
def test_multi_year_options_on_a_one_year_comparison_are_refused(tmp_path: Path, option: str) -> None:
    instance = ROOT / "instances" / "dk-2020-almen-medicin" / "instance.yaml"
    code, output = _run("compare", str(instance), *TWO_MODELS, "-o", str(tmp_path / "out"), option, "1")
    assert code == 2 and f"{option} is for multi-year comparisons" in output
    assert not (tmp_path / "out").exists()
