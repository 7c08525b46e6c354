"""Step 8: write a plan as CSV, XLSX, JSON and a Markdown summary."""

from __future__ import annotations

import datetime
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from allocator.columnar_text import (
    csv_fields,
    csv_lines,
    csv_table,
    encode_numbers,
    encode_repeated,
    encode_rows,
    encode_runs,
)
from allocator.io.schemas import Instance
from allocator.results.plan import Plan, PlanRow
from allocator.writers.output import write_files
from allocator.writers.text import MEMO_AREAS, format_number, format_numbers

#: Without --xlsx/--no-xlsx, plan.xlsx is written only for plans up to this many rows.
XLSX_AUTO_ROWS = 20_000


#: The creation date written into plan.xlsx, fixed so that the same plan gives the same workbook.
_EPOCH = datetime.datetime(2000, 1, 1)


PLAN_COLUMNS = ["area", "area_name", "region", "specialty", "posts", "target", "previous", "change",
                "min", "max", "binding", "underserved", "need_index"]


def _plan_columns(plan: Plan) -> list[Sequence[Any]]:
    """The plan's rows as columns in PLAN_COLUMNS order, ``change`` included."""
    if not plan.rows:
        return [()] * len(PLAN_COLUMNS)
    area, name, region, specialty, posts, target, previous, low, high, binding, underserved, index = zip(*plan.rows)
    change = [None if prev is None else value - prev for value, prev in zip(posts, previous)]
    return [area, name, region, specialty, posts, target, previous, change, low, high, binding, underserved, index]


def plan_csv(plan: Plan) -> str:
    """The plan table as CSV text, one row per cell (leaf area and specialty), byte-stable."""
    area, name, region, specialty, posts, target, previous, change, low, high, binding, underserved, index = \
        _plan_columns(plan)
    cells = [
        csv_fields(area), csv_fields(name), csv_fields(region), csv_fields(specialty), format_numbers(posts),
        [f"{t:.4f}" for t in target], format_numbers(previous), format_numbers(change), format_numbers(low), format_numbers(high),
        csv_fields(["; ".join(labels) for labels in binding]), ["yes" if flag else "no" for flag in underserved],
        encode_runs(index, "{:.6f}".format),
    ]
    return csv_table([PLAN_COLUMNS]) + csv_lines(cells)


def _row_records(plan: Plan) -> list[dict[str, Any]]:
    # Keys in PLAN_COLUMNS order; a dict display per row is the fastest way to build them.
    return [{"area": area, "area_name": name, "region": region, "specialty": specialty, "posts": posts,
             "target": target, "previous": previous, "change": None if previous is None else posts - previous,
             "min": low, "max": high, "binding": list(binding), "underserved": underserved, "need_index": index}
            for area, name, region, specialty, posts, target, previous, low, high, binding, underserved, index
            in plan.rows]


def plan_json(plan: Plan) -> str:
    """The plan rows and run metadata as JSON text."""
    document = {"instance": plan.instance, "model": plan.model, "unit": plan.unit,
                "objective": plan.objective, "metadata": plan.metadata, "rows": []}
    head = json.dumps(document, indent=2, ensure_ascii=False)
    if not plan.rows:
        return head + "\n"
    # One row per line. indent= would force json's slow Python encoder; the rows are encoded
    # column by column instead, to the same text (see allocator.columnar_text).
    area, name, region, specialty, posts, target, previous, change, low, high, binding, underserved, index = \
        _plan_columns(plan)
    columns = [encode_repeated(area), encode_repeated(name), encode_repeated(region), encode_repeated(specialty),
               encode_numbers(posts), encode_numbers(target), encode_numbers(previous), encode_numbers(change),
               encode_numbers(low), encode_numbers(high), encode_repeated(binding), encode_repeated(underserved),
               encode_runs(index)]  # one need index per leaf, shared by its cells
    rows = encode_rows(PLAN_COLUMNS, columns, separator=",\n    ")
    return head.removesuffix("[]\n}") + "[\n    " + rows + "\n  ]\n}\n"


def subtree_totals(instance: Instance, plan: Plan) -> list[dict[str, Any]]:
    """Posts, target and last year's posts summed per non-leaf area and specialty."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for row in plan.rows:
        for area in instance.ancestors(row.area)[1:]:
            cell = sums[(area, row.specialty)]
            cell[0] += row.posts
            cell[1] += row.target
            cell[2] += row.previous or 0.0
            cell[3] += row.previous is not None
    result = []
    for (area, specialty), (posts, target, previous, known) in sorted(sums.items()):
        result.append({"area": area, "area_name": instance.area_by_id[area].label,
                       "level": len(instance.ancestors(area)) - 1, "specialty": specialty,
                       "posts": posts, "target": round(target, 4), "previous": previous if known else None})
    return result


def plan_xlsx(instance: Instance, plan: Plan) -> bytes:
    """The plan as a workbook for spreadsheet users.

    Sheets: ``plan`` (every row, with a filter on each column), ``by area``
    (leaf areas down, specialties across: posts, empty where not offered) and
    ``totals`` (posts, target and last year per parent area and specialty).
    Written by XlsxWriter row by row, which is several times faster than
    openpyxl for a workbook of thousands of rows.
    """
    import xlsxwriter  # imported here: only runs that write a workbook pay for it

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    sheet = book.add_worksheet("plan")
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(plan.rows), len(PLAN_COLUMNS) - 1)
    sheet.write_row(0, 0, PLAN_COLUMNS)
    for number, record in enumerate(_row_records(plan), start=1):
        record["binding"] = "; ".join(record["binding"])
        record["underserved"] = "yes" if record["underserved"] else "no"
        sheet.write_row(number, 0, list(record.values()))

    specialties = sorted({row.specialty for row in plan.rows})
    by_area = book.add_worksheet("by area")
    by_area.freeze_panes(1, 2)
    by_area.write_row(0, 0, ["area", "area_name", *specialties, "total"])
    posts: dict[str, dict[str, float]] = defaultdict(dict)
    names: dict[str, str] = {}
    for row in plan.rows:
        posts[row.area][row.specialty] = row.posts
        names[row.area] = row.area_name
    leaves = sorted(posts, key=lambda leaf: (instance.ancestors(leaf)[::-1], leaf))
    for number, area in enumerate(leaves, start=1):
        cells = posts[area]
        by_area.write_row(number, 0, [area, names[area], *[cells.get(s) for s in specialties], sum(cells.values())])

    totals = book.add_worksheet("totals")
    columns = ["area", "area_name", "level", "specialty", "posts", "target", "previous"]
    totals.write_row(0, 0, columns)
    for number, record in enumerate(subtree_totals(instance, plan), start=1):
        totals.write_row(number, 0, [record[name] for name in columns])
    book.set_properties({"created": _EPOCH})
    book.close()
    return buffer.getvalue()


def summary_markdown(instance: Instance, plan: Plan) -> str:
    """The council memo: posts per area, totals per training region, change, under-served areas."""
    names = {s.id: s.name or s.id for s in instance.specialties}
    specialties = instance.specialty_ids
    meta = plan.metadata
    out = [f"# Allocation plan: {plan.instance}", ""]
    out.append(f"- Model: **{plan.model}**" + (f" ({meta['model_description']})" if meta.get("model_description") else ""))
    out.append(f"- Posts are allocated in units of {plan.unit:g}; every specialty's total is met exactly.")
    out.append(f"- Solved to proven optimality by `{meta.get('solver', '?')}`, objective {plan.objective:.6g}, "
               "and checked by the independent verifier (totals, every bound, stability, units, objective).")
    out.append("- ⚑ marks an area designated under-served.")
    out.append("")
    leaves = sorted({row.area for row in plan.rows}, key=lambda leaf: (instance.ancestors(leaf)[::-1], leaf))

    out.append("## Totals per training region")
    out.append("")
    out.append("| Training region | Posts | Last year | Change | Target |")
    out.append("|---|---:|---:|---:|---:|")
    regions: dict[str, list[PlanRow]] = defaultdict(list)
    for row in plan.rows:
        regions[row.region].append(row)
    for region in sorted(regions):
        rows = regions[region]
        posts = sum(r.posts for r in rows)
        known = [r for r in rows if r.previous is not None]
        previous = sum(r.previous or 0.0 for r in known) if known else None
        change = "" if previous is None else f"{posts - previous:+g}"
        out.append(f"| {instance.area_by_id[region].label} | {format_number(posts)} | {format_number(previous)} "
                   f"| {change} | {sum(r.target for r in rows):.1f} |")
    out.append("")

    out.append("## Posts per area and specialty")
    out.append("")
    if len(specialties) <= 6:
        by_cell = {(row.area, row.specialty): row for row in plan.rows}
        header = "| Area | Training region | " + " | ".join(names[s] for s in specialties) + " | Total |"
        out.append(header)
        out.append("|---|---|" + "---:|" * (len(specialties) + 1))
        for leaf in leaves:
            cells = []
            for s in specialties:
                row = by_cell.get((leaf, s))
                if row is None:
                    cells.append("–")
                    continue
                change = "" if row.change is None else f" ({row.change:+g})"
                cells.append(f"{format_number(row.posts)}{change}")
            total = sum(by_cell[(leaf, s)].posts for s in specialties if (leaf, s) in by_cell)
            flag = " ⚑" if instance.area_by_id[leaf].underserved else ""
            out.append(f"| {instance.area_by_id[leaf].label}{flag} | "
                       f"{instance.area_by_id[instance.ancestors(leaf)[-1]].label} | "
                       + " | ".join(cells) + f" | {format_number(total)} |")
        out.append("")
        out.append("Each cell shows the posts and, in brackets, the change against last year; "
                   "– marks a specialty the area does not offer.")
    else:
        # A memo lists at most MEMO_AREAS areas; with more leaves it lists their parents instead.
        by_parent = len(leaves) > MEMO_AREAS
        group_of = {leaf: (instance.area_by_id[leaf].parent or leaf) if by_parent else leaf for leaf in leaves}
        groups = list(dict.fromkeys(group_of[leaf] for leaf in leaves))
        out.append(f"| {'Parent area' if by_parent else 'Area'} | Training region | Posts (all specialties) "
                   "| Last year | Change |")
        out.append("|---|---|---:|---:|---:|")
        rows_of: dict[str, list[PlanRow]] = defaultdict(list)
        for row in plan.rows:
            rows_of[group_of[row.area]].append(row)
        for group in groups:
            rows = rows_of[group]
            posts = sum(r.posts for r in rows)
            known = [r for r in rows if r.previous is not None]
            previous = sum(r.previous or 0.0 for r in known) if known else None
            change = "" if previous is None else f"{posts - previous:+g}"
            flag = " ⚑" if instance.area_by_id[group].underserved else ""
            out.append(f"| {instance.area_by_id[group].label}{flag} | {instance.area_by_id[rows[0].region].label} "
                       f"| {format_number(posts)} | {format_number(previous)} | {change} |")
        out.append("")
        scope = f"{len(leaves):,} leaf areas, summed per parent area here" if by_parent else "every area"
        out.append(f"{len(specialties)} specialties, {scope}: the full table is in plan.csv.")
    out.append("")

    binding = [row for row in plan.rows if row.binding]
    out.append("## Bounds that decide the plan")
    out.append("")
    if binding:
        for row in binding[:MEMO_AREAS]:
            out.append(f"- {instance.area_by_id[row.area].label}, {names[row.specialty]}: "
                       f"{format_number(row.posts)} posts (target {row.target:.2f}); binding: {', '.join(row.binding)}")
        if len(binding) > MEMO_AREAS:
            out.append(f"- … and {len(binding) - MEMO_AREAS:,} more: see the `binding` column of plan.csv.")
    else:
        out.append("- No bound binds: every area got its target rounded by the cost rule.")
    out.append("")
    return "\n".join(out)


#: Plans with more rows than this render plan.json in a second process (see write_files).
BACKGROUND_ROWS = 20_000


def write_plan(instance: Instance, plan: Plan, out: Path, *, xlsx: bool = True) -> list[Path]:
    """Write plan.csv, plan.json, summary.md and (unless ``xlsx`` is False) plan.xlsx into ``out``."""
    files: dict[str, Callable[[], str | bytes]] = {
        "plan.csv": lambda: plan_csv(plan),
        "plan.json": lambda: plan_json(plan),
        "summary.md": lambda: summary_markdown(instance, plan),
    }
    if xlsx:
        files["plan.xlsx"] = lambda: plan_xlsx(instance, plan)
    background = frozenset({"plan.json"}) if len(plan.rows) > BACKGROUND_ROWS else frozenset()
    return write_files(out, files, background)
