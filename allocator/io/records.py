"""Validate cell-level tables (bounds, last year's posts, offers) in bulk.

A national instance has hundreds of thousands of such rows, and validating
each through pydantic costs ~30 µs a row. Here each column is screened at
once: a cell takes the fast path only when its form leaves no doubt (a
non-empty identifier; a plain non-negative decimal such as ``12`` or ``12.5``;
an empty optional cell). Every other row goes through the row's pydantic
schema, which either accepts it or raises the located error. The fast path
accepts a subset of what the schema accepts and yields the same values, so the
result never depends on which path a row took (tested).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any, Callable

from allocator.errors import RowsOrigin
from allocator.io import Table
from allocator.io.cells import CellError, parse_flag
from allocator.io.limits import MAX_NUMBER
from allocator.io.schemas import Area, AreaFields, Records, Row, record_from
from allocator.io.tables import MISSING

_PLAIN = re.compile(r"\d+(\.\d+)?")
_DIGITS = re.compile(r"\d+")

#: Why a cell left the fast path: it could not be decided without the schema.
_UNDECIDED = object()


def _identifier(value: Any) -> Any:
    if type(value) is str and value and value == value.strip() and (
            value.isascii() or unicodedata.is_normalized("NFC", value)):
        return value
    return _UNDECIDED


def _optional_identifier(value: Any) -> Any:
    if value is None or value is MISSING:
        return None
    return _identifier(value)


def _number_parser(decimal_comma: bool | None, optional: bool) -> Callable[[Any], Any]:
    # In Danish notation "1.835" means 1835, so only digits are plain there.
    pattern = _DIGITS if decimal_comma else _PLAIN

    def parse(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            number = float(value) if pattern.fullmatch(value) else MAX_NUMBER + 1
            return number if number <= MAX_NUMBER else _UNDECIDED
        if kind is int:
            return float(value) if 0 <= value <= MAX_NUMBER else _UNDECIDED
        if kind is float:
            return value if 0 <= value <= MAX_NUMBER else _UNDECIDED
        if optional and (value is None or value is MISSING):
            return None
        return _UNDECIDED

    return parse


def _optional_text(value: Any) -> Any:
    if value is None or value is MISSING:
        return None
    return value if type(value) is str else _UNDECIDED


def _flag(value: Any) -> Any:
    if value is None or value is MISSING:
        return False
    if type(value) is str:
        try:
            return parse_flag(value)
        except CellError:
            return _UNDECIDED
    return _UNDECIDED


def _parser(kind: str, decimal_comma: bool | None) -> Callable[[Any], Any]:
    if kind == "id":
        return _identifier
    if kind == "id?":
        return _optional_identifier
    if kind == "text?":
        return _optional_text
    if kind == "flag":
        return _flag
    if kind in {"number", "number?"}:
        return _number_parser(decimal_comma, optional=kind.endswith("?"))
    raise ValueError(f"unknown column kind {kind!r}")


_PLAIN_LINES = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:\n[0-9]+(?:\.[0-9]+)?)*")
_DIGIT_LINES = re.compile(r"[0-9]+(?:\n[0-9]+)*")


def _screen_text_column(kind: str, cells: list[Any], decimal_comma: bool | None) -> list[Any] | None:
    """The parsed column when one check over the whole column settles it, else None.

    Only for CSV columns, whose cells are stripped text or None.
    """
    if kind in {"id", "id?"} and not _nfc_column(cells):
        return None  # some id is not in NFC: each cell goes through the parser, which normalises it
    if kind == "id":
        return cells if None not in cells else None
    if kind in {"id?", "text?"}:
        return cells
    if kind == "flag":
        meaning = {}
        for cell in set(cells):
            decided = _flag(cell)
            if decided is _UNDECIDED:
                return None
            meaning[cell] = decided
        return [meaning[cell] for cell in cells]
    if kind in {"number", "number?"}:
        present = [cell for cell in cells if cell is not None]
        if len(present) < len(cells) and kind == "number":
            return None
        lines = _DIGIT_LINES if decimal_comma else _PLAIN_LINES
        if present and not lines.fullmatch("\n".join(present)):
            return None
        values = list(map(float, cells)) if len(present) == len(cells) else \
            [None if cell is None else float(cell) for cell in cells]
        if present and max(value for value in values if value is not None) > MAX_NUMBER:
            return None
        return values
    return None


def _nfc_column(cells: list[Any]) -> bool:
    """Whether every text cell is already in Unicode NFC (checked at once when the column is ASCII)."""
    text = "\n".join(cell for cell in cells if cell is not None)
    return text.isascii() or unicodedata.is_normalized("NFC", text)


def validate_one(record_type: type[Any], table: Table, index: int,
                 validate_row: Callable[..., Row]) -> Any:
    """Row ``index`` through the record's pydantic schema: the record, or a located InputError."""
    row = table.row(index)
    valid = validate_row(record_type.schema, row.values, row.where(), table.decimal_comma)
    return record_from(record_type, valid, RowsOrigin(table.file, table.labels), index)


def validate_records(record_type: type[Any], table: Table, validate_row: Callable[..., Row]) -> Sequence[Any]:
    """Every row of ``table`` as a ``record_type`` (:class:`~allocator.io.schemas.Bound` etc.).

    Parameters
    ----------
    validate_row
        The precise one-row validator, used for every row the fast path
        cannot decide; it raises the located :class:`InputError`.
    """
    kinds: dict[str, str] = record_type.fast
    if any(name not in kinds for name in table.columns):
        # An unknown column: the schema names it and suggests the right one.
        return [validate_one(record_type, table, i, validate_row) for i in range(len(table))]
    columns = []
    undecided: set[int] = set()
    for name, kind in kinds.items():
        cells = table.column(name)
        values = _screen_text_column(kind, cells, table.decimal_comma) if table.text_cells and name in table.data else None
        if values is None:
            parse = _parser(kind, table.decimal_comma)
            values = [parse(value) for value in cells]
            undecided.update(i for i, value in enumerate(values) if value is _UNDECIDED)
        columns.append(values)
    origin = RowsOrigin(table.file, table.labels)
    if undecided:  # the screened columns may be the table's own lists: fill in copies
        columns = [list(column) for column in columns]
    for i in sorted(undecided):
        record = validate_one(record_type, table, i, validate_row)
        for column, value in zip(columns, record):
            column[i] = value
    return Records(record_type, dict(zip(kinds, columns)), origin)


#: How the bulk path reads each known column of an areas table; any other column is an indicator.
AREA_COLUMNS = {"id": "id", "name": "text?", "parent": "id?", "population": "number?", "underserved": "flag"}


def area_values(table: Table, index: int) -> dict[str, Any]:
    """Row ``index`` of a spreadsheet of areas, with its extra columns gathered as indicators."""
    values = dict(table.row(index).values)
    extra = {key: values.pop(key) for key in list(values) if key not in AREA_COLUMNS and key != "indicators"}
    values["indicators"] = {key: value for key, value in extra.items() if value is not None}
    return values


def validate_areas(table: Table, validate_row: Callable[..., Row]) -> list[Area]:
    """Every row of a spreadsheet of areas as an :class:`Area` (extra columns are indicators).

    Rows whose every cell the fast path can decide are built directly; the
    rest go through the schema (:class:`~allocator.io.schemas.AreaFields`).
    """
    origin = RowsOrigin(table.file, table.labels)
    if "indicators" in table.columns or "id" not in table.columns:
        return [_precise_area(table, i, origin, validate_row) for i in range(len(table))]
    columns: dict[str, list[Any]] = {}
    undecided: set[int] = set()
    for name in table.columns:
        kind = AREA_COLUMNS.get(name, "number?")
        screened = _screen_text_column(kind, table.column(name), table.decimal_comma) if table.text_cells else None
        if screened is not None:
            columns[name] = screened
            continue
        parse = _parser(kind, table.decimal_comma)
        columns[name] = [parse(value) for value in table.column(name)]
        undecided.update(i for i, value in enumerate(columns[name]) if value is _UNDECIDED)
    indicator_names = [name for name in columns if name not in AREA_COLUMNS]
    n = len(table)
    fixed = [columns.get(name) or [default] * n
             for name, default in (("id", None), ("name", None), ("parent", None), ("population", None),
                                   ("underserved", False))]
    indicators = [{name: columns[name][i] for name in indicator_names if columns[name][i] is not None}
                  for i in range(n)]
    areas = [Area(*values, origin, i) for i, values in enumerate(zip(*fixed, indicators))]
    for i in sorted(undecided):
        areas[i] = _precise_area(table, i, origin, validate_row)
    return areas


def _precise_area(table: Table, index: int, origin: RowsOrigin, validate_row: Callable[..., Row]) -> Area:
    valid = validate_row(AreaFields, area_values(table, index), origin.at(index), table.decimal_comma)
    return record_from(Area, valid, origin, index)  # type: ignore[no-any-return]
