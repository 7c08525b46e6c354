"""The report in a real browser: Debian's headless Chromium, driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (the
Debian package `chromium`, which `make test` installs as root). Without it
the tests skip and name the package; on CI (CI=true) they fail instead, so CI
cannot pass by skipping. The screenshot of the Danish municipal report is
saved under out/test-artefacts/ (ALLOCATOR_ARTEFACTS overrides), and the
README shows a copy of it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from allocator.cli import main
from tests.conftest import MODELS, ROOT

KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
ARTEFACTS = Path(os.environ.get("ALLOCATOR_ARTEFACTS", ROOT / "out" / "test-artefacts"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _missing(what: str) -> None:
    message = f"{what} is missing: install the Debian package chromium (make test does, as root)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must not skip the browser test")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        _missing("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _open(browser: Any, path: Path, width: int = 1100) -> dict[str, Any]:
    """Open ``path``; record console errors, page errors, every request, and the time to the load event."""
    page = browser.new_page(viewport={"width": width, "height": 1500})
    seen: dict[str, Any] = {"errors": [], "requests": [], "page": page}
    page.on("console", lambda message: message.type == "error" and seen["errors"].append(message.text))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("request", lambda request: seen["requests"].append(request.url))
    # Anything but the file itself is refused, so a stray reference would fail loudly here.
    page.route("**/*", lambda route: route.continue_() if route.request.url == path.as_uri() else route.abort())
    start = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load")
    seen["seconds"] = time.perf_counter() - start
    seen["maps"] = page.evaluate("""() => [...document.querySelectorAll('svg')]
        .filter(svg => svg.querySelector('g.area'))
        .map(svg => {
            const areas = [...svg.querySelectorAll('g.area')];
            return {areas: areas.length,
                    drawn: areas.filter(g => { const b = g.getBBox(); return b.width > 0 && b.height > 0; }).length,
                    titled: areas.filter(g => g.querySelector('title')).length,
                    label: svg.getAttribute('aria-label')};
        })""")
    return seen


def _solve(out: Path, *arguments: str) -> None:
    result = CliRunner().invoke(main, ["solve", *arguments, "-o", str(out), "-q", "--report"])
    assert result.exit_code == 0, result.output


def test_the_danish_municipal_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    # As `make run` writes it: the default (population) model, Danish from the instance's language.
    _solve(tmp_path / "kommuner", str(KOMMUNER), "-m", str(MODELS / "population.yaml"))
    report = tmp_path / "kommuner" / "report.html"
    seen = _open(browser, report)
    assert seen["errors"] == [], "no console error"
    assert seen["requests"] == [report.as_uri()], "no request but the file itself"
    assert [m["areas"] for m in seen["maps"]] == [98, 98], "one shape per municipality on each map"
    assert all(m["drawn"] == m["areas"] == m["titled"] for m in seen["maps"]), "every shape drawn and named"
    assert all(m["label"] for m in seen["maps"]), "every map has a text for screen readers"
    page = seen["page"]
    assert page.evaluate("document.documentElement.lang") == "da"
    assert "350 forløb i Almen medicin" in page.inner_text("p.headline")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "report-dk-2019-almen-medicin-kommuner-da.png"
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1100, "height": 1500})
    assert shot.stat().st_size > 50_000
    page.close()


@pytest.mark.slow
def test_the_national_large_report_stays_usable(browser: Any, tmp_path: Path) -> None:
    from allocator.generate import GeneratorOptions, generate

    # The benchmark's national-large shape (benchmarks/scales.py): 5,000 sites under 100 districts.
    options = GeneratorOptions(tree=(100, 5000), specialties=50, posts=40000, seed=2, offered=10, cell_caps=False,
                               name="national-large")
    (tmp_path / "instance").mkdir()
    instance = generate(options, tmp_path / "instance")
    _solve(tmp_path / "plan", str(instance))
    report = tmp_path / "plan" / "report.html"
    assert report.stat().st_size < 10 * 1024 * 1024
    assert (tmp_path / "plan" / "report.pdf").stat().st_size < 10 * 1024 * 1024
    seen = _open(browser, report)
    assert seen["errors"] == [] and seen["requests"] == [report.as_uri()]
    assert seen["seconds"] < 5.0, f"opened in {seen['seconds']:.2f} s"
    page = seen["page"]
    # 100 districts in the table, not 5,000 sites: summed per parent area above 300 leaves.
    assert page.evaluate("document.querySelectorAll('#table-plan-0 tbody tr').length") == 100
    page.close()


def test_the_danish_multi_year_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    # The coverage chart of a multi-year plan: one drawn, named cell per area and outlook year.
    _solve(tmp_path / "horizon", str(ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"),
           "--lang", "da")
    report = tmp_path / "horizon" / "report.html"
    seen = _open(browser, report)
    assert seen["errors"] == [], "no console error"
    assert seen["requests"] == [report.as_uri()], "no request but the file itself"
    page = seen["page"]
    cells = page.evaluate("""() => [...document.querySelectorAll('svg g.cell')].map(g => {
        const b = g.getBBox(); return b.width > 0 && b.height > 0 && g.querySelector('title') !== null; })""")
    assert len(cells) == 5 * 12 and all(cells), "every cell drawn and named"
    assert page.evaluate("document.querySelector('section.horizon svg').getAttribute('aria-label')")
    regions = page.evaluate("""() => [...document.querySelectorAll('section.horizon svg g.area')].map(g => {
        const b = g.getBBox(); return b.width > 0 && b.height > 0 && g.querySelector('title') !== null; })""")
    assert len(regions) == 5 * 3 and all(regions), "the five regions drawn and named on each of the three maps"
    assert "1.750 forløb i Almen medicin" in page.inner_text("section.horizon p.headline")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "report-dk-2021-almen-medicin-horizon-da.png"), full_page=True)
    page.close()


def test_a_multi_year_sweep_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    # The sweep section (issue 17): its tables laid out and readable, nothing fetched.
    spec = tmp_path / "sweep.yaml"
    spec.write_text(f"instance: {ROOT / 'instances' / 'dk-2021-almen-medicin-horizon' / 'instance.yaml'}\n"
                    f"models: [{MODELS / 'need-weighted.yaml'}]\n"
                    "axes: [{field: workforce.fill_rate, factors: [0.9, 1]}, {field: model.coverage_weight, "
                    "values: [10, 50]}]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sweep", str(spec), "-o", str(tmp_path / "sweep"), "-q", "--report"])
    assert result.exit_code == 0, result.output
    report = tmp_path / "sweep" / "report.html"
    seen = _open(browser, report)
    assert seen["errors"] == [] and seen["requests"] == [report.as_uri()]
    page = seen["page"]
    tables = page.evaluate("""() => [...document.querySelectorAll('section.sweep table')].map(t => {
        const b = t.getBoundingClientRect(); return [t.id, b.width > 0 && b.height > 0, t.rows.length]; })""")
    # Per axis: the posts table and the coverage table, each a header row and the 3 training regions.
    assert [t[0] for t in tables] == ["table-sweep-0-0", "table-sweep-0-0-coverage", "table-sweep-0-1",
                                      "table-sweep-0-1-coverage"]
    assert all(t[1] and t[2] == 4 for t in tables), tables
    text = page.inner_text("section.sweep")
    assert "Sådan flytter planen sig over en række indstillinger" in text and "4 scenarier: 4 bevist optimale." in text
    page.close()
