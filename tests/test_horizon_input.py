"""Careless multi-year input (issue 14 audit, items 9 and 10): warnings for silent defaults, and messages
that name what the person wrote. The instances are SYNTHETIC, made by each test."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.io.cells import fraction_fix

# A two-leaf horizon; each test changes one thing. SYNTHETIC figures.
BASE = """\
name: careless
horizon: {first_year: 2021, plan_years: 3, outlook_years: 5}
specialties:
  - {id: gp, total: 10, training_years: 2, completion: 0.9, inhabitants_per_specialist: 1000}
areas:
  - {id: R, population_growth: 0.01}
  - {id: A, parent: R, population: 20000}
  - {id: B, parent: R, population: 10000}
workforce:
  - {area: R, specialty: gp, exit_rate: 0.05, retention: 0.6}
  - {area: A, specialty: gp, headcount: 18, fill_rate: 0.8}
  - {area: B, specialty: gp, headcount: 6}
pipeline:
  - {area: A, specialty: gp, year: 2019, posts: 5}
previous:
  - {area: A, specialty: gp, posts: 6}
  - {area: B, specialty: gp, posts: 4}
"""


def _solve(tmp_path: Path, text: str) -> tuple[int, str, str, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "instance.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(path), "-o", str(out), "-q"])
    return result.exit_code, result.stdout, result.stderr, out


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def test_the_base_instance_has_no_warning(tmp_path: Path) -> None:
    code, _, stderr, out = _solve(tmp_path, BASE)
    assert code == 0 and _warnings(stderr) == [], stderr
    assert (out / "plan.json").exists()


def test_start_years_taken_as_0_are_named_with_the_rows_that_would_give_them(tmp_path: Path) -> None:
    text = BASE.replace("previous:\n  - {area: A, specialty: gp, posts: 6}\n  - {area: B, specialty: gp, posts: 4}\n", "")
    code, _, stderr, out = _solve(tmp_path, text)
    assert code == 0 and (out / "plan.json").exists()
    [warning] = _warnings(stderr)
    # A has a pipeline row for 2019 only; B has nothing: 2 training years, so 2019 and 2020 count
    assert "instance.yaml: posts started before 2021 are taken as 0 in 2 cells" in warning
    assert "A/gp 2020; B/gp 2019, 2020" in warning
    assert "Fix: add 'pipeline' rows (area, specialty, year, posts) for those years, or a 'previous' row" in warning


def test_a_previous_row_stands_for_the_start_years_and_silences_the_warning(tmp_path: Path) -> None:
    text = BASE.replace("  - {area: B, specialty: gp, posts: 4}\n", "")
    code, _, stderr, _ = _solve(tmp_path, text)
    assert code == 0
    [warning] = _warnings(stderr)
    assert "taken as 0 in 1 cell," in warning and "B/gp 2019, 2020" in warning and "A/gp" not in warning


def test_an_outlook_no_plan_post_reaches_is_named(tmp_path: Path) -> None:
    # 5 training years, 5 outlook years: posts of 2021 graduate in 2026, after 2025
    text = BASE.replace("training_years: 2", "training_years: 5").replace("year: 2019", "year: 2017")
    code, _, stderr, out = _solve(tmp_path, text)
    assert code == 0 and (out / "plan.json").exists()
    [warning] = _warnings(stderr)
    assert "specialty 'gp': posts of the first plan year 2021 graduate in 2026 (5 training years), after the " \
           "last outlook year 2025" in warning
    assert "coverage cannot depend on the plan" in warning and "raise outlook_years to at least 6" in warning
    # one year fewer of training and the first plan year's posts graduate in the last outlook year: no warning
    text = BASE.replace("training_years: 2", "training_years: 4").replace("year: 2019", "year: 2017")
    assert _warnings(_solve(tmp_path / "4", text)[2]) == []


@pytest.mark.parametrize(("growth", "warned"), [("0.4", True), ("-0.06", True), ("0.05", False), ("0.004", False)])
def test_a_growth_above_5_percent_a_year_is_likely_a_percentage(tmp_path: Path, growth: str, warned: bool) -> None:
    code, _, stderr, _ = _solve(tmp_path, BASE.replace("population_growth: 0.01", f"population_growth: {growth}"))
    assert code == 0
    warnings = _warnings(stderr)
    if not warned:
        assert warnings == []
        return
    [warning] = warnings
    percent = f"{float(growth) * 100:g}"
    assert f"instance.yaml, areas row 1 (line 6), field 'population_growth': population_growth {growth} is " \
           f"{percent} % a year, which is likely a percentage written as a number" in warning
    assert f"({growth} means {percent} % a year). Fix: if {growth} % a year is meant, write {float(growth) / 100:g}" \
        in warning


def test_validate_and_project_print_the_same_warnings(tmp_path: Path) -> None:
    path = tmp_path / "instance.yaml"
    path.write_text(BASE.replace("population_growth: 0.01", "population_growth: 0.4"), encoding="utf-8")
    validated = CliRunner().invoke(main, ["validate", str(path)])
    projected = CliRunner().invoke(main, ["project", str(path), "--status-quo", "-o", str(tmp_path / "p")])
    assert validated.exit_code == 0 and projected.exit_code == 0
    assert _warnings(validated.stderr) == _warnings(projected.stderr) != []


def test_a_sweep_prints_the_warnings_of_its_base_instance_once(tmp_path: Path) -> None:
    """An operator running a batch from Make sees what `solve` would have said about the instance, once."""
    path = tmp_path / "instance.yaml"
    path.write_text(BASE.replace("population_growth: 0.01", "population_growth: 0.4"), encoding="utf-8")
    spec = tmp_path / "sweep.yaml"
    spec.write_text("instance: instance.yaml\nmodels: [" + str(Path(__file__).resolve().parent.parent / "models"
                                                            / "population.yaml") + "]\n"
                    "axes: [{field: model.coverage_weight, values: [5, 10]}]\n", encoding="utf-8")
    swept = CliRunner().invoke(main, ["sweep", str(spec), "-o", str(tmp_path / "s"), "-q"])
    solved = CliRunner().invoke(main, ["solve", str(path), "-o", str(tmp_path / "o"), "-q"])
    assert swept.exit_code == 0 and solved.exit_code == 0, swept.output
    assert _warnings(swept.stderr) == _warnings(solved.stderr) != []


def test_a_csv_workforce_table_without_a_row_for_a_leaf_is_named(tmp_path: Path) -> None:
    (tmp_path / "workforce.csv").write_text("area,specialty,exit_rate,retention,headcount,fill_rate\n"
                                            "R,gp,0.05,0.6,,\nA,gp,,,18,0.8\n", encoding="utf-8")
    text = BASE.replace("workforce:\n  - {area: R, specialty: gp, exit_rate: 0.05, retention: 0.6}\n"
                        "  - {area: A, specialty: gp, headcount: 18, fill_rate: 0.8}\n"
                        "  - {area: B, specialty: gp, headcount: 6}\n", "workforce: workforce.csv\n")
    code, stdout, stderr, out = _solve(tmp_path, text)
    assert code == 2 and not out.exists()
    assert "workforce.csv, the workforce table: leaf area 'B' has no headcount for 'gp': the workforce table " \
           "has no row for area 'B' and specialty 'gp'. Fix: add a row to the workforce table for the leaf and " \
           "specialty" in " ".join((stdout + stderr).split())


@pytest.mark.parametrize(("value", "fix"), [
    ("70%", "0.7 for 70%"), ("4,5 %", "0.045 for 4,5 %"), ("-1.5%", "-0.015 for -1.5%"), (" 100% ", "1 for 100%"),
])
def test_a_percentage_gets_its_fraction(value: str, fix: str) -> None:
    assert fraction_fix(value) == f"write the rate as a fraction, not a percentage: {fix}"


@pytest.mark.parametrize("value", ["70", "seventy %", "%", 0.7, None, "7O%"])
def test_anything_else_gets_no_fraction(value: object) -> None:
    assert fraction_fix(value) is None


@pytest.mark.parametrize("field", ["exit_rate", "fill_rate", "completion"])
def test_every_rate_as_a_percentage_gets_the_fraction(tmp_path: Path, field: str) -> None:
    text = BASE.replace("{area: B, specialty: gp, headcount: 6}", "{area: B, specialty: gp, headcount: 6, "
                        f"{field}: '25%'}}") if field != "completion" else BASE.replace("completion: 0.9",
                                                                                       "completion: '25%'")
    code, stdout, stderr, out = _solve(tmp_path, text)
    message = " ".join((stdout + stderr).split())
    assert code == 2 and not out.exists()
    assert f"field '{field}': expected a number, got '25%'. Fix: write the rate as a fraction, not a " \
           "percentage: 0.25 for 25%" in message
