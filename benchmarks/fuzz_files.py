"""Fuzz ``allocator solve`` with thousands of hostile XLSX and CSV inputs, and report how each kind ended.

Kinds (tests/hostile.py, ``FUZZ_KINDS``): zip bombs (in the sheet or in the
shared strings, 1 MiB to 1 GiB unpacked), random ``<dimension>`` claims and
far rows, formulas with and without saved values, shared strings (out of
range, truncated, huge), malformed XML (truncation, stray markup, entity
expansion, external entities, deep nesting, missing parts, damaged zips) and
mutated CSV. Each input runs ``allocator solve`` in a child forked from this
process (so the child's peak memory includes this parent's, about 100 MB),
with a 10 s budget. The contract: no ``internal error``, no run over 10 s,
none over 1 GB.

    python -m benchmarks.fuzz_files [--count 2000] [--jobs 2] [--out benchmarks/fuzz_results.md]
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from tests.hostile import FUZZ_KINDS, fuzz_case

BUDGET_SECONDS = 10.0
BUDGET_BYTES = 1 << 30


def _child(argv: list[str], stderr_path: Path) -> None:
    """Run the command in this forked child and leave with its exit code."""
    code = 1
    try:
        fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 2)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        sys.argv = ["allocator", *argv]
        from allocator.__main__ import run

        try:
            run()
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
    finally:
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/fuzz_results.md"))
    parser.add_argument("--only", nargs="*", default=None, metavar="KIND:SEED",
                        help="run just these cases (e.g. the slow ones of an earlier run)")
    options = parser.parse_args()
    import allocator.cli  # noqa: F401  (imported once here, so that each child starts warm)

    root = Path(tempfile.mkdtemp(prefix="allocator-fuzz-"))
    results: list[dict[str, object]] = []
    running: dict[int, tuple[str, int, float, Path, Path]] = {}
    cases = [(FUZZ_KINDS[i % len(FUZZ_KINDS)], i // len(FUZZ_KINDS)) for i in range(options.count)]
    if options.only is not None:
        cases = [(kind, int(seed)) for kind, seed in (case.split(":") for case in options.only)]
    started = time.perf_counter()
    while cases or running:
        while cases and len(running) < options.jobs:
            kind, seed = cases.pop(0)
            folder = root / f"{kind}-{seed}"
            argv = fuzz_case(kind, seed, folder)
            stderr_path = folder / "stderr.txt"
            pid = os.fork()
            if pid == 0:
                _child(argv, stderr_path)
            running[pid] = (kind, seed, time.perf_counter(), folder, stderr_path)
        time.sleep(0.002)
        for pid, (kind, seed, begun, folder, stderr_path) in list(running.items()):
            waited, status, usage = os.wait4(pid, os.WNOHANG)
            elapsed = time.perf_counter() - begun
            if waited == 0:
                if elapsed > 3 * BUDGET_SECONDS:
                    os.kill(pid, signal.SIGKILL)
                continue
            del running[pid]
            message = stderr_path.read_text(encoding="utf-8", errors="replace").strip()
            code = os.waitstatus_to_exitcode(status)
            results.append({"kind": kind, "seed": seed, "code": code, "seconds": elapsed,
                            "cpu": usage.ru_utime + usage.ru_stime,
                            "rss": usage.ru_maxrss * 1024, "internal": "internal error" in message,
                            "message": message.splitlines()[-1][:200] if message else ""})
            shutil.rmtree(folder, ignore_errors=True)
    total = time.perf_counter() - started
    shutil.rmtree(root, ignore_errors=True)
    _report(results, total, options)


def _report(results: list[dict[str, object]], total: float, options: argparse.Namespace) -> None:
    load = os.getloadavg()[0]
    command = f"--only {' '.join(options.only)}" if options.only is not None else f"--count {options.count}"
    lines = ["# Fuzzing hostile XLSX and CSV inputs", "",
             f"`python -m benchmarks.fuzz_files {command} --jobs {options.jobs}`: "
             f"{len(results):,} inputs in {total:.0f} s (load average {load:.1f} on {os.cpu_count()} cores at the "
             "end). Each ran `allocator solve` in a forked child (its peak memory includes the parent's, "
             f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB). Time is judged as CPU time "
             "(user + system) of the child: wall time on a shared machine also counts waiting for a core.",
             "", "| kind | inputs | exit 0 | exit 2 | exit 3 | other exits | internal errors | most CPU s | "
             "slowest wall s | peak MB |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    failures = []
    slow_walls: list[str] = []
    for kind in FUZZ_KINDS:
        rows = [row for row in results if row["kind"] == kind]
        codes = collections.Counter(row["code"] for row in rows)
        other = sum(count for code, count in codes.items() if code not in (0, 2, 3))
        internal = sum(bool(row["internal"]) for row in rows)
        slowest = max((float(row["seconds"]) for row in rows), default=0.0)
        busiest = max((float(row["cpu"]) for row in rows), default=0.0)
        peak = max((int(row["rss"]) for row in rows), default=0)
        lines.append(f"| {kind} | {len(rows)} | {codes[0]} | {codes[2]} | {codes[3]} | {other} | {internal} | "
                     f"{busiest:.2f} | {slowest:.2f} | {peak / 2**20:.0f} |")
        failures += [row for row in rows if row["internal"] or row["code"] not in (0, 2, 3)
                     or float(row["cpu"]) > BUDGET_SECONDS or int(row["rss"]) > BUDGET_BYTES]
        slow_walls += [f"{kind}:{row['seed']}" for row in rows if float(row["seconds"]) > BUDGET_SECONDS]
    lines += ["", f"Over budget or failed (internal error, exit other than 0/2/3, over {BUDGET_SECONDS:g} s of CPU, "
              f"or over {BUDGET_BYTES >> 20} MB): {len(failures)}.", ""]
    for row in failures[:20]:
        lines.append(f"- {row['kind']} seed {row['seed']}: exit {row['code']}, {float(row['cpu']):.2f} s CPU, "
                     f"{float(row['seconds']):.2f} s wall, {int(row['rss']) >> 20} MB: {row['message']}")
    if slow_walls:
        lines += ["", f"Over {BUDGET_SECONDS:g} s of wall time (rerun them alone with `--only`): "
                  + " ".join(slow_walls)]
    messages = collections.Counter(str(row["message"]).split(": ", 2)[-1][:90] for row in results if row["code"] == 2)
    lines += ["", "The commonest exit-2 messages (file name cut):", ""]
    lines += [f"- {count} × {text}" for text, count in messages.most_common(12)]
    text = "\n".join(lines) + "\n"
    options.out.write_text(text, encoding="utf-8")
    print(text)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
