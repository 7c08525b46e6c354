"""Files from strangers: what a hostile or broken workbook can no longer do (the cases of tests/hostile.py)."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from allocator.errors import InputError
from allocator.io.loading import load_instance
from tests import hostile
from tests.conftest import ROOT


def _load(tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    args = hostile.CASES[name](tmp_path)
    return load_instance(Path(args[1])).value


def test_a_stale_dimension_loses_no_row_and_no_column(tmp_path: Path) -> None:
    """Regression: with <dimension ref="A1:C3"> the last area and the under-served column vanished (exit 0)."""
    instance = _load(tmp_path, "xlsx_stale_dimension")
    assert instance.leaves == ["a", "b"]
    assert instance.area_by_id["b"].underserved and instance.area_by_id["b"].population == 1000


def test_a_far_dimension_reads_only_the_cells_that_exist(tmp_path: Path) -> None:
    """Regression: a 5 KB workbook claiming A1:XFD1048576 ran for over 30 s. A hang guard, not a benchmark."""
    args = hostile.CASES["xlsx_far_dimension"](tmp_path)
    code = "from allocator.io.loading import load_instance; import sys; print(load_instance(sys.argv[1]).value.leaves)"
    done = subprocess.run([sys.executable, "-c", code, args[1]], capture_output=True, text=True, timeout=20,
                          cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "['a', 'b']", done.stderr


def test_shared_and_inline_strings_read_alike(tmp_path: Path) -> None:
    shared = _load(tmp_path / "shared", "xlsx_shared_strings")
    inline = _load(tmp_path / "inline", "xlsx_far_dimension")
    assert [(a.id, a.parent, a.population, a.underserved) for a in shared.areas] == \
        [(a.id, a.parent, a.population, a.underserved) for a in inline.areas]


def test_a_formula_with_its_saved_value_is_read(tmp_path: Path) -> None:
    sheet = hostile.sheet_xml([hostile.AREAS[0], hostile.AREAS[1], ["a", "R", "=1000+1000", None],
                               hostile.AREAS[3]])
    saved = sheet.replace("<f>1000+1000</f>", "<f>1000+1000</f><v>2000</v>")
    hostile.write_instance(tmp_path)
    (tmp_path / "areas.xlsx").write_bytes(hostile.workbook(saved))
    assert load_instance(tmp_path / "instance.yaml").value.area_by_id["a"].population == 2000


def test_a_bomb_is_refused_before_anything_is_unpacked(tmp_path: Path) -> None:
    """The 1 GiB sheet is refused from the zip directory: the check reads no part of it."""
    args = hostile.CASES["xlsx_bomb"](tmp_path)
    assert (tmp_path / "areas.xlsx").stat().st_size < 3_000_000
    with pytest.raises(InputError, match="unpacks to more than"):
        load_instance(Path(args[1]))


def _understate(content: bytes, part: str, size: int) -> bytes:
    """``content`` with the central directory claiming that ``part`` unpacks to ``size`` bytes."""
    data = bytearray(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        position = archive.start_dir
    while data[position:position + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = (int.from_bytes(data[position + k:position + k + 2], "little")
                                                     for k in (28, 30, 32))
        if data[position + 46:position + 46 + name_length] == part.encode():
            data[position + 24:position + 28] = size.to_bytes(4, "little")
            return bytes(data)
        position += 46 + name_length + extra_length + comment_length
    raise AssertionError(f"{part} is not in the central directory")


def test_a_part_that_lies_about_its_size_fails_its_checksum(tmp_path: Path) -> None:
    """zipfile stops at the declared size, so a directory that understates a part cannot smuggle in more."""
    hostile.write_instance(tmp_path)
    content = hostile.workbook(hostile.sheet_xml(hostile.AREAS))
    (tmp_path / "areas.xlsx").write_bytes(_understate(content, hostile.SHEET, 10))
    with pytest.raises(InputError, match="not a readable XLSX workbook|is not readable"):
        load_instance(tmp_path / "instance.yaml")


def test_bare_yaml_ids_are_kept_as_written(tmp_path: Path) -> None:
    """Regression: 0101 became 65, 1:20 became 80, 0x1F became 31 and 1_000 became 1000 (docs promise zeros kept)."""
    instance = _load(tmp_path, "yaml_bare_ids")
    assert [area.id for area in instance.areas] == ["0101", "1:20", "0x1F", "1_000", "no"]
    assert {(bound.area, bound.min, bound.max) for bound in instance.bounds} == {("0101", 1, None), ("no", None, 2)}
    assert instance.area_by_id["1_000"].population == 4, "numbers stay numbers"


def test_a_reference_in_another_normal_form_names_the_same_area(tmp_path: Path) -> None:
    instance = _load(tmp_path, "reference_in_nfd")
    assert [bound.area for bound in instance.bounds] == [hostile.AARHUS_NFC] == [instance.areas[0].id]


def test_a_header_in_capitals_is_warned_about_and_unused_columns_named(tmp_path: Path) -> None:
    from allocator.io.loading import column_warnings
    from allocator.io.schemas import DEFAULT_MODEL

    instance = _load(tmp_path, "csv_header_in_capitals")
    warnings = column_warnings(instance, [DEFAULT_MODEL])
    assert len(warnings) == 1 and "the column 'Underserved' is read as an indicator" in warnings[0]
    (tmp_path / "areas.csv").write_text("id,population,inhabitants per gp,spare\na,2000,1,2\nb,1000,3,4\n",
                                        encoding="utf-8")
    from tests.conftest import make_model

    model = make_model(criteria=[{"indicator": "inhabitants_per_gp", "weight": 1}])
    warnings = column_warnings(load_instance(tmp_path / "instance.yaml").value, [model])
    assert warnings == [f"{tmp_path / 'areas.csv'}: 2 columns the model 'test-model' does not use: "
                        "'inhabitants per gp' (did you mean 'inhabitants_per_gp'?), 'spare'"]


@pytest.mark.fuzz
@pytest.mark.parametrize("kind", hostile.FUZZ_KINDS)
def test_fuzzed_inputs_end_in_a_documented_exit(tmp_path: Path, kind: str) -> None:
    """A few seeds of each fuzz kind in CI; benchmarks/fuzz_files.py runs thousands, with time and memory."""
    from click.testing import CliRunner

    from allocator.cli import main

    for seed in range(2 if kind == "bomb" else 5):  # bombs take seconds to build; the 1 GiB one is tested above
        args = hostile.fuzz_case(kind, seed, tmp_path / str(seed))
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (0, 2, 3), (seed, result.output)
        assert "internal error" not in result.output and "Traceback" not in result.output, (seed, result.output)
