"""The files of ``allocator pareto``: pareto.csv, pareto.json, pareto.md, pareto.svg, and each point's plan."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import polars as pl

from allocator.reports.pareto import ParetoFront
from allocator.writers.charts import pareto_front
from allocator.writers.output import Target, write_files

#: What the x-axis measures, for the files' headings.
EQUITY_LABELS = {
    "equity": "equity cost (the model's objective without its stability term)",
    "shortfall": "weighted shortfall (sum of p * max(0, target - posts))",
}


def pareto_frame(front: ParetoFront) -> pl.DataFrame:
    """One row per point: its number, both objectives, the ε that found it, and the weights that reach it."""
    points = front.points
    return pl.DataFrame({
        "point": [p.number for p in points],
        front.equity_metric: [p.equity for p in points],
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
        "points": [{"point": p.number, front.equity_metric: p.equity, "stability": p.stability,
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
        out.append(f"| {p.number} | {p.equity:.6g} | {p.stability:g} | {how} |")
    return "\n".join(out) + "\n"


def write_pareto(front: ParetoFront, out: Target) -> list[Path]:
    """Write pareto.csv, pareto.json, pareto.md and pareto.svg into ``out``."""
    def csv() -> bytes:
        buffer = io.BytesIO()
        pareto_frame(front).write_csv(buffer)
        return buffer.getvalue()

    points = front.points
    files = {
        "pareto.csv": csv,
        "pareto.json": lambda: pareto_json(front),
        "pareto.md": lambda: pareto_markdown(front),
        "pareto.svg": lambda: pareto_front([p.stability for p in points], [p.equity for p in points],
                                           [p.supported for p in points], "disruption (posts moved against last year)",
                                           front.equity_metric),
    }
    return write_files(out, files)
