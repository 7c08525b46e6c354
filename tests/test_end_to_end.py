"""The CLI from instance and model files to the four plan files, on the bundled instances."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.io.loading import load_instance, load_model
from tests.conftest import DK_INSTANCE, MODELS, SYNTHETIC_INSTANCE

PLAN_FILES = {"plan.csv", "plan.xlsx", "plan.json", "summary.md"}


def run(*args: str) -> "CliRunner.invoke":
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def documented_cost(rows: list[dict[str, str]], instance_path: Path, model_path: Path) -> float:
    """BRIEF.md's cost recomputed from plan.csv alone, plus the model and instance flags."""
    instance = load_instance(instance_path).value
    model = load_model(model_path).value
    terms = []
    for row in rows:
        x, t = float(row["posts"]), float(row["target"])
        p = model.underserved_weight if row["underserved"] == "yes" else 1.0
        if model.objective == "absolute":
            cost = p * max(0.0, t - x) + max(0.0, x - t)
        else:
            cost = (p * max(0.0, t - x) ** 2 + max(0.0, x - t) ** 2) / t
        if row["previous"]:
            cost += model.stability.weight * abs(x - float(row["previous"]))
        terms.append(cost)
    assert instance.leaves == sorted({row["area"] for row in rows})
    return math.fsum(terms)


@pytest.mark.parametrize("instance_path", [DK_INSTANCE, SYNTHETIC_INSTANCE], ids=["dk", "synthetic"])
@pytest.mark.parametrize("model_name", ["population", "need-weighted"])
def test_solve_writes_verified_plan(tmp_path: Path, instance_path: Path, model_name: str) -> None:
    model_path = MODELS / f"{model_name}.yaml"
    result = run("solve", instance_path, "--model", model_path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == PLAN_FILES
    rows = list(csv.DictReader((out / "plan.csv").open(encoding="utf-8")))
    instance = load_instance(instance_path).value
    for specialty in instance.specialties:
        assert sum(float(r["posts"]) for r in rows if r["specialty"] == specialty.id) == specialty.total
    posts = {(r["area"], r["specialty"]): float(r["posts"]) for r in rows}
    for bound in instance.bounds:
        under = [leaf for leaf in instance.leaves if bound.area in instance.ancestors(leaf)]
        specs = [bound.specialty] if bound.specialty else instance.specialty_ids
        total = sum(posts[(leaf, s)] for leaf in under for s in specs)
        assert (bound.min or 0) <= total <= (bound.max if bound.max is not None else math.inf)
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    # plan.csv rounds targets to 4 decimals, so allow that rounding in the recomputed cost
    assert document["objective"] == pytest.approx(documented_cost(rows, instance_path, model_path), abs=1e-2)
    assert document["metadata"]["status"] == "optimal"
    assert document["metadata"]["verified"] is True
    assert set(document["metadata"]["inputs"]) >= {str(instance_path)}
    workbook = openpyxl.load_workbook(out / "plan.xlsx", read_only=True)
    assert workbook.sheetnames == ["plan", "by area", "totals"]
    header, *areas = workbook["by area"].iter_rows(values_only=True)
    assert list(header) == ["area", "area_name", *instance.specialty_ids, "total"]
    assert len(areas) == len(instance.leaves)
    assert all(row[-1] == sum(row[2:-1]) for row in areas)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    # the council's memo is in the instance's language (Danish for the Danish instances)
    assert ("I alt pr. videreuddannelsesregion" if instance.language == "da" else "Totals per training region") \
        in summary


def test_objective_in_json_matches_exact_recomputation(tmp_path: Path) -> None:
    """With full-precision targets from plan.json, the objective matches the cost formula to 1e-9."""
    model_path = MODELS / "need-weighted.yaml"
    assert run("solve", DK_INSTANCE, "-m", model_path, "-o", tmp_path, "-q").exit_code == 0
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    rows = [{"posts": str(r["posts"]), "target": repr(r["target"]), "underserved": "yes" if r["underserved"] else "no",
             "previous": "" if r["previous"] is None else str(r["previous"]), "area": r["area"]}
            for r in document["rows"]]
    assert document["objective"] == pytest.approx(documented_cost(rows, DK_INSTANCE, model_path), rel=1e-9, abs=1e-12)


def test_danish_plan_under_population_model_is_largest_remainder(tmp_path: Path) -> None:
    """With no bound binding, the absolute cost rounds population quotas by largest remainder."""
    assert run("solve", DK_INSTANCE, "-o", tmp_path, "-q").exit_code == 0
    rows = {r["area"]: float(r["posts"]) for r in csv.DictReader((tmp_path / "plan.csv").open(encoding="utf-8"))}
    assert rows == {"Hovedstaden": 111, "Midtjylland": 80, "Syddanmark": 74, "Sjælland": 50, "Nordjylland": 35}


def test_plan_csv_is_byte_identical_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    model = MODELS / "need-weighted.yaml"
    outputs = []
    for index, seed in enumerate(["0", "1", "12345"]):
        out = tmp_path / f"run{index}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "allocator.cli", "solve", str(SYNTHETIC_INSTANCE), "-m", str(model),
                        "-o", str(out), "-q", "--no-xlsx"], check=True, env=env, capture_output=True)
        outputs.append((out / "plan.csv").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_refuses_non_empty_output_folder_without_force(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    result = run("solve", DK_INSTANCE, "-o", tmp_path)
    assert result.exit_code == 2
    assert "--force" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert run("solve", DK_INSTANCE, "-o", tmp_path, "--force", "-q").exit_code == 0
    assert keep.read_text() == "mine"


def test_validate_reports_counts() -> None:
    result = run("validate", DK_INSTANCE, "--model", MODELS / "need-weighted.yaml")
    assert result.exit_code == 0
    assert "1 specialties, 8 areas (5 leaves)" in result.output


def test_generate_writes_loadable_synthetic_instance(tmp_path: Path) -> None:
    result = run("generate", "--out", tmp_path, "--tree", "2,4,9", "--specialties", "3", "--posts", "60",
                 "--seed", "3", "--unit", "0.5")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "instance.yaml").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    instance = load_instance(tmp_path / "instance.yaml").value
    assert len(instance.leaves) == 9 and len(instance.specialties) == 3 and instance.unit == 0.5
    assert sum(s.total for s in instance.specialties) == 60
    out = tmp_path / "plan"
    assert run("solve", tmp_path / "instance.yaml", "-m", MODELS / "need-weighted.yaml", "-o", out, "-q").exit_code == 0


def test_generate_is_seeded(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run("generate", "--out", tmp_path / name, "--tree", "3,12", "--seed", "5").exit_code == 0
    for table in ("areas.csv", "bounds.csv", "previous.csv", "instance.yaml"):
        assert (tmp_path / "a" / table).read_bytes() == (tmp_path / "b" / table).read_bytes()


@pytest.mark.parametrize("solver", ["auto", "cbc"])
def test_plan_does_not_depend_on_the_order_of_rows(tmp_path: Path, solver: str) -> None:
    """Shuffle every table's rows (and the specialties): the same backend writes the same plan, byte for byte."""
    import random

    source = SYNTHETIC_INSTANCE.parent
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    rng = random.Random(4)
    for path in source.iterdir():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":
            header, *rows = text.splitlines()
            rng.shuffle(rows)
            text = "\n".join([header, *rows]) + "\n"
        else:
            lines = text.splitlines()
            specs = [i for i, line in enumerate(lines) if line.startswith("  - {id:")]
            block = [lines[i] for i in specs]
            rng.shuffle(block)
            for i, line in zip(specs, block):
                lines[i] = line
            text = "\n".join(lines) + "\n"
        (shuffled / path.name).write_text(text, encoding="utf-8")
    outputs = []
    for folder in (source, shuffled):
        out = tmp_path / f"out-{folder.name}"
        assert run("solve", folder / "instance.yaml", "-m", MODELS / "need-weighted.yaml", "-o", out, "-q",
                   "--no-xlsx", "--solver", solver).exit_code == 0
        document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
        outputs.append(((out / "plan.csv").read_bytes(), document["rows"], document["objective"]))
    assert outputs[0] == outputs[1]


def console(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``python -m allocator``: the console entry point."""
    return subprocess.run([sys.executable, "-m", "allocator", *map(str, args)], capture_output=True, text=True,
                          **kwargs)  # type: ignore[call-overload]


def test_console_entry_flushes_everything_and_keeps_the_exit_codes(tmp_path: Path) -> None:
    """The console entry point loses no buffered output and keeps the exit codes."""
    solved = console("solve", DK_INSTANCE, "-o", tmp_path / "plan")
    assert solved.returncode == 0, solved.stderr
    assert "Hovedstaden" in solved.stdout and solved.stdout.rstrip().endswith("summary.md, " + str(
        tmp_path / "plan" / "plan.xlsx"))
    assert {p.name for p in (tmp_path / "plan").iterdir()} == PLAN_FILES
    refused = console("solve", DK_INSTANCE, "-o", tmp_path / "plan")  # not empty, no --force
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert console("solve").returncode == 2  # click's usage error
    assert console("solve", tmp_path / "missing.yaml", "-o", tmp_path / "x").returncode == 2
    assert console("--version").returncode == 0


def test_a_closed_output_pipe_is_not_reported_as_a_bug(tmp_path: Path) -> None:
    """`allocator solve … | head`: the reader goes away; the plan is still written, and no 'internal error'."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE
    try:
        result = subprocess.run([sys.executable, "-m", "allocator", "solve", str(DK_INSTANCE), "-o",
                                 str(tmp_path / "plan")], stdout=write_end, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert {p.name for p in (tmp_path / "plan").iterdir()} == PLAN_FILES
