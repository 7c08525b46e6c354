"""Write the sensitivity report as JSON and a Markdown memo."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allocator.writers.output import Target, write_files
from allocator.writers.text import MEMO_AREAS

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


def write_sensitivity(out: Target, report: SensitivityReport, unit: float) -> list[Path]:
    """Write sensitivity.json and sensitivity.md into ``out``."""
    return write_files(out, {"sensitivity.json": lambda: sensitivity_json(report),
                             "sensitivity.md": lambda: sensitivity_markdown(report, unit)})
