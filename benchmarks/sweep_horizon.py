"""Multi-year sweeps (issue 17): the cost of a scenario; writes ``benchmarks/sweep_horizon_results.md``.

Usage::

    python -m benchmarks.sweep_horizon                  # 3 repetitions of each row
    python -m benchmarks.sweep_horizon --repeat 1 --generated-limit 10

Rows, each the whole command in a fresh process (start-up, every scenario solved and verified by
the simulator, the files written), median of the repetitions, with the CPU seconds of the command and
its workers and the load average before and after:

- ``sweep --jobs 1`` and ``--jobs 2`` over 24 scenarios of the Danish horizon instance
  (instances/dk-2021-almen-medicin-horizon: coverage_weight 5/10/20/50 x fill-rate factor
  0.9/1/1.1 x retention factor 0.8/1.2) under models/need-weighted.yaml;
- the first 8 of those scenarios as one sweep, against 8 separate ``allocator solve`` commands of the
  same scenarios written as instance and model files (what a user would do without ``sweep``);
- one sweep of 4 scenarios (coverage_weight 10/50 x fill-rate factor 0.9/1) of a SYNTHETIC generated
  instance of 98 leaves (benchmarks/horizon.py's ``horizon_instance``, seed 0), with a per-scenario
  ``time_limit`` and ``accept_gap: 0.01`` under models/population.yaml (the instance has no
  indicators), and the statuses it reached; run once.

Wall times depend on the machine's load: they are quoted with the load average, and ratios are
taken within one run of this script.
"""

from __future__ import annotations

import argparse
import csv
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
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "sweep_horizon_results.md"
HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
NEED = ROOT / "models" / "need-weighted.yaml"
POPULATION = ROOT / "models" / "population.yaml"  # the generated instance has no indicators
ALLOCATOR = Path(sys.executable).parent / "allocator"
AXES = [{"field": "model.coverage_weight", "values": [5, 10, 20, 50]},
        {"field": "workforce.fill_rate", "factors": [0.9, 1.0, 1.1]},
        {"field": "workforce.retention", "factors": [0.8, 1.2]}]


def _load() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the command and every process it waited for) of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _spec(folder: Path, instance: Path, axes: list[dict[str, Any]], model: Path = NEED, **extra: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({"instance": str(instance), "models": [str(model)], "axes": axes, **extra},
                                   allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((out / "scenarios.csv").open(encoding="utf-8")))


def _row(label: str, scenarios: int, runs: list[tuple[float, float]], loads: list[str]) -> str:
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    return (f"| {label} | {scenarios} | {wall:.2f} | {cpu:.2f} | {scenarios / wall:.1f} | "
            f"{' → '.join(loads)} |")


def _scenario_files(folder: Path, row: dict[str, str]) -> tuple[Path, Path]:
    """One scenario of the first 8 as an instance file and a model file, as a user would edit them."""
    data = yaml.safe_load(HORIZON.read_text(encoding="utf-8"))
    data["geometry"]["file"] = str((HORIZON.parent / data["geometry"]["file"]).resolve())
    for entry in data["workforce"]:
        for name, column in (("fill_rate", "workforce.fill_rate"), ("retention", "workforce.retention")):
            if name in entry:  # the Danish file gives every leaf's fill rate and every region's retention
                entry[name] = entry[name] * float(row[column])
    model = yaml.safe_load(NEED.read_text(encoding="utf-8"))
    model["coverage_weight"] = float(row["model.coverage_weight"])
    folder.mkdir(parents=True)
    (folder / "instance.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (folder / "model.yaml").write_text(yaml.safe_dump(model), encoding="utf-8")
    return folder / "instance.yaml", folder / "model.yaml"


def main(argv: list[str] | None = None) -> None:
    """Run every row and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each Danish row (median)")
    parser.add_argument("--generated-limit", type=float, default=30.0,
                        help="time_limit of each scenario of the generated 98-leaf instance (seconds)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    lines = [f"# Multi-year sweeps ({datetime.date.today()}, {platform.python_version()}, "
             f"{os.cpu_count()} cores, `python -m benchmarks.sweep_horizon --repeat {args.repeat} "
             f"--generated-limit {args.generated_limit:g}`)", "",
             "Each row is the whole command in a fresh process, median of the runs; CPU is user + system "
             "seconds of the command and its workers; load is the 1/5/15-minute load average before → after.", "",
             "| run | scenarios | wall s | CPU s | scenarios/s | load |", "|---|---:|---:|---:|---:|---|"]
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        spec = _spec(folder / "dk", HORIZON, AXES)
        for jobs in (1, 2):
            runs, loads = [], [_load()]
            for k in range(args.repeat):
                runs.append(_timed([str(ALLOCATOR), "sweep", str(spec), "--out", str(folder / f"dk-j{jobs}-{k}"),
                                    "--jobs", str(jobs), "-q"]))
            loads.append(_load())
            lines.append(_row(f"`sweep --jobs {jobs}`, Danish horizon", 24, runs, loads))
        scenario_seconds = [float(r["seconds"]) for r in _rows(folder / "dk-j1-0")]
        # The first 8 scenarios: one sweep against 8 `allocator solve` commands.
        first = _spec(folder / "dk8", HORIZON, [AXES[0] | {"values": [5, 10]}, AXES[1] | {"factors": [0.9, 1.0]},
                                                AXES[2]])
        runs, loads = [], [_load()]
        for k in range(args.repeat):
            runs.append(_timed([str(ALLOCATOR), "sweep", str(first), "--out", str(folder / f"dk8-{k}"), "-q"]))
        loads.append(_load())
        lines.append(_row("`sweep --jobs 1`, the first 8 scenarios", 8, runs, loads))
        sweep_wall = statistics.median(w for w, _ in runs)
        eight = _rows(folder / "dk8-0")
        runs, loads = [], [_load()]
        for k in range(args.repeat):
            wall = cpu = 0.0
            for row in eight:
                instance, model = _scenario_files(folder / f"solve-{k}-{row['scenario']}", row)
                w, c = _timed([str(ALLOCATOR), "solve", str(instance), "--model", str(model), "--out",
                               str(instance.parent / "out"), "-q"])
                wall, cpu = wall + w, cpu + c
            runs.append((wall, cpu))
        loads.append(_load())
        lines.append(_row("8 × `allocator solve` of the same scenarios", 8, runs, loads))
        ratio = statistics.median(w for w, _ in runs) / sweep_wall
        lines += ["", f"A scenario's own solve (the `seconds` column of the 24-scenario sweep): median "
                  f"{statistics.median(scenario_seconds):.3f} s, max {max(scenario_seconds):.3f} s. "
                  f"8 separate `allocator solve` commands took {ratio:.1f}× the wall time of one 8-scenario sweep "
                  "(each command starts Python, imports the solvers and writes every file of a plan).", ""]

        sys.path.insert(0, str(ROOT))
        from benchmarks.horizon import horizon_instance

        generated = folder / "generated" / "instance.yaml"
        generated.parent.mkdir()
        generated.write_text(yaml.safe_dump(horizon_instance(0), allow_unicode=True, sort_keys=False),
                             encoding="utf-8")
        spec = _spec(folder / "gen", generated, [{"field": "model.coverage_weight", "values": [10, 50]},
                                                 {"field": "workforce.fill_rate", "factors": [0.9, 1.0]}],
                     model=POPULATION, time_limit=args.generated_limit, accept_gap=0.01)
        loads = [_load()]
        run = _timed([str(ALLOCATOR), "sweep", str(spec), "--out", str(folder / "gen-out"), "--jobs", "2", "-q"])
        loads.append(_load())
        lines += ["## A generated 98-leaf instance (SYNTHETIC) with a time limit", "",
                  f"`sweep --jobs 2`, 4 scenarios, `time_limit: {args.generated_limit:g}`, `accept_gap: 0.01`: "
                  f"{run[0]:.1f} s wall, {run[1]:.1f} s CPU, load {' → '.join(loads)}.", "",
                  "| scenario | coverage_weight | fill-rate factor | status | certified gap | seconds |",
                  "|---:|---:|---:|---|---:|---:|"]
        for row in _rows(folder / "gen-out"):
            gap = f"{float(row['gap']):.4f}" if row["gap"] else "–"
            lines.append(f"| {row['scenario']} | {float(row['model.coverage_weight']):g} | "
                         f"{float(row['workforce.fill_rate']):g} | {row['status']} | {gap} | "
                         f"{float(row['seconds']):.1f} |")
        lines += ["", "A scenario that reaches neither a proof nor the accepted gap within its time limit is "
                  "`time-limit` with no plan; one within the gap is `gap ≤ 0.01`, never `optimal`.", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
