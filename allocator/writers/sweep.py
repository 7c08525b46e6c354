"""The files of a sweep: scenarios.csv, scenarios.parquet, cells.parquet (by scenario), sweep.md and sweep.json."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from allocator.io.schemas import HorizonInstance
from allocator.io.sweep import SweepSpec
from allocator.reports.sweep import HORIZON_METRICS, METRICS, horizon_columns, status_counts, sweep_summary


def scenario_columns(spec: SweepSpec, parents: Sequence[str], horizon: HorizonInstance | None = None) -> list[str]:
    """The columns of scenarios.csv, in order; ``seconds`` (wall time of the scenario) is the only timing one.

    A multi-year sweep (``horizon`` given) has the coverage figures and per-area coverage instead of
    the one-year equity metrics (docs/sweeps.md).
    """
    if horizon is not None:
        return (["scenario", "model", "draw", *(axis.field for axis in spec.axes), "status", "objective", "plan",
                 *HORIZON_METRICS, *horizon_columns(horizon, parents), "seconds", "error"])
    return (["scenario", "model", "draw", *(axis.field for axis in spec.axes), "status", "objective", "plan",
             *METRICS, *(f"posts.{p}" for p in parents), "seconds", "error"])


def scenarios_frame(spec: SweepSpec, parents: Sequence[str], rows: Sequence[dict[str, Any]],
                    horizon: HorizonInstance | None = None) -> pl.DataFrame:
    """One row per scenario, sorted by scenario number (every value typed, missing ones null)."""
    columns = scenario_columns(spec, parents, horizon)
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


def write_cells(folder: Path, cells: Sequence[tuple[str, str]], unit: float, plans: dict[int, np.ndarray],
                years: Sequence[int] | None = None) -> None:
    """cells.parquet as a folder partitioned by scenario: ``scenario=<n>/part-0.parquet`` (area, specialty, posts).

    Readers that know Hive partitions (polars ``scan_parquet(..., hive_partitioning=True)``, pyarrow,
    DuckDB, Spark) add the ``scenario`` column back. Scenarios without a plan have no partition.
    A multi-year sweep (``years``: the plan years; each plan is years x cells) has the columns
    area, specialty, year, posts, in the order of plan.csv: by cell (the instance's order), then year.
    """
    folder.mkdir(parents=True, exist_ok=True)
    write = cells_part_writer(cells, unit, years)
    for scenario in sorted(plans):
        part = folder / f"scenario={scenario}"
        part.mkdir()
        write(plans[scenario], part / "part-0.parquet")


def cells_part_writer(cells: Sequence[tuple[str, str]], unit: float,
                      years: Sequence[int] | None = None) -> Callable[[np.ndarray, Path], None]:
    """What writes one scenario's part of cells.parquet from its units (the key columns made once).

    A sweep's worker keeps one per sweep and writes each plan's part as it solves it. With ``years``
    (a multi-year sweep) the units are years x cells and the part has a ``year`` column, in the order
    of plan.csv: by cell, then year.
    """
    repeat = 1 if years is None else len(years)
    columns = [pl.Series("area", [leaf for leaf, _ in cells for _ in range(repeat)], dtype=pl.String),
               pl.Series("specialty", [s for _, s in cells for _ in range(repeat)], dtype=pl.String)]
    if years is not None:
        columns.append(pl.Series("year", [year for _ in cells for year in years], dtype=pl.Int64))

    def write(units: np.ndarray, path: Path) -> None:
        by_cell = units if years is None else units.T  # years x cells -> cells x years
        posts = pl.Series("posts", by_cell.reshape(-1).astype(float) * unit)
        pl.DataFrame([*columns, posts]).write_parquet(path, statistics=False)
    return write


def _range(span: list[float] | None) -> str:
    if span is None:
        return "–"
    low, high = span
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def _percent_range(span: list[float] | None) -> str:
    if span is None:
        return "–"
    low, high = (f"{100 * v:.1f} %" for v in span)
    return low if low == high else f"{low}–{high}"


def sweep_json(spec: SweepSpec, parents: Sequence[str], rows: Sequence[dict[str, Any]], instance_name: str,
               horizon: HorizonInstance | None = None) -> str:
    """sweep.json: what sweep.md shows, as numbers (read by ``allocator report`` for the HTML report)."""
    ordered = sorted(rows, key=lambda row: row["scenario"])
    document = {
        "kind": "sweep", "instance": instance_name, "instance_file": str(spec.instance),
        "multi_year": horizon is not None,
        "plan_years": horizon.plan_calendar_years if horizon is not None else None,
        "models": sorted({str(row["model"]) for row in ordered}), "combine": spec.combine,
        "draws": None if spec.draws is None else {"count": spec.draws.count, "noise": spec.draws.noise,
                                                  "seed": spec.draws.seed},
        "time_limit": spec.time_limit, "accept_gap": spec.accept_gap,
        "scenarios": len(ordered), "statuses": status_counts(ordered), "areas": list(parents),
        "axes": sweep_summary(spec.axes, spec.combine, parents, ordered, horizon),
        "failed": [{"scenario": row["scenario"], "error": row.get("error") or ""} for row in ordered
                   if row["status"] == "error"],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def sweep_markdown(spec: SweepSpec, parents: Sequence[str], rows: Sequence[dict[str, Any]],
                   instance_name: str, horizon: HorizonInstance | None = None) -> str:
    """sweep.md: per axis, each area's range of posts at each value, and the values where the plan changes.

    The figures are :func:`allocator.reports.sweep.sweep_summary`'s (ranges over the other axes,
    the models and the draws; changes between scenarios that differ in this axis alone).
    """
    ordered = sorted(rows, key=lambda row: row["scenario"])
    counts = status_counts(ordered)
    shown = ", ".join(f"{count} {'failed' if status == 'error' else status}" for status, count in counts.items())
    out = [f"# Sweep of {instance_name}", "",
           f"{len(ordered)} scenarios ({spec.combine} of {len(spec.axes)} axes, {len(spec.models)} models"
           + (f", {spec.draws.count} draws each with noise {spec.draws.noise:g}, seed {spec.draws.seed}"
              if spec.draws else "") + f"): {shown}. Every plan was verified before it was counted.", ""]
    if horizon is not None:
        years = horizon.plan_calendar_years
        out += [f"Multi-year: each scenario is planned over {years[0]}–{years[-1]} and projected to "
                f"{horizon.outlook_calendar_years[-1]} (as `allocator solve` does it"
                + (f", {spec.time_limit:g} s at most each" if spec.time_limit is not None else "")
                + (f", accepting a gap of {spec.accept_gap:g}" if spec.accept_gap is not None else "")
                + "). Posts are summed over the plan years.", ""]
    for part in sweep_summary(spec.axes, spec.combine, parents, ordered, horizon):
        out += [f"## {part['field']}", ""]
        if spec.combine == "zip":
            out += ["The axes are zipped: each column is one combination of every axis.", ""]
        values = part["values"]
        header = ["| area | " + " | ".join(f"{v:g}" for v in values) + " |", "|---|" + "---:|" * len(values)]
        out += header + [f"| {p} | " + " | ".join(_range(span) for span in part["posts"][p]) + " |" for p in parents]
        summed = " over the plan years" if horizon is not None else ""
        out += ["", f"Posts per area (summed to the parent of the leaves{summed}): the lowest and highest over the "
                "other axes, the models and the draws at each value.", ""]
        if horizon is not None:
            out += [f"Coverage (supply / demand) in {part['coverage_year']}:", ""] + header
            out += [f"| {p} | " + " | ".join(_percent_range(span) for span in part["coverage"][p]) + " |"
                    for p in parents]
            out += [""]
        if not part["changes"]:
            out += ["One value only: nothing to compare.", ""]
            continue
        out += ["Where the plan changes (scenarios that differ in this axis alone):", ""]
        for change in part["changes"]:
            mark = "**changes**" if change["changed"] else "stays the same"
            years_text = (f" (in {', '.join(map(str, change['years']))})" if change.get("years") else "")
            out.append(f"- from {change['from']:g} to {change['to']:g}: the plan {mark} in {change['changed']} of "
                       f"{change['comparable']} comparable scenarios{years_text}")
        out += [""]
    failed = [row for row in ordered if row["status"] == "error"]
    if failed:
        out += ["## Failed scenarios", "", "Rerun the sweep into the same folder to try them again.", ""]
        out += [f"- scenario {row['scenario']}: {row.get('error') or ''}" for row in failed] + [""]
    return "\n".join(out)
