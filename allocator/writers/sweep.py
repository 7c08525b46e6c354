"""The files of a sweep: scenarios.csv, scenarios.parquet, cells.parquet (by scenario) and sweep.md."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from allocator.io.sweep import SweepSpec
from allocator.reports.sweep import METRICS


def scenario_columns(spec: SweepSpec, parents: Sequence[str]) -> list[str]:
    """The columns of scenarios.csv, in order; ``seconds`` (wall time of the scenario) is the only timing one."""
    return (["scenario", "model", "draw", *(axis.field for axis in spec.axes), "status", "objective", "plan",
             *METRICS, *(f"posts.{p}" for p in parents), "seconds", "error"])


def scenarios_frame(spec: SweepSpec, parents: Sequence[str], rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """One row per scenario, sorted by scenario number (every value typed, missing ones null)."""
    columns = scenario_columns(spec, parents)
    kinds: dict[str, Any] = {name: pl.Float64 for name in columns}
    kinds.update(scenario=pl.Int64, draw=pl.Int64, model=pl.String, status=pl.String, plan=pl.String,
                 error=pl.String)
    ordered = sorted(rows, key=lambda row: row["scenario"])
    data = {name: [row.get(name) for row in ordered] for name in columns}
    return pl.DataFrame(data, schema=kinds)


def scenarios_csv(frame: pl.DataFrame) -> bytes:
    """scenarios.csv: floats as polars writes them (shortest text that reads back equal)."""
    return frame.write_csv().encode("utf-8")


def scenarios_parquet(frame: pl.DataFrame) -> bytes:
    """scenarios.parquet, the same table typed."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, statistics=False)
    return buffer.getvalue()


def write_cells(folder: Path, cells: Sequence[tuple[str, str]], unit: float, plans: dict[int, np.ndarray]) -> None:
    """cells.parquet as a folder partitioned by scenario: ``scenario=<n>/part-0.parquet`` (area, specialty, posts).

    Readers that know Hive partitions (polars ``scan_parquet(..., hive_partitioning=True)``, pyarrow,
    DuckDB, Spark) add the ``scenario`` column back. Scenarios without a plan have no partition.
    """
    folder.mkdir(parents=True, exist_ok=True)
    write = cells_part_writer(cells, unit)
    for scenario in sorted(plans):
        part = folder / f"scenario={scenario}"
        part.mkdir()
        write(plans[scenario], part / "part-0.parquet")


def cells_part_writer(cells: Sequence[tuple[str, str]], unit: float) -> Callable[[np.ndarray, Path], None]:
    """What writes one scenario's part of cells.parquet from its units (the area and specialty columns made once).

    A sweep's worker keeps one per sweep and writes each plan's part as it solves it.
    """
    areas = pl.Series("area", [leaf for leaf, _ in cells], dtype=pl.String)
    specialties = pl.Series("specialty", [s for _, s in cells], dtype=pl.String)

    def write(units: np.ndarray, path: Path) -> None:
        frame = pl.DataFrame([areas, specialties, pl.Series("posts", units.astype(float) * unit)])
        frame.write_parquet(path, statistics=False)
    return write


def _range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def sweep_markdown(spec: SweepSpec, parents: Sequence[str], rows: Sequence[dict[str, Any]],
                   instance_name: str) -> str:
    """sweep.md: per axis, each area's range of posts at each value, and the values where the plan changes.

    "The plan changes" compares scenarios that differ only in this axis (same model, same value of
    every other axis, same draw), between consecutive values of the axis as the spec lists them.
    """
    ordered = sorted(rows, key=lambda row: row["scenario"])
    counts = {status: sum(1 for row in ordered if row["status"] == status)
              for status in ("optimal", "infeasible", "error")}
    out = [f"# Sweep of {instance_name}", "",
           f"{len(ordered)} scenarios ({spec.combine} of {len(spec.axes)} axes, {len(spec.models)} models"
           + (f", {spec.draws.count} draws each with noise {spec.draws.noise:g}, seed {spec.draws.seed}"
              if spec.draws else "") + f"): {counts['optimal']} optimal, {counts['infeasible']} infeasible, "
           f"{counts['error']} failed. Every plan was verified before it was counted.", ""]
    solved = [row for row in ordered if row["status"] == "optimal"]
    for i, axis in enumerate(spec.axes):
        out += [f"## {axis.field}", ""]
        if spec.combine == "zip":
            out += ["The axes are zipped: each column is one combination of every axis.", ""]
        values = list(axis.values)
        out += ["| area | " + " | ".join(f"{v:g}" for v in values) + " |", "|---|" + "---:|" * len(values)]
        for parent in parents:
            cells = []
            for value in values:
                posts = [row[f"posts.{parent}"] for row in solved if row[axis.field] == value]
                cells.append(_range(posts) if posts else "–")
            out.append(f"| {parent} | " + " | ".join(cells) + " |")
        out += ["", "Posts per area (summed to the parent of the leaves): the lowest and highest over the "
                "other axes, the models and the draws at each value.", ""]
        out += _changes(spec, i, ordered) + [""]
    failed = [row for row in ordered if row["status"] == "error"]
    if failed:
        out += ["## Failed scenarios", "", "Rerun the sweep into the same folder to try them again.", ""]
        out += [f"- scenario {row['scenario']}: {row.get('error') or ''}" for row in failed] + [""]
    return "\n".join(out)


def _changes(spec: SweepSpec, index: int, rows: Sequence[dict[str, Any]]) -> list[str]:
    axis = spec.axes[index]
    others = [a.field for k, a in enumerate(spec.axes) if k != index]
    groups: dict[tuple[Any, ...], dict[float, dict[str, Any]]] = {}
    for row in rows:
        key = (row["model"], row["draw"], *(() if spec.combine == "zip" else tuple(row[f] for f in others)))
        groups.setdefault(key, {})[row[axis.field]] = row
    lines = []
    for a, b in zip(axis.values, axis.values[1:]):
        pairs = [(group[a], group[b]) for group in groups.values() if a in group and b in group]
        changed = sum(1 for x, y in pairs if x.get("plan") != y.get("plan") or x["status"] != y["status"])
        mark = "**changes**" if changed else "stays the same"
        lines.append(f"- from {a:g} to {b:g}: the plan {mark} in {changed} of {len(pairs)} comparable scenarios")
    if not lines:
        return ["One value only: nothing to compare."]
    return ["Where the plan changes (scenarios that differ in this axis alone):", "", *lines]

