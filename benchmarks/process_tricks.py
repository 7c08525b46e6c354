"""Does switching off the cyclic garbage collector, or ending with ``os._exit``, still pay?

Earlier versions of the command did both: ``gc.disable()`` before the
libraries were imported, and ``os._exit`` once the files were written,
instead of freeing the instance and plan object by object. Issue 12 removed
them unless one still saves more than 10% of the whole command. This script
times the whole ``allocator solve`` as shipped against the same command with
each trick put back, runs alternating so that the machine's drift hits every
variant alike, and writes ``benchmarks/process_tricks.md``.

Usage::

    python -m benchmarks.process_tricks                 # grid-capped and national-large, 5 runs each
    python -m benchmarks.process_tricks --scales dk --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scales import MODEL, ROOT, SCALES

#: Each variant runs the same command; only what happens around ``cli.main()`` differs.
VARIANTS = {
    "as shipped": "",
    "gc.disable()": "import gc; gc.disable()",
    "os._exit": "EXIT",
    "both": "import gc; gc.disable()\nEXIT",
}

_TEMPLATE = """
import os, sys
{before}
sys.argv = ["allocator", *sys.argv[1:]]
from allocator import cli
code = 0
try:
    cli.main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
{after}
"""


def _program(variant: str) -> str:
    setup = VARIANTS[variant]
    before = "\n".join(line for line in setup.splitlines() if line != "EXIT")
    after = "sys.stdout.flush(); sys.stderr.flush(); os._exit(code)" if "EXIT" in setup else "sys.exit(code)"
    return _TEMPLATE.format(before=before, after=after)


def main() -> None:
    """Time every variant on the chosen scales and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="grid-capped,national-large")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "process_tricks.md")
    args = parser.parse_args()
    lines = ["# The cyclic collector and os._exit, measured", "",
             f"Written by `python -m benchmarks.process_tricks --scales {args.scales} --repeats {args.repeats}`. "
             "Whole `allocator solve` (model `benchmarks/models/bench.yaml`, `--quiet`, no workbook), "
             "variants run alternating; medians of the wall times, and each variant's median over the "
             "shipped command's.", "",
             "| scale | variant | runs (s) | median (s) | ratio to as shipped |", "|---|---|---|---:|---:|"]
    for name in args.scales.split(","):
        instance = SCALES[name].instance()
        times: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        with tempfile.TemporaryDirectory() as folder:
            for _ in range(args.repeats):
                for variant in VARIANTS:
                    command = [sys.executable, "-c", _program(variant), "solve", str(instance), "--model",
                               str(MODEL), "--out", str(Path(folder) / "plan"), "--force", "--quiet", "--no-xlsx"]
                    started = time.perf_counter()
                    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
                    times[variant].append(time.perf_counter() - started)
        shipped = statistics.median(times["as shipped"])
        for variant, runs in times.items():
            median = statistics.median(runs)
            lines.append(f"| {name} | {variant} | {', '.join(f'{t:.2f}' for t in runs)} | {median:.2f} "
                         f"| {median / shipped:.3f} |")
            print(f"{name:15} {variant:14} median {median:.3f} s  ratio {median / shipped:.3f}")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
