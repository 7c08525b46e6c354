"""Write a multi-year plan: plan.csv (+ year), projection.csv, plan.json, plan.xlsx and summary.md."""

from __future__ import annotations

import datetime
import io
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import polars as pl

from allocator.io.schemas import HorizonInstance
from allocator.results.horizon import HorizonPlan
from allocator.results.projection import Projection, coverage_by_area, year_target_reached
from allocator.writers.language import MemoNumbers, breach_text, status_text, translations
from allocator.writers.output import Target, write_files
from allocator.writers.plan import PLAN_COLUMNS, _plan_frame, _row_records
from allocator.writers.text import MEMO_AREAS, csv_text

PROJECTION_COLUMNS = ["area", "specialty", "year", "demand", "supply", "shortfall", "new_specialists",
                      "inhabitants_per_specialist", "coverage"]

#: The creation date written into plan.xlsx, fixed so that the same plan gives the same workbook.
_EPOCH = datetime.datetime(2000, 1, 1)


def _full(value: float) -> str:
    """A number at full precision (the shortest text that reads back as the same float); empty if not finite."""
    return repr(float(value)) if math.isfinite(value) else ""


def horizon_plan_csv(plan: HorizonPlan) -> str:
    """The one-year plan columns plus ``year`` (after ``specialty``), rows by area, specialty, year."""
    frames = []
    for plan_year, year in zip(plan.years, range(plan.first_year, plan.first_year + len(plan.years))):
        frame = _plan_frame(plan_year, json=False).with_row_index("cell")
        frames.append(frame.with_columns(pl.lit(str(year)).alias("year")))
    if not frames:
        return ""
    columns = PLAN_COLUMNS[:4] + ["year"] + PLAN_COLUMNS[4:]
    table = pl.concat(frames).sort(["cell", "year"], maintain_order=True).select(columns)
    return ",".join(columns) + "\n" + table.write_csv(include_header=False, line_terminator="\n", null_value="")


def projection_csv(projection: Projection) -> str:
    """Every cell in every outlook year at full precision; coverage and inhabitants per specialist empty when undefined."""
    rows = projection.rows
    columns = [[row.area for row in rows], [row.specialty for row in rows], [str(row.year) for row in rows]]
    for name in PROJECTION_COLUMNS[3:]:
        columns.append([_full(getattr(row, name)) for row in rows])
    return csv_text(PROJECTION_COLUMNS, columns, text={0, 1})


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _projection_records(projection: Projection) -> list[dict[str, Any]]:
    return [{"area": row.area, "specialty": row.specialty, "year": row.year,
             **{name: _finite(getattr(row, name)) for name in PROJECTION_COLUMNS[3:]}} for row in projection.rows]


def horizon_plan_json(plan: HorizonPlan) -> bytes:
    """Rows (with ``year``), projection, objective, coverage_cost, posts_cost, status, gap and metadata."""
    rows = []
    for year, plan_year in enumerate(plan.years, start=plan.first_year):
        for record in _row_records(plan_year):
            record = {"year": year, **record}
            for key in ("target", "need_index"):
                record[key] = _finite(record[key])
            rows.append(record)
    rows.sort(key=lambda record: (record["area"], record["specialty"], record["year"]))
    document = {
        "instance": plan.instance, "model": plan.model, "unit": plan.years[0].unit if plan.years else None,
        "status": plan.status, "objective": plan.objective, "coverage_cost": plan.coverage_cost,
        "posts_cost": plan.posts_cost, "best_bound": _finite(plan.bound) if plan.bound is not None else None,
        "gap": _finite(plan.gap) if plan.gap is not None else None, "myopic": plan.myopic,
        "inhabitant_years_without_specialist": plan.projection.inhabitant_years_without,
        "metadata": plan.metadata, "rows": rows, "projection": _projection_records(plan.projection)}
    return (json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def horizon_plan_xlsx(plan: HorizonPlan) -> bytes:
    """A sheet per plan year (the one-year plan columns) and a ``projection`` sheet."""
    import xlsxwriter  # imported here: only runs that write a workbook pay for it

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    for year, plan_year in enumerate(plan.years, start=plan.first_year):
        sheet = book.add_worksheet(str(year))
        sheet.freeze_panes(1, 0)
        sheet.write_row(0, 0, PLAN_COLUMNS)
        for number, record in enumerate(_row_records(plan_year), start=1):
            record["binding"] = "; ".join(record["binding"])
            record["underserved"] = "yes" if record["underserved"] else "no"
            sheet.write_row(number, 0, [None if isinstance(v, float) and not math.isfinite(v) else v
                                        for v in record.values()])
    sheet = book.add_worksheet("projection")
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, PROJECTION_COLUMNS)
    for number, record in enumerate(_projection_records(plan.projection), start=1):
        sheet.write_row(number, 0, list(record.values()))
    book.set_properties({"created": _EPOCH})
    book.close()
    return buffer.getvalue()


def horizon_summary(horizon: HorizonInstance, plan: HorizonPlan, language: str = "en") -> str:
    """The memo: coverage per training region and area, the year each reaches its target, and the
    inhabitant-years without a specialist against the myopic baseline, in ``language`` (``en`` or ``da``)."""
    _ = translations(language).gettext
    n = MemoNumbers(language)
    first = horizon.first_year
    last_plan = first + horizon.plan_years - 1
    last = first + horizon.outlook_years - 1
    years = sorted({first, last_plan, last})
    status = _("Model **%(model)s**, plan years %(first)s–%(last_plan)s, outlook to %(last)s. Status: **%(status)s**") \
        % {"model": plan.model, "first": first, "last_plan": last_plan, "last": last,
                                                                                  "status": status_text(plan.status, language)}
    if plan.status.startswith("gap") and plan.bound is not None and plan.gap is not None:
        status += " " + _("(best bound %(bound)s, certified gap %(gap)s)") % {"bound": n.objective(plan.bound),
                                                                            "gap": n.formatted(plan.gap, ".3g")}
    out = ["# " + _("Multi-year plan: %(instance)s") % {"instance": plan.instance}, "", status + ".", ""]
    if plan.status in ("given", "status quo"):
        # No solver ran: the memo must not let the reader take the plan for an optimum.
        made = (_("No solver ran: this plan was given (a plan made outside allocator) and is projected as it is.")
                if plan.status == "given" else
                _("No solver ran: this plan is the status quo, last year's posts repeated in every plan year, "
                  "projected as it is."))
        kept = (_("It keeps every yearly rule (totals, bounds, largest change).")
                if not plan.metadata.get("rule_breaches") else
                _("It breaks yearly rules; they are listed below."))
        out += [made + " " + kept, ""]
    coverage = coverage_by_area(horizon, plan.projection)
    instance = horizon.instance
    names = {s.id: s.name or s.id for s in instance.specialties}
    roots = sorted(area.id for area in instance.areas if area.parent is None)
    leaves = instance.leaves
    columns = [_("area"), _("specialty")] + [_("coverage %(year)s") % {"year": y} for y in years] + \
        [_("target reached")]
    header = "| " + " | ".join(columns) + " |"
    rule = "|---|---|" + "---:|" * len(years) + "---|"
    not_by = _("not by %(year)s") % {"year": last}

    def line(area: str, specialty: str) -> str:
        values = coverage[(area, specialty)]
        reached = year_target_reached(values)
        return (f"| {instance.area_by_id[area].label} | {names.get(specialty, specialty)} | "
                + " | ".join(n.percent(values.get(y, math.nan)) for y in years)
                + f" | {reached if reached is not None else not_by} |")

    out += ["## " + _("Coverage per training region"), "",
            _("Coverage is supply / demand (specialists against inhabitants / inhabitants_per_specialist). The "
              "target is reached in the first year from which coverage stays at 100% or more to the end of the "
              "outlook."), "", header, rule]
    specialties = instance.specialty_ids
    out += [line(root, s) for root in roots for s in specialties if (root, s) in coverage]
    out += ["", "## " + _("Coverage per area"), "", header, rule]
    shown = [(leaf, s) for leaf in leaves for s in specialties if (leaf, s) in coverage]
    out += [line(leaf, s) for leaf, s in shown[:MEMO_AREAS]]
    if len(shown) > MEMO_AREAS:
        out.append("\n" + _("… %(count)s more rows in projection.csv") % {"count": n.count(len(shown) - MEMO_AREAS)})
    out += ["", "## " + _("Inhabitant-years without a specialist"), ""]
    mine = plan.projection.inhabitant_years_without
    out.append("- " + _("this plan: %(count)s") % {"count": n.count(mine)})
    if plan.myopic is not None and "inhabitant_years_without_specialist" in plan.myopic:
        theirs = plan.myopic["inhabitant_years_without_specialist"]
        out.append("- " + _("the myopic plan (each year solved alone with the one-year model): %(count)s")
                   % {"count": n.count(theirs)})
        out.append("- " + _("difference: %(count)s") % {"count": n.signed_count(mine - theirs)})
    elif plan.myopic is not None:
        # The solver's reason is English; plan.json keeps it, the memo says the year in its own language.
        out.append("- " + _("the myopic plan: none; plan year %(year)s has no plan on its own with the one-year "
                            "model (plan.json gives the solver's reason under myopic)")
                   % {"year": plan.myopic.get("unavailable_year", "?")})
    out += ["", _("Objective %(objective)s = coverage cost %(coverage)s + posts cost %(posts)s.") % {
        "objective": n.objective(plan.objective), "coverage": n.objective(plan.coverage_cost),
        "posts": n.objective(plan.posts_cost)}, ""]
    broken = plan.metadata.get("rule_breaches")
    if broken:
        out += ["## " + _("Yearly rules this plan breaks"), ""]
        out += ["- " + breach_text(b, language, instance.area_by_id[b["area"]].label if b.get("area") else None,
                                   names.get(b.get("specialty") or "")) for b in broken] + [""]
    out += ["## " + _("Posts per training region and year"), "",
            "| " + " | ".join([_("region"), _("specialty")] + [str(first + k) for k in range(len(plan.years))])
            + " |", "|---|---|" + "---:|" * len(plan.years)]
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * len(plan.years))
    for k, plan_year in enumerate(plan.years):
        for row in plan_year.rows:
            totals[(row.region, row.specialty)][k] += row.posts
    for (region, specialty), values in sorted(totals.items()):
        out.append(f"| {instance.area_by_id[region].label} | {names.get(specialty, specialty)} | "
                   + " | ".join(n.posts(v) for v in values) + " |")
    out.append("")
    return "\n".join(out)


def write_horizon_plan(horizon: HorizonInstance, plan: HorizonPlan, out: Target, *, xlsx: bool = True,
                       include_plan: bool = True, language: str = "en") -> list[Path]:
    """Write plan.csv, projection.csv, plan.json, summary.md (in ``language``) and (unless ``xlsx`` is False)
    plan.xlsx."""
    files: dict[str, Callable[[], str | bytes]] = {}
    if include_plan:
        files["plan.csv"] = lambda: horizon_plan_csv(plan)
    files["projection.csv"] = lambda: projection_csv(plan.projection)
    files["plan.json"] = lambda: horizon_plan_json(plan)
    files["summary.md"] = lambda: horizon_summary(horizon, plan, language)
    if xlsx:
        files["plan.xlsx"] = lambda: horizon_plan_xlsx(plan)
    return write_files(out, files)


__all__ = ["write_horizon_plan", "horizon_plan_csv", "projection_csv", "horizon_plan_json", "horizon_summary"]
