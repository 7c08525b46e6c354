"""``allocator sweep`` on multi-year instances (issue 17): the same plans as ``allocator solve``, on any executor.

The Danish horizon instance is swept over ``coverage_weight``, one plan year's
total and the fill rates, with Monte Carlo draws; generated tiny instances
(tests/test_horizon.py's strategy) check every scaled column against a
reference that edits the instance file itself and solves it.
"""

from __future__ import annotations

import copy
import csv
import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.errors import InfeasibleError
from allocator.io.horizon import load_horizon_instance
from allocator.io.sweep import load_sweep_spec
from allocator.reports.sweep import Change, SweepContext, solve_horizon_scenario
from allocator.results.horizon import solve_horizon
from allocator.sweep import run_sweep
from tests.conftest import ROOT, make_model
from tests.test_horizon import tiny_horizons, tiny_models
from tests.test_sweep import _rows
from tests.test_sweep import _spec as one_year_spec

HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon"
KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
NEED = ROOT / "models" / "need-weighted.yaml"
#: 2 x 2 x 2 scenarios of the Danish horizon instance.
AXES = [
    {"field": "model.coverage_weight", "values": [10, 50]},
    {"field": "specialty.almen-medicin.totals.2023", "values": [340, 360]},
    {"field": "workforce.fill_rate", "factors": [0.9, 1.1]},
]


def _spec(folder: Path, axes: list[dict[str, Any]], instance: Path = HORIZON / "instance.yaml",
          **extra: Any) -> Path:
    return one_year_spec(folder, axes, instance, **extra)


@pytest.fixture(scope="module")
def danish(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The 8-scenario Danish sweep in this process, on two spawned processes and on a 2-worker LocalCluster."""
    folder = tmp_path_factory.mktemp("horizon-sweep")
    spec = load_sweep_spec(_spec(folder, AXES))
    assert spec.horizon and spec.size() == 8
    inline, pool, dask = folder / "jobs1", folder / "jobs2", folder / "dask"
    assert run_sweep(spec, inline, jobs=1).solved == 8
    assert run_sweep(spec, pool, jobs=2).solved == 8
    assert run_sweep(spec, dask, jobs=2, scheduler="local").solved == 8
    return inline, pool, dask


def test_every_executor_writes_the_same_files(danish: tuple[Path, Path, Path]) -> None:
    inline, *others = danish
    rows = _rows(inline)
    assert len(rows) == 8 and all(row["status"] == "optimal" for row in rows)
    for other in others:
        assert rows == _rows(other)
        for name in ("sweep.md", "sweep.json"):
            assert (inline / name).read_bytes() == (other / name).read_bytes()
        for k in range(1, 9):
            part = Path("cells.parquet") / f"scenario={k}" / "part-0.parquet"
            assert pl.read_parquet(inline / part).equals(pl.read_parquet(other / part))
    assert len({row["plan"] for row in rows}) == 8  # every axis moves the plan here
    again = run_sweep(load_sweep_spec(inline.parent / "sweep.yaml"), inline, jobs=1)
    assert (again.solved, again.reused) == (0, 8), "a rerun solves nothing that is saved"
    assert _rows(inline) == rows
    header = next(csv.reader((inline / "scenarios.csv").open(encoding="utf-8")))
    for column in ("model.coverage_weight", "specialty.almen-medicin.totals.2023", "workforce.fill_rate",
                   "scenario", "model", "draw", "status", "objective", "coverage_cost", "posts_cost",
                   "inhabitant_years_without_specialist", "posts.Nord", "coverage.Øst.2025", "coverage.Øst.2032"):
        assert column in header


def _edited_instance(folder: Path, row: dict[str, str]) -> Path:
    """The Danish horizon instance with the scenario's total of 2023 and fill rates written into the file."""
    data = yaml.safe_load((HORIZON / "instance.yaml").read_text(encoding="utf-8"))
    data["geometry"]["file"] = str((HORIZON / data["geometry"]["file"]).resolve())
    specialty = data["specialties"][0]
    total = specialty.pop("total")
    specialty["totals"] = {year: total for year in range(2021, 2026)}
    specialty["totals"][2023] = float(row["specialty.almen-medicin.totals.2023"])
    factor = float(row["workforce.fill_rate"])
    for entry in data["workforce"]:
        if "fill_rate" in entry:  # every leaf gives its own: nothing is inherited or defaulted
            entry["fill_rate"] = entry["fill_rate"] * factor
    folder.mkdir(parents=True)
    path = folder / "instance.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_scenarios_equal_a_plain_solve_of_the_edited_files(danish: tuple[Path, Path, Path], tmp_path: Path) -> None:
    inline, _, _ = danish
    rows = {int(r["scenario"]): r for r in _rows(inline)}
    model = yaml.safe_load(NEED.read_text(encoding="utf-8"))
    for k in (1, 4, 6, 8):
        row = rows[k]
        folder = tmp_path / f"s{k}"
        instance = _edited_instance(folder, row)
        model["coverage_weight"] = float(row["model.coverage_weight"])
        (folder / "model.yaml").write_text(yaml.safe_dump(model), encoding="utf-8")
        result = CliRunner().invoke(main, ["solve", str(instance), "--model", str(folder / "model.yaml"),
                                           "--out", str(folder / "out"), "-q"])
        assert result.exit_code == 0, result.output
        plan = list(csv.DictReader((folder / "out" / "plan.csv").open(encoding="utf-8")))
        cells = pl.read_parquet(inline / "cells.parquet" / f"scenario={k}" / "part-0.parquet")
        # The same rows in the same order: area, specialty and year as text, posts as numbers.
        assert [(p["area"], p["specialty"], p["year"]) for p in plan] == \
            [(c["area"], c["specialty"], str(c["year"])) for c in cells.iter_rows(named=True)]
        assert [float(p["posts"]) for p in plan] == cells["posts"].to_list()
        solved = json.loads((folder / "out" / "plan.json").read_text(encoding="utf-8"))
        assert float(row["objective"]) == solved["objective"]
        assert float(row["coverage_cost"]) == solved["coverage_cost"]
        assert float(row["inhabitant_years_without_specialist"]) == \
            solved["inhabitant_years_without_specialist"]
        assert float(row["myopic_inhabitant_years_without_specialist"]) == \
            solved["myopic"]["inhabitant_years_without_specialist"]
        assert float(row["posts_moved"]) == sum(abs(float(p["change"])) for p in plan if p["change"] != "")
        # posts.<area>: the posts of the training region's leaves, summed over the plan years.
        parent = {"Nordjylland": "Nord", "Midtjylland": "Nord", "Syddanmark": "Syd", "Hovedstaden": "Øst",
                  "Sjælland": "Øst"}
        for region in ("Nord", "Syd", "Øst"):
            assert float(row[f"posts.{region}"]) == sum(float(p["posts"]) for p in plan if parent[p["area"]] == region)
        # coverage.<area>.<year>: supply over demand of the region's leaves, from projection.csv.
        projection = list(csv.DictReader((folder / "out" / "projection.csv").open(encoding="utf-8")))
        for year in ("2025", "2032"):
            for region in ("Nord", "Syd", "Øst"):
                mine = [p for p in projection if p["year"] == year and parent[p["area"]] == region]
                expected = sum(float(p["supply"]) for p in mine) / sum(float(p["demand"]) for p in mine)
                assert float(row[f"coverage.{region}.{year}"]) == pytest.approx(expected, rel=1e-9)


def test_sweep_md_gives_ranges_and_the_years_where_the_plan_changes(danish: tuple[Path, Path, Path]) -> None:
    inline, _, _ = danish
    rows = _rows(inline)
    text = (inline / "sweep.md").read_text(encoding="utf-8")
    summary = json.loads((inline / "sweep.json").read_text(encoding="utf-8"))
    assert summary["multi_year"] and summary["plan_years"] == [2021, 2022, 2023, 2024, 2025]
    total_axis = summary["axes"][1]
    assert total_axis["field"] == "specialty.almen-medicin.totals.2023"
    # Changing one year's total changes the plan in that year (and, through stability and the pipeline, maybe others).
    assert all(2023 in change["years"] for change in total_axis["changes"])
    for axis in summary["axes"]:
        for value, spans in zip(axis["values"], zip(*axis["posts"].values())):
            mine = [r for r in rows if float(r[axis["field"]]) == value]
            for region, span in zip(axis["posts"], spans):
                posts = [float(r[f"posts.{region}"]) for r in mine]
                assert span == [min(posts), max(posts)]
                low, high = (f"{v:g}" for v in span)
                assert (low if low == high else f"{low}–{high}") in text
    assert "Posts are summed over the plan years." in text and "Coverage (supply / demand) in 2032:" in text
    years = ", ".join(map(str, total_axis["changes"][0]["years"]))
    assert f"- from 340 to 360: the plan **changes** in 4 of 4 comparable scenarios (in {years})" in text


def test_draws_on_a_multi_year_instance_agree_across_executors(tmp_path: Path) -> None:
    spec = load_sweep_spec(_spec(tmp_path, [{"field": "workforce.retention", "factors": [0.8, 1.2]}],
                                 draws={"count": 2, "noise": 0.05, "seed": 3}))
    assert run_sweep(spec, tmp_path / "a", jobs=1).solved == 4
    assert run_sweep(spec, tmp_path / "b", jobs=2).solved == 4
    rows = _rows(tmp_path / "a")
    assert rows == _rows(tmp_path / "b")
    assert [r["draw"] for r in rows] == ["1", "2", "1", "2"] and all(r["status"] == "optimal" for r in rows)
    assert rows[0]["plan"] != rows[1]["plan"]  # the noise moves the plan


def test_a_time_limit_gives_status_time_limit_and_an_accepted_gap_is_never_called_optimal(tmp_path: Path) -> None:
    axes = [{"field": "model.coverage_weight", "values": [10, 50]}]
    stopped = load_sweep_spec(_spec(tmp_path / "stopped", axes, time_limit=0.001))
    run_sweep(stopped, tmp_path / "stopped" / "out")
    rows = _rows(tmp_path / "stopped" / "out")
    assert [r["status"] for r in rows] == ["time-limit", "time-limit"]
    assert all(r["objective"] == "" and r["plan"] == "" for r in rows)
    assert all(r["error"].startswith("the solver stopped") and "0.001 s" in r["error"] for r in rows)
    assert not (tmp_path / "stopped" / "out" / "cells.parquet").exists() or \
        not list((tmp_path / "stopped" / "out" / "cells.parquet").iterdir())
    accepted = load_sweep_spec(_spec(tmp_path / "accepted", axes, time_limit=120, accept_gap=0.01))
    run_sweep(accepted, tmp_path / "accepted" / "out")
    rows = _rows(tmp_path / "accepted" / "out")
    assert [r["status"] for r in rows] == ["gap ≤ 0.01", "gap ≤ 0.01"]
    assert "2 gap ≤ 0.01" in (tmp_path / "accepted" / "out" / "sweep.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("axis", "extra", "instance", "message"), [
    ({"field": "workforce.fill_rate", "factors": [1, 1.5]}, {}, None,
     "the factor 1.5 makes fill_rate of 'Hovedstaden', 'almen-medicin' 1.35, outside [0, 1]. Fix: use factors "
     "below 1.11111"),
    ({"field": "workforce.exit_rate", "factors": [-0.5]}, {}, None, "a factor is negative (-0.5)"),
    ({"field": "areas.population_growth", "factors": [200]}, {}, None,
     "the factor 200 makes population_growth of 'Hovedstaden' 1.2, outside (-1, 1]"),
    ({"field": "specialty.almen-medicin.totals.2030", "values": [350]}, {}, None,
     "2030 is not a plan year (2021-2025)"),
    ({"field": "specialty.almen-medicin.totals.2023", "values": [350.5]}, {}, None,
     "the total 350.5 is not a multiple of the unit 1"),
    ({"field": "workforce.fill_rate", "factors": [0.9]}, {}, KOMMUNER,
     "'workforce.fill_rate' is a column of multi-year instances, and this instance has no 'horizon'"),
    ({"field": "specialty.almen-medicin.totals.2019", "values": [350]}, {}, KOMMUNER,
     "'specialty.almen-medicin.totals.2019' varies one plan year's total, and the instance is not multi-year"),
    ({"field": "workforce.shoe_size", "factors": [1]}, {}, None, "cannot vary 'workforce.shoe_size'"),
])
def test_a_bad_multi_year_axis_is_a_located_error(tmp_path: Path, axis: dict[str, Any], extra: dict[str, Any],
                                                   instance: Path | None, message: str) -> None:
    spec = _spec(tmp_path, [axis], instance or HORIZON / "instance.yaml", **extra)
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.output and "sweep.yaml, axes row 1 (line" in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize(("extra", "instance", "message"), [
    ({"time_limit": 60}, KOMMUNER, "'time_limit' is for multi-year instances"),
    ({"accept_gap": 0.01}, KOMMUNER, "'accept_gap' is for multi-year instances"),
    ({"time_limit": 0}, None, "time_limit 0 is out of range"),
    ({"accept_gap": 1.5}, None, "accept_gap 1.5 is out of range"),
])
def test_bad_limits_are_located_errors(tmp_path: Path, extra: dict[str, Any], instance: Path | None,
                                       message: str) -> None:
    spec = _spec(tmp_path, [{"field": "model.coverage_weight", "values": [10]}], instance or HORIZON / "instance.yaml",
                 **extra)
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    name = next(iter(extra))
    assert message in result.output and f"sweep.yaml, {name} (line" in result.output, result.output
    assert f"field '{name}'" in result.output and not (tmp_path / "out").exists()


def test_the_command_line_limits_replace_the_specs_and_a_rerun_under_other_limits_solves_again(
        tmp_path: Path) -> None:
    """--time-limit and --accept-gap override the spec; a scenario saved under other limits is not reused."""
    spec = _spec(tmp_path, [{"field": "model.coverage_weight", "values": [10, 50]}], time_limit=120)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--time-limit", "0.001"])
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in _rows(out)] == ["time-limit", "time-limit"]
    assert all("0.001 s" in r["error"] for r in _rows(out))
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--accept-gap", "0.01"])
    assert result.exit_code == 0, result.output
    assert "2 scenarios: 2 solved now, 0 already in" in result.output, result.output
    assert [r["status"] for r in _rows(out)] == ["gap ≤ 0.01", "gap ≤ 0.01"]


@pytest.mark.parametrize(("options", "instance", "message"), [
    (["--time-limit", "60"], KOMMUNER, "field '--time-limit': --time-limit is for multi-year sweeps"),
    (["--accept-gap", "0.01"], KOMMUNER, "field '--accept-gap': --accept-gap is for multi-year sweeps"),
    (["--time-limit", "0"], None, "field '--time-limit': --time-limit 0 is out of range. Fix: give seconds above 0"),
    (["--accept-gap", "1.5"], None, "field '--accept-gap': --accept-gap 1.5 is out of range"),
])
def test_bad_command_line_limits_are_located_errors(tmp_path: Path, options: list[str], instance: Path | None,
                                                    message: str) -> None:
    spec = _spec(tmp_path, [{"field": "model.coverage_weight", "values": [10]}], instance or HORIZON / "instance.yaml")
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out"), *options])
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_model_without_a_multi_year_form_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "bip.yaml"
    model.write_text("name: bip\nobjective: biproportional\n", encoding="utf-8")
    spec = tmp_path / "sweep.yaml"
    spec.write_text(f"instance: {HORIZON / 'instance.yaml'}\nmodels: [{model}]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "the model 'bip' has objective 'biproportional', which has no multi-year form" in result.output


def test_a_model_the_instance_cannot_serve_is_one_located_error(tmp_path: Path) -> None:
    model = tmp_path / "doctors.yaml"
    model.write_text("name: doctors\ncriteria: [{indicator: doctors_per_km2, weight: 1, direction: higher_is_worse}]\n",
                     encoding="utf-8")
    spec = tmp_path / "sweep.yaml"
    spec.write_text(f"instance: {HORIZON / 'instance.yaml'}\nmodels: [{model}]\n"
                    "axes: [{field: model.coverage_weight, values: [10, 50]}]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "the indicator 'doctors_per_km2' used by the model is not given for leaf area" in result.output
    assert "instance.yaml, areas row" in result.output and not (tmp_path / "out").exists()


# --- generated instances: every scaled column against the edited file ----------------------------------

FACTORS = st.sampled_from([0.0, 0.5, 0.8, 1.0])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tiny_horizons(), model=tiny_models(), fill=FACTORS, retention=FACTORS, exit_rate=FACTORS,
       growth=st.sampled_from([0.0, 1.0, 3.0]), headcount=st.sampled_from([0.5, 1.0, 2.0]),
       weight=st.sampled_from([0.0, 1.0, 25.0]), last_total=st.integers(0, 3),
       low=st.sampled_from([0.0, 1.0, 2.0]), high=st.sampled_from([1.0, 2.0]), previous=st.sampled_from([0.0, 2.0]))
def test_a_generated_scenario_equals_solving_the_edited_instance(
        data: dict[str, Any], model: Any, fill: float, retention: float, exit_rate: float, growth: float,
        headcount: float, weight: float, last_total: int, low: float, high: float, previous: float) -> None:
    last_year = 2021 + data["horizon"]["plan_years"] - 1
    fields = [("workforce.fill_rate", fill), ("workforce.retention", retention), ("workforce.exit_rate", exit_rate),
              ("areas.population_growth", growth), ("workforce.headcount", headcount), ("bounds.min", low),
              ("bounds.max", high), ("previous.posts", previous)]
    axes = tuple(_axis(field, value) for field, value in fields) + (
        _axis("model.coverage_weight", weight), _axis(f"specialty.gp.totals.{last_year}", last_total))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "instance.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        horizon = load_horizon_instance(path).value
        context = SweepContext(horizon.instance, (model,), axes, None, horizon=horizon)
        result = solve_horizon_scenario(context, Change(1, 0, tuple(a.values[0] for a in axes), 0))
        # The reference: the same change written into the instance and model, loaded and solved afresh.
        edited = copy.deepcopy(data)
        for row in edited["workforce"]:
            for name, factor in (("fill_rate", fill), ("retention", retention), ("exit_rate", exit_rate),
                                 ("headcount", headcount)):
                if name in row:  # the strategy gives every rate on some area of every path
                    row[name] = row[name] * factor
        for area in edited["areas"]:  # every area that gives a growth (the tree has R and M)
            if "population_growth" in area:
                area["population_growth"] = area["population_growth"] * growth
        for row in edited.get("bounds", []):  # rows with and without a year alike
            for name, factor in (("min", low), ("max", high)):
                if name in row:
                    row[name] = row[name] * factor
        for row in edited["previous"]:  # also the pipeline's default
            row["posts"] = row["posts"] * previous
        edited["specialties"][0]["totals"][last_year] = last_total
        path.write_text(yaml.safe_dump(edited), encoding="utf-8")
        reference_horizon = load_horizon_instance(path).value
    reference_model = make_model(**{**model.model_dump(), "coverage_weight": weight})
    try:
        reference = solve_horizon(reference_horizon, reference_model)
    except InfeasibleError:
        assert result.row["status"] == "infeasible" and result.units is None
        event("infeasible")
        return
    event("solved")
    assert result.row["status"] == "optimal"
    assert result.row["objective"] == reference.objective
    posts = reference.posts()
    cells = list(reference_horizon.instance.cells)
    assert result.units is not None
    assert [[posts[(leaf, s, 2021 + p)] for leaf, s in cells] for p in range(result.units.shape[0])] == \
        result.units.astype(float).tolist()


def _axis(field: str, value: float) -> Any:
    from allocator.errors import Location
    from allocator.io.sweep import Axis

    kind = "model" if field.startswith("model.") else "total" if field.startswith("specialty.") else "scale"
    parts = field.split(".")
    path: tuple[str | int, ...] = (
        (parts[1],) if kind == "model" else (parts[1], int(parts[3])) if kind == "total" else (parts[0], parts[1]))
    return Axis(field, kind, path, (value,), Location())  # type: ignore[arg-type]
