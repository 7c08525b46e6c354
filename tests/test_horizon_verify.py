"""Multi-year verification that can fail (issue 14 audit, items 2, 4 and 8): a wrong "optimal", a bound above
the plan, a solver objective the simulation does not reproduce, and facts resolved unlike the rows say.

Each test breaks one part on purpose (a solver that returns a worse plan as "optimal", a shifted bound, a
resolved rate or start year that differs from the rows) and asserts that the solve stops with a
VerificationError (exit 4, nothing written) instead of writing the plan. The instance is synthetic.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from allocator.cli import main
from allocator.core.horizon import HorizonProblem, build_horizon
from allocator.errors import VerificationError
from allocator.io import horizon as horizon_io
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL, FactChange, HorizonInstance, Instance
from allocator.results.horizon import check_horizon, myopic, solve_horizon
from allocator.solvers import horizon as solvers
from allocator.solvers.horizon_search import keeps_rules
from allocator.writers.horizon import horizon_plan_json

#: Synthetic: 2 leaves, 3 plan years, a pipeline row, inherited rates. Its myopic plan is not optimal
#: (the audit's baseX.yaml: myopic 426.56, optimum 423.03 by brute force).
INSTANCE: dict[str, Any] = {
    "name": "verify", "horizon": {"first_year": 2021, "plan_years": 3, "outlook_years": 6},
    "specialties": [{"id": "gp", "total": 10, "training_years": 2, "completion": 0.9,
                     "inhabitants_per_specialist": 1000}],
    "areas": [{"id": "R", "population_growth": 0.01}, {"id": "A", "parent": "R", "population": 20000},
              {"id": "B", "parent": "R", "population": 10000, "underserved": True}],
    "workforce": [{"area": "R", "specialty": "gp", "exit_rate": 0.2, "retention": 0.6},
                  {"area": "A", "specialty": "gp", "headcount": 5, "fill_rate": 0.8},
                  {"area": "B", "specialty": "gp", "headcount": 2}],
    "pipeline": [{"area": "A", "specialty": "gp", "year": 2019, "posts": 5}],
    "previous": [{"area": "A", "specialty": "gp", "posts": 6}, {"area": "B", "specialty": "gp", "posts": 4}],
    "bounds": [{"area": "B", "specialty": "gp", "max": 6}]}


@pytest.fixture
def instance_path(tmp_path: Path) -> Path:
    path = tmp_path / "instance.yaml"
    path.write_text(yaml.safe_dump(INSTANCE), encoding="utf-8")
    return path


def _plans(problem: HorizonProblem) -> list[np.ndarray]:
    """Every plan n[p, c] that keeps every rule (few: 2 cells, a total of 10)."""
    per_year = []
    for year in problem.years:
        ranges = [range(int(lo), int(hi) + 1) for lo, hi in zip(year.lo, year.hi)]
        per_year.append([np.array(row) for row in itertools.product(*ranges)
                         if all(group.lo <= int(np.array(row)[group.cells].sum())
                                and (group.hi is None or int(np.array(row)[group.cells].sum()) <= group.hi)
                                for group in year.groups)])
    return [units for units in (np.stack(rows).astype(np.int64) for rows in itertools.product(*per_year))
            if keeps_rules(problem, units)]


def _worst(problem: HorizonProblem, **options: Any) -> solvers.HorizonResult:
    """A broken solver: the costliest plan, reported as proven optimal (the audit's mutant)."""
    units = max(_plans(problem), key=problem.objective)
    value = problem.objective(units)
    return solvers.HorizonResult("optimal", units, "mutant", objective=value, bound=value)


def test_the_mutant_plan_is_strictly_worse_than_the_myopic_plan(instance_path: Path) -> None:
    """The premise of the tests below: on this instance the myopic plan beats the mutant's "optimum"."""
    horizon = load_horizon_instance(instance_path).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    base = myopic(horizon, DEFAULT_MODEL)[0]
    assert base is not None
    assert problem.objective(base) < _worst(problem).objective - 1
    assert min(problem.objective(units) for units in _plans(problem)) < problem.objective(base) - 1


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_a_candidate_cheaper_than_a_proven_optimum_is_a_verification_error(
        instance_path: Path, monkeypatch: pytest.MonkeyPatch, solver: str) -> None:
    """Fails before the fix: the tie rule wrote the myopic plan as 'its objective equals the optimum'."""
    monkeypatch.setattr(solvers, "solve_highs", _worst)
    monkeypatch.setattr(solvers, "solve_cbc", _worst)
    horizon = load_horizon_instance(instance_path).value
    with pytest.raises(VerificationError, match="the myopic plan costs .* less than the .* reported as proven "
                                                "optimal"):
        solve_horizon(horizon, DEFAULT_MODEL, solver=solver)
    # The same through a given plan (a sensitivity variant's hint): it is a candidate as well.
    base = myopic(horizon, DEFAULT_MODEL)[0]
    with pytest.raises(VerificationError, match="the given plan costs"):
        solve_horizon(horizon, DEFAULT_MODEL, solver=solver, hint=base)
    out = instance_path.parent / "out"
    result = CliRunner().invoke(main, ["solve", str(instance_path), "--out", str(out), "--solver", solver, "-q"])
    assert result.exit_code == 4 and "failed verification" in result.output and "Traceback" not in result.output
    assert not out.exists()


def _shifted(monkeypatch: pytest.MonkeyPatch, **change: float) -> None:
    """Every HiGHS horizon solve returns its true result with ``bound`` and/or ``reported`` moved by ``change``."""
    real = solvers.solve_highs

    def shifted(problem: HorizonProblem, **options: Any) -> solvers.HorizonResult:
        result = real(problem, **options)
        assert result.status == "optimal" and result.reported is not None
        return dataclasses.replace(result, **{name: getattr(result, name) + by for name, by in change.items()})

    monkeypatch.setattr(solvers, "solve_highs", shifted)


def test_a_bound_above_the_written_objective_is_a_verification_error(instance_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    horizon = load_horizon_instance(instance_path).value
    _shifted(monkeypatch, bound=1e-3)
    with pytest.raises(VerificationError, match="the best bound .* is above the objective"):
        solve_horizon(horizon, DEFAULT_MODEL, solver="highs")


def test_a_solver_objective_the_simulation_does_not_reproduce_is_a_verification_error(
        instance_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    horizon = load_horizon_instance(instance_path).value
    plan = solve_horizon(horizon, DEFAULT_MODEL, solver="highs")
    # The written plan is the solver's own (the myopic plan costs more), so its objective was compared.
    assert plan.metadata["tie_rule"] == "the solver's plan" and plan.solver_objective is not None
    assert plan.solver_objective == pytest.approx(plan.objective, rel=1e-9)
    # plan.json shows what was compared
    assert json.loads(horizon_plan_json(plan))["metadata"]["solver_objective"] == plan.solver_objective
    _shifted(monkeypatch, reported=1e-2)
    with pytest.raises(VerificationError, match="the solver reported the objective .* but the simulation gives"):
        solve_horizon(horizon, DEFAULT_MODEL, solver="highs")


@pytest.mark.parametrize("solver", ["highs", "scip", "cbc"])
def test_every_solver_reports_an_objective_the_simulation_reproduces(instance_path: Path, solver: str) -> None:
    plan = solve_horizon(load_horizon_instance(instance_path).value, DEFAULT_MODEL, solver=solver)
    assert plan.solver_objective is not None and plan.metadata["verified"] is True


def test_a_rate_resolved_unlike_the_rows_is_a_verification_error(instance_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The MILP and the simulator read the same resolved rates; the verifier reads the rows itself."""
    horizon = load_horizon_instance(instance_path).value
    assert check_horizon(horizon, DEFAULT_MODEL, solve_horizon(horizon, DEFAULT_MODEL)) == ([], [])
    # A loader with a wrong default: B gives no fill rate and neither does R.
    monkeypatch.setattr(horizon_io, "RATE_DEFAULTS", {"exit_rate": 0.0, "fill_rate": 0.9, "retention": 1.0})
    with pytest.raises(VerificationError, match="B, gp: fill_rate is 0.9, but the workforce rows give 1.0"):
        solve_horizon(load_horizon_instance(instance_path).value, DEFAULT_MODEL)


def _root_first(self: Instance, area: str | None) -> list[str]:
    """A wrong ``Instance.ancestors``: the path from the root down (a loader using it takes the farthest area's value)."""
    chain = []
    while area is not None:
        chain.insert(0, area)
        area = self.area_by_id[area].parent
    return chain


def test_a_rate_taken_from_the_farthest_area_is_a_verification_error(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Three levels, R -> M -> A: the exit rate is given on M and R; a loader walking from the root takes R's."""
    data = copy.deepcopy(INSTANCE)
    data["areas"] = [{"id": "R"}, {"id": "M", "parent": "R"}, {"id": "A", "parent": "M", "population": 20000},
                     {"id": "B", "parent": "R", "population": 10000}]
    data["workforce"].append({"area": "M", "specialty": "gp", "exit_rate": 0.1})
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    horizon = load_horizon_instance(path).value
    assert horizon.cells[("A", "gp")].exit_rate == 0.1 and horizon.cells[("B", "gp")].exit_rate == 0.2
    solve_horizon(horizon, DEFAULT_MODEL)

    monkeypatch.setattr(Instance, "ancestors", _root_first)
    with pytest.raises(VerificationError, match="A, gp: exit_rate is 0.2, but the workforce rows give 0.1"):
        solve_horizon(load_horizon_instance(path).value, DEFAULT_MODEL)


def test_a_growth_taken_from_the_farthest_area_is_a_verification_error(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Three levels, R -> M -> A: growth is given on M and R; a loader walking from the root takes R's."""
    data = copy.deepcopy(INSTANCE)
    data["areas"] = [{"id": "R", "population_growth": 0.01}, {"id": "M", "parent": "R", "population_growth": 0.03},
                     {"id": "A", "parent": "M", "population": 20000}, {"id": "B", "parent": "R", "population": 10000}]
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    horizon = load_horizon_instance(path).value
    assert horizon.growth == {"A": 0.03, "B": 0.01}
    solve_horizon(horizon, DEFAULT_MODEL)

    monkeypatch.setattr(Instance, "ancestors", _root_first)
    with pytest.raises(VerificationError, match="A: population_growth is 0.01, but the areas' rows give 0.03"):
        solve_horizon(load_horizon_instance(path).value, DEFAULT_MODEL)
    # a variant's growth is checked against the rows with the changes it declares, and nothing else may differ
    declared = (FactChange("population_growth", shift=0.005, digits=12, area="A"),)
    shifted = dataclasses.replace(horizon, growth={"A": 0.035, "B": 0.01}, changes=declared)
    assert check_horizon(shifted, DEFAULT_MODEL, solve_horizon(shifted, DEFAULT_MODEL))[1] == []
    with pytest.raises(VerificationError, match="A: population_growth is 0.035, but the areas' rows give 0.03(?! and)"):
        solve_horizon(dataclasses.replace(shifted, changes=()), DEFAULT_MODEL)
    with pytest.raises(VerificationError, match="B: population_growth is 0.01, but the areas' rows give 0.015 and "
                                                "the variant's declared changes"):
        solve_horizon(dataclasses.replace(shifted, changes=(FactChange("population_growth", shift=0.005),)),
                      DEFAULT_MODEL)


def test_a_start_year_resolved_unlike_the_rows_is_a_verification_error(instance_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A start_posts that forgets the pipeline row: the MILP and the simulator agree with each other, not with the rows."""
    horizon = load_horizon_instance(instance_path).value

    def previous_only(self: HorizonInstance, leaf: str, specialty: str, year: int) -> float | None:
        return None if year >= self.first_year else self.instance.previous_posts.get((leaf, specialty), 0.0)

    monkeypatch.setattr(HorizonInstance, "start_posts", previous_only)
    with pytest.raises(VerificationError, match="A, gp: the posts started in 2019 are 6.0, but the pipeline and "
                                                "previous rows give 5.0"):
        solve_horizon(horizon, DEFAULT_MODEL)


def test_under_an_accepted_gap_a_cheaper_candidate_is_written_as_cheaper(instance_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No proof, so no contradiction: the myopic plan beats the solver's best plan and is written as such."""
    def stopped(problem: HorizonProblem, **options: Any) -> solvers.HorizonResult:
        worst = _worst(problem)
        optimum = min(problem.objective(units) for units in _plans(problem))
        return solvers.HorizonResult("gap", worst.units, "mutant", objective=worst.objective, bound=optimum)

    monkeypatch.setattr(solvers, "solve_highs", stopped)
    horizon = load_horizon_instance(instance_path).value
    plan = solve_horizon(horizon, DEFAULT_MODEL, solver="highs", accept_gap=0.5)
    problem = build_horizon(horizon, DEFAULT_MODEL)
    base = myopic(horizon, DEFAULT_MODEL)[0]
    assert plan.metadata["tie_rule"].startswith("the myopic plan (cheaper than the solver's best plan")
    assert plan.objective == pytest.approx(problem.objective(base), abs=1e-9)
    assert plan.gap == pytest.approx((plan.objective - plan.bound) / plan.objective)
    assert plan.solver_objective is None and plan.status == "gap ≤ 0.5"
    assert json.loads(horizon_plan_json(plan))["metadata"]["solver_objective"] is None
