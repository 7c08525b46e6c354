"""The equity–stability front (issue 17): exact against brute force, the flow path against the MILP.

Brute force enumerates every feasible integer plan of a small generated
instance, so it knows the true nondominated set and the optimum of every
weighted sum f1 + w f2 on a fine grid of w, independently of any solver.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.core.problem import build_problem
from allocator.errors import InfeasibleError, InputError
from allocator.io.loading import load_instance, load_model
from allocator.io.schemas import Instance
from allocator.reports.pareto import front_model, pareto, point_plan
from allocator.reports.sensitivity import _with_total
from allocator.results.solve import solve
from allocator.solvers.pareto import flow_ready, needy_leaves, objectives
from tests.conftest import make_instance, make_model
from tests.strategies import instances, models

ROOT = Path(__file__).resolve().parent.parent
DK = ROOT / "instances" / "dk-2020-almen-medicin" / "instance.yaml"
DK_KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
NEED = ROOT / "models" / "need-weighted.yaml"
#: Weights of the brute-force grid: 0.001 to 1000, 601 of them evenly spaced on a log scale.
GRID = np.geomspace(1e-3, 1e3, 601)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _every_plan(problem) -> np.ndarray:  # noqa: ANN001 - a ProblemData
    """Every feasible integer plan (rows), by enumerating each cell's box and keeping those that meet every group."""
    boxes = [range(int(lo), int(hi) + 1) for lo, hi in zip(problem.lo, problem.hi)]
    plans = np.array(list(itertools.product(*boxes)), dtype=np.int64).reshape(-1, problem.n_cells)
    keep = np.ones(len(plans), dtype=bool)
    for group in problem.groups:
        sums = plans[:, group.cells].sum(axis=1)
        keep &= sums >= group.lo
        if group.hi is not None:
            keep &= sums <= group.hi
    return plans[keep]


def _nondominated(values: list[tuple[float, float]]) -> set[tuple[float, float]]:
    """The (f1, f2) pairs no other pair dominates (both minimised)."""
    best: list[tuple[float, float]] = []
    for f1, f2 in sorted(set(values)):
        if not best or f2 < best[-1][1] - 1e-9 * max(1.0, abs(f2)):
            if best and _close(best[-1][0], f1):
                best[-1] = (f1, f2)  # equal f1 (to rounding), less disruption
            else:
                best.append((f1, f2))
    return set(best)


def _on(front: list[tuple[float, float]], value: tuple[float, float]) -> bool:
    return any(_close(value[0], f1) and _close(value[1], f2) for f1, f2 in front)


@st.composite
def small_cases(draw: st.DrawFn, flow: bool = False) -> tuple[Instance, object, str]:
    """A small instance with last year's posts (in every cell, or in some), a model, and the equity metric.

    ``flow``: one specialty over up to four leaves, last year's posts in every cell (the flow path's shape).
    """
    instance = draw(instances(max_leaves=4, max_specialties=1, max_total=6) if flow else
                    instances(max_leaves=3, max_specialties=2, max_total=5))
    every = flow or draw(st.booleans())  # last year's posts in every cell: the flow path can take it
    previous = [{"area": leaf, "specialty": s, "posts": draw(st.integers(0, 4)) * instance.unit}
                for leaf, s in instance.cells if every or draw(st.booleans())]
    assume(previous)
    data = instance.model_dump(exclude={"areas", "bounds", "previous", "offers"})
    data.update(areas=[_plain(a) for a in instance.areas], bounds=[_plain(b) for b in instance.bounds],
                previous=previous)
    # A stability limit is a rule the front keeps; without one more instances have a plan to trade.
    model = draw(models(stability=draw(st.booleans())))
    return make_instance(**data), model, draw(st.sampled_from(["equity", "shortfall"]))


@st.composite
def ratio_cases(draw: st.DrawFn) -> tuple[Instance, object, str]:
    """Every leaf with a population and last year's posts, and a total that can reach every leaf.

    The general cases often leave some leaf with need at 0 posts in every plan (an infinite ratio); these
    give fronts of several finite points.
    """
    n_leaves = draw(st.integers(2, 4))
    specialties = draw(st.integers(1, 2 if n_leaves <= 3 else 1))
    unit = draw(st.sampled_from([1.0, 0.5]))
    leaves = [f"l{i}" for i in range(n_leaves)]
    specs = [f"s{k}" for k in range(specialties)]
    areas = [{"id": leaf, "population": draw(st.integers(1, 100)), "underserved": draw(st.booleans()),
              "indicators": {"per_gp": draw(st.integers(1, 50))}} for leaf in leaves]
    top = 7 if specialties == 1 else 4
    data = {"unit": unit, "areas": areas,
            "specialties": [{"id": s, "total": draw(st.integers(n_leaves, top)) * unit} for s in specs],
            "previous": [{"area": leaf, "specialty": s, "posts": draw(st.integers(0, 3)) * unit}
                         for leaf in leaves for s in specs]}
    model = draw(models(stability=draw(st.booleans())))
    return make_instance(**data), model, "ratio"


def _plain(record: object) -> dict[str, object]:
    """A light record (Area, Bound) as the plain row it was made from."""
    row = record._asdict()  # type: ignore[attr-defined]
    row.pop("origin"), row.pop("index")
    return row


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_the_front_is_every_nondominated_plan_and_every_weighted_sum_optimum_lies_on_it(case) -> None:  # noqa: ANN001
    _check_against_brute_force(*case)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases(flow=True))
def test_the_flow_path_front_is_every_nondominated_plan(case) -> None:  # noqa: ANN001
    _check_against_brute_force(*case)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(small_cases(), small_cases(flow=True), ratio_cases()))
def test_the_ratio_front_is_every_nondominated_plan_and_holds_every_weighted_optimum(case) -> None:  # noqa: ANN001
    """--x ratio: compare's max/min ratio of posts per need (infinite when a leaf with need gets no post)."""
    instance, model, _ = case
    assume(len(needy_leaves(build_problem(instance, front_model(model)))[0]))
    _check_against_brute_force(instance, model, "ratio")


def _check_against_brute_force(instance: Instance, model: object, equity: str) -> None:
    problem = build_problem(instance, front_model(model))
    assume(int(np.prod((problem.hi - problem.lo + 1).astype(float))) <= 20_000)
    plans = _every_plan(problem)
    values = [objectives(problem, equity, plan) for plan in plans]
    paths = ["milp", "flow"] if flow_ready(problem) and equity != "ratio" else ["milp"]
    for path in paths:
        if not len(plans):
            with pytest.raises(InfeasibleError, match="no plan meets every rule, so there is no front"):
                pareto(instance, model, equity, path)
            continue
        front = pareto(instance, model, equity, path)
        found = [(p.equity, p.stability) for p in front.points]
        event(f"{equity}: {min(len(found), 3)}{'+' if len(found) >= 3 else ''} points"
              + (", the last with an infinite ratio" if not math.isfinite(found[-1][0]) else ""))
        # Every front point is efficient: it is a real plan's value and no plan dominates it.
        for p in front.points:
            assert _on([objectives(problem, equity, p.units)], (p.equity, p.stability))
            assert not any(f1 <= p.equity - 1e-9 and f2 <= p.stability - 1e-9 or
                           f1 < p.equity - 1e-9 and f2 <= p.stability + 1e-12 or
                           f1 <= p.equity + 1e-12 and f2 < p.stability - 1e-9 for f1, f2 in values), (path, p)
        # Every weighted-sum optimum on the grid is on the front.
        f1s = np.array([v[0] for v in values])
        f2s = np.array([v[1] for v in values])
        for w in GRID:
            total = f1s + w * f2s
            best = total.min()
            if not np.isfinite(best):  # every plan leaves a leaf with need without a post (ratio)
                continue
            for k in np.flatnonzero(total <= best + 1e-9 * max(1.0, abs(best))):
                assert _on(found, values[k]), (path, w, values[k], found)
        # And the front is the whole nondominated set.
        truth = _nondominated(values)
        assert len(found) == len(truth), (path, found, sorted(truth))
        assert all(_on(found, value) for value in truth), (path, found, sorted(truth))


@pytest.mark.parametrize("path, total", [(DK, 320), (DK, 350), (DK, 300), (DK_KOMMUNER, 320)])
def test_the_danish_fronts_agree_on_the_flow_and_the_milp_and_hold_every_weighted_solve(path: Path,
                                                                                           total: int) -> None:
    instance = _with_total(load_instance(path).value, "almen-medicin", total)
    model = load_model(NEED).value
    problem = build_problem(instance, front_model(model))
    assert flow_ready(problem)
    flow = pareto(instance, model, "equity", "flow")
    milp = pareto(instance, model, "equity", "milp")
    assert [(round(p.equity, 9), p.stability) for p in flow.points] == \
        [(round(p.equity, 9), p.stability) for p in milp.points]
    found = [(p.equity, p.stability) for p in flow.points]
    # The production solver with stability weight w lands on the front, at the point whose range holds w.
    for w in [0.0, 0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]:
        weighted = model.model_copy(update={"stability": model.stability.model_copy(update={"weight": w})})
        plan = solve(instance, weighted)
        units = np.rint(plan.table.posts / float(instance.unit)).astype(np.int64)
        value = objectives(problem, "equity", units)
        assert _on(found, value), (w, value, found)
        holders = [p for p in flow.points if p.supported and p.weight_min - 1e-12 <= w and
                   (p.weight_max is None or w <= p.weight_max + 1e-12)]
        assert any(_close(p.equity, value[0]) and _close(p.stability, value[1]) for p in holders), (w, value)


def test_a_raised_total_leaves_one_point_on_the_danish_instance() -> None:
    """350 posts against last year's 300: the best plan only adds posts, so no plan is less disruptive."""
    front = pareto(load_instance(DK).value, load_model(NEED).value)
    assert len(front.points) == 1 and front.points[0].stability == 50.0
    assert front.points[0].supported and front.points[0].weight_min == 0.0 and front.points[0].weight_max is None


def test_every_point_plan_is_verified_and_has_its_objectives() -> None:
    instance = _with_total(load_instance(DK_KOMMUNER).value, "almen-medicin", 320)
    model = load_model(NEED).value
    front = pareto(instance, model, "shortfall")
    assert len(front.points) > 1
    for point in front.points:
        plan = point_plan(front, point)
        assert plan.metadata["verified"]
        posts = plan.posts()
        change = math.fsum(abs(posts[cell] - instance.previous_posts[cell]) for cell in instance.cells)
        assert _close(change, point.stability)


def test_the_command_writes_the_front_its_chart_and_each_plan(tmp_path: Path) -> None:
    instance = tmp_path / "instance.yaml"
    text = DK.read_text(encoding="utf-8").replace("total: 350", "total: 320")
    assert "total: 320" in text
    instance.write_text(text, encoding="utf-8")
    (tmp_path / "regions.geojson").write_bytes((DK.parent / "regions.geojson").read_bytes())
    (tmp_path / "areas.csv").write_bytes((DK.parent / "areas.csv").read_bytes())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["pareto", str(instance), "--model", str(NEED), "--x", "equity",
                                       "--y", "stability", "--out", str(out), "--plans"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "pareto.csv").open(encoding="utf-8")))
    assert [r["stability"] for r in rows] == ["24.0", "22.0", "20.0"]
    svg = (out / "pareto.svg").read_text(encoding="utf-8")
    assert all(f'id="point-{k}"' in svg for k in (1, 2, 3))
    for k in (1, 2, 3):
        assert (out / f"point-{k}" / "plan.csv").exists()
    supported = sum(r["supported"] == "true" for r in rows)
    assert f"3 nondominated plans (flow path); {supported} reached by the model's stability weight" in result.output
    again = tmp_path / "again"
    CliRunner().invoke(main, ["pareto", str(instance), "--model", str(NEED), "--out", str(again)])
    assert (again / "pareto.csv").read_bytes() == (out / "pareto.csv").read_bytes()
    # Regression: with another x the weight is not the model's stability weight, and the console said it was.
    shortfall = CliRunner().invoke(main, ["pareto", str(instance), "--model", str(NEED), "--x", "shortfall",
                                          "--out", str(tmp_path / "shortfall")])
    assert shortfall.exit_code == 0, shortfall.output
    assert "reached by minimising shortfall + w · disruption for some weight w" in shortfall.output
    assert "stability weight" not in shortfall.output


@pytest.mark.parametrize("model_text, message", [
    ("name: w\nobjective: apportionment\nmethod: webster\n", "needs objective 'absolute' or 'squared'"),
])
def test_a_model_without_an_equity_cost_is_refused(tmp_path: Path, model_text: str, message: str) -> None:
    model = tmp_path / "model.yaml"
    model.write_text(model_text, encoding="utf-8")
    result = CliRunner().invoke(main, ["pareto", str(DK), "--model", str(model), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "o").exists()


def test_an_instance_without_last_years_posts_is_refused(tmp_path: Path) -> None:
    instance = ROOT / "tests" / "data" / "pareto" / "no_previous.yaml"
    result = CliRunner().invoke(main, ["pareto", str(instance), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "has no last year's posts, so there is no disruption to trade" in result.output


def test_the_ratio_of_each_danish_point_is_the_ratio_compare_gives_its_plan() -> None:
    """--x ratio measures exactly what compare's posts_per_need_max_min_ratio measures, on the same plan."""
    from allocator.core.need import need_breakdown
    from allocator.reports.compare import plan_metrics

    instance = _with_total(load_instance(DK).value, "almen-medicin", 300)
    model = load_model(NEED).value
    front = pareto(instance, model, "ratio")
    assert front.path == "milp" and len(front.points) > 5
    assert [p.stability for p in front.points] == sorted((p.stability for p in front.points), reverse=True)
    assert [p.equity for p in front.points] == sorted(p.equity for p in front.points)
    for point in front.points:
        plan = point_plan(front, point)
        measured = plan_metrics(instance, plan, need_breakdown(instance, model)).as_json()
        assert measured["posts_per_need_max_min_ratio"] == point.equity
        posts = plan.posts()
        assert _close(math.fsum(abs(posts[c] - instance.previous_posts[c]) for c in instance.cells), point.stability)


def test_the_ratio_front_is_refused_on_the_flow_path_and_without_need(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["pareto", str(DK), "--model", str(NEED), "--x", "ratio", "--path", "flow",
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "the ratio of posts per need is not a sum over cells, so its front is found by MILP only" in result.output
    assert not (tmp_path / "o").exists()
    nobody = make_instance(unit=1, specialties=[{"id": "s", "total": 2}],
                           areas=[{"id": "a", "population": 0}, {"id": "b", "population": 0}],
                           previous=[{"area": leaf, "specialty": "s", "posts": 1} for leaf in "ab"])
    with pytest.raises(InputError, match="no leaf area has a need above 0, so there is no ratio of posts per need"):
        pareto(nobody, make_model(), "ratio")  # need by population


def test_a_rerun_removes_the_point_folders_it_wrote_before_and_nothing_of_the_user(tmp_path: Path) -> None:
    def run(total: int, *extra: str) -> list[str]:
        instance = tmp_path / f"instance-{total}" / "instance.yaml"
        instance.parent.mkdir(exist_ok=True)
        instance.write_text(DK.read_text(encoding="utf-8").replace("total: 350", f"total: {total}"), encoding="utf-8")
        for name in ("regions.geojson", "areas.csv"):
            (instance.parent / name).write_bytes((DK.parent / name).read_bytes())
        result = CliRunner().invoke(main, ["pareto", str(instance), "--model", str(NEED), "--out", str(out),
                                           "--force", *extra])
        assert result.exit_code == 0, result.output
        return sorted(p.name for p in out.iterdir() if p.is_dir())

    out = tmp_path / "out"
    assert run(320, "--plans") == ["point-1", "point-2", "point-3"]
    (out / "point-9").mkdir()  # the user's own folder of that shape
    (out / "point-9" / "plan.csv").write_text("mine\n", encoding="utf-8")
    (out / "point-3" / "notes.txt").write_text("mine\n", encoding="utf-8")  # the user's file in one of ours
    # 350 posts: one point. point-2 goes; point-3 keeps only the user's file; point-9 is untouched.
    assert run(350, "--plans") == ["point-1", "point-3", "point-9"]
    assert sorted(p.name for p in (out / "point-3").iterdir()) == ["notes.txt"]
    assert (out / "point-9" / "plan.csv").read_text(encoding="utf-8") == "mine\n"
    written = json.loads((out / "point-1" / "plan.json").read_text(encoding="utf-8"))
    assert written["metadata"]["pareto"]["stability"] == 50.0
    # Without --plans, the plan folders of the earlier run go too.
    assert run(350) == ["point-3", "point-9"]
    assert json.loads((out / ".pareto-points.json").read_text(encoding="utf-8")) == []
