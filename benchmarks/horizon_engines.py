"""Which engine, and which HiGHS options, for which multi-year shape (issue 14, round 6); a measurement.

Usage::

    python -m benchmarks.horizon_engines --shapes 30x1,98x3,98x10,dk --seeds 0-4 --engines highs,scip --limit 30
    python -m benchmarks.horizon_engines --shapes 98x1 --seeds 0-4 --engines highs --limit 30 \\
        --option mip_heuristic_effort=0.3

Each solve runs in a fresh process, as ``allocator solve`` would: the instance is loaded, the myopic
plan solved and :func:`allocator.solvers.horizon.solve_highs` called with the time limit counted from
the build (search and pool box included). One JSON line per solve goes to stdout (and ``--out``):
status, plan, bound, gap, wall and CPU seconds of the solving process, the load average at its end.

Shapes are ``LEAVESxSPECIALTIES`` with optional ``tTOTAL`` (posts a year, default 350) and
``hLOW-HIGH`` (headcounts as shares of demand, default 0.75-1.15), e.g. ``200x1t714`` (generated, SYNTHETIC: :func:`benchmarks.horizon.horizon_instance`,
5 plan years, 12 outlook years, 5 training years; ``seed`` is the generator's seed) or ``dk`` (the
bundled Danish horizon instance; ``seed`` then only numbers the repeat). ``--option NAME=VALUE``
(repeatable) passes a HiGHS option by its name in HighsOptions.h; values parse as bool, int, float,
else string. ``--option-sets`` solves each seed under several such sets in turn, so that the sets of
one seed run close together in time, under about the same load.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.horizon import DK, _solve_once, horizon_instance, write_instance


def parse_value(text: str) -> bool | int | float | str:
    """``true``/``false`` as bool, then int, then float, else the text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_seeds(text: str) -> list[int]:
    """``0-4`` or ``0,2,5``."""
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(part) for part in text.split(",")]


def parse_shape(text: str) -> dict[str, Any]:
    """``98x1`` (leaves x specialties), optionally ``t714`` (posts a year) and ``h0.5-0.9`` (headcounts)."""
    match = re.fullmatch(r"(\d+)x(\d+)(?:t(\d+))?(?:h([\d.]+)-([\d.]+))?", text)
    if match is None:
        raise ValueError(f"shape '{text}' is not LEAVESxSPECIALTIES[tTOTAL][hLOW-HIGH]")
    shape: dict[str, Any] = {"leaves": int(match.group(1)), "specialties": int(match.group(2))}
    if match.group(3):
        shape["total"] = int(match.group(3))
    if match.group(4):
        shape["headcount"] = (float(match.group(4)), float(match.group(5)))
    return shape


def solve_in_process(path: Path, limit: float, engine: str, options: dict[str, Any],
                     reserve: bool = True) -> dict[str, Any]:
    """One solve of ``path`` in a fresh process (:func:`benchmarks.horizon._solve_once`), as the JSON line names
    its figures; ``reserve=False`` gives the solver the whole time left as its own limit (before round 6)."""
    done = _solve_once(path, limit, engine=engine, options=options, reserve=reserve)
    return {"status": done["status"], "plan": done["objective"], "bound": done["bound"], "gap": done["gap"],
            "wall_s": round(done["seconds"], 2), "cpu_s": round(done["cpu"], 2), "start": done["start"],
            "abandoned": done["abandoned"], "load": done["load"]}


def emit(row: dict[str, Any], out: Path | None) -> None:
    """Print ``row`` as one JSON line, and append it to ``out`` when given (a run stopped half way keeps its lines)."""
    line = json.dumps(row)
    print(line, flush=True)
    if out is not None:
        with out.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def main(argv: list[str] | None = None) -> None:
    """Print one JSON line per shape, seed and engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="98x1")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--engines", default="highs,scip")
    parser.add_argument("--limit", type=float, default=30.0)
    parser.add_argument("--option", action="append", default=[], help="a HiGHS option NAME=VALUE (repeatable)")
    parser.add_argument("--option-sets", default=None,
                        help="several sets of HiGHS options, each solved in turn per seed: sets split by ';', "
                             "options within a set by ',', 'base' for none (e.g. 'base;presolve=off')")
    parser.add_argument("--out", type=Path, default=None, help="also append the JSON lines to this file")
    parser.add_argument("--no-reserve", action="store_true",
                        help="the solver's own limit is the whole time left (no reserve before the guard's)")
    args = parser.parse_args(argv)
    sets = [args.option] if args.option_sets is None else [
        [] if text.strip() == "base" else text.split(",") for text in args.option_sets.split(";")]
    option_sets = [{name.strip(): parse_value(value.strip()) for name, value in (item.split("=", 1) for item in items)}
                   for items in sets]
    with tempfile.TemporaryDirectory() as folder:
        for shape in args.shapes.split(","):
            for seed in parse_seeds(args.seeds):
                if shape == "dk":
                    path = DK
                else:
                    path = write_instance(Path(folder) / f"{shape}-{seed}.yaml", horizon_instance(seed, **parse_shape(shape)))
                for options in option_sets:
                    for engine in args.engines.split(","):
                        row = {"shape": shape, "seed": seed, "engine": engine, "limit": args.limit,
                               "options": options, "reserve": not args.no_reserve,
                               **solve_in_process(path, args.limit, engine, options, not args.no_reserve)}
                        emit(row, args.out)


if __name__ == "__main__":
    main()
