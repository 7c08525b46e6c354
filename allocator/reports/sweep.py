"""One scenario of a sweep: apply its change to the instance and model, solve, and measure.

A scenario is a model, one value of every axis and a draw number. A task
carries only that change (:class:`Change`); the instance, the models and the
axes travel once per worker in a :class:`SweepContext` (a process pool's
initializer, or a Dask scatter). The task is a module-level function of plain
arguments, like the sensitivity report's (:mod:`allocator.reports.workers`),
so any ``concurrent.futures`` executor runs it. Its result depends on nothing
but the change: each draw has its own generator seeded by (seed, draw), so a
scenario's plan is the same on any executor, worker or order.

A multi-year instance's scenario (``context.horizon`` set) is solved by
:func:`allocator.results.horizon.solve_horizon`, the path of ``allocator
solve``, with the sweep's time limit and accepted gap; its row has the
coverage figures of :data:`HORIZON_METRICS` instead of the one-year equity
metrics, and its posts are one row of cells per plan year.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocator.errors import InfeasibleError, TimeLimitError
from allocator.io.schemas import CellFacts, FactChange, HorizonInstance, Instance, Model, Specialty
from allocator.io.sweep import Axis, Draws, with_model_value
from allocator.reports.compare import plan_metrics
# The sensitivity report's draws: a sweep's draw d is the same noise as its draw d.
from allocator.reports.sensitivity import _noisy_areas, variant

#: The equity metrics of each scenario row, in column order (definitions in docs/formats.md).
METRICS = ("posts_per_100k_max_min_ratio", "posts_per_100k_gini", "posts_per_need_max_min_ratio",
           "underserved_share", "largest_deviation_from_target")
#: The figures of each multi-year scenario row, in column order (definitions in docs/sweeps.md).
HORIZON_METRICS = ("coverage_cost", "posts_cost", "gap", "inhabitant_years_without_specialist",
                   "myopic_inhabitant_years_without_specialist", "posts_moved")


@dataclass(frozen=True)
class Change:
    """What one scenario changes: the model (by index), each axis's value (in axis order) and the draw."""

    scenario: int
    model: int
    values: tuple[float, ...]
    draw: int


@dataclass(frozen=True)
class SweepContext:
    """What every task of one sweep shares; sent to each worker once."""

    instance: Instance
    models: tuple[Model, ...]
    axes: tuple[Axis, ...]
    draws: Draws | None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    horizon: HorizonInstance | None = None  # a multi-year sweep (``instance`` is its one-year instance)
    time_limit: float | None = None  # seconds per multi-year scenario
    accept_gap: float | None = None


@dataclass(frozen=True)
class ScenarioResult:
    """A solved scenario: its row (without the scenario number) and its posts in units (None: no plan)."""

    scenario: int
    row: dict[str, Any]
    units: np.ndarray | None


_INSTALLED: dict[str, SweepContext] = {}


def install(context: SweepContext) -> None:
    """Process-pool initializer: keep the context in this worker (tasks then name it by its token)."""
    _INSTALLED.clear()
    _INSTALLED[context.token] = context


def scenario_instance(context: SweepContext, change: Change) -> tuple[Instance, Model]:
    """The instance and model of one scenario: model fields, totals, scaled columns, then the draw's noise."""
    model, totals, scales = _change_parts(context, change)
    return _changed_instance(context.instance, context, change, totals, scales), model


def _change_parts(context: SweepContext, change: Change) -> tuple[Model, dict[tuple[str, ...], float],
                                                                 dict[tuple[str, str], float]]:
    """The scenario's model, its totals by (specialty,) or (specialty, year), and its column factors."""
    model = context.models[change.model]
    totals: dict[tuple[str, ...], float] = {}
    scales: dict[tuple[str, str], float] = {}
    for axis, value in zip(context.axes, change.values):
        if axis.kind == "model":
            model = with_model_value(model, axis.path, value)
        elif axis.kind == "total":
            totals[tuple(map(str, axis.path))] = value
        else:
            scales[(str(axis.path[0]), str(axis.path[1]))] = value
    return model, totals, scales


def _changed_instance(instance: Instance, context: SweepContext, change: Change,
                      totals: dict[tuple[str, ...], float], scales: dict[tuple[str, str], float]) -> Instance:
    specialties = [Specialty(id=s.id, name=s.name, total=totals[(s.id,)]).placed(s.where())
                   if (s.id,) in totals else s for s in instance.specialties] \
        if any(len(key) == 1 for key in totals) else None
    areas = _scaled_areas(instance, scales)
    bounds = _scaled_bounds(instance.bounds, scales)
    if change.draw and context.draws is not None:
        rng = np.random.default_rng([context.draws.seed, change.draw])
        base = instance if areas is None else variant(instance, areas=areas)
        areas = _noisy_areas(base, rng, context.draws.noise)
    if specialties is not None or areas is not None or bounds is not None:
        instance = variant(instance, specialties=specialties, areas=areas, bounds=bounds)
    factor = scales.get(("previous", "posts"))
    if factor is not None:
        fields = {name: getattr(instance, name) for name in Instance.model_fields}
        fields["previous"] = [row._replace(posts=row.posts * factor) for row in instance.previous]
        instance = Instance(**fields)
    return instance


def scenario_horizon(context: SweepContext, change: Change) -> tuple[HorizonInstance, Model]:
    """The multi-year instance and model of one scenario of a multi-year sweep.

    The one-year parts (areas, bounds, last year's posts, the draw's noise) change as in
    :func:`scenario_instance`; ``specialty.<id>.total`` sets every plan year's total and
    ``specialty.<id>.totals.<year>`` one year's (after it); bounds that hold in one year are scaled
    like the others; workforce rates, headcount and population growth are scaled per resolved cell
    or leaf (rates inherited from an ancestor, or their defaults, included).
    """
    horizon = context.horizon
    assert horizon is not None, "a multi-year sweep has its multi-year instance"
    model, totals, scales = _change_parts(context, change)
    first_totals = {key: value for key, value in totals.items() if len(key) == 1}
    instance = _changed_instance(horizon.instance, context, change, first_totals, scales)
    yearly = {specialty: list(values) for specialty, values in horizon.totals.items()}
    for key, value in sorted(totals.items(), key=lambda item: len(item[0])):  # every year first, then one year
        if len(key) == 1:
            yearly[key[0]] = [value] * horizon.plan_years
        else:
            yearly[key[0]][int(key[1]) - horizon.first_year] = value
    if any(len(key) == 2 for key in totals):
        # The one-year instance carries the first plan year's total, as load_horizon_instance makes it.
        instance = variant(instance, specialties=[
            Specialty(id=s.id, name=s.name, total=yearly[s.id][0]).placed(s.where()) for s in instance.specialties])
    year_bounds = horizon.year_bounds
    if ("bounds", "min") in scales or ("bounds", "max") in scales:
        year_bounds = {year: _scaled_bounds(rows, scales) or rows for year, rows in horizon.year_bounds.items()}
    cells = horizon.cells
    # declared, so that the verifier can resolve the rows again and scale them by its own code
    declared = list(horizon.changes)
    mine = {column: factor for (table, column), factor in scales.items() if table == "workforce"}
    if mine:
        cells = {cell: CellFacts(**{name: getattr(facts, name) * mine.get(name, 1.0)
                                    for name in ("headcount", "exit_rate", "fill_rate", "retention")})
                 for cell, facts in horizon.cells.items()}
        declared += [FactChange(name, factor=factor) for name, factor in mine.items()]
    growth = horizon.growth
    if ("areas", "population_growth") in scales:
        growth = {leaf: value * scales[("areas", "population_growth")] for leaf, value in horizon.growth.items()}
        declared.append(FactChange("population_growth", factor=scales[("areas", "population_growth")]))
    changed = dataclasses.replace(horizon, instance=instance, totals=yearly, year_bounds=year_bounds, cells=cells,
                                  growth=growth, changes=tuple(declared))
    return changed, model


def _scaled_areas(instance: Instance, scales: dict[tuple[str, str], float]) -> list[Any] | None:
    mine = {column: factor for (table, column), factor in scales.items()
            if table == "areas" and column != "population_growth"}
    if not mine:
        return None
    areas = []
    for area in instance.areas:
        population = area.population
        if population is not None and "population" in mine:
            population = population * mine["population"]
        # population_growth is no indicator: a multi-year scenario scales it per leaf (scenario_horizon)
        indicators = {name: value * mine.get(name, 1.0) for name, value in area.indicators.items()}
        areas.append(area._replace(population=population, indicators=indicators))
    return areas


def _scaled_bounds(rows: Sequence[Any], scales: dict[tuple[str, str], float]) -> list[Any] | None:
    low, high = scales.get(("bounds", "min")), scales.get(("bounds", "max"))
    if low is None and high is None:
        return None
    return [bound._replace(min=bound.min * low if low is not None and bound.min is not None else bound.min,
                           max=bound.max * high if high is not None and bound.max is not None else bound.max)
            for bound in rows]


def check_models(instance: Instance, models: Sequence[Model]) -> None:
    """Each model's need on the unchanged instance, before any scenario is solved.

    A model the instance cannot serve (an indicator it lacks) is then one located error (exit 2),
    not the same failure in every scenario.

    Raises
    ------
    InputError
        As ``allocator solve`` raises it for that instance and model.
    """
    from allocator.core.need import need_breakdown

    for model in models:
        need_breakdown(instance, model)


def parent_of(instance: Instance, leaf: str) -> str:
    """The area a leaf's posts are summed into in a scenario row: its parent (itself at the root)."""
    return instance.area_by_id[leaf].parent or leaf


def parent_areas(instance: Instance) -> list[str]:
    """The parents of the leaves, sorted: one ``posts.<area>`` column each in scenarios.csv."""
    return sorted({parent_of(instance, leaf) for leaf in instance.leaves})


def plan_key(units: np.ndarray) -> str:
    """A short fingerprint of a plan's posts (equal plans, equal keys), to see where a plan changes."""
    return hashlib.sha256(np.ascontiguousarray(units, dtype=np.int64).tobytes()).hexdigest()[:16]


def solve_scenario(context: SweepContext, change: Change) -> ScenarioResult:
    """Solve one scenario as ``allocator solve`` would (verified plan), and measure it."""
    from allocator.core.need import need_breakdown
    from allocator.results.solve import solve

    if context.horizon is not None:
        return solve_horizon_scenario(context, change)
    started = time.perf_counter()
    instance, model = scenario_instance(context, change)
    row: dict[str, Any] = {"model": model.name, "draw": change.draw}
    parents = parent_areas(context.instance)
    try:
        plan = solve(instance, model, diagnose_infeasible=False)
    except InfeasibleError:
        row.update(status="infeasible", objective=None, plan=None, **{name: None for name in METRICS},
                   **{f"posts.{p}": None for p in parents}, seconds=time.perf_counter() - started)
        return ScenarioResult(change.scenario, row, None)
    table = plan.table
    units = np.rint(table.posts / float(instance.unit)).astype(np.int64)
    metrics = plan_metrics(instance, plan, need_breakdown(instance, model)).as_json()
    per_parent = dict.fromkeys(parents, 0.0)
    for (leaf, _), posts in zip(instance.cells, table.posts.tolist()):
        per_parent[parent_of(instance, leaf)] += posts
    row.update(status="optimal", objective=plan.objective, plan=plan_key(units),
               **{name: metrics[name] for name in METRICS}, **{f"posts.{p}": per_parent[p] for p in parents},
               seconds=time.perf_counter() - started)
    return ScenarioResult(change.scenario, row, units.astype(np.int32))


def horizon_columns(horizon: HorizonInstance, parents: Sequence[str]) -> list[str]:
    """The per-area columns of a multi-year scenario row.

    ``posts.<area>``: posts summed over the plan years; ``coverage.<area>.<year>``: supply over demand
    (summed over the area's leaves and specialties) in the last plan year and the last outlook year.
    """
    return [*(f"posts.{p}" for p in parents), *(f"coverage.{p}.{year}" for year in coverage_years(horizon)
                                                for p in parents)]


def coverage_years(horizon: HorizonInstance) -> list[int]:
    """The years of the coverage columns: the last plan year and the last outlook year (one when equal)."""
    return sorted({horizon.plan_calendar_years[-1], horizon.outlook_calendar_years[-1]})


def solve_horizon_scenario(context: SweepContext, change: Change) -> ScenarioResult:
    """Solve one multi-year scenario as ``allocator solve`` would (verified by the simulator), and measure it.

    Status: ``optimal``; ``gap ≤ G`` when the sweep accepts a gap (as ``solve --accept-gap``
    labels it, whether or not the gap reached 0); ``time-limit`` when the solver stopped at the
    scenario's time limit without such a plan (no plan kept); ``infeasible``.
    """
    from allocator.results.horizon import solve_horizon

    started = time.perf_counter()
    horizon, model = scenario_horizon(context, change)
    row: dict[str, Any] = {"model": model.name, "draw": change.draw}
    parents = parent_areas(context.instance)
    columns = horizon_columns(horizon, parents)
    try:
        plan = solve_horizon(horizon, model, time_limit=context.time_limit,
                             accept_gap=context.accept_gap)
    except (InfeasibleError, TimeLimitError) as exc:
        status = "infeasible" if isinstance(exc, InfeasibleError) else "time-limit"
        row.update(status=status, objective=None, plan=None, **{name: None for name in HORIZON_METRICS},
                   **dict.fromkeys(columns), seconds=time.perf_counter() - started)
        if status == "time-limit":  # the gap the solver had reached, in its own words (no plan is kept)
            row["error"] = str(exc).splitlines()[0][:300]
        return ScenarioResult(change.scenario, row, None)
    cells = list(horizon.instance.cells)
    unit = float(horizon.instance.unit)
    posts_by_year = [year.posts() for year in plan.years]
    units = np.array([[round(posts[cell] / unit) for cell in cells] for posts in posts_by_year], dtype=np.int64)
    per_parent = dict.fromkeys(parents, 0.0)
    for p in range(units.shape[0]):
        for (leaf, _), posts in zip(cells, units[p].tolist()):
            per_parent[parent_of(context.instance, leaf)] += posts * unit
    sums: dict[tuple[str, int], list[float]] = {}
    for record in plan.projection.rows:
        cell = sums.setdefault((parent_of(context.instance, record.area), record.year), [0.0, 0.0])
        cell[0] += record.supply
        cell[1] += record.demand
    coverage: dict[str, float | None] = {}
    for year in coverage_years(horizon):
        for parent in parents:
            supply, demand = sums.get((parent, year), [0.0, 0.0])
            coverage[f"coverage.{parent}.{year}"] = supply / demand if demand > 0 else None
    # As `compare` counts posts moved: each year against the year before, year 0 against `previous`.
    moved = math.fsum(abs(row.change) for year_plan in plan.years for row in year_plan.rows if row.change is not None)
    myopic = (plan.myopic or {}).get("inhabitant_years_without_specialist")
    row.update(status=plan.status, objective=plan.objective, plan=plan_key(units), coverage_cost=plan.coverage_cost,
               posts_cost=plan.posts_cost, gap=plan.gap,
               inhabitant_years_without_specialist=plan.projection.inhabitant_years_without,
               myopic_inhabitant_years_without_specialist=myopic,
               posts_moved=moved,
               year_plans=[plan_key(units[p]) for p in range(units.shape[0])],
               **{f"posts.{p}": per_parent[p] for p in parents}, **coverage, seconds=time.perf_counter() - started)
    return ScenarioResult(change.scenario, row, units.astype(np.int32))


def scenarios_task(context: SweepContext | str, changes: list[Change]) -> list[ScenarioResult | str]:
    """Several scenarios in one task (fewer round trips); a scenario that raises gives its message instead."""
    results: list[ScenarioResult | str] = []
    for change in changes:
        try:
            results.append(scenario_task(context, change))
        except Exception as exc:  # noqa: BLE001 - reported per scenario; the caller retries it alone
            results.append(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    return results


def scenario_task(context: SweepContext | str, change: Change) -> ScenarioResult:
    """The task an executor runs: ``context`` is the context itself, or the token of an installed one."""
    if isinstance(context, str):
        found = _INSTALLED.get(context)
        if found is None:
            raise RuntimeError("this worker process was not given the sweep's context (initializer missing)")
        context = found
    return solve_scenario(context, change)


# --- what sweep.md and the report show ------------------------------------------------------------


def has_plan(row: dict[str, Any]) -> bool:
    """Whether a scenario row holds a plan (optimal, or within an accepted gap)."""
    return row.get("plan") is not None


def _span(values: list[float]) -> list[float] | None:
    return [min(values), max(values)] if values else None


def sweep_summary(axes: Sequence[Axis], combine: str, parents: Sequence[str], rows: Sequence[dict[str, Any]],
                  horizon: HorizonInstance | None = None) -> list[dict[str, Any]]:
    """Per axis: each area's range of posts at each value, and where the plan changes.

    The range at a value is the lowest and highest over the other axes, the models and the draws,
    of the scenarios with a plan; a multi-year scenario's posts are summed over its plan years, and
    its coverage in the last outlook year is given the same way. "The plan changes" compares
    scenarios that differ in this axis alone (same model, draw and value of every other axis; on
    zipped axes, same model and draw), between consecutive values as the spec lists them; a
    multi-year change also names the plan years whose posts differ.

    Returns
    -------
    list of dict
        One per axis: ``field``, ``values``, ``posts`` (area -> [low, high] or None per value),
        ``coverage`` (the same for coverage, multi-year only), ``changes`` (``from``, ``to``,
        ``changed``, ``comparable`` and, multi-year, ``years``).
    """
    ordered = sorted(rows, key=lambda row: row["scenario"])
    solved = [row for row in ordered if has_plan(row)]
    last = horizon.outlook_calendar_years[-1] if horizon is not None else None
    parts = []
    for i, axis in enumerate(axes):
        at = {value: [row for row in solved if row[axis.field] == value] for value in axis.values}
        part: dict[str, Any] = {
            "field": axis.field, "values": list(axis.values),
            "posts": {p: [_span([row[f"posts.{p}"] for row in at[v]]) for v in axis.values] for p in parents}}
        if horizon is not None:
            part["coverage_year"] = last
            part["coverage"] = {p: [_span([row[f"coverage.{p}.{last}"] for row in at[v]
                                          if row.get(f"coverage.{p}.{last}") is not None]) for v in axis.values]
                                for p in parents}
        others = [a.field for k, a in enumerate(axes) if k != i]
        groups: dict[tuple[Any, ...], dict[float, dict[str, Any]]] = {}
        for row in ordered:
            key = (row["model"], row["draw"], *(() if combine == "zip" else tuple(row[f] for f in others)))
            groups.setdefault(key, {})[row[axis.field]] = row
        changes = []
        for a, b in zip(axis.values, axis.values[1:]):
            pairs = [(group[a], group[b]) for group in groups.values() if a in group and b in group]
            differ = [(x, y) for x, y in pairs if x.get("plan") != y.get("plan") or x["status"] != y["status"]]
            change: dict[str, Any] = {"from": a, "to": b, "changed": len(differ), "comparable": len(pairs)}
            if horizon is not None:
                years = set()
                for x, y in differ:
                    mine, theirs = x.get("year_plans"), y.get("year_plans")
                    if mine is None or theirs is None:  # a scenario without a plan: every year differs
                        years.update(horizon.plan_calendar_years)
                    else:
                        years.update(year for year, p, q in zip(horizon.plan_calendar_years, mine, theirs) if p != q)
                change["years"] = sorted(years)
            changes.append(change)
        part["changes"] = changes
        parts.append(part)
    return parts


def status_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Scenarios per status, in a fixed order: optimal, gap ≤ G (each G), time-limit, infeasible, error."""
    found = sorted({str(row["status"]) for row in rows})
    order = ["optimal", *(s for s in found if s.startswith("gap")), "time-limit", "infeasible", "error"]
    return {status: sum(1 for row in rows if row["status"] == status) for status in order
            if status in found or status in ("optimal", "infeasible", "error")}
