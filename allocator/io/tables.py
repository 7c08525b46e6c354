"""Read tables: inline rows, CSV (English or Danish notation) and XLSX.

Every row keeps its place in the file, so a bad cell is reported as
``areas.csv, line 7, field 'population'`` rather than as an index.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from allocator.errors import InputError, Location
from allocator.io.documents import Document, _read_bytes
from allocator.io.limits import MAX_TABLE_BYTES, MAX_TABLE_ROWS


@dataclass(frozen=True)
class TableRow:
    """One row of a table, with the cells by column name and where it came from."""

    values: dict[str, Any]
    file: Path
    label: str

    def where(self, field_name: str | None = None) -> Location:
        """The location of this row, optionally narrowed to one field."""
        return Location(self.file, self.label, field_name)


#: Marks a key that an inline row does not have (as opposed to a key given as empty).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class LineLabels(Sequence[str]):
    """Row labels such as ``line 7``, made only when one is asked for."""

    def __init__(self, numbers: Sequence[int], template: str = "line {}"):
        self._numbers = numbers
        self._template = template

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._template.format(n) for n in self._numbers[index]]
        return self._template.format(self._numbers[index])


@dataclass
class Table:
    """Rows read from one source, stored by column so that large tables stay cheap.

    Attributes
    ----------
    data
        The cells of each column, in file order of columns and of non-blank
        rows: stripped text, numbers (XLSX, YAML), None for an empty cell, or
        :data:`MISSING` for a key that an inline row does not have.
    labels
        Where each row sits, e.g. ``line 7``.
    file
        The file the rows came from.
    decimal_comma
        True when numbers use Danish notation (a ``;``-separated CSV), None
        when each value decides for itself (YAML, JSON, XLSX).
    files
        The table files read (not the document), for hashing into the plan.
    text_cells
        True when every cell is stripped, non-empty text or None (CSV).
    """

    data: dict[str, list[Any]] = field(default_factory=dict)
    labels: Sequence[str] = field(default_factory=list)
    file: Path | None = None
    decimal_comma: bool | None = None
    files: dict[Path, bytes] = field(default_factory=dict)
    text_cells: bool = False

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def columns(self) -> list[str]:
        """The column names, in file order."""
        return list(self.data)

    def row(self, index: int) -> TableRow:
        """Row ``index`` as a mapping of the columns it has."""
        values = {name: cells[index] for name, cells in self.data.items() if cells[index] is not MISSING}
        return TableRow(values, self.file or Path(), self.labels[index])

    @property
    def rows(self) -> list[TableRow]:
        """Every row as a :class:`TableRow` (for small tables and for precise error reports)."""
        return [self.row(i) for i in range(len(self))]

    def column(self, name: str) -> list[Any]:
        """The cells of column ``name`` (MISSING in every row when there is no such column)."""
        return self.data.get(name) or [MISSING] * len(self)


def _by_column(names: list[str], records: list[list[Any]]) -> dict[str, list[Any]]:
    cells = list(zip(*records)) if records else [()] * len(names)
    return {name: list(column) for name, column in zip(names, cells)}


def read_table(document: Document, key: str, *, required: bool = True) -> Table:
    """Read the table stored under ``key`` of ``document``.

    The value may be a list of mappings (inline rows), or a path, relative to
    the document, of a ``.csv`` or ``.xlsx`` file (``file.xlsx#Sheet`` names a
    sheet).
    """
    value = document.data.get(key)
    if value is None:
        if required:
            raise InputError(
                f"the table '{key}' is missing",
                where=Location(document.path),
                fix=f"add '{key}:' with rows inline, or the path of a CSV/XLSX file",
            )
        return Table()
    if isinstance(value, str):
        return _read_table_file(document, key, value)
    if not isinstance(value, list):
        raise InputError(
            f"'{key}' must be a list of rows or the path of a CSV/XLSX file",
            where=document.locate((key,)),
            fix=f"write '{key}:' followed by '- ' rows, or a file name",
        )
    items: list[dict[str, Any]] = []
    labels: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(
                "each row must be a mapping of field: value",
                where=document.locate((key, index)),
                fix="write the row as '- id: …'",
            )
        line = document.lines.get((key, index))
        labels.append(f"{key} row {index + 1}" + (f" (line {line})" if line else ""))
        items.append({str(k).strip(): v for k, v in item.items()})
    columns = list(dict.fromkeys(name for item in items for name in item))
    data = {name: [item.get(name, MISSING) for item in items] for name in columns}
    return Table(data, labels, document.path)


def _read_table_file(document: Document, key: str, reference: str) -> Table:
    name, _, sheet = reference.partition("#")
    if "\x00" in name:  # no file name holds a NUL byte, and the OS refuses to resolve one (ValueError)
        raise InputError(f"'{key}' refers to a file name with a NUL byte", where=document.locate((key,)),
                         fix="write the name of the table file, e.g. areas.csv")
    path = (document.path.parent / name).resolve()
    shown = document.path.parent / name
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".xlsx", ".txt", ".tsv"}:
        raise InputError(
            f"'{key}' refers to '{reference}', which is not a .csv or .xlsx file",
            where=document.locate((key,)),
            fix="save the table as CSV or XLSX",
        )
    if not path.exists():
        raise InputError(
            f"'{key}' refers to '{reference}', which does not exist",
            where=document.locate((key,)),
            fix=f"put the file next to {document.path.name} or correct the path",
        )
    raw = _read_bytes(path, MAX_TABLE_BYTES)
    if suffix == ".xlsx":
        table = _parse_xlsx(shown, raw, sheet or None)
    else:
        table = _parse_csv(shown, raw)
    table.files[shown] = raw
    return table


def read_table_file(path: Path) -> Table:
    """Read a standalone CSV or XLSX table (``file.xlsx#Sheet`` names a sheet)."""
    name, _, sheet = str(path).partition("#")
    file = Path(name)
    suffix = file.suffix.lower()
    if suffix not in {".csv", ".xlsx", ".txt", ".tsv"}:
        raise InputError("the table is not a .csv or .xlsx file", where=Location(file),
                         fix="save the table as CSV or XLSX")
    if not file.is_file():
        raise InputError("the file does not exist", where=Location(file), fix="check the path")
    raw = _read_bytes(file, MAX_TABLE_BYTES)
    table = _parse_xlsx(file, raw, sheet or None) if suffix == ".xlsx" else _parse_csv(file, raw)
    table.files[file] = raw
    return table


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV (semicolon separated)" as Windows-1252.
        text = raw.decode("cp1252", errors="replace")
        if "\ufffd" in text:
            raise InputError(
                "the file is neither UTF-8 nor Windows-1252 text",
                where=Location(path),
                fix="save it from Excel as 'CSV UTF-8'",
            ) from None
        return text


def _parse_csv(path: Path, raw: bytes) -> Table:
    text = _decode(path, raw)
    if "\x00" in text:
        raise InputError("the file holds binary data (NUL bytes), not CSV text", where=Location(path),
                         fix="export the sheet as CSV")
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"unreadable CSV: {exc}", where=Location(path, "line 1"), fix="re-export the file") from None
    if not header or not any(cell.strip() for cell in header):
        raise InputError("the file has no header row", where=Location(path, "line 1"),
                         fix="put the column names (id, population, …) on the first line")
    columns = _check_header(path, "line 1", [cell.strip() for cell in header])
    width = len(columns)
    named = [i for i, name in enumerate(columns) if name]
    rest = text.split("\n", 1)[1].rstrip("\r\n") if "\n" in text else ""
    blank_line = re.compile(rf"^[ \t\r\u00a0{re.escape(delimiter)}]*$", re.MULTILINE)
    lines = rest.split("\n") if rest else []
    if len(lines) > MAX_TABLE_ROWS:
        raise _too_many_rows(path)
    frame = None
    if lines and '"' not in text and not blank_line.search(rest) and \
            set(map(str.count, lines, repeat(delimiter))) <= {width - 1}:
        # No quotes, no blank lines and no short rows: row k sits on line k + 2, and polars
        # splits the table into columns (empty cells become None).
        import polars as pl  # imported here: only tables read from CSV pay for it

        frame = pl.read_csv(rest.encode("utf-8"), has_header=False, separator=delimiter, infer_schema=False,
                            quote_char=None, new_columns=[f"c{i}" for i in range(width)])
    if frame is not None and frame.height == len(lines):  # else a stray carriage return split a line: see below
        cells_of = [frame[f"c{i}"].to_list() for i in range(width)]
        # Strip only when some cell may need it: any non-ASCII text, or any ASCII space that str.strip() removes.
        spaces = set(" \t\x0b\x0c\x1c\x1d\x1e\x1f") - {delimiter}
        padded = not rest.isascii() or any(space in rest for space in spaces)
        if padded:
            data = {columns[i]: [None if cell is None else cell.strip() or None for cell in cells_of[i]]
                    for i in named}
        else:
            data = {columns[i]: cells_of[i] for i in named}
        return Table(data, LineLabels(range(2, len(lines) + 2)), path, decimal_comma=delimiter == ";",
                     text_cells=True)
    try:
        body = list(reader)
    except csv.Error as exc:
        raise InputError(f"unreadable CSV: {exc}", where=Location(path, f"line {reader.line_num}"),
                         fix="check the quotes on that line") from None
    if len(body) > MAX_TABLE_ROWS:
        raise _too_many_rows(path)
    records: list[list[Any]] = []
    numbers: list[int] = []
    # csv's line_num is lost after list(); count lines again for tables with quotes or odd rows.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)
    for values in reader:
        if not "".join(values).strip():
            continue
        if len(values) != width:
            if len(values) > width and "".join(values[width:]).strip():
                raise InputError(
                    f"the row has {len(values)} cells but the header has {width} columns",
                    where=Location(path, f"line {reader.line_num}"),
                    fix=f"check for a stray '{delimiter}' or a decimal comma in a comma-separated file",
                )
            values = (values + [""] * width)[:width]
        records.append([values[i].strip() or None for i in named])
        numbers.append(reader.line_num)
    return Table(_by_column([columns[i] for i in named], records), LineLabels(numbers), path,
                 decimal_comma=delimiter == ";", text_cells=True)


def _check_header(path: Path, label: str, columns: list[str]) -> list[str]:
    seen: set[str] = set()
    for name in columns:
        if name and name in seen:
            raise InputError(f"the column '{name}' appears twice in the header", where=Location(path, label),
                             fix="rename or remove one of them")
        seen.add(name)
    return columns


def _too_many_rows(path: Path) -> InputError:
    return InputError(f"the table has more than {MAX_TABLE_ROWS:,} rows", where=Location(path),
                      fix="split the instance or aggregate the areas")


def _parse_xlsx(path: Path, raw: bytes, sheet: str | None) -> Table:
    import openpyxl  # imported here: only spreadsheet users pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise InputError(f"not a readable XLSX workbook ({type(exc).__name__})", where=Location(path),
                         fix="save the file from Excel as .xlsx") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(f"the workbook has no sheet '{sheet}' (it has {', '.join(book.sheetnames)})",
                             where=Location(path), fix="name an existing sheet after '#'")
        worksheet = book[sheet] if sheet else book.worksheets[0]
        title = worksheet.title
        iterator = worksheet.iter_rows(values_only=True)
        header = next(iterator, None)
        if not header or not any(cell is not None and str(cell).strip() for cell in header):
            raise InputError("the sheet has no header row", where=Location(path, f"sheet '{title}' row 1"),
                             fix="put the column names on the first row")
        columns = _check_header(path, f"sheet '{title}' row 1",
                                [str(cell).strip() if cell is not None else "" for cell in header])
        named = [i for i, name in enumerate(columns) if name]
        records: list[list[Any]] = []
        numbers: list[int] = []
        for number, values in enumerate(iterator, start=2):
            cleaned = [v.strip() or None if isinstance(v, str) else v for v in values]
            if all(v is None for v in cleaned):
                continue
            records.append([cleaned[i] if i < len(cleaned) else None for i in named])
            numbers.append(number)
            if len(records) > MAX_TABLE_ROWS:
                raise _too_many_rows(path)
    finally:
        book.close()
    return Table(_by_column([columns[i] for i in named], records), LineLabels(numbers, f"sheet '{title}' row {{}}"),
                 path)
