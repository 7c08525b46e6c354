"""Write a comparison of models as CSV, JSON and a Markdown memo."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.writers.output import Target, write_files
from allocator.writers.text import MEMO_AREAS, csv_text, format_number

if TYPE_CHECKING:
    from allocator.reports.compare import Comparison


def comparison_csv(comparison: Comparison) -> str:
    """comparison.csv: one row per cell; per model its posts, the delta against the first model and against last year."""
    reference = comparison.reference.model.name
    header = ["area", "area_name", "specialty", "previous"]
    for compared in comparison.models:
        name = compared.model.name
        header += [f"{name}", f"{name}_target"]
        header += [f"{name}_vs_{reference}"] if compared is not comparison.reference else []
        header += [f"{name}_vs_previous"]
    rows = [header]
    first = comparison.reference.posts
    for c, (leaf, specialty) in enumerate(comparison.cells):
        previous = comparison.previous[c]
        known = not math.isnan(previous)
        row = [leaf, comparison.instance.area_by_id[leaf].label, specialty, format_number(previous if known else None)]
        for compared in comparison.models:
            posts = float(compared.posts[c])
            row += [format_number(posts), f"{compared.targets[c]:.4f}"]
            row += [format_number(posts - float(first[c]))] if compared is not comparison.reference else []
            row += [format_number(posts - previous if known else None)]
        rows.append(row)
    return csv_text(rows[0], list(zip(*rows[1:])) if len(rows) > 1 else [[] for _ in rows[0]], text={0, 1, 2})


def comparison_json(comparison: Comparison) -> str:
    """comparison.json (see docs/formats.md)."""
    from allocator.reports.compare import same_plans

    document = {
        "instance": comparison.instance.name,
        "reference": comparison.reference.model.name,
        "need_yardstick": comparison.need_yardstick,
        "models": [{"name": c.model.name, "description": c.model.description.strip(),
                    "solver": c.plan.metadata.get("solver"), "metrics": c.metrics.as_json()}
                   for c in comparison.models],
        "same_plans": same_plans(comparison),
        "cells": [{"area": leaf, "specialty": specialty,
                   "previous": None if math.isnan(comparison.previous[k]) else float(comparison.previous[k]),
                   "posts": {c.model.name: float(c.posts[k]) for c in comparison.models},
                   "target": {c.model.name: float(c.targets[k]) for c in comparison.models}}
                  for k, (leaf, specialty) in enumerate(comparison.cells)],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _ratio(value: float | None) -> str:
    return "unbounded (an area gets 0)" if value is None else f"{value:.3f}"


def comparison_markdown(comparison: Comparison) -> str:
    """comparison.md: the models, their equity metrics, posts per area side by side, and the differences in words."""
    from allocator.reports.compare import explain, same_plans

    instance = comparison.instance
    reference = comparison.reference.model.name
    names = [c.model.name for c in comparison.models]
    out = [f"# {instance.name}: {len(names)} policies side by side", ""]
    out.append(f"Every plan below is exact and verified against the instance. Deltas and the common cost are taken "
               f"against the first model, **{reference}**. Posts per need are measured with the need of "
               f"**{comparison.need_yardstick}** for every plan. The metrics are defined in docs/formats.md "
               "(Equity metrics).")
    out += ["", "## The policies", ""]
    out += [f"- **{c.model.name}**: {c.model.description.strip() or '(no description)'}" for c in comparison.models]
    out += ["", "## Equity metrics", "",
            f"| model | posts per 100k, max/min | Gini of posts per 100k | posts per need ({comparison.need_yardstick}), max/min "
            f"| share to under-served | largest deviation from target | own objective | objective under {reference} |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in comparison.models:
        m = c.metrics
        cell = f"{m.largest_deviation:.2f} ({instance.area_by_id[m.largest_deviation_cell[0]].label}"
        cell += f", {m.largest_deviation_cell[1]})" if len(instance.specialties) > 1 else ")"
        out.append(f"| {c.model.name} | {_ratio(m.per_100k_max_min)} | {m.per_100k_gini:.4f} | "
                   f"{_ratio(m.per_need_max_min)} | {m.underserved_share * 100:.1f}% | {cell} | "
                   f"{m.objective_own:.4g} | {m.objective_reference:.4g} |")
    leaves = instance.leaves
    shown = leaves[:MEMO_AREAS]
    out += ["", "## Posts per area (all specialties)", "",
            "| area | last year | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    previous_by_leaf: dict[str, float] = {}
    for (leaf, _), value in zip(comparison.cells, comparison.previous.tolist()):
        if not math.isnan(value):
            previous_by_leaf[leaf] = previous_by_leaf.get(leaf, 0.0) + value
    per_model = [comparison.leaf_posts(c) for c in comparison.models]
    for leaf in shown:
        flag = " ⚑" if instance.area_by_id[leaf].underserved else ""
        out.append(f"| {instance.area_by_id[leaf].label}{flag} | {format_number(previous_by_leaf.get(leaf))} | "
                   + " | ".join(format_number(posts[leaf]) for posts in per_model) + " |")
    if len(leaves) > len(shown):
        out.append(f"| … {len(leaves) - len(shown):,} more areas: see comparison.csv | | " + "| " * len(names))
    out += ["", "⚑ = designated under-served.", "", "## What differs, and why", ""]
    for c in comparison.models[1:]:
        lines = explain(comparison, c)
        out += lines[:1] + ([""] if len(lines) > 1 else []) + lines[1:MEMO_AREAS + 1] + [""]
    groups = same_plans(comparison)
    if groups:
        out += ["## Policies that give the same plan", ""]
        for group in groups:
            held = sorted({f"{instance.area_by_id[row.area].label} ({', '.join(row.binding)})"
                           for c in comparison.models if c.model.name == group[0]
                           for row in c.plan.rows if row.binding})
            reason = (f" Bounds hold {', '.join(held[:10])} in this plan, so the policies' differences have no room "
                      "to act." if held else " Their targets round to the same posts.")
            out.append(f"- {', '.join(group)}.{reason}")
        out.append("")
    return "\n".join(out)


def write_comparison(out: Target, comparison: Comparison) -> list[Path]:
    """Write comparison.csv, comparison.json and comparison.md into ``out``."""
    return write_files(out, {
        "comparison.csv": lambda: comparison_csv(comparison),
        "comparison.json": lambda: comparison_json(comparison),
        "comparison.md": lambda: comparison_markdown(comparison),
    })
