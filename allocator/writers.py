"""Step 8: write a plan as CSV, XLSX, JSON and a Markdown summary.

Every file is written to a temporary name in the target folder and renamed
into place, so a crash or Ctrl-C never leaves a half-written plan.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

from allocator.columnar_text import (
    csv_fields,
    csv_lines,
    csv_table,
    encode_numbers,
    encode_repeated,
    encode_rows,
    encode_runs,
)
from allocator.errors import InputError, Location
from allocator.plan import Plan, PlanRow
from allocator.schemas import Instance

if TYPE_CHECKING:
    from allocator.apportion import Apportionment
    from allocator.compare import Comparison
    from allocator.diagnose import Diagnosis
    from allocator.sensitivity import SensitivityReport

#: Without --xlsx/--no-xlsx, plan.xlsx is written only for plans up to this many rows.
XLSX_AUTO_ROWS = 20_000

#: summary.md lists at most this many areas (or binding cells); a larger plan is summed per parent area.
MEMO_AREAS = 300

#: The creation date written into plan.xlsx, fixed so that the same plan gives the same workbook.
_EPOCH = datetime.datetime(2000, 1, 1)

PLAN_COLUMNS = ["area", "area_name", "region", "specialty", "posts", "target", "previous", "change",
                "min", "max", "binding", "underserved", "need_index"]


def format_number(value: float | None) -> str:
    """A post count as text: ``12``, ``12.5``; empty for None."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 9))


def _numbers(values: Sequence[float | None]) -> list[str]:
    """:func:`format_number` over a whole column."""
    try:
        if all(map(float.is_integer, values)):  # whole posts, the usual case: one C-level pass
            # Few distinct counts, and equal whole floats (0.0, -0.0) print alike: format each once.
            text = {value: "%d" % value for value in set(values)}
            return [text[value] for value in values]
    except TypeError:  # a None among them
        pass
    return ["" if v is None else str(int(v)) if v.is_integer() else repr(round(v, 9)) for v in values]


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
        csv_fields(area), csv_fields(name), csv_fields(region), csv_fields(specialty), _numbers(posts),
        [f"{t:.4f}" for t in target], _numbers(previous), _numbers(change), _numbers(low), _numbers(high),
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


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an output path that is a file, or a folder that already holds files unless ``force``."""
    if out.exists() and not out.is_dir():
        raise InputError("the output path is a file, not a folder", where=Location(out),
                         fix="name a folder for --out")
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError("the output folder already holds files", where=Location(out),
                         fix="choose an empty or new folder, or add --force to replace this run's files")


def prepare_output_dir(out: Path, force: bool) -> None:
    """:func:`check_output_dir`, then create the folder."""
    check_output_dir(out, force)
    out.mkdir(parents=True, exist_ok=True)


def _stage(out: Path, name: str, content: str | bytes, handle: int | None = None,
           temporary: Path | None = None) -> Path:
    """Write ``content`` to a hidden temporary file in ``out``, synced to disk, and return its path."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if handle is None or temporary is None:
        handle, name_on_disk = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
        temporary = Path(name_on_disk)
    try:
        # mkstemp makes the file private (0600); give it the permissions a normal write would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(handle, 0o666 & ~umask)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to a temporary file beside ``path``, then rename it into place."""
    temporary = _stage(path.parent, path.name, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _render_in_child(out: Path, name: str, make: Callable[[], str | bytes]) -> tuple[int, Path]:
    """Fork a process that renders one file into a hidden temporary file; return its pid and the file."""
    handle, name_on_disk = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
    pid = os.fork()
    if pid == 0:  # the child: render, write, and leave without running the parent's clean-up
        status = 1
        try:
            _stage(out, name, make(), handle, Path(name_on_disk))
            status = 0
        finally:
            os._exit(status)
    os.close(handle)
    return pid, Path(name_on_disk)


def write_files(out: Path, files: dict[str, Callable[[], str | bytes]],
                background: frozenset[str] = frozenset()) -> list[Path]:
    """Render every file, then move each into ``out``; nothing appears there if any rendering fails.

    Files named in ``background`` are rendered by a forked process while this
    one renders the rest (on a 2-core machine a 50,000-row plan.json and
    plan.csv then cost the time of one). Without ``os.fork`` all render here.
    """
    children: dict[str, tuple[int, Path]] = {}
    staged: dict[str, Path] = {}
    try:
        if hasattr(os, "fork"):
            for name in background & files.keys():
                children[name] = _render_in_child(out, name, files[name])
        for name, make in files.items():
            if name not in children:
                staged[name] = _stage(out, name, make())
        for name, (pid, temporary) in list(children.items()):
            _, status = os.waitpid(pid, 0)
            del children[name]
            if os.waitstatus_to_exitcode(status) != 0:
                temporary.unlink(missing_ok=True)
                staged[name] = _stage(out, name, files[name]())  # again here, to raise the real error
            else:
                staged[name] = temporary
        written = []
        for name in files:
            os.replace(staged.pop(name), out / name)
            written.append(out / name)
        return written
    except BaseException:
        for pid, temporary in children.values():
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            temporary.unlink(missing_ok=True)
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        raise


def write_diagnosis(out: Path, instance_name: str, diagnosis: Diagnosis) -> list[Path]:
    """Write diagnosis.json and diagnosis.md (why no plan exists, and the smallest fix) into ``out``."""
    return write_files(out, {
        "diagnosis.json": lambda: json.dumps(diagnosis.as_json(), indent=2, ensure_ascii=False) + "\n",
        "diagnosis.md": lambda: diagnosis.as_markdown(instance_name),
    })


def sensitivity_json(report: SensitivityReport) -> str:
    """The sensitivity report as JSON (see docs/formats.md)."""
    document = {
        "instance": report.instance, "model": report.model, "objective": report.objective,
        "settings": report.settings,
        "binding_bounds": [{"rule": b.rule, "kind": b.kind, "text": b.text, "side": b.side,
                            "relax_by_one_unit": b.relax, "tighten_by_one_unit": b.tighten,
                            "lp_dual_conditional_on_plan": b.lp_dual} for b in report.binding],
        "total_ranging": {specialty: [{"delta": step.delta, "infeasible": True} if step.posts is None else
                                      {"delta": step.delta, "posts": step.posts, "objective": step.objective}
                                      for step in steps] for specialty, steps in report.ranging.items()},
        "priority": report.priority,
        "weight_ranges": [{"weight": w.weight, "value": w.value,
                           "low": {"inside": w.low.inside, "outside": w.low.outside, "gains": w.low.gains,
                                   "losses": w.low.losses},
                           "high": {"inside": w.high.inside, "outside": w.high.outside, "gains": w.high.gains,
                                    "losses": w.high.losses}} for w in report.weights],
        "alternative_optima": None if report.alternatives is None else {
            "unique": report.alternatives.unique, "tied_exchanges": report.alternatives.count,
            "exchanges": report.alternatives.exchanges, "tie_rule": report.alternatives.tie_rule},
        "robustness": None if report.robustness is None else {
            "draws": report.robustness.draws, "noise": report.robustness.noise, "seed": report.robustness.seed,
            "infeasible_draws": report.robustness.infeasible, "cells": report.robustness.cells},
        "areas": [{"area": a.area, "specialty": a.specialty, "need_index": a.need_index, "ratios": a.ratios,
                   "target": a.target, "min": a.minimum, "max": a.maximum, "posts": a.posts, "reason": a.reason,
                   "explanation": a.sentence} for a in report.areas],
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _fragile(report: SensitivityReport, unit: float, count: int = 3) -> list[str]:
    """The decisions closest to flipping: the cells that keep their count in the fewest noisy draws,
    or without a Monte Carlo, the rounded cells whose target sits nearest the rounding point."""
    if report.robustness is not None:
        sentences = {(a.area, a.specialty): a.sentence for a in report.areas}
        ranked = sorted(report.robustness.cells, key=lambda c: (c["keep_share"], c["area"], c["specialty"]))
        return [f"{sentences[(c['area'], c['specialty'])]} It keeps that count in {c['keep_share']:.0%} of "
                f"{report.robustness.draws} draws with {report.robustness.noise:.0%} noise on the need figures "
                f"(range {c['min']:g}–{c['max']:g})." for c in ranked[:count] if c["keep_share"] < 1.0]
    scored = []
    for area in report.areas:
        if area.reason not in {"target rounded", "rounding against a neighbour"}:
            continue
        fraction = area.target / unit - math.floor(area.target / unit)
        scored.append((abs(fraction - 0.5), area.area, area.specialty, area))
    lines = []
    for distance, _, _, area in sorted(scored)[:count]:
        lines.append(f"{area.sentence} Its target is {distance * unit:.3f} posts from the point where "
                     "rounding flips.")
    return lines


def sensitivity_markdown(report: SensitivityReport, unit: float) -> str:
    """The sensitivity memo: the headline first, then each section."""
    out = [f"# How firm is the plan? {report.instance}, model {report.model}", ""]
    out += ["## Headline", "", "The three decisions closest to changing:", ""]
    out += [f"{i}. {line}" for i, line in enumerate(_fragile(report, unit), start=1)] or ["- none"]
    out += ["", "Next and last post of each specialty:", ""]
    for specialty, lists in report.priority.items():
        nxt = ", ".join(lists["next"][0]) if lists["next"] and lists["next"][0] else "—"
        last = ", ".join(lists["last"][0]) if lists["last"] and lists["last"][0] else "—"
        out.append(f"- {specialty}: the next post goes to {nxt}; the last post is taken from {last}.")
    out += ["", "## Binding rules", "",
            "Exact change in the objective when each tight rule is moved by one unit (a re-solve), and the LP "
            "dual of the relaxation around this plan (conditional on the plan; it may be degenerate).", "",
            "| rule | tight at | relax by one | tighten by one | LP dual (conditional) |", "|---|---|---:|---:|---:|"]
    for b in report.binding:
        def show(value: float | None) -> str:
            return "infeasible" if value is None else f"{value:+.4g}"
        dual = "—" if b.lp_dual is None else f"{b.lp_dual:+.4g}"
        out.append(f"| {b.text} | {b.side} | {show(b.relax)} | {show(b.tighten)} | {dual} |")
    out += ["", "## Total ranging", "", "Who gets the next posts, in order, and who loses the last ones:", ""]
    for specialty, lists in report.priority.items():
        gains = "; ".join(f"+{i}: {', '.join(names) or '—'}" for i, names in enumerate(lists["next"], start=1))
        losses = "; ".join(f"-{i}: {', '.join(names) or '—'}" for i, names in enumerate(lists["last"], start=1))
        infeasible = [str(step.delta) for step in report.ranging[specialty] if step.posts is None]
        note = f" No plan exists at total {', '.join(infeasible)} units from today." if infeasible else ""
        out.append(f"- **{specialty}**: {gains}. Last posts: {losses}.{note}")
    if report.weights:
        out += ["", "## Weight ranges", "",
                "Each weight moved alone (the others held); the plan stays the same between the two values "
                "shown (ends found by bisection to 0.1% of the weight, within 1/1000 to 1000 times it).", "",
                "| weight | now | plan unchanged from | to | first change below | first change above |",
                "|---|---:|---:|---:|---|---|"]

        def moved(end: Any) -> str:
            if end.outside is None:
                return "none in the searched span"
            parts = [f"{g['area']}/{g['specialty']} {g['change']:+g}" for g in end.gains + end.losses]
            return f"at {end.outside:.4g}: " + ", ".join(parts[:6]) + (" …" if len(parts) > 6 else "")
        for w in report.weights:
            out.append(f"| {w.weight} | {w.value:g} | {w.low.inside:.4g} | {w.high.inside:.4g} | {moved(w.low)} "
                       f"| {moved(w.high)} |")
    if report.alternatives is not None:
        a = report.alternatives
        out += ["", "## Is this the only optimal plan?", ""]
        if a.unique:
            out.append("No single move of a post from one area to another (within a specialty) keeps every rule "
                       "at the same cost: no tied alternative was found.")
        else:
            moves = "; ".join(f"{e['specialty']}: {e['from']} → {e['to']}" for e in a.exchanges[:10])
            out.append(f"No. {a.count} moves of one post keep every rule at exactly the same cost, e.g. {moves}"
                       f"{' …' if a.count > 10 else ''}.")
        out.append(f"Tie rule: {a.tie_rule}.")
    if report.robustness is not None:
        r = report.robustness
        out += ["", "## Robustness", "",
                f"{r.draws} draws (seed {r.seed}), each population and indicator multiplied by 1 + e with "
                f"e ~ Normal(0, {r.noise:g}); {r.infeasible} draws had no plan.", "",
                "| area | specialty | posts | min | median | max | draws keeping the count |",
                "|---|---|---:|---:|---:|---:|---:|"]
        shown_cells = sorted(r.cells, key=lambda c: (c["keep_share"], c["area"], c["specialty"]))[:MEMO_AREAS]
        for c in shown_cells:
            def fmt(value: float | None) -> str:
                return "—" if value is None else f"{value:g}"
            out.append(f"| {c['area']} | {c['specialty']} | {fmt(c['posts'])} | {fmt(c['min'])} | "
                       f"{fmt(c['median'])} | {fmt(c['max'])} | {c['keep_share']:.0%} |")
        if len(r.cells) > len(shown_cells):
            out.append(f"| … | {len(r.cells) - len(shown_cells):,} more cells in sensitivity.json | | | | | |")
    out += ["", "## Why each area got what it got", ""]
    shown = report.areas[:MEMO_AREAS]
    out += [f"- {area.sentence}" for area in shown]
    if len(report.areas) > len(shown):
        out.append(f"- … {len(report.areas) - len(shown):,} more in sensitivity.json.")
    return "\n".join(out) + "\n"


def write_sensitivity(out: Path, report: SensitivityReport, unit: float) -> list[Path]:
    """Write sensitivity.json and sensitivity.md into ``out``."""
    return write_files(out, {"sensitivity.json": lambda: sensitivity_json(report),
                             "sensitivity.md": lambda: sensitivity_markdown(report, unit)})


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


def apportionment_csv(result: Apportionment) -> str:
    """apportionment.csv: ``area,posts,quota``, one row per area in table order (quota to 6 decimals)."""
    return csv_table([("area", "posts", "quota"),
                      *((area, posts, f"{float(quota):.6f}")
                        for area, posts, quota in zip(result.areas, result.posts, result.quotas))])


def write_apportionment(out: Path, result: Apportionment, inputs: dict[str, str]) -> list[Path]:
    """Write apportionment.csv and apportionment.json (with the priority list ``next``) into ``out``."""
    document = {**result.as_json(), "inputs": inputs}
    return write_files(out, {
        "apportionment.csv": lambda: apportionment_csv(result),
        "apportionment.json": lambda: json.dumps(document, indent=2, ensure_ascii=False) + "\n",
    })


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
    return csv_table(rows)


def comparison_json(comparison: Comparison) -> str:
    """comparison.json (see docs/formats.md)."""
    from allocator.compare import same_plans

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
    from allocator.compare import explain, same_plans

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


def write_comparison(out: Path, comparison: Comparison) -> list[Path]:
    """Write comparison.csv, comparison.json and comparison.md into ``out``."""
    return write_files(out, {
        "comparison.csv": lambda: comparison_csv(comparison),
        "comparison.json": lambda: comparison_json(comparison),
        "comparison.md": lambda: comparison_markdown(comparison),
    })
