"""Time the what-if app on the Danish horizon instance; write benchmarks/app_horizon_results.md.

Run: ``.venv/bin/python -m benchmarks.app_horizon_latency [--runs 15]``. The coverage weight moves
through a fixed cycle of values on instances/dk-2021-almen-medicin-horizon under the population
model. Three layers, each a median over the same moves, measured in this one script so that the
ratios hold on a loaded machine:

1. the verified solve of the whole horizon (``allocator.results.horizon.solve_horizon``), the baseline;
2. everything the page asks the library for (``allocator.app.horizon_whatif.evaluate_horizon``:
   the solve and the figures of ``compare``);
3. the whole page rerun in Streamlit's AppTest (2 plus the maps and the tables).

CPU seconds of this process are given beside the wall time of each layer.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
POPULATION = ROOT / "models" / "population.yaml"
PAGE = ROOT / "allocator" / "app" / "page.py"
RESULTS = Path(__file__).resolve().parent / "app_horizon_results.md"
#: The coverage weights visited, in order (10 is the model's own).
CYCLE = [20.0, 5.0, 40.0, 0.0, 15.0, 10.0, 30.0, 2.5]


def _timed(call: object) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()  # type: ignore[operator]
    return time.perf_counter() - wall, time.process_time() - cpu


def _library(runs: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    from allocator.app.horizon_whatif import compared, evaluate_horizon, horizon_model_of, horizon_settings_of
    from allocator.io.horizon import load_horizon_instance
    from allocator.io.loading import load_model
    from allocator.results.horizon import solve_horizon

    horizon = load_horizon_instance(HORIZON).value
    start = load_model(POPULATION).value
    baseline = compared(horizon, start, solve_horizon(horizon, start))
    settings = horizon_settings_of(horizon, start)
    solves, evaluations = [], []
    for k in range(runs):
        moved = dataclasses.replace(settings, coverage_weight=CYCLE[k % len(CYCLE)])
        model = horizon_model_of(start, moved)
        solves.append(_timed(lambda: solve_horizon(horizon, model)))
        evaluations.append(_timed(lambda: evaluate_horizon(horizon, start, moved, baseline)))
    return solves, evaluations


def _page(runs: int) -> list[tuple[float, float]]:
    from streamlit.testing.v1 import AppTest

    sys.argv = [str(PAGE), str(HORIZON), "--model", str(POPULATION), "--lang", "en"]
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    times = []
    for k in range(runs):
        times.append(_timed(lambda: app.sidebar.slider(key="coverage_weight").set_value(CYCLE[k % len(CYCLE)]).run()))
        assert not app.exception and app.session_state["plan_posts"] is not None
    return times


def main(argv: list[str] | None = None) -> None:
    """Time the three layers and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    solves, evaluations = _library(args.runs)
    page = _page(args.runs)
    base = statistics.median(wall for wall, _cpu in solves)
    lines = ["# The what-if app on a multi-year instance: from a moved weight to the updated plan", "",
             f"Made by `python -m benchmarks.app_horizon_latency --runs {args.runs}`; see its docstring. Instance: "
             f"dk-2021-almen-medicin-horizon (5 regions, 2021-2025 planned, outlook to 2032); model population, "
             f"the coverage weight moved through {CYCLE}.", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; load "
             f"average {load:.1f} at the start. Medians; CPU seconds of this process beside the wall time.", "",
             "| layer | runs | median ms | min ms | max ms | median CPU ms | × solve |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, times in (("verified solve of the horizon (`solve_horizon`), the baseline", solves),
                         ("everything the page asks the library for (`evaluate_horizon`)", evaluations),
                         ("whole page rerun in AppTest (+ maps, tables)", page)):
        walls = [wall for wall, _cpu in times]
        cpus = [cpu for _wall, cpu in times]
        lines.append(f"| {label} | {len(times)} | {1000 * statistics.median(walls):.1f} | {1000 * min(walls):.1f} | "
                     f"{1000 * max(walls):.1f} | {1000 * statistics.median(cpus):.1f} | "
                     f"{statistics.median(walls) / base:.1f} |")
    lines.append("")
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
