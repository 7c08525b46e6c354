"""The files of ``allocator pareto``: pareto.csv, pareto.json, pareto.md, pareto.svg, and each point's plan."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import uuid
from pathlib import Path
from typing import Any

import polars as pl

from allocator.io.schemas import Instance
from allocator.reports.pareto import ParetoFront
from allocator.results.plan import Plan
from allocator.writers.charts import pareto_front
from allocator.writers.output import Target, publishing, write_files
from allocator.writers.plan import write_plan

#: What the x-axis measures, for the files' headings.
EQUITY_LABELS = {
    "equity": "equity cost (the model's objective without its stability term)",
    "shortfall": "weighted shortfall (sum of p * max(0, target - posts))",
    "ratio": "max/min ratio of posts per need over the leaf areas with need (compare's "
             "posts_per_need_max_min_ratio; empty when such an area gets no post)",
}


def _finite(value: float) -> float | None:
    """An infinite ratio as compare writes it: null."""
    return value if math.isfinite(value) else None


def pareto_frame(front: ParetoFront) -> pl.DataFrame:
    """One row per point: its number, both objectives, the ε that found it, and the weights that reach it."""
    points = front.points
    return pl.DataFrame({
        "point": [p.number for p in points],
        front.equity_metric: [_finite(p.equity) for p in points],
        "stability": [p.stability for p in points],
        "supported": [p.supported for p in points],
        "weight_min": [p.weight_min for p in points],
        "weight_max": [p.weight_max for p in points],
        "epsilon": [p.epsilon for p in points],
    }, schema={"point": pl.Int64, front.equity_metric: pl.Float64, "stability": pl.Float64,
               "supported": pl.Boolean, "weight_min": pl.Float64, "weight_max": pl.Float64, "epsilon": pl.Float64})


def pareto_json(front: ParetoFront) -> str:
    """pareto.json: the points with each plan's posts per cell."""
    unit = float(front.instance.unit)
    cells = front.instance.cells
    document: dict[str, Any] = {
        "instance": front.instance.name, "model": front.model.name, "x": front.equity_metric, "y": "stability",
        "path": front.path,
        "points": [{"point": p.number, front.equity_metric: _finite(p.equity), "stability": p.stability,
                    "supported": p.supported, "weight_min": p.weight_min, "weight_max": p.weight_max,
                    "epsilon": p.epsilon,
                    "posts": [{"area": a, "specialty": s, "posts": float(n) * unit}
                              for (a, s), n in zip(cells, p.units.tolist())]} for p in front.points],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def pareto_markdown(front: ParetoFront) -> str:
    """pareto.md: what the front is, how it was found, and each point with the settings that reach it."""
    weight = "stability.weight" if front.equity_metric == "equity" else "w"
    out = [f"# Equity against stability: {front.instance.name}, model {front.model.name}", "",
           f"x: {EQUITY_LABELS[front.equity_metric]}; y: disruption, the sum over cells of |posts - last year's "
           "posts|.", "",
           f"{len(front.points)} nondominated plans, found exactly by the ε-constraint method on the "
           f"{'min-cost flow' if front.path == 'flow' else 'MILP (SCIP, gap 0)'}: each is the plan of least "
           "x among those whose disruption is at most ε, and of least disruption among those.", "",
           f"A supported point minimises x + {weight} · disruption for every {weight} in its range. "
           "Any other point is reached only by capping the total disruption at its ε.", "",
           f"| point | {front.equity_metric} | disruption | reached by |", "|---:|---:|---:|---|"]
    for p in front.points:
        if p.supported:
            high = "∞" if p.weight_max is None else f"{p.weight_max:.6g}"
            how = f"{weight} in [{p.weight_min:.6g}, {high}]"
        else:
            how = f"no weight; total disruption ≤ {p.epsilon:g}"
        shown = f"{p.equity:.6g}" if math.isfinite(p.equity) else "∞ (an area with need gets no post)"
        out.append(f"| {p.number} | {shown} | {p.stability:g} | {how} |")
    return "\n".join(out) + "\n"


def write_pareto(front: ParetoFront, out: Target) -> list[Path]:
    """Write pareto.csv, pareto.json, pareto.md and pareto.svg into ``out``."""
    def csv() -> bytes:
        buffer = io.BytesIO()
        pareto_frame(front).write_csv(buffer)
        return buffer.getvalue()

    points = [p for p in front.points if math.isfinite(p.equity)]  # the chart has no place for an infinite ratio
    files = {
        "pareto.csv": csv,
        "pareto.json": lambda: pareto_json(front),
        "pareto.md": lambda: pareto_markdown(front),
        "pareto.svg": lambda: pareto_front([p.stability for p in points], [p.equity for p in points],
                                           [p.supported for p in points], "disruption (posts moved against last year)",
                                           front.equity_metric),
    }
    return write_files(out, files)


#: The hidden list, in a front's folder, of the ``point-N`` folders this command wrote there: the only
#: folders a later run into the folder may remove.
POINT_FOLDERS = ".pareto-points.json"
_POINT = re.compile(r"point-[1-9][0-9]*")


def _listed(out: Path) -> list[str]:
    """The point folders an earlier run listed (names of another shape, or an unreadable list, count as none)."""
    try:
        names = json.loads((out / POINT_FOLDERS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [name for name in names if isinstance(name, str) and _POINT.fullmatch(name)] \
        if isinstance(names, list) else []


def _list(out: Path, names: list[str]) -> None:
    temporary = out / f"{POINT_FOLDERS}.{uuid.uuid4().hex}.tmp"
    temporary.write_text(json.dumps(sorted(names)) + "\n", encoding="utf-8")
    os.replace(temporary, out / POINT_FOLDERS)


def write_point_plans(out: Path, instance: Instance, plans: list[tuple[int, Plan]]) -> list[Path]:
    """Each point's plan into ``out/point-N/`` (as ``solve`` writes a plan, without plan.xlsx), and the point
    folders of an earlier run that this one has not.

    ``plans`` pairs each point's number with its plan. A point folder that
    an earlier run wrote (listed in :data:`POINT_FOLDERS`) and this run does not loses the files of
    that run (:data:`~allocator.writers.output.RUN_FILES`), and goes when nothing else is left in it:
    a ``point-N`` folder the user made, or a file the user put in one, stays. The list is written
    before the folders (with the earlier run's names too), so a run killed midway leaves none unlisted.
    """
    earlier = _listed(out)
    names = [f"point-{number}" for number, _ in plans]
    _list(out, sorted(set(earlier) | set(names)))
    written: list[Path] = []
    for name, (_, plan) in zip(names, plans):
        with publishing(out / name, True) as target:
            written += write_plan(instance, plan, target, xlsx=False)
    for name in sorted(set(earlier) - set(names)):
        folder = out / name
        if folder.is_dir() and not folder.is_symlink():
            with publishing(folder, True):
                pass  # a run that writes nothing: the earlier run's files go, the user's stay
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
    _list(out, names)
    return written
