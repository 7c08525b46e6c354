"""The app's settings on a multi-year instance, and what is shown for them, from the library.

On an instance with a ``horizon`` the controls set a :class:`HorizonSettings`:
the weights of the multi-year cost (coverage, under-served areas, stability),
each specialty's total in every plan year, and two of the file's assumptions
(fill rates and retention, scaled). :func:`evaluate_horizon` solves the
horizon with :func:`allocator.results.horizon.solve_horizon` (the call of
``allocator solve``, verified) and lines the plan up against the baseline
policy's with the figures of ``allocator compare``
(:func:`allocator.reports.horizon_compare.horizon_metrics`). No optimisation here.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from pydantic import ValidationError

from allocator.app.whatif import settings_problem
from allocator.errors import AllocatorError, InfeasibleError
from allocator.io.schemas import CellFacts, FactChange, HorizonInstance, Model
from allocator.reports.horizon_compare import HorizonCompared, horizon_metrics
from allocator.reports.sensitivity import variant
from allocator.results.horizon import HorizonPlan, solve_horizon
from allocator.results.projection import coverage_by_area

#: Seconds each solve of the app may take. The bundled Danish horizon is proven in about 0.2 s; a horizon that
#: is not proven within this says so on the page (the gap, as ``allocator solve --time-limit`` does).
APP_TIME_LIMIT = 20.0


@dataclass(frozen=True)
class HorizonSettings:
    """What the app's controls set on a multi-year instance.

    Attributes
    ----------
    coverage_weight, underserved_weight, max_change, stability_weight
        As in a model file; ``max_change`` None is no limit.
    totals
        (specialty id, the total of every plan year) of every specialty, in posts.
    fill_factor, retention_factor
        Every cell's fill rate and retention times these, capped at 1: "what if fewer posts are filled".
    name
        The name of the model the settings make.
    """

    coverage_weight: float
    underserved_weight: float
    max_change: float | None
    stability_weight: float
    totals: tuple[tuple[str, tuple[float, ...]], ...]
    fill_factor: float
    retention_factor: float
    name: str


def horizon_settings_of(horizon: HorizonInstance, model: Model, name: str | None = None) -> HorizonSettings:
    """The settings that reproduce ``model`` on ``horizon`` as the file gives it (the controls' start)."""
    return HorizonSettings(
        coverage_weight=float(model.coverage_weight), underserved_weight=float(model.underserved_weight),
        max_change=None if model.stability.max_change is None else float(model.stability.max_change),
        stability_weight=float(model.stability.weight),
        totals=tuple((s, tuple(float(v) for v in horizon.totals[s])) for s in sorted(horizon.totals)),
        fill_factor=1.0, retention_factor=1.0, name=name or model.name)


def horizon_model_of(start: Model, settings: HorizonSettings) -> Model:
    """``start`` with the settings' weights and stability (its need and objective unchanged).

    Raises
    ------
    pydantic.ValidationError
        When the settings make no valid model.
    """
    document = start.model_dump()
    document["coverage_weight"] = settings.coverage_weight
    if start.objective not in ("apportionment", "biproportional"):
        document["underserved_weight"] = settings.underserved_weight
    document["stability"] = {"max_change": settings.max_change, "weight": settings.stability_weight}
    document["name"] = settings.name
    return Model.model_validate(document)


def horizon_with(horizon: HorizonInstance, settings: HorizonSettings) -> HorizonInstance:
    """``horizon`` with the settings' totals and scaled rates (itself when nothing changed)."""
    totals = {s: list(values) for s, values in settings.totals}
    changed: dict[str, object] = {}
    if any(totals.get(s, values) != list(values) for s, values in horizon.totals.items()):
        yearly = {s: totals.get(s, list(values)) for s, values in horizon.totals.items()}
        # The one-year instance carries the first plan year's total, as load_horizon_instance makes it.
        changed["totals"] = yearly
        changed["instance"] = variant(horizon.instance, specialties=[
            s.model_copy(update={"total": yearly[s.id][0]}) for s in horizon.instance.specialties])
    if settings.fill_factor != 1.0 or settings.retention_factor != 1.0:
        changed["cells"] = {cell: CellFacts(headcount=facts.headcount, exit_rate=facts.exit_rate,
                                            fill_rate=min(1.0, facts.fill_rate * settings.fill_factor),
                                            retention=min(1.0, facts.retention * settings.retention_factor))
                            for cell, facts in horizon.cells.items()}
        # declared, so that the verifier can resolve the rows again and scale them by its own code
        changed["changes"] = horizon.changes + (FactChange("fill_rate", factor=settings.fill_factor, high=1.0),
                                                FactChange("retention", factor=settings.retention_factor, high=1.0))
    return dataclasses.replace(horizon, **changed) if changed else horizon  # type: ignore[arg-type]


def compared(horizon: HorizonInstance, model: Model, plan: HorizonPlan) -> HorizonCompared:
    """A plan with its coverage per area and year and the figures ``allocator compare`` gives it."""
    coverage = coverage_by_area(horizon, plan.projection)
    return HorizonCompared(model, plan, coverage, horizon_metrics(horizon, plan, coverage))


@dataclass
class HorizonEvaluation:
    """What the app shows for one set of settings on a multi-year instance.

    ``plan`` is the verified plan; else ``problem`` says why there is none (settings that make no
    valid model, no plan under the rules, or no proof within :data:`APP_TIME_LIMIT`).
    """

    horizon: HorizonInstance
    model: Model | None = None
    plan: HorizonCompared | None = None
    baseline: HorizonCompared | None = None
    problem: str | None = None
    infeasible: bool = False
    #: Wall-clock seconds of the library's verified solve.
    seconds: dict[str, float] = field(default_factory=dict)


def evaluate_horizon(horizon: HorizonInstance, start: Model, settings: HorizonSettings,
                     baseline: HorizonCompared | None, *, time_limit: float = APP_TIME_LIMIT) -> HorizonEvaluation:
    """Solve the settings on ``horizon`` over the whole horizon and line the plan up against ``baseline``.

    ``baseline`` is the baseline policy's plan on the horizon as the file gives it (None when it has none).
    """
    started = time.perf_counter()
    try:
        model = horizon_model_of(start, settings)
    except ValidationError as exc:
        return HorizonEvaluation(horizon, problem=settings_problem(exc))
    varied = horizon_with(horizon, settings)
    try:
        plan = solve_horizon(varied, model, time_limit=time_limit)
    except InfeasibleError as exc:
        return HorizonEvaluation(varied, model, problem=str(exc), infeasible=True,
                                 seconds={"solve": time.perf_counter() - started})
    except AllocatorError as exc:
        return HorizonEvaluation(varied, model, problem=str(exc), seconds={"solve": time.perf_counter() - started})
    return HorizonEvaluation(varied, model, compared(varied, model, plan), baseline,
                             seconds={"solve": time.perf_counter() - started})
