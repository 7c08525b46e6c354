"""The MPS export of benchmarks/horizon_engine_versions.py (issue 14, engine versions): exact, and the same optimum."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from allocator.core.horizon import build_horizon
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL, Model
from allocator.results.horizon import myopic
from allocator.solvers.horizon import _empty_box, _Terms, solve_highs
from benchmarks.horizon_engine_versions import (CONSTANT_COLUMN, export_problem, gap, plan_objective, summary,
                                                worker, write_mps)
from tests.test_horizon import _brute_force, _load, tiny_horizons, tiny_models

DK_HORIZON = Path(__file__).resolve().parent.parent / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"


def test_every_bound_row_and_coefficient_reads_back_exactly(tmp_path: Path) -> None:
    from ortools.math_opt.io.python import mps_converter

    terms = _Terms()
    a = terms.var(0.0, 7.0, 0.1, integer=True)
    b = terms.var(-math.inf, 2.5, -1.0 / 3.0)
    c = terms.var(-math.inf, math.inf, 0.0)
    d = terms.var(1.25, 1.25, 2.0)
    e = terms.var(3.0, math.inf, 1e-7, integer=True)
    terms.row([a, b, a], [0.2, 1.0 / 7.0, 0.1], -math.inf, 4.0)  # a twice: summed to 0.30000000000000004
    terms.row([b, c], [1.0, -1.0], 0.5, 0.5)
    terms.row([c, e], [2.0, 1.0], -1.0, 9.0)  # a range
    terms.row([e], [1.0], 2.0, math.inf)
    terms.row([a], [1.0], -math.inf, math.inf)  # free at both ends: left out
    write_mps(tmp_path / "m.mps", terms, 1234.5678901234567, ["a", "b", "c", "d", "e"])
    proto = mps_converter.mps_to_model_proto((tmp_path / "m.mps").read_text(encoding="ascii"))
    names = list(proto.variables.names)
    assert names == ["a", "b", "c", "d", "e", CONSTANT_COLUMN]
    assert list(proto.variables.lower_bounds) == [0.0, -math.inf, -math.inf, 1.25, 3.0, 1.0]
    assert list(proto.variables.upper_bounds) == [7.0, 2.5, math.inf, 1.25, math.inf, 1.0]
    assert list(proto.variables.integers) == [True, False, False, False, True, False]
    cost = dict(zip(proto.objective.linear_coefficients.ids, proto.objective.linear_coefficients.values))
    assert cost == {0: 0.1, 1: -1.0 / 3.0, 3: 2.0, 4: 1e-7, 5: 1234.5678901234567}
    assert list(proto.linear_constraints.lower_bounds) == [-math.inf, 0.5, -1.0, 2.0]
    assert list(proto.linear_constraints.upper_bounds) == [4.0, 0.5, 9.0, math.inf]
    matrix = proto.linear_constraint_matrix
    entries = {(r, v): x for r, v, x in zip(matrix.row_ids, matrix.column_ids, matrix.coefficients)}
    assert entries == {(0, 0): 0.2 + 0.1, (0, 1): 1.0 / 7.0, (1, 1): 1.0, (1, 2): -1.0, (2, 2): 2.0, (2, 4): 1.0,
                       (3, 4): 1.0}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_horizons(), tiny_models())
def test_the_exported_model_solved_by_or_tools_has_the_brute_force_optimum(data: dict[str, Any],
                                                                           model: Model) -> None:
    horizon = _load(data)
    problem = build_horizon(horizon, model)
    base = myopic(horizon, model)[0]
    expected = _brute_force(horizon, model)
    if expected is None or base is None or _empty_box(problem):
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        meta = export_problem(problem, base, Path(folder), "tiny", None)
        for engine in ("ortools-highs", "ortools-scip"):
            done = worker(engine, str(Path(folder) / "tiny.mps"), str(Path(folder) / "tiny.hint.json"), 60.0)
            assert done["status"] == "optimal", engine
            # the engine's objective carries the model's constant, and its plan costs the same by the closed form
            assert done["objective"] == pytest.approx(expected, abs=1e-6, rel=1e-9), engine
            assert done["plan"]
    assert meta["hint_objective"] >= expected - 1e-6


def test_the_danish_export_has_the_shipped_optimum_with_both_or_tools_engines(tmp_path: Path) -> None:
    horizon = load_horizon_instance(DK_HORIZON).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    base = myopic(horizon, DEFAULT_MODEL)[0]
    shipped = solve_highs(problem, hint=base)
    assert shipped.status == "optimal"
    meta = export_problem(problem, base, tmp_path, "dk", 60.0)
    assert len(meta["pool_box"]) == 5 and all(math.isfinite(hi) for _, hi in meta["pool_box"])
    for engine in ("ortools-highs", "ortools-scip"):
        done = worker(engine, str(tmp_path / "dk.mps"), str(tmp_path / "dk.hint.json"), 60.0)
        assert done["status"] == "optimal"
        assert done["objective"] == pytest.approx(shipped.objective, abs=1e-6, rel=1e-9)
        assert plan_objective("dk", tmp_path, done["plan"]) == pytest.approx(shipped.objective, abs=1e-9)


def test_gap_and_summary_count_only_proofs_within_the_tolerances() -> None:
    assert gap("optimal", 10.0, 9.0) == 0.0
    assert gap("timelimit", 200.0, 198.0) == pytest.approx(0.01)
    assert gap("timelimit", None, 5.0) == math.inf
    rows = [{"seed": "0", "engine": "e", "status": "optimal", "objective": 5.0, "bound": 5.0, "gap": 0.0,
             "closed_form": 5.0, "wall_s": 1.0, "cpu_s": 1.0, "load": 1.0},
            {"seed": "1", "engine": "e", "status": "timelimit", "objective": 100.0, "bound": 99.0, "gap": 0.01,
             "closed_form": 100.0, "wall_s": 60.0, "cpu_s": 50.0, "load": 2.0},
            {"seed": "2", "engine": "e", "status": "timelimit", "objective": 100.0, "bound": 98.0, "gap": 0.02,
             "closed_form": 101.0, "wall_s": 60.0, "cpu_s": 40.0, "load": 2.0}]
    rows.append({**rows[1], "engine": "f", "bound": 99.5, "closed_form": 99.9, "objective": 99.9})
    table = summary(rows)
    # seed 1: f's bound 99.5 is the highest and its plan, 99.9, the cheapest; e's bounds lie 0, 0.9 / 99.9 and
    # 3 / 101 below the best plans (median 9.01e-03)
    assert "| e | 2 | 2 | 9.01e-03 |" in table and "| f | 1 | 1 | 4.00e-03 |" in table
    # seed 2's plan costs 101 by the closed form: its gap is (101 - 98) / 101, the plan's own
    assert "| e | 1 of 3 | 1.00e-02 | 1.99e-02 | 1.00e-02, 2.97e-02 | 40.00 | 2 of 3 |" in table
    assert "| 2 | e | timelimit | 100.000000 | 101.000000 | 98.000000 | 2.97e-02 | 60.00 | 40.00 | 2.00 |" in table
