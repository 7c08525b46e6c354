"""The multi-year sensitivity report: the whole command; writes ``benchmarks/sensitivity_horizon_results.md``.

Usage::

    nice -n 19 .venv/bin/python -m benchmarks.sensitivity_horizon             # 5 repetitions of each row
    nice -n 19 .venv/bin/python -m benchmarks.sensitivity_horizon --repeat 3

Rows, each the whole command in a fresh process (start-up, the plan, every variant solved and
verified by the simulator, the files written), on the Danish horizon instance
(instances/dk-2021-almen-medicin-horizon, 60 variants under the default model):

- ``allocator solve`` (the plan alone): the baseline, run in the same script;
- ``allocator sensitivity``.

Each row gives the median wall time and the median CPU seconds of the child process (user +
system, from ``resource.getrusage(RUSAGE_CHILDREN)``), the ratio of the medians, and the load
average before and after. The machine is shared: wall times move with the load, CPU seconds much
less, so the CPU figure and its ratio are the ones to compare.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
RESULTS = ROOT / "benchmarks" / "sensitivity_horizon_results.md"
ALLOCATOR = [sys.executable, "-m", "allocator"]


def _run(arguments: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one command in a fresh process; it must exit 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(ALLOCATOR + arguments, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    """Measure, print and write the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        commands = {
            "solve (the plan alone, baseline)": ["solve", str(INSTANCE), "-q", "--no-xlsx", "--force", "-o"],
            "sensitivity (plan + 60 variants)": ["sensitivity", str(INSTANCE), "-q", "--force", "-o"],
        }
        for name, arguments in commands.items():
            walls, cpus = [], []
            for k in range(options.repeat):  # interleaving would mix the two; each row runs back to back
                wall, cpu = _run(arguments + [str(Path(folder) / f"{len(rows)}-{k}")])
                walls.append(wall)
                cpus.append(cpu)
            rows.append((name, statistics.median(walls), statistics.median(cpus), walls, cpus))
    load_after = os.getloadavg()
    base = rows[0]
    lines = [
        "# The multi-year sensitivity report: the whole command",
        "",
        f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `python -m benchmarks."
        f"sensitivity_horizon --repeat {options.repeat}` (under `nice -n 19` when the machine is shared); "
        f"Python {platform.python_version()}, {os.cpu_count()} cores; load average before "
        f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}, after "
        f"{load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f} (1 / 5 / 15 min).",
        "",
        f"Instance: `{INSTANCE.relative_to(ROOT)}`, default model; each figure is the median of "
        f"{options.repeat} fresh processes.",
        "",
        "| command | median wall s | median CPU s | CPU ÷ solve's | every CPU s |",
        "|---|---:|---:|---:|---|",
    ]
    for name, wall, cpu, _walls, cpus in rows:
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {cpu / base[2]:.1f} | "
                     + ", ".join(f"{c:.2f}" for c in cpus) + " |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    options.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
