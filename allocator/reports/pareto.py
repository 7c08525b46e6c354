"""The exact Pareto front between equity and stability of one instance under one model.

Each point is a nondominated (equity, disruption) pair with the plan that
reaches it (the lexicographic optimum of its ε-problem: least equity cost,
then least disruption), and the model settings that reach it:

- a *supported* point (on the lower convex hull of the front) is the
  optimum of equity + w · disruption for every w in a closed interval; with
  ``--x equity`` that w is exactly the model's ``stability.weight``;
- an unsupported point is reached by no weight, only by a cap on the total
  disruption (its ``epsilon``: sum |x - prev| <= epsilon posts).

With ``ratio`` (compare's max/min ratio of posts per need) the weights are
those of ratio + w · disruption, which no model setting states; a plan in
which a leaf with need gets no post has an infinite ratio, and can only be
the last point (no weight reaches it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from allocator.core.problem import build_problem
from allocator.errors import InfeasibleError, InputError, Location
from allocator.io.schemas import Instance, Model, Stability
from allocator.results.plan import Plan
from allocator.solvers.pareto import Equity, FrontPoint, epsilon_front, needy_leaves


@dataclass(frozen=True)
class ParetoPoint:
    """One point of the front (equity ascending, disruption descending)."""

    number: int
    equity: float
    stability: float
    epsilon: float | None
    supported: bool
    #: The weights w for which this point minimises equity + w * disruption (None: no weight reaches it).
    weight_min: float | None
    weight_max: float | None
    units: np.ndarray


@dataclass(frozen=True)
class ParetoFront:
    """The whole front of ``instance`` under ``model`` (stability weight set to 0, its limit kept)."""

    instance: Instance
    model: Model
    equity_metric: Equity
    path: str
    points: list[ParetoPoint]


def front_model(model: Model) -> Model:
    """``model`` without its stability weight (the trade-off replaces it); ``max_change`` stays a rule."""
    stability = Stability(max_change=model.stability.max_change, weight=0.0)
    return model.model_copy(update={"stability": stability})


def pareto(instance: Instance, model: Model, equity: Equity = "equity", path: str = "auto") -> ParetoFront:
    """The exact equity–stability front (ε-constraint; see :mod:`allocator.solvers.pareto`).

    Raises
    ------
    InputError
        When the model's objective has no equity cost of this kind, or the instance has no last year's posts.
    """
    if model.objective in ("apportionment", "biproportional"):
        raise InputError(f"the Pareto front needs objective 'absolute' or 'squared', not '{model.objective}'",
                         where=Location(None, None, "objective"), fix="use a model with objective: absolute or squared")
    if not instance.previous:
        raise InputError("the instance has no last year's posts, so there is no disruption to trade",
                         where=Location(None, None, "previous"), fix="add last year's posts ('previous:')")
    flat = front_model(model)
    problem = build_problem(instance, flat)
    if equity == "ratio" and not len(needy_leaves(problem)[0]):
        raise InputError("no leaf area has a need above 0, so there is no ratio of posts per need",
                         where=Location(None, None, "--x"), fix="use --x equity or --x shortfall, or give the "
                         "areas a population")
    try:
        found, used = epsilon_front(problem, equity, path)
    except ValueError as exc:
        raise InputError(str(exc), where=Location(None, None, "previous" if "whole units" in str(exc) else "--path"),
                         fix="give last year's posts in whole units of the instance" if "whole units" in str(exc)
                         else "use --path auto") from None
    if not found:
        raise InfeasibleError("no plan meets every rule, so there is no front; run 'allocator solve' on the "
                              "instance for the rules that conflict")
    # An infinite ratio (a leaf with need and no post) can only be the last point; no weight reaches it.
    hull = _lower_hull([(p.stability, p.equity) for p in found if math.isfinite(p.equity)])
    points = []
    for k, point in enumerate(found):
        low = high = None
        if k in hull:
            at = hull.index(k)
            # Hull points run from the most disruptive (least equity cost) to the least disruptive.
            low = _exchange(found[hull[at - 1]], point) if at > 0 else 0.0
            high = _exchange(point, found[hull[at + 1]]) if at + 1 < len(hull) else None
        points.append(ParetoPoint(k + 1, point.equity, point.stability, point.epsilon, k in hull, low, high,
                                  point.units))
    return ParetoFront(instance, model, equity, used, points)


def _exchange(more: FrontPoint, less: FrontPoint) -> float:
    """The weight w at which two front points cost the same: (equity_less - equity_more) / (f2_more - f2_less)."""
    return (less.equity - more.equity) / (more.stability - less.stability)


def _lower_hull(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points on the lower-left convex hull, in the given order (disruption falling).

    A point between two others on one straight line is kept: it is optimal at that one weight.
    """
    hull: list[int] = []
    for k in range(len(points)):
        while len(hull) >= 2:
            (x1, y1), (x2, y2), (x3, y3) = points[hull[-2]], points[hull[-1]], points[k]
            # x falls and y rises along the front; the middle point must not lie above the chord.
            cross = (x2 - x1) * (y3 - y1) - (y2 - y1) * (x3 - x1)
            if cross > 1e-9 * max(1.0, abs(y3)):
                hull.pop()
            else:
                break
        hull.append(k)
    return hull


def point_plan(front: ParetoFront, point: ParetoPoint, inputs: dict[str, str] | None = None) -> Plan:
    """The verified plan of one point, as ``allocator solve`` writes a plan (its objective: the equity cost).

    The plan is checked by the independent verifier against the model without its stability
    weight (every rule, the stability limit included).
    """
    from allocator.results.plan import build_plan
    from allocator.results.solve import run_metadata
    from allocator.results.verify import verify

    flat = front_model(front.model)
    problem = build_problem(front.instance, flat)
    metadata = {**run_metadata(front.instance.name, front.model, inputs), "solver": f"pareto ({front.path})",
                "status": "optimal",
                "pareto": {"point": point.number, front.equity_metric: point.equity, "stability": point.stability,
                           "epsilon": point.epsilon, "supported": point.supported,
                           "weight_min": point.weight_min, "weight_max": point.weight_max}}
    plan = build_plan(front.instance, flat, problem, point.units, metadata)
    verify(front.instance, flat, plan)
    plan.metadata["verified"] = True
    return plan
