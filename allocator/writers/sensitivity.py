"""Write the sensitivity report as JSON and a Markdown memo."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from allocator.io.schemas import Instance
from allocator.writers.output import Target, write_files
from allocator.writers.text import MEMO_AREAS, csv_text, format_number, text_column

if TYPE_CHECKING:
    from allocator.reports.sensitivity import SensitivityReport


def sensitivity_json(report: SensitivityReport) -> str:
    """The sensitivity report as JSON (see docs/formats.md)."""
    document = {
        "instance": report.instance, "model": report.model, "objective": report.objective,
        "settings": report.settings,
        "binding_bounds": [{"rule": b.rule, "kind": b.kind, "text": b.text, "side": b.side,
                            "relax_by_one_unit": b.relax, "tighten_by_one_unit": b.tighten,
                            "lp_dual_conditional_on_plan": b.lp_dual} for b in report.binding],
        "total_ranging": {specialty: [{"delta": step.delta, "infeasible": True} if step.posts is None else
                                      {"delta": step.delta, "posts": step.posts, "objective": step.objective,
                                       "found_by": step.method}
                                      for step in steps] for specialty, steps in report.ranging.items()},
        "next_post_margin": report.margins,
        "priority": report.priority,
        "weight_ranges": [{"weight": w.weight, "value": w.value,
                           "low": {"inside": w.low.inside, "outside": w.low.outside, "gains": w.low.gains,
                                   "losses": w.low.losses},
                           "high": {"inside": w.high.inside, "outside": w.high.outside, "gains": w.high.gains,
                                    "losses": w.high.losses}} for w in report.weights],
        "alternative_optima": None if report.alternatives is None else {
            "unique": report.alternatives.unique, "tied_exchanges": report.alternatives.count,
            "exchanges": report.alternatives.exchanges, "tie_rule": report.alternatives.tie_rule,
            **({} if report.alternatives.moves is None else {"tied_moves": report.alternatives.moves})},
        "robustness": None if report.robustness is None else {
            "draws": report.robustness.draws, "noise": report.robustness.noise, "seed": report.robustness.seed,
            "infeasible_draws": report.robustness.infeasible, "cells": report.robustness.cells},
        "areas": [{"area": a.area, "specialty": a.specialty, "need_index": a.need_index, "ratios": a.ratios,
                   "target": a.target, "min": a.minimum, "max": a.maximum, "posts": a.posts, "reason": a.reason,
                   "explanation": a.sentence} for a in report.areas],
        "areas_up_the_tree": report.tree,
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


def sensitivity_markdown(report: SensitivityReport, unit: float, instance: Instance | None = None) -> str:
    """The sensitivity memo: the headline first, then each section."""
    out = [f"# How firm is the plan? {report.instance}, model {report.model}", ""]
    out += ["## Headline", "", "The three decisions closest to changing:", ""]
    out += [f"{i}. {line}" for i, line in enumerate(_fragile(report, unit), start=1)] or ["- none"]
    out += ["", "Next and last post of each specialty:", ""]
    for specialty, lists in report.priority.items():
        nxt = ", ".join(lists["next"][0]) if lists["next"] and lists["next"][0] else "—"
        last = ", ".join(lists["last"][0]) if lists["last"] and lists["last"][0] else "—"
        out.append(f"- {specialty}: the next post goes to {nxt}; the last post is taken from {last}.")
    out += scale_sections(report, unit, instance)
    out += ["", "## Binding rules", "",
            "Exact change in the objective when each tight rule is moved by one unit (a re-solve), and the LP "
            "dual of the relaxation around this plan (conditional on the plan; it may be degenerate).", "",
            "| rule | tight at | relax by one | tighten by one | LP dual (conditional) |", "|---|---|---:|---:|---:|"]
    for b in report.binding[:MEMO_AREAS]:
        def show(value: float | None) -> str:
            return "infeasible" if value is None else f"{value:+.4g}"
        dual = "—" if b.lp_dual is None else f"{b.lp_dual:+.4g}"
        out.append(f"| {b.text} | {b.side} | {show(b.relax)} | {show(b.tighten)} | {dual} |")
    if len(report.binding) > MEMO_AREAS:
        out.append(f"| … {len(report.binding) - MEMO_AREAS:,} more in sensitivity_rules.csv | | | | |")
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
        if a.moves is not None:
            if a.unique:
                out.append("Yes: no other plan has the same cost (no cycle of cost zero in the residual network of "
                           "the optimal flow changes a cell).")
            else:
                shown = "; ".join(f"{m['area']}/{m['specialty']} {m['change']:+g}" for m in a.moves[:10])
                out.append(f"No. {a.count:,} single changes of a cell have other optimal plans of exactly the same "
                           f"cost, e.g. {shown}{' …' if a.count > 10 else ''} (all in sensitivity_cells.csv).")
        elif a.unique:
            out.append("Yes, as far as single moves go: no move of one post from one area to another (within a "
                       "specialty) keeps every rule at the same cost, so no tied alternative was found.")
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


#: sensitivity.md lists this many rules, the ones worth most per post when relaxed.
TOP_RULES = 20


def _worth(bound: Any, unit: float) -> float:
    """What relaxing a rule by one post saves (0 when it saves nothing)."""
    return 0.0 if bound.relax is None else max(0.0, -bound.relax) / unit


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def rules_csv(report: SensitivityReport, unit: float) -> str:
    """sensitivity_rules.csv: every tight rule, its ±1 values and what relaxing it is worth per post."""
    rows = report.binding
    return csv_text(["rule", "kind", "tight_at", "relax_by_one_unit", "tighten_by_one_unit", "saved_per_post_relaxed",
                     "lp_dual_conditional_on_plan", "text"],
                    [[b.rule for b in rows], [b.kind for b in rows], [b.side for b in rows],
                     [_number(b.relax) for b in rows], [_number(b.tighten) for b in rows],
                     [_number(_worth(b, unit)) for b in rows], [_number(b.lp_dual) for b in rows],
                     [b.text for b in rows]], text={0, 7})


def _cell_facts(report: SensitivityReport) -> tuple[dict[tuple[str, str], dict[str, Any]], set[Any], set[Any]]:
    robust = {} if report.robustness is None else {(c["area"], c["specialty"]): c for c in report.robustness.cells}
    moves = (report.alternatives.moves or []) if report.alternatives is not None else []
    up = {(m["area"], m["specialty"]) for m in moves if m["change"] > 0}
    down = {(m["area"], m["specialty"]) for m in moves if m["change"] < 0}
    return robust, up, down


def cells_csv(report: SensitivityReport) -> str:
    """sensitivity_cells.csv: every cell with its posts, target, reason, tie verdicts and Monte Carlo range."""
    robust, up, down = _cell_facts(report)
    areas = report.areas
    empty: dict[str, Any] = {}

    def draws(area: Any, field: str) -> str:
        value = robust.get((area.area, area.specialty), empty).get(field)
        return "" if value is None else repr(float(value))

    return csv_text(["area", "specialty", "posts", "target", "min", "max", "reason", "tied_one_more",
                     "tied_one_fewer", "draws_min", "draws_median", "draws_max", "draws_keeping_count"],
                    [[a.area for a in areas], [a.specialty for a in areas],
                     text_column(np.array([a.posts for a in areas], dtype=float)),
                     [repr(a.target) for a in areas],
                     text_column(np.array([np.nan if a.minimum is None else a.minimum for a in areas], dtype=float)),
                     text_column(np.array([np.nan if a.maximum is None else a.maximum for a in areas], dtype=float)),
                     [a.reason for a in areas],
                     ["yes" if (a.area, a.specialty) in up else "no" for a in areas] if report.alternatives and
                     report.alternatives.moves is not None else ["" for _ in areas],
                     ["yes" if (a.area, a.specialty) in down else "no" for a in areas] if report.alternatives and
                     report.alternatives.moves is not None else ["" for _ in areas],
                     [draws(a, "min") for a in areas], [draws(a, "median") for a in areas],
                     [draws(a, "max") for a in areas], [draws(a, "keep_share") for a in areas]], text={0, 1, 6})


def scale_sections(report: SensitivityReport, unit: float, instance: Instance | None) -> list[str]:
    """The sections that read at any scale: the rules worth most, the nearest ties, and figures per area."""
    out = ["", f"## The {TOP_RULES} rules worth most per post", "",
           f"Of {len(report.binding):,} tight rules; every one is in sensitivity_rules.csv.", "",
           "| rule | tight at | saved by one more post | cost of one fewer post |", "|---|---|---:|---:|"]
    ranked = sorted(report.binding, key=lambda b: (-_worth(b, unit), b.rule))[:TOP_RULES]
    for b in ranked:
        tighten = "infeasible" if b.tighten is None else f"{b.tighten / unit:+.4g}"
        out.append(f"| {b.text} | {b.side} | {_worth(b, unit):.4g} | {tighten} |")
    if report.margins:
        out += ["", "## Specialties whose next post is closest to a tie", "",
                "How much more the next post would cost anywhere but where it goes (0: tied).", "",
                "| specialty | next post goes to | margin |", "|---|---|---:|"]
        ordered = sorted(report.margins.items(), key=lambda kv: (math.inf if kv[1] is None else kv[1], kv[0]))
        for specialty, margin in ordered[:TOP_RULES]:
            nxt = report.priority.get(specialty, {}).get("next") or [[]]
            where = ", ".join(nxt[0]) if nxt and nxt[0] else "—"
            out.append(f"| {specialty} | {where} | {'nowhere else' if margin is None else f'{margin:.4g}'} |")
    if instance is not None and len({a.area for a in report.areas}) > MEMO_AREAS and report.tree:
        # Every level of the tree, top down, as far as MEMO_AREAS rows go; every row is in sensitivity.json.
        levels = sorted({row["level"] for row in report.tree})
        shown = [level for k, level in enumerate(levels)
                 if sum(row["level"] in levels[:k + 1] for row in report.tree) <= MEMO_AREAS] or levels[:1]
        rows = [row for row in report.tree if row["level"] in shown]
        note = "" if len(rows) == len(report.tree) else \
            f" Levels below {max(shown)} are in sensitivity.json (areas_up_the_tree)."
        out += ["", "## Per area, summed up the tree", "",
                f"{len(report.areas):,} cells; each area above the leaves sums its own, level by level (0 at the "
                f"top). Each cell is in sensitivity_cells.csv.{note}",
                "", "| area | level | leaves | cells | posts | target | cells with a tied alternative "
                "| cells that change in some draw | lowest share of draws keeping a count |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in rows:
            moving, keep = row["cells_changing_in_some_draw"], row["lowest_share_of_draws_keeping_a_count"]
            out.append(f"| {'· ' * row['level']}{row['area']} | {row['level']} | {row['leaves']:,} | {row['cells']:,} "
                       f"| {format_number(row['posts'])} | {row['target']:.2f} "
                       f"| {row['cells_with_tied_alternative']:,} | {'—' if moving is None else f'{moving:,}'} "
                       f"| {'—' if keep is None else f'{keep:.0%}'} |")
    return out


def write_sensitivity(out: Target, report: SensitivityReport, unit: float,
                      instance: Instance | None = None) -> list[Path]:
    """Write sensitivity.json, sensitivity.md, sensitivity_rules.csv and sensitivity_cells.csv into ``out``."""
    return write_files(out, {"sensitivity.json": lambda: sensitivity_json(report),
                             "sensitivity.md": lambda: sensitivity_markdown(report, unit, instance),
                             "sensitivity_rules.csv": lambda: rules_csv(report, unit),
                             "sensitivity_cells.csv": lambda: cells_csv(report)})
