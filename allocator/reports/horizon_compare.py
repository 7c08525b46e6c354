"""Step 7: several policy models side by side on a multi-year instance.

Policymakers weigh coverage against disruption over the horizon: a higher
``coverage_weight`` or another need model moves posts earlier to the areas
that fall short, at the price of changes from year to year. Each model is
solved over the whole horizon (:func:`allocator.results.horizon.solve_horizon`,
verified), and the plans are lined up on the figures the seeds ask about:
inhabitant-years without a specialist, coverage in the last plan year and the
last outlook year, the year each area reaches its target, and how many posts
move from one year to the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from allocator.io.schemas import HorizonInstance, Model
from allocator.results.horizon import HorizonPlan, solve_horizon
from allocator.results.projection import coverage_by_area, year_target_reached


@dataclass(frozen=True)
class HorizonMetrics:
    """The figures of one model's multi-year plan.

    Attributes
    ----------
    inhabitant_years_without
        Σ over outlook years and cells of shortfall × inhabitants per specialist.
    myopic_inhabitant_years_without
        The same for the myopic plan under the same model (None when it has none).
    coverage_first, coverage_last_plan, coverage_last
        Coverage of all areas together (Σ supply / Σ demand) in the first year, the last plan
        year and the last outlook year, per specialty.
    lowest_last_plan, lowest_last
        The leaf with the lowest coverage, and that coverage, in the last plan year and the last
        outlook year, per specialty.
    reached, leaves
        How many (leaf, specialty) cells reach their target by the end of the outlook (coverage
        at 100 % or more from some year to the end), of how many.
    last_reached
        The latest year in which a cell that reaches its target reaches it (None if none does).
    moved
        Σ over plan years and cells of |posts − the year before's posts| (year 0 against
        ``previous`` where known): the disruption from year to year.
    """

    status: str
    objective: float
    coverage_cost: float
    posts_cost: float
    gap: float | None
    inhabitant_years_without: float
    myopic_inhabitant_years_without: float | None
    coverage_first: dict[str, float]
    coverage_last_plan: dict[str, float]
    coverage_last: dict[str, float]
    lowest_last_plan: dict[str, tuple[str, float]]
    lowest_last: dict[str, tuple[str, float]]
    reached: int
    leaves: int
    last_reached: int | None
    moved: float

    def as_json(self) -> dict[str, Any]:
        """The metrics as JSON-ready values (non-finite numbers as None)."""
        def number(value: float | None) -> float | None:
            return None if value is None or not math.isfinite(value) else float(value)

        return {
            "status": self.status, "objective": self.objective, "coverage_cost": self.coverage_cost,
            "posts_cost": self.posts_cost, "gap": number(self.gap),
            "inhabitant_years_without_specialist": self.inhabitant_years_without,
            "myopic_inhabitant_years_without_specialist": number(self.myopic_inhabitant_years_without),
            "coverage_first_year": {s: number(v) for s, v in self.coverage_first.items()},
            "coverage_last_plan_year": {s: number(v) for s, v in self.coverage_last_plan.items()},
            "coverage_last_outlook_year": {s: number(v) for s, v in self.coverage_last.items()},
            "lowest_last_plan_year": {s: {"area": a, "coverage": number(v)} for s, (a, v) in
                                      self.lowest_last_plan.items()},
            "lowest_last_outlook_year": {s: {"area": a, "coverage": number(v)} for s, (a, v) in
                                         self.lowest_last.items()},
            "cells_reaching_target": self.reached, "cells": self.leaves, "last_year_reached": self.last_reached,
            "posts_moved": self.moved,
        }


@dataclass(frozen=True)
class HorizonCompared:
    """One model, its verified multi-year plan, coverage per (area, specialty) and year, and its metrics."""

    model: Model
    plan: HorizonPlan
    coverage: dict[tuple[str, str], dict[int, float]]
    metrics: HorizonMetrics

    def reached(self, area: str, specialty: str) -> int | None:
        """The year the area reaches its target under this plan (None: not by the end of the outlook)."""
        return year_target_reached(self.coverage.get((area, specialty), {}))


@dataclass(frozen=True)
class HorizonComparison:
    """Models side by side on one multi-year instance; the first model is the reference for deltas."""

    horizon: HorizonInstance
    models: list[HorizonCompared]

    @property
    def reference(self) -> HorizonCompared:
        """The first model."""
        return self.models[0]

    @property
    def years(self) -> tuple[int, int, int]:
        """The first year, the last plan year and the last outlook year."""
        first = self.horizon.first_year
        return first, first + self.horizon.plan_years - 1, first + self.horizon.outlook_years - 1


def horizon_metrics(horizon: HorizonInstance, plan: HorizonPlan,
                    coverage: dict[tuple[str, str], dict[int, float]]) -> HorizonMetrics:
    """The figures of one verified multi-year plan (see :class:`HorizonMetrics`)."""
    instance = horizon.instance
    first = horizon.first_year
    last_plan = first + horizon.plan_years - 1
    last = first + horizon.outlook_years - 1
    specialties = instance.specialty_ids
    supply: dict[tuple[str, int], float] = {}
    demand: dict[tuple[str, int], float] = {}
    for row in plan.projection.rows:
        key = (row.specialty, row.year)
        supply[key] = supply.get(key, 0.0) + row.supply
        demand[key] = demand.get(key, 0.0) + row.demand

    def overall(year: int) -> dict[str, float]:
        return {s: supply[(s, year)] / demand[(s, year)] if demand.get((s, year), 0.0) > 0 else math.inf
                for s in specialties if (s, year) in supply}

    def lowest(year: int) -> dict[str, tuple[str, float]]:
        # ties: the first leaf in the instance's order
        found: dict[str, tuple[str, float]] = {}
        for leaf in instance.leaves:
            for s in specialties:
                value = coverage.get((leaf, s), {}).get(year)
                if value is not None and (s not in found or value < found[s][1]):
                    found[s] = (leaf, value)
        return found

    cells = [(leaf, s) for leaf in instance.leaves for s in specialties if (leaf, s) in coverage]
    years_reached = [year_target_reached(coverage[cell]) for cell in cells]
    reached = [year for year in years_reached if year is not None]
    moved = math.fsum(abs(row.change) for year_plan in plan.years for row in year_plan.rows
                      if row.change is not None)
    myopic = plan.myopic.get("inhabitant_years_without_specialist") if plan.myopic else None
    return HorizonMetrics(
        status=plan.status, objective=plan.objective, coverage_cost=plan.coverage_cost, posts_cost=plan.posts_cost,
        gap=plan.gap, inhabitant_years_without=plan.projection.inhabitant_years_without,
        myopic_inhabitant_years_without=myopic, coverage_first=overall(first), coverage_last_plan=overall(last_plan),
        coverage_last=overall(last), lowest_last_plan=lowest(last_plan), lowest_last=lowest(last),
        reached=len(reached), leaves=len(cells), last_reached=max(reached) if reached else None, moved=moved)


def compare_horizon(horizon: HorizonInstance, models: list[Model], *, solver: str = "auto",
                    time_limit: float | None = None, accept_gap: float | None = None,
                    inputs: dict[str, str] | None = None) -> HorizonComparison:
    """Solve ``horizon`` under each model (each plan verified) and line the plans up.

    Parameters
    ----------
    time_limit, accept_gap
        As for ``allocator solve``, for each model's solve.

    Raises
    ------
    InfeasibleError, SolverError, VerificationError
        From the first model whose solve fails; nothing is compared then.
    """
    compared = []
    for model in models:
        plan = solve_horizon(horizon, model, solver=solver, time_limit=time_limit, accept_gap=accept_gap,
                             inputs=inputs)
        coverage = coverage_by_area(horizon, plan.projection)
        compared.append(HorizonCompared(model, plan, coverage, horizon_metrics(horizon, plan, coverage)))
    return HorizonComparison(horizon, compared)


__all__ = ["HorizonMetrics", "HorizonCompared", "HorizonComparison", "horizon_metrics", "compare_horizon"]
