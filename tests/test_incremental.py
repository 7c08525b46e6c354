"""Sensitivity from the residual network equals the re-solving reference, answer by answer.

Each answer found by shortest paths on the optimal flow (``allocator.reports.incremental``)
is compared with a fresh build and solve of the changed instance: every ±1 value of
a tight rule, every total-ranging plan, every tied-optimum verdict.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

from allocator.errors import InputError
from allocator.reports.incremental import moved_row, with_total
from allocator.reports.sensitivity import (
    binding_bounds,
    flow_alternatives,
    flow_ranging,
    resolve,
    total_ranging,
)
from allocator.results.solve import solve_exact
from allocator.solvers.diagnose import rules_of
from allocator.solvers.flow import structure
from allocator.solvers.residual import Residual
from tests.strategies import instances, models

CLOSE = 1e-9


def _change(instance, model, base) -> float | None:  # type: ignore[no-untyped-def]
    try:
        outcome = resolve(instance, model)
    except InputError:
        return None
    return None if outcome.objective is None else outcome.objective - base.objective


def _same(found: float | None, reference: float | None, scale: float) -> bool:
    if found is None or reference is None:
        return found is None and reference is None
    return abs(found - reference) <= CLOSE * max(1.0, scale)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(instances(max_leaves=4, max_specialties=2), models(apportionment=True))
def test_every_incremental_answer_equals_a_re_solve(instance, model) -> None:  # type: ignore[no-untyped-def]
    try:
        base = resolve(instance, model)
    except InputError:
        return
    if base.posts is None or structure(base.problem) == "none":
        return
    scale = abs(base.objective)
    residual = Residual(base.problem, base.units)
    ranging, _ = flow_ranging(instance, model, base, residual, k=2)
    reference = total_ranging(instance, model, 2, base.problem)
    assert {s: [(t.delta, t.posts) for t in steps] for s, steps in ranging.items()} == \
        {s: [(t.delta, t.posts) for t in steps] for s, steps in reference.items()}
    for specialty, steps in ranging.items():
        for step, ref in zip(steps, reference[specialty]):
            assert _same(step.objective, ref.objective, scale)
    rules = {rule.name: rule for rule in rules_of(instance, model)}
    for bound in binding_bounds(instance, model, base, residual, ranging):
        if bound.kind != "bound":
            continue
        rule = rules[bound.rule]
        expected = []
        for step in (+1, -1):
            moved = moved_row(instance, rule, bound.side, step)
            expected.append(None if moved is None else _change(moved, model, base))
        assert _same(bound.relax, expected[0], scale), (bound, expected)
        assert _same(bound.tighten, expected[1], scale), (bound, expected)
    # Tied verdicts: a cell can move at no cost exactly when forcing it one unit away costs nothing.
    alternatives = flow_alternatives(base, residual)
    moves = {(m["area"], m["specialty"], m["change"] > 0) for m in alternatives.moves or []}
    problem = base.problem
    for c in range(problem.n_cells):
        cell = (problem.leaves[int(problem.cell_leaf[c])], problem.specialties[int(problem.cell_specialty[c])])
        for up in (True, False):
            lo, hi = problem.lo.copy(), problem.hi.copy()
            if up:
                lo[c] = base.units[c] + 1
            else:
                hi[c] = base.units[c] - 1
            tied = False
            if lo[c] <= hi[c]:
                exact = solve_exact(replace(problem, lo=lo, hi=hi, derived={}))
                tied = exact.units is not None and \
                    abs(problem.total_cost(exact.units) - base.objective) <= CLOSE * max(1.0, scale)
            assert ((*cell, up) in moves) == tied, (cell, up)
    assert alternatives.unique == (not moves)


def test_total_ranging_follows_the_targets_that_scale_with_the_total() -> None:
    """Moving a total moves every target of its specialty: the plan at T+1 is not T's plus one path."""
    from tests.conftest import make_instance, make_model

    instance = make_instance(specialties=[{"id": "gp", "total": 9}],
                             areas=[{"id": "a", "population": 105}, {"id": "b", "population": 195}])
    model = make_model(objective="squared")
    base = resolve(instance, model)
    residual = Residual(base.problem, base.units)
    ranging, _ = flow_ranging(instance, model, base, residual, k=3)
    for step in ranging["gp"]:
        fresh = resolve(with_total(instance, "gp", 9 + step.delta), model)
        assert step.posts == {leaf: fresh.posts[(leaf, "gp")] for leaf in ("a", "b")}


@pytest.mark.parametrize("objective", ["absolute", "squared"])
def test_a_tied_next_post_has_margin_zero(objective: str) -> None:
    from tests.conftest import make_instance, make_model

    # Two equal areas and 2 posts: the third post is worth the same in either area.
    instance = make_instance(specialties=[{"id": "gp", "total": 2}],
                             areas=[{"id": "a", "population": 100}, {"id": "b", "population": 100}])
    model = make_model(objective=objective)
    base = resolve(instance, model)
    _, margins = flow_ranging(instance, model, base, Residual(base.problem, base.units), k=1)
    assert margins["gp"] == pytest.approx(0.0, abs=1e-12)
    three = make_instance(specialties=[{"id": "gp", "total": 3}],
                          areas=[{"id": "a", "population": 100}, {"id": "b", "population": 100}])
    base = resolve(three, model)
    _, margins = flow_ranging(three, model, base, Residual(base.problem, base.units), k=1)
    # At 4 posts the fourth goes where 1 is: anywhere else costs 2 (absolute: |3-2| + |1-2|; squared: (1 + 1) / 2 * 2).
    assert margins["gp"] == pytest.approx(2.0 if objective == "absolute" else 1.0)
