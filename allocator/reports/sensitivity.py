"""Step 7: how firm a plan is, and why each area got what it got.

Every number here comes from re-solving exactly (the fast path of
:mod:`allocator.solvers`) a variant of the instance or the model held in
memory: a bound moved by one unit, a total moved by k units, a weight moved,
indicators drawn with noise. Variants share the facts that do not change
(the tree, the cells, the bound boxes), so a re-solve costs one build of the
numeric problem and one min-cost flow.

Nothing here reads or writes files (see :mod:`allocator.writers`).
"""

from __future__ import annotations

import math
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from allocator.core.need import target_array
from allocator.core.problem import Group, ProblemData, build_problem, with_totals
from allocator.errors import InputError, SolverError
from allocator.io.schemas import Instance, Model, Specialty
from allocator.results.plan import Plan
from allocator.results.solve import solve_exact
from allocator.solvers.diagnose import Rule, rules_of
from allocator.solvers.residual import Residual
from allocator.reports.incremental import moved_row, ranging, rule_moves, tied_moves
from allocator.reports.workers import (
    Context,
    binding_task,
    chunks,
    draw_task,
    range_end_task,
    ranging_task,
)
from allocator.solvers.flow import structure
from allocator.solvers.warm import CostVariants
from allocator.reports.draws import NoisyTargets

#: Instance facts that depend only on the tree, the bounds and the offers; a variant that changes
#: none of those (totals, populations, indicators) inherits them instead of recomputing.
_SHARED_FACTS = ("children", "leaves", "specialty_ids", "leaves_under", "cells", "bound_at", "previous_posts",
                 "_chains", "_arrays", "_cell_limits", "_leaf_capacity")

Posts = dict[tuple[str, str], float]


def variant(instance: Instance, *, specialties: list[Specialty] | None = None,
            areas: list[Any] | None = None, bounds: list[Any] | None = None) -> Instance:
    """A copy of ``instance`` with some tables replaced; unchanged derived facts are shared."""
    fields = {name: getattr(instance, name) for name in Instance.model_fields}
    if specialties is not None:
        fields["specialties"] = specialties
    if areas is not None:
        fields["areas"] = areas
    if bounds is not None:
        fields["bounds"] = bounds
    copy = Instance(**fields)
    if bounds is None:
        for name in _SHARED_FACTS:
            if name in instance.__dict__:
                copy.__dict__[name] = instance.__dict__[name]
    return copy


@dataclass
class Outcome:
    """One exact re-solve: posts per cell and the objective, or infeasible (``posts`` None)."""

    posts: Posts | None
    objective: float | None
    problem: ProblemData | None = None
    units: np.ndarray | None = None


def solve_problem(problem: ProblemData, cells: list[tuple[str, str]]) -> Outcome:
    """Solve a numeric problem exactly, presolve and tie rule included (what ``allocator solve`` would write)."""
    exact = solve_exact(problem)
    if exact.result.status == "infeasible":
        return Outcome(None, None, problem)
    if exact.units is None:
        raise SolverError(f"a re-solve failed ({exact.result.status}) {exact.result.detail}".strip())
    posts = dict(zip(cells, (exact.units.astype(float) * problem.unit).tolist()))
    return Outcome(posts, problem.total_cost(exact.units), problem, exact.units)


def resolve(instance: Instance, model: Model) -> Outcome:
    """Build and solve ``instance`` under ``model`` from scratch (in memory)."""
    return solve_problem(build_problem(instance, model), instance.cells)


def _with_total(instance: Instance, specialty_id: str, total: float) -> Instance:
    specialties = [s.model_copy(update={"total": total}) if s.id == specialty_id else s for s in instance.specialties]
    return variant(instance, specialties=specialties)


# --- 1. binding bounds -------------------------------------------------------------------------


@dataclass
class BindingBound:
    """A rule that holds with equality at the optimum, and what moving it by one unit costs.

    ``relax`` and ``tighten`` are the exact change in objective (None when
    the variant is infeasible). For a total, relax means one more post and
    tighten one fewer; for stability, a ``max_change`` one unit larger or
    smaller (the model has one limit for every cell).
    """

    rule: str
    kind: str
    text: str
    side: str
    relax: float | None
    tighten: float | None
    lp_dual: float | None
    #: The figures of ``text`` where the instance does not hold them (the stability limit), for writers that
    #: word it in another language.
    facts: dict[str, Any] = field(default_factory=dict)


def _moved_bound(problem: ProblemData, instance: Instance, rule: Rule, side: str, step: int) -> ProblemData:
    """``problem`` with a bound row's ``side`` limit moved by ``step`` units (+ looser, - tighter)."""
    key = (str(rule.area), rule.specialty)
    members = problem.members_of(key)
    bound = instance.bound_at[key]
    is_box = not instance.children[str(rule.area)] and rule.specialty is not None
    if is_box:
        lo, hi, cap = problem.lo.copy(), problem.hi.copy(), problem.cap.copy()
        c = int(members[0])
        if side == "max":
            # The cell's limit without this row: the row sits at the cell's current cap, so a looser row
            # lets the cap rise by one only if nothing else holds it (other rows, stability, the total).
            others = _cap_without(problem, instance, c, key)
            cap[c] = min(others, cap[c] + 1) if step > 0 else cap[c] - 1
            hi[c] = min(cap[c], problem.groups[int(problem.cell_specialty[c])].lo)
        else:
            floor_without = _floor_without(problem, instance, c)
            lo[c] = max(floor_without, lo[c] - 1) if step > 0 else lo[c] + 1
        return replace(problem, lo=lo, hi=hi, cap=cap, derived=dict(problem.derived))
    groups = [g for g in problem.groups if g.name != f"bound[{rule.area}|{rule.specialty or '*'}]"]
    unit = float(instance.unit)
    g_lo = math.ceil(bound.min / unit - 1e-9) if bound.min is not None else 0
    g_hi = math.floor(bound.max / unit + 1e-9) if bound.max is not None else None
    if side == "max":
        g_hi = (g_hi or 0) + step
    else:
        g_lo = max(0, g_lo - step)
    groups.append(Group(f"bound[{rule.area}|{rule.specialty or '*'}]", "bound", members, g_lo, g_hi,
                        rule.area, rule.specialty))
    # The flow network nests groups afresh, so the order of the list does not matter.
    return replace(problem, groups=groups, derived={})


def _moved_row_change(instance: Instance, model: Model, rule: Rule, side: str, step: int,
                      base: Outcome) -> float | None:
    """The change in objective when a bound row's limit moves by ``step`` units, by a fresh build and solve."""
    moved = moved_row(instance, rule, side, step)
    if moved is None:
        return None
    try:
        outcome = resolve(moved, model)
    except InputError:  # e.g. the minimum now above the maximum
        return None
    return None if outcome.objective is None else outcome.objective - (base.objective or 0.0)


def _cap_without(problem: ProblemData, instance: Instance, c: int, own: tuple[str, str | None]) -> int:
    """Cell ``c``'s cap from every bound row but ``own``, and from stability (not from the total)."""
    unit = float(instance.unit)
    leaf = problem.leaves[int(problem.cell_leaf[c])]
    specialty = problem.specialties[int(problem.cell_specialty[c])]
    cap = math.inf
    for area in instance.ancestors(leaf):
        for key in ((area, specialty), (area, None)):
            bound = instance.bound_at.get(key)
            if key != own and bound is not None and bound.max is not None:
                cap = min(cap, math.floor(bound.max / unit + 1e-9))
    previous = problem.previous[c]
    if not np.isnan(previous) and problem.max_change is not None:
        cap = min(cap, math.floor((previous + problem.max_change) / unit + 1e-9))
    return int(min(cap, np.iinfo(np.int64).max // 4))


def _floor_without(problem: ProblemData, instance: Instance, c: int) -> int:
    """Cell ``c``'s floor without its own bound row: only stability can set one."""
    previous = problem.previous[c]
    if not np.isnan(previous) and problem.max_change is not None:
        return max(0, math.ceil((previous - problem.max_change) / float(instance.unit) - 1e-9))
    return 0


def binding_bounds(instance: Instance, model: Model, base: Outcome, residual: Residual | None = None,
                   ranging: dict[str, list[TotalStep]] | None = None,
                   progress: Callable[[int, int], None] | None = None, only: set[str] | None = None,
                   duals: dict[str, float] | None = None) -> list[BindingBound]:
    """Every total, bound row and the stability limit that is tight at the optimum, moved one unit each way.

    With ``residual`` (the optimal flow's residual network) and ``ranging``
    (the plans at totals ±1 and more), each answer is a shortest path instead
    of a re-solve (see :mod:`allocator.reports.incremental`).
    """
    from allocator.solvers.highs import group_duals  # only this section needs an LP

    assert base.posts is not None and base.problem is not None and base.units is not None
    problem = base.problem
    unit = float(instance.unit)
    units_of = {cell: int(round(value / unit)) for cell, value in base.posts.items()}
    if duals is None:
        duals = group_duals(problem, base.units) or {}
    weights = residual.reduced() if residual is not None else None
    all_rules = [rule for rule in rules_of(instance, model) if only is None or rule.name in only
                 or (rule.kind == "stability" and "stability[max_change]" in only)]
    done = 0
    result = []
    stability_cells = 0
    for rule in all_rules:
        done += 1
        if progress is not None:
            progress(done, len(all_rules))
        total = sum(units_of.get(cell, 0) for cell in rule.cells)
        if rule.kind == "stability":
            stability_cells += (total == rule.hi) or (total == rule.lo and rule.lo > 0)
            continue
        if rule.kind == "total":
            side = "total"
        elif rule.hi is not None and total == rule.hi:
            side = "max"
        elif rule.lo > 0 and total == rule.lo:
            side = "min"
        else:
            continue
        if residual is not None and weights is not None:
            found: tuple[float | None, float | None] | None
            if rule.kind == "total" and ranging is not None:
                steps = {step.delta: step for step in ranging[str(rule.specialty)]}
                found = tuple(None if steps[d].objective is None else steps[d].objective - (base.objective or 0.0)
                              for d in (1, -1))  # type: ignore[assignment]
            else:
                found = rule_moves(residual, rule, side, total, weights)
            if found is None:  # the row moves to or from 0: eligibility and targets change, so re-solve
                found = tuple(_moved_row_change(instance, model, rule, side, step, base)  # type: ignore[assignment]
                              for step in (+1, -1))
            result.append(BindingBound(rule.name, rule.kind, rule.text, side, found[0], found[1],  # type: ignore[index]
                                       duals.get(rule.name)))
            continue
        changes = []
        for step in (+1, -1):
            if rule.kind == "total":
                spec_total = next(s.total for s in instance.specialties if s.id == rule.specialty)
                moved = with_totals(problem, _with_total(instance, str(rule.specialty), spec_total + step * unit),
                                    model)
            else:
                moved = _moved_bound(problem, instance, rule, side, step)
            outcome = solve_problem(moved, instance.cells)
            changes.append(None if outcome.objective is None else outcome.objective - (base.objective or 0.0))
        result.append(BindingBound(rule.name, rule.kind, rule.text, side, changes[0], changes[1],
                                   duals.get(rule.name)))
    if stability_cells and model.stability.max_change is not None:
        changes = []
        for step in (+1, -1):
            limit = model.stability.max_change + step * unit
            if limit < 0:
                changes.append(None)
                continue
            moved_model = model.model_copy(update={"stability": model.stability.model_copy(
                update={"max_change": limit})})
            outcome = resolve(instance, moved_model)
            changes.append(None if outcome.objective is None else outcome.objective - (base.objective or 0.0))
        result.append(BindingBound("stability[max_change]", "stability",
                                   f"a cell may change by at most {model.stability.max_change:g} posts from last "
                                   f"year ({stability_cells} cells are at that limit)", "max_change",
                                   changes[0], changes[1], None,
                                   {"max_change": model.stability.max_change, "cells": stability_cells}))
    return result


# --- 2. total ranging ---------------------------------------------------------------------------


@dataclass
class TotalStep:
    """The plan of one specialty at its total plus ``delta`` units (posts None: infeasible)."""

    delta: int
    posts: dict[str, float] | None
    objective: float | None
    #: How the plan was found: ``re-solve``, or ``path`` (augmenting paths from the optimal flow).
    method: str = "re-solve"


def flow_ranging(instance: Instance, model: Model, base: Outcome, residual: Residual, k: int = 5,
                 progress: Callable[[int, int], None] | None = None, only: set[str] | None = None
                 ) -> tuple[dict[str, list[TotalStep]], dict[str, float | None]]:
    """:func:`total_ranging` by augmenting paths from the optimal flow, and each specialty's next-post margin."""
    assert base.problem is not None
    problem = base.problem

    def canonical(moved: ProblemData) -> np.ndarray | None:
        return solve_problem(moved, instance.cells).units

    result: dict[str, list[TotalStep]] = {}
    margins: dict[str, float | None] = {}
    ordered = [s for s in sorted(instance.specialties, key=lambda s: s.id) if only is None or s.id in only]
    for done, specialty in enumerate(ordered, start=1):
        steps, margin = ranging(instance, model, problem, residual, specialty, k, canonical)
        result[specialty.id] = [TotalStep(step.delta, step.posts, step.objective, step.method) for step in steps]
        margins[specialty.id] = margin
        if progress is not None:
            progress(done, len(ordered))
    return result, margins


def total_ranging(instance: Instance, model: Model, k: int = 5,
                  base_problem: ProblemData | None = None) -> dict[str, list[TotalStep]]:
    """For each specialty and delta in -k..k (0 excluded), the exact plan at total + delta units."""
    unit = float(instance.unit)
    base_problem = base_problem if base_problem is not None else build_problem(instance, model)
    result: dict[str, list[TotalStep]] = {}
    for specialty in sorted(instance.specialties, key=lambda s: s.id):
        steps = []
        for delta in [d for d in range(-k, k + 1) if d != 0]:
            total = specialty.total + delta * unit
            if total < 0:
                steps.append(TotalStep(delta, None, None))
                continue
            outcome = solve_problem(with_totals(base_problem, _with_total(instance, specialty.id, total), model),
                                    instance.cells)
            posts = None if outcome.posts is None else {
                leaf: value for (leaf, s), value in outcome.posts.items() if s == specialty.id}
            steps.append(TotalStep(delta, posts, outcome.objective))
        result[specialty.id] = steps
    return result


def priority_lists(base: Posts, ranging: dict[str, list[TotalStep]]) -> dict[str, dict[str, list[list[str]]]]:
    """Per specialty, who gets each next post (delta 1, 2, …) and who loses each last one (-1, -2, …).

    Each entry lists the areas whose posts grow between consecutive totals
    (usually one area; more when units also move between areas).
    """
    result: dict[str, dict[str, list[list[str]]]] = {}
    for specialty, steps in ranging.items():
        at: dict[int, dict[str, float]] = {0: {leaf: v for (leaf, s), v in base.items() if s == specialty}}
        at.update({step.delta: step.posts for step in steps if step.posts is not None})
        gains, losses = [], []
        for delta in range(1, max((abs(step.delta) for step in steps), default=0) + 1):
            if delta in at and delta - 1 in at:
                gains.append(sorted(a for a in at[delta] if at[delta][a] > at[delta - 1].get(a, 0.0)))
            if -delta in at and -delta + 1 in at:
                losses.append(sorted(a for a in at[-delta + 1] if at[-delta + 1][a] > at[-delta].get(a, 0.0)))
        result[specialty] = {"next": gains, "last": losses}
    return result


# --- 3. weight ranges ---------------------------------------------------------------------------

#: How far the weight-range search looks: from the weight divided by SPAN to the weight times SPAN.
SPAN = 1000.0
#: Bisection stops when an end is known to within this share of the weight (or of 1, if larger).
TOLERANCE = 1e-3


@dataclass
class RangeEnd:
    """One end of a weight's range: the last value tested with the same plan, the first without.

    ``outside`` is None when the plan stays the same to the end of the
    searched span (``inside`` is then that end of the span).
    """

    inside: float
    outside: float | None
    gains: list[dict[str, Any]]
    losses: list[dict[str, Any]]


@dataclass
class WeightRange:
    """The values of one weight (others held) for which the plan stays the same."""

    weight: str
    value: float
    low: RangeEnd
    high: RangeEnd


def _with_weight(model: Model, weight: str, value: float) -> Model:
    if weight == "underserved_weight":
        return model.model_copy(update={"underserved_weight": value})
    if weight == "stability.weight":
        return model.model_copy(update={"stability": model.stability.model_copy(update={"weight": value})})
    indicator = weight.removeprefix("criterion:")
    return model.model_copy(update={"criteria": [c.model_copy(update={"weight": value}) if c.indicator == indicator
                                                 else c for c in model.criteria]})


def _difference(base: Posts, other: Posts | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if other is None:
        return [], []
    gains = [{"area": a, "specialty": s, "change": other[(a, s)] - v} for (a, s), v in base.items() if other[(a, s)] > v]
    losses = [{"area": a, "specialty": s, "change": other[(a, s)] - v} for (a, s), v in base.items()
              if other[(a, s)] < v]
    return gains, losses


def weight_variant(instance: Instance, model: Model, variants: CostVariants, weight: str,
                   value: float) -> ProblemData | None:
    """The problem under ``model`` with one weight set to ``value``, made from the base problem's columns.

    A weight changes costs only: the under-served weight the penalties, the
    stability weight itself, a criterion's weight the targets. None where the
    reference would refuse the variant (a divisor method meeting a zero target).
    """
    moved = _with_weight(model, weight, value)
    if weight == "underserved_weight":
        problem = variants.problem
        underserved = np.array([instance.area_by_id[leaf].underserved for leaf in problem.leaves], dtype=bool)
        return variants.variant(penalty=np.where(underserved[problem.cell_leaf], float(value), 1.0))
    if weight == "stability.weight":
        return variants.variant(stability_weight=float(moved.stability.weight))
    target = target_array(instance, moved)
    if model.objective == "apportionment" and model.method != "hamilton" and \
            ((target <= 0) & (variants.problem.hi > 0)).any():
        return None
    return variants.variant(target=target)


def _range_end(instance: Instance, model: Model, weight: str, value: float, limit: float, base: Posts,
               variants: CostVariants | None = None) -> RangeEnd:
    """One end of one weight's range by bisection; each plan warm-started from the base (``variants``) where exact."""
    cells = instance.cells

    def plan_at(w: float) -> Posts | None:
        problem = weight_variant(instance, model, variants, weight, w) if variants is not None else None
        units = variants.solve(problem) if variants is not None and problem is not None else None
        if units is not None:
            return dict(zip(cells, (units.astype(float) * float(instance.unit)).tolist()))
        return resolve(instance, _with_weight(model, weight, w)).posts

    def same_at(w: float) -> tuple[bool, Posts | None]:
        """Whether the plan at ``w`` is the base plan, and that plan where it had to be made."""
        problem = weight_variant(instance, model, variants, weight, w) if variants is not None else None
        verdict = variants.keeps(problem) if variants is not None and problem is not None else None
        if verdict is not None:  # told by the base's residual network at w, without a solve
            return verdict, None
        posts = plan_at(w)
        return posts == base, posts

    far_same, far = same_at(limit)
    if far_same:
        return RangeEnd(limit, None, [], [])
    same, other, other_posts = value, limit, far
    tolerance = TOLERANCE * max(abs(value), 1.0)
    while abs(other - same) > tolerance:
        middle = (same + other) / 2
        is_same, posts = same_at(middle)
        if is_same:
            same = middle
        else:
            other, other_posts = middle, posts
    if other_posts is None:  # the last plan seen to differ was not made: make it
        other_posts = plan_at(other)
    gains, losses = _difference(base, other_posts)
    return RangeEnd(same, other, gains, losses)


def weight_ranges(instance: Instance, model: Model, base: Posts) -> list[WeightRange]:
    """For each criterion weight, the under-served weight and the stability weight, the range that keeps the plan.

    Under ``objective: apportionment`` the under-served weight is left out: it
    must be 1 there, and the method's cost does not use it. Each end is found
    by bisection to :data:`TOLERANCE` of the weight, within
    [weight / SPAN, weight × SPAN] (the under-served weight stays >= 1, the
    stability weight may go down to 0).
    """
    weights = [(f"criterion:{c.indicator}", c.weight, c.weight / SPAN) for c in model.criteria]
    if model.objective != "apportionment":  # there the weight is fixed at 1 and the cost ignores it
        weights.append(("underserved_weight", model.underserved_weight, 1.0))
    if instance.previous:
        weights.append(("stability.weight", model.stability.weight, 0.0))
    return weight_ranges_of(instance, model, base, None)


def weight_ends(instance: Instance, model: Model) -> list[tuple[str, float, float | None, float]]:
    """Each weight to range: (name, value, lower end of the search or None when there is none, upper end)."""
    weights = [(f"criterion:{c.indicator}", c.weight, c.weight / SPAN) for c in model.criteria]
    if model.objective != "apportionment":  # there the weight is fixed at 1 and the cost ignores it
        weights.append(("underserved_weight", model.underserved_weight, 1.0))
    if instance.previous:
        weights.append(("stability.weight", model.stability.weight, 0.0))
    return [(name, value, floor if value > floor else None, max(value, 1.0) * SPAN) for name, value, floor in weights]


def weight_ranges_of(instance: Instance, model: Model, base: Posts,
                     futures: dict[tuple[str, str], Future[Any]] | None) -> list[WeightRange]:
    """The weight ranges, each end from ``futures`` (of :func:`range_end_task`) or found here."""
    result = []
    for name, value, floor, ceiling in weight_ends(instance, model):
        def end(side: str, limit: float | None) -> RangeEnd:
            if limit is None:
                return RangeEnd(value, None, [], [])
            if futures is not None:
                return futures[(name, side)].result()  # type: ignore[no-any-return]
            return _range_end(instance, model, name, value, limit, base)
        result.append(WeightRange(name, value, end("low", floor), end("high", ceiling)))
    return result


# --- 4. robustness ------------------------------------------------------------------------------


@dataclass
class Robustness:
    """Posts per cell over noisy draws of the base and the indicators.

    Attributes
    ----------
    draws, noise, seed
        The settings: each leaf's population and every indicator value are
        multiplied by (1 + e), e ~ Normal(0, noise), clipped at 0; the same
        seed gives the same draws.
    cells
        Per cell of the plan: minimum, median and maximum posts over the
        feasible draws, and the share of all draws that keep the plan's count.
    infeasible
        Draws that had no plan.
    """

    draws: int
    noise: float
    seed: int
    cells: list[dict[str, Any]]
    infeasible: int


def _noisy_areas(instance: Instance, rng: np.random.Generator, noise: float) -> list[Any]:
    areas = []
    for area in instance.areas:
        population = area.population
        if population is not None:
            population = max(0.0, population * (1.0 + noise * rng.standard_normal()))
        indicators = {name: max(0.0, value * (1.0 + noise * rng.standard_normal()))
                      for name, value in sorted(area.indicators.items())}
        areas.append(area._replace(population=population, indicators=indicators))
    return areas


def noisy_outcome(instance: Instance, model: Model, seed: int, noise: float, draw: int) -> np.ndarray | None:
    """Units of every cell (in ``instance.cells`` order) in Monte Carlo draw number ``draw``; None: no plan.

    Each draw has its own generator, seeded by (seed, draw): the draws do not
    depend on which worker makes them or in what order.
    """
    rng = np.random.default_rng([seed, draw])
    outcome = resolve(variant(instance, areas=_noisy_areas(instance, rng, noise)), model)
    return None if outcome.units is None else outcome.units.astype(np.int32)


def warm_noisy_outcome(instance: Instance, model: Model, seed: int, noise: float, draw: int,
                       variants: CostVariants | None, noisy: NoisyTargets | None) -> np.ndarray | None:
    """:func:`noisy_outcome`, warm-started from the base optimum where that is exact (else the reference).

    A draw changes targets only, so its targets come from columns
    (:class:`~allocator.reports.draws.NoisyTargets`, bit for bit the
    reference's) and its plan from a min-cost flow started at the base optimum
    (:class:`~allocator.solvers.warm.CostVariants`), accepted only where it is
    the draw's one optimum, hence the plan a fresh solve writes.
    """
    target = None if variants is None or noisy is None else noisy.targets(seed, noise, draw)
    if target is None or variants is None or (
            model.objective == "apportionment" and model.method != "hamilton"
            and ((target <= 0) & (variants.problem.hi > 0)).any()):  # the reference refuses these
        return noisy_outcome(instance, model, seed, noise, draw)
    problem = variants.variant(target=target)
    units = variants.solve(problem) if variants.base_unique else None
    if units is None:
        # Tied: the tie rule decides, so solve as solve does, the variant being exactly the problem that
        # build_problem makes of the noisy instance (the same targets, bit for bit, and the same everything else).
        units = variants.canonical(problem) if variants.usable else solve_problem(problem, instance.cells).units
    return None if units is None else units.astype(np.int32)


def robustness(instance: Instance, model: Model, plan: Plan, *, draws: int = 200, noise: float = 0.05,
               seed: int = 0, on_draw: Callable[[], None] | None = None, executor: Executor | None = None,
               context: Context | None = None, pieces: int = 1) -> Robustness:
    """Monte Carlo over the base and the indicators (see :class:`Robustness`), on ``executor`` if given."""
    cells = instance.cells
    futures = []
    if executor is not None:
        context = context or Context(model, instance=instance)
        futures = [(batch, executor.submit(draw_task, context, seed, noise, batch))
                   for batch in chunks(list(range(draws)), pieces)]
    return robustness_of(instance, plan, draws, noise, seed, futures if executor is not None else None,
                         model, on_draw)


def robustness_of(instance: Instance, plan: Plan, draws: int, noise: float, seed: int,
                  futures: list[tuple[list[int], Future[Any]]] | None, model: Model,
                  on_draw: Callable[[], None] | None = None) -> Robustness:
    """Collect the draws (from ``futures`` of :func:`draw_task`, or made here) into a :class:`Robustness`."""
    cells = instance.cells
    unit = float(instance.unit)
    posts = np.full((draws, len(cells)), np.nan)
    infeasible = 0

    def keep(d: int, units: np.ndarray | None) -> None:
        nonlocal infeasible
        if units is None:
            infeasible += 1
        else:
            posts[d] = units.astype(float) * unit
        if on_draw is not None:
            on_draw()

    if futures is None:
        for d in range(draws):
            keep(d, noisy_outcome(instance, model, seed, noise, d))
    else:
        for batch, future in futures:
            for d, units in zip(batch, future.result()):
                keep(d, units)
    planned = plan.posts()
    rows = []
    for c, (leaf, specialty) in enumerate(cells):
        column = posts[:, c]
        seen = column[~np.isnan(column)]
        rows.append({"area": leaf, "specialty": specialty, "posts": planned[(leaf, specialty)],
                     "min": float(seen.min()) if len(seen) else None,
                     "median": float(np.median(seen)) if len(seen) else None,
                     "max": float(seen.max()) if len(seen) else None,
                     "keep_share": float(np.sum(column == planned[(leaf, specialty)]) / draws)})
    return Robustness(draws, noise, seed, rows, infeasible)


# --- 5. alternative optima ----------------------------------------------------------------------

TIE_RULE = ("every backend proves the optimum; the plan written is the one the exact fast path returns for the "
            "cells in sorted order (area id, then specialty id): greedy gives each next unit to the cheapest "
            "cell, ties to the first in that order; min-cost flow is run on the network built in that order "
            "(docs/mathematics.md, 'The tie rule')")


@dataclass
class AlternativeOptima:
    """Whether other plans have exactly the same cost, found by single exchanges within a specialty.

    ``exchanges`` lists moves of one unit from one area to another that keep
    every rule and leave the objective unchanged (at most ``shown``; ``count``
    is the total). A move through two specialties at once is not searched.
    """

    unique: bool
    count: int
    exchanges: list[dict[str, Any]]
    tie_rule: str
    #: From the residual network: every cell that another optimal plan gives one unit more (+1) or fewer (-1).
    moves: list[dict[str, Any]] | None = None


def flow_alternatives(base: Outcome, residual: Residual, shown: int = 50) -> AlternativeOptima:
    """Tied optima from zero-cost cycles of the residual network: exact for moves through any rules."""
    problem = base.problem
    assert problem is not None
    up, down = tied_moves(residual)
    moves = []
    for c in np.flatnonzero(up | down).tolist():
        for flag, direction in ((up[c], +1), (down[c], -1)):
            if flag:
                moves.append({"area": problem.leaves[int(problem.cell_leaf[c])],
                              "specialty": problem.specialties[int(problem.cell_specialty[c])],
                              "change": direction * problem.unit})
    return AlternativeOptima(not moves, len(moves), [], TIE_RULE, moves)


def alternative_optima(base: Outcome, shown: int = 50) -> AlternativeOptima:
    """Tied single exchanges at the optimum ``base`` (see :class:`AlternativeOptima`)."""
    problem, units = base.problem, base.units
    assert problem is not None and units is not None and base.objective is not None
    n = units.astype(np.int64)
    cells = np.arange(problem.n_cells)
    removable = n > problem.lo
    addable = n < problem.hi
    down = np.full(problem.n_cells, np.inf)
    up = np.full(problem.n_cells, np.inf)
    down[removable] = problem.cell_cost(n[removable] - 1, cells[removable]) - problem.cell_cost(n[removable],
                                                                                                 cells[removable])
    up[addable] = problem.cell_cost(n[addable] + 1, cells[addable]) - problem.cell_cost(n[addable], cells[addable])
    sums = {g.name: int(n[g.cells].sum()) for g in problem.groups}
    member: dict[int, set[int]] = {}
    for index, group in enumerate(problem.groups):
        if group.kind != "total":
            for c in group.cells.tolist():
                member.setdefault(c, set()).add(index)
    scale = max(1.0, abs(base.objective))
    found = []
    for si in range(len(problem.specialties)):
        mine = np.flatnonzero(problem.cell_specialty == si)
        givers = [c for c in mine.tolist() if removable[c]]
        takers = [c for c in mine.tolist() if addable[c]]
        for i in givers:
            for j in takers:
                if i == j or abs(down[i] + up[j]) > 1e-12 * scale:
                    continue
                gi, gj = member.get(i, set()), member.get(j, set())
                if any(sums[problem.groups[g].name] - 1 < problem.groups[g].lo for g in gi - gj):
                    continue
                if any(problem.groups[g].hi is not None and sums[problem.groups[g].name] + 1 > problem.groups[g].hi
                       for g in gj - gi):
                    continue
                found.append({"specialty": problem.specialties[si],
                              "from": problem.leaves[int(problem.cell_leaf[i])],
                              "to": problem.leaves[int(problem.cell_leaf[j])]})
    return AlternativeOptima(not found, len(found), found[:shown], TIE_RULE)


# --- 6. per-area explanation --------------------------------------------------------------------


@dataclass
class AreaExplanation:
    """Why one area got its posts in one specialty, with the figures and one sentence."""

    area: str
    specialty: str
    need_index: float
    ratios: dict[str, float]
    target: float
    minimum: float | None
    maximum: float | None
    posts: float
    reason: str
    sentence: str
    #: The figures ``sentence`` is made of, for writers that word it in another language: ``area_name``,
    #: ``specialty_name``, ``previous``, ``binding``, ``stability_weight``, ``underserved_weight``, ``difference``
    #: (posts against the rounded target) and ``total`` (the specialty's national total).
    facts: dict[str, Any] = field(default_factory=dict)


def explain_areas(instance: Instance, model: Model, plan: Plan, needs: dict[str, Any]) -> list[AreaExplanation]:
    """One explanation per cell of the plan, in words a council member understands."""
    unit = float(instance.unit)
    names = {s.id: s.name or s.id for s in instance.specialties}
    totals = {s.id: s.total for s in instance.specialties}
    result = []
    for row in plan.rows:
        rounded = round(row.target / unit) * unit
        figures = (f"{row.area_name} gets {row.posts:g} posts of {names[row.specialty]} against a target of "
                   f"{row.target:.2f}")
        if row.posts == rounded:
            reason, sentence = "target rounded", f"{figures}: its target, rounded."
        elif row.binding:
            reason = "bound"
            sentence = f"{figures}, because a limit holds it there ({', '.join(row.binding)})."
        elif row.previous is not None and model.stability.weight and \
                abs(row.posts - row.previous) < abs(rounded - row.previous):
            reason = "stability"
            sentence = (f"{figures}: closer to last year's {row.previous:g}, because the model charges "
                        f"{model.stability.weight:g} for each post changed.")
        elif row.underserved and model.underserved_weight > 1 and row.posts > rounded:
            reason = "under-served weight"
            sentence = (f"{figures}: above its rounded target, because a shortfall in an under-served area "
                        f"costs {model.underserved_weight:g} times as much.")
        else:
            reason = "rounding against a neighbour"
            direction = "fewer" if row.posts < rounded else "more"
            sentence = (f"{figures}: {abs(row.posts - rounded):g} {direction} than its rounded target, because the "
                        f"{totals[row.specialty]:g} posts of {names[row.specialty]} must add up exactly and other "
                        "areas' claims to the last posts weighed more.")
        breakdown = needs[row.area]
        facts = {"area_name": row.area_name, "specialty_name": names[row.specialty], "previous": row.previous,
                 "binding": list(row.binding), "stability_weight": float(model.stability.weight or 0.0),
                 "underserved_weight": float(model.underserved_weight), "difference": row.posts - rounded,
                 "total": float(totals[row.specialty])}
        result.append(AreaExplanation(row.area, row.specialty, breakdown.index, dict(breakdown.ratios),
                                      row.target, row.min, row.max, row.posts, reason, sentence, facts))
    return result


# --- 7. figures per area, up the tree ------------------------------------------------------------


def tree_totals(instance: Instance, areas: list[AreaExplanation], robustness: Robustness | None,
                alternatives: AlternativeOptima | None) -> list[dict[str, Any]]:
    """Every per-cell figure summed per area, at every level of the tree above the leaves.

    One row per area that has children, depth first from the top areas (ids
    in order): its level (0 at the top), leaves, cells, posts, target, cells
    with a tied alternative, cells whose count changes in some Monte Carlo
    draw and the lowest share of draws that keeps a cell's count (these two
    None without draws). Sums are exact (math.fsum), so they do not depend on
    the order of the leaves.
    """
    keep = {} if robustness is None else {(c["area"], c["specialty"]): c["keep_share"] for c in robustness.cells}
    moves = [] if alternatives is None or alternatives.moves is None else alternatives.moves
    tied = {(m["area"], m["specialty"]) for m in moves}
    sums: dict[str, dict[str, Any]] = {}
    for cell in areas:
        share = keep.get((cell.area, cell.specialty))
        for area in instance.ancestors(cell.area)[1:]:
            row = sums.setdefault(area, {"leaves": set(), "cells": 0, "posts": [], "target": [], "tied": 0,
                                         "moving": 0, "keep": None})
            row["leaves"].add(cell.area)
            row["cells"] += 1
            row["posts"].append(cell.posts)
            row["target"].append(cell.target)
            row["tied"] += (cell.area, cell.specialty) in tied
            if share is not None:
                row["moving"] += share < 1.0
                row["keep"] = share if row["keep"] is None else min(row["keep"], share)
    result: list[dict[str, Any]] = []

    def visit(area: str, level: int) -> None:
        if area in sums:
            row = sums[area]
            result.append({"area": area, "level": level, "leaves": len(row["leaves"]), "cells": row["cells"],
                           "posts": math.fsum(row["posts"]), "target": math.fsum(row["target"]),
                           "cells_with_tied_alternative": row["tied"],
                           "cells_changing_in_some_draw": None if robustness is None else row["moving"],
                           "lowest_share_of_draws_keeping_a_count": None if robustness is None else row["keep"]})
        for child in instance.children[area]:
            visit(child, level + 1)

    for top in sorted(a.id for a in instance.areas if a.parent is None):
        visit(top, 0)
    return result


# --- the report ---------------------------------------------------------------------------------


@dataclass
class SensitivityReport:
    """Everything :func:`sensitivity` finds, ready for the writers."""

    instance: str
    model: str
    objective: float
    binding: list[BindingBound]
    ranging: dict[str, list[TotalStep]]
    priority: dict[str, dict[str, list[list[str]]]]
    areas: list[AreaExplanation]
    weights: list[WeightRange] = field(default_factory=list)
    robustness: Robustness | None = None
    alternatives: AlternativeOptima | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    #: Per specialty: how much more its next post costs anywhere but where it goes (0: tied).
    margins: dict[str, float | None] = field(default_factory=dict)
    #: Every per-cell figure summed per area at every level above the leaves (see :func:`tree_totals`).
    tree: list[dict[str, Any]] = field(default_factory=list)


def sensitivity(instance: Instance, model: Model, plan: Plan, *, k: int = 5, draws: int = 200,
                noise: float = 0.05, seed: int = 0, progress: Callable[[str], None] | None = None,
                on_draw: Callable[[], None] | None = None, executor: Executor | None = None,
                context: Context | None = None, jobs: int = 1,
                on_task: Callable[[str, int, int], None] | None = None) -> SensitivityReport:
    """The sensitivity report of ``plan`` (the verified optimum of ``instance`` under ``model``).

    ``draws=0`` skips the Monte Carlo section. The independent pieces (total
    ranging per specialty and tight rules in batches where the problem is a
    flow, each end of each weight range, the Monte Carlo draws) go to
    ``executor`` (any ``concurrent.futures`` executor; default: run here), cut
    for ``jobs`` workers. ``on_task(section, done, total)`` hears each piece
    that is finished; the results do not depend on the executor.
    """
    from allocator.reports.workers import InlineExecutor
    from allocator.solvers.highs import group_duals  # the LP duals, once, in this process

    if model.objective == "biproportional":
        # Its plan comes from tie-and-transfer, not from the backends whose re-solves, duals and tie rule this
        # report describes; a report in their terms would misdescribe it.
        raise InputError("the sensitivity report is not available under objective 'biproportional'",
                         fix="run allocator solve without --sensitivity; plan.json lists the divisors and ties")
    say = progress or (lambda _: None)
    tell = on_task or (lambda *_: None)
    executor = executor if executor is not None else InlineExecutor()
    context = context if context is not None else Context(model, instance=instance)
    base = resolve(instance, model)
    if base.posts is None or base.objective is None or base.problem is None or base.units is None:
        raise SolverError("the instance has no plan; run allocator solve for the diagnosis")
    if base.posts != plan.posts():
        raise SolverError("the re-solve did not reproduce the plan; report this")
    flow = structure(base.problem) != "none" and base.problem.arrays is not None
    pieces = max(1, jobs) * 4
    # Everything is submitted at once, the slowest kinds first, so that no worker waits.
    ranging_futures, binding_futures = [], []
    if flow:
        names = sorted(s.id for s in instance.specialties)
        ranging_futures = [executor.submit(ranging_task, context, batch, k) for batch in chunks(names, pieces)]
        rules = [r.name for r in rules_of(instance, model) if r.kind == "bound"]
        if model.stability.max_change is not None:
            rules.append("stability[max_change]")
        binding_futures = [executor.submit(binding_task, context, batch) for batch in chunks(rules, pieces)]
    weight_futures = {}
    for name, value, floor, ceiling in weight_ends(instance, model):
        for side, limit in (("low", floor), ("high", ceiling)):
            if limit is not None:
                weight_futures[(name, side)] = executor.submit(range_end_task, context, name, value, limit)
    draw_futures = [(batch, executor.submit(draw_task, context, seed, noise, batch))
                    for batch in chunks(list(range(draws)), pieces)] if draws else []
    margins: dict[str, float | None] = {}
    say("total ranging")
    if flow:
        ranging_: dict[str, list[TotalStep]] = {}
        for done, future in enumerate(ranging_futures, start=1):
            part, part_margins = future.result()
            ranging_.update(part)
            margins.update(part_margins)
            tell("total ranging", done, len(ranging_futures))
        ranging_ = dict(sorted(ranging_.items()))
        margins = dict(sorted(margins.items()))
    else:
        ranging_ = total_ranging(instance, model, k, base.problem)
    say("binding bounds")
    if flow:
        duals = group_duals(base.problem, base.units) or {}
        found: dict[str, BindingBound] = {}
        for done, future in enumerate(binding_futures, start=1):
            found.update((b.rule, b) for b in future.result())
            tell("binding bounds", done, len(binding_futures))
        binding = []
        for rule in rules_of(instance, model):
            if rule.kind == "total":
                steps = {step.delta: step for step in ranging_[str(rule.specialty)]}
                changes = [None if steps[d].objective is None else steps[d].objective - base.objective for d in (1, -1)]
                binding.append(BindingBound(rule.name, rule.kind, rule.text, "total", changes[0], changes[1],
                                            duals.get(rule.name)))
            elif rule.name in found:
                bound = found[rule.name]
                bound.lp_dual = duals.get(rule.name)
                binding.append(bound)
        if "stability[max_change]" in found:
            binding.append(found["stability[max_change]"])
        residual = Residual(base.problem, base.units)
    else:
        binding = binding_bounds(instance, model, base)
        residual = None
    say("alternative optima")
    alternatives = flow_alternatives(base, residual) if residual is not None else alternative_optima(base)
    say("weight ranges")
    weights = weight_ranges_of(instance, model, base.posts, weight_futures)
    tell("weight ranges", len(weight_futures), len(weight_futures))
    say("robustness")
    noisy = robustness_of(instance, plan, draws, noise, seed, draw_futures, model, on_draw) if draws else None
    areas = explain_areas(instance, model, plan, base.problem.needs)
    return SensitivityReport(instance.name, model.name, base.objective, binding, ranging_,
                             priority_lists(base.posts, ranging_), areas, weights, noisy,
                             alternatives,
                             {"k": k, "draws": draws, "noise": noise, "seed": seed,
                              "method": "residual network" if flow else "re-solves"},
                             margins, tree_totals(instance, areas, noisy, alternatives))
