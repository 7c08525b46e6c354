"""Numbers, tables and shared limits of the text every writer produces.

Tables are written by polars (Rust): a column of strings is made once per
distinct value and gathered, and polars quotes a field only where CSV needs
it (a separator, a quote, a line feed or a carriage return). Empty cells are
nulls, which polars leaves bare, as Python's csv module does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np
import polars as pl

from allocator.io.tables import FORMULA_TRIGGERS

#: summary.md lists at most this many areas (or binding cells); a larger plan is summed per parent area.
MEMO_AREAS = 300


def format_number(value: float | None) -> str:
    """A post count as text: ``12``, ``12.5``; empty for None or NaN."""
    if value is None or value != value:
        return ""
    if float(value).is_integer():
        return "%d" % value
    return repr(round(float(value), 9))


def text_column(values: np.ndarray, form: Callable[[float], str] = format_number) -> pl.Series:
    """``form`` of every value of a numeric column, made once per distinct value; NaN becomes null."""
    values = np.asarray(values, dtype=float)
    if not len(values):
        return pl.Series(values=[], dtype=pl.String)
    distinct, inverse = np.unique(values, return_inverse=True)
    texts = [None if value != value else form(value) for value in distinct.tolist()]
    return pl.Series(values=texts, dtype=pl.String).gather(inverse.ravel())


def neutralised(text: str) -> str:
    """``text`` made inert for a spreadsheet program: a ``'`` before a leading formula trigger.

    OWASP's rule for CSV injection: a text cell that starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return would run as a formula in Excel or
    LibreOffice. A leading ``'`` is also prefixed, so that the reader can undo
    the rule exactly (:func:`allocator.io.tables.unneutralised`). Numbers are
    never passed here, so ``-2`` in a number column stays a number.
    """
    return "'" + text if text[:1] in FORMULA_TRIGGERS and text else text


def gathered(names: Sequence[Any], codes: np.ndarray, *, empty_as_null: bool = True) -> pl.Series:
    """A string column holding ``names[code]`` for every code: for CSV, empty names become null and
    text is :func:`neutralised`; for JSON (``empty_as_null`` False), names stay as they are."""
    if empty_as_null:
        names = [None if name == "" else neutralised(name) for name in names]
    distinct = pl.Series(values=list(names), dtype=pl.String)
    return distinct.gather(np.asarray(codes, dtype=np.int64)) if len(codes) else pl.Series(values=[], dtype=pl.String)


def csv_text(header: Sequence[str], columns: Sequence[pl.Series | Sequence[Any]], *,
             text: Collection[int] = ()) -> str:
    """A CSV table (``\\n`` line ends, minimal quoting) from columns of text; empty cells stay bare.

    The header and the columns numbered in ``text`` (names, not numbers) are :func:`neutralised`.
    """
    frame = pl.DataFrame({f"c{k}": column if isinstance(column, pl.Series) else
                          pl.Series(values=[None if v is None or v == "" else
                                            neutralised(str(v)) if k in text else str(v) for v in column],
                                    dtype=pl.String)
                          for k, column in enumerate(columns)})
    header_line = pl.DataFrame({f"c{k}": [neutralised(name)] for k, name in enumerate(header)}).write_csv(
        include_header=False, line_terminator="\n")
    return header_line + frame.write_csv(include_header=False, line_terminator="\n", null_value="")
