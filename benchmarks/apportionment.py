"""Benchmarks of the apportionment module (issues 18 and 19); writes ``benchmarks/apportionment.md``.

Usage::

    python -m benchmarks.apportionment [--repeats 3] [--out benchmarks/apportionment.md]

Every measurement runs in a fresh subprocess, so its peak memory (ru_maxrss)
is its own; times are the median of the repeats, measured inside the process
around the call alone. Jobs:

- ``apportion`` (the library call) on the 15 states of the 1790 census
  (tests/data/apportionment/us-house-1790.csv, real figures) for totals from
  10^3 to 10^12, for Huntington-Hill, Jefferson and Hamilton: the jump to the
  divisor against the seat-by-seat heap, the latter only up to 10^6 (it is
  linear in the total);
- ``apportion`` on 1,000 and 10,000 areas with synthetic weights at 10^9 seats;
- ``objective: apportionment`` (Huntington-Hill) solved as a plan with
  10^8 posts on three leaves (a synthetic instance);
- ``biproportional`` on the three official Zürich Kantonsrat matrices
  (18 x 9 or 10, 180 seats), lower apportionment from the published totals,
  and on synthetic matrices up to 100 x 30 (one run each);
- ``objective: biproportional`` on a synthetic instance of 4,000 cells (one run).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "apportionment"

_APPORTION = """
import csv, json, resource, time
import allocator.apportion.methods as methods
from allocator.apportion import apportion
rows = list(csv.DictReader(open({table!r}, encoding="utf-8")))
areas, weights = [r["area"] for r in rows], [int(r["population"]) for r in rows]
if {stepwise!r}:
    methods._STEPWISE = 10**18
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    result = apportion(areas, weights, {total}, {method!r})
    times.append(time.perf_counter() - start)
assert sum(result.posts) == {total}
print(json.dumps({{"times": times, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

_MANY = """
import json, random, resource, time
from allocator.apportion import apportion
random.seed(0)  # SYNTHETIC weights: uniform integers, no real figures
areas = [f"a{{i}}" for i in range({n})]
weights = [random.randint(1, 10**7) for _ in range({n})]
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    result = apportion(areas, weights, {total}, {method!r})
    times.append(time.perf_counter() - start)
print(json.dumps({{"times": times, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

_OBJECTIVE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from tests.test_apportion import _flat_instance
from allocator.io.schemas import Model
from allocator.results.solve import solve
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    plan = solve(_flat_instance([500, 300, 200], {total}), Model(name="m", objective="apportionment",
                                                                 method="huntington-hill"))
    times.append(time.perf_counter() - start)
assert sum(int(r.posts) for r in plan.rows) == {total}
print(json.dumps({{"times": times, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

_BIPROPORTIONAL = """
import csv, json, resource, time
from fractions import Fraction
from allocator.apportion.biproportional import biproportional
base = {base!r}
records = list(csv.DictReader(open(base + ".csv", encoding="utf-8")))
rows = list(dict.fromkeys(r["district"] for r in records))
cols = list(dict.fromkeys(r["party"] for r in records))
votes = {{(r["district"], r["party"]): int(r["votes"]) for r in records}}
matrix = [[votes[(d, p)] for p in cols] for d in rows]
rt = [int(r["total"]) for r in csv.DictReader(open(base + "-districts.csv", encoding="utf-8"))]
ct = [int(r["total"]) for r in csv.DictReader(open(base + "-parties.csv", encoding="utf-8"))]
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    result = biproportional(rows, cols, matrix, rt, ct)
    times.append(time.perf_counter() - start)
ok = all(result.seats[i][j] == int(r["seats"]) for i, d in enumerate(rows) for j, p in enumerate(cols)
         for r in [next(x for x in records if x["district"] == d and x["party"] == p)])
print(json.dumps({{"times": times, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "updates": result.updates, "transfers": result.transfers, "official": ok}}))
"""


_SYNTHETIC_MATRIX = """
import json, random, resource, time
from allocator.apportion.biproportional import biproportional
random.seed(3)  # SYNTHETIC: uniform weights, totals from a random whole matrix (always feasible)
R, C = {rows}, {cols}
w = [[random.randint(0, 10**5) for _ in range(C)] for _ in range(R)]
seats = [[random.randint(0, 10) for _ in range(C)] for _ in range(R)]
r = [sum(x) for x in seats]
c = [sum(x) for x in zip(*seats)]
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    result = biproportional([f"r{{i}}" for i in range(R)], [f"c{{j}}" for j in range(C)], w, r, c)
    times.append(time.perf_counter() - start)
print(json.dumps({{"times": times, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "updates": result.updates, "transfers": result.transfers, "seats": sum(r)}}))
"""


_MATRIX_OBJECTIVE = """
import json, random, resource, sys, time
sys.path.insert(0, {root!r})
from tests.conftest import make_instance, make_model
from allocator.results.solve import solve
random.seed(5)  # SYNTHETIC: populations, specialty totals and region totals are made up
R, L, S = 5, 20, 40
areas = [{{"id": f"R{{r}}"}} for r in range(R)] + [
    {{"id": f"L{{r}}-{{l:02d}}", "parent": f"R{{r}}", "population": random.randint(10**4, 10**6)}}
    for r in range(R) for l in range(L)]
spec = [random.randint(10, 100) for _ in range(S)]
total = sum(spec)
pops = [sum(a["population"] for a in areas[R:][r * L:(r + 1) * L]) for r in range(R)]
rt = [int(total * p / sum(pops)) for p in pops]
rt[0] += total - sum(rt)
instance = make_instance(specialties=[{{"id": f"s{{j:02d}}", "total": spec[j]}} for j in range(S)], areas=areas,
                         bounds=[{{"area": f"R{{r}}", "min": rt[r], "max": rt[r]}} for r in range(R)])
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    plan = solve(instance, make_model(objective="biproportional"))
    times.append(time.perf_counter() - start)
steps = plan.metadata["biproportional"]["tie_and_transfer"]
print(json.dumps({{"times": times, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "cells": len(plan.rows), "posts": total, **steps}}))
"""


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Run every job and write the markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "apportionment.md")
    args = parser.parse_args(argv)
    lines = ["# Apportionment benchmarks", "",
             f"Made by `python -m benchmarks.apportionment --repeats {args.repeats}` on "
             f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}; "
             "median of the repeats, each job in its own process (peak = its ru_maxrss). "
             "The machine is shared, so times are noisy; compare within a row.", "",
             "## `apportion`, 15 states of 1790 (real populations)", "",
             "| method | total | jump: median s | jump: peak MB | seat by seat: median s | seat by seat: peak MB |",
             "|---|---:|---:|---:|---:|---:|"]
    table = str(DATA / "us-house-1790.csv")
    for method in ("huntington-hill", "jefferson", "hamilton"):
        for exponent in (3, 6, 9, 12):
            total = 10**exponent
            jump = _run(_APPORTION.format(table=table, stepwise=False, repeats=args.repeats, total=total,
                                          method=method))
            cells = [method, f"10^{exponent}", f"{statistics.median(jump['times']):.4f}", f"{jump['peak_mb']:.0f}"]
            if method != "hamilton" and exponent <= 6:
                step = _run(_APPORTION.format(table=table, stepwise=True, repeats=args.repeats, total=total,
                                              method=method))
                cells += [f"{statistics.median(step['times']):.4f}", f"{step['peak_mb']:.0f}"]
            else:
                cells += ["—", "—"]
            lines.append("| " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    lines += ["", "Hamilton has no seat-by-seat form; its time is that of the restricted quotas and ten more sizes "
              "for the priority list. The seat-by-seat column forces the old heap for every seat.", "",
              "## `apportion`, many areas (SYNTHETIC weights, uniform 1..10^7, seed 0), total 10^9", "",
              "| method | areas | median s | peak MB |", "|---|---:|---:|---:|"]
    for method in ("huntington-hill", "webster", "jefferson"):
        for n in (1_000, 10_000):
            job = _run(_MANY.format(n=n, repeats=args.repeats, total=10**9, method=method))
            lines.append(f"| {method} | {n:,} | {statistics.median(job['times']):.3f} | {job['peak_mb']:.0f} |")
            print(lines[-1], flush=True)
    lines += ["",
              "## `objective: apportionment` (Huntington-Hill), 3 leaves, solved and verified", "",
              "| total | median s | peak MB |", "|---:|---:|---:|"]
    for exponent in (4, 8):
        job = _run(_OBJECTIVE.format(root=str(ROOT), repeats=args.repeats, total=10**exponent))
        lines.append(f"| 10^{exponent} | {statistics.median(job['times']):.3f} | {job['peak_mb']:.0f} |")
        print(lines[-1], flush=True)
    lines += ["", "## `biproportional`, Zürich Kantonsrat (official matrices)", "",
              "| year | median s | peak MB | scalings | transfers | equals the official matrix |",
              "|---|---:|---:|---:|---:|---|"]
    for year in (2011, 2015, 2019):
        job = _run(_BIPROPORTIONAL.format(base=str(DATA / f"zh-kantonsrat-{year}"), repeats=args.repeats))
        lines.append(f"| {year} | {statistics.median(job['times']):.4f} | {job['peak_mb']:.0f} | {job['updates']} | "
                     f"{job['transfers']} | {'yes' if job['official'] else 'NO'} |")
        print(lines[-1], flush=True)
    lines += ["", "## `biproportional`, SYNTHETIC matrices (uniform weights 0..10^5, up to 10 seats a cell)", "",
              "| rows x columns | seats | median s | peak MB | scalings | transfers |", "|---|---:|---:|---:|---:|---:|"]
    for rows, cols in ((20, 10), (50, 20), (100, 30)):
        job = _run(_SYNTHETIC_MATRIX.format(rows=rows, cols=cols, repeats=1))
        lines.append(f"| {rows} x {cols} | {job['seats']:,} | {statistics.median(job['times']):.2f} | "
                     f"{job['peak_mb']:.0f} | {job['updates']} | {job['transfers']} |")
        print(lines[-1], flush=True)
    lines += ["", "## `objective: biproportional`, SYNTHETIC instance: 5 regions with fixed totals, 100 leaves, "
              "40 specialties", "", "| cells | posts | median s (solve and verify) | peak MB | scalings | transfers |",
              "|---:|---:|---:|---:|---:|---:|"]
    job = _run(_MATRIX_OBJECTIVE.format(root=str(ROOT), repeats=1))
    lines.append(f"| {job['cells']:,} | {job['posts']:,} | {statistics.median(job['times']):.2f} | "
                 f"{job['peak_mb']:.0f} | {job['updates']} | {job['transfers']} |")
    print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
