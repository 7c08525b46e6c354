"""Ctrl-C, a solver time limit or a failing writer leave no partial plan, and exit 4 saying what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.writers import plan as plan_writers
from allocator.solvers.base import BackendResult
from allocator.solvers.flow import FlowBackend
from allocator.cli import main
from tests.conftest import DK_INSTANCE, SYNTHETIC_INSTANCE


def _solve(out: Path, *extra: str) -> "CliRunner.invoke":
    return CliRunner().invoke(main, ["solve", str(SYNTHETIC_INSTANCE), "--out", str(out), "-q", *extra])


def test_time_limit_exits_4_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped(self: FlowBackend, problem: object, time_limit: float | None = None) -> BackendResult:
        return BackendResult("time_limit", None, "flow", "stopped")

    monkeypatch.setattr(FlowBackend, "solve", stopped)
    result = _solve(tmp_path / "out", "--time-limit", "0.5")
    assert result.exit_code == 4
    assert "time limit of 0.5 s" in result.output and "Raise --time-limit" in result.output
    assert not (tmp_path / "out").exists()


def test_real_time_limit_on_cpsat_is_reported_not_crashed(tmp_path: Path) -> None:
    """A real (tiny) limit: CP-SAT either proves the optimum in time or stops; both are clean."""
    result = _solve(tmp_path / "out", "--solver", "cpsat", "--time-limit", "0.001")
    assert result.exit_code in (0, 4), result.output
    if result.exit_code == 4:
        assert not (tmp_path / "out").exists()


def test_ctrl_c_while_solving_exits_4_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("allocator.results.solve.build_problem", interrupted)
    result = _solve(tmp_path / "out")
    assert result.exit_code == 4
    assert "interrupted: no plan was written" in result.output
    assert not (tmp_path / "out").exists()


def test_ctrl_c_while_writing_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_writers, "plan_json", interrupted)
    result = _solve(tmp_path / "out")
    assert result.exit_code == 4
    assert not (tmp_path / "out").exists(), "the folder this run created is removed again"


def test_ctrl_c_keeps_a_folder_that_held_other_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["solve", str(DK_INSTANCE), "--out", str(out), "-q"]).exit_code == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def interrupted(*args: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_writers, "plan_csv", interrupted)
    result = CliRunner().invoke(main, ["solve", str(DK_INSTANCE), "--out", str(out), "-q", "--force"])
    assert result.exit_code == 4
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before, "old files untouched, no temps"
