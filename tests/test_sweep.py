"""``allocator sweep`` (issue 17): the same scenarios on local processes and on Dask, resumed, never lost.

The Dask tests share one ``LocalCluster`` (2 worker processes of 1 thread) for
the module; its teardown checks that no worker or scheduler process outlives it.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psutil
import pytest
import yaml
from click.testing import CliRunner

from allocator.cli import main
from allocator.errors import SolverError
from allocator.io.sweep import load_sweep_spec
from allocator.sweep import STORE, run_sweep

ROOT = Path(__file__).resolve().parent.parent
KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner"
NEED = ROOT / "models" / "need-weighted.yaml"
BIN = Path(sys.executable).parent
#: 5 x 4 x 10 = 200 scenarios of the municipal Danish instance.
AXES_200 = [
    {"field": "model.underserved_weight", "values": [1, 2, 3, 5, 8]},
    {"field": "model.criteria.0.weight", "values": [0.5, 1, 2, 4]},
    {"field": "specialty.almen-medicin.total", "values": [330, 334, 338, 342, 346, 350, 354, 358, 362, 366]},
]


def _spec(folder: Path, axes: list[dict[str, Any]], instance: Path = KOMMUNER / "instance.yaml",
          **extra: Any) -> Path:
    """folder/sweep.yaml: ``instance`` under the need-weighted model, with ``axes`` and any other keys."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.yaml"
    document = {"instance": str(instance), "models": [str(NEED)], "axes": axes, **extra}
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _rows(out: Path) -> list[dict[str, str]]:
    """scenarios.csv without its timing column."""
    rows = list(csv.DictReader((out / "scenarios.csv").open(encoding="utf-8")))
    for row in rows:
        row.pop("seconds")
    return rows


def _cells(out: Path, scenario: int) -> pl.DataFrame:
    return pl.read_parquet(out / "cells.parquet" / f"scenario={scenario}" / "part-0.parquet")


def _our_processes() -> list[psutil.Process]:
    """This test process's live descendants, without multiprocessing's resource tracker (one per parent, for life)."""
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if process.status() != psutil.STATUS_ZOMBIE and \
                    "multiprocessing.resource_tracker" not in " ".join(process.cmdline()):
                found.append(process)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    before = {p.pid for p in _our_processes()}
    local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    yield local
    local.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and [p for p in _our_processes() if p.pid not in before]:
        time.sleep(0.2)
    left = [p for p in _our_processes() if p.pid not in before]
    assert not left, f"processes outlived the cluster: {[p.cmdline() for p in left]}"


@pytest.fixture(scope="module")
def sweep_200(tmp_path_factory: pytest.TempPathFactory, cluster: Any) -> tuple[Path, Path, Path]:
    """The 200-scenario sweep on the shared LocalCluster and on two local processes."""
    folder = tmp_path_factory.mktemp("sweep200")
    spec = load_sweep_spec(_spec(folder, AXES_200))
    on_dask, on_processes = folder / "dask", folder / "processes"
    assert run_sweep(spec, on_dask, scheduler=cluster.scheduler_address).solved == 200
    assert run_sweep(spec, on_processes, jobs=2).solved == 200
    return folder, on_dask, on_processes


def test_200_scenarios_on_dask_and_on_processes_give_the_same_files(sweep_200: tuple[Path, Path, Path]) -> None:
    _, on_dask, on_processes = sweep_200
    rows = _rows(on_dask)
    assert len(rows) == 200 and [r["scenario"] for r in rows] == [str(k) for k in range(1, 201)]
    assert all(r["status"] == "optimal" for r in rows)
    assert rows == _rows(on_processes)
    assert (on_dask / "sweep.md").read_bytes() == (on_processes / "sweep.md").read_bytes()
    for k in (1, 77, 200):
        assert _cells(on_dask, k).equals(_cells(on_processes, k))
    assert len(list((on_dask / "cells.parquet").iterdir())) == 200
    # The plan changes with the total, so the sweep is not 200 copies of one plan.
    assert len({r["plan"] for r in rows}) > 20
    typed = pl.read_parquet(on_dask / "scenarios.parquet")
    assert typed.height == 200 and typed["objective"].to_list() == [float(r["objective"]) for r in rows]


def test_ten_scenarios_equal_a_plain_solve(sweep_200: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, on_dask, _ = sweep_200
    rows = {int(r["scenario"]): r for r in _rows(on_dask)}
    instance_text = (KOMMUNER / "instance.yaml").read_text(encoding="utf-8")
    assert instance_text.count("total: 350") == 1
    model = yaml.safe_load(NEED.read_text(encoding="utf-8"))
    for k in range(7, 201, 20):  # 10 scenarios spread over the grid
        row = rows[k]
        folder = tmp_path / f"s{k}"
        shutil.copytree(KOMMUNER, folder)
        total = float(row["specialty.almen-medicin.total"])
        (folder / "instance.yaml").write_text(instance_text.replace("total: 350", f"total: {total:g}"),
                                              encoding="utf-8")
        model["underserved_weight"] = float(row["model.underserved_weight"])
        model["criteria"][0]["weight"] = float(row["model.criteria.0.weight"])
        (folder / "model.yaml").write_text(yaml.safe_dump(model), encoding="utf-8")
        result = CliRunner().invoke(main, ["solve", str(folder / "instance.yaml"), "--model",
                                           str(folder / "model.yaml"), "--out", str(folder / "out"), "-q"])
        assert result.exit_code == 0, result.output
        plan = pl.read_csv(folder / "out" / "plan.csv", infer_schema=False).with_columns(pl.col("posts").cast(pl.Float64))
        cells = _cells(on_dask, k)
        assert plan["area"].to_list() == cells["area"].to_list()
        assert plan["posts"].to_list() == cells["posts"].to_list()
        solved = json.loads((folder / "out" / "plan.json").read_text(encoding="utf-8"))
        assert float(row["objective"]) == solved["objective"]
        # posts.<area>: the posts of the leaves under each region (the leaves' parents in areas.csv).
        parents = pl.read_csv(KOMMUNER / "areas.csv", infer_schema=False).select("id", "parent")
        by_region = plan.join(parents, left_on="area", right_on="id").group_by("parent").agg(pl.col("posts").sum())
        regions = dict(zip(by_region["parent"].to_list(), by_region["posts"].to_list()))
        assert len(regions) == 5
        for region, posts in regions.items():
            assert float(row[f"posts.{region}"]) == posts


def test_a_rerun_solves_only_the_missing_scenarios(sweep_200: tuple[Path, Path, Path]) -> None:
    folder, _, on_processes = sweep_200
    before = (on_processes / "scenarios.csv").read_bytes()
    saved = sorted((on_processes / STORE).glob("*.json"))
    assert len(saved) == 200
    for path in saved[::29]:  # 7 scenarios lost
        path.unlink()
    spec = load_sweep_spec(folder / "sweep.yaml")
    outcome = run_sweep(spec, on_processes, jobs=1)
    assert (outcome.solved, outcome.reused) == (7, 193)
    again = run_sweep(spec, on_processes, jobs=1)
    assert (again.solved, again.reused) == (0, 200)
    after = (on_processes / "scenarios.csv").read_bytes()
    strip = [line.rsplit(",", 2)[0] for line in before.decode().splitlines()]
    assert strip == [line.rsplit(",", 2)[0] for line in after.decode().splitlines()]


def _killer(count: int, kill: Any) -> Any:
    """A progress callback that calls ``kill`` once, when ``count`` scenarios are done."""
    def progress(done: int, total: int) -> None:
        if done == count:
            kill()
    return progress


def test_a_killed_dask_worker_loses_no_scenario(cluster: Any, tmp_path: Path,
                                                sweep_200: tuple[Path, Path, Path]) -> None:
    from distributed import Client

    spec = load_sweep_spec(_spec(tmp_path, AXES_200[:2] + [{"field": "specialty.almen-medicin.total",
                                                            "values": [330, 338, 350]}]))
    killed: list[int] = []
    with Client(cluster.scheduler_address) as client:
        def kill() -> None:
            pids = client.run(os.getpid)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
        outcome = run_sweep(spec, tmp_path / "out", scheduler=cluster.scheduler_address,
                            progress=_killer(5, kill))
        assert killed and outcome.solved == 60 and not outcome.failed
        client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker for the next tests
    rows = _rows(tmp_path / "out")
    assert len(rows) == 60 and all(r["status"] == "optimal" for r in rows)
    reference = {(r["model.underserved_weight"], r["model.criteria.0.weight"], r["specialty.almen-medicin.total"]):
                 r["plan"] for r in _rows(sweep_200[1])}
    for r in rows:
        assert r["plan"] == reference[(r["model.underserved_weight"], r["model.criteria.0.weight"],
                                       r["specialty.almen-medicin.total"])]


def test_a_killed_local_process_loses_no_scenario(tmp_path: Path) -> None:
    """The spawned process is killed while it holds batches; every scenario is still solved, as in one process.

    This process solves alone until the spawned one is up; the callback waits for it at the first
    scenario, so that the next loop hands it two batches, and kills it during this process's next batch.
    """
    spec = load_sweep_spec(_spec(tmp_path, [{"field": "specialty.almen-medicin.total",
                                             "values": list(range(330, 370))}]))
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == 1:
            deadline = time.monotonic() + 60
            while not multiprocessing.active_children() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # the starting thread's last submit returns
        elif not killed and done >= 6:
            victim = multiprocessing.active_children()[0].pid
            assert victim is not None
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
    outcome = run_sweep(spec, tmp_path / "out", jobs=2, progress=progress)
    assert killed and outcome.solved == 40 and not outcome.failed
    reference = run_sweep(spec, tmp_path / "ref", jobs=1)
    assert reference.solved == 40
    assert _rows(tmp_path / "out") == _rows(tmp_path / "ref")


def test_an_interrupted_sweep_says_what_it_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after some scenarios: exit 4, the message says they are kept, and a rerun solves only the rest."""
    import allocator.reports.sweep as sweep_tasks

    spec = _spec(tmp_path, [{"field": "specialty.almen-medicin.total", "values": [340, 345, 350]}])
    real = sweep_tasks.solve_scenario

    def interrupted(context: Any, change: Any) -> Any:
        if change.scenario == 3:
            raise KeyboardInterrupt
        return real(context, change)
    monkeypatch.setattr(sweep_tasks, "solve_scenario", interrupted)
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 4, result.output
    assert "interrupted: the scenarios solved so far are kept in the --out folder. Run the same command again " \
        "to solve only the rest." in result.output and "no plan was written" not in result.output
    monkeypatch.setattr(sweep_tasks, "solve_scenario", real)
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0 and "3 scenarios: 1 solved now, 2 already in" in result.output, result.output


def test_a_failed_scenario_is_retried_then_reported_and_solved_on_rerun(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import allocator.reports.sweep as sweep_tasks

    spec = load_sweep_spec(_spec(tmp_path, [{"field": "specialty.almen-medicin.total", "values": [340, 345, 350]}]))
    real = sweep_tasks.solve_scenario
    calls: dict[int, int] = {}

    def flaky(context: Any, change: Any) -> Any:
        calls[change.scenario] = calls.get(change.scenario, 0) + 1
        if change.scenario == 1 and calls[1] == 1:
            raise RuntimeError("a passing hiccup")
        if change.scenario == 3:
            raise RuntimeError("always broken")
        return real(context, change)
    monkeypatch.setattr(sweep_tasks, "solve_scenario", flaky)
    with pytest.raises(SolverError, match=r"1 of 3 scenarios failed twice: 3 \(RuntimeError: always broken\)"):
        run_sweep(spec, tmp_path / "out", jobs=1)
    assert calls == {1: 2, 2: 1, 3: 2}
    rows = _rows(tmp_path / "out")
    assert [r["status"] for r in rows] == ["optimal", "optimal", "error"]
    assert rows[2]["error"] == "RuntimeError: always broken" and rows[2]["model"] == "need-weighted"
    assert "scenario 3: RuntimeError: always broken" in (tmp_path / "out" / "sweep.md").read_text(encoding="utf-8")
    monkeypatch.setattr(sweep_tasks, "solve_scenario", real)
    outcome = run_sweep(spec, tmp_path / "out", jobs=1)
    assert (outcome.solved, outcome.reused) == (1, 2)
    assert [r["status"] for r in _rows(tmp_path / "out")] == ["optimal"] * 3


def test_draws_zip_scaled_columns_and_infeasible_scenarios(tmp_path: Path, cluster: Any) -> None:
    axes = [{"field": "areas.population", "factors": [1, 1.2, 0.8]},
            {"field": "specialty.almen-medicin.total", "values": [350, 340, 10]}]
    spec = load_sweep_spec(_spec(tmp_path, axes, combine="zip", draws={"count": 3, "noise": 0.1, "seed": 7}))
    assert spec.size() == 9
    run_sweep(spec, tmp_path / "inline", jobs=1)
    run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
    rows = _rows(tmp_path / "inline")
    assert rows == _rows(tmp_path / "dask")
    assert [r["draw"] for r in rows] == ["1", "2", "3"] * 3
    assert [r["areas.population"] for r in rows] == ["1.0"] * 3 + ["1.2"] * 3 + ["0.8"] * 3
    # 10 posts cannot meet five regional floors of 25: infeasible, reported, no cells.
    assert [r["status"] for r in rows[6:]] == ["infeasible"] * 3 and rows[6]["objective"] == ""
    assert not (tmp_path / "inline" / "cells.parquet" / "scenario=7").exists()
    # Each draw perturbs the need differently; the same draw is the same noise in every scenario.
    assert len({r["plan"] for r in rows[:3]}) == 3
    plain = load_sweep_spec(_spec(tmp_path / "plain", [{"field": "areas.population", "factors": [1]}]))
    run_sweep(plain, tmp_path / "plain-out", jobs=1)
    base = _rows(tmp_path / "plain-out")[0]
    assert base["draw"] == "0" and base["plan"] not in {r["plan"] for r in rows[:3]}


def test_the_command_shows_a_progress_bar_and_starts_its_own_local_cluster(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [{"field": "model.underserved_weight", "values": [1, 3]}])
    result = subprocess.run([str(BIN / "allocator"), "sweep", str(spec), "--out", str(tmp_path / "out"),
                             "--scheduler", "local", "--jobs", "2", "--progress"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # stderr is no terminal here, so the bar is written as lines: done/total and the time left.
    assert "sweep: 2/2 scenarios" in result.stderr and "left" in result.stderr
    assert "2 scenarios: 2 solved now, 0 already in" in result.stdout
    rerun = subprocess.run([str(BIN / "allocator"), "sweep", str(spec), "--out", str(tmp_path / "out"), "-q"],
                           capture_output=True, text=True, timeout=300)
    assert "2 scenarios: 0 solved now, 2 already in" in rerun.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_sweep_on_a_scheduler_and_workers_started_as_separate_processes(tmp_path: Path,
                                                                        sweep_200: tuple[Path, Path, Path]) -> None:
    """What docs/sweeps.md tells a user to do, on 127.0.0.1: `dask scheduler`, two `dask worker`, then the sweep."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    started: list[subprocess.Popen[bytes]] = []
    logs = [open(tmp_path / f"log{k}.txt", "wb") for k in range(3)]  # noqa: SIM115 - closed below
    try:
        started.append(subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", port,
                                         "--no-dashboard"], stdout=logs[0], stderr=subprocess.STDOUT))
        for k in (1, 2):
            started.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1",
                                             "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                            stdout=logs[k], stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        spec = _spec(tmp_path, AXES_200[:1] + [{"field": "specialty.almen-medicin.total", "values": [342, 350]}])
        result = subprocess.run([str(BIN / "allocator"), "sweep", str(spec), "--out", str(tmp_path / "out"),
                                 "--scheduler", address, "-q"], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        rows = _rows(tmp_path / "out")
        assert len(rows) == 10 and all(r["status"] == "optimal" for r in rows)
        reference = {(r["model.underserved_weight"], r["model.criteria.0.weight"], r["specialty.almen-medicin.total"]):
                     r["plan"] for r in _rows(sweep_200[1])}
        assert all(r["plan"] == reference[(r["model.underserved_weight"], "1.0", r["specialty.almen-medicin.total"])]
                   for r in rows)
    finally:
        for process in reversed(started):
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
    assert all(process.poll() is not None for process in started)


def test_an_unreachable_scheduler_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("allocator.sweep.CONNECT_SECONDS", 2)
    spec = _spec(tmp_path, [{"field": "model.underserved_weight", "values": [1]}])
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out"),
                                       "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    assert result.exit_code == 2, result.output
    assert "field '--scheduler': cannot reach the Dask scheduler at" in result.output
    assert not (tmp_path / "out").exists()


BAD_SPECS = {
    "unknown_key": ("instance: i.yaml\nmodels: [m.yaml]\naxis: []\n", "field 'axis': unknown key. Fix: the keys are"),
    "no_models": ("instance: i.yaml\naxes: []\n", "field 'models': the spec names no model files"),
    "bad_field": ("instance: i.yaml\nmodels: [m.yaml]\naxes:\n  - {field: model, values: [1]}\n",
                  "axes row 1 (line 4), field 'field': cannot vary 'model'"),
    "factor_for_model": ("instance: i.yaml\nmodels: [m.yaml]\naxes:\n  - {field: model.underserved_weight, factors: [1]}\n",
                         "field 'factors': 'model.underserved_weight' takes a value, not a factor"),
    "text_value": ("instance: i.yaml\nmodels: [m.yaml]\naxes:\n  - {field: model.underserved_weight, values: [1, two]}\n",
                   "field 'values': expected a finite number, got 'two'"),
    "zip_lengths": ("instance: i.yaml\nmodels: [m.yaml]\ncombine: zip\naxes:\n  - {field: model.underserved_weight, "
                    "values: [1, 2]}\n  - {field: specialty.gp.total, values: [1]}\n",
                    "zipped axes must have as many values each (model.underserved_weight: 2, specialty.gp.total: 1)"),
    "draws_count": ("instance: i.yaml\nmodels: [m.yaml]\ndraws: {count: 0}\n",
                    "field 'count': expected a whole number of draws of 1 or more, got 0"),
}


@pytest.mark.parametrize("name", sorted(BAD_SPECS))
def test_a_bad_spec_is_a_located_one_line_error(tmp_path: Path, name: str) -> None:
    text, message = BAD_SPECS[name]
    spec = tmp_path / "sweep.yaml"
    spec.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.output and "sweep.yaml" in result.output and "Fix:" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("axis, message", [
    ({"field": "model.underserved_weight", "values": [0.5]},
     "the model 'need-weighted' does not take 0.5 at 'model.underserved_weight': Input should be greater than or "
     "equal to 1"),
    ({"field": "model.criteria.3.weight", "values": [1]}, "the model 'need-weighted' has no number at "
     "'model.criteria.3.weight'"),
    ({"field": "specialty.kirurgi.total", "values": [1]}, "unknown specialty 'kirurgi'. Fix: the specialties are: "
     "almen-medicin"),
    ({"field": "specialty.almen-medicin.total", "values": [340.5]}, "the total 340.5 is not a multiple of the unit 1"),
    ({"field": "areas.doctors", "factors": [1]}, "the instance's areas have no column 'doctors'"),
])
def test_an_axis_the_instance_or_model_cannot_take_is_a_located_error(tmp_path: Path, axis: dict[str, Any],
                                                                     message: str) -> None:
    spec = _spec(tmp_path, [axis])
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.output and "sweep.yaml, axes row 1 (line" in result.output
    assert not (tmp_path / "out").exists()


def test_a_folder_with_other_files_is_refused_without_force(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [{"field": "model.underserved_weight", "values": [1]}])
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 2 and "the output folder already holds files that no sweep wrote" in result.output
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--force", "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine" and (out / "scenarios.csv").exists()


def test_cells_parquet_reads_back_as_one_table_with_its_scenario_column(sweep_200: tuple[Path, Path, Path]) -> None:
    _, on_dask, _ = sweep_200
    table = pl.scan_parquet(on_dask / "cells.parquet" / "**" / "*.parquet", hive_partitioning=True).collect()
    assert table.height == 200 * 98 and sorted(set(table["scenario"].to_list())) == list(range(1, 201))
    per_scenario = table.group_by("scenario").agg(pl.col("posts").sum()).sort("scenario")
    totals = [float(r["specialty.almen-medicin.total"]) for r in _rows(on_dask)]
    assert np.allclose(per_scenario["posts"].to_numpy(), totals)


def test_a_worker_that_cannot_see_the_store_returns_its_results_and_the_files_are_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers save their own scenarios; one on another machine (no shared disk) hands them back instead."""
    import allocator.sweep as sweeping

    spec = load_sweep_spec(_spec(tmp_path, [{"field": "specialty.almen-medicin.total", "values": [330, 350, 10]}]))
    run_sweep(spec, tmp_path / "saved-by-worker", jobs=1)
    monkeypatch.setattr(sweeping._Store, "reachable", lambda self: False)
    saved_here: list[str] = []
    real_save = sweeping._save
    monkeypatch.setattr(sweeping, "_save",
                        lambda store, key, *rest: (saved_here.append(key), real_save(store, key, *rest)))
    run_sweep(spec, tmp_path / "saved-here", jobs=1)
    assert len(saved_here) == 3
    assert _rows(tmp_path / "saved-by-worker") == _rows(tmp_path / "saved-here")
    stores = [sorted(p.name for p in (tmp_path / name / STORE).iterdir())
              for name in ("saved-by-worker", "saved-here")]
    # One row per scenario, a plan part for the two feasible ones, no marker or temporary file left.
    assert stores[0] == stores[1] and len(stores[0]) == 5
    for k in (1, 2):
        assert _cells(tmp_path / "saved-by-worker", k).equals(_cells(tmp_path / "saved-here", k))
        part = (tmp_path / "saved-here" / "cells.parquet" / f"scenario={k}" / "part-0.parquet").read_bytes()
        assert part == (tmp_path / "saved-by-worker" / "cells.parquet" / f"scenario={k}" / "part-0.parquet").read_bytes()


def test_a_saved_row_without_its_plan_is_solved_again(sweep_200: tuple[Path, Path, Path], tmp_path: Path) -> None:
    folder, _, on_processes = sweep_200
    copy = tmp_path / "copy"
    shutil.copytree(on_processes, copy)
    parts = sorted((copy / STORE).glob("*.parquet"))
    assert len(parts) == 200
    for path in parts[::50]:  # 4 plans lost, their rows kept
        path.unlink()
    outcome = run_sweep(load_sweep_spec(folder / "sweep.yaml"), copy, jobs=1)
    assert (outcome.solved, outcome.reused) == (4, 196)
    assert _rows(copy) == _rows(on_processes)
    assert len(list((copy / "cells.parquet").iterdir())) == 200


@pytest.mark.parametrize("count, workers", [(1, 1), (20, 2), (600, 2), (2400, 2), (1000, 7)])
def test_batches_keep_the_order_and_shrink_towards_the_end(count: int, workers: int) -> None:
    from allocator.sweep import BATCH, batches_of

    batches = batches_of(list(range(count)), workers)
    sizes = [len(batch) for batch in batches]
    assert [k for batch in batches for k in batch] == list(range(count))
    assert max(sizes) <= BATCH and sizes == sorted(sizes, reverse=True) and sizes[-1] == 1
    # No batch is more than half of a worker's share of what is left when it is cut.
    left = count
    for size in sizes:
        assert size <= max(1, -(-left // (2 * workers)))
        left -= size


def test_with_two_jobs_this_process_solves_some_scenarios_and_its_worker_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import allocator.reports.sweep as sweep_tasks

    spec = load_sweep_spec(_spec(tmp_path, [{"field": "specialty.almen-medicin.total",
                                             "values": list(range(330, 370, 2))}]))
    real = sweep_tasks.solve_scenario
    here: list[int] = []

    def slow(context: Any, change: Any) -> Any:
        # This process starts solving at once and the worker only once it is up (about 1 s): slowed down
        # here, this process cannot finish all 20 before the worker takes its share, on a loaded machine too.
        here.append(change.scenario)
        time.sleep(0.25)
        return real(context, change)
    monkeypatch.setattr(sweep_tasks, "solve_scenario", slow)
    outcome = run_sweep(spec, tmp_path / "two", jobs=2)  # the spawned worker does not see the patch
    assert outcome.solved == 20 and 0 < len(here) < 20 and len(set(here)) == len(here)
    monkeypatch.setattr(sweep_tasks, "solve_scenario", real)
    run_sweep(spec, tmp_path / "one", jobs=1)
    assert _rows(tmp_path / "two") == _rows(tmp_path / "one")
    assert sorted(p.name for p in (tmp_path / "two" / STORE).iterdir()) == \
        sorted(p.name for p in (tmp_path / "one" / STORE).iterdir())


def _worker_settings() -> bool:
    import dask

    return bool(dask.config.get("distributed.worker.profile.enabled"))


def _malloc_trim() -> str | None:
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_the_workers_of_scheduler_local_keep_glibc_malloc_thresholds_after_a_default_cluster() -> None:
    """local_cluster's workers run without Dask's MALLOC_TRIM_THRESHOLD_, though an earlier cluster left it here."""
    import os

    from distributed import Client, LocalCluster

    from allocator.sweep import local_cluster

    before = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0").close()
    assert os.environ.get("MALLOC_TRIM_THRESHOLD_") == "65536"  # the default nanny's setting, left in this process
    local = local_cluster(1)
    try:
        with Client(local) as client:
            assert list(client.run(_malloc_trim).values()) == [None]
        assert os.environ.get("MALLOC_TRIM_THRESHOLD_") == "65536"  # this process's environment as it was
    finally:
        local.close()
        if before is None:
            os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)


def test_the_workers_of_scheduler_local_run_without_the_profiler() -> None:
    """LEAN_WORKERS, as ``--scheduler local`` applies it, reaches the worker processes (the Dask key exists)."""
    import dask
    from distributed import Client, LocalCluster

    from allocator.sweep import LEAN_WORKERS

    assert dask.config.get("distributed.worker.profile.enabled") is True  # Dask's default
    with dask.config.set(LEAN_WORKERS):
        local = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        with Client(local) as client:
            assert list(client.run(_worker_settings).values()) == [False]
    finally:
        local.close()
