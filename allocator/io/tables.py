"""Read tables: inline rows, CSV (English or Danish notation) and XLSX.

Every row keeps its place in the file, so a bad cell is reported as
``areas.csv, line 7, field 'population'`` rather than as an index.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from allocator.errors import InputError, Location, printable
from allocator.io.documents import Document, _read_bytes
from allocator.io.limits import (MAX_TABLE_BYTES, MAX_TABLE_COLUMNS, MAX_TABLE_ROWS, MAX_XLSX_PARTS,
                                 MAX_XLSX_UNPACKED_BYTES)


@dataclass(frozen=True)
class TableRow:
    """One row of a table, with the cells by column name and where it came from."""

    values: dict[str, Any]
    file: Path
    label: str

    def where(self, field_name: str | None = None) -> Location:
        """The location of this row, optionally narrowed to one field."""
        return Location(self.file, self.label, field_name)


#: A text cell starting with one of these is a formula to a spreadsheet program (OWASP's CSV injection list,
#: plus the quote itself so that the rule can be undone). The CSV writers put a ``'`` before such a cell;
#: the CSV reader takes one ``'`` off a cell that starts with ``'`` and one of these, so our files read back.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def unneutralised(cell: str | None) -> str | None:
    """``cell`` without the ``'`` a CSV writer put before a formula trigger (see :data:`FORMULA_TRIGGERS`)."""
    if cell is not None and cell[:1] == "'" and cell[1:2] in FORMULA_TRIGGERS and len(cell) > 1:
        return cell[1:]
    return cell


#: Columns that hold ids in every table. Written bare in YAML, their values are kept as written.
ID_COLUMNS = frozenset({"id", "parent", "area", "specialty"})


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
        row = {str(k).strip(): v for k, v in item.items()}
        for name in ID_COLUMNS & row.keys():
            if not isinstance(row[name], str) and (key, index, name) in document.plain:
                row[name] = document.plain[(key, index, name)]  # '0101' stays 0101, not 65
        items.append(row)
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
        if "'" in rest:
            data = {name: list(map(unneutralised, cells)) for name, cells in data.items()}
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
        records.append([unneutralised(values[i].strip() or None) for i in named])
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
    """Read one sheet of a workbook, as hostile input: nothing it claims about itself is trusted.

    The unpacked size of every part is capped before openpyxl sees the file, the
    ``<dimension>`` record is ignored (cells are read as they are, so a stale one
    loses nothing and a huge one costs nothing), a formula with no saved value
    is refused, and any malformed part is a located :class:`InputError`.
    """
    _check_xlsx_parts(path, raw)
    try:
        return _read_sheet(path, raw, sheet)
    except InputError:
        raise
    except Exception as exc:  # the workbook is a stranger's file: whatever breaks in it is bad input, not a bug
        raise InputError(f"not a readable XLSX workbook ({_describe_failure(exc)})", where=Location(path),
                         fix="open it in Excel or LibreOffice and save it again as .xlsx") from None


def _describe_failure(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _check_xlsx_parts(path: Path, raw: bytes) -> None:
    """Refuse a workbook whose parts unpack beyond the limits (a zip bomb), from the zip directory alone.

    The sizes the directory declares are binding: :mod:`zipfile` stops reading a
    part at its declared size and fails its checksum if there was more.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError(f"not a readable XLSX workbook ({_describe_failure(exc)})", where=Location(path),
                         fix="save the file from Excel as .xlsx") from None
    if len(parts) > MAX_XLSX_PARTS:
        raise InputError(f"the workbook holds {len(parts):,} parts, over the limit of {MAX_XLSX_PARTS:,}",
                         where=Location(path), fix="save the table alone in a new workbook, or as CSV")
    total = 0
    for part in parts:
        total += part.file_size
        if part.file_size > MAX_XLSX_UNPACKED_BYTES or total > MAX_XLSX_UNPACKED_BYTES:
            raise InputError(
                f"the workbook unpacks to more than {MAX_XLSX_UNPACKED_BYTES:,} bytes "
                f"(part '{printable(part.filename)}' alone is {part.file_size:,})",
                where=Location(path), fix="save the table as CSV, or split it over several files")
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for part in parts:
            if not part.filename.endswith((".xml", ".rels")):
                continue
            try:
                with archive.open(part) as stream:
                    prolog = stream.read(_PROLOG_BYTES)
            except Exception:  # a broken part is reported with its context when openpyxl reads it
                continue
            if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                # Office never writes a DTD; one in a workbook is there to expand entities (an XML bomb).
                raise InputError(f"the part '{printable(part.filename)}' declares a DTD or entities, "
                                 "which no spreadsheet program writes", where=Location(path),
                                 fix="open the workbook in Excel or LibreOffice and save it again as .xlsx")


#: How much of each XML part is searched for a DTD: it can only sit in the prolog, before the root element.
_PROLOG_BYTES = 4096


@functools.cache
def _sheet_parser() -> type:
    """openpyxl's own sheet parser, asked one more question per cell: is it a formula with no saved value?

    Such a cell (any workbook written by a script and never opened in Excel)
    reads as empty with ``data_only``, which would silently drop a bound.
    Built on first use, so that only spreadsheet users import openpyxl.
    """
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class SheetCells(WorkSheetParser):  # type: ignore[misc]
        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                cell["data_type"] = UNSAVED_FORMULA
            return cell

    return SheetCells


#: The data type :func:`_sheet_parser`'s cells have for a formula cell whose value was never computed.
UNSAVED_FORMULA = "formula without value"


def _read_sheet(path: Path, raw: bytes, sheet: str | None) -> Table:
    import openpyxl  # imported here: only spreadsheet users pay for it
    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(f"the workbook has no sheet '{printable(sheet)}' "
                             f"(it has {', '.join(map(printable, book.sheetnames))})",
                             where=Location(path), fix="name an existing sheet after '#'")
        if not book.worksheets:
            raise InputError("the workbook has no sheet", where=Location(path), fix="save the table in a sheet")
        worksheet = book[sheet] if sheet else book.worksheets[0]
        title = printable(worksheet.title)
        # The read-only worksheet pads every row to the width its <dimension> claims (XFD: 16,384
        # cells) and invents the rows up to the height it claims; its parser yields only the cells
        # that exist, so we read through that, with the workbook's own strings and date formats.
        source = worksheet._get_source()
        try:
            parser = _sheet_parser()(source, worksheet._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
            rows = _parsed_rows(path, title, worksheet._worksheet_path, parser)
            header: list[str] = []
            header_row = 0
            for header_row, cells in rows:
                header = _header_cells(path, title, header_row, cells)
                if any(header):
                    break
            if not any(header):
                raise InputError("the sheet has no header row", where=Location(path, f"sheet '{title}' row 1"),
                                 fix="put the column names on the first row")
            columns = _check_header(path, f"sheet '{title}' row {header_row}", header)
            named = {i + 1: k for k, i in enumerate(i for i, name in enumerate(columns) if name)}
            width = len(columns)
            records: list[list[Any]] = []
            numbers: list[int] = []
            blank = [None] * len(named)
            for number, cells in rows:
                values = list(blank)
                filled = False
                for cell in cells:
                    value = cell["value"]
                    if cell["data_type"] == UNSAVED_FORMULA:
                        raise InputError(
                            f"cell {get_column_letter(cell['column'])}{number} holds a formula with no saved value",
                            where=Location(path, f"sheet '{title}' row {number}", _column_name(columns, cell)),
                            fix="open the workbook in Excel or LibreOffice and save it, or type the value")
                    if isinstance(value, str):
                        value = value.strip() or None
                    if value is None:
                        continue
                    position = named.get(cell["column"])
                    if position is None:
                        if cell["column"] > width:
                            raise InputError(
                                f"cell {get_column_letter(cell['column'])}{number} holds a value to the right of "
                                "the last named column", where=Location(path, f"sheet '{title}' row {number}"),
                                fix="give that column a header, or delete the cell")
                        continue  # a column with no header, as in CSV
                    values[position] = value
                    filled = True
                if not filled:
                    continue
                records.append(values)
                numbers.append(number)
                if len(records) > MAX_TABLE_ROWS:
                    raise _too_many_rows(path)
        finally:
            source.close()
    finally:
        book.close()
    return Table(_by_column([columns[i - 1] for i in named], records),
                 LineLabels(numbers, f"sheet '{title}' row {{}}"), path)


def _parsed_rows(path: Path, title: str, part: str, parser: Any) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The sheet's non-empty rows; malformed XML in it is reported with the sheet and the part."""
    rows = parser.parse()
    while True:
        try:
            number, cells = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # expat's ParseError, defusedxml's refusals, openpyxl's own ValueErrors
            raise InputError(f"the sheet '{title}' (part {printable(part)}) is not readable "
                             f"({_describe_failure(exc)})", where=Location(path),
                             fix="open the workbook in Excel or LibreOffice and save it again as .xlsx") from None
        if cells:
            yield number, cells


def _header_cells(path: Path, title: str, number: int, cells: list[dict[str, Any]]) -> list[str]:
    width = max(cell["column"] for cell in cells)
    if width > MAX_TABLE_COLUMNS:
        raise InputError(f"the header reaches column {width:,}, over the limit of {MAX_TABLE_COLUMNS:,}",
                         where=Location(path, f"sheet '{title}' row {number}"),
                         fix="delete the stray cells to the right of the table")
    header = [""] * width
    for cell in cells:
        if cell["data_type"] == UNSAVED_FORMULA:
            raise InputError("a column name is a formula with no saved value",
                             where=Location(path, f"sheet '{title}' row {number}"), fix="type the column name")
        if cell["value"] is not None:
            header[cell["column"] - 1] = str(cell["value"]).strip()
    return header


def _column_name(columns: list[str], cell: dict[str, Any]) -> str | None:
    index = cell["column"] - 1
    return columns[index] or None if index < len(columns) else None
