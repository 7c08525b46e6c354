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

import math
import re
from typing import Any, Callable

from itertools import repeat

from allocator.errors import RowsOrigin
from allocator.files import Table
from allocator.files.tables import MISSING
from allocator.schemas import Row, record_from

_PLAIN = re.compile(r"\d+(\.\d+)?")
_DIGITS = re.compile(r"\d+")

#: Why a cell left the fast path: it could not be decided without the schema.
_UNDECIDED = object()


def _identifier(value: Any) -> Any:
    if type(value) is str and value and value == value.strip():
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
            return float(value) if pattern.fullmatch(value) else _UNDECIDED
        if kind is int:
            return float(value) if value >= 0 else _UNDECIDED
        if kind is float:
            return value if value >= 0 and math.isfinite(value) else _UNDECIDED
        if optional and (value is None or value is MISSING):
            return None
        return _UNDECIDED

    return parse


def _parser(kind: str, decimal_comma: bool | None) -> Callable[[Any], Any]:
    if kind == "id":
        return _identifier
    if kind == "id?":
        return _optional_identifier
    if kind in {"number", "number?"}:
        return _number_parser(decimal_comma, optional=kind.endswith("?"))
    raise ValueError(f"unknown column kind {kind!r}")


def validate_one(record_type: type[Any], table: Table, index: int,
                 validate_row: Callable[..., Row]) -> Any:
    """Row ``index`` through the record's pydantic schema: the record, or a located InputError."""
    row = table.row(index)
    valid = validate_row(record_type.schema, row.values, row.where(), table.decimal_comma)
    return record_from(record_type, valid, RowsOrigin(table.file, table.labels), index)


def validate_records(record_type: type[Any], table: Table, validate_row: Callable[..., Row]) -> list[Any]:
    """Every row of ``table`` as a ``record_type`` (:class:`~allocator.schemas.Bound` etc.).

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
        parse = _parser(kind, table.decimal_comma)
        values = [parse(value) for value in table.column(name)]
        undecided.update(i for i, value in enumerate(values) if value is _UNDECIDED)
        columns.append(values)
    origin = RowsOrigin(table.file, table.labels)
    records = list(map(record_type, *columns, repeat(origin), range(len(table))))
    for i in sorted(undecided):
        records[i] = validate_one(record_type, table, i, validate_row)
    return records

