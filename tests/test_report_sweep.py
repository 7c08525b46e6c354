"""The sweep section of report.html and report.pdf (issue 17): every range and change as sweep.json and
scenarios.csv give them, in Danish and English, from ``sweep --report`` and from ``report DIR`` alike."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from allocator.io.loading import load_instance
from tests.conftest import ROOT
from tests.test_report import _pdf_text, _run

HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
NEED = ROOT / "models" / "need-weighted.yaml"
POPULATION = ROOT / "models" / "population.yaml"
#: The training regions of the Danish horizon instance: the parents of its five regions.
TRAINING_REGIONS = {"Nord": "Videreuddannelsesregion Nord", "Syd": "Videreuddannelsesregion Syd",
                    "Øst": "Videreuddannelsesregion Øst"}


def _spec(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def horizon_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multi-year sweep of 6 scenarios with --report (Danish: the instance's language)."""
    folder = tmp_path_factory.mktemp("sweep-report")
    spec = _spec(folder, {"instance": str(HORIZON), "models": [str(NEED)],
                          "axes": [{"field": "workforce.fill_rate", "factors": [0.9, 1.0, 1.1]},
                                   {"field": "model.coverage_weight", "values": [10, 50]}]})
    _run("sweep", str(spec), "--out", str(folder / "out"), "-q", "--report")
    return folder / "out"


def _table(html: str, key: str) -> dict[str, list[str]]:
    """A table of the report: area name -> its cells."""
    table = html[html.index(f'id="table-{key}"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr><td>([^<]*)</td>(.*?)</tr>", table)
    return {name: re.findall(r'<td class="num">([^<]*)</td>', cells) for name, cells in rows}


def _danish_range(low: float, high: float, digits: int | None = None) -> str:
    def shown(value: float) -> str:
        text = f"{value:.{digits}f}" if digits is not None else f"{value:g}"
        return text.replace(".", ",")
    return shown(low) if shown(low) == shown(high) else f"{shown(low)}–{shown(high)}"


def test_the_danish_sweep_section_holds_every_range_of_scenarios_csv(horizon_sweep: Path) -> None:
    html = (horizon_sweep / "report.html").read_text(encoding="utf-8")
    assert '<html lang="da">' in html and "Sådan flytter planen sig over en række indstillinger" in html
    assert "6 scenarier: 6 bevist optimale." in html
    assert "Hvert scenarie er planlagt over 2021–2025; forløbene er summeret over planårene." in html
    rows = list(csv.DictReader((horizon_sweep / "scenarios.csv").open(encoding="utf-8")))
    for index, (field, values, shown) in enumerate([("workforce.fill_rate", [0.9, 1.0, 1.1], ["0,9", "1", "1,1"]),
                                                    ("model.coverage_weight", [10, 50], ["10", "50"])]):
        assert f"Varieret indstilling: {field}" in html
        header = html[html.index(f'id="table-sweep-0-{index}"'):]
        assert re.findall(r'<th class="num">([^<]*)</th>', header[:header.index("</thead>")]) == shown
        posts = _table(html, f"sweep-0-{index}")
        coverage = _table(html, f"sweep-0-{index}-coverage")
        assert set(posts) == set(coverage) == set(TRAINING_REGIONS.values())
        for area, name in TRAINING_REGIONS.items():
            expected_posts, expected_coverage = [], []
            for value in values:
                mine = [r for r in rows if float(r[field]) == value]
                figures = [float(r[f"posts.{area}"]) for r in mine]
                expected_posts.append(_danish_range(min(figures), max(figures)))
                shares = [100 * float(r[f"coverage.{area}.2032"]) for r in mine]
                expected_coverage.append(_danish_range(min(shares), max(shares), 1))
            assert posts[name] == expected_posts, (field, area)
            assert coverage[name] == expected_coverage, (field, area)
    # Where the plan changes: the same counts and years as sweep.json.
    summary = json.loads((horizon_sweep / "sweep.json").read_text(encoding="utf-8"))
    for axis in summary["axes"]:
        for change in axis["changes"]:
            start, end = (f"{v:g}".replace(".", ",") for v in (change["from"], change["to"]))
            if change["changed"]:
                text = (f"Fra {start} til {end} ændres planen i {change['changed']} af {change['comparable']} "
                        f"sammenlignelige scenarier, i {', '.join(map(str, change['years']))}.")
            else:
                text = f"Fra {start} til {end} er planen den samme i alle {change['comparable']} sammenlignelige scenarier."
            assert text in html


def test_report_dir_gives_what_sweep_report_gave_and_english_on_request(horizon_sweep: Path, tmp_path: Path) -> None:
    _run("report", str(horizon_sweep), "--out", str(tmp_path / "da"))
    assert (tmp_path / "da" / "report.html").read_bytes() == (horizon_sweep / "report.html").read_bytes()
    _run("report", str(horizon_sweep), "--lang", "en", "--out", str(tmp_path / "en"))
    html = (tmp_path / "en" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "How the plan moves across a sweep of settings" in html
    assert "6 scenarios: 6 proven optimal." in html and "Setting varied: workforce.fill_rate" in html
    assert "Coverage (supply / demand) per area in 2032, in per cent, at each value of workforce.fill_rate" in html
    assert "Sådan flytter" not in html and "ændres planen" not in html
    flat = " ".join(_pdf_text(tmp_path / "en" / "report.pdf").split())
    assert "How the plan moves across a sweep of settings" in flat and "Setting varied: model.coverage_weight" in flat


def test_a_one_year_sweep_with_draws_and_an_infeasible_total_in_english(tmp_path: Path) -> None:
    # 340 and 350 have plans; 10,000 is beyond every capacity of the municipal instance (infeasible).
    spec = _spec(tmp_path, {"instance": str(KOMMUNER), "models": [str(NEED), str(POPULATION)],
                            "axes": [{"field": "specialty.almen-medicin.total", "values": [340, 350, 10000]}],
                            "draws": {"count": 2, "noise": 0.05, "seed": 1}})
    _run("sweep", str(spec), "--out", str(tmp_path / "out"), "-q", "--report", "--lang", "en")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "12 scenarios: 8 proven optimal; 4 without any plan (infeasible)." in html
    assert "Each setting was solved with 2 Monte Carlo draws of population and indicators (noise 5.0%, seed 1)." in html
    assert "Policies: need-weighted, population." in html and "Each scenario is planned over" not in html
    assert 'id="table-sweep-0-0-coverage"' not in html
    rows = list(csv.DictReader((tmp_path / "out" / "scenarios.csv").open(encoding="utf-8")))
    posts = _table(html, "sweep-0-0")
    regions = sorted({key[len("posts."):] for key in rows[0] if key.startswith("posts.")})
    assert len(posts) == len(regions) == 5
    names = load_instance(KOMMUNER).value.area_by_id
    for region in regions:
        name = names[region].name or region
        cells = []
        for total in (340.0, 350.0):
            figures = [float(r[f"posts.{region}"]) for r in rows if float(r["specialty.almen-medicin.total"]) == total]
            low, high = min(figures), max(figures)
            cells.append(f"{low:g}" if low == high else f"{low:g}–{high:g}")
        assert posts[name] == cells + ["–"], region
    assert "From 350 to 10,000 the plan changes in 4 of 4 comparable scenarios." in html
    # The axis's chart: one line per region, named in the legend; the description counts what moves.
    moving = sum(1 for cells in posts.values() if len(set(cells[:2])) > 1)
    label = (f"Line chart of the posts of 5 of 5 areas at each of 3 values of specialty.almen-medicin.total; the band "
             f"is the lowest to the highest over the other settings, and {moving} areas&#x27; posts change across "
             "the values.")
    section = html[html.index('<section class="sweep"'):]
    chart = section[section.index("<svg"):section.index("</svg>")]
    assert f'aria-label="{label}"' in chart and "Posts per area across the values of specialty.almen-medicin.total" \
        in section
    assert [f'id="area-{k}"' in chart for k in range(6)] == [True] * 5 + [False]
    assert all(f">{names[region].name}<" in chart for region in regions)


def test_a_sweep_chart_shows_the_areas_whose_posts_move_most() -> None:
    """With more areas than a chart can tell apart, it shows the 8 whose posts move most (ties by name)."""
    from allocator.reports.document import Document, SweepAxisFigures
    from allocator.writers.report import SWEEP_AREAS, _Writer

    posts = [(f"area {k:02d}", [[10.0, 10.0], [10.0 + k % 5, 10.0 + k % 5]]) for k in range(12)]
    axis = SweepAxisFigures("model.underserved_weight", [1.0, 2.0], posts, [], [])
    writer = _Writer(Document("i", 2020, "en"), "en", None)
    figure = writer.sweep_figure(axis, "sweep-0-0")
    assert figure is not None and SWEEP_AREAS == 8
    # Spreads k % 5: 4 for areas 04 and 09, 3 for 03 and 08, 2 for 02 and 07, 1 for 01, 06 and 11 (11 is cut).
    shown = ["area 01", "area 02", "area 03", "area 04", "area 06", "area 07", "area 08", "area 09"]
    assert all(f">{name}<" in figure.svg for name in shown)
    assert not any(f">{name}<" in figure.svg for name in {f"area {k:02d}" for k in range(12)} - set(shown))
    assert "Line chart of the posts of 8 of 12 areas at each of 2 values" in figure.description
    assert "and 9 areas" in figure.description  # every area but 00, 05 and 10 moves
    one = SweepAxisFigures("model.underserved_weight", [1.0], posts, [], [])
    assert writer.sweep_figure(one, "sweep-0-1") is None


def test_a_rerun_without_report_removes_the_old_report(horizon_sweep: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(horizon_sweep, copy)
    spec = horizon_sweep.parent / "sweep.yaml"
    output = _run("sweep", str(spec), "--out", str(copy), "-q")
    assert "6 scenarios: 0 solved now, 6 already in" in output
    assert not (copy / "report.html").exists() and not (copy / "report.pdf").exists()
    assert (copy / "sweep.json").read_bytes() == (horizon_sweep / "sweep.json").read_bytes()
