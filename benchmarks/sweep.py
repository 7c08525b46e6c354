"""Sweep throughput (issue 17): scenarios per second on ``municipal``; writes ``benchmarks/sweep_results.md``.

Usage::

    python -m benchmarks.sweep                 # 3 rounds of 600 scenarios per executor
    python -m benchmarks.sweep --repeat 1 --scenarios 40

The instance is the generated ``municipal`` scale (SYNTHETIC: ``allocator generate``
with a fixed seed, see benchmarks/scales.py): 98 municipalities x 40 specialties,
3,920 cells, under benchmarks/models/bench.yaml. The sweep varies the under-served
weight, the stability weight and the total of specialty S01 on a grid. Each run times the whole
``run_sweep`` into a fresh folder: executor start-up, every scenario solved and
verified, and the files written, as a user waits for it. Executors, taking turns in each round:

- ``--jobs 1`` (in this process), ``--jobs 2`` (this process and one spawned process);
- a Dask ``LocalCluster`` of 2 single-thread worker processes with the settings of
  ``--scheduler local`` (:func:`allocator.sweep.local_cluster`), started before the clock (a
  cluster is started once and serves many sweeps) and reached as ``--scheduler ADDRESS``.

The CPU seconds of each run (this process, its spawned workers and the Dask workers, from
``os.times`` and psutil) and the load average (``os.getloadavg``) are recorded: the target (each
parallel run at least 1.7 times the ``--jobs 1`` rate) needs two idle cores.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

from allocator.io.sweep import load_sweep_spec
from allocator.sweep import local_cluster, run_sweep
from benchmarks.scales import MODEL, SCALES

RESULTS = Path(__file__).resolve().parent / "sweep_results.md"
TARGET = 1.7
DASK = "Dask LocalCluster, 2 workers x 1 thread (as --scheduler local starts it)"
EXECUTORS = ("--jobs 1", "--jobs 2", DASK)


def _spec(folder: Path, scenarios: int) -> Path:
    weights = [1, 2, 3, 4, 6, 8]
    stability = [0, 0.1, 0.25, 0.5, 1]
    totals = list(range(29, 29 + max(1, scenarios // (len(weights) * len(stability)))))  # S01 has 29 in municipal
    document = {"instance": str(SCALES["municipal"].instance()), "models": [str(MODEL)],
                "axes": [{"field": "model.underserved_weight", "values": weights},
                         {"field": "model.stability.weight", "values": stability},
                         {"field": "specialty.S01.total", "values": totals}]}
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _cpu() -> float:
    """CPU seconds used so far by this process, its ended children, and its live descendants (Dask workers)."""
    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            spent = child.cpu_times()
            total += spent.user + spent.system
    return total


def _load() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _round_robin(spec: Any, folder: Path, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) of each executor's runs, the executors taking turns in every round.

    Taking turns, rather than one executor's runs after another's, spreads a drift of the shared
    machine's speed (seen: ``--jobs 1`` from 13.6 to 14.9 s within five minutes) over every executor.
    The Dask cluster is started, warmed by a small sweep (its workers import everything once) and
    stopped in each round outside the clock: an idle cluster would take CPU from the other runs.
    """
    count = spec.size()
    warm = load_sweep_spec(_spec(folder / "warm", 2))
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in EXECUTORS}
    for k in range(rounds):
        for name in EXECUTORS:
            cluster = None
            if name == DASK:
                cluster = local_cluster(2, silence_logs=logging.ERROR)  # as --scheduler local starts it
                run: dict[str, Any] = {"scheduler": cluster.scheduler_address}
                run_sweep(warm, folder / f"warm-{k}", **run)
            else:
                run = {"jobs": int(name.split()[-1])}
            out = folder / f"run-{k}-{len(runs[name])}-{name.split()[-1]}"
            cpu = _cpu()
            started = time.perf_counter()
            outcome = run_sweep(spec, out, **run)
            runs[name].append((time.perf_counter() - started, _cpu() - cpu))
            if cluster is not None:
                cluster.close()
            assert outcome.solved == count, outcome
            shutil.rmtree(out)
            print(f"round {k + 1}, {name}: {runs[name][-1][0]:.2f} s, CPU {runs[name][-1][1]:.1f} s, load {_load()}",
                  flush=True)
    return runs


def main() -> None:
    """Time each executor and write the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each executor runs once per round")
    parser.add_argument("--scenarios", type=int, default=600)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the table goes (default: %(default)s)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    (folder / "warm").mkdir()
    spec = load_sweep_spec(_spec(folder, args.scenarios))
    count = spec.size()
    before = _load()
    try:
        runs = _round_robin(spec, folder, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = [wall for wall, _ in runs[EXECUTORS[0]]]
    out = ["# Sweep throughput (issue 17)", "",
           f"Made by `python -m benchmarks.sweep --repeat {args.repeat} --scenarios {args.scenarios}` on "
           f"{datetime.date.today().isoformat()}, Python {platform.python_version()}, {os.cpu_count()} cores "
           "(shared: see the load averages). SYNTHETIC instance: the generated `municipal` scale "
           "(98 municipalities x 40 specialties, 3,920 cells; benchmarks/scales.py) under "
           "benchmarks/models/bench.yaml.", "",
           f"{count} scenarios (under-served weight x stability weight x total of S01, a grid); each run solves, "
           "verifies and writes them all into a fresh folder, start-up of its processes included (the Dask "
           "cluster's excepted: it is started before the clock, as a standing cluster is). The executors take "
           "turns, one run each per round; the ratio is taken within each round, against that round's "
           "`--jobs 1` run, and its median is shown.",
           "CPU: seconds of CPU of the whole run (this process and every worker process), per run.",
           f"Load average (1/5/15 min) before the first round: {before}; after the last: {_load()}.",
           "", "| executor | scenarios/s (median run) | × --jobs 1 (median of rounds) | target | runs (s) | CPU (s) |",
           "|---|---:|---:|---|---|---|"]
    for k, name in enumerate(EXECUTORS):
        walls = [wall for wall, _ in runs[name]]
        ratio = statistics.median(b / wall for b, wall in zip(base, walls))
        target = "" if k == 0 else (f"≥ {TARGET}×: " + ("met" if ratio >= TARGET else "**not met**"))
        out.append(f"| {name} | {count / statistics.median(walls):.1f} | {ratio:.2f} | {target} | "
                   f"{', '.join(f'{t:.2f}' for t in walls)} | {', '.join(f'{c:.1f}' for _, c in runs[name])} |")
    args.output.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
