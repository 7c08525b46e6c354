"""Multi-year plans: solve the horizon MILP, compare with the myopic plan, verify by simulation.

``solve_horizon`` builds the numeric problem, solves the myopic baseline
(each plan year alone with the one-year model, chained through
``previous``), solves the whole horizon warm-started from it, and verifies
the result: every yearly rule through the one-year verifier, and the
projection and objective through the independent simulator
(:mod:`allocator.results.projection`). Nothing here touches files.

Tie rule: when the myopic plan's objective equals the proven optimum (within
1e-9 relative, 1e-7 absolute), the myopic plan is the plan written; so a
horizon of one year with ``coverage_weight: 0`` gives the one-year plan.
"""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocator.results.solve import run_metadata
from allocator.core.horizon import HorizonProblem, build_horizon
from allocator.core.problem import build_problem
from allocator.errors import InfeasibleError, InputError, Location, SolverError, TimeLimitError, VerificationError
from allocator.io.schemas import HorizonInstance
from allocator.io.schemas import Instance, Model
from allocator.results.plan import Plan, build_plan
from allocator.results.projection import Projection, project
from allocator.results.verify import check_plan, rule_breaches

#: Objectives closer than this (relative to max(1, |objective|)) are equal (ties, verification).
TOLERANCE = 1e-9
ABSOLUTE = 1e-7
#: The MILP's own objective value may differ from the simulated one by this, relative to max(1, |objective|):
#: the solvers hold each row to a feasibility tolerance of 1e-6, and CBC's solution file rounds the values.
#: Measured on the Danish instance: CBC 1.1e-5 apart (1.3e-9 relative) with its pipeline before c358db6, 5.0e-6
#: after it (objective 8675.55); HiGHS and SCIP 2e-12 or less.
REPORTED_TOLERANCE = 1e-6
#: The rates a workforce row may leave out (docs/mathematics.md), written here again for the verifier's own reading.
_RATE_DEFAULTS = {"exit_rate": 0.0, "fill_rate": 1.0, "retention": 1.0}


@dataclass
class HorizonPlan:
    """A verified multi-year plan.

    Attributes
    ----------
    years
        The one-year plan of every plan year (previous = the year before).
    instances
        The one-year instance of every plan year, as the plans were checked against.
    projection
        The simulated projection over the outlook years.
    status
        ``optimal``, ``gap ≤ G`` (with --accept-gap), or ``given`` (a plan projected, not solved).
    myopic
        The myopic plan's figures (None when it has none).
    """

    instance: str
    model: str
    first_year: int
    years: list[Plan]
    instances: list[Instance]
    projection: Projection
    coverage_cost: float
    posts_cost: float
    status: str
    bound: float | None = None
    gap: float | None = None
    myopic: dict[str, Any] | None = None
    myopic_projection: Projection | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The MILP's own objective value of the written plan, as the solver reported it (None when the plan
    #: written is not the solver's: a tie, a given plan; or when the solver reported none).
    solver_objective: float | None = None

    @property
    def objective(self) -> float:
        """coverage_cost + posts_cost."""
        return self.coverage_cost + self.posts_cost

    def posts(self) -> dict[tuple[str, str, int], float]:
        """Posts keyed by (leaf, specialty, calendar year)."""
        return {(leaf, specialty, self.first_year + k): value
                for k, plan in enumerate(self.years) for (leaf, specialty), value in plan.posts().items()}


def year_plans(horizon: HorizonInstance, model: Model, problem: HorizonProblem,
               units: np.ndarray) -> tuple[list[Instance], list[Plan]]:
    """The one-year instances and plans of ``units`` (n[p, c]), each year's ``previous`` the year before."""
    instances, plans = [], []
    previous: dict[tuple[str, str], float] | None = None
    for p in range(problem.plan_years):
        instance = horizon.year_instance(p, previous)
        year_problem = build_problem(instance, model)
        plans.append(build_plan(instance, model, year_problem, units[p], {"year": horizon.first_year + p}))
        instances.append(instance)
        previous = dict(zip(problem.cells, (units[p] * problem.unit).tolist()))
    return instances, plans


def myopic(horizon: HorizonInstance, model: Model) -> tuple[np.ndarray | None, str]:
    """Each plan year solved alone with the one-year model, year k's previous being year k - 1's plan.

    Returns the units n[p, c], or None and the reason when some year has no plan.
    """
    units, reason, _year = myopic_plans(horizon, model)
    return units, reason


def myopic_plans(horizon: HorizonInstance, model: Model) -> tuple[np.ndarray | None, str, int | None]:
    """:func:`myopic`, with the first plan year that has no plan on its own (None when every year has one),
    so that a memo can say which year in its own language (the reason is the solver's English)."""
    from allocator.results.solve import solve

    units = []
    previous: dict[tuple[str, str], float] | None = None
    cells = list(horizon.instance.cells)
    for p in range(horizon.plan_years):
        instance = horizon.year_instance(p, previous)
        try:
            plan = solve(instance, model)
        except InfeasibleError as exc:
            return None, f"plan year {horizon.first_year + p} has no plan on its own: {exc}", horizon.first_year + p
        posts = plan.posts()
        row = np.array([posts[cell] for cell in cells], dtype=float)
        units.append(np.rint(row / float(horizon.instance.unit)).astype(np.int64))
        previous = dict(zip(cells, row.tolist()))
    return np.stack(units), "", None


def _diagnose(horizon: HorizonInstance, model: Model) -> InfeasibleError:
    """Why the horizon has no plan: the first plan year with none on its own, else stability across years."""
    from allocator.results.solve import solve

    for p in range(horizon.plan_years):
        instance = horizon.year_instance(p) if p == 0 else horizon.year_instance(p, previous={})
        try:
            solve(instance, model)
        except InfeasibleError as exc:
            return InfeasibleError(f"plan year {horizon.first_year + p}: {exc}", exc.conflicts, exc.diagnosis)
    from allocator.solvers.diagnose import Diagnosis

    text = ("every plan year has a plan on its own, but no sequence of yearly plans keeps every change within "
            f"the model's max_change of {model.stability.max_change:g} from one year to the next. Raise max_change, "
            "or loosen the bounds or totals of the years where the totals or bounds move most")
    return InfeasibleError(text, [], Diagnosis([], [], text))


def solve_horizon(horizon: HorizonInstance, model: Model, *, solver: str = "auto", time_limit: float | None = None,
                  accept_gap: float | None = None, inputs: dict[str, str] | None = None,
                  hint: np.ndarray | None = None) -> HorizonPlan:
    """Solve a multi-year instance as one MILP and verify the plan.

    Parameters
    ----------
    solver
        ``auto`` (default; the engine :func:`~allocator.solvers.horizon.choose_engine` picks by the
        instance's shape, as ``allocator solve`` does), ``highs``, ``scip`` or ``cbc``.
    time_limit
        Seconds for the whole solve; past it without a proof (or the accepted gap), :class:`SolverError`.
    accept_gap
        Accept a plan whose certified relative gap is at most this; its status is then ``gap ≤ G``.
    hint
        A plan n[p, c] in units (e.g. the plan of an unchanged instance, for a sensitivity variant). When it
        keeps every rule it is the warm start if it costs no more than the myopic plan, and it is the plan
        returned when its objective equals the optimum (tie rule, before the myopic plan's).

    Raises
    ------
    InfeasibleError, SolverError, VerificationError
    """
    from allocator.solvers.horizon import choose_engine, solve_cbc, solve_highs

    started = time.perf_counter()
    if model.objective not in ("absolute", "squared", "apportionment"):
        # biproportional fixes each area's posts by a rounding rule of its own, not by a separable cost
        raise InputError(f"objective '{model.objective}' has no multi-year form",
                         where=Location(None, None, "objective"), fix="use 'absolute', 'squared' or 'apportionment'")
    problem = build_horizon(horizon, model)
    rule = ""
    if solver == "auto":
        solver, rule = choose_engine(problem)
    built = time.perf_counter()
    base, reason, failed_year = myopic_plans(horizon, model)
    myopic_seconds = time.perf_counter() - built
    left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - started))
    given = _usable_hint(problem, hint)
    # Each candidate plan's objective, once: the warm start is the cheaper, and either may win the tie below.
    cost = {name: problem.objective(plan) for name, plan in (("given", given), ("myopic", base)) if plan is not None}
    warm = given if given is not None and cost["given"] <= cost.get("myopic", math.inf) else base
    if solver in ("highs", "scip"):
        result = solve_highs(problem, time_limit=left, accept_gap=accept_gap or 0.0, hint=warm,
                             engine="scip" if solver == "scip" else "highs")
    elif solver == "cbc":
        result = solve_cbc(problem, time_limit=left, hint=warm)
    else:
        raise InputError(f"the solver '{solver}' does not solve multi-year instances",
                         where=Location(None, None, "--solver"), fix="use --solver auto (default), highs, scip or cbc")
    if result.status == "infeasible":
        raise _diagnose(horizon, model)
    units = result.units
    gap = result.gap
    if result.status in ("time_limit", "gap", "error") or units is None:
        accepted = accept_gap is not None and units is not None and gap <= accept_gap + 1e-15
        if not accepted:
            # A sweep reports a scenario stopped by its time limit as such (status 'time-limit').
            stopped = TimeLimitError if result.status == "time_limit" else SolverError
            if units is None:
                raise stopped(f"the solver stopped ({result.status}) before finding any plan"
                              + (f" within the time limit of {time_limit:g} s" if time_limit else "")
                              + "; no plan was written. Raise --time-limit")
            limit = f"at the time limit of {time_limit:g} s" if time_limit is not None else f"({result.status})"
            if not math.isfinite(result.bound):
                # an abandoned solve whose log gave no bound (see solvers.horizon.GRACE_SECONDS), or a solve
                # stopped before its root LP (the bound is then -inf)
                raise stopped(f"the solver stopped {limit} before it proved any bound; no plan was written. "
                              "Raise --time-limit")
            raise stopped(
                f"the solver stopped {limit} with a gap of {gap:.3g} (best bound "
                f"{result.bound!r}, best plan {result.objective!r}); no plan was written. Raise --time-limit, "
                f"or add --accept-gap {max(gap, 1e-6):.2g} to write the best plan with its certified gap")
    status = "optimal" if accept_gap is None else f"gap ≤ {accept_gap:g}"
    tie = "the solver's plan"
    best = problem.objective(units)
    slack = ABSOLUTE + TOLERANCE * max(1.0, abs(best))
    if result.status == "optimal":
        # A candidate strictly cheaper than a proven optimum means the proof is wrong: a defect, never a tie.
        cheaper = [f"the {name} plan costs {cost[name]!r}, less than the {best!r} of the plan {result.solver} "
                   "reported as proven optimal" for name in cost if cost[name] < best - slack]
        if cheaper:
            raise VerificationError(cheaper)
    solver_objective = result.reported
    for name, plan in (("given", given), ("myopic", base)):  # the tie rule: the given plan first, then the myopic
        if plan is not None and cost[name] <= best + slack:
            if cost[name] < best - slack:
                # only without a proof (an accepted gap): the candidate beats the solver's best plan found
                units, tie = plan, f"the {name} plan (cheaper than the solver's best plan, {best!r})"
                gap = max(0.0, cost[name] - result.bound) / max(1.0, abs(cost[name]))
            else:
                units, tie = plan, f"the {name} plan (its objective equals the optimum)"
            solver_objective = None
            break
    instances, plans = year_plans(horizon, model, problem, units)
    coverage, posts_cost = problem.costs(units)
    projection = project(horizon, _posts(problem, units, horizon.first_year), float(model.coverage_weight),
                         float(model.underserved_weight))
    summary_myopic = None
    myopic_projection = None
    if base is not None:
        myopic_projection = project(horizon, _posts(problem, base, horizon.first_year), float(model.coverage_weight),
                                    float(model.underserved_weight))
        m_coverage, m_posts = problem.costs(base)
        summary_myopic = {"objective": m_coverage + m_posts, "coverage_cost": m_coverage, "posts_cost": m_posts,
                          "inhabitant_years_without_specialist": myopic_projection.inhabitant_years_without}
    else:
        summary_myopic = {"unavailable": reason, "unavailable_year": failed_year}
    plan = HorizonPlan(
        instance=horizon.name, model=model.name, first_year=horizon.first_year, years=plans, instances=instances,
        projection=projection, coverage_cost=coverage, posts_cost=posts_cost, status=status,
        bound=None if math.isnan(result.bound) else result.bound, gap=gap, myopic=summary_myopic,
        myopic_projection=myopic_projection, solver_objective=solver_objective)
    plan.metadata.update({
        **run_metadata(horizon.name, model, inputs), "solver": solver, "solver_version": result.solver,
        "solver_detail": result.detail, "status": status, "tie_rule": tie,
        # what verify compares with the simulation (None when the written plan is a tie-rule candidate)
        "solver_objective": None if solver_objective is None or not math.isfinite(solver_objective)
        else solver_objective,
        **({"solver_rule": rule} if rule else {}),
        "python": platform.python_version(), "cells": len(problem.cells), "plan_years": problem.plan_years,
        "outlook_years": problem.outlook_years,
        "seconds": {"prepare": built - started, "myopic": myopic_seconds, "build": result.build_seconds,
                    "solve": result.seconds}})
    verify_horizon(horizon, model, plan)
    plan.metadata["seconds"]["total"] = time.perf_counter() - started
    plan.metadata["verified"] = True
    return plan


def _usable_hint(problem: HorizonProblem, hint: np.ndarray | None) -> np.ndarray | None:
    """``hint`` as units n[p, c] when it has the problem's shape and keeps every rule; else None."""
    from allocator.solvers.horizon_search import keeps_rules

    if hint is None:
        return None
    units = np.asarray(hint, dtype=np.int64)
    return units if keeps_rules(problem, units) else None


def _posts(problem: HorizonProblem, units: np.ndarray, first_year: int) -> dict[tuple[str, str, int], float]:
    return {(leaf, specialty, first_year + p): float(units[p, c]) * problem.unit
            for p in range(problem.plan_years) for c, (leaf, specialty) in enumerate(problem.cells)}


def check_horizon(horizon: HorizonInstance, model: Model, plan: HorizonPlan) -> tuple[list[str], list[str]]:
    """The yearly rules ``plan`` breaks, and where its projection or costs differ from a fresh simulation.

    Each year is checked by the one-year verifier against its own instance
    (that year's totals and bounds, last year's posts the year before's
    plan). The projection and the coverage cost are simulated afresh from the
    plan's posts; the MILP is not read.

    Returns
    -------
    rules, projection
        Two lists of one-line problems; both empty for a valid plan.
    """
    rules: list[str] = []
    problems: list[str] = []
    if len(plan.years) != horizon.plan_years:
        return [f"the plan has {len(plan.years)} years, not {horizon.plan_years}"], []
    previous: dict[tuple[str, str], float] | None = None
    posts_parts = []
    for k, year_plan in enumerate(plan.years):
        instance = horizon.year_instance(k, previous)
        rules += [f"{horizon.first_year + k}: {text}" for text in check_plan(instance, model, year_plan)]
        posts_parts.append(year_plan.objective)
        previous = year_plan.posts()
    problems += resolution_problems(horizon)
    simulated = project(horizon, plan.posts(), float(model.coverage_weight), float(model.underserved_weight))
    problems += _closed_form_problems(horizon, model, plan, simulated)
    given = plan.projection.by_cell()
    for row in simulated.rows:
        mine = given.get((row.area, row.specialty, row.year))
        if mine is None:
            problems.append(f"the projection has no row for {row.area}, {row.specialty}, {row.year}")
            continue
        for name in ("demand", "supply", "shortfall", "new_specialists"):
            a, b = getattr(row, name), getattr(mine, name)
            if not abs(a - b) <= 1e-7 + 1e-9 * abs(a):
                problems.append(f"{row.area}, {row.specialty}, {row.year}: {name} {b!r} differs from the "
                                f"simulated {a!r}")
    if len(given) != len(simulated.rows):
        problems.append(f"the projection has {len(given)} rows, not {len(simulated.rows)}")
    for name, mine, theirs in (("coverage_cost", plan.coverage_cost, simulated.coverage_cost),
                               ("posts_cost", plan.posts_cost, math.fsum(posts_parts))):
        if not abs(mine - theirs) <= 1e-6 + 1e-9 * abs(theirs):
            problems.append(f"{name} {mine!r} differs from the recomputed {theirs!r}")
    recomputed = simulated.coverage_cost + math.fsum(posts_parts)
    if plan.solver_objective is not None and not (
            abs(plan.solver_objective - recomputed) <= REPORTED_TOLERANCE * max(1.0, abs(recomputed))):
        problems.append(f"the solver reported the objective {plan.solver_objective!r} for its plan, but the "
                        f"simulation gives {recomputed!r}")
    if plan.bound is not None and math.isfinite(plan.bound) and \
            plan.bound > plan.objective + ABSOLUTE + TOLERANCE * max(1.0, abs(plan.objective)):
        problems.append(f"the best bound {plan.bound!r} is above the objective {plan.objective!r} of the plan written")
    return rules, problems


def resolution_problems(horizon: HorizonInstance) -> list[str]:
    """Where the facts the simulator and the MILP read differ from the verifier's own reading of the rows.

    The loader resolves each cell's rates and its starts before ``first_year``
    once, and both the MILP builder and the simulator read the result. Here
    they are resolved again from the rows by separate code (BRIEF.md): rates
    field by field from the nearest area on the leaf's path that gives them,
    headcount from the leaf's own row, a leaf's growth from the nearest area
    that gives ``population_growth`` (else 0), and a start year's posts from its
    ``pipeline`` row, else ``previous``, else 0. A variant (sensitivity, sweep
    scaling, what-if) declares what it changed (``horizon.changes``); those
    changes are applied to the rows' resolution here, by this code, so any
    other difference is reported. An instance made in code, not loaded from
    rows, has no rows to check against.
    """
    problems: list[str] = []
    parent = {area.id: area.parent for area in horizon.instance.areas}
    previous = {(row.area, row.specialty): float(row.posts) for row in horizon.instance.previous}
    rows = horizon.workforce_rows if horizon.from_rows else {}
    if horizon.from_rows:
        for leaf in horizon.instance.leaves:
            area: str | None = leaf
            growth = 0.0
            while area is not None:
                if area in horizon.own_growth:
                    growth = float(horizon.own_growth[area])
                    break
                area = parent[area]
            growth = _changed(horizon, "population_growth", leaf, "", growth)
            if float(horizon.growth.get(leaf, math.nan)) != growth:
                problems.append(f"{leaf}: population_growth is {horizon.growth.get(leaf)!r}, but the areas' rows "
                                f"give {growth!r}{_declared(horizon)}")
    for (leaf, specialty), facts in sorted(horizon.cells.items()):
        if rows:
            path: list[str] = []
            area = leaf
            while area is not None:
                path.append(area)
                area = parent[area]
            mine = {"headcount": rows.get((leaf, specialty), {}).get("headcount")}
            for name, default in _RATE_DEFAULTS.items():
                mine[name] = next((rows[(a, specialty)][name] for a in path if rows.get((a, specialty), {}).get(name)
                                   is not None), default)
            for name, value in mine.items():
                if value is not None:
                    value = _changed(horizon, name, leaf, specialty, float(value))
                if value is None or float(getattr(facts, name)) != value:
                    problems.append(f"{leaf}, {specialty}: {name} is {getattr(facts, name)!r}, but the workforce "
                                    f"rows give {value!r}{_declared(horizon)}")
        for year in range(horizon.first_year - horizon.training_years[specialty], horizon.first_year):
            posts = horizon.pipeline.get((leaf, specialty, year), previous.get((leaf, specialty), 0.0))
            if horizon.start_posts(leaf, specialty, year) != posts:
                problems.append(f"{leaf}, {specialty}: the posts started in {year} are "
                                f"{horizon.start_posts(leaf, specialty, year)!r}, but the pipeline and previous rows "
                                f"give {posts!r}")
    return problems


def _changed(horizon: HorizonInstance, name: str, leaf: str, specialty: str, value: float) -> float:
    """``value`` after the variant's declared changes of ``name`` that match the cell, in order."""
    for change in horizon.changes:
        if change.field == name and change.area in ("", leaf) and change.specialty in ("", specialty):
            value = value * change.factor + change.shift
            if change.digits is not None:
                value = round(value, change.digits)
            value = min(change.high, max(change.low, value))
    return value


def _declared(horizon: HorizonInstance) -> str:
    return " and the variant's declared changes" if horizon.changes else ""


def _closed_form_problems(horizon: HorizonInstance, model: Model, plan: HorizonPlan,
                          simulated: Projection) -> list[str]:
    """Where the simulator's demand and supply rows differ from the closed form the MILP is built from."""
    problem = build_horizon(horizon, model)
    posts = plan.posts()
    units = np.array([[posts.get((leaf, s, horizon.first_year + p), 0.0) / problem.unit for leaf, s in problem.cells]
                      for p in range(problem.plan_years)])
    supply = problem.supply(units)
    rows = simulated.by_cell()
    problems = []
    for c, (leaf, specialty) in enumerate(problem.cells):
        for k in range(problem.outlook_years):
            row = rows.get((leaf, specialty, horizon.first_year + k))
            if row is None:
                continue  # counted below as a missing row
            for name, closed, walked in (("supply", supply[c, k], row.supply), ("demand", problem.demand[c, k],
                                                                                  row.demand)):
                if not abs(closed - walked) <= 1e-7 + 1e-9 * abs(closed):
                    problems.append(f"{leaf}, {specialty}, {horizon.first_year + k}: the simulated {name} "
                                    f"{walked!r} differs from the closed form's {closed!r}")
    return problems


def verify_horizon(horizon: HorizonInstance, model: Model, plan: HorizonPlan) -> None:
    """Raise :class:`~allocator.errors.VerificationError` unless every check of :func:`check_horizon` passes."""
    rules, problems = check_horizon(horizon, model, plan)
    if rules or problems:
        raise VerificationError(rules + problems)


def project_plan(horizon: HorizonInstance, model: Model, posts: dict[tuple[str, str, int], float],
                 status: str = "given", inputs: dict[str, str] | None = None) -> HorizonPlan:
    """A plan someone made (``posts`` per leaf, specialty and plan year), checked and projected.

    The yearly rules the plan breaks are listed in ``metadata["broken_rules"]``
    (it is projected all the same).

    Raises
    ------
    VerificationError
        When the projection disagrees with the closed form (a defect, never the user's).
    """
    problem = build_horizon(horizon, model)
    units = np.zeros((problem.plan_years, len(problem.cells)), dtype=np.int64)
    for p in range(problem.plan_years):
        for c, (leaf, specialty) in enumerate(problem.cells):
            units[p, c] = int(round(posts.get((leaf, specialty, horizon.first_year + p), 0.0) / problem.unit))
    instances, plans = year_plans(horizon, model, problem, units)
    coverage, posts_cost = problem.costs(units)
    projection = project(horizon, _posts(problem, units, horizon.first_year), float(model.coverage_weight),
                         float(model.underserved_weight))
    plan = HorizonPlan(instance=horizon.name, model=model.name, first_year=horizon.first_year, years=plans,
                       instances=instances, projection=projection, coverage_cost=coverage, posts_cost=posts_cost,
                       status=status)
    plan.metadata.update({**run_metadata(horizon.name, model, inputs), "status": status})
    rules, problems = check_horizon(horizon, model, plan)
    if problems:
        raise VerificationError(problems)
    # A plan made by hand may break the yearly rules (a region's own proposal, last year's split
    # under a new total): it is still projected, and the broken rules are reported with it.
    plan.metadata["broken_rules"] = rules
    # The same rules as figures, for the memo and the report to word in their language.
    plan.metadata["rule_breaches"] = yearly_breaches(horizon, model, plan)
    plan.metadata["verified"] = True
    return plan


def yearly_breaches(horizon: HorizonInstance, model: Model, plan: HorizonPlan) -> list[dict[str, Any]]:
    """The totals, bounds and max_change ``plan`` breaks, year by year, as records.

    Each record has ``kind`` (``total``, ``min``, ``max`` or ``max_change``), ``year``, ``area``
    (None for a total), ``specialty`` (None for a bound on all specialties), ``value`` (the plan's
    posts, or its change against last year) and ``limit`` (the rule's figure): the broken rules of
    :func:`check_horizon`, in its order, without its English words.
    """
    found: list[dict[str, Any]] = []
    previous: dict[tuple[str, str], float] | None = None
    for k, year_plan in enumerate(plan.years):
        instance = horizon.year_instance(k, previous)
        found += [{"kind": b.kind, "year": horizon.first_year + k, "area": b.area, "specialty": b.specialty,
                   "value": b.value, "limit": b.limit} for b in rule_breaches(instance, model, year_plan)]
        previous = year_plan.posts()
    return found
