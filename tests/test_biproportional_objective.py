"""``objective: biproportional``: the biproportional divisor method inside the plan pipeline (issue 18, item 5)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.apportion import signpost
from allocator.apportion.biproportional import biproportional
from allocator.cli import main
from allocator.core.matrix import log_cost
from allocator.errors import InputError
from allocator.io.loading import load_instance, load_model
from allocator.results.solve import solve

from tests.conftest import DATA, make_instance, make_model

HERE = DATA / "biproportional"


def test_plan_is_verified_and_meets_both_totals() -> None:
    """Regions get their fixed totals, specialties theirs; every leaf cell rounds need / divisor x multiplier."""
    instance = load_instance(HERE / "instance.yaml").value
    model = load_model(HERE / "model.yaml").value
    plan = solve(instance, model)
    assert plan.metadata["verified"] and plan.metadata["solver"] == "biproportional"
    details = plan.metadata["biproportional"]
    region = {"n1": "Nord", "n2": "Nord", "s1": "Syd", "o1": "Oest", "o2": "Oest", "o3": "Oest", "o4": "Oest",
              "o5": "Oest"}
    by_region: dict[str, int] = {}
    by_specialty: dict[str, int] = {}
    for row in plan.rows:
        by_region[region[row.area]] = by_region.get(region[row.area], 0) + int(row.posts)
        by_specialty[row.specialty] = by_specialty.get(row.specialty, 0) + int(row.posts)
        if row.area == "o5" and row.specialty in ("paed", "almen"):
            continue  # capped cells: at their cap or below it
        need = instance.area_by_id[row.area].population  # base population, no criteria: need = population
        quotient = need / details["row_divisors"][region[row.area]] * details["specialty_multipliers"][row.specialty]
        assert int(row.posts) - 0.5 - 1e-9 <= quotient <= int(row.posts) + 0.5 + 1e-9
    assert by_region == {"Nord": 33, "Syd": 22, "Oest": 45}
    assert by_specialty == {"almen": 60, "psyk": 25, "paed": 15}


def test_compare_puts_it_beside_the_optimisation_models(tmp_path) -> None:
    """allocator compare runs the biproportional model next to the population model."""
    out = tmp_path / "cmp"
    run = CliRunner().invoke(main, ["compare", str(HERE / "instance.yaml"), "-m", "models/population.yaml", "-m",
                                    str(HERE / "model.yaml"), "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert "biproportional" in (out / "comparison.csv").read_text(encoding="utf-8")


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_leaves_as_rows_equal_the_biproportional_command(data: st.DataObject) -> None:
    """With one leaf per region, the plan equals `biproportional` on the matrix of needs, cell for cell."""
    n_rows = data.draw(st.integers(1, 4))
    n_cols = data.draw(st.integers(2, 3))
    populations = data.draw(st.lists(st.integers(1, 10**6), min_size=n_rows, max_size=n_rows))
    seats = [[data.draw(st.integers(0, 5)) for _ in range(n_cols)] for _ in range(n_rows)]
    for j in range(n_cols):  # a specialty with total 0 closes its cells in the plan: keep every column open
        seats[j % n_rows][j] = max(seats[j % n_rows][j], 1)
    row_totals = [sum(row) for row in seats]
    column_totals = [sum(col) for col in zip(*seats)]
    method = data.draw(st.sampled_from(["webster", "jefferson"]))
    instance = make_instance(
        specialties=[{"id": f"s{j}", "total": column_totals[j]} for j in range(n_cols)],
        areas=[{"id": f"R{i}"} for i in range(n_rows)] +
              [{"id": f"l{i}", "parent": f"R{i}", "population": populations[i]} for i in range(n_rows)],
        bounds=[{"area": f"R{i}", "min": row_totals[i], "max": row_totals[i]} for i in range(n_rows)])
    model = make_model(objective="biproportional", method=method)
    plan = solve(instance, model)
    matrix = [[Fraction(populations[i]) for _ in range(n_cols)] for i in range(n_rows)]
    expected = biproportional([f"R{i}" for i in range(n_rows)], [f"s{j}" for j in range(n_cols)], matrix,
                              row_totals, column_totals, method)
    got = {(row.area, row.specialty): int(row.posts) for row in plan.rows}
    if expected.ties:
        # Several plans meet the rule, and the two paths may return different ones (their cells come in a
        # different order); both must report the tie.
        assert plan.metadata["biproportional"]["ties"]
        return
    assert [[got[(f"l{i}", f"s{j}")] for j in range(n_cols)] for i in range(n_rows)] == expected.seats


def test_no_seat_moves_along_a_cycle_lower_the_cost() -> None:
    """The plan minimises sum ln(s(k)/w): moving one post around any 2x2 cycle never lowers that cost."""
    instance = load_instance(HERE / "instance.yaml").value
    model = load_model(HERE / "model.yaml").value
    plan = solve(instance, model)
    region = {"n1": "Nord", "n2": "Nord", "s1": "Syd", "o1": "Oest", "o2": "Oest", "o3": "Oest", "o4": "Oest",
              "o5": "Oest"}
    rows = [r for r in plan.rows if not (r.area == "o5" and r.specialty in ("paed", "almen"))]
    base = {(r.area, r.specialty): (int(r.posts), r.target) for r in rows}

    def cost(n: int, t: float) -> float:
        return float(log_cost("webster", np.array([n]), np.array([t]))[0])

    for (a, s), (x_as, t_as) in base.items():
        for (b, u), (x_bu, t_bu) in base.items():
            if region[a] != region[b] or s == u or (a, u) not in base or (b, s) not in base:
                continue
            x_au, t_au = base[(a, u)]
            x_bs, t_bs = base[(b, s)]
            if x_au == 0 or x_bs == 0:
                continue
            # +1 at (a, s) and (b, u), -1 at (a, u) and (b, s): region and specialty sums stay.
            before = cost(x_as, t_as) + cost(x_bu, t_bu) + cost(x_au, t_au) + cost(x_bs, t_bs)
            after = cost(x_as + 1, t_as) + cost(x_bu + 1, t_bu) + cost(x_au - 1, t_au) + cost(x_bs - 1, t_bs)
            assert after >= before - 1e-9, ((a, s), (b, u))


def test_log_cost_is_the_sum_of_log_signposts() -> None:
    """F(n) in closed form (lgamma) equals the sum of ln(s(k)/w) term by term."""
    for method in ("webster", "jefferson", "adams", "huntington-hill"):
        for n in range(0, 30):
            w = 3.7
            terms = [math.log(math.sqrt(signpost(method, k)) if method == "huntington-hill" else signpost(method, k))
                     if signpost(method, k) else 0.0 for k in range(n)]
            expected = math.fsum(terms) - n * math.log(w)
            assert abs(log_cost(method, np.array([n]), np.array([w]))[0] - expected) < 1e-9


def test_refusals() -> None:
    """No fixed totals, another bound that could bind, or overlapping fixed totals: located exit-2 errors."""
    with pytest.raises(InputError, match="the bound on area 'Øst' is neither"):
        solve(load_instance("instances/dk-2020-almen-medicin/instance.yaml").value,
              make_model(objective="biproportional"))
    base = dict(specialties=[{"id": "a", "total": 4}, {"id": "b", "total": 4}],
                areas=[{"id": "R"}, {"id": "x", "parent": "R", "population": 5},
                       {"id": "y", "parent": "R", "population": 3}])
    with pytest.raises(InputError, match="needs row totals"):
        solve(make_instance(**base), make_model(objective="biproportional"))
    with pytest.raises(InputError, match="the bound on area 'R', specialty 'a' is neither"):
        solve(make_instance(**base, bounds=[{"area": "R", "min": 8, "max": 8},
                                            {"area": "R", "specialty": "a", "max": 3}]),
              make_model(objective="biproportional"))
    with pytest.raises(InputError, match="overlap"):
        solve(make_instance(**base, bounds=[{"area": "R", "min": 8, "max": 8}, {"area": "x", "min": 4, "max": 4}]),
              make_model(objective="biproportional"))
    with pytest.raises(InputError, match="leaf area 'z' lies under no area with a fixed total"):
        solve(make_instance(specialties=base["specialties"], areas=[*base["areas"], {"id": "z", "population": 1}],
                            bounds=[{"area": "R", "min": 6, "max": 6}]), make_model(objective="biproportional"))
    with pytest.raises(ValueError, match="takes the method"):
        make_model(objective="biproportional", method="dean")


def test_sensitivity_is_refused_with_a_message(tmp_path) -> None:
    """solve --sensitivity under objective biproportional: exit 2, nothing written."""
    run = CliRunner().invoke(main, ["solve", str(HERE / "instance.yaml"), "-m", str(HERE / "model.yaml"), "-o",
                                    str(tmp_path / "o"), "--sensitivity", "-q"])
    assert run.exit_code == 2 and "not available under objective 'biproportional'" in run.output
    assert not (tmp_path / "o").exists()


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_optimisation_backends_find_the_same_plan(data: st.DataObject) -> None:
    """Min-cost flow and HiGHS minimising sum ln(s(k)/w) under the same constraints return the biproportional plan.

    An independent check of both the exact tie-and-transfer and the cost it claims to minimise: the
    two agree on the optimal cost always, and on every cell when the plan has no tie.
    """
    from allocator.core.matrix import matrix_plan
    from allocator.core.problem import build_problem
    from allocator.results.solve import solve_exact

    n_regions = data.draw(st.integers(1, 3))
    leaves = [data.draw(st.integers(1, 3)) for _ in range(n_regions)]
    n_specs = data.draw(st.integers(2, 3))
    method = data.draw(st.sampled_from(["webster", "jefferson"]))
    areas = [{"id": f"R{r}"} for r in range(n_regions)]
    seats: dict[tuple[int, int], int] = {}
    for r, count in enumerate(leaves):
        for k in range(count):
            areas.append({"id": f"l{r}{k}", "parent": f"R{r}", "population": data.draw(st.integers(1, 10**6))})
            for s in range(n_specs):
                seats[(r, s)] = seats.get((r, s), 0) + data.draw(st.integers(0, 4))
    region_totals = [sum(seats[(r, s)] for s in range(n_specs)) for r in range(n_regions)]
    spec_totals = [sum(seats[(r, s)] for r in range(n_regions)) for s in range(n_specs)]
    instance = make_instance(specialties=[{"id": f"s{s}", "total": spec_totals[s]} for s in range(n_specs)],
                             areas=areas,
                             bounds=[{"area": f"R{r}", "min": t, "max": t} for r, t in enumerate(region_totals)])
    problem = build_problem(instance, make_model(objective="biproportional", method=method))
    exact = matrix_plan(problem)
    for solver in ("flow", "highs"):
        optimum = solve_exact(problem, solver)
        assert optimum.units is not None
        assert problem.total_cost(exact.units) <= problem.total_cost(optimum.units) + 1e-9
        if not exact.details["ties"]:
            assert (optimum.units == exact.units).all()
