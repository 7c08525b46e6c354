"""Bad files exit 2 with one located line and write nothing; infeasible instances exit 3.

The malformed files live in tests/data/bad/, one per class of mistake.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from tests import hostile
from tests.conftest import DATA, DK_INSTANCE, ROOT

BAD = DATA / "bad"

# file, then fragments the message must contain: the file, the row, the field, the fix
CASES = {
    "missing_field.yaml": ["missing_field.yaml", "specialties row 1", "field 'total'", "Fix: fill in 'total'"],
    "unknown_area_in_bounds.yaml": ["bounds row 2", "field 'area'", "unknown area 'C'"],
    "unknown_specialty_in_previous.yaml": ["previous row 2", "field 'specialty'", "unknown specialty 'surgery'"],
    "parent_cycle.yaml": ["field 'parent'", "cycle", "A -> C -> B -> A"],
    "negative_total.yaml": ["specialties row 1", "field 'total'", "got -5", ">= 0"],
    "min_over_max.yaml": ["bounds row 1", "field 'min'", "min 6 is greater than max 4"],
    "non_numeric_cell.yaml": ["non_numeric_cell.csv", "line 4", "field 'population'", "'tre tusind'"],
    "duplicate_ids.yaml": ["areas row 4", "field 'id'", "duplicate area id 'A'", "areas row 2"],
    "total_not_multiple_of_unit.yaml": ["specialties row 1", "field 'total'", "not a multiple of the unit 1",
                                        "unit: 0.5"],
    "broken_yaml.yaml": ["broken_yaml.yaml", "line 2", "not valid YAML"],
    "unknown_key.yaml": ["field 'populaton'", "unknown key"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_exits_2_with_located_message(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(BAD / name), "--out", str(out)])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message, "the error must be one line"
    assert "Traceback" not in result.output
    assert message.startswith("error: ")
    assert "Fix:" in message
    for fragment in CASES[name]:
        assert fragment in message
    assert not out.exists(), "nothing may be written for bad input"


def test_every_case_has_a_file() -> None:
    assert set(CASES) <= {p.name for p in BAD.glob("*.yaml")}


def _documented_rows() -> list[tuple[str, str, str, int]]:
    """(input, model, message, exit code) of every row of docs/bad-input.md."""
    rows = []
    for line in (ROOT / "docs" / "bad-input.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[1].startswith("`"):
            continue
        inputs = [part.strip().strip("`") for part in cells[1].split("+")]
        rows.append((inputs[0], inputs[1] if len(inputs) > 1 else "", cells[2].strip("`"), int(cells[3])))
    return rows


@pytest.mark.parametrize(("source", "model", "message", "code"), _documented_rows(),
                         ids=[row[0] for row in _documented_rows()])
def test_documented_bad_input(tmp_path: Path, source: str, model: str, message: str, code: int) -> None:
    out = tmp_path / "out"
    if source.startswith("hostile:"):  # made by a builder in tests/hostile.py, not stored
        args = hostile.CASES[source.removeprefix("hostile:")](tmp_path)
        out = tmp_path / hostile.OUT
        if code == 0:
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 0 and message in " ".join(result.output.split()), result.output
            return
    else:
        args = ["solve", str(DATA / source), "--out", str(out), "-q"] + \
            (["--model", str(DATA / model)] if model else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert written == ([] if code == 2 else ["diagnosis.json", "diagnosis.md"])


def test_docs_table_covers_every_input_file() -> None:
    documented = {row[0] for row in _documented_rows() if not row[0].startswith("hostile:")}
    on_disk = {f"{p.parent.name}/{p.name}" for folder in ("bad", "infeasible") for p in (DATA / folder).glob("*.yaml")}
    assert on_disk == documented


def test_missing_model_file_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["solve", str(DK_INSTANCE), "-m", "nope.yaml", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "nope.yaml: the file does not exist" in result.output


@pytest.mark.parametrize(("criteria", "fragments"), [
    ("{indicator: inhabitants_per_gp, wieght: 2}", ["criteria row 1", "did you mean 'weight'"]),
    ("{indicator: closed_share, weight: 1}", ["areas.csv", "field 'closed_share'"]),
], ids=["typo-suggests-field", "unknown-indicator-names-area"])
def test_bad_model_exits_2(tmp_path: Path, criteria: str, fragments: list[str]) -> None:
    model = tmp_path / "m.yaml"
    model.write_text(f"name: x\ncriteria:\n  - {criteria}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["solve", str(DK_INSTANCE), "-m", str(model), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    for fragment in fragments:
        assert fragment in result.output


def test_floors_over_total_exit_3_naming_total_and_bounds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["solve", str(DATA / "infeasible" / "floors_over_total.yaml"), "--out", str(out)])
    assert result.exit_code == 3, result.output
    assert "the minimums add up to 11 posts, but the total is 10 posts" in result.output
    assert "the national total of gp is 10 posts" in result.output
    assert "A must get at least 6 posts of gp" in result.output
    assert "B must get at least 5 posts of gp" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["diagnosis.json", "diagnosis.md"], "no plan files"


@pytest.mark.parametrize("name", ["parent_cycle.yaml", "non_numeric_cell.yaml"])
def test_validate_exits_2_on_bad_file(name: str) -> None:
    result = CliRunner().invoke(main, ["validate", str(BAD / name)])
    assert result.exit_code == 2 and "Fix:" in result.output and "Traceback" not in result.output


def test_every_hostile_case_is_documented() -> None:
    documented = {row[0].removeprefix("hostile:") for row in _documented_rows() if row[0].startswith("hostile:")}
    assert documented == set(hostile.CASES)


def test_sensitivity_jobs_below_one_is_bad_input(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from allocator.cli import main
    from tests.conftest import DK_INSTANCE

    result = CliRunner().invoke(main, ["sensitivity", str(DK_INSTANCE), "-o", str(tmp_path / "out"), "--jobs", "0"])
    assert result.exit_code == 2 and "'--jobs'" in result.output and "x>=1" in result.output
    assert not (tmp_path / "out").exists()


def test_a_model_with_a_key_twice_is_bad_input(tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    model.write_text("name: x\ncoverage_weight: 1\nunderserved_weight: 2\nunderserved_weight: 5\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["solve", str(DK_INSTANCE), "-m", str(model), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "m.yaml, line 4, field 'underserved_weight': the key 'underserved_weight' is given twice in this " \
           "mapping (first on line 3)" in result.output
    assert "Fix: keep one 'underserved_weight'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_a_sweep_spec_with_a_key_twice_is_bad_input(tmp_path: Path) -> None:
    spec = tmp_path / "sweep.yaml"
    spec.write_text(f"instance: {DK_INSTANCE}\nmodels: [{ROOT / 'models' / 'population.yaml'}]\n"
                    "axes:\n  - {field: model.underserved_weight, values: [1, 2], values: [3]}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "sweep.yaml, axes row 1 (line 4), field 'values': the key 'values' is given twice" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


@pytest.mark.parametrize(("text", "data"), [
    ("a: {2021: 1, '2021': 2}\n", {"a": {2021: 1, "2021": 2}}),  # an int and a text key: two keys in the data
    ("b: &b {x: 1, y: 2}\nc: {<<: *b, x: 3}\n", {"b": {"x": 1, "y": 2}, "c": {"x": 3, "y": 2}}),  # a merge overridden
])
def test_keys_that_differ_in_the_data_or_override_a_merge_are_not_duplicates(tmp_path: Path, text: str,
                                                                              data: dict) -> None:
    from allocator.io import read_document

    path = tmp_path / "d.yaml"
    path.write_text(text, encoding="utf-8")
    assert read_document(path).data == data


@pytest.mark.parametrize(("text", "where"), [
    ("a: {2021: 1, 0x7E5: 2}\n", "a (line 1), field '0x7E5'"),  # one int written two ways
    ("~: 1\nnull: 2\n", "line 2, field 'null'"),  # one null key written two ways
    ("a: &a {x: 1, x: 2}\nb: *a\n", "a (line 1), field 'x'"),  # inside an anchored mapping
])
def test_keys_equal_in_the_data_are_duplicates_however_written(tmp_path: Path, text: str, where: str) -> None:
    from allocator.errors import InputError
    from allocator.io import read_document

    path = tmp_path / "d.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="is given twice in this mapping") as caught:
        read_document(path)
    assert where in str(caught.value)


def test_a_json_object_with_a_key_twice_is_bad_input(tmp_path: Path) -> None:
    from allocator.errors import InputError
    from allocator.io import read_document

    path = tmp_path / "i.json"
    path.write_text('{"name": "x", "areas": [{"id": "A", "population": 1, "population": 3}]}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_document(path)
    assert str(caught.value).startswith(f"{path}, field 'population': the key 'population' is given twice in one "
                                        "JSON object")
    path.write_text('{"a": {"x": 1}, "b": {"x": 2}}', encoding="utf-8")  # one key in two objects: no repeat
    assert read_document(path).data == {"a": {"x": 1}, "b": {"x": 2}}
