"""Write the sensitivity report of a multi-year plan: sensitivity.csv, sensitivity.json and sensitivity.md.

sensitivity.csv and sensitivity.json hold every variant at full precision;
sensitivity.md is the memo, in the report's language: it leads with whether
the first plan year's split is firm under the assumptions, then what one post
more or fewer is worth year by year, then every variant.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.writers.language import MemoNumbers, status_text, translations
from allocator.writers.output import Target, write_files
from allocator.writers.text import MEMO_AREAS, csv_text

if TYPE_CHECKING:
    from allocator.reports.horizon_sensitivity import HorizonSensitivity, Variant, VariantResult

#: ``kind`` in a multi-year sensitivity.json; a one-year sensitivity.json has none.
HORIZON_SENSITIVITY_KIND = "multi-year"
#: The memo names at most this many shifts per area in its first-year table (all are in sensitivity.csv).
SHIFTS_PER_AREA = 6


def _full(value: float | None) -> str:
    """Full precision (the shortest text that reads back as the same float); empty when unknown or infinite."""
    return repr(float(value)) if value is not None and math.isfinite(value) else ""


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _roots(report: HorizonSensitivity) -> list[str]:
    return list(report.coverage_last)


def _changes_text(changes: dict[tuple[str, str], float], several: bool) -> str:
    """``Midtjylland:+9;Syddanmark:-9`` (``leaf/specialty`` with several specialties), in the cells' order."""
    return ";".join(f"{leaf}/{s}:{value:+g}" if several else f"{leaf}:{value:+g}"
                    for (leaf, s), value in changes.items())


def horizon_sensitivity_csv(report: HorizonSensitivity) -> str:
    """sensitivity.csv: the plan, then one row per variant (full precision; definitions in docs/formats.md)."""
    last = report.years[2]
    roots = _roots(report)
    several = len(report.horizon.instance.specialties) > 1
    header = ["variant", "kind", "field", "area", "specialty", "year", "change", "from", "to", "status", "gap",
              "objective", "objective_change", "inhabitant_years_without_specialist", "inhabitant_years_change",
              "posts_moved", "posts_moved_first_year", "regret", "first_year_changes",
              *(f"coverage.{root}.{last}" for root in roots)]
    plan = report.plan
    rows: list[list[str]] = [["plan", "plan", "", "", "", "", "", "", "", plan.status, _full(plan.gap),
                              _full(plan.objective), "0.0", _full(plan.projection.inhabitant_years_without), "0.0",
                              "0.0", "0.0", "", "", *(_full(report.coverage_last[root]) for root in roots)]]
    for result in report.variants:
        v = result.variant
        rows.append([v.key, v.kind, v.field, v.area, v.specialty, "" if v.year is None else str(v.year),
                     f"{v.change:g}", _full(v.before), _full(v.after), result.status, _full(result.gap),
                     _full(result.objective), _full(result.objective_change), _full(result.inhabitant_years_without),
                     _full(result.inhabitant_years_change), _full(result.posts_moved),
                     _full(result.posts_moved_first_year), _full(result.regret),
                     _changes_text(result.first_year_changes, several),
                     *(_full(result.coverage_last.get(root)) for root in roots)])
    return csv_text(header, list(zip(*rows)), text={0, 1, 2, 3, 4, 9, 18})


def horizon_sensitivity_json(report: HorizonSensitivity) -> str:
    """sensitivity.json of a multi-year plan (``kind: multi-year``; see docs/formats.md)."""
    first, last_plan, last = report.years
    plan = report.plan
    document = {
        "kind": HORIZON_SENSITIVITY_KIND,
        "instance": report.horizon.name,
        "model": report.model.name,
        "years": {"first": first, "last_plan": last_plan, "last_outlook": last},
        "settings": report.settings,
        "regions": {root: report.horizon.instance.area_by_id[root].label for root in _roots(report)},
        "plan": {"status": plan.status, "gap": _finite(plan.gap), "objective": plan.objective,
                 "coverage_cost": plan.coverage_cost, "posts_cost": plan.posts_cost,
                 "inhabitant_years_without_specialist": plan.projection.inhabitant_years_without,
                 "coverage_last_outlook_year": {k: _finite(v) for k, v in report.coverage_last.items()},
                 "first_year_posts": [{"area": leaf, "specialty": s, "posts": value}
                                      for (leaf, s, year), value in plan.posts().items() if year == first]},
        "variants": [{
            "variant": r.variant.key, "kind": r.variant.kind, "field": r.variant.field, "area": r.variant.area or None,
            "specialty": r.variant.specialty or None, "year": r.variant.year, "change": r.variant.change,
            "from": r.variant.before, "to": r.variant.after, "status": r.status, "message": r.message or None,
            "gap": _finite(r.gap), "objective": r.objective, "objective_change": r.objective_change,
            "coverage_cost": r.coverage_cost, "posts_cost": r.posts_cost,
            "inhabitant_years_without_specialist": r.inhabitant_years_without,
            "inhabitant_years_change": r.inhabitant_years_change, "posts_moved": r.posts_moved,
            "posts_moved_first_year": r.posts_moved_first_year, "regret": r.regret, "plan_cost": r.plan_cost,
            "first_year_changes": [{"area": leaf, "specialty": s, "change": value}
                                   for (leaf, s), value in r.first_year_changes.items()],
            "coverage_last_outlook_year": {k: _finite(v) for k, v in r.coverage_last.items()},
        } for r in report.variants],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def variant_label(language: str, kind: str, field: str, change: float, area: str = "", specialty: str = "",
                  year: int | None = None, several: bool = False) -> str:
    """A variant in words, in ``language``: ``fill rate −0.05, Region Sjælland``, ``one more post in 2021``.

    ``area`` is the area's label ("" for every area); ``several``: name the specialty (several in the instance).
    """
    _ = translations(language).gettext
    n = MemoNumbers(language)
    if kind == "posts":
        text = (_("one more post in %(year)s") if change > 0 else _("one post fewer in %(year)s")) % {"year": year}
        return text + (f" ({specialty})" if several else "")
    if kind == "coverage_weight":
        return _("coverage weight ×%(factor)s") % {"factor": n.formatted(change, "g")}
    name = {"fill_rate": _("fill rate"), "retention": _("retention"), "exit_rate": _("exit rate"),
            "population_growth": _("population growth")}[field]
    every = _("every area")
    return f"{name} {n.formatted(change, '+g')}, {area or every}"


class _Words:
    """The memo's phrases in one language."""

    def __init__(self, report: HorizonSensitivity, language: str) -> None:
        self.language = language
        self._ = translations(language).gettext
        self.n = MemoNumbers(language)
        self.instance = report.horizon.instance
        self.several = len(self.instance.specialties) > 1


    def area(self, leaf: str, specialty: str = "") -> str:
        label = self.instance.area_by_id[leaf].label
        return f"{label}, {specialty}" if self.several and specialty else label

    def label(self, variant: Variant) -> str:
        """The variant in words: ``fill rate −0.05, Region Sjælland``; ``one more post in 2021``."""
        return variant_label(self.language, variant.kind, variant.field, variant.change,
                             self.area(variant.area, variant.specialty) if variant.area else "", variant.specialty,
                             variant.year, self.several)

    def values(self, variant: Variant) -> str:
        """``0.7 → 0.65`` where the variant has one value before and after; else ``–``."""
        if variant.before is None or variant.after is None:
            return "–"
        return f"{self.n.formatted(variant.before, 'g')} → {self.n.formatted(variant.after, 'g')}"

    def status(self, result: VariantResult) -> str:
        _ = self._
        if result.status in ("infeasible", "time-limit", "error"):
            return {"infeasible": _("no plan (infeasible)"), "time-limit": _("no plan (time limit)"),
                    "error": _("no plan (solver stopped)")}[result.status]
        if result.status != "optimal" and result.gap is not None:
            return f"{status_text(result.status, self.language)} ({self.n.formatted(result.gap, '.3g')})"
        return status_text(result.status, self.language)


def _first_year_section(report: HorizonSensitivity, words: _Words) -> list[str]:
    _, n = words._, words.n
    first = report.years[0]
    firmness = [r for r in report.variants if r.variant.kind != "posts"]
    solved = [r for r in firmness if r.solved]
    changing = [r for r in solved if r.first_year_changes]
    out = ["## " + _("The first plan year, %(year)s") % {"year": first}, ""]
    if not changing:
        out.append(_("**The split of %(year)s is firm:** none of the %(count)s shifts of the assumptions and of the "
                     "coverage weight changes any area's posts in %(year)s.")
                   % {"year": first, "count": n.formatted(len(solved), "d")})
    else:
        out.append(_("**The split of %(year)s changes under %(changed)s of %(count)s shifts** of the assumptions and "
                     "the coverage weight; under the others every area keeps its posts of %(year)s.")
                   % {"year": first, "changed": n.formatted(len(changing), "d"), "count": n.formatted(len(solved), "d")})
    unsolved = len(firmness) - len(solved)
    if unsolved:
        out += ["", _("Shifts without a plan within the limits: %(count)s; see the table of every variant.")
                % {"count": n.formatted(unsolved, "d")}]
    posts = {(leaf, s): value for (leaf, s, year), value in report.plan.posts().items() if year == first}
    out += ["", "| " + " | ".join([_("area"), _("posts %(year)s") % {"year": first}, _("lowest"), _("highest"),
                                   _("shifts that change it")]) + " |", "|---|---:|---:|---:|---|"]
    for (leaf, s), value in list(posts.items())[:MEMO_AREAS]:
        moves = [(r, r.first_year_changes[(leaf, s)]) for r in changing if (leaf, s) in r.first_year_changes]
        low = min([value] + [value + d for _r, d in moves])
        high = max([value] + [value + d for _r, d in moves])
        named = "; ".join(f"{words.label(r.variant)} ({n.change(d)})" for r, d in moves[:SHIFTS_PER_AREA])
        if len(moves) > SHIFTS_PER_AREA:
            named += "; " + _("%(count)s more in sensitivity.csv") % {"count": n.formatted(len(moves) - SHIFTS_PER_AREA,
                                                                                            "d")}
        flag = " ⚑" if words.instance.area_by_id[leaf].underserved else ""
        none = _("none")
        out.append(f"| {words.area(leaf, s)}{flag} | {n.posts(value)} | {n.posts(low)} | {n.posts(high)} | "
                   f"{named or none} |")
    if len(posts) > MEMO_AREAS:
        out.append("\n" + _("… %(count)s more rows: every variant's changes are in sensitivity.csv")
                   % {"count": n.count(len(posts) - MEMO_AREAS)})
    out += ["", _("Lowest and highest are the posts of %(year)s over the shifts, one at a time; ⚑ = designated "
                  "under-served.") % {"year": first}, ""]
    return out


def _posts_section(report: HorizonSensitivity, words: _Words) -> list[str]:
    _, n = words._, words.n
    first, _last_plan, last = report.years
    posts = report.of_kind("posts")
    out = ["## " + _("What one post more or fewer is worth"), "",
           _("Each plan year's total gets one post more, or one fewer, and the whole horizon is planned again. "
             "The changes are against the plan: objective, and inhabitant-years without a specialist over "
             "%(first)s–%(last)s (negative: fewer).") % {"first": first, "last": last}, "",
           "| " + " | ".join([_("year"), _("one more post: objective"), _("one more post: inhabitant-years"),
                              _("one post fewer: objective"), _("one post fewer: inhabitant-years")]) + " |",
           "|---|---:|---:|---:|---:|"]
    by_year: dict[tuple[int, str], dict[int, VariantResult]] = {}
    for r in posts:
        by_year.setdefault((int(r.variant.year or 0), r.variant.specialty), {})[r.variant.direction] = r

    def cells(result: VariantResult | None) -> list[str]:
        if result is None or not result.solved:
            text = words.status(result) if result is not None else "–"
            return [text, text]
        return [n.formatted(result.objective_change or 0.0, "+.4g"),
                n.signed_count(result.inhabitant_years_change or 0.0)]

    for (year, specialty), pair in by_year.items():
        name = f"{year} ({specialty})" if words.several else str(year)
        out.append(f"| {name} | " + " | ".join(cells(pair.get(1)) + cells(pair.get(-1))) + " |")
    more = [r for r in posts if r.variant.direction > 0 and r.solved]
    if more:
        best = min(more, key=lambda r: (r.inhabitant_years_change or 0.0, r.variant.year or 0))
        out += ["", _("One more post is worth most in %(year)s: %(count)s inhabitant-years without a specialist "
                      "(objective %(objective)s).") % {
                    "year": best.variant.year, "count": n.signed_count(best.inhabitant_years_change or 0.0),
                    "objective": n.formatted(best.objective_change or 0.0, "+.4g")}]
    out.append("")
    return out


def _every_variant(report: HorizonSensitivity, words: _Words) -> list[str]:
    _, n = words._, words.n
    first, _last_plan, last = report.years
    roots = _roots(report)
    names = [words.instance.area_by_id[root].label for root in roots]
    out = ["## " + _("Every variant"), "",
           "| " + " | ".join([_("variant"), _("from → to"), _("status"), _("objective"), _("inhabitant-years without "
                              "a specialist"), _("change"), _("posts moved"), _("of which in %(year)s")
                              % {"year": first}, _("regret"),
                              *(_("coverage %(region)s %(year)s") % {"region": name, "year": last} for name in names)])
           + " |", "|---|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(roots)]
    plan = report.plan
    name = _("the plan")
    out.append(f"| **{name}** | – | {status_text(plan.status, words.language)} | {n.formatted(plan.objective, '.6g')} | "
               f"{n.count(plan.projection.inhabitant_years_without)} | – | – | – | – | "
               + " | ".join(n.percent(report.coverage_last[root]) if report.coverage_last[root] is not None else "–"
                            for root in roots) + " |")
    for r in report.variants[:MEMO_AREAS]:
        if not r.solved:
            out.append(f"| {words.label(r.variant)} | {words.values(r.variant)} | {words.status(r)} | – | – | – | – "
                       "| – | – | " + " | ".join("–" for _root in roots) + " |")
            continue
        regret = "–" if r.regret is None else n.formatted(r.regret, ".4g")
        out.append(f"| {words.label(r.variant)} | {words.values(r.variant)} | {words.status(r)} | "
                   f"{n.formatted(r.objective or 0.0, '.6g')} | {n.count(r.inhabitant_years_without or 0.0)} | "
                   f"{n.signed_count(r.inhabitant_years_change or 0.0)} | {n.posts(r.posts_moved)} | "
                   f"{n.posts(r.posts_moved_first_year)} | {regret} | "
                   + " | ".join(n.percent(value) if (value := r.coverage_last.get(root)) is not None else "–"
                                for root in roots) + " |")
    if len(report.variants) > MEMO_AREAS:
        out.append("\n" + _("… %(count)s more rows in sensitivity.csv")
                   % {"count": n.count(len(report.variants) - MEMO_AREAS)})
    out += ["", _("Posts moved is Σ |posts − the plan's posts| over the areas and plan years. Regret is the plan's own "
                  "cost under the variant minus the variant's optimum: what keeping the plan would cost if the "
                  "variant were true (never negative; a post variant changes a total, so the plan is no plan of it "
                  "and has no regret). Coverage is Σ supply / Σ demand over the training region's areas in "
                  "%(year)s.") % {"year": last}, ""]
    return out


def horizon_sensitivity_markdown(report: HorizonSensitivity, language: str = "en") -> str:
    """sensitivity.md of a multi-year plan, in ``language`` (``en`` or ``da``), as summary.md's."""
    words = _Words(report, language)
    _, n = words._, words.n
    first, last_plan, last = report.years
    plan = report.plan
    shifts = report.settings["shifts"]
    out = ["# " + _("%(instance)s: how firm the multi-year plan is (%(first)s–%(last)s)")
           % {"instance": report.horizon.name, "first": first, "last": last}, "",
           _("The plan under the model **%(model)s** (%(status)s, objective %(objective)s, %(count)s inhabitant-years "
             "without a specialist over %(first)s–%(last)s) was planned again over %(first)s–%(last_plan)s under "
             "%(variants)s variants, one change at a time, each solved exactly and verified by the independent "
             "simulator.") % {"model": report.model.name, "status": status_text(plan.status, words.language),
                              "objective": n.formatted(plan.objective, ".6g"),
                              "count": n.count(plan.projection.inhabitant_years_without), "first": first,
                              "last": last, "last_plan": last_plan, "variants": n.formatted(len(report.variants), "d")},
           "", _("The shifts (absolute, down and up, %(scope)s, clipped to the "
                 "valid range): fill rate ±%(fill)s, retention ±%(retention)s, exit rate ±%(exit)s a year, population "
                 "growth ±%(growth)s a year; the coverage weight halved and doubled; one post more and one fewer in "
                 "each plan year's total. docs/mathematics.md says why.")
           % {"scope": _("in every area at once and in each area alone") if report.settings.get("per_area", True)
              else _("in every area at once"), "fill": n.formatted(shifts["fill_rate"], "g"), "retention": n.formatted(shifts["retention"], "g"),
              "exit": n.formatted(shifts["exit_rate"], "g"), "growth": n.formatted(shifts["population_growth"], "g")},
           ""]
    out += _first_year_section(report, words)
    out += _posts_section(report, words)
    out += _every_variant(report, words)
    return "\n".join(out)


def write_horizon_sensitivity(out: Target, report: HorizonSensitivity, language: str = "en") -> list[Path]:
    """Write sensitivity.csv, sensitivity.json and sensitivity.md (in ``language``) into ``out``."""
    return write_files(out, {
        "sensitivity.csv": lambda: horizon_sensitivity_csv(report),
        "sensitivity.json": lambda: horizon_sensitivity_json(report),
        "sensitivity.md": lambda: horizon_sensitivity_markdown(report, language),
    })


__all__ = ["HORIZON_SENSITIVITY_KIND", "variant_label", "horizon_sensitivity_csv", "horizon_sensitivity_json",
           "horizon_sensitivity_markdown", "write_horizon_sensitivity"]

