"""Step 7c: hold several models side by side on one instance.

Each model is solved and verified as usual. The comparison lines the plans up
cell by cell, takes the deltas against the first model (the reference) and
against last year, and computes the equity metrics defined in
docs/formats.md (Equity metrics). It also explains in words who gains and who loses, and
why: a different target (need index, base, addition), a bound or stability
limit that holds the area, or only a different rounding rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocator.core.need import NeedBreakdown, need_breakdown
from allocator.core.problem import build_problem
from allocator.io.schemas import Instance, Model
from allocator.results.plan import Plan


@dataclass(frozen=True)
class Metrics:
    """The equity metrics of one plan (definitions in docs/formats.md, Equity metrics)."""

    per_100k_max_min: float | None
    per_100k_gini: float
    per_need_max_min: float | None
    underserved_share: float
    largest_deviation: float
    largest_deviation_cell: tuple[str, str]
    objective_own: float
    objective_reference: float

    def as_json(self) -> dict[str, Any]:
        """The metrics as a JSON object."""
        return {
            "posts_per_100k_max_min_ratio": self.per_100k_max_min,
            "posts_per_100k_gini": self.per_100k_gini,
            "posts_per_need_max_min_ratio": self.per_need_max_min,
            "underserved_share": self.underserved_share,
            "largest_deviation_from_target": self.largest_deviation,
            "largest_deviation_cell": {"area": self.largest_deviation_cell[0],
                                       "specialty": self.largest_deviation_cell[1]},
            "objective_own": self.objective_own,
            "objective_under_reference": self.objective_reference,
        }


@dataclass(frozen=True)
class Compared:
    """One model's plan and what was derived from it."""

    model: Model
    plan: Plan
    posts: np.ndarray
    targets: np.ndarray
    needs: dict[str, NeedBreakdown]
    metrics: Metrics


@dataclass(frozen=True)
class Comparison:
    """Plans of several models on one instance, cell by cell (``instance.cells`` order)."""

    instance: Instance
    cells: list[tuple[str, str]]
    previous: np.ndarray
    models: list[Compared]
    #: The model whose need measures posts per need, for every plan alike.
    need_yardstick: str

    @property
    def reference(self) -> Compared:
        """The first model: every delta and the common cost are taken against it."""
        return self.models[0]

    def leaf_posts(self, compared: Compared) -> dict[str, float]:
        """Posts per leaf, summed over specialties."""
        return _by_leaf(self.cells, compared.posts)

    def leaf_targets(self, compared: Compared) -> dict[str, float]:
        """Targets per leaf, summed over specialties."""
        return _by_leaf(self.cells, compared.targets)


def _by_leaf(cells: list[tuple[str, str]], values: np.ndarray) -> dict[str, float]:
    result: dict[str, float] = {}
    for (leaf, _), value in zip(cells, values.tolist()):
        result[leaf] = result.get(leaf, 0.0) + value
    return result


def max_min_ratio(values: list[float]) -> float | None:
    """max / min of ``values``; None when the smallest is 0 (the ratio is unbounded) or there are none."""
    if not values or min(values) <= 0:
        return None
    return max(values) / min(values)


def gini(values: list[float], weights: list[float]) -> float:
    """The weighted Gini coefficient: sum_ij w_i w_j |v_i - v_j| / (2 W^2 mean); 0 means all equal.

    The double sum is taken over the values in ascending order, where it equals
    2 sum_k w_k v_k (W_below_k - W_above_k): O(n log n) rather than O(n^2) (the pairwise sum took
    1.4 s of every 10.5 s a sweep worker spent on municipal scenarios; benchmarks/sweep_results.md).
    """
    w = np.asarray(weights, dtype=float)
    total_weight = math.fsum(w.tolist())
    if total_weight <= 0:
        return 0.0
    v = np.asarray(values, dtype=float)
    mean = math.fsum((w * v).tolist()) / total_weight
    if mean <= 0:
        return 0.0
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    below = np.cumsum(w) - w
    above = total_weight - below - w
    spread = 2 * math.fsum((w * v * (below - above)).tolist())
    return max(0.0, spread) / (2 * total_weight**2 * mean)


def _metrics(instance: Instance, cells: list[tuple[str, str]], posts: np.ndarray, targets: np.ndarray,
             reference_needs: dict[str, NeedBreakdown], objective_own: float, objective_reference: float) -> Metrics:
    leaves = instance.leaves
    per_leaf = _by_leaf(cells, posts)
    population = {leaf: instance.area_by_id[leaf].population or 0.0 for leaf in leaves}
    peopled = [leaf for leaf in leaves if population[leaf] > 0]
    per_100k = [per_leaf.get(leaf, 0.0) / population[leaf] * 100_000 for leaf in peopled]
    needy = [leaf for leaf in leaves if reference_needs[leaf].need > 0]
    per_need = [per_leaf.get(leaf, 0.0) / reference_needs[leaf].need for leaf in needy]
    total = math.fsum(posts.tolist())
    designated = math.fsum(per_leaf.get(leaf, 0.0) for leaf in leaves if instance.area_by_id[leaf].underserved)
    deviation = np.abs(posts - targets)
    worst = int(np.argmax(deviation)) if len(deviation) else 0
    return Metrics(
        per_100k_max_min=max_min_ratio(per_100k),
        per_100k_gini=gini(per_100k, [population[leaf] for leaf in peopled]),
        per_need_max_min=max_min_ratio(per_need),
        underserved_share=designated / total if total > 0 else 0.0,
        largest_deviation=float(deviation[worst]) if len(deviation) else 0.0,
        largest_deviation_cell=cells[worst] if cells else ("", ""),
        objective_own=objective_own,
        objective_reference=objective_reference,
    )


def plan_metrics(instance: Instance, plan: Plan, needs: dict[str, NeedBreakdown]) -> Metrics:
    """The equity metrics of one plan alone, posts per need measured by ``needs`` (a sweep's rows).

    The objective under the reference is the plan's own: there is no reference model.
    """
    table = plan.table
    return _metrics(instance, instance.cells, table.posts, table.target, needs, plan.objective, plan.objective)


def compare(instance: Instance, models: list[Model], *, solver: str = "auto",
            time_limit: float | None = None, need_model: Model | None = None) -> Comparison:
    """Solve ``instance`` under every model (each plan verified) and line the plans up.

    Parameters
    ----------
    need_model
        The model whose need is the yardstick of posts per need; the first
        model by default. With a population-only first model, posts per need
        would be posts per inhabitant again, so a need-based yardstick such as
        ``models/need-weighted.yaml`` says more.

    Raises
    ------
    ValueError
        When fewer than two models are given or two share a name.
    InfeasibleError
        When a model has no plan (the message names the model).
    """
    from allocator.errors import InfeasibleError
    from allocator.results.solve import solve

    names = [model.name for model in models]
    if len(models) < 2:
        raise ValueError("a comparison needs at least two models")
    if len(set(names)) < len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"two models are named {twice[0]!r}; give each model its own name")
    plans = []
    for model in models:
        try:
            plans.append(solve(instance, model, solver=solver, time_limit=time_limit))
        except InfeasibleError as exc:
            raise InfeasibleError(f"model '{model.name}': {exc}", exc.conflicts, exc.diagnosis) from None
    return line_up(instance, models, plans, need_model=need_model)


def line_up(instance: Instance, models: list[Model], plans: list[Plan], *,
            need_model: Model | None = None) -> Comparison:
    """Line up plans already solved (``plans[i]`` of ``models[i]`` on ``instance``), as :func:`compare` does.

    The what-if app (issue 16) holds its baseline plan and solves only the
    changed settings; this takes the deltas and the equity metrics of both.
    """
    cells = instance.cells
    unit = float(instance.unit)
    reference_problem = build_problem(instance, models[0])
    yardstick = need_model if need_model is not None else models[0]
    reference_needs = reference_problem.needs if need_model is None else need_breakdown(instance, need_model)
    previous_known = instance.previous_posts
    previous = np.array([previous_known.get(cell, np.nan) for cell in cells], dtype=float)
    results: list[Compared] = []
    for model, plan in zip(models, plans):
        posts = np.array([row.posts for row in plan.rows], dtype=float)
        targets = np.array([row.target for row in plan.rows], dtype=float)
        units = np.rint(posts / unit).astype(np.int64)
        metrics = _metrics(instance, cells, posts, targets, reference_needs, plan.objective,
                           reference_problem.total_cost(units))
        results.append(Compared(model, plan, posts, targets, need_breakdown(instance, model), metrics))
    return Comparison(instance, cells, previous, results, yardstick.name)


def _same(message: str) -> str:
    return message


#: Translates a message: the identity (English) unless a writer passes a catalogue's gettext.
Translate = Callable[[str], str]
#: Formats a figure as ``format(value, spec)`` would; a writer passes the notation of another language.
Figure = Callable[[float, str], str]


def _base_shares(instance: Instance, model: Model) -> dict[str, dict[str, float]]:
    """For a model with a list of bases: each base's share of every leaf (empty for a single base)."""
    from allocator.core.need import base_value

    if isinstance(model.base, str):
        return {}
    shares = {}
    for name in model.base:
        values = {leaf: base_value(instance, model, leaf, name) for leaf in instance.leaves}
        total = math.fsum(values.values())
        shares[name] = {leaf: value / total for leaf, value in values.items()}
    return shares


def _describe_need(compared: Compared, reference: Compared, leaf: str,
                   base_shares: dict[str, dict[str, float]], _: Translate = _same, figure: Figure = format) -> str:
    """Why ``leaf``'s need differs between two models, in a few words (``base_shares`` from :func:`_base_shares`)."""
    mine, theirs = compared.needs[leaf], reference.needs[leaf]
    reasons = []
    if abs(mine.index - theirs.index) > 1e-9:
        strongest = sorted(mine.ratios.items(), key=lambda item: -abs(item[1] - 1))[:2]
        detail = ", ".join(_("%(indicator)s %(ratio)s× the mean") % {"indicator": name.replace("_", " "),
                                                                      "ratio": figure(ratio, ".2f")}
                           for name, ratio in strongest)
        reasons.append(_("need index %(mine)s against %(theirs)s") % {"mine": figure(mine.index, ".2f"),
                                                                      "theirs": figure(theirs.index, ".2f")}
                       + (f" ({detail})" if detail else ""))
    if base_shares:
        shares = {name: of_leaf[leaf] for name, of_leaf in base_shares.items()}
        largest = max(shares, key=lambda name: shares[name])
        others = ", ".join(_("its %(base)s share %(share)s") % {"base": name, "share": figure(share, ".2%")}
                           for name, share in shares.items() if name != largest)
        reasons.append(_("its %(base)s share %(share)s is the largest of its shares (%(others)s)")
                       % {"base": largest, "share": figure(shares[largest], ".2%"), "others": others})
    elif compared.model.base != reference.model.base:
        reasons.append(_("its base is %(base)s, not %(other)s") % {"base": compared.model.base,
                                                                  "other": reference.model.base})
    addition = mine.need / (mine.base * mine.index) if mine.base * mine.index else 1.0
    if addition > 1 + 1e-9:
        reasons.append(_("%(share)s%% more need as a designated under-served area")
                       % {"share": figure((addition - 1) * 100, "g")})
    return "; ".join(reasons)


def _held(instance: Instance, compared: Compared, _: Translate = _same,
          figure: Figure = format) -> dict[str, list[str]]:
    """For every leaf, the bounds and limits that hold it in the plan of ``compared``, as words."""
    rows_of: dict[str, list[Any]] = {leaf: [] for leaf in instance.leaves}
    for row in compared.plan.rows:
        rows_of[row.area].append(row)
    return {leaf: _holds(instance, compared, leaf, rows, _, figure) for leaf, rows in rows_of.items()}


def _holds(instance: Instance, compared: Compared, leaf: str, rows: list[Any], _: Translate = _same,
           figure: Figure = format) -> list[str]:
    """The bounds and limits that hold ``leaf`` (whose plan rows are ``rows``), as words."""
    # The kinds of binding_labels (allocator/results/plan.py): a fixed cell is held at its max (= its min).
    own = {"min": _("its min of %(posts)s"), "max": _("its max of %(posts)s"), "fixed": _("its fixed of %(posts)s")}
    other = {"min": _("the min of %(posts)s"), "max": _("the max of %(posts)s"),
             "fixed": _("the fixed of %(posts)s")}
    out = []
    for row in rows:
        for label in row.binding:
            kind, _blank, rest = label.partition(" ")
            if label == "max_change":
                out.append(_("the stability limit of ±%(change)s on last year's %(previous)s")
                           % {"change": figure(compared.model.stability.max_change or 0, "g"),
                              "previous": figure(row.previous or 0, "g")})
            elif not rest:
                value = row.min if kind == "min" else row.max
                out.append(own[kind] % {"posts": figure(value or 0, "g")})
            else:
                summed = "(all specialties)" in rest
                area = rest.replace("(all specialties)", "").strip() or leaf
                bound = instance.bound_at.get((area, None if summed else row.specialty))
                value = None if bound is None else bound.min if kind == "min" else bound.max
                where = _(" on %(area)s") % {"area": instance.area_by_id[area].label} if area != leaf else ""
                out.append(other[kind] % {"posts": figure(value or 0, "g")} + where
                           + (_(" (all specialties)") if summed else ""))
    return list(dict.fromkeys(out))


def explain(comparison: Comparison, compared: Compared, _: Translate = _same,
            figure: Figure = format) -> list[str]:
    """Sentences on who gains and who loses under ``compared`` against the reference model, and why.

    English by default; a writer passes ``_`` (a catalogue's gettext) and ``figure`` (its language's notation,
    as :meth:`allocator.writers.language.MemoNumbers.formatted`) for another language.
    """
    reference = comparison.reference
    mine, theirs = comparison.leaf_posts(compared), comparison.leaf_posts(reference)
    my_targets, their_targets = comparison.leaf_targets(compared), comparison.leaf_targets(reference)
    instance = comparison.instance
    moved = [leaf for leaf in instance.leaves if abs(mine[leaf] - theirs[leaf]) > 1e-9]
    names = {"model": compared.model.name, "reference": reference.model.name}
    if not moved:
        return [_("**%(model)s** gives exactly the plan of **%(reference)s**.") % names]
    shifted = math.fsum(max(0.0, mine[leaf] - theirs[leaf]) for leaf in moved)
    headline = _("**%(model)s** moves %(posts)s post compared with **%(reference)s** (%(description)s)") \
        if shifted == 1 else _("**%(model)s** moves %(posts)s posts compared with **%(reference)s** (%(description)s)")
    lines = [headline % {**names, "posts": figure(shifted, "g"),
                         "description": compared.model.description.strip() or _("no description")}]
    held_by, held_before = _held(instance, compared, _, figure), _held(instance, reference, _, figure)
    newly_held = [leaf for leaf in instance.leaves if held_by[leaf] and not held_before[leaf]]
    base_shares = _base_shares(instance, compared.model)
    heavier = compared.model.underserved_weight != reference.model.underserved_weight
    order = sorted(moved, key=lambda leaf: (-(mine[leaf] - theirs[leaf]), leaf))
    for leaf in order:
        delta = mine[leaf] - theirs[leaf]
        area = instance.area_by_id[leaf]
        why = []
        if abs(my_targets[leaf] - their_targets[leaf]) >= 0.05:
            need = _describe_need(compared, reference, leaf, base_shares, _, figure)
            if not need:
                need = (_("the other areas' need grew, so its share of the fixed total fell")
                        if my_targets[leaf] < their_targets[leaf] else
                        _("the other areas' need fell, so its share of the fixed total grew"))
            why.append(_("its target is %(mine)s against %(theirs)s: %(need)s")
                       % {"mine": figure(my_targets[leaf], ".1f"), "theirs": figure(their_targets[leaf], ".1f"),
                          "need": need})
        else:
            why.append(_("its target is the same (%(target)s)") % {"target": figure(my_targets[leaf], ".1f")})
            others = [instance.area_by_id[other].label for other in newly_held if other != leaf]
            if delta > 0 and others:
                why.append(_("it takes posts that %(areas)s cannot take here") % {"areas": ", ".join(others)})
            elif not (area.underserved and heavier) and not held_by[leaf]:
                why.append(_("the models round or weigh deviations differently"))
        if area.underserved and heavier:
            why.append(_("a post short here weighs %(weight)s× (designated under-served), against %(other)s× under "
                         "%(reference)s") % {"weight": figure(compared.model.underserved_weight, "g"),
                                             "other": figure(reference.model.underserved_weight, "g"),
                                             "reference": reference.model.name})
        held_mine, held_theirs = held_by[leaf], held_before[leaf]
        if held_mine:
            why.append(_("here it is held by %(bounds)s") % {"bounds": ", ".join(held_mine)})
        if held_theirs:
            why.append(_("under %(reference)s it was held by %(bounds)s") % {"reference": reference.model.name,
                                                                             "bounds": ", ".join(held_theirs)})
        lines.append(f"- {area.label} {figure(delta, '+g')} ({figure(theirs[leaf], 'g')} → "
                     f"{figure(mine[leaf], 'g')}): " + "; ".join(why) + ".")
    return lines


def same_plans(comparison: Comparison) -> list[list[str]]:
    """Groups of two or more models whose plans are identical, in model order."""
    groups: dict[bytes, list[str]] = {}
    for compared in comparison.models:
        groups.setdefault(compared.posts.tobytes(), []).append(compared.model.name)
    return [names for names in groups.values() if len(names) > 1]
