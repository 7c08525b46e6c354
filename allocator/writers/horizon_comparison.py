"""Write a comparison of models on a multi-year instance: comparison.csv, comparison.json and comparison.md."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.writers.output import Target, write_files
from allocator.writers.text import MEMO_AREAS, csv_text, format_number

if TYPE_CHECKING:
    from allocator.reports.horizon_compare import HorizonCompared, HorizonComparison

#: ``kind`` in a multi-year comparison.json; a one-year comparison.json has none.
HORIZON_COMPARISON_KIND = "multi-year"


def _full(value: float | None) -> str:
    """Full precision (the shortest text that reads back as the same float); empty when unknown or infinite."""
    return repr(float(value)) if value is not None and math.isfinite(value) else ""


def _percent(value: float | None) -> str:
    return f"{100 * value:.1f}%" if value is not None and math.isfinite(value) else "–"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def horizon_comparison_csv(comparison: HorizonComparison) -> str:
    """comparison.csv: one row per leaf, specialty and outlook year; per model the posts (plan years only),
    the posts' delta against the first model, the coverage and the shortfall (full precision)."""
    reference = comparison.reference.model.name
    header = ["area", "area_name", "specialty", "year"]
    for compared in comparison.models:
        name = compared.model.name
        header += [name] + ([f"{name}_vs_{reference}"] if compared is not comparison.reference else [])
        header += [f"{name}_coverage", f"{name}_shortfall"]
    posts = [c.plan.posts() for c in comparison.models]
    rows_by = [c.plan.projection.by_cell() for c in comparison.models]
    instance = comparison.horizon.instance
    rows = []
    for key in sorted(rows_by[0], key=lambda k: (instance.leaves.index(k[0]), k[1], k[2])):
        leaf, specialty, year = key
        row = [leaf, instance.area_by_id[leaf].label, specialty, str(year)]
        for m, compared in enumerate(comparison.models):
            value = posts[m].get(key)
            row.append(format_number(value))
            if compared is not comparison.reference:
                base = posts[0].get(key)
                row.append(format_number(None if value is None or base is None else value - base))
            projected = rows_by[m][key]
            row += [_full(projected.coverage), _full(projected.shortfall)]
        rows.append(row)
    return csv_text(header, list(zip(*rows)) if rows else [[] for _ in header], text={0, 1, 2})


def horizon_comparison_json(comparison: HorizonComparison) -> str:
    """comparison.json of a multi-year comparison (``kind: multi-year``; see docs/formats.md)."""
    first, last_plan, last = comparison.years
    posts = [c.plan.posts() for c in comparison.models]
    rows_by = [c.plan.projection.by_cell() for c in comparison.models]
    names = [c.model.name for c in comparison.models]
    document = {
        "kind": HORIZON_COMPARISON_KIND,
        "instance": comparison.horizon.name,
        "reference": comparison.reference.model.name,
        "years": {"first": first, "last_plan": last_plan, "last_outlook": last},
        "models": [{"name": c.model.name, "description": c.model.description.strip(),
                    "coverage_weight": float(c.model.coverage_weight),
                    "solver": c.plan.metadata.get("solver"), "metrics": c.metrics.as_json()}
                   for c in comparison.models],
        "cells": [{"area": leaf, "specialty": specialty, "year": year,
                   "demand": rows_by[0][(leaf, specialty, year)].demand,
                   "posts": {name: posts[m].get((leaf, specialty, year)) for m, name in enumerate(names)},
                   "supply": {name: rows_by[m][(leaf, specialty, year)].supply for m, name in enumerate(names)},
                   "coverage": {name: _finite(rows_by[m][(leaf, specialty, year)].coverage)
                                for m, name in enumerate(names)}}
                  for (leaf, specialty, year) in sorted(rows_by[0])],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _explain(comparison: HorizonComparison, compared: HorizonCompared) -> list[str]:
    """The differences of one model against the first, in words: the headline, then each area whose year of
    reaching its target moves."""
    reference = comparison.reference
    mine, theirs = compared.metrics, reference.metrics
    name, other = compared.model.name, reference.model.name
    difference = mine.inhabitant_years_without - theirs.inhabitant_years_without
    relative = difference / theirs.inhabitant_years_without if theirs.inhabitant_years_without > 0 else 0.0
    fewer = "fewer" if difference < 0 else "more"
    lines = [f"- **{name}** against **{other}**: {abs(difference):,.0f} {fewer} inhabitant-years without a "
             f"specialist ({relative:+.2%}); posts moved from year to year: {format_number(mine.moved)} against "
             f"{format_number(theirs.moved)}."]
    instance = comparison.horizon.instance
    last = comparison.years[2]
    for leaf in instance.leaves:
        for specialty in instance.specialty_ids:
            before, after = reference.reached(leaf, specialty), compared.reached(leaf, specialty)
            if before == after or (leaf, specialty) not in compared.coverage:
                continue
            what = "earlier" if (after is not None and (before is None or after < before)) else "later"
            suffix = f", {specialty}" if len(instance.specialties) > 1 else ""
            lines.append(f"  - {instance.area_by_id[leaf].label}{suffix} reaches its target {what}: "
                         f"{after if after is not None else 'not by ' + str(last)} (under {other}: "
                         f"{before if before is not None else 'not by ' + str(last)}).")
    return lines


def horizon_comparison_markdown(comparison: HorizonComparison) -> str:
    """comparison.md: the models' coverage and disruption over the horizon, per training region, the year each
    area reaches its target, and the differences in words."""
    horizon = comparison.horizon
    instance = horizon.instance
    first, last_plan, last = comparison.years
    names = [c.model.name for c in comparison.models]
    reference = comparison.reference.model.name
    specialties = instance.specialty_ids
    several = len(specialties) > 1
    out = [f"# {horizon.name}: {len(names)} policies over {first}–{last}", "",
           f"Each policy is planned over the plan years {first}–{last_plan} as one integer program and projected to "
           f"{last}; every plan is verified by the independent stock-and-flow simulator. Coverage is supply / "
           "demand. An area reaches its target in the first year from which its coverage stays at 100 % or more "
           f"to {last}. Deltas are against the first model, **{reference}**.", "", "## The policies", ""]
    out += [f"- **{c.model.name}** (coverage weight {float(c.model.coverage_weight):g}): "
            f"{c.model.description.strip() or '(no description)'}" for c in comparison.models]
    out += ["", "## Coverage and disruption", ""]
    for specialty in specialties:
        if several:
            out += [f"### {specialty}", ""]
        out += [f"| model | status | inhabitant-years without a specialist | myopic plan | coverage {first} | "
                f"coverage {last_plan} | coverage {last} | lowest area {last} | areas reaching the target | "
                "last to reach it | posts moved | objective |",
                "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
        for c in comparison.models:
            m = c.metrics
            low = m.lowest_last.get(specialty)
            lowest = f"{instance.area_by_id[low[0]].label} ({_percent(low[1])})" if low else "–"
            myopic = f"{m.myopic_inhabitant_years_without:,.0f}" if m.myopic_inhabitant_years_without is not None \
                else "–"
            out.append(f"| {c.model.name} | {m.status} | {m.inhabitant_years_without:,.0f} | {myopic} | "
                       f"{_percent(m.coverage_first.get(specialty))} | {_percent(m.coverage_last_plan.get(specialty))}"
                       f" | {_percent(m.coverage_last.get(specialty))} | {lowest} | {m.reached} of {m.leaves} | "
                       f"{m.last_reached if m.last_reached is not None else '–'} | {format_number(m.moved)} | "
                       f"{m.objective:.6g} |")
        out.append("")
    out += ["Inhabitant-years and the counts of areas are over all specialties; posts moved is Σ |posts − the year "
            "before's posts| over the plan years (the first against last year's posts).", ""]
    roots = [area.id for area in instance.areas if area.parent is None]
    out += ["## Coverage per training region", "",
            "| region | " + ("specialty | " if several else "") + " | ".join(
                f"{name} {year}" for name in names for year in (last_plan, last)) + " |",
            "|---|" + ("---|" if several else "") + "---:|" * (2 * len(names))]
    for root in roots:
        for specialty in specialties:
            if (root, specialty) not in comparison.reference.coverage:
                continue
            out.append(f"| {instance.area_by_id[root].label} | " + (f"{specialty} | " if several else "")
                       + " | ".join(_percent(c.coverage.get((root, specialty), {}).get(year))
                                    for c in comparison.models for year in (last_plan, last)) + " |")
    out += ["", "## The year each area reaches its target", "",
            "| area | " + ("specialty | " if several else "") + " | ".join(names) + " |",
            "|---|" + ("---|" if several else "") + "---:|" * len(names)]
    cells = [(leaf, s) for leaf in instance.leaves for s in specialties if (leaf, s) in comparison.reference.coverage]
    for leaf, specialty in cells[:MEMO_AREAS]:
        flag = " ⚑" if instance.area_by_id[leaf].underserved else ""
        out.append(f"| {instance.area_by_id[leaf].label}{flag} | " + (f"{specialty} | " if several else "")
                   + " | ".join(str(c.reached(leaf, specialty) or f"not by {last}") for c in comparison.models)
                   + " |")
    if len(cells) > MEMO_AREAS:
        out.append(f"\n… {len(cells) - MEMO_AREAS:,} more rows: coverage per year is in comparison.csv")
    out += ["", "⚑ = designated under-served.", "", "## Posts per training region and year", "",
            "| region | " + ("specialty | " if several else "") + "year | " + " | ".join(names) + " |",
            "|---|" + ("---|" if several else "") + "---:|" + "---:|" * len(names)]
    totals: dict[tuple[str, str, int], list[float]] = defaultdict(lambda: [0.0] * len(names))
    for m, c in enumerate(comparison.models):
        for k, year_plan in enumerate(c.plan.years):
            for row in year_plan.rows:
                totals[(row.region, row.specialty, first + k)][m] += row.posts
    for (region, specialty, year), values in sorted(totals.items()):
        out.append(f"| {instance.area_by_id[region].label} | " + (f"{specialty} | " if several else "")
                   + f"{year} | " + " | ".join(format_number(v) for v in values) + " |")
    out += ["", "## What differs", ""]
    for c in comparison.models[1:]:
        lines = _explain(comparison, c)
        out += lines[:MEMO_AREAS + 1]
    out.append("")
    return "\n".join(out)


def write_horizon_comparison(out: Target, comparison: HorizonComparison) -> list[Path]:
    """Write comparison.csv, comparison.json and comparison.md of a multi-year comparison into ``out``."""
    return write_files(out, {
        "comparison.csv": lambda: horizon_comparison_csv(comparison),
        "comparison.json": lambda: horizon_comparison_json(comparison),
        "comparison.md": lambda: horizon_comparison_markdown(comparison),
    })


__all__ = ["HORIZON_COMPARISON_KIND", "horizon_comparison_csv", "horizon_comparison_json",
           "horizon_comparison_markdown", "write_horizon_comparison"]
