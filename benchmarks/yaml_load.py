"""Does refusing duplicate YAML keys make large instances slower to load?

Usage::

    python -m benchmarks.yaml_load [--repeats 5] [--out benchmarks/yaml_load_results.md]

Every YAML file is read by ``allocator.io.documents``, which checks each mapping for a repeated key
while it indexes the lines of the parsed nodes. This script loads the same files with the check and
without it (``documents._REFUSE_DUPLICATE_KEYS`` off: the loader as it was before), alternating the
two, and reports the median wall and CPU seconds of ``repeats`` loads of each:

- instances/dk-2019-almen-medicin-kommuner (REAL; a short YAML file with CSV tables, one year);
- instances/dk-2021-almen-medicin-horizon (the bundled multi-year instance);
- a SYNTHETIC 98 x 40 horizon (98 leaves, 40 specialties, 5 plan years, 12 outlook years), made by
  ``benchmarks.horizon.horizon_instance(1, specialties=40)`` and written as one YAML file.

Two figures per file: ``read_document`` alone (parsing, where the check runs) and the whole load
(``load_instance`` or ``load_horizon_instance``: parsing, validation and resolution).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from allocator.io import documents
from allocator.io.documents import read_document
from allocator.io.horizon import load_horizon_instance
from allocator.io.loading import load_instance
from benchmarks.horizon import horizon_instance, write_instance

ROOT = Path(__file__).resolve().parent.parent
STRICT, PLAIN = True, False


def _time(call: Callable[[], Any], check: bool, repeats: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    documents._REFUSE_DUPLICATE_KEYS = check  # read by _parse_yaml at call time
    try:
        for _ in range(repeats):
            started, cpu = time.perf_counter(), time.process_time()
            call()
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
    finally:
        documents._REFUSE_DUPLICATE_KEYS = True
    return walls, cpus


def measure(path: Path, horizon: bool, repeats: int) -> list[dict[str, Any]]:
    """Median wall and CPU seconds of parsing and of the whole load of ``path``, plain and strict."""
    load = load_horizon_instance if horizon else load_instance
    rows = []
    for what, call in (("read_document", lambda: read_document(path)), ("whole load", lambda: load(path))):
        timings: dict[str, tuple[list[float], list[float]]] = {"plain": ([], []), "strict": ([], [])}
        call()  # warm the imports and the file cache once, outside the figures
        for _ in range(repeats):  # alternate, so a change of load on the machine hits both alike
            for name, check in (("plain", PLAIN), ("strict", STRICT)):
                walls, cpus = _time(call, check, 1)
                timings[name][0].extend(walls)
                timings[name][1].extend(cpus)
        rows.append({"file": path, "what": what, "bytes": path.stat().st_size,
                     **{f"{name}_{kind}": statistics.median(values[index])
                        for name, values in timings.items() for index, kind in ((0, "wall"), (1, "cpu"))}})
    return rows


def main() -> None:
    """Measure and write the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "yaml_load_results.md")
    args = parser.parse_args()
    load_start = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        wide = write_instance(Path(folder) / "gen98x40.yaml", horizon_instance(1, specialties=40))
        cases = [(ROOT / "instances/dk-2019-almen-medicin-kommuner/instance.yaml", False, "dk-2019-almen-medicin-kommuner"),
                 (ROOT / "instances/dk-2021-almen-medicin-horizon/instance.yaml", True, "dk-2021-almen-medicin-horizon"),
                 (wide, True, "98 x 40 horizon (SYNTHETIC)")]
        for path, horizon, label in cases:
            for row in measure(path, horizon, args.repeats):
                rows.append({**row, "label": label})
    load_end = os.getloadavg()
    lines = [
        "| file | bytes | step | plain wall s | strict wall s | strict/plain wall | plain CPU s | strict CPU s |"
        " strict/plain CPU |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(f"| {row['label']} | {row['bytes']:,} | {row['what']} | {row['plain_wall']:.4f} | "
                     f"{row['strict_wall']:.4f} | {row['strict_wall'] / row['plain_wall']:.3f} | "
                     f"{row['plain_cpu']:.4f} | {row['strict_cpu']:.4f} | {row['strict_cpu'] / row['plain_cpu']:.3f} |")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join([
        "# Loading YAML with the duplicate-key check",
        "",
        f"`python -m benchmarks.yaml_load --repeats {args.repeats}` ({stamp}, under `nice -n 19`; load average "
        f"{load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end). Median of {args.repeats} of each, the "
        "loader without the duplicate-key check (plain, as before) and with it (strict) alternating in one process.",
        "",
        *lines,
        "",
    ])
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
