"""Multi-year `--time-limit` by the wall clock (issue 14): the guard around a solve that overruns its limit.

HiGHS checks its time limit only between root separation rounds; on a 98 x 40 instance one round
took over 10 s, and a 120 s limit returned after 135 s (benchmarks/horizon_results.md). These tests
make the solver overrun on purpose (a stand-in for ``mathopt.solve`` that prints real HiGHS
progress rows and then keeps running), so they take a second, not minutes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.core.horizon import build_horizon
from allocator.io.horizon import load_horizon_instance
from allocator.io.schemas import DEFAULT_MODEL
from allocator.results.horizon import myopic
from allocator.solvers import horizon as solvers
from allocator.solvers.horizon_search import improve_plan
from tests.conftest import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "horizon-two-leaves.yaml"

#: Rows of a real HiGHS log (generated seed 0 of benchmarks/horizon.py, HiGHS in OR-Tools 9.15).
HEADER = "Src  Proc. InQueue |  Leaves   Expl. | BestBound       BestSol              Gap |   Cuts   InLp Confl."
ROW_ROOT = (" L       0       0         0   0.00%   7628.107456     7663.858867        0.47%      237    115      "
            "2       472     2.0s")
ROW_NODES = ("       219      60        71   0.00%   7628.809854     7660.600598        0.41%      419     47    "
             "204     13704     8.9s")
ROW_NO_PLAN = ("         0       0         0   0.00%   21340.835138    inf                  inf        0      0      "
               "0         0     0.8s")


#: Rows of a real SCIP log (the same instance, SCIP in OR-Tools 9.15 through MathOpt).
SCIP_ROW = (" 29.3s|  1200 |  1181 | 30972 |  24.5 |    41M |  65 |2009 |1385 |1187 | 858 |  2 | 353 | 621 | "
            "7.646268e+03 | 7.658615e+03 |   0.16%| unknown")
SCIP_ROW_HEURISTIC = ("L10.1s|    88 |    89 | 10036 |  96.6 |    alns|  20 |2009 |1049 |1144 | 206 |  2 |   6 | 438 | "
                      "7.643884e+03 | 7.665217e+03 |   0.28%| unknown")
SCIP_HEADER = (" time | node  | left  |LP iter|LP it/n|mem/heur|mdpt |vars |cons |rows |cuts |sepa|confs|strbr|  "
               "dualbound   | primalbound  |  gap   | compl. ")


def test_a_logged_scip_bound_is_lowered_by_its_last_printed_digit() -> None:
    assert solvers._logged_bounds(SCIP_ROW) == (pytest.approx(7646.268 - 1e-3, abs=1e-9), 7658.615)
    assert solvers._logged_bounds(SCIP_ROW_HEURISTIC) == (pytest.approx(7643.884 - 1e-3, abs=1e-9), 7665.217)
    assert solvers._logged_bounds(SCIP_HEADER) is None
    assert solvers._logged_bounds(SCIP_ROW.replace("7.658615e+03", "     --     ")) == (
        pytest.approx(7646.267), float("inf"))


def test_the_command_ends_at_once_with_its_exit_code_when_a_solve_was_left_running() -> None:
    """allocator.__main__ ends the process with os._exit rather than finalise around a running solver thread."""
    import subprocess
    import sys

    code = ("import sys, time\n"
            "from allocator.solvers import horizon\n"
            "from allocator.__main__ import _exit_past_abandoned_solve\n"
            "print(horizon._guarded(lambda: time.sleep(60), 0.1, lambda: None))\n"
            "_exit_past_abandoned_solve(SystemExit(4))\n"
            "print('not reached')\n")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 4, done.stderr
    assert done.stdout == "(False, None)\n"
    assert time.perf_counter() - started < 20


def test_a_logged_bound_is_lowered_by_its_last_printed_digit() -> None:
    bound, incumbent = solvers._logged_bounds(ROW_NODES)  # type: ignore[misc]
    assert bound == pytest.approx(7628.809854 - 1e-6, abs=1e-12) and bound < 7628.809854
    assert incumbent == 7660.600598
    assert solvers._logged_bounds(HEADER) is None
    assert solvers._logged_bounds("Solving report") is None
    assert solvers._logged_bounds(ROW_NO_PLAN) == (pytest.approx(21340.835138 - 1e-6), float("inf"))


def test_the_guard_stops_waiting_at_the_limit_and_passes_results_and_errors_through() -> None:
    release = threading.Event()
    asked: list[bool] = []
    started = time.perf_counter()
    finished, value = solvers._guarded(lambda: release.wait(30), 0.2, lambda: asked.append(True))
    waited = time.perf_counter() - started
    release.set()
    assert (finished, value, asked) == (False, None, [True])
    assert 0.2 <= waited < 0.2 + solvers.GRACE_SECONDS + 0.5
    assert solvers._guarded(lambda: 7, 5.0, lambda: None) == (True, 7)
    assert solvers._guarded(lambda: 7, None, lambda: None) == (True, 7)

    def fail() -> int:
        raise ValueError("inside the solve")

    with pytest.raises(ValueError, match="inside the solve"):
        solvers._guarded(fail, 5.0, lambda: None)


@pytest.fixture
def overrunning_highs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """mathopt.solve replaced by a solve that logs two progress rows, then ignores its limit and interrupts.

    The rows carry a best bound of 0 (every cost is >= 0, so 0 is a true lower bound of any instance).
    """
    from ortools.math_opt.python import mathopt

    release = threading.Event()
    rows = [HEADER, " L       0       0         0   0.00%   0.000000     9999.000000        100.00%      0      0      0"
                    "         0     0.1s"]

    def solve(*args: Any, msg_cb: Any = None, **kwargs: Any) -> Any:
        if msg_cb is not None:
            msg_cb(rows)
        release.wait(60)
        raise AssertionError("the guard should have stopped waiting long before")

    monkeypatch.setattr(mathopt, "solve", solve)
    yield rows
    release.set()


def test_an_overrunning_solve_returns_at_the_limit_with_the_logged_bound_and_the_warm_start(
        overrunning_highs: list[str]) -> None:
    horizon = load_horizon_instance(EXAMPLE).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    hint, _ = myopic(horizon, DEFAULT_MODEL)
    started = time.perf_counter()
    result = solvers.solve_highs(problem, time_limit=0.3, hint=hint)
    assert time.perf_counter() - started < 0.3 + solvers.GRACE_SECONDS + 0.5
    assert result.status == "time_limit" and result.extra["abandoned"] is True
    # the warm start is the myopic plan after the local search (allocator.solvers.horizon_search)
    start = improve_plan(problem, hint)
    assert result.units is not None and np.array_equal(result.units, start)
    assert result.objective == pytest.approx(problem.objective(start))
    assert result.extra["start_objective"] == pytest.approx(problem.objective(start))
    assert result.bound == pytest.approx(-1e-6)
    assert "ran past the time limit" in result.detail


def test_cli_exits_4_at_the_limit_with_the_gap_or_writes_the_warm_start_with_accept_gap(
        overrunning_highs: list[str], tmp_path: Path) -> None:
    out = tmp_path / "o"
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["solve", str(EXAMPLE), "--out", str(out), "--time-limit", "1", "-q"])
    assert time.perf_counter() - started < 1 + solvers.GRACE_SECONDS + 2
    assert result.exit_code == 4, result.output
    assert "stopped at the time limit of 1 s with a gap of" in result.output and "best bound -1e-06" in result.output
    assert not out.exists()
    result = CliRunner().invoke(main, ["solve", str(EXAMPLE), "--out", str(out), "--time-limit", "1",
                                       "--accept-gap", "2", "-q"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert document["status"] == "gap ≤ 2" and document["metadata"]["verified"] is True
    assert document["best_bound"] == pytest.approx(-1e-6)
    assert "ran past the time limit" in document["metadata"]["solver_detail"]


def test_cli_says_so_when_an_overrunning_solve_logged_no_bound(overrunning_highs: list[str], tmp_path: Path) -> None:
    overrunning_highs[:] = [HEADER]
    result = CliRunner().invoke(main, ["solve", str(EXAMPLE), "--out", str(tmp_path / "o"), "--time-limit", "1"])
    assert result.exit_code == 4, result.output
    assert "stopped at the time limit of 1 s before it proved any bound; no plan was written" in result.output
    assert "Traceback" not in result.output


# `totals` in a CSV specialties table (closing note of issue 14: impossible before): one column per year.

def _with_csv_specialties(tmp_path: Path, header: str, row: str) -> Path:
    import yaml

    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    (tmp_path / "specialties.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    data["specialties"] = "specialties.csv"
    path = tmp_path / "instance.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_total_year_columns_of_a_csv_table_are_the_totals(tmp_path: Path) -> None:
    path = _with_csv_specialties(tmp_path, "id,training_years,completion,inhabitants_per_specialist,total_2021,total_2022",
                                 "gp,1,0.9,2000,3,4")
    horizon = load_horizon_instance(path).value
    assert horizon.totals["gp"] == [3.0, 4.0]


@pytest.mark.parametrize(("row", "fragment"), [
    ("gp,1,0.9,2000,3,x", "specialties.csv, line 2, field 'total_2022'"),
    ("gp,1,0.9,2000,3,", "specialties.csv, line 2, field 'total_2022': no total for 2022: the cell of total_2022 is "
                         "empty or the column is missing"),
])
def test_bad_total_year_columns_exit_2_located(tmp_path: Path, row: str, fragment: str) -> None:
    path = _with_csv_specialties(tmp_path, "id,training_years,completion,inhabitants_per_specialist,total_2021,total_2022",
                                 row)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output, result.output
