"""Run the benchmarks and write ``benchmarks/results.md``.

Usage::

    python -m benchmarks.run                       # every scale, 3 runs each
    python -m benchmarks.run --scales dk,municipal --repeats 5
    python -m benchmarks.run --scales grid-capped,deep,wide --repeats 1 --out /tmp/results.md

Every (scale, job) runs in a fresh subprocess, so that its peak memory is its
own and no solver library is loaded beside another. A job is a backend (build
and solve timed apart, median of the runs), a PuLP + CBC baseline on the same
problem, a bare OR-Tools min-cost-flow solve of the network the flow backend
ends on, or the whole ``allocator solve`` command (process start to files
written). Ratios are taken between jobs of the same run. The report opens
with a table over the shapes of issue 12 (cells, bound rows, the whole
command's median time and peak memory, its speed against PuLP + CBC, and
pass or fail against the targets in ``benchmarks/scales.py``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.scales import MODEL, ROOT, SCALES, Scale, Targets

#: Jobs per scale. "auto" is what `allocator solve` runs by default.
JOBS = {
    "dk": ["auto", "highs", "cbc", "cpsat", "mcf-bare", "well-formulated", "plain", "cli", "sensitivity"],
    "municipal": ["auto", "highs", "cbc", "cpsat", "mcf-bare", "well-formulated", "plain", "cli", "sensitivity"],
    "national-large": ["auto", "highs", "cbc", "cpsat", "mcf-bare", "well-formulated", "plain", "cli", "sensitivity"],
    "huge": ["auto", "mcf-bare", "cli"],
    "grid-capped": ["auto", "mcf-bare", "well-formulated", "cli"],
    "deep": ["auto", "mcf-bare", "well-formulated", "cli"],
    "wide": ["auto", "mcf-bare", "well-formulated", "cli"],
    # No PuLP baseline at a million cells (see SCALES["million"].pulp_skipped).
    "million": ["auto", "cli"],
}
#: Issue 13: the whole `allocator sensitivity` with default settings, at most (seconds, median wall time).
SENSITIVITY_TARGETS = {"dk": 2.0, "municipal": 5.0, "national-large": 60.0}
#: Issue 12: the whole command's objective must equal PuLP + CBC's to this, relative.
OBJECTIVE_TOLERANCE = 1e-6
RESULTS = ROOT / "benchmarks" / "results.md"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(scale_name: str, job: str, repeats: int, time_limit: float) -> dict[str, Any]:
    """Run one job in this process and return its measurements."""
    from allocator.solvers import choose_backend, get_backend
    from allocator.io.loading import load_instance, load_model
    from allocator.core.presolve import presolve
    from allocator.core.problem import build_problem

    scale = SCALES[scale_name]
    started = time.perf_counter()
    instance = load_instance(scale.instance()).value
    model = load_model(MODEL).value
    loaded = time.perf_counter()
    problem = build_problem(instance, model)
    prepared = time.perf_counter()
    bounds = getattr(instance, "bounds", None)
    out: dict[str, Any] = {"load": loaded - started, "prepare": prepared - loaded, "cells": problem.n_cells,
                           "groups": len(problem.groups), "bound_rows": None if bounds is None else len(bounds),
                           "build": [], "solve": [], "status": "", "objective": None}
    if job in {"auto", "highs", "cbc", "cpsat", "mcf-bare"}:
        # The backends get what `allocator solve` gives them: the problem after presolve.
        whole = problem
        presolve_started = time.perf_counter()
        presolved = presolve(whole)
        out["presolve"] = time.perf_counter() - presolve_started
        assert presolved.problem is not None, "benchmark instances are feasible"
        problem = presolved.problem
        out["free_cells"] = problem.n_cells
        backend = choose_backend("auto", problem)[0] if job in {"auto", "mcf-bare"} else get_backend(job)
        out["backend"] = backend.name
        for _ in range(repeats):
            result = backend.solve(problem, time_limit=time_limit)
            out["status"] = result.status
            out["rounds"] = result.rounds
            out["path"] = result.extra.get("path", backend.name)
            if result.status != "optimal" or result.units is None:
                out["build"].append(result.build_seconds)
                out["solve"].append(result.solve_seconds)
                break
            out["objective"] = whole.total_cost(presolved.restore(result.units))
            if job == "mcf-bare":
                break
            out["build"].append(result.build_seconds)
            out["solve"].append(result.solve_seconds)
        if job == "mcf-bare":
            out.update(_bare_flow(problem, result, repeats))
    elif job in {"well-formulated", "plain"}:
        from benchmarks.baselines import plain_cbc, well_formulated_cbc

        run = well_formulated_cbc if job == "well-formulated" else plain_cbc
        for _ in range(repeats):
            baseline = run(problem, time_limit)
            out["build"].append(baseline.build_seconds)
            out["solve"].append(baseline.solve_seconds)
            out["status"], out["objective"] = baseline.status, baseline.objective
            if baseline.status != "optimal":
                break
    out["peak_mb"] = _peak_mb()
    return out


def _bare_flow(problem: Any, result: Any, repeats: int) -> dict[str, Any]:
    """Time SimpleMinCostFlow.solve() alone on the network of the window the flow backend ended on."""
    from allocator.solvers.flow import flow_network

    if result.extra.get("path") != "flow" or "window" not in result.extra:
        return {"status": f"not a flow instance ({result.extra.get('path')})", "solve": [], "build": []}
    wlo, whi = result.extra["window"]
    times, builds = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        network = flow_network(problem, wlo, whi)
        built = time.perf_counter()
        assert network is not None
        status = network.flow.solve()
        times.append(time.perf_counter() - built)
        builds.append(built - started)
        assert status == network.flow.OPTIMAL
    return {"status": "optimal", "solve": times, "build": builds, "arcs": network.flow.num_arcs(),
            "nodes": network.flow.num_nodes()}


#: Issue 13 times `allocator sensitivity` under the need-weighted model (squared deviations), as its report did.
SENSITIVITY_MODEL = ROOT / "models" / "need-weighted.yaml"


def _cli(scale_name: str, repeats: int, command_name: str = "solve") -> dict[str, Any]:
    """Wall time and peak memory of a whole command (`allocator solve` or `allocator sensitivity`)."""
    executable = Path(sys.executable).with_name("allocator")
    walls, peaks, cpus, loads = [], [], [], []
    model = SENSITIVITY_MODEL if command_name == "sensitivity" else MODEL
    for _ in range(repeats):
        # On a shared machine wall time depends on the others' load: the CPU seconds of the command and its
        # worker processes, and the 1-minute load average when it started, are kept beside it.
        loads.append(os.getloadavg()[0])
        with tempfile.TemporaryDirectory() as folder:
            command = [str(executable), command_name, str(SCALES[scale_name].instance()), "--model", str(model),
                       "--out", folder, "--force", "-q"]
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(process.pid, 0)
            walls.append(time.perf_counter() - started)
            peaks.append(usage.ru_maxrss / 1024)
            cpus.append(usage.ru_utime + usage.ru_stime)
            written = sorted(path.name for path in Path(folder).iterdir())
            if os.waitstatus_to_exitcode(status) != 0:
                return {"status": f"exit {os.waitstatus_to_exitcode(status)}: "
                                  f"{process.stderr.read().decode()[:200] if process.stderr else ''}"}
            objective = _plan_objective(Path(folder) / "plan.json") if command_name == "solve" else None
    return {"status": "ok", "wall": walls, "peak_mb": max(peaks), "files": written, "objective": objective,
            "cpu": cpus, "load": loads}


def _plan_objective(path: Path) -> float | None:
    """The top-level ``objective`` of a plan.json, read from its head (a national plan.json is 100s of MB)."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as file:
        head = file.read(1 << 16)
    found = re.search(r'^  "objective": (-?[0-9.eE+-]+),?$', head, re.MULTILINE)
    if found:
        return float(found.group(1))
    value = json.loads(path.read_text(encoding="utf-8")).get("objective")  # laid out otherwise: read it all
    return None if value is None else float(value)


def _run_child(scale: str, job: str, repeats: int, time_limit: float) -> dict[str, Any]:
    if job == "cli":
        return _cli(scale, repeats)
    if job == "sensitivity":
        return _cli(scale, repeats, "sensitivity")
    command = [sys.executable, "-m", "benchmarks.run", "--child", scale, job,
               "--repeats", str(repeats), "--time-limit", str(time_limit)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {"status": f"crashed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else '?'}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import ortools
    import pulp

    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    loop = time.perf_counter() - started
    return [f"- Machine: {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
            f"Linux {platform.release()}; shared, so timings are noisy.",
            f"- Python {platform.python_version()}, OR-Tools {ortools.__version__}, PuLP {pulp.__version__} "
            f"(CBC bundled with PuLP).",
            f"- Speed probe: a 10,000,000-step Python `for` loop took {loop:.2f} s in this run.",
            f"- Date: {datetime.date.today().isoformat()}; model `benchmarks/models/bench.yaml`."]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _seconds(value: float | None) -> str:
    """Seconds to 3 significant digits (times here range from 50 µs to minutes)."""
    return "—" if value is None else f"{value:.3g}"


def _report(results: dict[str, dict[str, dict[str, Any]]], repeats: int, time_limit: float,
            plain_limit: float, machine: list[str]) -> str:
    lines = ["# Benchmark results", "",
             "Written by `make bench` (`python -m benchmarks.run`). Each job ran in its own process; "
             f"times are medians of {repeats} runs (a job that stops at a time limit runs once). "
             f"Time limit {time_limit:g} s per solve, {plain_limit:g} s for the plain PuLP model.", ""]
    lines += machine + [""]
    lines += _shapes(results, time_limit)
    for scale_name, jobs in results.items():
        scale = SCALES[scale_name]
        facts = next((j for j in jobs.values() if "cells" in j), {})
        lines += [f"## {scale_name}", "", f"{scale.description}.", "", f"Instance: `{scale.command()}`.",
                  f"{facts.get('cells', '?')} cells, {facts.get('bound_rows', '?')} bound rows, "
                  f"{facts.get('groups', '?')} constraint groups; "
                  f"loading took {_fmt(facts.get('load'))} s and building the numeric problem "
                  f"{_fmt(facts.get('prepare'))} s (shared by every backend, not in the times below).", "",
                  "| job | build s | solve s | build+solve s | runs | peak MB | objective | status |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for job, data in jobs.items():
            if job in {"cli", "sensitivity"}:
                continue
            build, solve = _median(data.get("build", [])), _median(data.get("solve", []))
            both = None if build is None or solve is None else build + solve
            name = job if job not in {"auto"} else f"auto ({data.get('backend', '?')}: {data.get('path', '?')})"
            lines.append(f"| {name} | {_seconds(build)} | {_seconds(solve)} | {_seconds(both)} | {len(data.get('solve', []))} "
                         f"| {_fmt(data.get('peak_mb'), 0)} | "
                         f"{'—' if data.get('objective') is None else repr(data['objective'])} "
                         f"| {data.get('status', '')} |")
        cli = jobs.get("cli")
        if cli:
            walls = cli.get("wall", [])
            target = ""
            if scale.solve_target is not None and walls:
                verdict = "every run under it" if max(walls) < scale.solve_target else \
                    f"{sum(w >= scale.solve_target for w in walls)} of {len(walls)} runs MISS it"
                target = f" Target: under {scale.solve_target:g} s; {verdict}."
            lines += ["", f"Whole `allocator solve` (process start to files written, XLSX "
                      f"{'written' if 'plan.xlsx' in cli.get('files', []) else 'skipped: over 20,000 rows'}): "
                      f"median {_fmt(_median(walls), 2)} s over {len(walls)} runs "
                      f"({', '.join(_fmt(w, 2) for w in walls)}), "
                      f"peak {_fmt(cli.get('peak_mb'), 0)} MB ({cli.get('status')}).{target}"]
            same, text = _objective_check(jobs, full=True)
            if same is not None:
                lines += ["", f"Objective of the whole command against PuLP + CBC (well formulated), to "
                          f"{OBJECTIVE_TOLERANCE:g} relative: {text}."]
        report = jobs.get("sensitivity")
        if report:
            lines += ["", "Whole `allocator sensitivity` (model need-weighted, default settings: k = 5, "
                      f"200 Monte Carlo draws, --jobs = the cores): median "
                      f"{_fmt(_median(report.get('wall', [])), 2)} s over {len(report.get('wall', []))} runs, "
                      f"peak {_fmt(report.get('peak_mb'), 0)} MB ({report.get('status')}); CPU of the command and "
                      f"its workers: median {_fmt(_median(report.get('cpu', [])), 2)} s; load average at the "
                      f"starts: {', '.join(_fmt(v, 1) for v in report.get('load', [])) or '?'}."]
            limit = SENSITIVITY_TARGETS.get(scale_name)
            wall = _median(report.get("wall", []))
            if limit is not None and wall is not None:
                lines[-1] += (f" Issue 13's target: {'<' if scale_name == 'dk' else '≤'} {limit:g} s — "
                              f"{'met' if wall <= limit else 'NOT met'}.")
        lines += ["", *_ratios(jobs), ""]
    return "\n".join(lines).rstrip() + "\n"


def _both(data: dict[str, Any]) -> float | None:
    """Median build + median solve of a job, whatever its status."""
    build, solve = _median(data.get("build", [])), _median(data.get("solve", []))
    return None if build is None or solve is None else build + solve


def _times(ratio: float) -> str:
    """A ratio to 2 significant digits, whole above 10 (0.022×, 4.3×, 27×)."""
    return f"{ratio:.2g}×" if ratio < 10 else f"{ratio:.0f}×"


def _pulp_ratio(scale: Scale, jobs: dict[str, dict[str, Any]], wall: float | None,
                time_limit: float) -> tuple[float | None, str]:
    """PuLP + CBC (well formulated) build+solve over the whole command's median, and how to print it.

    When CBC stops at its time limit, the ratio is a lower bound, and said so.
    """
    data = jobs.get("well-formulated")
    if data is None:
        return None, scale.pulp_skipped or "not run"
    both = _both(data)
    if both is None or wall is None:
        return None, f"— ({data.get('status', '?')})"
    if data.get("status") == "optimal":
        return both / wall, f"{_times(both / wall)} ({_seconds(both)} s)"
    if data.get("status") == "time limit":
        return both / wall, f"> {_times(both / wall)} (CBC stopped at its {time_limit:g} s limit, {_seconds(both)} s)"
    return None, f"— ({data.get('status')})"


def _objective_check(jobs: dict[str, dict[str, Any]], full: bool = False) -> tuple[bool | None, str]:
    """Whether the whole command's objective equals PuLP + CBC's to OBJECTIVE_TOLERANCE, relative, and in words.

    ``full`` gives both objectives in the words, not only their relative difference.
    """
    ours = jobs.get("cli", {}).get("objective")
    pulp_data = jobs.get("well-formulated", {})
    theirs = pulp_data.get("objective") if pulp_data.get("status") == "optimal" else None
    if ours is None or theirs is None:
        return None, "—"
    difference = abs(ours - theirs) / max(abs(theirs), 1.0)
    same = difference <= OBJECTIVE_TOLERANCE
    values = f"{ours!r} vs {theirs!r}, " if full else ""
    return same, f"{'agree' if same else 'DIFFER'} ({values}relative difference {difference:.1e})"


def _verdict(targets: Targets | None, wall: float | None, peak: float | None, ratio: float | None,
             same: bool | None) -> str:
    """Pass or fail against a shape's targets, naming each miss; "not judged" where a figure is missing."""
    if targets is None:
        return "—"
    if wall is None:
        return "**FAIL**: the whole command did not finish"
    misses, unknown = [], []
    if wall > targets.seconds:
        misses.append(f"{wall:.2f} s > {targets.seconds:g} s")
    if targets.speedup is not None:
        if ratio is None:
            unknown.append("no PuLP + CBC time")
        elif ratio < targets.speedup:
            misses.append(f"{ratio:.1f}× < {targets.speedup:g}×")
    if targets.peak_mb is not None:
        if peak is None:
            unknown.append("no peak memory")
        elif peak >= targets.peak_mb:
            misses.append(f"{peak:.0f} MB ≥ {targets.peak_mb:.0f} MB")
    if targets.same_objective:
        if same is None:
            unknown.append("no objective to compare")
        elif not same:
            misses.append("objectives differ")
    if misses:
        return "**FAIL**: " + "; ".join(misses + unknown)
    return "not judged: " + "; ".join(unknown) if unknown else "pass"


def _shapes(results: dict[str, dict[str, dict[str, Any]]], time_limit: float) -> list[str]:
    """The summary table over every scale run, judged against issue 12's targets where they are set."""
    lines = ["## Shapes: the whole command against PuLP + CBC", "",
             ("Whole `allocator solve` = process start to files written (median of the runs; peak memory is the "
              "largest of the runs). The ratio is the well-formulated PuLP + CBC model's build+solve (medians, "
              "in its own process, on the already loaded problem: no file reading or writing) over the whole "
              "command's median time. Targets are issue 12's; the verdict judges the median."), "",
             ("| shape | cells | bound rows | whole command, median s | peak MB | ratio to PuLP + CBC "
              "build+solve | objective vs PuLP + CBC | target | verdict |"),
             "|---|---:|---:|---:|---:|---|---|---|---|"]
    for name, jobs in results.items():
        scale = SCALES[name]
        facts = next((j for j in jobs.values() if "cells" in j), {})
        cli = jobs.get("cli", {})
        ok = cli.get("status") == "ok"
        wall = _median(cli.get("wall", [])) if ok else None
        peak = cli.get("peak_mb") if ok else None
        ratio, ratio_text = _pulp_ratio(scale, jobs, wall, time_limit)
        same, objective_text = _objective_check(jobs)
        cells, bound_rows = facts.get("cells"), facts.get("bound_rows")
        lines.append(f"| `{name}` | {'?' if cells is None else f'{cells:,}'} "
                     f"| {'?' if bound_rows is None else f'{bound_rows:,}'} "
                     f"| {_fmt(wall, 2) if ok else cli.get('status', 'not run')} | {_fmt(peak, 0)} | {ratio_text} "
                     f"| {objective_text} | {scale.targets.describe() if scale.targets else '—'} "
                     f"| {_verdict(scale.targets, wall, peak, ratio, same)} |")
    return lines + [""]


def _ratios(jobs: dict[str, dict[str, Any]]) -> list[str]:
    def both(job: str) -> float | None:
        data = jobs.get(job, {})
        build, solve = _median(data.get("build", [])), _median(data.get("solve", []))
        return None if build is None or solve is None or data.get("status") != "optimal" else build + solve

    lines = []
    auto = both("auto")
    wf = both("well-formulated")
    if auto and wf:
        same = jobs["auto"].get("objective") == jobs["well-formulated"].get("objective")
        lines.append(f"- Auto build+solve is **{wf / auto:.0f}×** faster than the well-formulated PuLP + CBC "
                     f"model ({_seconds(wf)} s vs {_seconds(auto)} s); objectives "
                     f"{'identical' if same else 'DIFFER'}.")
    bare = _median(jobs.get("mcf-bare", {}).get("solve", []))
    if auto and bare:
        solve = _median(jobs["auto"]["solve"])
        lines.append(f"- Auto solve phase / bare `SimpleMinCostFlow.solve()` on its final network: "
                     f"**{solve / bare:.2f}×** ({_seconds(solve)} s vs {_seconds(bare)} s; the solve phase sums "
                     f"{jobs['auto'].get('rounds', '?')} window round(s)); build+solve / bare: {auto / bare:.2f}×.")
    plain = jobs.get("plain", {})
    if plain and plain.get("status") != "optimal":
        lines.append(f"- The plain PuLP model did not prove optimality: {plain.get('status')}.")
    elif auto and both("plain"):
        lines.append(f"- The plain PuLP model took {_seconds(both('plain'))} s, {both('plain') / auto:.0f}× auto.")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Command line: run the scales, or (``--child``) one job of one scale."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default=",".join(SCALES),
                        help=f"comma-separated, from {', '.join(SCALES)} (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--plain-time-limit", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the .json file of an earlier run")
    parser.add_argument("--only", default="",
                        help="comma-separated jobs to run on each scale (e.g. cli,sensitivity; default: all)")
    parser.add_argument("--child", nargs=2, metavar=("SCALE", "JOB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.report_only:
        saved = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        args.out.write_text(_report(saved["results"], saved["repeats"], saved["time_limit"],
                                    saved["plain_time_limit"], saved["machine"]), encoding="utf-8")
        return
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.repeats, args.time_limit)))
        return
    scales = [name.strip() for name in args.scales.split(",") if name.strip()]
    unknown = [name for name in scales if name not in SCALES]
    if unknown:
        parser.error(f"unknown scale(s) {', '.join(unknown)}; choose from {', '.join(SCALES)}")
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for scale in scales:
        SCALES[scale].instance()  # generate before timing anything
        results[scale] = {}
        only = {name.strip() for name in args.only.split(",") if name.strip()}
        for job in [job for job in JOBS[scale] if not only or job in only]:
            limit = args.plain_time_limit if job == "plain" else args.time_limit
            print(f"{scale}: {job} …", file=sys.stderr, flush=True)
            results[scale][job] = _run_child(scale, job, args.repeats, limit)
            print(f"  {json.dumps({k: v for k, v in results[scale][job].items() if k != 'files'})[:300]}",
                  file=sys.stderr, flush=True)
    machine = _machine()
    saved = {"results": results, "repeats": args.repeats, "time_limit": args.time_limit,
             "plain_time_limit": args.plain_time_limit, "machine": machine}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
    args.out.write_text(_report(results, args.repeats, args.time_limit, args.plain_time_limit, machine),
                        encoding="utf-8")
    print(f"Wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
