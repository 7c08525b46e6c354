"""The report of a multi-year plan: coverage of each area over the outlook against its target.

Run on the bundled instance dk-2021-almen-medicin-horizon (in Danish, and in English from the
folder), checked against the run's own projection.csv and summary.md, and summed per parent
area above 300 leaves.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from allocator.io.horizon import load_horizon_instance
from allocator.io.loading import load_instance
from allocator.reports.document import MEMO_AREAS, build_document
from tests.conftest import ROOT
from tests.test_report import _pdf_text, _run

HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
YEARS = list(range(2021, 2033))  # first_year 2021, outlook_years 12


@pytest.fixture(scope="module")
def horizon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The multi-year instance solved with --report in Danish."""
    out = tmp_path_factory.mktemp("horizon") / "plan"
    _run("solve", str(HORIZON), "-o", str(out), "-q", "--report", "--lang", "da")
    return out


def _projection(folder: Path) -> dict[tuple[str, int], tuple[float, float]]:
    """(area, year) -> (supply, demand) from the run's projection.csv, summed over specialties."""
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    with open(folder / "projection.csv", encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            cell = sums[(row["area"], int(row["year"]))]
            cell[0] += float(row["supply"])
            cell[1] += float(row["demand"])
    return {key: (supply, demand) for key, (supply, demand) in sums.items()}


def test_the_danish_multi_year_report(horizon: Path) -> None:
    html = (horizon / "report.html").read_text(encoding="utf-8")
    assert '<html lang="da">' in html
    assert "Flerårig plan under politikken population" in html
    assert "Under politikken population placeres 1.750 forløb i Almen medicin over planårene 2021–2025." in html
    assert "indbyggerår uden en speciallæge" in html and "Mål nået" in html
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == html.count("<figure>") == 2, "the coverage maps and the coverage chart"
    maps, chart = svgs
    assert 'role="img" aria-label="Diagram over dækningen i 5 områder i hvert år fra 2021 til 2032' in chart
    cells = re.findall(r'<g id="cell-(\d+)-(\d+)" class="cell"><title>([^<]*)</title>', chart)
    assert len(cells) == 5 * 12, "one cell per area and outlook year"
    assert any(re.fullmatch(r"Region Nordjylland, 2021: \d+,\d\s%", title) for _r, _c, title in cells), \
        "each cell's title names the area and year, in Danish numbers"
    assert 'id="table-horizon-0"' in html and "the report does not cover" not in html

    # The table behind the chart: every area's coverage in every year, as projection.csv gives it.
    projection = _projection(horizon)
    table = html[html.index('id="table-horizon-0"'):]
    table = table[:table.index("</table>")]
    names = {"Nordjylland": "Region Nordjylland", "Sjælland": "Region Sjælland", "Hovedstaden": "Region Hovedstaden"}
    for area, name in names.items():
        row = table[table.index(f"<td>{name}"):]
        row = row[:row.index("</tr>")]
        figures = re.findall(r'<td class="num">([^<]*)</td>', row)
        expected = [f"{100 * s / d:.1f}".replace(".", ",") for s, d in (projection[(area, y)] for y in YEARS)]
        assert figures[:12] == expected, area
    # The year each area reaches its target is summary.md's.
    summary = (horizon / "summary.md").read_text(encoding="utf-8")
    for area, name in names.items():
        reached = re.search(rf"^\| {re.escape(name)} .*\| (\d{{4}}|not by \d{{4}}) \|$", summary, flags=re.M)
        assert reached is not None
        assert row_end(table, name) == reached.group(1)


def test_the_multi_year_report_maps_coverage_in_three_years(horizon: Path) -> None:
    """The instance's map, coloured by coverage in the first year, the last plan year and the last outlook year;
    each region's title is its coverage in projection.csv."""
    html = (horizon / "report.html").read_text(encoding="utf-8")
    maps = re.findall(r"<svg.*?</svg>", html, flags=re.S)[0]
    assert 'aria-label="Kort over dækningen i 5 områder i 2021, 2025, 2032, på samme farveskala' in maps
    titles = re.findall(r'<g id="area-(\d+)-(\d+)" class="area"><title>([^<]*)</title>', maps)
    assert len(titles) == 5 * 3, "every region on each of the three maps"
    projection = _projection(horizon)
    for area, name in {"Nordjylland": "Region Nordjylland", "Sjælland": "Region Sjælland"}.items():
        for year in (2021, 2025, 2032):
            supply, demand = projection[(area, year)]
            expected = f"{name}, {year}: {100 * supply / demand:.1f} %".replace(".", ",")
            assert any(title.replace("\xa0", " ") == expected for _m, _k, title in titles), expected


def row_end(table: str, name: str) -> str:
    """The last cell of ``name``'s row (the year its target is reached)."""
    row = table[table.index(f"<td>{name}"):]
    return re.findall(r'<td class="num">([^<]*)</td>', row[:row.index("</tr>")])[-1]


def test_the_danish_multi_year_pdf(horizon: Path) -> None:
    flat = " ".join(_pdf_text(horizon / "report.pdf").split())
    assert "Flerårig plan under politikken population" in flat
    assert "Dækning pr. område og år, i procent" in flat and "Planår" in flat and "Fremskrivning" in flat
    assert re.search(r"\b1\.\d{3}\.\d{3} indbyggerår\b", flat), "Danish thousands"
    assert re.search(r"\b\d{2,3},\d %", flat), "Danish decimal comma and per cent"


def test_report_command_on_a_multi_year_folder(horizon: Path, tmp_path: Path) -> None:
    _run("report", str(horizon), "--lang", "da", "--out", str(tmp_path / "da"))
    assert (tmp_path / "da" / "report.html").read_bytes() == (horizon / "report.html").read_bytes(), \
        "report DIR gives what solve --report gave"
    _run("report", str(horizon), "--lang", "en", "--out", str(tmp_path / "en"))
    html = (tmp_path / "en" / "report.html").read_text(encoding="utf-8")
    assert "Under the policy population, 1,750 posts of Almen medicin are placed over the plan years 2021–2025." \
        in html
    assert "Multi-year plan under the policy population" in html
    assert "forløb" not in html.split("<footer")[0].lower()  # the sources are data
    text = " ".join(_pdf_text(tmp_path / "en" / "report.pdf").split())
    assert "Coverage per area and year against the target" in text


def test_a_one_year_report_has_no_multi_year_part(tmp_path: Path) -> None:
    _run("solve", str(ROOT / "instances" / "dk-2020-almen-medicin" / "instance.yaml"), "-o", str(tmp_path / "o"),
         "-q", "--report", "--lang", "en")
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert 'class="plan"' in html and 'class="horizon"' not in html and 'class="cell"' not in html


def test_coverage_is_summed_per_parent_above_300_leaves(tmp_path: Path) -> None:
    # A synthetic projection (ASSUMED figures: supply k, demand 2k per leaf) on a generated tree of
    # 4 x 320 leaves: the report sums supply and demand per parent, as summary.md sums regions.
    _run("generate", "--out", str(tmp_path / "i"), "--tree", "4,320", "--specialties", "1", "--posts", "600",
         "--seed", "3")
    instance = load_instance(tmp_path / "i" / "instance.yaml").value
    assert len(instance.leaves) > MEMO_AREAS
    specialty = instance.specialty_ids[0]
    projection = [{"area": leaf, "specialty": specialty, "year": year, "supply": float(k + 1) * (year - 2020),
                   "demand": 2.0 * (k + 1)} for k, leaf in enumerate(instance.leaves) for year in (2021, 2022, 2023)]
    rows = [{"area": leaf, "specialty": specialty, "year": 2021, "posts": 1.0} for leaf in instance.leaves]
    plan = {"instance": instance.name, "model": "m", "status": "optimal", "rows": rows, "projection": projection}
    part = build_document(instance, [plan]).horizons[0]
    assert part.summed_per_parent and len(part.areas) == 4 and part.leaves == len(instance.leaves)
    assert part.years == [2021, 2022, 2023] and part.plan_years == 1
    for area in part.areas:
        # supply / demand = (year - 2020) / 2 in every leaf, so in every sum of leaves too.
        assert area.coverage == pytest.approx([0.5, 1.0, 1.5])
        assert area.reached == 1
    assert part.total.coverage == pytest.approx([0.5, 1.0, 1.5])


def test_the_area_tree_of_the_report_is_the_multi_year_instance() -> None:
    # build_document takes the multi-year instance's area tree (what `report` loads for it).
    horizon = load_horizon_instance(HORIZON).value
    plan = {"instance": horizon.name, "model": "m", "status": "optimal", "rows": [],
            "projection": [{"area": leaf, "specialty": "almen-medicin", "year": 2021, "supply": 0.0, "demand": 0.0}
                           for leaf in horizon.instance.leaves]}
    part = build_document(horizon.instance, [plan]).horizons[0]
    assert [a.coverage for a in part.areas] == [[None]] * 5, "no demand: no coverage, not a division by zero"
    assert all(a.reached is None for a in part.areas)
    assert json.dumps(part.total.coverage) == "[null]"
