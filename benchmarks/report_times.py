"""Time `allocator report` and the opening of report.html in Debian's Chromium; write benchmarks/report_results.md.

Run: ``.venv/bin/python -m benchmarks.report_times [--runs 3]``. Two plans:
the municipal Danish instance (98 leaves, a map) and the national-large shape
of benchmarks/scales.py (5,000 sites: summed per district, no map). Each
`allocator report` run is its own process (imports included, as a user
waits for them); the browser times are page loads in one Chromium.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from allocator.generate import GeneratorOptions, generate

ROOT = Path(__file__).resolve().parent.parent
ALLOCATOR = str(Path(sys.executable).parent / "allocator")


def _solve(instance: Path, out: Path, model: Path | None = None) -> None:
    command = [ALLOCATOR, "solve", str(instance), "-o", str(out), "-q", "--force", "--no-xlsx"]
    if model is not None:
        command += ["-m", str(model)]
    subprocess.run(command, check=True, capture_output=True)


def _report_seconds(folder: Path, instance: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([ALLOCATOR, "report", str(folder), "--instance", str(instance)], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def _open_seconds(path: Path, runs: int) -> list[float] | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(runs):
            page = browser.new_page()
            start = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            times.append(time.perf_counter() - start)
            page.close()
        browser.close()
    return times


def main() -> None:
    """Run the timings and write benchmarks/report_results.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        kommuner = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
        _solve(kommuner, work / "kommuner", ROOT / "models" / "need-weighted.yaml")
        (work / "nl").mkdir()
        national = generate(GeneratorOptions(tree=(100, 5000), specialties=50, posts=40000, seed=2, offered=10,
                                             cell_caps=False, name="national-large"), work / "nl")
        _solve(national, work / "national")
        for name, folder, instance in (("dk-2019-almen-medicin-kommuner (98 leaves, map)", work / "kommuner",
                                        kommuner),
                                       ("national-large (5,000 sites, 50,000 cells)", work / "national", national)):
            seconds = _report_seconds(folder, instance, runs)
            opened = _open_seconds(folder / "report.html", runs)
            rows.append((name, statistics.median(seconds), (folder / "report.html").stat().st_size,
                         (folder / "report.pdf").stat().st_size, statistics.median(opened) if opened else None))
    lines = ["# Report timings", "",
             f"`python -m benchmarks.report_times --runs {runs}` on {platform.node() or 'this machine'} "
             f"({platform.python_version()}); medians of {runs} runs. The 2-core machine is shared, so "
             "absolute times are noisy.", "",
             "| plan | `allocator report` (whole command) | report.html | report.pdf | open in Chromium (load event) |",
             "|---|---:|---:|---:|---:|"]
    for name, seconds, html, pdf, opened in rows:
        open_text = f"{opened:.2f} s" if opened is not None else "no chromium"
        lines.append(f"| {name} | {seconds:.2f} s | {html / 1e3:,.0f} kB | {pdf / 1e3:,.0f} kB | {open_text} |")
    (ROOT / "benchmarks" / "report_results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
