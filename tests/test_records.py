"""Bulk validation of large tables gives exactly what row-by-row validation gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.errors import InputError
from allocator.io import read_document, read_table
from allocator.io.tables import Table
from allocator.io.loading import validate_row
from allocator.io.records import area_values, validate_areas, validate_one, validate_records
from allocator.io.schemas import Area, AreaFields, Bound, Offer, Previous, record_from

#: Cells a hand-edited spreadsheet holds: plain and Danish numbers, blanks, padding, text, signs.
CELLS = st.sampled_from(["", "0", "3", "12", "12.5", "1.835", "1,5", " 7 ", "-2", "x", "1e3", "nan", "007",
                         "3.0", "a", "b", " a", "ja", "nej", "maybe"])


def _write(tmp_path: Path, name: str, header: list[str], rows: list[list[str]], delimiter: str) -> Table:
    (tmp_path / name).write_text(
        delimiter.join(header) + "\n" + "".join(delimiter.join(row) + "\n" for row in rows), encoding="utf-8")
    (tmp_path / "instance.yaml").write_text(f"table: {name}\n", encoding="utf-8")
    return read_table(read_document(tmp_path / "instance.yaml"), "table")


def _outcome(make: object) -> object:
    try:
        return make()  # type: ignore[operator]
    except InputError as exc:
        return f"InputError: {exc}"


def _row_by_row(record_type: type, table: Table) -> list[object]:
    return [validate_one(record_type, table, i, validate_row) for i in range(len(table))]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELLS, min_size=4, max_size=4), min_size=1, max_size=6),
       delimiter=st.sampled_from([",", ";"]))
def test_bulk_bounds_equal_row_by_row(tmp_path: Path, rows: list[list[str]], delimiter: str) -> None:
    rows = [[cell.replace(delimiter, "") for cell in row] for row in rows]
    table = _write(tmp_path, "bounds.csv", ["area", "specialty", "min", "max"], rows, delimiter)
    assert _outcome(lambda: validate_records(Bound, table, validate_row)) == \
        _outcome(lambda: _row_by_row(Bound, table))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=6))
def test_bulk_previous_equal_row_by_row(tmp_path: Path, rows: list[list[str]]) -> None:
    rows = [[cell.replace(",", "") for cell in row] for row in rows]
    table = _write(tmp_path, "previous.csv", ["area", "specialty", "posts"], rows, ",")
    assert _outcome(lambda: validate_records(Previous, table, validate_row)) == \
        _outcome(lambda: _row_by_row(Previous, table))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELLS, min_size=5, max_size=5), min_size=1, max_size=5),
       delimiter=st.sampled_from([",", ";"]))
def test_bulk_areas_equal_row_by_row(tmp_path: Path, rows: list[list[str]], delimiter: str) -> None:
    rows = [[cell.replace(delimiter, "") for cell in row] for row in rows]
    table = _write(tmp_path, "areas.csv", ["id", "parent", "population", "underserved", "per_gp"], rows, delimiter)

    def one_by_one() -> list[Area]:
        return [record_from(Area, validate_row(AreaFields, area_values(table, i), table.row(i).where(),
                                               table.decimal_comma)) for i in range(len(table))]

    bulk, single = _outcome(lambda: validate_areas(table, validate_row)), _outcome(one_by_one)
    if isinstance(bulk, list) and isinstance(single, list):
        assert [a[:-2] for a in bulk] == [a[:-2] for a in single]  # every field but where it came from
        assert [a.where() for a in bulk] == [table.row(i).where() for i in range(len(table))]
    else:
        assert bulk == single


def test_quoted_blank_and_padded_csv_read_like_plain(tmp_path: Path) -> None:
    """The column-wise CSV path and the line-by-line path agree on values and on line numbers."""
    (tmp_path / "plain.csv").write_text("area,specialty,posts\na,gp,3\nb,gp,4\n", encoding="utf-8")
    (tmp_path / "odd.csv").write_text('area,specialty,posts\n"a",gp, 3\n\nb,gp,4\n', encoding="utf-8")
    (tmp_path / "instance.yaml").write_text("plain: plain.csv\nodd: odd.csv\n", encoding="utf-8")
    document = read_document(tmp_path / "instance.yaml")
    plain, odd = read_table(document, "plain"), read_table(document, "odd")
    assert plain.data == odd.data == {"area": ["a", "b"], "specialty": ["gp", "gp"], "posts": ["3", "4"]}
    assert list(plain.labels) == ["line 2", "line 3"]
    assert list(odd.labels) == ["line 2", "line 4"]


def test_bad_row_deep_in_a_large_table_is_located(tmp_path: Path) -> None:
    rows = [[f"L{i}", "gp", str(i % 7)] for i in range(5000)]
    rows[4321][2] = "fire"
    table = _write(tmp_path, "previous.csv", ["area", "specialty", "posts"], rows, ",")
    with pytest.raises(InputError, match=r"previous.csv, line 4323, field 'posts'.*'fire'"):
        validate_records(Previous, table, validate_row)


def test_records_remember_their_row(tmp_path: Path) -> None:
    table = _write(tmp_path, "offers.csv", ["area", "specialty"], [["a", "gp"], ["b", "psych"]], ",")
    offers = validate_records(Offer, table, validate_row)
    assert offers[1].area == "b" and str(offers[1].where("specialty")).endswith("offers.csv, line 3, field 'specialty'")
