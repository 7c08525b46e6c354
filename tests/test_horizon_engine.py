"""The multi-year engine (issue 14, round 6): `--solver auto`'s rule, and the best plan of a stopped solve."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from allocator.core.horizon import HorizonProblem, build_horizon
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL, HorizonInstance
from allocator.results.horizon import myopic, solve_horizon
from allocator.solvers import horizon as solvers
from allocator.solvers.horizon_search import improve_plan, keeps_rules
from benchmarks.horizon import horizon_instance, write_instance
from tests.conftest import ROOT

DK_HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"


def _generated(seed: int, **shape: Any) -> HorizonInstance:
    """Generated (SYNTHETIC) instance ``seed`` of benchmarks/horizon.py with ``shape``."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder) / "i.yaml", horizon_instance(seed, **shape))
        return load_horizon_instance(path).value


def test_auto_picks_scip_up_to_the_cell_limit_and_highs_above() -> None:
    small = build_horizon(load_horizon_instance(DK_HORIZON).value, DEFAULT_MODEL)
    engine, rule = solvers.choose_engine(small)
    assert (engine, rule) == ("scip", f"auto: SCIP for 5 cells (at most {solvers.AUTO_SCIP_MAX_CELLS})")
    limit = solvers.AUTO_SCIP_MAX_CELLS
    at = build_horizon(_generated(0, leaves=limit // 2, specialties=2, total=40), DEFAULT_MODEL)
    above = build_horizon(_generated(0, leaves=limit // 2 + 1, specialties=2, total=40), DEFAULT_MODEL)
    assert len(at.cells) == limit and solvers.choose_engine(at)[0] == "scip"
    assert len(above.cells) == limit + 2 and solvers.choose_engine(above) == (
        "highs", f"auto: HiGHS for {limit + 2} cells (more than {limit})")


def test_auto_solves_the_danish_instance_with_the_engine_it_names_and_the_same_optimum() -> None:
    horizon = load_horizon_instance(DK_HORIZON).value
    auto = solve_horizon(horizon, DEFAULT_MODEL, solver="auto")
    highs = solve_horizon(horizon, DEFAULT_MODEL, solver="highs")
    assert auto.status == highs.status == "optimal"
    assert auto.metadata["solver"] == "scip" and auto.metadata["solver_rule"].startswith("auto: SCIP")
    assert auto.metadata["solver_version"].startswith("SCIP MIP")
    assert "solver_rule" not in highs.metadata
    assert auto.objective == pytest.approx(highs.objective, abs=1e-6, rel=1e-9)


def _stopped_early(seed: int) -> tuple[HorizonProblem, np.ndarray, HorizonInstance]:
    horizon = _generated(seed)
    problem = build_horizon(horizon, DEFAULT_MODEL)
    base, _ = myopic(horizon, DEFAULT_MODEL)
    assert base is not None
    return problem, base, horizon


@pytest.mark.parametrize("engine", ["highs", "scip"])
def test_a_solve_stopped_by_its_limit_returns_a_plan_no_worse_than_the_warm_start(engine: str) -> None:
    """98 leaves, a 3 s limit: never proven that fast (benchmarks/horizon_results.md), so the limit stops it."""
    problem, base, horizon = _stopped_early(0)
    result = solvers.solve_highs(problem, time_limit=3.0, hint=base, engine=engine)  # type: ignore[arg-type]
    assert result.status == "time_limit" and result.units is not None
    start = improve_plan(problem, base)
    assert result.objective == pytest.approx(problem.objective(result.units), abs=1e-9)
    assert result.objective <= problem.objective(start) + 1e-9
    assert keeps_rules(problem, result.units)
    # and through the whole path, with any gap accepted (under load the root LP may not end in 3 s, and the
    # bound is then -inf): verified by the simulator
    plan = solve_horizon(horizon, DEFAULT_MODEL, solver=engine, time_limit=3.0, accept_gap=math.inf)
    assert plan.metadata["verified"] is True and plan.status == "gap ≤ inf"
    assert plan.objective <= problem.objective(start) + 1e-6


def test_a_stopped_solve_whose_own_plan_is_worse_returns_the_warm_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """The solver stopped at its first plan, found without the hint: the searched warm start is better."""
    from ortools.math_opt.python import mathopt

    real = mathopt.solve

    def first_plan_only(model: Any, solver_type: Any, *, params: Any, model_params: Any = None,
                        **kwargs: Any) -> Any:
        params.solution_limit = 1
        return real(model, solver_type, params=params, **kwargs)

    monkeypatch.setattr(mathopt, "solve", first_plan_only)
    problem, base, _ = _stopped_early(1)
    result = solvers.solve_highs(problem, time_limit=30.0, hint=base, engine="scip", pool_box=False)
    start = improve_plan(problem, base)
    assert result.status == "time_limit"
    assert result.units is not None and np.array_equal(result.units, start)
    assert result.objective == pytest.approx(problem.objective(start), abs=1e-9)
    assert "the plan is the warm start; the solver's own: worse" in result.detail


def test_a_solve_stopped_before_any_bound_says_so_and_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS stopped by its limit before its root LP reports a bound of -inf: no gap to name."""
    from allocator.errors import TimeLimitError

    horizon = load_horizon_instance(DK_HORIZON).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    base, _ = myopic(horizon, DEFAULT_MODEL)
    assert base is not None

    def no_bound(*args: Any, **kwargs: Any) -> solvers.HorizonResult:
        return solvers.HorizonResult("time_limit", base, "HiGHS", objective=problem.objective(base),
                                     bound=-math.inf)

    monkeypatch.setattr(solvers, "solve_highs", no_bound)
    with pytest.raises(TimeLimitError, match="before it proved any bound; no plan was written"):
        solve_horizon(horizon, DEFAULT_MODEL, solver="highs", time_limit=1.0)
