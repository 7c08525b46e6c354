"""The local search that improves the multi-year warm start (allocator.solvers.horizon_search)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from allocator.core.horizon import build_horizon
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL, Model
from allocator.results.horizon import myopic, project_plan
from allocator.solvers.horizon_search import MIN_GAIN, improve_plan
from tests.test_horizon import _brute_force, _load, tiny_horizons, tiny_models


def _posts(problem: Any, n: np.ndarray, first_year: int) -> dict[tuple[str, str, int], float]:
    return {(leaf, s, first_year + p): float(n[p, c] * problem.unit)
            for p in range(n.shape[0]) for c, (leaf, s) in enumerate(problem.cells)}


def _pair_moves(problem: Any, n: np.ndarray) -> list[np.ndarray]:
    """Every plan one unit away from ``n`` in one year, between two cells of one specialty."""
    moves = []
    for p in range(n.shape[0]):
        for a in range(n.shape[1]):
            for b in range(n.shape[1]):
                if a != b and problem.cell_specialty[a] == problem.cell_specialty[b]:
                    trial = n.copy()
                    trial[p, a] -= 1
                    trial[p, b] += 1
                    moves.append(trial)
    return moves


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_horizons(), tiny_models())
def test_search_keeps_every_rule_never_worsens_and_ends_at_a_local_optimum(data: dict[str, Any],
                                                                          model: Model) -> None:
    horizon = _load(data)
    base, _ = myopic(horizon, model)
    if base is None:
        return
    problem = build_horizon(horizon, model)
    better = improve_plan(problem, base)
    # the verifier and simulator, not the closed form, judge the plan
    plan = project_plan(horizon, model, _posts(problem, better, horizon.first_year))
    assert not plan.metadata["broken_rules"]
    assert plan.objective == pytest.approx(problem.objective(better), abs=1e-6, rel=1e-9)
    assert problem.objective(better) <= problem.objective(base) + 1e-9
    optimum = _brute_force(horizon, model)
    assert optimum is not None and problem.objective(better) >= optimum - 1e-6
    # two leaves: every pair move is among the candidates, so none may improve
    for trial in _pair_moves(problem, better):
        moved = project_plan(horizon, model, _posts(problem, trial, horizon.first_year))
        if not moved.metadata["broken_rules"]:
            assert moved.objective >= problem.objective(better) - MIN_GAIN - 1e-6


def test_search_improves_a_generated_instance_deterministically() -> None:
    from benchmarks.horizon import horizon_instance, write_instance

    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder) / "i.yaml", horizon_instance(3, leaves=14, total=50))
        horizon = load_horizon_instance(path).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    base, _ = myopic(horizon, DEFAULT_MODEL)
    assert base is not None
    first, second = improve_plan(problem, base), improve_plan(problem, base)
    assert np.array_equal(first, second)
    assert problem.objective(first) < problem.objective(base) - 1.0
    plan = project_plan(horizon, DEFAULT_MODEL, _posts(problem, first, horizon.first_year))
    assert not plan.metadata["broken_rules"]


def test_an_infeasible_start_is_returned_unchanged() -> None:
    from benchmarks.horizon import horizon_instance, write_instance

    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder) / "i.yaml", horizon_instance(1, leaves=6))
        horizon = load_horizon_instance(path).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    start = np.zeros((problem.plan_years, len(problem.cells)), dtype=np.int64)  # breaks every total
    assert np.array_equal(improve_plan(problem, start), start)
