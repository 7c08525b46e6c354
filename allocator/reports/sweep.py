"""One scenario of a sweep: apply its change to the instance and model, solve, and measure.

A scenario is a model, one value of every axis and a draw number. A task
carries only that change (:class:`Change`); the instance, the models and the
axes travel once per worker in a :class:`SweepContext` (a process pool's
initializer, or a Dask scatter). The task is a module-level function of plain
arguments, like the sensitivity report's (:mod:`allocator.reports.workers`),
so any ``concurrent.futures`` executor runs it. Its result depends on nothing
but the change: each draw has its own generator seeded by (seed, draw), so a
scenario's plan is the same on any executor, worker or order.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocator.errors import InfeasibleError
from allocator.io.schemas import Instance, Model, Specialty
from allocator.io.sweep import Axis, Draws, with_model_value
from allocator.reports.compare import plan_metrics
# The sensitivity report's draws: a sweep's draw d is the same noise as its draw d.
from allocator.reports.sensitivity import _noisy_areas, variant

#: The equity metrics of each scenario row, in column order (definitions in docs/formats.md).
METRICS = ("posts_per_100k_max_min_ratio", "posts_per_100k_gini", "posts_per_need_max_min_ratio",
           "underserved_share", "largest_deviation_from_target")


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
    instance = context.instance
    model = context.models[change.model]
    totals: dict[str, float] = {}
    scales: dict[tuple[str, str], float] = {}
    for axis, value in zip(context.axes, change.values):
        if axis.kind == "model":
            model = with_model_value(model, axis.path, value)
        elif axis.kind == "total":
            totals[str(axis.path[0])] = value
        else:
            scales[(str(axis.path[0]), str(axis.path[1]))] = value
    specialties = [Specialty(id=s.id, name=s.name, total=totals[s.id]).placed(s.where()) if s.id in totals else s
                   for s in instance.specialties] if totals else None
    areas = _scaled_areas(instance, scales)
    bounds = _scaled_bounds(instance, scales)
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
    return instance, model


def _scaled_areas(instance: Instance, scales: dict[tuple[str, str], float]) -> list[Any] | None:
    mine = {column: factor for (table, column), factor in scales.items() if table == "areas"}
    if not mine:
        return None
    areas = []
    for area in instance.areas:
        population = area.population
        if population is not None and "population" in mine:
            population = population * mine["population"]
        indicators = {name: value * mine.get(name, 1.0) for name, value in area.indicators.items()}
        areas.append(area._replace(population=population, indicators=indicators))
    return areas


def _scaled_bounds(instance: Instance, scales: dict[tuple[str, str], float]) -> list[Any] | None:
    low, high = scales.get(("bounds", "min")), scales.get(("bounds", "max"))
    if low is None and high is None:
        return None
    return [bound._replace(min=bound.min * low if low is not None and bound.min is not None else bound.min,
                           max=bound.max * high if high is not None and bound.max is not None else bound.max)
            for bound in instance.bounds]


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
