"""Sweep throughput (issue 17): scenarios per second on ``municipal``; writes ``benchmarks/sweep_results.md``.

Usage::

    python -m benchmarks.sweep                 # 3 repetitions of 600 scenarios per executor
    python -m benchmarks.sweep --repeat 1 --scenarios 40

The instance is the generated ``municipal`` scale (SYNTHETIC: ``allocator generate``
with a fixed seed, see benchmarks/scales.py): 98 municipalities x 40 specialties,
3,920 cells, under benchmarks/models/bench.yaml. The sweep varies the under-served
weight, the stability weight and the total of specialty S01 on a grid. Each row times the whole
``run_sweep`` into a fresh folder: executor start-up, every scenario solved and
verified, and the files written, as a user waits for it. Executors:

- ``--jobs 1`` (in this process), ``--jobs 2`` (this process and one spawned process);
- a Dask ``LocalCluster`` of 2 single-thread worker processes, started before the
  clock (a cluster is started once and serves many sweeps), as ``--scheduler ADDRESS``:
  once with Dask's default settings, once with the settings of ``--scheduler local``
  (:func:`allocator.sweep.local_cluster`: no profiler, glibc's malloc thresholds).

The machine's load (``os.getloadavg``) is recorded before and after each row, and the CPU
seconds of each run (this process, its spawned workers and the Dask workers, from
``os.times`` and psutil): the target (each parallel run at least 1.7 times the ``--jobs 1``
rate) needs two idle cores.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
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
from allocator.sweep import LEAN_WORKERS, local_cluster, run_sweep
from benchmarks.scales import MODEL, SCALES

RESULTS = Path(__file__).resolve().parent / "sweep_results.md"
TARGET = 1.7


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


def main() -> None:
    """Time each executor and write the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenarios", type=int, default=600)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the table goes (default: %(default)s)")
    args = parser.parse_args()
    from distributed import LocalCluster

    folder = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    spec = load_sweep_spec(_spec(folder, args.scenarios))
    count = spec.size()
    # Each Dask row's cluster lives only for that row: idle workers cost about 2 % of a core each,
    # which would be taken from the other rows' parallel runs.
    modes: dict[str, dict[str, Any] | None] = {
        "--jobs 1": {"jobs": 1}, "--jobs 2": {"jobs": 2},
        "Dask LocalCluster, 2 workers x 1 thread": None,
        "the same, workers as --scheduler local starts them": LEAN_WORKERS}
    rows = []
    try:
        for name, options in modes.items():
            cluster = None
            if name.startswith("--jobs"):
                assert options is not None
                run: dict[str, Any] = dict(options)
            else:
                if options is LEAN_WORKERS:
                    cluster = local_cluster(2)  # as --scheduler local starts it (after the default row's cluster)
                else:
                    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
                run = {"scheduler": cluster.scheduler_address}
                run_sweep(spec, folder / f"warm-{len(rows)}", **run)  # the workers import everything once
            times, cpus = [], []
            before = _load()
            for k in range(args.repeat):
                out = folder / f"run-{len(rows)}-{k}"
                cpu = _cpu()
                started = time.perf_counter()
                outcome = run_sweep(spec, out, **run)
                times.append(time.perf_counter() - started)
                cpus.append(_cpu() - cpu)
                assert outcome.solved == count, outcome
                shutil.rmtree(out)
            if cluster is not None:
                cluster.close()
            rows.append((name, statistics.median(times), times, cpus, before, _load()))
            print(f"{name}: median {statistics.median(times):.2f} s for {count} scenarios "
                  f"({count / statistics.median(times):.1f}/s), CPU {', '.join(f'{c:.1f}' for c in cpus)} s; "
                  f"load {before} -> {_load()}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = count / rows[0][1]
    out = ["# Sweep throughput (issue 17)", "",
           f"Made by `python -m benchmarks.sweep --repeat {args.repeat} --scenarios {args.scenarios}` on "
           f"{datetime.date.today().isoformat()}, Python {platform.python_version()}, {os.cpu_count()} cores "
           "(shared: see the load averages). SYNTHETIC instance: the generated `municipal` scale "
           "(98 municipalities x 40 specialties, 3,920 cells; benchmarks/scales.py) under "
           "benchmarks/models/bench.yaml.", "",
           f"{count} scenarios (under-served weight x stability weight x total of S01, a grid); each run solves, verifies and writes "
           "them all into a fresh folder. Median of the runs; each Dask cluster is started before the clock (and its "
           "workers warmed by one sweep), and stopped after its row.",
           "CPU: seconds of CPU of the whole run (this process and every worker process), per run.",
           "", "| executor | scenarios/s | × --jobs 1 | target | runs (s) | CPU (s) "
           "| load 1/5/15 min before → after |",
           "|---|---:|---:|---|---|---|---|"]
    for k, (name, median, times, cpus, before, after) in enumerate(rows):
        rate = count / median
        target = "" if k == 0 else (f"≥ {TARGET}×: " + ("met" if rate / base >= TARGET else "**not met**"))
        out.append(f"| {name} | {rate:.1f} | {rate / base:.2f} | {target} | "
                   f"{', '.join(f'{t:.2f}' for t in times)} | {', '.join(f'{c:.1f}' for c in cpus)} | "
                   f"{before} → {after} |")
    args.output.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
