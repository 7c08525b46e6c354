"""report.html and report.pdf: content, languages, offline, deterministic, summed above 300 leaves.

The PDF is checked through poppler-utils (pdftotext, pdftoppm) from Debian;
`make test` installs it where it can. Without it those checks skip, naming the package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.io.loading import load_instance
from allocator.reports.document import MEMO_AREAS, build_document
from tests.conftest import DK_INSTANCE, MODELS, ROOT

KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
TRAINING_REGIONS = ["Videreuddannelsesregion Nord", "Videreuddannelsesregion Syd", "Videreuddannelsesregion Øst"]


def _run(*arguments: str) -> str:
    result = CliRunner().invoke(main, list(arguments))
    assert result.exit_code == 0, result.output
    return result.output


def _needs(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is missing: install the Debian package poppler-utils (make test does, as root)")


def _pdf_text(path: Path) -> str:
    _needs("pdftotext")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def kommuner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The municipal instance solved under need-weighted with --report (Danish: the instance's language)."""
    out = tmp_path_factory.mktemp("kommuner") / "plan"
    _run("solve", str(KOMMUNER), "-m", str(MODELS / "need-weighted.yaml"), "-o", str(out), "-q", "--report")
    return out


def test_the_danish_report_has_the_map_charts_and_tables(kommuner: Path) -> None:
    html = (kommuner / "report.html").read_text(encoding="utf-8")
    assert '<html lang="da">' in html
    maps = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    shapes = [len(re.findall(r'<g id="area-\d+" class="area"><title>', svg)) for svg in maps]
    assert shapes[:2] == [98, 98], "one shape per municipality on the map and on the change map"
    assert all('role="img" aria-label="' in svg[:400] for svg in maps), "every figure has a text for screen readers"
    assert html.count("<figure>") == len(maps) == 4  # two maps, posts against target, change
    assert html.count("<table") == 2
    assert "350 forløb i Almen medicin fordeles til 98 områder efter politikken need-weighted." in html
    assert "De 42 lægedækningstruede områder" in html
    for region in TRAINING_REGIONS:
        assert region in html
    assert "2.672.210" in html  # Øst's population, Danish thousands
    assert re.search(r">\d+,\d<", html), "decimal comma in the tables"


def test_the_html_is_self_contained(kommuner: Path) -> None:
    html = (kommuner / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html), "no file or network reference"
    assert not re.search(r"url\((?!['\"]?(data:|#))", html)
    assert not re.search(r"xlink:href=\"(?!data:|#)", html)
    assert "@import" not in html


def test_the_danish_pdf_reads_as_danish(kommuner: Path) -> None:
    text = _pdf_text(kommuner / "report.pdf")
    flat = " ".join(text.split())
    assert "Fordelingsrapport: dk-2019-almen-medicin" in flat
    assert "350 forløb i Almen medicin fordeles til 98 områder" in flat
    for region in TRAINING_REGIONS:
        assert region in flat
    assert "Lægedækningstruet område" in flat and "Forløb pr. 100.000 indbyggere" in flat
    assert "2.672.210" in flat and re.search(r"\b\d+,\d\b", flat), "Danish number formats"
    _needs("pdftoppm")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(kommuner / "report.pdf"), str(kommuner / "page")], check=True)
    pages = sorted(kommuner.glob("page-*.png"))
    assert len(pages) >= 3
    assert all(page.stat().st_size > 2_000 for page in pages), "every page renders"


def test_report_command_in_english_from_the_folder(kommuner: Path, tmp_path: Path) -> None:
    out = tmp_path / "en"
    _run("report", str(kommuner), "--lang", "en", "--out", str(out))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    assert "350 posts of Almen medicin go to 98 areas under the policy need-weighted." in html
    assert "2,672,210" in html and "forløb" not in html.split("<footer")[0].lower()  # the sources are data
    text = " ".join(_pdf_text(out / "report.pdf").split())
    assert "Allocation report: dk-2019-almen-medicin" in text and "Posts per 100,000 inhabitants" in text


def test_the_same_run_gives_the_same_bytes(kommuner: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        _run("report", str(kommuner), "--out", str(tmp_path / name))
    for name in ("report.html", "report.pdf"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "report.html").read_bytes() == (kommuner / "report.html").read_bytes(), \
        "report DIR gives what solve --report gave"


def test_sensitivity_and_comparison_reports(tmp_path: Path) -> None:
    _run("sensitivity", str(DK_INSTANCE), "-m", str(MODELS / "need-weighted.yaml"), "-o", str(tmp_path / "s"),
         "-q", "--draws", "20", "--report", "--lang", "en")
    html = (tmp_path / "s" / "report.html").read_text(encoding="utf-8")
    assert "How firm the plan under need-weighted is" in html
    assert "20 draws varied every population and indicator" in html
    assert "Who gets the next post and who loses the last" in html
    _run("compare", str(DK_INSTANCE), "-m", str(MODELS / "population.yaml"), "-m",
         str(MODELS / "need-weighted.yaml"), "-o", str(tmp_path / "c"), "--report")
    html = (tmp_path / "c" / "report.html").read_text(encoding="utf-8")
    assert "Politikkerne side om side" in html  # the instance's language
    assert "Lighedsmål" in html and html.count("<th class=\"num\">need-weighted</th>") == 1
    assert len(re.findall(r'<g id="area-[01]-[0-4]" class="area"><title>', html)) == 10, "a map per policy"
    text = " ".join(_pdf_text(tmp_path / "c" / "report.pdf").split())
    assert "Politikkerne side om side" in text


def test_one_report_over_several_folders(tmp_path: Path) -> None:
    _run("solve", str(DK_INSTANCE), "-m", str(MODELS / "population.yaml"), "-o", str(tmp_path / "p"), "-q")
    _run("sensitivity", str(DK_INSTANCE), "-m", str(MODELS / "population.yaml"), "-o", str(tmp_path / "s"), "-q",
         "--draws", "5")
    _run("report", str(tmp_path / "p"), str(tmp_path / "s"), "--out", str(tmp_path / "r"), "--instance",
         str(DK_INSTANCE))
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "Plan efter politikken population" in html and "Hvor robust planen efter population er" in html
    assert len(re.findall(r'class="area"', html)) == 10  # 5 regions on each of two maps


def test_a_plan_with_more_than_300_leaves_is_summed_per_parent(tmp_path: Path) -> None:
    _run("generate", "--out", str(tmp_path / "i"), "--tree", "4,320", "--specialties", "2", "--posts", "600",
         "--seed", "3")
    _run("solve", str(tmp_path / "i" / "instance.yaml"), "-o", str(tmp_path / "o"), "-q", "--report")
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "charts and tables sum them per parent area" in html
    assert "<svg" in html and 'class="area"' not in html, "no geometry: charts and no map"
    table = html[html.index('id="table-plan-0"'):]
    assert table[:table.index("</table>")].count("<tr>") == 1 + 4
    instance = load_instance(tmp_path / "i" / "instance.yaml").value
    assert len(instance.leaves) > MEMO_AREAS
    import json

    document = build_document(instance, [json.loads((tmp_path / "o" / "plan.json").read_text())])
    assert sum(a.posts for a in document.plans[0].areas) == 600 == sum(a.posts for a in document.plans[0].leaves)


def test_a_later_run_without_report_removes_the_old_report(kommuner: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    _run("solve", str(DK_INSTANCE), "-o", str(out), "-q", "--report")
    assert (out / "report.pdf").exists()
    _run("solve", str(DK_INSTANCE), "-o", str(out), "-q", "--force")
    assert not (out / "report.html").exists() and not (out / "report.pdf").exists()


@pytest.mark.parametrize("case, message", [
    ("missing", "no such output folder"),
    ("empty", "the folder holds none of plan.json, sensitivity.json, comparison.json"),
    ("broken", "plan.json, line 1: not valid JSON"),
    ("unknown-instance", "cannot find the instance 'nowhere' the runs were made from. Fix: add --instance"),
])
def test_report_of_a_bad_folder_exits_2_with_one_line(tmp_path: Path, case: str, message: str) -> None:
    folder = tmp_path / case
    if case != "missing":
        folder.mkdir()
    if case == "broken":
        (folder / "plan.json").write_text("{not json", encoding="utf-8")
    if case == "unknown-instance":
        (folder / "plan.json").write_text('{"instance": "nowhere", "model": "m", "rows": []}', encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(folder)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: ") and message in result.output
    assert not (folder / "report.html").exists()
