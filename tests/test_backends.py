"""Every backend that accepts an instance finds the same optimum, or calls it infeasible.

Parametrised over the backends, as linopy does over its solvers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.solvers import BACKENDS, Capability, choose_backend, get_backend
from allocator.solvers.flow import laminar_parents, nesting_order
from allocator.cli import main
from allocator.errors import InfeasibleError
from allocator.results.plan import build_plan
from allocator.core.problem import Group, build_problem
from allocator.io.schemas import Instance, Model
from allocator.results.solve import solve
from allocator.results.verify import check_plan
from tests.conftest import (
    DK_INSTANCE,
    MODELS,
    SYNTHETIC_INSTANCE,
    make_instance,
    make_model,
)
from tests.strategies import instances, models

NAMES = sorted(BACKENDS)


def outcome(instance: Instance, model: Model, solver: str) -> float | None:
    """The objective of the backend's own optimum (before the tie rule picks the plan to write), checked."""
    problem = build_problem(instance, model)
    if (problem.lo > problem.hi).any():
        return None
    result = get_backend(solver).solve(problem)
    if result.status == "infeasible":
        return None
    assert result.status == "optimal" and result.units is not None, (solver, result)
    plan = build_plan(instance, model, problem, result.units)
    assert check_plan(instance, model, plan) == []
    return plan.objective


def test_every_backend_imports_and_solves_in_one_process(two_regions: Instance) -> None:
    """ortools and highspy clash in one process (google/or-tools#5246); ours must not."""
    model = make_model(objective="squared", criteria=[{"indicator": "per_gp", "weight": 1}])
    objectives = {name: solve(two_regions, model, solver=name).objective for name in NAMES}
    assert len({round(v, 9) for v in objectives.values()}) == 1, objectives


@pytest.mark.parametrize("name", NAMES)
def test_backends_declare_exactness(name: str) -> None:
    backend = get_backend(name)
    assert Capability.EXACT in backend.capabilities
    assert backend.available()


def assert_all_agree(instance: Instance, model: Model) -> None:
    """Every backend's objective equals CBC's (1e-6 relative), or all call it infeasible."""
    results = {name: outcome(instance, model, name) for name in NAMES}
    reference = results["cbc"]
    for name, value in results.items():
        assert (value is None) == (reference is None), (name, results)
        if reference is not None:
            assert value == pytest.approx(reference, rel=1e-6, abs=1e-9), (name, results)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_leaves=4, max_specialties=2, max_total=8), model=models(apportionment=True))
def test_all_backends_agree(instance: Instance, model: Model) -> None:
    assert_all_agree(instance, model)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_leaves=10, max_specialties=3, max_total=40), model=models(apportionment=True))
def test_all_backends_agree_on_larger_trees(instance: Instance, model: Model) -> None:
    assert_all_agree(instance, model)


def test_auto_picks_greedy_for_boxes_and_flow_for_trees(two_regions: Instance) -> None:
    model = make_model()
    backend, reason = choose_backend("auto", build_problem(two_regions, model))
    assert backend.name == "flow" and "min-cost flow" in reason
    flat = make_instance(specialties=[{"id": "gp", "total": 5}],
                         areas=[{"id": "a", "population": 1}, {"id": "b", "population": 2}],
                         bounds=[{"area": "a", "specialty": "gp", "max": 1}])
    backend, reason = choose_backend("auto", build_problem(flat, model))
    assert backend.name == "flow" and "greedy" in reason
    plan = solve(flat, model)
    assert plan.metadata["solver_path"] == "greedy"
    assert plan.posts() == {("a", "gp"): 1, ("b", "gp"): 4}


def test_infeasible_everywhere() -> None:
    instance = make_instance(specialties=[{"id": "gp", "total": 5}], areas=[{"id": "R"},
                             {"id": "a", "parent": "R", "population": 1}, {"id": "b", "parent": "R", "population": 2}],
                             bounds=[{"area": "R", "max": 4}])
    for name in NAMES:
        with pytest.raises(InfeasibleError, match="at most 4 posts"):
            solve(instance, make_model(), solver=name)


@pytest.mark.parametrize("path", [DK_INSTANCE, SYNTHETIC_INSTANCE], ids=["dk", "synthetic"])
def test_every_backend_writes_the_same_plan_files(tmp_path: Path, path: Path) -> None:
    """Only the fields meant to vary (times, solver name and version, why it ran) may differ."""
    varying = {"solver", "solver_version", "solver_choice", "solver_detail", "solver_path", "seconds", "tie_rule"}
    written = {}
    for name in NAMES:
        out = tmp_path / name
        result = CliRunner().invoke(main, ["solve", str(path), "-m", str(MODELS / "need-weighted.yaml"), "-o", str(out),
                                           "-q", "--no-xlsx", "--solver", name])
        assert result.exit_code == 0, result.output
        document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
        metadata = {key: value for key, value in document.pop("metadata").items() if key not in varying}
        written[name] = ((out / "plan.csv").read_bytes(), document, metadata, (out / "summary.md").read_text()
                         .replace(f"`{name}`", "`SOLVER`"))
    first = written[NAMES[0]]
    assert all(value == first for value in written.values())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_leaves=4, max_specialties=2, max_total=8), model=models(apportionment=True))
def test_every_backend_gives_the_same_plan_among_tied_optima(instance: Instance, model: Model) -> None:
    plans = {}
    for name in NAMES:
        try:
            plans[name] = solve(instance, model, solver=name).posts()
        except InfeasibleError:
            plans[name] = None
    assert len({repr(sorted(p.items())) if p is not None else None for p in plans.values()}) == 1, plans


def _laminar_parents_one_group_at_a_time(groups: list[Group], n_cells: int) -> list[int] | None:
    """The definition, group by group: each group's cells must all sit in the same innermost group so far."""
    innermost = [-1] * n_cells
    parents = [-1] * len(groups)
    for g in nesting_order(groups):
        seen = {innermost[c] for c in groups[g].cells.tolist()}
        if len(seen) > 1:
            return None
        parents[g] = seen.pop() if seen else -1
        for c in groups[g].cells.tolist():
            innermost[c] = g
    return parents


@st.composite
def families(draw: st.DrawFn) -> tuple[list[Group], int]:
    """Cell sets cut from a random tree (laminar), sometimes with a crossing set or an empty one added."""
    n_cells = draw(st.integers(1, 12))
    sets: list[list[int]] = [list(range(n_cells))]
    for _ in range(draw(st.integers(0, 8))):
        parent = draw(st.sampled_from(sets))
        if parent:
            start = draw(st.integers(0, len(parent) - 1))
            sets.append(parent[start:draw(st.integers(start + 1, len(parent)))])
    if draw(st.booleans()):
        sets.append(sorted(draw(st.sets(st.integers(0, n_cells - 1), max_size=n_cells))))
    groups = [Group(f"g{i:02d}", draw(st.sampled_from(["total", "bound"])), np.array(cells, dtype=np.int64), 0, None)
              for i, cells in enumerate(sets)]
    return draw(st.permutations(groups)), n_cells


@settings(max_examples=300, deadline=None)
@given(families())
def test_laminar_parents_match_the_group_by_group_definition(family: tuple[list[Group], int]) -> None:
    groups, n_cells = family
    assert laminar_parents(groups) == _laminar_parents_one_group_at_a_time(groups, n_cells)
