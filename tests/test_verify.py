"""The independent verifier accepts solved plans and rejects every kind of broken plan."""

from __future__ import annotations

import dataclasses

import pytest

from allocator.errors import VerificationError
from allocator.results.plan import Plan
from allocator.io.schemas import Instance
from allocator.results.solve import solve
from allocator.results.verify import check_plan, verify
from tests.conftest import make_instance, make_model

MODEL = make_model(objective="squared", underserved_weight=2, criteria=[{"indicator": "per_gp", "weight": 1}],
                   stability={"max_change": 3, "weight": 0.5})


def _with_posts(plan: Plan, changes: dict[tuple[str, str], float], objective: float | None = None) -> Plan:
    rows = [row._replace(posts=changes.get((row.area, row.specialty), row.posts)) for row in plan.rows]
    return dataclasses.replace(plan, rows=rows, objective=plan.objective if objective is None else objective)


@pytest.fixture
def solved(two_regions: Instance) -> Plan:
    plan = solve(two_regions, MODEL)
    assert check_plan(two_regions, MODEL, plan) == []
    return plan


def test_rejects_total_off_by_one(two_regions: Instance, solved: Plan) -> None:
    row = solved.rows[0]
    broken = _with_posts(solved, {(row.area, row.specialty): row.posts + 1})
    problems = check_plan(two_regions, MODEL, broken)
    assert any("add up to" in p for p in problems)


def test_rejects_broken_bound_even_with_right_totals(two_regions: Instance, solved: Plan) -> None:
    posts = solved.posts()
    # Move one gp post from South's s2 (floor 3) to keep the total but break the floor.
    broken = _with_posts(solved, {("s2", "gp"): 2, ("s1", "gp"): posts[("s1", "gp")] + posts[("s2", "gp")] - 2})
    problems = check_plan(two_regions, MODEL, broken)
    assert any("under its min 3" in p for p in problems)


def test_rejects_parent_cap(two_regions: Instance, solved: Plan) -> None:
    posts = solved.posts()
    moved = posts[("s1", "gp")]
    broken = _with_posts(solved, {("s1", "gp"): 0, ("n2", "gp"): posts[("n2", "gp")] + moved})
    assert any("over its max 14" in p for p in check_plan(two_regions, MODEL, broken))


def test_rejects_stability_breach(two_regions: Instance) -> None:
    instance = make_instance(specialties=[{"id": "gp", "total": 10}],
                             areas=[{"id": "a", "population": 1, "indicators": {"per_gp": 1}},
                                    {"id": "b", "population": 1, "indicators": {"per_gp": 1}}],
                             previous=[{"area": "a", "specialty": "gp", "posts": 5},
                                       {"area": "b", "specialty": "gp", "posts": 5}])
    plan = solve(instance, MODEL)
    broken = _with_posts(plan, {("a", "gp"): 9, ("b", "gp"): 1})
    assert any("max_change 3" in p for p in check_plan(instance, MODEL, broken))


def test_rejects_fractional_posts(solved: Plan, two_regions: Instance) -> None:
    posts = solved.posts()
    broken = _with_posts(solved, {("n1", "gp"): posts[("n1", "gp")] + 0.5, ("n2", "gp"): posts[("n2", "gp")] - 0.5})
    assert any("not a multiple of the unit" in p for p in check_plan(two_regions, MODEL, broken))


def test_rejects_wrong_objective(two_regions: Instance, solved: Plan) -> None:
    with pytest.raises(VerificationError, match="differs from the recomputed"):
        verify(two_regions, MODEL, dataclasses.replace(solved, objective=solved.objective + 1e-3))


def test_rejects_missing_and_foreign_rows(two_regions: Instance, solved: Plan) -> None:
    missing = dataclasses.replace(solved, rows=solved.rows[1:])
    assert any("missing" in p for p in check_plan(two_regions, MODEL, missing))
    foreign = dataclasses.replace(solved, rows=[*solved.rows, solved.rows[0]._replace(area="North")])
    assert any("is not a cell" in p for p in check_plan(two_regions, MODEL, foreign))


def test_rejects_wrong_target(two_regions: Instance, solved: Plan) -> None:
    rows = [solved.rows[0]._replace(target=solved.rows[0].target + 1), *solved.rows[1:]]
    assert any("target" in p for p in check_plan(two_regions, MODEL, dataclasses.replace(solved, rows=rows)))
