"""Step 8: write a plan as CSV, XLSX, JSON and a Markdown summary."""

from __future__ import annotations

import datetime
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl

from allocator.io.schemas import Instance
from allocator.results.plan import Plan, PlanTable
from allocator.writers.language import Numbers, translations
from allocator.writers.output import Target, write_files
from allocator.writers.text import MEMO_AREAS, format_number, gathered, text_column

#: Without --xlsx/--no-xlsx, plan.xlsx is written only for plans up to this many rows.
XLSX_AUTO_ROWS = 20_000


#: The creation date written into plan.xlsx, fixed so that the same plan gives the same workbook.
_EPOCH = datetime.datetime(2000, 1, 1)


PLAN_COLUMNS = ["area", "area_name", "region", "specialty", "posts", "target", "previous", "change",
                "min", "max", "binding", "underserved", "need_index"]


def _plan_frame(plan: Plan, *, json: bool) -> pl.DataFrame:
    """The plan's columns in PLAN_COLUMNS order: as text for CSV, or as typed values for JSON."""
    table = plan.table
    leaf, change = table.leaf, table.change()
    empty_as_null = not json  # an empty cell in CSV; an empty string in JSON
    columns: dict[str, Any] = {
        name: gathered(names, codes, empty_as_null=empty_as_null)
        for name, names, codes in (("area", table.leaf_ids, leaf), ("area_name", table.leaf_names, leaf),
                                   ("region", table.leaf_regions, leaf),
                                   ("specialty", table.specialty_ids, table.specialty))}
    if json:
        numbers = {"posts": table.posts, "target": table.target, "previous": table.previous, "change": change,
                   "min": table.min, "max": table.max}
        columns.update({name: pl.Series(values=values, dtype=pl.Float64, nan_to_null=True)
                        for name, values in numbers.items()})
        # A join on the label code: gathering a list column row by row took five times as long.
        labels = pl.DataFrame({"code": np.arange(len(table.binding_sets)),
                               "binding": pl.Series(values=[list(labels) for labels in table.binding_sets],
                                                    dtype=pl.List(pl.String))})
        columns["binding"] = pl.DataFrame({"code": table.binding}).join(
            labels, on="code", how="left", maintain_order="left")["binding"]
        columns["underserved"] = pl.Series(values=table.leaf_underserved, dtype=pl.Boolean).gather(leaf)
        columns["need_index"] = pl.Series(values=table.leaf_need_index, dtype=pl.Float64).gather(leaf)
    else:
        columns.update({"posts": text_column(table.posts), "target": text_column(table.target, "{:.4f}".format),
                        "previous": text_column(table.previous), "change": text_column(change),
                        "min": text_column(table.min), "max": text_column(table.max)})
        columns["binding"] = gathered(["; ".join(labels) for labels in table.binding_sets], table.binding)
        columns["underserved"] = gathered(["no", "yes"], table.leaf_underserved.astype(np.int64)[leaf])
        columns["need_index"] = text_column(table.leaf_need_index, "{:.6f}".format).gather(leaf)
    return pl.DataFrame(columns)


def plan_csv(plan: Plan) -> str:
    """The plan table as CSV text, one row per cell (leaf area and specialty), byte-stable."""
    return ",".join(PLAN_COLUMNS) + "\n" + _plan_frame(plan, json=False).write_csv(
        include_header=False, line_terminator="\n", null_value="")


def plan_json(plan: Plan) -> bytes:
    """The plan rows and run metadata as UTF-8 JSON: the metadata indented, then one row per line."""
    document = {"instance": plan.instance, "model": plan.model, "unit": plan.unit,
                "objective": plan.objective, "metadata": plan.metadata, "rows": []}
    head = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    if not len(plan.rows):
        return head + b"\n"
    # polars writes each row as one line of JSON (ndjson); the lines become the items of "rows".
    buffer = io.BytesIO()
    _plan_frame(plan, json=True).write_ndjson(buffer)
    rows = buffer.getvalue().rstrip(b"\n").replace(b"\n", b",\n    ")
    return b"".join((head.removesuffix(b"[]\n}"), b"[\n    ", rows, b"\n  ]\n}\n"))


def _row_records(plan: Plan) -> list[dict[str, Any]]:
    """The rows as dicts in PLAN_COLUMNS order (for the workbook)."""
    return [{"area": row.area, "area_name": row.area_name, "region": row.region, "specialty": row.specialty,
             "posts": row.posts, "target": row.target, "previous": row.previous, "change": row.change,
             "min": row.min, "max": row.max, "binding": list(row.binding), "underserved": row.underserved,
             "need_index": row.need_index} for row in plan.rows]


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
    # Every string is a string: names such as '=cmd|...' or 'external:...' must not become formulas or links.
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False})
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


def _sums(codes: np.ndarray, size: int, table: PlanTable) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per code: posts, last year's posts over the rows that know it, how many rows know it, and target.

    Summed in row order (as Python's ``sum`` would add them), so the text stays the same to the last digit.
    """
    known = ~np.isnan(table.previous)
    return (np.bincount(codes, weights=table.posts, minlength=size),
            np.bincount(codes[known], weights=table.previous[known], minlength=size),
            np.bincount(codes[known], minlength=size), np.bincount(codes, weights=table.target, minlength=size))


class _MemoNumbers:
    """The numbers of a memo: English as plan.csv writes them (``924.5``, ``+3``); Danish in Danish notation
    (``924,5``, ``−3``, ``1.835.562``) through the report's :class:`~allocator.writers.language.Numbers`."""

    def __init__(self, language: str) -> None:
        self.numbers = None if language == "en" else Numbers(language)

    def posts(self, value: float | None) -> str:
        return format_number(value) if self.numbers is None else self.numbers.posts(value)

    def change(self, value: float) -> str:
        return f"{value:+g}" if self.numbers is None else self.numbers.signed(value)

    def decimal(self, value: float, digits: int) -> str:
        return f"{value:.{digits}f}" if self.numbers is None else self.numbers.decimal(value, digits)

    def figure(self, value: float) -> str:
        """Six significant digits (the objective), as ``%.6g`` gives them, in the language's notation."""
        text = f"{value:.6g}"
        if self.numbers is None or "e" in text:
            return text
        digits = len(text.split(".")[1]) if "." in text else 0
        return self.numbers.decimal(float(text), digits) if digits else self.numbers.whole(float(text))

    def count(self, value: int) -> str:
        return f"{value:,}" if self.numbers is None else self.numbers.whole(value)


def summary_markdown(instance: Instance, plan: Plan, language: str = "en") -> str:
    """The council memo: posts per area, totals per training region, change, under-served areas.

    ``language`` (``en`` or ``da``) picks the message catalogue and the notation of numbers.
    """
    _ = translations(language).gettext
    n = _MemoNumbers(language)

    def change(posts: float, previous: float | None) -> str:
        return "" if previous is None else n.change(posts - previous)

    names = {s.id: s.name or s.id for s in instance.specialties}
    specialties = instance.specialty_ids
    table = plan.table
    meta = plan.metadata
    out = ["# " + _("Allocation plan: %(instance)s") % {"instance": plan.instance}, ""]
    out.append("- " + _("Model: **%(model)s**") % {"model": plan.model}
               + (f" ({meta['model_description']})" if meta.get("model_description") else ""))
    out.append("- " + _("Posts are allocated in units of %(unit)s; every specialty's total is met exactly.")
               % {"unit": n.posts(plan.unit)})
    out.append("- " + _("Solved to proven optimality by `%(solver)s`, objective %(objective)s, and checked by the "
                        "independent verifier (totals, every bound, stability, units, objective).")
               % {"solver": meta.get("solver", "?"), "objective": n.figure(plan.objective)})
    out.append("- " + _("⚑ marks an area designated under-served."))
    out.append("")
    present = np.unique(table.leaf).tolist()
    leaves = sorted((table.leaf_ids[code] for code in present), key=lambda leaf: (instance.ancestors(leaf)[::-1], leaf))
    leaf_code = {table.leaf_ids[code]: code for code in present}

    out.append("## " + _("Totals per training region"))
    out.append("")
    out.append("| " + " | ".join([_("Training region"), _("Posts"), _("Last year"), _("Change"), _("Target")]) + " |")
    out.append("|---|---:|---:|---:|---:|")
    region_ids = sorted(set(table.leaf_regions))
    region_code = {region: k for k, region in enumerate(region_ids)}
    row_region = np.array([region_code[region] for region in table.leaf_regions], dtype=np.int64)[table.leaf]
    posts, previous, known, target = _sums(row_region, len(region_ids), table)
    for k in sorted(set(row_region.tolist()), key=region_ids.__getitem__):
        before = float(previous[k]) if known[k] else None
        out.append(f"| {instance.area_by_id[region_ids[k]].label} | {n.posts(posts[k])} "
                   f"| {n.posts(before)} | {change(posts[k], before)} | {n.decimal(target[k], 1)} |")
    out.append("")

    out.append("## " + _("Posts per area and specialty"))
    out.append("")
    if len(specialties) <= 6:
        specialty_code = {s: k for k, s in enumerate(table.specialty_ids)}
        by_cell = {(leaf, specialty): k for k, (leaf, specialty) in
                   enumerate(zip(table.leaf.tolist(), table.specialty.tolist()))}
        header = "| " + " | ".join([_("Area"), _("Training region"), *(names[s] for s in specialties), _("Total")]) + " |"
        out.append(header)
        out.append("|---|---|" + "---:|" * (len(specialties) + 1))
        changes = table.change()
        for leaf in leaves:
            cells = []
            rows = [by_cell.get((leaf_code[leaf], specialty_code.get(s, -1))) for s in specialties]
            for k in rows:
                if k is None:
                    cells.append("–")
                    continue
                moved = "" if np.isnan(changes[k]) else f" ({n.change(float(changes[k]))})"
                cells.append(f"{n.posts(table.posts[k])}{moved}")
            total = sum(float(table.posts[k]) for k in rows if k is not None)
            flag = " ⚑" if instance.area_by_id[leaf].underserved else ""
            out.append(f"| {instance.area_by_id[leaf].label}{flag} | "
                       f"{instance.area_by_id[instance.ancestors(leaf)[-1]].label} | "
                       + " | ".join(cells) + f" | {n.posts(total)} |")
        out.append("")
        out.append(_("Each cell shows the posts and, in brackets, the change against last year; "
                     "– marks a specialty the area does not offer."))
    else:
        # A memo lists at most MEMO_AREAS areas; with more leaves it lists their parents instead.
        by_parent = len(leaves) > MEMO_AREAS
        group_of = {leaf: (instance.area_by_id[leaf].parent or leaf) if by_parent else leaf for leaf in leaves}
        groups = list(dict.fromkeys(group_of[leaf] for leaf in leaves))
        out.append("| " + " | ".join([_("Parent area") if by_parent else _("Area"), _("Training region"),
                                      _("Posts (all specialties)"), _("Last year"), _("Change")]) + " |")
        out.append("|---|---|---:|---:|---:|")
        group_code = {group: k for k, group in enumerate(groups)}
        leaf_group = np.zeros(len(table.leaf_ids), dtype=np.int64)
        for leaf in leaves:
            leaf_group[leaf_code[leaf]] = group_code[group_of[leaf]]
        row_group = leaf_group[table.leaf]
        posts, previous, known, _sum = _sums(row_group, len(groups), table)
        first_row = np.full(len(groups), len(table), dtype=np.int64)
        np.minimum.at(first_row, row_group, np.arange(len(table)))
        for k, group in enumerate(groups):
            before = float(previous[k]) if known[k] else None
            flag = " ⚑" if instance.area_by_id[group].underserved else ""
            region = table.leaf_regions[int(table.leaf[first_row[k]])]
            out.append(f"| {instance.area_by_id[group].label}{flag} | {instance.area_by_id[region].label} "
                       f"| {n.posts(posts[k])} | {n.posts(before)} | {change(posts[k], before)} |")
        out.append("")
        if by_parent:
            out.append(_("%(count)s specialties, %(leaves)s leaf areas, summed per parent area here: the full table "
                         "is in plan.csv.") % {"count": n.count(len(specialties)), "leaves": n.count(len(leaves))})
        else:
            out.append(_("%(count)s specialties, every area: the full table is in plan.csv.")
                       % {"count": n.count(len(specialties))})
    out.append("")

    binding = np.flatnonzero(table.binding != 0)
    out.append("## " + _("Bounds that decide the plan"))
    out.append("")
    if len(binding):
        for row in (table.row(int(k)) for k in binding[:MEMO_AREAS]):
            out.append("- " + _("%(area)s, %(specialty)s: %(posts)s posts (target %(target)s); binding: %(binding)s")
                       % {"area": instance.area_by_id[row.area].label, "specialty": names[row.specialty],
                          "posts": n.posts(row.posts), "target": n.decimal(row.target, 2),
                          "binding": ", ".join(row.binding)})
        if len(binding) > MEMO_AREAS:
            out.append("- " + _("… and %(count)s more: see the `binding` column of plan.csv.")
                       % {"count": n.count(len(binding) - MEMO_AREAS)})
    else:
        out.append("- " + _("No bound binds: every area got its target rounded by the cost rule."))
    out.append("")
    return "\n".join(out)


#: Plans with more rows than this render plan.json in a second process (see write_files).
BACKGROUND_ROWS = 20_000


def write_plan(instance: Instance, plan: Plan, out: Target, *, xlsx: bool = True, language: str = "en") -> list[Path]:
    """Write plan.csv, plan.json, summary.md (in ``language``) and (unless ``xlsx`` is False) plan.xlsx into
    ``out``."""
    files: dict[str, Callable[[], str | bytes]] = {
        "plan.csv": lambda: plan_csv(plan),
        "plan.json": lambda: plan_json(plan),
        "summary.md": lambda: summary_markdown(instance, plan, language),
    }
    if xlsx:
        files["plan.xlsx"] = lambda: plan_xlsx(instance, plan)
    background = frozenset({"plan.json"}) if len(plan.rows) > BACKGROUND_ROWS else frozenset()
    return write_files(out, files, background)
