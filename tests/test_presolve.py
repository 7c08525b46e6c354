"""The columnar core and presolve: bound-row members found all at once, fixed cells out of the solver.

References: the members of a bound row by its definition (the leaves under
the area, walking parent links, in the row's specialty); the optimum of the
whole problem by PuLP + CBC without presolve; and a plan written with an
offers table against the same plan written with ``max: 0`` rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.core.arrays import instance_arrays
from allocator.core.presolve import presolve
from allocator.core.problem import build_problem
from allocator.io.schemas import Instance, Model
from allocator.results.solve import solve, solve_exact
from allocator.solvers import get_backend
from tests.conftest import make_instance, make_model
from tests.strategies import instances, models


def _members_by_definition(instance: Instance, area: str, specialty: str | None) -> set[tuple[str, str]]:
    """Cells (leaf, specialty) whose leaf has ``area`` on its path to the root."""
    def under(leaf: str) -> bool:
        current: str | None = leaf
        while current is not None:
            if current == area:
                return True
            current = instance.area_by_id[current].parent
        return False
    return {(leaf, s) for leaf, s in instance.cells if under(leaf) and (specialty is None or s == specialty)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_leaves=6, max_specialties=3))
def test_every_bound_rows_cells_are_found_all_at_once(instance: Instance) -> None:
    arrays = instance_arrays(instance)
    cells = list(zip((arrays.leaf_ids[c] for c in arrays.cell_leaf.tolist()),
                     (arrays.specialty_ids[c] for c in arrays.cell_specialty.tolist())))
    assert cells == instance.cells
    together = arrays.members_of_rows(np.arange(len(arrays.bounds)))
    posts = np.arange(len(cells), dtype=float)
    for k in range(len(arrays.bounds)):
        area = arrays.area_ids[int(arrays.bounds.area[k])]
        code = int(arrays.bounds.specialty[k])
        specialty = arrays.specialty_ids[code] if code >= 0 else None
        expected = _members_by_definition(instance, area, specialty)
        assert {cells[c] for c in arrays.members(k).tolist()} == expected
        assert arrays.members(k).tolist() == sorted(arrays.members(k).tolist()) == together[k].tolist()
        assert arrays.row_sums(posts)[k] == sum(posts[cells.index(cell)] for cell in expected)


def _close_some(draw: st.DrawFn, instance: Instance) -> Instance:
    """``instance`` with ``max: 0`` rows closing some cells that no other row names."""
    named = {(b.area, b.specialty) for b in instance.bounds}
    closable = [cell for cell in instance.cells if cell not in named]
    closed = draw(st.lists(st.sampled_from(closable), unique=True, max_size=len(closable))) if closable else []
    bounds = [b._asdict() for b in instance.bounds]
    for bound in bounds:
        bound.pop("origin"), bound.pop("index")
    bounds += [{"area": leaf, "specialty": specialty, "max": 0} for leaf, specialty in closed]
    previous = [{"area": p.area, "specialty": p.specialty, "posts": 0 if (p.area, p.specialty) in closed else p.posts}
                for p in instance.previous]
    fields: dict[str, Any] = {"unit": instance.unit, "bounds": bounds, "previous": previous,
                              "specialties": [{"id": s.id, "total": s.total} for s in instance.specialties],
                              "areas": [{k: v for k, v in a._asdict().items() if k not in ("origin", "index")}
                                        for a in instance.areas]}
    return make_instance(**fields)


@st.composite
def closed_instances(draw: st.DrawFn) -> Instance:
    return _close_some(draw, draw(instances(max_leaves=5, max_specialties=3, max_total=8)))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instance=closed_instances(), model=models())
def test_presolve_then_solve_equals_cbc_on_the_whole_problem(instance: Instance, model: Model) -> None:
    problem = build_problem(instance, model)
    exact = solve_exact(problem)
    if (problem.lo > problem.hi).any():  # no backend is asked (as in solve): a cell's own bounds leave no value
        assert exact.units is None and exact.result.status == "infeasible"
        return
    reference = get_backend("cbc").solve(problem)
    if reference.status == "infeasible":
        assert exact.units is None and exact.result.status == "infeasible"
        return
    assert reference.status == "optimal" and exact.units is not None
    assert math.isclose(problem.total_cost(exact.units), problem.total_cost(reference.units), rel_tol=1e-6,
                        abs_tol=1e-6)
    presolved = presolve(problem)
    assert presolved.problem is not None
    fixed = problem.lo == problem.hi
    assert (exact.units[fixed] == problem.lo[fixed]).all()
    assert presolved.report["fixed_cells"] == int(fixed.sum()) == problem.n_cells - presolved.problem.n_cells


SITES = [{"id": "north"}, {"id": "south"},
         {"id": "a", "parent": "north", "population": 120}, {"id": "b", "parent": "north", "population": 80},
         {"id": "c", "parent": "south", "population": 200}]
SPECIALTIES = [{"id": "gp", "total": 10}, {"id": "surgery", "total": 4}, {"id": "psychiatry", "total": 3}]
#: Which site trains which specialty (c does not train surgery; a does not train psychiatry).
OFFERED = [("a", "gp"), ("a", "surgery"), ("b", "gp"), ("b", "surgery"), ("b", "psychiatry"), ("c", "gp"),
           ("c", "psychiatry")]
CAPS = [{"area": "b", "specialty": None, "max": 7}, {"area": "south", "specialty": "gp", "min": 3}]


def test_max_zero_and_an_offers_table_give_the_same_plan() -> None:
    """docs/formats.md, "Marking a cell not offered": both ways, the same posts and targets."""
    model = make_model(objective="squared", stability={"max_change": 3, "weight": 0.5})
    previous = [{"area": leaf, "specialty": s, "posts": 1} for leaf, s in OFFERED]
    with_offers = make_instance(areas=SITES, specialties=SPECIALTIES, bounds=CAPS, previous=previous,
                                offers=[{"area": leaf, "specialty": s} for leaf, s in OFFERED])
    closed = [{"area": leaf, "specialty": s["id"], "max": 0} for leaf in "abc" for s in SPECIALTIES
              if (leaf, s["id"]) not in OFFERED]
    with_zeros = make_instance(areas=SITES, specialties=SPECIALTIES, bounds=CAPS + closed, previous=previous)
    offered_plan, zero_plan = solve(with_offers, model), solve(with_zeros, model)
    assert len(offered_plan.rows) == 7 and len(zero_plan.rows) == 9
    zero_rows = {(row.area, row.specialty): row for row in zero_plan.rows}
    for row in offered_plan.rows:
        twin = zero_rows.pop((row.area, row.specialty))
        assert (twin.posts, twin.target) == (row.posts, row.target)
    assert {cell: (row.posts, row.target, row.binding) for cell, row in zero_rows.items()} == {
        ("a", "psychiatry"): (0.0, 0.0, ("max",)), ("c", "surgery"): (0.0, 0.0, ("max",))}
    assert math.isclose(offered_plan.objective, zero_plan.objective)
    report = zero_plan.metadata["presolve"]
    assert report["fixed_cells"] == 2 and report["free_cells"] == 7 and report["bound_rows_as_cell_boxes"] == 2
    assert offered_plan.metadata["presolve"]["fixed_cells"] == 0


def test_a_group_broken_by_its_fixed_cells_is_infeasible_and_diagnosed() -> None:
    """Presolve finds that closed cells cannot hold a region's floor; the diagnosis names the rules."""
    from allocator.errors import InfeasibleError

    bounds = [{"area": "north", "specialty": "gp", "min": 2}, {"area": "a", "specialty": "gp", "max": 0},
              {"area": "b", "specialty": "gp", "max": 0}]
    instance = make_instance(areas=SITES, specialties=SPECIALTIES, bounds=bounds)
    problem = build_problem(instance, make_model())
    assert presolve(problem).infeasible is not None
    try:
        solve(instance, make_model())
    except InfeasibleError as exc:
        assert "north" in str(exc)
    else:
        raise AssertionError("a floor on closed cells must be infeasible")
