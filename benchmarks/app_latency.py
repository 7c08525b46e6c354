"""Time the what-if app from a changed control to the updated plan; write benchmarks/app_results.md.

Run: ``.venv/bin/python -m benchmarks.app_latency [--runs 15] [--browser-runs 5]`` (``make bench-app``).
On the municipal Danish instance (98 municipalities, a map), under the
closed-practice model, the weight on closed practices moves through a fixed
cycle of values (each a different plan from the last). Four layers, each a
median over the same moves, measured in this one script so that the ratios
hold on a loaded machine:

1. the library's verified solve alone (``allocator.results.solve.solve``), the baseline;
2. everything the page asks the library for (``allocator.app.whatif.evaluate``:
   solve, equity metrics, next and last post, weight ranges);
3. the whole page rerun in Streamlit's AppTest (2 plus the maps and the table);
4. in headless Chromium against ``allocator app``: from pressing Enter on a new
   total to the map showing the new plan, and to the whole page updated (the
   sensitivity figures last; skipped without Chromium).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
MODELS = ROOT / "models"
PAGE = ROOT / "allocator" / "app" / "page.py"
#: The weights on closed practices the slider visits, in order (2 is the model's own).
CYCLE = [4.0, 1.0, 3.0, 0.5, 6.0, 2.0, 5.0, 1.5]


def _library(runs: int) -> tuple[list[float], list[float]]:
    from allocator.app.whatif import evaluate, settings_of
    from allocator.io.loading import load_instance, load_model
    from allocator.results.solve import solve

    instance = load_instance(KOMMUNER).value
    start = load_model(MODELS / "closed-practice.yaml").value
    baseline = load_model(MODELS / "population.yaml").value
    baseline_plan = solve(instance, baseline)
    solves, evaluations = [], []
    settings = settings_of(instance, start)
    for k in range(runs):
        moved = dataclasses.replace(settings, weights=(("closed_practice_share", CYCLE[k % len(CYCLE)]),
                                                        *settings.weights[1:]))
        from allocator.app.whatif import model_of

        model = model_of(start, moved)
        began = time.perf_counter()
        solve(instance, model)
        solves.append(time.perf_counter() - began)
        began = time.perf_counter()
        evaluate(instance, start, moved, baseline, baseline_plan)
        evaluations.append(time.perf_counter() - began)
    return solves, evaluations


def _page(runs: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    sys.argv = [str(PAGE), str(KOMMUNER), "--model", str(MODELS / "population.yaml"), "--model",
                str(MODELS / "closed-practice.yaml"), "--lang", "en"]
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    app.sidebar.selectbox(key="start").set_value("closed-practice").run()
    times = []
    for k in range(runs):
        began = time.perf_counter()
        app.sidebar.slider(key="weight:closed_practice_share").set_value(CYCLE[k % len(CYCLE)]).run()
        times.append(time.perf_counter() - began)
        assert not app.exception and app.session_state["plan_posts"] is not None
    return times


def _map_total(page: object) -> float | None:
    """The posts on the first map (the sum over its areas' titles, "Name: 3 posts, ..."), None before it is drawn."""
    for frame in page.frames:  # type: ignore[attr-defined]
        try:
            total = frame.evaluate("""() => { const t = [...document.querySelectorAll('g.area title')]
                .filter(t => t.textContent.includes(' per 100,000'));
                return t.length ? t.map(t => parseFloat(t.textContent.split(': ')[1])).reduce((a, b) => a + b, 0)
                                : null; }""")
        except Exception:  # noqa: BLE001 - a frame replaced while read
            continue
        if total is not None:
            return float(total)
    return None


def _browser(runs: int) -> tuple[list[float], list[float]] | None:
    chromium = shutil.which("chromium")
    if chromium is None or runs == 0:
        return None
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([sys.executable, "-m", "allocator", "app", str(KOMMUNER), "-m",
                                   str(MODELS / "population.yaml"), "--port", str(port), "--lang", "en"],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            for _ in range(200):
                try:
                    with urllib.request.urlopen(url + "_stcore/health", timeout=2):
                        break
                except OSError:
                    time.sleep(0.3)
            to_map, to_page = [], []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.goto(url)
                while _map_total(page) is None:
                    page.wait_for_timeout(50)
                field = page.get_by_label("Almen medicin")
                for k in range(runs):
                    total = 340 + (k % 2) * 20 + k  # a different total, so a different plan, every time
                    field.fill(str(total))
                    began = time.perf_counter()
                    field.press("Enter")
                    while _map_total(page) != total:
                        page.wait_for_timeout(5)
                    to_map.append(time.perf_counter() - began)
                    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=30_000)
                    to_page.append(time.perf_counter() - began)
                browser.close()
            return to_map, to_page
        finally:
            server.terminate()
            server.wait(timeout=20)


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--browser-runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "app_results.md")
    arguments = parser.parse_args()
    solves, evaluations = _library(arguments.runs)
    page = _page(arguments.runs)
    browser = _browser(arguments.browser_runs)
    base = statistics.median(solves)
    rows = [("verified solve (`solve`), the baseline", solves),
            ("everything the page asks the library for (`whatif.evaluate`)", evaluations),
            ("whole page rerun in AppTest (+ maps, table)", page)]
    if browser is not None:
        rows.append(("Chromium: a new total entered, until the map shows the new plan", browser[0]))
        rows.append(("Chromium: the same, until the whole page is updated (nothing stale)", browser[1]))
    lines = ["# The what-if app: from a changed control to the updated plan", "",
             "Made by `python -m benchmarks.app_latency` (`make bench-app`); see its docstring for what each row "
             "times. Instance: dk-2019-almen-medicin-kommuner (98 municipalities); model closed-practice, the "
             f"weight on closed practices moved through {CYCLE}; in Chromium the total changes instead.", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             "timings are medians, and noisy when the machine is shared: read the ratios.", "",
             "| layer | runs | median ms | min ms | max ms | × solve |", "|---|---:|---:|---:|---:|---:|"]
    for label, values in rows:
        lines.append(f"| {label} | {len(values)} | {_ms(values)} | {min(values) * 1000:.1f} | "
                     f"{max(values) * 1000:.1f} | {statistics.median(values) / base:.1f} |")
    arguments.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
