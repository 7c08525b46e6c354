"""Time the diagnosis of an infeasible instance at municipal scale; writes ``benchmarks/diagnosis_results.md``.

Usage::

    python -m benchmarks.diagnosis                 # 3 runs
    python -m benchmarks.diagnosis --repeats 5 --reference

The instance is SYNTHETIC: the ``municipal`` shape of benchmarks/scales.py
(98 municipalities, 40 specialties, 3,920 cells, a stability limit per cell
under models/stability-first.yaml), with one specialty's total raised to 900
posts, far above what its caps allow. Naming the conflicting rules took 389 s
there with the first deletion filter (one LP built afresh per rule). Each run
is a whole ``allocator solve`` in a fresh process (exit 3 with diagnosis.json
and diagnosis.md), beside a solve of the same instance with its real total as
the baseline; the times are medians, and the ratio is taken within the run.
``--reference`` also times the first filter's rule-by-rule search once, in
process (minutes).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scales import ROOT, SCALES

MODEL = ROOT / "models" / "stability-first.yaml"
RAISED = ("S02", 900)


def _instance(folder: Path) -> tuple[Path, Path]:
    """The municipal instance as generated, and a copy with S02's total raised (both under ``folder``)."""
    options = SCALES["municipal"].options
    feasible = folder / "feasible"
    subprocess.run([sys.executable, "-m", "allocator", "generate", "--out", str(feasible), "--force",
                    "--tree", ",".join(map(str, options.tree)), "--specialties", str(options.specialties),
                    "--posts", str(options.posts), "--seed", str(options.seed)], check=True, capture_output=True)
    infeasible = folder / "infeasible"
    infeasible.mkdir()
    for path in feasible.iterdir():
        text = path.read_text(encoding="utf-8")
        if path.name == "instance.yaml":
            specialty, total = RAISED
            line = next(row for row in text.splitlines() if f"{{id: {specialty}," in row)
            text = text.replace(line, line.rsplit("total:", 1)[0] + f"total: {total}}}")
        (infeasible / path.name).write_text(text, encoding="utf-8")
    return feasible / "instance.yaml", infeasible / "instance.yaml"


def _timed(instance: Path, out: Path, expected: int) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "allocator", "solve", str(instance), "--model", str(MODEL),
                           "--out", str(out), "--force", "--quiet", "--no-xlsx"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != expected:
        raise SystemExit(f"solve exited {done.returncode}, not {expected}: {done.stderr[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", action="store_true", help="also time the first, rule-by-rule filter")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "diagnosis_results.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        feasible, infeasible = _instance(folder)
        solve = [_timed(feasible, folder / "plan", 0) for _ in range(args.repeats)]
        diagnose = [_timed(infeasible, folder / "diagnosis", 3) for _ in range(args.repeats)]
        conflicting = (folder / "diagnosis" / "diagnosis.json").read_text(encoding="utf-8").count('"kind":')
        reference = None
        if args.reference:
            sys.path.insert(0, str(ROOT))
            from allocator.io.loading import load_instance, load_model
            from allocator.solvers.diagnose import feasible as lp_feasible, rules_of

            instance, model = load_instance(infeasible).value, load_model(MODEL).value
            rules = rules_of(instance, model)
            order = {"stability": 0, "bound": 1, "total": 2}
            started = time.perf_counter()
            kept = list(rules)
            for rule in sorted(rules, key=lambda r: (order[r.kind], r.name)):
                trial = [r for r in kept if r is not rule]
                if not lp_feasible(trial):
                    kept = trial
            reference = time.perf_counter() - started
    load = os.getloadavg()
    lines = [
        "# Diagnosis of an infeasible municipal instance", "",
        f"{datetime.date.today().isoformat()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end (a shared machine: compare the "
        "ratio, not the seconds). Made by `python -m benchmarks.diagnosis`.", "",
        f"SYNTHETIC instance: the `municipal` shape (3,920 cells) under `models/stability-first.yaml`, with "
        f"{RAISED[0]}'s total raised to {RAISED[1]} posts. {conflicting} rules in the answer.", "",
        "| run | median | runs |", "|---|---:|---|",
        f"| `allocator solve`, the real total (a plan; the baseline) | {statistics.median(solve):.2f} s | "
        + ", ".join(f"{s:.2f}" for s in solve) + " |",
        f"| `allocator solve`, the raised total (exit 3, diagnosis) | {statistics.median(diagnose):.2f} s | "
        + ", ".join(f"{s:.2f}" for s in diagnose) + " |", "",
        f"Diagnosis / plan: {statistics.median(diagnose) / statistics.median(solve):.1f}×.",
    ]
    if reference is not None:
        lines += ["", f"The first filter's rule-by-rule search alone, once, in process: {reference:.1f} s."]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
