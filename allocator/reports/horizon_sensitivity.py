"""How firm a multi-year plan is: the plan re-solved under shifted assumptions and one post more or fewer.

A multi-year plan rests on figures the instance marks as assumptions (each
region's fill rate, the exit rate, retention, population growth) and on a
policy weight (``coverage_weight``). Each *variant* changes one of them and is
solved again exactly (:func:`allocator.results.horizon.solve_horizon`: same
engine, time limit and accepted gap as the plan; verified by the simulator):

- **assumptions**: a field of the workforce (``fill_rate``, ``retention``,
  ``exit_rate``) shifted by :data:`SHIFTS` down and up, in every cell at once
  and in each cell alone; ``population_growth`` the same, in every leaf at
  once and in each leaf alone. Shifts are absolute and clipped to the field's
  valid range (:data:`allocator.io.sweep.HORIZON_COLUMNS`), so a clipped
  variant says what it really solved (``from``, ``to``);
- **coverage weight** halved and doubled (the policy's price of a shortfall);
- **posts**: one post more and one fewer in one plan year's total of one
  specialty: the marginal value of a post, year by year.

An assumption or weight variant changes only the cost, so the plan still
keeps every rule: it warm-starts the variant's solve and is kept when it is
still optimal (tie rule: a variant whose optimum equals the plan's own cost
under it returns the plan itself, so it moves no post). The plan's *regret*
under a variant is its own cost there (simulated by
:func:`allocator.results.horizon.project_plan`) minus the variant's optimum;
it is never negative beyond :data:`REGRET_TOLERANCE` (plus the certified gap
when a gap is accepted), which is checked. A post variant changes a total, so
the plan is not a plan of it: it has no regret, and is solved from the myopic
warm start.

Nothing here reads or writes files (allocator.writers.horizon_sensitivity does).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocator.errors import InfeasibleError, Location, SolverError, TimeLimitError, VerificationError
from allocator.io.schemas import FactChange, HorizonInstance, Model
from allocator.io.sweep import HORIZON_COLUMNS, Axis
from allocator.reports.sweep import Change, SweepContext, scenario_horizon
from allocator.results.horizon import ABSOLUTE, TOLERANCE, HorizonPlan, project_plan, solve_horizon

#: The absolute shift of each assumption, down and up (docs/mathematics.md, "Multi-year sensitivity", says why).
SHIFTS: dict[str, float] = {"fill_rate": 0.05, "retention": 0.10, "exit_rate": 0.01, "population_growth": 0.005}
#: The workforce fields among :data:`SHIFTS` (the rest is ``population_growth``, per leaf).
CELL_FIELDS = ("fill_rate", "retention", "exit_rate")
#: The factors the coverage weight is multiplied by.
COVERAGE_FACTORS = (0.5, 2.0)
#: Posts added to and taken from one plan year's total.
POST_STEP = 1.0
#: A regret below minus this (relative to max(1, |objective|), plus ABSOLUTE) is a defect, not rounding.
REGRET_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Variant:
    """One change to the plan's instance or model.

    Attributes
    ----------
    key
        A stable id: ``fill_rate-0.05`` (every cell), ``fill_rate-0.05@Sjælland`` (one leaf; with several
        specialties ``@leaf/specialty``), ``coverage_weight*0.5``, ``posts+1@2021`` (``@2021/specialty``
        with several specialties).
    kind
        ``assumption``, ``coverage_weight`` or ``posts``.
    field
        The field changed (``fill_rate``, ``retention``, ``exit_rate``, ``population_growth``,
        ``coverage_weight``, ``total``).
    area, specialty
        The leaf and specialty changed alone ("" when every cell or leaf is).
    year
        The plan year whose total changes (posts variants).
    change
        The nominal shift (assumptions), factor (coverage weight) or posts added (posts).
    before, after
        The value before and after, where it is one number (one cell or leaf, the weight, a total).
    """

    key: str
    kind: str
    field: str
    area: str
    specialty: str
    year: int | None
    change: float
    before: float | None
    after: float | None

    @property
    def direction(self) -> int:
        """-1 for a shift down (or fewer posts), +1 up."""
        return -1 if (self.change < 0 if self.kind != "coverage_weight" else self.change < 1) else 1


@dataclass(frozen=True)
class VariantResult:
    """A variant solved (or why not), and its figures against the plan.

    Attributes
    ----------
    status
        ``optimal``, ``gap ≤ G``, ``infeasible``, ``time-limit`` or ``error`` (the solver stopped otherwise).
    first_year_changes
        Posts minus the plan's, per (leaf, specialty), in the first plan year (only cells that change).
    coverage_last
        Σ supply / Σ demand over each training region's leaves and specialties in the last outlook year.
    """

    variant: Variant
    status: str
    message: str = ""
    gap: float | None = None
    objective: float | None = None
    coverage_cost: float | None = None
    posts_cost: float | None = None
    inhabitant_years_without: float | None = None
    inhabitant_years_change: float | None = None
    objective_change: float | None = None
    posts_moved: float | None = None
    posts_moved_first_year: float | None = None
    regret: float | None = None
    plan_cost: float | None = None
    first_year_changes: dict[tuple[str, str], float] = field(default_factory=dict)
    coverage_last: dict[str, float | None] = field(default_factory=dict)
    posts: dict[tuple[str, str, int], float] | None = None

    @property
    def solved(self) -> bool:
        """Whether the variant has a verified plan."""
        return self.objective is not None


@dataclass(frozen=True)
class HorizonSensitivity:
    """The multi-year sensitivity report of one plan."""

    horizon: HorizonInstance
    model: Model
    plan: HorizonPlan
    coverage_last: dict[str, float | None]
    variants: list[VariantResult]
    settings: dict[str, Any]

    @property
    def years(self) -> tuple[int, int, int]:
        """The first year, the last plan year and the last outlook year."""
        first = self.horizon.first_year
        return first, first + self.horizon.plan_years - 1, first + self.horizon.outlook_years - 1

    def of_kind(self, kind: str) -> list[VariantResult]:
        """The variants of one kind, in order."""
        return [result for result in self.variants if result.variant.kind == kind]


def _number(value: float) -> str:
    """A shift in a key: ``0.05``, ``1``, ``0.5`` (repr-free of float noise)."""
    return f"{value:g}"


def _scope(horizon: HorizonInstance, leaf: str, specialty: str) -> str:
    several = len(horizon.instance.specialties) > 1
    return f"@{leaf}/{specialty}" if several and specialty else f"@{leaf}"


def _range(name: str) -> tuple[float, float]:
    """The valid range of the field, as closed bounds (a growth stays above -1)."""
    table = "areas" if name == "population_growth" else "workforce"
    low_open, low, high = HORIZON_COLUMNS[(table, name)]
    if low_open:
        low = math.nextafter(low, math.inf)
    return low, high


def _clip(name: str, value: float) -> float:
    """``value`` within the valid range of the field."""
    low, high = _range(name)
    return min(high, max(low, value))


def _shifted(name: str, value: float, change: float) -> float:
    """``value + change`` clipped to the field's range; rounded to 12 decimals, so that 0.9 - 0.05 is 0.85, the
    value a person would write (not 0.8500000000000001)."""
    return _clip(name, round(value + change, 12))


def variants_of(horizon: HorizonInstance, model: Model, per_area: bool = True) -> list[Variant]:
    """Every variant of the report, in the order it lists them (see the module docstring)."""
    found: list[Variant] = []
    cells = list(horizon.instance.cells)
    for name in (*CELL_FIELDS, "population_growth"):
        amount = SHIFTS[name]
        for sign in (-1, 1):
            shift = sign * amount
            text = f"{name}{'+' if sign > 0 else '-'}{_number(amount)}"
            found.append(Variant(text, "assumption", name, "", "", None, shift, None, None))
            if not per_area:
                continue
            if name == "population_growth":
                for leaf in horizon.instance.leaves:
                    before = horizon.growth[leaf]
                    found.append(Variant(text + f"@{leaf}", "assumption", name, leaf, "", None, shift, before,
                                         _shifted(name, before, shift)))
            else:
                for leaf, specialty in cells:
                    before = float(getattr(horizon.cells[(leaf, specialty)], name))
                    found.append(Variant(text + _scope(horizon, leaf, specialty), "assumption", name, leaf, specialty,
                                         None, shift, before, _shifted(name, before, shift)))
    weight = float(model.coverage_weight)
    for factor in COVERAGE_FACTORS:
        found.append(Variant(f"coverage_weight*{_number(factor)}", "coverage_weight", "coverage_weight", "", "", None,
                             factor, weight, weight * factor))
    for k, year in enumerate(horizon.plan_calendar_years):
        for specialty in horizon.instance.specialty_ids:
            total = float(horizon.totals[specialty][k])
            scope = f"@{year}/{specialty}" if len(horizon.instance.specialties) > 1 else f"@{year}"
            for sign in (1, -1):
                if total + sign * POST_STEP < 0:  # no total below 0 posts (a year with none has no post to take)
                    continue
                found.append(Variant(f"posts{'+' if sign > 0 else '-'}{_number(POST_STEP)}{scope}", "posts", "total",
                                     "", specialty, year, sign * POST_STEP, total, total + sign * POST_STEP))
    return found


def apply_variant(horizon: HorizonInstance, model: Model, variant: Variant) -> tuple[HorizonInstance, Model]:
    """The instance and model of one variant.

    Totals and the coverage weight go through the sweep's own path
    (:func:`allocator.reports.sweep.scenario_horizon`); the absolute shifts of
    rates and growth replace the resolved values of the cells or leaves they
    name, as the sweep's scaling axes do.
    """
    if variant.kind in ("coverage_weight", "posts"):
        if variant.kind == "coverage_weight":
            axis = Axis("model.coverage_weight", "model", ("coverage_weight",), (float(variant.after or 0.0),),
                        Location(None, None, "coverage_weight"))
        else:
            axis = Axis(f"specialty.{variant.specialty}.totals.{variant.year}", "total",
                        (variant.specialty, int(variant.year or 0)), (float(variant.after or 0.0),),
                        Location(None, None, "totals"))
        context = SweepContext(horizon.instance, (model,), (axis,), None, token="sensitivity", horizon=horizon)
        return scenario_horizon(context, Change(0, 0, axis.values, 0))
    name = variant.field
    low, high = _range(name)
    # declared, so that the verifier can resolve the rows again and apply the shift by its own code
    declared = horizon.changes + (FactChange(name, shift=float(variant.change or 0.0), digits=12, low=low, high=high,
                                             area=variant.area, specialty=variant.specialty),)
    if name == "population_growth":
        growth = {leaf: _shifted(name, value, variant.change) if variant.area in ("", leaf) else value
                  for leaf, value in horizon.growth.items()}
        return dataclasses.replace(horizon, growth=growth, changes=declared), model
    cells = {}
    for (leaf, specialty), facts in horizon.cells.items():
        if variant.area in ("", leaf) and variant.specialty in ("", specialty):
            facts = dataclasses.replace(facts, **{name: _shifted(name, float(getattr(facts, name)), variant.change)})
        cells[(leaf, specialty)] = facts
    return dataclasses.replace(horizon, cells=cells, changes=declared), model


def _units(horizon: HorizonInstance, posts: dict[tuple[str, str, int], float]) -> np.ndarray:
    unit = float(horizon.instance.unit)
    return np.array([[round(posts[(leaf, s, year)] / unit) for leaf, s in horizon.instance.cells]
                     for year in horizon.plan_calendar_years], dtype=np.int64)


def region_coverage(horizon: HorizonInstance, plan: HorizonPlan, year: int) -> dict[str, float | None]:
    """Σ supply / Σ demand over each top-level area's leaves and specialties in ``year`` (None: no demand)."""
    instance = horizon.instance
    roots = [area.id for area in instance.areas if area.parent is None]
    sums = {root: [0.0, 0.0] for root in roots}
    for row in plan.projection.rows:
        if row.year != year:
            continue
        top = instance.ancestors(row.area)[-1]
        sums[top][0] += row.supply
        sums[top][1] += row.demand
    return {root: (supply / demand if demand > 0 else None) for root, (supply, demand) in sums.items()}


def _moved(plan_posts: dict[tuple[str, str, int], float], posts: dict[tuple[str, str, int], float],
           first_year: int) -> tuple[float, float, dict[tuple[str, str], float]]:
    every = math.fsum(abs(posts[key] - plan_posts[key]) for key in plan_posts)
    first = {(leaf, s): posts[(leaf, s, year)] - value for (leaf, s, year), value in plan_posts.items()
             if year == first_year and posts[(leaf, s, year)] != value}
    return every, math.fsum(abs(v) for v in first.values()), first


def solve_variant(horizon: HorizonInstance, model: Model, plan: HorizonPlan, variant: Variant, *,
                  solver: str = "auto", time_limit: float | None = None,
                  accept_gap: float | None = None) -> VariantResult:
    """Solve one variant as the plan was solved (verified), and measure it against the plan.

    Raises
    ------
    VerificationError
        When the plan's regret under the variant is negative beyond tolerance (a defect).
    """
    changed, changed_model = apply_variant(horizon, model, variant)
    plan_posts = plan.posts()
    hint = _units(horizon, plan_posts) if variant.kind != "posts" else None
    try:
        solved = solve_horizon(changed, changed_model, solver=solver, time_limit=time_limit, accept_gap=accept_gap,
                               hint=hint)
    except InfeasibleError as exc:
        return VariantResult(variant, "infeasible", str(exc).splitlines()[0][:300])
    except SolverError as exc:  # a time limit (TimeLimitError) or another stop: no plan, reported as such
        status = "time-limit" if isinstance(exc, TimeLimitError) else "error"
        return VariantResult(variant, status, str(exc).splitlines()[0][:300])
    posts = solved.posts()
    moved, moved_first, first = _moved(plan_posts, posts, horizon.first_year)
    regret = plan_cost = None
    if variant.kind != "posts":
        # The plan's own cost under the variant, simulated (and its projection verified) afresh.
        plan_cost = project_plan(changed, changed_model, plan_posts).objective
        regret = plan_cost - solved.objective
        slack = ABSOLUTE + REGRET_TOLERANCE * max(1.0, abs(solved.objective))
        if solved.gap is not None and solved.status != "optimal":
            slack += solved.gap * max(1.0, abs(solved.objective))
        if regret < -slack:
            raise VerificationError([f"variant {variant.key}: the plan costs {plan_cost!r} there, less than the "
                                     f"variant's optimum {solved.objective!r}"])
        regret = max(regret, 0.0)  # within tolerance of 0 (checked above): written as 0
    last = horizon.first_year + horizon.outlook_years - 1
    without = solved.projection.inhabitant_years_without
    return VariantResult(
        variant, solved.status, gap=solved.gap, objective=solved.objective, coverage_cost=solved.coverage_cost,
        posts_cost=solved.posts_cost, inhabitant_years_without=without,
        inhabitant_years_change=without - plan.projection.inhabitant_years_without,
        objective_change=solved.objective - plan.objective, posts_moved=moved, posts_moved_first_year=moved_first,
        regret=regret, plan_cost=plan_cost, first_year_changes=first,
        coverage_last=region_coverage(changed, solved, last), posts=posts)


def horizon_sensitivity(horizon: HorizonInstance, model: Model, plan: HorizonPlan, *, solver: str = "auto",
                        time_limit: float | None = None, accept_gap: float | None = None, per_area: bool = True,
                        progress: Callable[[int, int], None] | None = None,
                        executor: Executor | None = None) -> HorizonSensitivity:
    """Solve every variant of :func:`variants_of` against ``plan`` (the verified plan of ``horizon``, ``model``).

    Parameters
    ----------
    solver, time_limit, accept_gap
        As the plan was solved; each variant's solve gets the same.
    per_area
        Also shift each cell's rates and each leaf's growth alone (else only every cell or leaf at once).
    progress
        Called with (variants done, variants) after each one.
    executor
        Runs the variants' solves (:func:`allocator.reports.workers.horizon_executor`: worker processes that
        hold ``horizon``, ``model`` and ``plan`` once); None solves them here, one after another. The results
        are put back in the variants' order, so they do not depend on the executor.
    """
    variants = variants_of(horizon, model, per_area)
    options = {"solver": solver, "time_limit": time_limit, "accept_gap": accept_gap}
    if executor is None:
        results = []
        for k, variant in enumerate(variants):
            results.append(solve_variant(horizon, model, plan, variant, **options))
            if progress is not None:
                progress(k + 1, len(variants))
    else:
        from allocator.reports.workers import horizon_variant_task

        futures = {executor.submit(horizon_variant_task, variant, options): k for k, variant in enumerate(variants)}
        done: dict[int, VariantResult] = {}
        for future in as_completed(futures):
            done[futures[future]] = future.result()  # a worker's error (a negative regret) is raised here
            if progress is not None:
                progress(len(done), len(variants))
        results = [done[k] for k in range(len(variants))]
    last = horizon.first_year + horizon.outlook_years - 1
    settings = {"shifts": dict(SHIFTS), "coverage_factors": list(COVERAGE_FACTORS), "post_step": POST_STEP,
                "solver": solver, "time_limit": time_limit, "accept_gap": accept_gap, "per_area": per_area,
                "regret_tolerance": REGRET_TOLERANCE}
    return HorizonSensitivity(horizon, model, plan, region_coverage(horizon, plan, last), results, settings)


__all__ = ["SHIFTS", "COVERAGE_FACTORS", "POST_STEP", "Variant", "VariantResult", "HorizonSensitivity",
           "variants_of", "apply_variant", "solve_variant", "horizon_sensitivity", "region_coverage"]
