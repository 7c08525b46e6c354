"""Write a comparison of models as CSV, JSON and a Markdown memo."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.writers.language import MemoNumbers, translations
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


def _ratio(value: float | None, _: Callable[[str], str], n: MemoNumbers) -> str:
    return _("unbounded (an area gets 0)") if value is None else n.formatted(value, ".3f")


def comparison_markdown(comparison: Comparison, language: str = "en") -> str:
    """comparison.md: the models, their equity metrics, posts per area side by side, and the differences in words.

    ``language`` (``en`` or ``da``) picks the message catalogue and the notation of numbers, as summary.md's.
    """
    from allocator.reports.compare import explain, same_plans

    _ = translations(language).gettext
    n = MemoNumbers(language)
    instance = comparison.instance
    reference = comparison.reference.model.name
    names = [c.model.name for c in comparison.models]
    yardstick = comparison.need_yardstick
    out = ["# " + _("%(instance)s: %(count)s policies side by side")
           % {"instance": instance.name, "count": n.formatted(len(names), "d")}, ""]
    out.append(_("Every plan below is exact and verified against the instance. Deltas and the common cost are taken "
                 "against the first model, **%(reference)s**. Posts per need are measured with the need of "
                 "**%(yardstick)s** for every plan. The metrics are defined in docs/formats.md (Equity metrics).")
               % {"reference": reference, "yardstick": yardstick})
    out += ["", "## " + _("The policies"), ""]
    out += [f"- **{c.model.name}**: " + (c.model.description.strip() or _("(no description)"))
            for c in comparison.models]
    out += ["", "## " + _("Equity metrics"), "",
            "| " + " | ".join([_("model"), _("posts per 100k, max/min"), _("Gini of posts per 100k"),
                               _("posts per need (%(yardstick)s), max/min") % {"yardstick": yardstick},
                               _("share to under-served"), _("largest deviation from target"), _("own objective"),
                               _("objective under %(reference)s") % {"reference": reference}]) + " |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in comparison.models:
        m = c.metrics
        cell = f"{n.formatted(m.largest_deviation, '.2f')} ({instance.area_by_id[m.largest_deviation_cell[0]].label}"
        cell += f", {m.largest_deviation_cell[1]})" if len(instance.specialties) > 1 else ")"
        out.append(f"| {c.model.name} | {_ratio(m.per_100k_max_min, _, n)} | {n.formatted(m.per_100k_gini, '.4f')} | "
                   f"{_ratio(m.per_need_max_min, _, n)} | {n.formatted(m.underserved_share, '.1%')} | {cell} | "
                   f"{n.formatted(m.objective_own, '.4g')} | {n.formatted(m.objective_reference, '.4g')} |")
    leaves = instance.leaves
    shown = leaves[:MEMO_AREAS]
    out += ["", "## " + _("Posts per area (all specialties)"), "",
            "| " + _("area") + " | " + _("last year") + " | " + " | ".join(names) + " |",
            "|---|---:|" + "---:|" * len(names)]
    previous_by_leaf: dict[str, float] = {}
    for (leaf, _specialty), value in zip(comparison.cells, comparison.previous.tolist()):
        if not math.isnan(value):
            previous_by_leaf[leaf] = previous_by_leaf.get(leaf, 0.0) + value
    per_model = [comparison.leaf_posts(c) for c in comparison.models]
    # English keeps the notation of comparison.csv (format_number: empty when unknown); Danish writes 924,5.
    posts = format_number if language == "en" else n.posts
    for leaf in shown:
        flag = " ⚑" if instance.area_by_id[leaf].underserved else ""
        out.append(f"| {instance.area_by_id[leaf].label}{flag} | {posts(previous_by_leaf.get(leaf))} | "
                   + " | ".join(posts(by_leaf[leaf]) for by_leaf in per_model) + " |")
    if len(leaves) > len(shown):
        out.append("| " + _("… %(count)s more areas: see comparison.csv") % {"count": n.count(len(leaves) - len(shown))}
                   + " | | " + "| " * len(names))
    out += ["", _("⚑ = designated under-served."), "", "## " + _("What differs, and why"), ""]
    for c in comparison.models[1:]:
        lines = explain(comparison, c, _, n.formatted)
        out += lines[:1] + ([""] if len(lines) > 1 else []) + lines[1:MEMO_AREAS + 1] + [""]
    groups = same_plans(comparison)
    if groups:
        out += ["## " + _("Policies that give the same plan"), ""]
        for group in groups:
            held = sorted({f"{instance.area_by_id[row.area].label} ({', '.join(row.binding)})"
                           for c in comparison.models if c.model.name == group[0]
                           for row in c.plan.rows if row.binding})
            reason = (" " + _("Bounds hold %(held)s in this plan, so the policies' differences have no room to act.")
                      % {"held": ", ".join(held[:10])} if held else " " + _("Their targets round to the same posts."))
            out.append(f"- {', '.join(group)}.{reason}")
        out.append("")
    return "\n".join(out)


def write_comparison(out: Target, comparison: Comparison, language: str = "en") -> list[Path]:
    """Write comparison.csv, comparison.json and comparison.md (in ``language``) into ``out``."""
    return write_files(out, {
        "comparison.csv": lambda: comparison_csv(comparison),
        "comparison.json": lambda: comparison_json(comparison),
        "comparison.md": lambda: comparison_markdown(comparison, language),
    })
