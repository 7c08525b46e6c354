"""Write the sensitivity report as JSON and a Markdown memo."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from allocator.io.schemas import Instance
from allocator.writers.language import MemoNumbers, translations
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


class _Words:
    """The sentences of sensitivity.md in one language: the report's own English text as it is, or the same
    figures worded through the catalogue (``facts`` of the report's rows, the rules from the instance)."""

    def __init__(self, language: str, instance: Instance | None) -> None:
        self.english = language == "en"
        self.catalogue = translations(language)
        self._ = self.catalogue.gettext
        self.n = MemoNumbers(language)
        self.instance = instance

    def area(self, area: Any) -> str:
        """Why ``area`` (an AreaExplanation) got its posts, in one sentence."""
        facts = area.facts
        if self.english or not facts:
            return str(area.sentence)
        _, f = self._, self.n.formatted
        figures = _("%(area)s gets %(posts)s posts of %(specialty)s against a target of %(target)s") % {
            "area": facts["area_name"], "posts": f(area.posts, "g"), "specialty": facts["specialty_name"],
            "target": f(area.target, ".2f")}
        if area.reason == "target rounded":
            return _("%(figures)s: its target, rounded.") % {"figures": figures}
        if area.reason == "bound":
            return _("%(figures)s, because a limit holds it there (%(binding)s).") % {
                "figures": figures, "binding": ", ".join(facts["binding"])}
        if area.reason == "stability":
            return _("%(figures)s: closer to last year's %(previous)s, because the model charges %(weight)s for each "
                     "post changed.") % {"figures": figures, "previous": f(facts["previous"], "g"),
                                         "weight": f(facts["stability_weight"], "g")}
        if area.reason == "under-served weight":
            return _("%(figures)s: above its rounded target, because a shortfall in an under-served area costs "
                     "%(weight)s times as much.") % {"figures": figures, "weight": f(facts["underserved_weight"], "g")}
        sentence = _("%(figures)s: %(difference)s fewer than its rounded target, because the %(total)s posts of "
                     "%(specialty)s must add up exactly and other areas' claims to the last posts weighed more.") \
            if facts["difference"] < 0 else \
            _("%(figures)s: %(difference)s more than its rounded target, because the %(total)s posts of "
              "%(specialty)s must add up exactly and other areas' claims to the last posts weighed more.")
        return sentence % {"figures": figures, "difference": f(abs(facts["difference"]), "g"),
                           "total": f(facts["total"], "g"), "specialty": facts["specialty_name"]}

    def _posts(self, value: float) -> str:
        count = 1 if value == 1 else 2
        return self.catalogue.ngettext("%(count)s post", "%(count)s posts", count) % {"count": self.n.posts(value)}

    def _unit_note(self, value: float, units: float) -> str:
        unit = float(self.instance.unit) if self.instance is not None else 1.0
        if abs(units * unit - value) <= 1e-9 * max(1.0, abs(value)):
            return ""
        return " " + self._("(in units of %(unit)s: %(posts)s)") % {"unit": self.n.posts(unit),
                                                                   "posts": self._posts(units * unit)}

    def rule(self, bound: Any) -> str:
        """A tight rule (a BindingBound) in words: the report's text in English, else worded from the instance."""
        instance = self.instance
        if self.english or instance is None:
            return str(bound.text)
        _ = self._
        names = {s.id: s.name or s.id for s in instance.specialties}
        kind, _open, rest = bound.rule.partition("[")
        key = rest.removesuffix("]")
        if kind == "total" and key in names:
            total = next(s.total for s in instance.specialties if s.id == key)
            return _("the national total of %(specialty)s is %(posts)s") % {"specialty": names[key],
                                                                           "posts": self._posts(total)}
        if kind == "stability" and bound.facts:
            return _("a cell may change by at most %(change)s posts from last year (%(cells)s cells are at that "
                     "limit)") % {"change": self.n.formatted(bound.facts["max_change"], "g"),
                                  "cells": self.n.formatted(bound.facts["cells"], "d")}
        area, _bar, specialty = key.partition("|")
        limits = instance.bound_at.get((area, None if specialty == "*" else specialty))
        if kind != "bound" or limits is None or area not in instance.area_by_id:
            return str(bound.text)  # a rule this writer does not know: the report's own words
        unit = float(instance.unit)
        parts = []
        if limits.min is not None:
            parts.append(_("at least %(posts)s") % {"posts": self._posts(limits.min)}
                         + self._unit_note(limits.min, math.ceil(limits.min / unit - 1e-9)))
        if limits.max is not None:
            parts.append(_("at most %(posts)s") % {"posts": self._posts(limits.max)}
                         + self._unit_note(limits.max, math.floor(limits.max / unit + 1e-9)))
        joined = parts[0] if len(parts) == 1 else _("%(first)s and %(second)s") % {"first": parts[0],
                                                                                   "second": parts[1]}
        scope = names[specialty] if specialty != "*" else _("all specialties together")
        return _("%(area)s must get %(limits)s of %(scope)s") % {"area": instance.area_by_id[area].label,
                                                                 "limits": joined, "scope": scope}

    def side(self, side: str) -> str:
        """Where a rule is tight: ``min``, ``max``, ``total`` or ``max_change``."""
        _ = self._
        return {"min": _("min"), "max": _("max"), "total": _("total"), "max_change": _("max_change")}.get(side, side)

    def tie_rule(self, text: str) -> str:
        """The tie rule (the report's TIE_RULE) in the memo's language; another text as it is."""
        from allocator.reports.sensitivity import TIE_RULE

        if self.english or text != TIE_RULE:
            return text
        return self._("every backend proves the optimum; the plan written is the one the exact fast path returns for "
                      "the cells in sorted order (area id, then specialty id): greedy gives each next unit to the "
                      "cheapest cell, ties to the first in that order; min-cost flow is run on the network built in "
                      "that order (docs/mathematics.md, 'The tie rule')")


def _fragile(report: SensitivityReport, unit: float, words: _Words, count: int = 3) -> list[str]:
    """The decisions closest to flipping: the cells that keep their count in the fewest noisy draws,
    or without a Monte Carlo, the rounded cells whose target sits nearest the rounding point."""
    _, f = words._, words.n.formatted
    if report.robustness is not None:
        sentences = {(a.area, a.specialty): words.area(a) for a in report.areas}
        ranked = sorted(report.robustness.cells, key=lambda c: (c["keep_share"], c["area"], c["specialty"]))
        return [_("%(sentence)s It keeps that count in %(share)s of %(draws)s draws with %(noise)s noise on the need "
                  "figures (range %(low)s–%(high)s).")
                % {"sentence": sentences[(c["area"], c["specialty"])], "share": f(c["keep_share"], ".0%"),
                   "draws": report.robustness.draws, "noise": f(report.robustness.noise, ".0%"),
                   "low": f(c["min"], "g"), "high": f(c["max"], "g")} for c in ranked[:count] if c["keep_share"] < 1.0]
    scored = []
    for area in report.areas:
        if area.reason not in {"target rounded", "rounding against a neighbour"}:
            continue
        fraction = area.target / unit - math.floor(area.target / unit)
        scored.append((abs(fraction - 0.5), area.area, area.specialty, area))
    lines = []
    for distance, _area, _specialty, area in sorted(scored)[:count]:
        lines.append(_("%(sentence)s Its target is %(distance)s posts from the point where rounding flips.")
                     % {"sentence": words.area(area), "distance": f(distance * unit, ".3f")})
    return lines


def sensitivity_markdown(report: SensitivityReport, unit: float, instance: Instance | None = None,
                         language: str = "en") -> str:
    """The sensitivity memo: the headline first, then each section.

    ``language`` (``en`` or ``da``) picks the message catalogue and the notation of numbers, as summary.md's.
    """
    words = _Words(language, instance)
    _, f = words._, words.n.formatted
    out = ["# " + _("How firm is the plan? %(instance)s, model %(model)s") % {"instance": report.instance,
                                                                            "model": report.model}, ""]
    out += ["## " + _("Headline"), "", _("The three decisions closest to changing:"), ""]
    out += [f"{i}. {line}" for i, line in enumerate(_fragile(report, unit, words), start=1)] or ["- " + _("none")]
    out += ["", _("Next and last post of each specialty:"), ""]
    for specialty, lists in report.priority.items():
        nxt = ", ".join(lists["next"][0]) if lists["next"] and lists["next"][0] else "—"
        last = ", ".join(lists["last"][0]) if lists["last"] and lists["last"][0] else "—"
        out.append(f"- {specialty}: " + _("the next post goes to %(next)s; the last post is taken from %(last)s.")
                   % {"next": nxt, "last": last})
    out += scale_sections(report, unit, instance, language)
    out += ["", "## " + _("Binding rules"), "",
            _("Exact change in the objective when each tight rule is moved by one unit (a re-solve), and the LP "
              "dual of the relaxation around this plan (conditional on the plan; it may be degenerate)."), "",
            "| " + " | ".join([_("rule"), _("tight at"), _("relax by one"), _("tighten by one"),
                               _("LP dual (conditional)")]) + " |", "|---|---|---:|---:|---:|"]
    for b in report.binding[:MEMO_AREAS]:
        def show(value: float | None) -> str:
            return _("infeasible") if value is None else f(value, "+.4g")
        dual = "—" if b.lp_dual is None else f(b.lp_dual, "+.4g")
        out.append(f"| {words.rule(b)} | {words.side(b.side)} | {show(b.relax)} | {show(b.tighten)} | {dual} |")
    if len(report.binding) > MEMO_AREAS:
        out.append("| " + _("… %(count)s more in sensitivity_rules.csv")
                   % {"count": words.n.count(len(report.binding) - MEMO_AREAS)} + " | | | | |")
    out += ["", "## " + _("Total ranging"), "", _("Who gets the next posts, in order, and who loses the last ones:"),
            ""]
    for specialty, lists in report.priority.items():
        gains = "; ".join(f"+{i}: {', '.join(names) or '—'}" for i, names in enumerate(lists["next"], start=1))
        losses = "; ".join(f"-{i}: {', '.join(names) or '—'}" for i, names in enumerate(lists["last"], start=1))
        infeasible = [str(step.delta) for step in report.ranging[specialty] if step.posts is None]
        note = " " + _("No plan exists at total %(deltas)s units from today.") % {"deltas": ", ".join(infeasible)} \
            if infeasible else ""
        out.append(f"- **{specialty}**: {gains}. " + _("Last posts: %(losses)s.") % {"losses": losses} + note)
    if report.weights:
        out += ["", "## " + _("Weight ranges"), "",
                _("Each weight moved alone (the others held); the plan stays the same between the two values "
                  "shown (ends found by bisection to 0.1% of the weight, within 1/1000 to 1000 times it)."), "",
                "| " + " | ".join([_("weight"), _("now"), _("plan unchanged from"), _("to"), _("first change below"),
                                   _("first change above")]) + " |",
                "|---|---:|---:|---:|---|---|"]

        def moved(end: Any) -> str:
            if end.outside is None:
                return _("none in the searched span")
            parts = [f"{g['area']}/{g['specialty']} {f(g['change'], '+g')}" for g in end.gains + end.losses]
            return _("at %(value)s:") % {"value": f(end.outside, ".4g")} + " " + ", ".join(parts[:6]) \
                + (" …" if len(parts) > 6 else "")
        for w in report.weights:
            out.append(f"| {w.weight} | {f(w.value, 'g')} | {f(w.low.inside, '.4g')} | {f(w.high.inside, '.4g')} "
                       f"| {moved(w.low)} | {moved(w.high)} |")
    if report.alternatives is not None:
        a = report.alternatives
        out += ["", "## " + _("Is this the only optimal plan?"), ""]
        if a.moves is not None:
            if a.unique:
                out.append(_("Yes: no other plan has the same cost (no cycle of cost zero in the residual network of "
                             "the optimal flow changes a cell)."))
            else:
                shown = "; ".join(f"{m['area']}/{m['specialty']} {f(m['change'], '+g')}" for m in a.moves[:10])
                out.append(_("No. %(count)s single changes of a cell have other optimal plans of exactly the same "
                             "cost, e.g. %(examples)s (all in sensitivity_cells.csv).")
                           % {"count": f(a.count, ",d"), "examples": shown + (" …" if a.count > 10 else "")})
        elif a.unique:
            out.append(_("Yes, as far as single moves go: no move of one post from one area to another (within a "
                         "specialty) keeps every rule at the same cost, so no tied alternative was found."))
        else:
            moves = "; ".join(f"{e['specialty']}: {e['from']} → {e['to']}" for e in a.exchanges[:10])
            out.append(_("No. %(count)s moves of one post keep every rule at exactly the same cost, e.g. "
                         "%(examples)s.") % {"count": f(a.count, "d"),
                                             "examples": moves + (" …" if a.count > 10 else "")})
        out.append(_("Tie rule: %(rule)s.") % {"rule": words.tie_rule(a.tie_rule)})
    if report.robustness is not None:
        r = report.robustness
        out += ["", "## " + _("Robustness"), "",
                _("%(draws)s draws (seed %(seed)s), each population and indicator multiplied by 1 + e with "
                  "e ~ Normal(0, %(noise)s); %(infeasible)s draws had no plan.")
                % {"draws": r.draws, "seed": r.seed, "noise": f(r.noise, "g"), "infeasible": r.infeasible}, "",
                "| " + " | ".join([_("area"), _("specialty"), _("posts"), _("min"), _("median"), _("max"),
                                   _("draws keeping the count")]) + " |",
                "|---|---|---:|---:|---:|---:|---:|"]
        shown_cells = sorted(r.cells, key=lambda c: (c["keep_share"], c["area"], c["specialty"]))[:MEMO_AREAS]
        for c in shown_cells:
            def fmt(value: float | None) -> str:
                return "—" if value is None else f(value, "g")
            out.append(f"| {c['area']} | {c['specialty']} | {fmt(c['posts'])} | {fmt(c['min'])} | "
                       f"{fmt(c['median'])} | {fmt(c['max'])} | {f(c['keep_share'], '.0%')} |")
        if len(r.cells) > len(shown_cells):
            out.append("| … | " + _("%(count)s more cells in sensitivity.json")
                       % {"count": words.n.count(len(r.cells) - len(shown_cells))} + " | | | | | |")
    out += ["", "## " + _("Why each area got what it got"), ""]
    shown = report.areas[:MEMO_AREAS]
    out += [f"- {words.area(area)}" for area in shown]
    if len(report.areas) > len(shown):
        out.append("- " + _("… %(count)s more in sensitivity.json.")
                   % {"count": words.n.count(len(report.areas) - len(shown))})
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


def scale_sections(report: SensitivityReport, unit: float, instance: Instance | None,
                   language: str = "en") -> list[str]:
    """The sections that read at any scale: the rules worth most, the nearest ties, and figures per area."""
    words = _Words(language, instance)
    _, f, n = words._, words.n.formatted, words.n
    out = ["", "## " + _("The %(count)s rules worth most per post") % {"count": TOP_RULES}, "",
           _("Of %(count)s tight rules; every one is in sensitivity_rules.csv.") % {"count": n.count(len(report.binding))},
           "", "| " + " | ".join([_("rule"), _("tight at"), _("saved by one more post"), _("cost of one fewer post")])
           + " |", "|---|---|---:|---:|"]
    ranked = sorted(report.binding, key=lambda b: (-_worth(b, unit), b.rule))[:TOP_RULES]
    for b in ranked:
        tighten = _("infeasible") if b.tighten is None else f(b.tighten / unit, "+.4g")
        out.append(f"| {words.rule(b)} | {words.side(b.side)} | {f(_worth(b, unit), '.4g')} | {tighten} |")
    if report.margins:
        out += ["", "## " + _("Specialties whose next post is closest to a tie"), "",
                _("How much more the next post would cost anywhere but where it goes (0: tied)."), "",
                "| " + " | ".join([_("specialty"), _("next post goes to"), _("margin")]) + " |", "|---|---|---:|"]
        ordered = sorted(report.margins.items(), key=lambda kv: (math.inf if kv[1] is None else kv[1], kv[0]))
        for specialty, margin in ordered[:TOP_RULES]:
            nxt = report.priority.get(specialty, {}).get("next") or [[]]
            where = ", ".join(nxt[0]) if nxt and nxt[0] else "—"
            out.append(f"| {specialty} | {where} | {_('nowhere else') if margin is None else f(margin, '.4g')} |")
    if instance is not None and len({a.area for a in report.areas}) > MEMO_AREAS and report.tree:
        # Every level of the tree, top down, as far as MEMO_AREAS rows go; every row is in sensitivity.json.
        levels = sorted({row["level"] for row in report.tree})
        shown = [level for k, level in enumerate(levels)
                 if sum(row["level"] in levels[:k + 1] for row in report.tree) <= MEMO_AREAS] or levels[:1]
        rows = [row for row in report.tree if row["level"] in shown]
        note = "" if len(rows) == len(report.tree) else \
            " " + _("Levels below %(level)s are in sensitivity.json (areas_up_the_tree).") % {"level": max(shown)}
        posts = format_number if language == "en" else n.posts
        out += ["", "## " + _("Per area, summed up the tree"), "",
                _("%(count)s cells; each area above the leaves sums its own, level by level (0 at the top). Each "
                  "cell is in sensitivity_cells.csv.") % {"count": n.count(len(report.areas))} + note,
                "", "| " + " | ".join([_("area"), _("level"), _("leaves"), _("cells"), _("posts"), _("target"),
                                       _("cells with a tied alternative"), _("cells that change in some draw"),
                                       _("lowest share of draws keeping a count")]) + " |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in rows:
            moving, keep = row["cells_changing_in_some_draw"], row["lowest_share_of_draws_keeping_a_count"]
            out.append(f"| {'· ' * row['level']}{row['area']} | {row['level']} | {f(row['leaves'], ',d')} "
                       f"| {f(row['cells'], ',d')} | {posts(row['posts'])} | {f(row['target'], '.2f')} "
                       f"| {f(row['cells_with_tied_alternative'], ',d')} | {'—' if moving is None else f(moving, ',d')} "
                       f"| {'—' if keep is None else f(keep, '.0%')} |")
    return out


def write_sensitivity(out: Target, report: SensitivityReport, unit: float,
                      instance: Instance | None = None, language: str = "en") -> list[Path]:
    """Write sensitivity.json, sensitivity.md (in ``language``), sensitivity_rules.csv and sensitivity_cells.csv
    into ``out``."""
    return write_files(out, {"sensitivity.json": lambda: sensitivity_json(report),
                             "sensitivity.md": lambda: sensitivity_markdown(report, unit, instance, language),
                             "sensitivity_rules.csv": lambda: rules_csv(report, unit),
                             "sensitivity_cells.csv": lambda: cells_csv(report)})
