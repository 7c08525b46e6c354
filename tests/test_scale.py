"""What national scale needs: offers, generated instances, opt-in XLSX, a lean start-up, benchmarks that run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.writers import output, plan as plan_writers
from allocator.solvers import choose_backend
from allocator.solvers.flow import flow_network
from allocator.cli import main
from allocator.errors import InfeasibleError, InputError
from allocator.generate import GeneratorOptions, generate
from allocator.io.loading import load_instance
from allocator.results.plan import Plan
from allocator.core.problem import build_problem
from allocator.io.schemas import DEFAULT_MODEL
from allocator.results.solve import solve
from allocator.results.verify import check_plan
from tests.conftest import ROOT, make_instance, make_model


def offered_instance(**changes: object) -> dict[str, object]:
    """Two sites under one district; only site a trains psychiatry."""
    fields: dict[str, object] = {
        "specialties": [{"id": "gp", "total": 6}, {"id": "psych", "total": 3}],
        "areas": [{"id": "D"}, {"id": "a", "parent": "D", "population": 100},
                  {"id": "b", "parent": "D", "population": 300}],
        "offers": [{"area": "D", "specialty": "gp"}, {"area": "a", "specialty": "psych"}],
    }
    fields.update(changes)
    return fields


def test_offers_limit_the_plan_to_offered_cells() -> None:
    instance = make_instance(**offered_instance())
    assert instance.cells == [("a", "gp"), ("a", "psych"), ("b", "gp")]
    plan = solve(instance, DEFAULT_MODEL)
    assert plan.posts() == {("a", "gp"): 2, ("a", "psych"): 3, ("b", "gp"): 4}


def test_verifier_rejects_a_row_for_a_cell_not_offered() -> None:
    instance = make_instance(**offered_instance())
    plan = solve(instance, DEFAULT_MODEL)
    extra = plan.rows[0]._replace(area="b", specialty="psych")
    broken = Plan(plan.instance, plan.model, plan.unit, plan.objective, [*plan.rows, extra])
    assert any("is not a cell" in problem for problem in check_plan(instance, DEFAULT_MODEL, broken))


def test_caps_on_the_only_offering_site_make_it_infeasible() -> None:
    instance = make_instance(**offered_instance(bounds=[{"area": "a", "specialty": "psych", "max": 2}]))
    with pytest.raises(InfeasibleError, match="at most 2 posts"):
        solve(instance, DEFAULT_MODEL)


def test_last_years_posts_in_a_closed_programme_are_refused() -> None:
    with pytest.raises(InputError, match="not offered"):
        make_instance(**offered_instance(previous=[{"area": "b", "specialty": "psych", "posts": 2}]))


def test_offer_of_unknown_specialty_is_located() -> None:
    with pytest.raises(InputError, match="unknown specialty 'pysch'.*did you mean 'psych'"):
        make_instance(**offered_instance(offers=[{"area": "a", "specialty": "pysch"}]))


def test_generated_offers_instance_solves_and_is_reproducible(tmp_path: Path) -> None:
    options = GeneratorOptions(tree=(4, 40), specialties=6, posts=300, seed=5, offered=3, cell_caps=False)
    first = generate(options, tmp_path / "one")
    second = generate(options, tmp_path / "two")
    for name in ("instance.yaml", "areas.csv", "bounds.csv", "previous.csv", "offers.csv"):
        assert (first.parent / name).read_bytes() == (second.parent / name).read_bytes()
    instance = load_instance(first).value
    assert len(instance.cells) == 40 * 3
    plan = solve(instance, make_model(stability={"max_change": 10, "weight": 0.25}))
    assert plan.metadata["solver_path"] == "flow"


def test_bare_flow_network_gives_the_backends_optimum(tmp_path: Path) -> None:
    instance = load_instance(generate(GeneratorOptions(tree=(3, 30), specialties=4, posts=200, seed=2),
                                      tmp_path)).value
    problem = build_problem(instance, DEFAULT_MODEL)
    backend, _ = choose_backend("auto", problem)
    result = backend.solve(problem)
    assert result.extra["path"] == "flow"
    wlo, whi = result.extra["window"]  # type: ignore[misc]
    network = flow_network(problem, wlo, whi)
    assert network is not None and network.flow.solve() == network.flow.OPTIMAL
    first = network.first_segment_arc
    flows = network.flow.flows(list(range(first, first + len(network.segment_cell))))
    units = wlo + __import__("numpy").bincount(network.segment_cell, weights=flows, minlength=problem.n_cells)
    assert problem.total_cost(units) == pytest.approx(problem.total_cost(result.units), abs=1e-9)


def test_xlsx_is_skipped_above_the_row_threshold_unless_asked(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    instance = ROOT / "instances" / "synthetic-20-leaves" / "instance.yaml"
    monkeypatch.setattr(plan_writers, "XLSX_AUTO_ROWS", 10)
    monkeypatch.setattr("allocator.cli.XLSX_AUTO_ROWS", 10)
    result = CliRunner().invoke(main, ["solve", str(instance), "-o", str(tmp_path / "auto"), "-q"])
    assert result.exit_code == 0 and "add --xlsx" in result.output
    assert not (tmp_path / "auto" / "plan.xlsx").exists()
    result = CliRunner().invoke(main, ["solve", str(instance), "-o", str(tmp_path / "asked"), "-q", "--xlsx"])
    assert result.exit_code == 0 and (tmp_path / "asked" / "plan.xlsx").exists()


def test_command_line_start_up_does_not_import_unused_solvers() -> None:
    """CP-SAT pulls in pandas and PuLP is large: a default solve must not pay for either at start-up."""
    code = ("import sys, allocator.cli, allocator.results.solve; "
            "print(sorted(m for m in ('pandas', 'pulp', 'ortools.sat.python.cp_model') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_benchmark_runs_on_the_danish_scale(tmp_path: Path) -> None:
    """The benchmark script itself works (one run per job), so `make bench` cannot rot unnoticed."""
    out = tmp_path / "results.md"
    subprocess.run([sys.executable, "-m", "benchmarks.run", "--scales", "dk", "--repeats", "1",
                    "--time-limit", "30", "--plain-time-limit", "30", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    text = out.read_text()
    assert "| auto (flow: greedy) |" in text and "| well-formulated |" in text and "Whole `allocator solve`" in text
    data = json.loads(out.with_suffix(".json").read_text())["results"]
    objectives = {job: result.get("objective") for job, result in data["dk"].items() if "objective" in result}
    assert len({round(v, 9) for v in objectives.values() if v is not None}) == 1, objectives
    assert data["dk"]["cli"]["status"] == "ok"


def test_rendering_in_a_second_thread_writes_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = load_instance(ROOT / "instances" / "synthetic-20-leaves" / "instance.yaml").value
    plan = solve(instance, DEFAULT_MODEL)
    (tmp_path / "here").mkdir()
    (tmp_path / "threaded").mkdir()
    plan_writers.write_plan(instance, plan, tmp_path / "here", xlsx=False)
    monkeypatch.setattr(plan_writers, "BACKGROUND_ROWS", 0)
    plan_writers.write_plan(instance, plan, tmp_path / "threaded", xlsx=False)
    for name in ("plan.csv", "plan.json", "summary.md"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "threaded" / name).read_bytes()


def test_a_failing_background_renderer_leaves_no_files(tmp_path: Path) -> None:
    def broken() -> str:
        raise RuntimeError("renderer bug")

    with pytest.raises(RuntimeError, match="renderer bug"):
        output.write_files(tmp_path, {"a.csv": lambda: "a\n", "b.json": broken}, frozenset({"b.json"}))
    assert list(tmp_path.iterdir()) == []
