"""One run, one folder state: reruns, concurrent runs, signals and kills never leave files of two runs."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.errors import Interrupted
from allocator.writers import output
from allocator.writers import plan as plan_writers
from tests.conftest import DATA, ROOT

PLAN_FILES = ["plan.csv", "plan.json", "plan.xlsx", "summary.md"]


def _instance(folder: Path, total: int, name: str = "run") -> Path:
    """Three areas and one specialty; the run is known by its total, which every plan file shows."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{total}.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: {name}-{total}
        specialties: [{{id: gp, total: {total}}}]
        areas: [{{id: a, population: 1000}}, {{id: b, population: 2000}}, {{id: c, population: 3000}}]
        """), encoding="utf-8")
    return path


def _solve(instance: Path, out: Path, *extra: str) -> int:
    return CliRunner().invoke(main, ["solve", str(instance), "-o", str(out), "-q", *extra]).exit_code


def _run_of(out: Path) -> set[int]:
    """The totals the plan files in ``out`` come from: one element when they all come from one run."""
    totals = set()
    rows = list(csv.DictReader((out / "plan.csv").open(encoding="utf-8", newline="")))
    totals.add(round(sum(float(row["posts"]) for row in rows)))
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    totals.add(round(sum(row["posts"] for row in document["rows"])))
    totals.add(int(document["instance"].rsplit("-", 1)[1]))
    summary = (out / "summary.md").read_text(encoding="utf-8")
    totals.add(int(summary.split("\n", 1)[0].rsplit("-", 1)[1]))
    if (out / "plan.xlsx").exists():
        sheet = openpyxl.load_workbook(out / "plan.xlsx", read_only=True)["plan"]
        totals.add(round(sum(row[4] for row in sheet.iter_rows(min_row=2, values_only=True))))
    return totals


def test_a_rerun_without_xlsx_takes_the_old_workbook_with_it(tmp_path: Path) -> None:
    """Regression: a rerun with --no-xlsx left the previous plan.xlsx beside the new plan.csv."""
    out = tmp_path / "out"
    assert _solve(_instance(tmp_path, 10), out) == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "figures").mkdir()
    assert _solve(_instance(tmp_path, 12), out, "--force", "--no-xlsx") == 0
    assert sorted(p.name for p in out.iterdir()) == ["figures", "notes.txt", "plan.csv", "plan.json", "summary.md"]
    assert _run_of(out) == {12}
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine", "files the user put there stay"


def test_an_infeasible_rerun_leaves_only_its_diagnosis(tmp_path: Path) -> None:
    """Regression: an infeasible rerun with --force left the previous plan files beside the new diagnosis."""
    out = tmp_path / "out"
    assert _solve(_instance(tmp_path, 10), out) == 0
    assert _solve(DATA / "infeasible" / "floors_over_total.yaml", out, "--force") == 3
    assert sorted(p.name for p in out.iterdir()) == ["diagnosis.json", "diagnosis.md"]
    assert _solve(_instance(tmp_path, 11), out, "--force") == 0
    assert sorted(p.name for p in out.iterdir()) == PLAN_FILES, "and a feasible rerun takes the diagnosis away"


def test_without_force_a_folder_with_files_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["solve", str(_instance(tmp_path, 10)), "-o", str(out)])
    assert result.exit_code == 2 and "already holds files" in result.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_an_interruption_while_staging_changes_nothing_and_removes_a_fresh_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped(*args: object) -> str:
        raise Interrupted("SIGTERM")

    monkeypatch.setattr(plan_writers, "summary_markdown", stopped)
    result = CliRunner().invoke(main, ["solve", str(_instance(tmp_path, 10)), "-o", str(tmp_path / "new")])
    assert result.exit_code == 4 and "interrupted by SIGTERM: no plan was written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-10.yaml"], "no folder, no staging folder"
    out = tmp_path / "old"
    monkeypatch.undo()
    assert _solve(_instance(tmp_path, 10), out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(plan_writers, "summary_markdown", stopped)
    assert _solve(_instance(tmp_path, 12), out, "--force") == 4
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_read_only_or_full_folder_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated, because CI runs as root, for whom no folder is read-only."""
    real_open = open

    def full(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if "w" in mode and ".allocator-" in str(path):
            raise OSError(28, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full)
    result = CliRunner().invoke(main, ["solve", str(_instance(tmp_path, 10)), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "cannot write there (No space left on device)" in result.output and "free some disk space" in result.output
    assert "\n" not in result.output.strip() and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_sigterm_while_waiting_for_the_folder_exits_4_and_leaves_nothing(tmp_path: Path) -> None:
    """Regression: SIGTERM ended the run with 143 and no message, and left .plan.*.tmp files behind."""
    out = tmp_path / "out"
    out.mkdir()
    lock = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # another run is writing: ours must wait at the lock
    try:
        process = _python("from allocator.__main__ import run; run()", "solve", str(_instance(tmp_path, 10)),
                          "-o", str(out), "-q")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
                os.path.realpath(f"/proc/{process.pid}/fd/{fd}") == str(out)
                for fd in os.listdir(f"/proc/{process.pid}/fd")):
            time.sleep(0.05)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        os.close(lock)
    assert process.returncode == 4, stderr
    assert "interrupted by SIGTERM: no plan was written" in stderr and "Traceback" not in stderr
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run-10.yaml"], "no staging folder left"


_KILLED_MID_MOVE = """
import os, sys
from allocator.__main__ import run
real, moves = os.replace, []
def replace(source, target):
    real(source, target)
    moves.append(target)
    if len(moves) == 3:  # the journal, then two of the run's files: killed between renames
        os.kill(os.getpid(), 9)
os.replace = replace
sys.argv = ["allocator", *sys.argv[1:]]
run()
"""


def test_a_run_killed_between_renames_is_finished_by_the_next(tmp_path: Path) -> None:
    """Regression: SIGKILL between the renames left files from two runs in the folder."""
    out = tmp_path / "out"
    assert _solve(_instance(tmp_path, 10), out, "--no-xlsx") == 0
    process = _python(_KILLED_MID_MOVE, "solve", str(_instance(tmp_path, 12)), "-o", str(out), "-q", "--force")
    process.communicate(timeout=60)
    assert process.returncode == -9
    assert (out / output.JOURNAL).exists() and _run_of(out) == {10, 12}, "the kill landed mid-move"
    assert output.finish_interrupted_move(out)
    assert _run_of(out) == {12} and not (out / output.JOURNAL).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run-10.yaml", "run-12.yaml"]
    # And a new run into a folder left mid-move finishes the old move first, then makes its own.
    process = _python(_KILLED_MID_MOVE, "solve", str(_instance(tmp_path, 14)), "-o", str(out), "-q", "--force")
    process.communicate(timeout=60)
    assert _solve(_instance(tmp_path, 16), out, "--force", "--no-xlsx") == 0
    assert _run_of(out) == {16} and sorted(p.name for p in out.iterdir()) == sorted(set(PLAN_FILES) - {"plan.xlsx"})


@pytest.mark.slow
def test_ten_concurrent_runs_into_one_folder_never_mix(tmp_path: Path) -> None:
    """Regression: ten concurrent runs into one --out left plan.csv from one run and the rest from others.

    Twenty rounds of ten processes; every other run skips plan.xlsx, so a stale workbook would show too.
    """
    instances = [_instance(tmp_path / "in", total) for total in range(10, 20)]
    command = [sys.executable, "-m", "allocator", "solve"]
    for round_number in range(20):
        out = tmp_path / f"out{round_number}"

        def run(k: int) -> int:
            extra = ["--no-xlsx"] if k % 2 else []
            return subprocess.run([*command, str(instances[k]), "-o", str(out), "-q", "--force", *extra],
                                  cwd=ROOT, capture_output=True, timeout=300).returncode

        with ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(run, range(10)))
        assert codes == [0] * 10
        runs = _run_of(out)
        assert len(runs) == 1, (round_number, runs)
        total = runs.pop()
        assert (out / "plan.xlsx").exists() == (total % 2 == 0), "the workbook is there exactly when its run wrote one"
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "no staging left"


def test_index_keeps_a_hand_written_index_unless_forced(tmp_path: Path) -> None:
    """Regression: 'allocator index DIR' replaced a hand-written DIR/index.md without --force."""
    assert _solve(_instance(tmp_path / "in", 10), tmp_path / "runs" / "inst" / "model") == 0
    mine = tmp_path / "runs" / "index.md"
    mine.write_text("# My notes\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "index.md exists and was not written by 'allocator index'" in result.output
    assert mine.read_text(encoding="utf-8") == "# My notes\n"
    assert CliRunner().invoke(main, ["index", str(tmp_path / "runs"), "--force"]).exit_code == 0
    assert CliRunner().invoke(main, ["index", str(tmp_path / "runs")]).exit_code == 0, "its own index it replaces"
    assert "| model | 10 |" in mine.read_text(encoding="utf-8")


@pytest.mark.parametrize("content", ['{"rows": "many"}', "[1, 2]", '{"rows": [{"posts": "x"}]}',
                                     '{"rows": [], "objective": null}', "{"])
def test_index_names_a_broken_plan_json(tmp_path: Path, content: str) -> None:
    """Regression: a malformed plan.json under DIR crashed 'allocator index' (internal error)."""
    broken = tmp_path / "runs" / "inst" / "model" / "plan.json"
    broken.parent.mkdir(parents=True)
    broken.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert str(broken) in result.output and "Fix:" in result.output and "internal error" not in result.output


def test_generate_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    """Regression: 'generate --force' wrote through a symlinked areas.csv into another folder."""
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("precious\n", encoding="utf-8")
    out = tmp_path / "gen"
    out.mkdir()
    (out / "areas.csv").symlink_to(elsewhere)
    result = CliRunner().invoke(main, ["generate", "-o", str(out), "--force", "--tree", "2,4"])
    assert result.exit_code == 0, result.output
    assert elsewhere.read_text(encoding="utf-8") == "precious\n"
    assert not (out / "areas.csv").is_symlink() and (out / "areas.csv").read_text(encoding="utf-8").startswith("id,")


def test_temporary_files_an_earlier_version_left_do_not_block_the_folder(tmp_path: Path) -> None:
    """Regression: SIGTERM left .plan.*.tmp files, and the next run refused the folder."""
    out = tmp_path / "out"
    out.mkdir()
    (out / ".plan.csv.k2j3h4.tmp").write_text("half", encoding="utf-8")
    (out / ".summary.md.abc.tmp").write_text("half", encoding="utf-8")
    assert _solve(_instance(tmp_path, 10), out) == 0
    assert sorted(p.name for p in out.iterdir()) == PLAN_FILES
