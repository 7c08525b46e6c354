"""The pools' ranges under the warm start's cost (allocator.solvers.horizon._pool_box), issue 14."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from allocator.core.horizon import HorizonProblem, build_horizon
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL, Model
from allocator.results.horizon import myopic, solve_horizon
from allocator.solvers.horizon import _pool_box, _terms, solve_highs
from benchmarks.horizon import horizon_instance, write_instance
from tests.test_horizon import _brute_force, _load, tiny_horizons, tiny_models


def _pools(problem: HorizonProblem, n: np.ndarray) -> np.ndarray:
    """pool[s, p] of the plan n[p, c], from the closed form's rates (not the MILP)."""
    return np.stack([np.bincount(problem.cell_specialty, weights=problem.out * n[p],
                                 minlength=len(problem.specialties)) for p in range(problem.plan_years)], axis=1)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_horizons(), tiny_models())
def test_the_optimum_keeps_its_pools_inside_the_box_and_the_boxed_solve_finds_it(data: dict[str, Any],
                                                                                   model: Model) -> None:
    horizon = _load(data)
    problem = build_horizon(horizon, model)
    hint = myopic(horizon, model)[0]
    expected = _brute_force(horizon, model)
    if hint is None or expected is None:
        return
    free = solve_highs(problem, hint=hint, pool_box=False)
    assert free.status == "optimal" and free.units is not None
    terms, _ = _terms(problem)
    box = _pool_box(problem, terms, problem.objective(hint) + 1e-6, None)
    value = _pools(problem, free.units)
    flat = [value[s, p] for s in range(value.shape[0]) for p in range(value.shape[1])
            if (problem.cell_specialty == s).any() and (problem.out[problem.cell_specialty == s] > 0).any()]
    assert len(flat) == len(box)
    for (low, high), pool in zip(box, flat):
        assert low <= pool <= high
    boxed = solve_highs(problem, hint=hint)
    assert boxed.status == "optimal"
    assert boxed.objective == pytest.approx(expected, abs=1e-6, rel=1e-9)


def _ten_leaves() -> tuple[HorizonProblem, np.ndarray]:
    """The problem of generated instance 3 with 10 leaves and 40 posts a year, and its myopic plan."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder) / "i.yaml", horizon_instance(3, leaves=10, total=40))
        horizon = load_horizon_instance(path).value
    return build_horizon(horizon, DEFAULT_MODEL), myopic(horizon, DEFAULT_MODEL)[0]


def test_the_box_narrows_the_pools_of_a_generated_instance_and_keeps_its_optimum() -> None:
    problem, hint = _ten_leaves()
    free = solve_highs(problem, hint=hint, pool_box=False)
    boxed = solve_highs(problem, hint=hint)
    assert free.status == boxed.status == "optimal" and free.units is not None
    assert boxed.objective == pytest.approx(free.objective, abs=1e-6, rel=1e-9)
    widths = boxed.extra["pool_box"]
    assert isinstance(widths, list) and len(widths) == problem.plan_years
    # Without the box a pool is only bounded below by 0; with it, every pool has a finite range that
    # excludes most of what the totals would allow (40 posts a year, at most 0.46 graduates leaving per post).
    assert all(math.isfinite(width) and width < 0.46 * 40 for width in widths)
    assert free.extra.get("pool_box") is None


def test_no_box_under_a_short_time_limit() -> None:
    from allocator.solvers.horizon import POOL_BOX_MIN_SECONDS

    problem, hint = _ten_leaves()
    # Just under the threshold, so that the solve itself has time even on a loaded machine.
    short = solve_highs(problem, hint=hint, time_limit=0.95 * POOL_BOX_MIN_SECONDS)
    long = solve_highs(problem, hint=hint, time_limit=4 * POOL_BOX_MIN_SECONDS)
    assert "pool_box" not in short.extra and "pool_box" in long.extra
    assert short.status == long.status == "optimal"
    assert short.objective == pytest.approx(long.objective, abs=1e-6, rel=1e-9)


def test_scip_optimal_in_the_box_below_the_plans_cost_is_solved_again_without_the_box() -> None:
    """Regression: on the Danish horizon with the fill rates x 0.8 and the exit rates x 1.01 (a what-if), SCIP
    in the pool box valued its plan 3.0e-4 below the plan's cost (its feasibility tolerance) and proved that
    value, so `solve` refused the optimum: "the solver stopped (gap) with a gap of 1.67e-08"."""
    import dataclasses

    from allocator.io.schemas import CellFacts, FactChange

    horizon = load_horizon_instance(Path(__file__).resolve().parent.parent / "instances" /
                                    "dk-2021-almen-medicin-horizon" / "instance.yaml").value
    cells = {cell: CellFacts(facts.headcount, facts.exit_rate * 1.01, min(1.0, facts.fill_rate * 0.8),
                             facts.retention) for cell, facts in horizon.cells.items()}
    variant = dataclasses.replace(horizon, cells=cells, changes=(FactChange("exit_rate", factor=1.01),
                                                                 FactChange("fill_rate", factor=0.8, high=1.0)))
    problem = build_horizon(variant, DEFAULT_MODEL)
    hint = myopic(variant, DEFAULT_MODEL)[0]
    free = solve_highs(problem, hint=hint, engine="highs", pool_box=False)
    scip = solve_highs(problem, hint=hint, engine="scip")
    assert free.status == scip.status == "optimal"
    assert scip.objective == pytest.approx(free.objective, abs=1e-6, rel=1e-9)
    assert "pool_box" not in scip.extra and str(scip.extra["pool_box_dropped"]).startswith("SCIP proved ")
    assert solve_horizon(variant, DEFAULT_MODEL, solver="scip").status == "optimal"
