"""The what-if app in a real browser: `allocator app` serves it, Debian's headless Chromium uses it.

The same Chromium rules as the report's browser test (tests/test_report_browser.py):
Playwright launches /usr/bin/chromium through ``executable_path`` (``playwright
install`` cannot download here); without it the test skips and names the
package, and on CI (CI=true) it fails instead. The screenshot is saved under
out/test-artefacts/ (ALLOCATOR_ARTEFACTS overrides).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from allocator.io.loading import load_instance, load_model
from allocator.reports.sensitivity import variant
from allocator.results.solve import solve
from allocator.writers.language import Numbers
from tests.conftest import MODELS, ROOT
from tests.test_report_browser import ARTEFACTS, CHROMIUM, _missing, browser  # noqa: F401 (the fixture)

if os.environ.get("CI"):  # the lock holds the app extra: CI must not pass by skipping the app's tests
    import streamlit  # noqa: F401
pytest.importorskip("streamlit", reason="the app extra (pip install 'allocator[app]') is not installed")

KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"


def _titles(page: Any) -> list[str]:
    """The titles of every map area on the page (each map is drawn in a frame of its own)."""
    found: list[str] = []
    for frame in page.frames:
        try:
            found += frame.eval_on_selector_all("svg g.area title", "nodes => nodes.map(n => n.textContent)")
        except Exception:  # noqa: BLE001 - a frame being replaced as we read; the caller waits and reads again
            pass
    return found


def _wait(page: Any, test: Any, seconds: float = 30.0) -> list[str]:
    """Read the map titles until ``test`` accepts them; the titles then."""
    deadline = time.monotonic() + seconds
    while True:
        titles = _titles(page)
        if test(titles):
            return titles
        assert time.monotonic() < deadline, f"the maps did not show what was wanted: {titles[:5]}"
        page.wait_for_timeout(20)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _serving(tmp_path_factory: pytest.TempPathFactory, *arguments: str) -> Iterator[dict[str, Any]]:
    """`allocator app ARGUMENTS` on a free port, as a user starts it; stopped (by its own pid) afterwards."""
    if CHROMIUM is None:
        _missing("chromium")
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "allocator", "app", *arguments, "--port", str(port)],
                                   stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "the app did not answer within 60 s"
            time.sleep(0.3)
        yield {"url": f"http://127.0.0.1:{port}/", "port": port, "log": log}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app on the municipal instance with the population and closed-practice models, in English."""
    with _serving(tmp_path_factory, str(KOMMUNER), "-m", str(MODELS / "population.yaml"),
                  "-m", str(MODELS / "closed-practice.yaml"), "--lang", "en") as served:
        yield served


@pytest.fixture(scope="module")
def horizon_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app on the Danish horizon instance with the population model, in English."""
    with _serving(tmp_path_factory, str(HORIZON), "-m", str(MODELS / "population.yaml"), "--lang", "en") as served:
        yield served


def test_chromium_changes_a_total_and_finds_the_new_plan_on_the_map(server: dict[str, Any], browser: Any) -> None:
    said = server["log"].read_text(encoding="utf-8", errors="replace")
    assert "Listening on 127.0.0.1 only" in said and f"started on 127.0.0.1:{server['port']}" in said, said
    instance = load_instance(KOMMUNER).value
    model = load_model(MODELS / "population.yaml").value
    before = solve(instance, model).posts()
    specialty = instance.specialties[0]
    after = solve(variant(instance, specialties=[specialty.model_copy(update={"total": specialty.total + 1})]),
                  model).posts()
    gained = [leaf for (leaf, _s), posts in after.items() if posts > before[(leaf, _s)]]
    assert gained, "one more post went nowhere"
    area = instance.area_by_id[gained[0]]
    n = Numbers("en")
    count = after[(area.id, specialty.id)]
    wanted = f"{area.label}: {n.posts(count)} post{'' if count == 1 else 's'}, "
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: None if request.url.startswith(server["url"]) or request.url.startswith(
        "data:") or request.url.startswith("blob:") else outside.append(request.url))
    page.goto(server["url"], wait_until="domcontentloaded")
    titles = _wait(page, lambda found: len(found) >= len(instance.leaves), 60.0)
    # Posts per 100,000; the change against the baseline is no map yet, as the controls start at the baseline.
    assert len(titles) == len(instance.leaves)
    assert not any(title.startswith(wanted) for title in titles), "the new figure is there before the change"
    field = page.get_by_label(specialty.name or specialty.id)
    started = time.perf_counter()
    field.fill(f"{specialty.total + 1:g}")
    field.press("Enter")
    _wait(page, lambda found: any(title.startswith(wanted) for title in found))
    seconds = time.perf_counter() - started
    # Now with the map of the change against the baseline, beside the first.
    changed = _wait(page, lambda found: len(found) == 2 * len(instance.leaves))
    assert f"{area.label}: +1 (" in "\n".join(changed)
    metric = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert metric.strip() == n.posts(specialty.total + 1)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "app-kommuner-en.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 20_000
    print(f"\nbrowser: a changed total reached the map in {seconds:.2f} s; screenshot {shot}")
    assert seconds < 10  # generous: the figure is measured in benchmarks/app_latency.py, not asserted here
    assert not errors, errors
    assert not outside, outside  # the page fetches nothing from anywhere but the app itself
    page.close()


def test_chromium_shows_coverage_in_2030_and_the_change_after_a_total_moves(horizon_server: dict[str, Any],
                                                                          browser: Any) -> None:
    """The multi-year page: a map of coverage in 2030, each region's figure that of `allocator solve`'s projection."""
    from allocator.app.horizon_page import leaf_coverage
    from allocator.app.horizon_whatif import compared
    from allocator.io.horizon import load_horizon_instance
    from allocator.results.horizon import solve_horizon

    horizon = load_horizon_instance(HORIZON).value
    model = load_model(MODELS / "population.yaml").value
    plan = compared(horizon, model, solve_horizon(horizon, model))
    supply, demand = leaf_coverage(plan, 2030)["Nordjylland"]
    n = Numbers("en")
    wanted = f"Region Nordjylland, 2030: coverage {n.percent(supply / demand)} ({n.decimal(supply)} specialists"
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(horizon_server["url"], wait_until="domcontentloaded")
    leaves = len(horizon.instance.leaves)
    titles = _wait(page, lambda found: len(found) >= leaves, 60.0)
    assert wanted in "\n".join(titles), titles
    field = page.get_by_role("spinbutton", name="2021", exact=True)
    field.fill("300")
    field.press("Enter")
    # Fewer posts in 2021: coverage changes by 2030, so the map of the change appears beside the first.
    changed = _wait(page, lambda found: len(found) == 2 * leaves)
    assert any(title.startswith("Region Nordjylland, 2030: ") and "→" in title for title in changed), changed
    # The rest of the page (the plans side by side) is drawn after the maps: wait for the run to end.
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "app-horizon-en.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 20_000
    assert not errors, errors
    page.close()
