"""Write a comparison of models on a multi-year instance: comparison.csv, comparison.json and comparison.md."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.writers.language import MemoNumbers, status_text, translations
from allocator.writers.output import Target, write_files
from allocator.writers.text import MEMO_AREAS, csv_text, format_number

if TYPE_CHECKING:
    from allocator.reports.horizon_compare import HorizonCompared, HorizonComparison

#: ``kind`` in a multi-year comparison.json; a one-year comparison.json has none.
HORIZON_COMPARISON_KIND = "multi-year"


def _full(value: float | None) -> str:
    """Full precision (the shortest text that reads back as the same float); empty when unknown or infinite."""
    return repr(float(value)) if value is not None and math.isfinite(value) else ""


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


def _explain(comparison: HorizonComparison, compared: HorizonCompared, language: str = "en") -> list[str]:
    """The differences of one model against the first, in words: the headline, then each area whose year of
    reaching its target moves."""
    _ = translations(language).gettext
    n = MemoNumbers(language)
    posts = format_number if language == "en" else n.posts
    reference = comparison.reference
    mine, theirs = compared.metrics, reference.metrics
    name, other = compared.model.name, reference.model.name
    difference = mine.inhabitant_years_without - theirs.inhabitant_years_without
    relative = difference / theirs.inhabitant_years_without if theirs.inhabitant_years_without > 0 else 0.0
    headline = _("**%(model)s** against **%(reference)s**: %(count)s fewer inhabitant-years without a specialist "
                 "(%(relative)s); posts moved from year to year: %(moved)s against %(reference_moved)s.") \
        if difference < 0 else \
        _("**%(model)s** against **%(reference)s**: %(count)s more inhabitant-years without a specialist "
          "(%(relative)s); posts moved from year to year: %(moved)s against %(reference_moved)s.")
    lines = ["- " + headline % {"model": name, "reference": other, "count": n.formatted(abs(difference), ",.0f"),
                                "relative": n.formatted(relative, "+.2%"), "moved": posts(mine.moved),
                                "reference_moved": posts(theirs.moved)}]
    instance = comparison.horizon.instance
    last = comparison.years[2]
    not_by = _("not by %(year)s") % {"year": last}
    for leaf in instance.leaves:
        for specialty in instance.specialty_ids:
            before, after = reference.reached(leaf, specialty), compared.reached(leaf, specialty)
            if before == after or (leaf, specialty) not in compared.coverage:
                continue
            earlier = after is not None and (before is None or after < before)
            sentence = _("%(area)s reaches its target earlier: %(year)s (under %(reference)s: %(before)s).") \
                if earlier else _("%(area)s reaches its target later: %(year)s (under %(reference)s: %(before)s).")
            suffix = f", {specialty}" if len(instance.specialties) > 1 else ""
            lines.append("  - " + sentence % {"area": instance.area_by_id[leaf].label + suffix,
                                              "year": after if after is not None else not_by, "reference": other,
                                              "before": before if before is not None else not_by})
    return lines


def horizon_comparison_markdown(comparison: HorizonComparison, language: str = "en") -> str:
    """comparison.md: the models' coverage and disruption over the horizon, per training region, the year each
    area reaches its target, and the differences in words.

    ``language`` (``en`` or ``da``) picks the message catalogue and the notation of numbers, as summary.md's.
    """
    _ = translations(language).gettext
    n = MemoNumbers(language)
    posts = format_number if language == "en" else n.posts

    def percent(value: float | None) -> str:
        # format's "%" is 100 * value to one decimal, as English always wrote it; Danish keeps those digits.
        return "–" if value is None or not math.isfinite(value) else n.formatted(value, ".1%")

    horizon = comparison.horizon
    instance = horizon.instance
    first, last_plan, last = comparison.years
    names = [c.model.name for c in comparison.models]
    reference = comparison.reference.model.name
    specialties = instance.specialty_ids
    several = len(specialties) > 1
    out = ["# " + _("%(instance)s: %(count)s policies over %(first)s–%(last)s")
           % {"instance": horizon.name, "count": n.formatted(len(names), "d"), "first": first, "last": last}, "",
           _("Each policy is planned over the plan years %(first)s–%(last_plan)s as one integer program and "
             "projected to %(last)s; every plan is verified by the independent stock-and-flow simulator. Coverage "
             "is supply / demand. An area reaches its target in the first year from which its coverage stays at "
             "100 %% or more to %(last)s. Deltas are against the first model, **%(reference)s**.")
           % {"first": first, "last_plan": last_plan, "last": last, "reference": reference},
           "", "## " + _("The policies"), ""]
    out += [f"- **{c.model.name}** ("
            + _("coverage weight %(weight)s") % {"weight": n.formatted(float(c.model.coverage_weight), "g")} + "): "
            + (c.model.description.strip() or _("(no description)")) for c in comparison.models]
    out += ["", "## " + _("Coverage and disruption"), ""]
    not_by = _("not by %(year)s") % {"year": last}
    for specialty in specialties:
        if several:
            out += [f"### {specialty}", ""]
        out += ["| " + " | ".join([_("model"), _("status"), _("inhabitant-years without a specialist"),
                                   _("myopic plan"), *(_("coverage %(year)s") % {"year": year}
                                                       for year in (first, last_plan, last)),
                                   _("lowest area %(year)s") % {"year": last}, _("areas reaching the target"),
                                   _("last to reach it"), _("posts moved"), _("objective")]) + " |",
                "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
        for c in comparison.models:
            m = c.metrics
            low = m.lowest_last.get(specialty)
            lowest = f"{instance.area_by_id[low[0]].label} ({percent(low[1])})" if low else "–"
            myopic = n.count(m.myopic_inhabitant_years_without) if m.myopic_inhabitant_years_without is not None \
                else "–"
            reached = _("%(reached)s of %(count)s") % {"reached": n.formatted(m.reached, "d"),
                                                       "count": n.formatted(m.leaves, "d")}
            out.append(f"| {c.model.name} | {status_text(m.status, language)} | {n.count(m.inhabitant_years_without)} | "
                       f"{myopic} | "
                       f"{percent(m.coverage_first.get(specialty))} | {percent(m.coverage_last_plan.get(specialty))}"
                       f" | {percent(m.coverage_last.get(specialty))} | {lowest} | {reached} | "
                       f"{m.last_reached if m.last_reached is not None else '–'} | {posts(m.moved)} | "
                       f"{n.formatted(m.objective, '.6g')} |")
        out.append("")
    out += [_("Inhabitant-years and the counts of areas are over all specialties; posts moved is Σ |posts − the "
              "year before's posts| over the plan years (the first against last year's posts)."), ""]
    roots = [area.id for area in instance.areas if area.parent is None]
    out += ["## " + _("Coverage per training region"), "",
            "| " + _("region") + " | " + (_("specialty") + " | " if several else "") + " | ".join(
                f"{name} {year}" for name in names for year in (last_plan, last)) + " |",
            "|---|" + ("---|" if several else "") + "---:|" * (2 * len(names))]
    for root in roots:
        for specialty in specialties:
            if (root, specialty) not in comparison.reference.coverage:
                continue
            out.append(f"| {instance.area_by_id[root].label} | " + (f"{specialty} | " if several else "")
                       + " | ".join(percent(c.coverage.get((root, specialty), {}).get(year))
                                    for c in comparison.models for year in (last_plan, last)) + " |")
    out += ["", "## " + _("The year each area reaches its target"), "",
            "| " + _("area") + " | " + (_("specialty") + " | " if several else "") + " | ".join(names) + " |",
            "|---|" + ("---|" if several else "") + "---:|" * len(names)]
    cells = [(leaf, s) for leaf in instance.leaves for s in specialties if (leaf, s) in comparison.reference.coverage]
    for leaf, specialty in cells[:MEMO_AREAS]:
        flag = " ⚑" if instance.area_by_id[leaf].underserved else ""
        out.append(f"| {instance.area_by_id[leaf].label}{flag} | " + (f"{specialty} | " if several else "")
                   + " | ".join(str(c.reached(leaf, specialty) or not_by) for c in comparison.models)
                   + " |")
    if len(cells) > MEMO_AREAS:
        out.append("\n" + _("… %(count)s more rows: coverage per year is in comparison.csv")
                   % {"count": n.count(len(cells) - MEMO_AREAS)})
    out += ["", _("⚑ = designated under-served."), "", "## " + _("Posts per training region and year"), "",
            "| " + _("region") + " | " + (_("specialty") + " | " if several else "") + _("year") + " | "
            + " | ".join(names) + " |",
            "|---|" + ("---|" if several else "") + "---:|" + "---:|" * len(names)]
    totals: dict[tuple[str, str, int], list[float]] = defaultdict(lambda: [0.0] * len(names))
    for m, c in enumerate(comparison.models):
        for k, year_plan in enumerate(c.plan.years):
            for row in year_plan.rows:
                totals[(row.region, row.specialty, first + k)][m] += row.posts
    for (region, specialty, year), values in sorted(totals.items()):
        out.append(f"| {instance.area_by_id[region].label} | " + (f"{specialty} | " if several else "")
                   + f"{year} | " + " | ".join(posts(v) for v in values) + " |")
    out += ["", "## " + _("What differs"), ""]
    for c in comparison.models[1:]:
        lines = _explain(comparison, c, language)
        out += lines[:MEMO_AREAS + 1]
    out.append("")
    return "\n".join(out)


def write_horizon_comparison(out: Target, comparison: HorizonComparison, language: str = "en") -> list[Path]:
    """Write comparison.csv, comparison.json and comparison.md (in ``language``) of a multi-year comparison into
    ``out``."""
    return write_files(out, {
        "comparison.csv": lambda: horizon_comparison_csv(comparison),
        "comparison.json": lambda: horizon_comparison_json(comparison),
        "comparison.md": lambda: horizon_comparison_markdown(comparison, language),
    })


__all__ = ["HORIZON_COMPARISON_KIND", "horizon_comparison_csv", "horizon_comparison_json",
           "horizon_comparison_markdown", "write_horizon_comparison"]
