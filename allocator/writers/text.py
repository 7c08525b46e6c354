"""Numbers, tables and shared limits of the text every writer produces.

Tables are written by polars (Rust): a column of strings is made once per
distinct value and gathered, and polars quotes a field only where CSV needs
it (a separator, a quote, a line feed or a carriage return). Empty cells are
nulls, which polars leaves bare, as Python's csv module does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl

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


def gathered(names: Sequence[Any], codes: np.ndarray, *, empty_as_null: bool = True) -> pl.Series:
    """A string column holding ``names[code]`` for every code (empty names become null, for CSV)."""
    distinct = pl.Series(values=[None if name == "" and empty_as_null else name for name in names], dtype=pl.String)
    return distinct.gather(np.asarray(codes, dtype=np.int64)) if len(codes) else pl.Series(values=[], dtype=pl.String)


def csv_text(header: Sequence[str], columns: Sequence[pl.Series | Sequence[Any]]) -> str:
    """A CSV table (``\\n`` line ends, minimal quoting) from columns of text; empty cells stay bare."""
    frame = pl.DataFrame({f"c{k}": column if isinstance(column, pl.Series) else
                          pl.Series(values=[None if v is None or v == "" else str(v) for v in column], dtype=pl.String)
                          for k, column in enumerate(columns)})
    header_line = pl.DataFrame({f"c{k}": [name] for k, name in enumerate(header)}).write_csv(
        include_header=False, line_terminator="\n")
    return header_line + frame.write_csv(include_header=False, line_terminator="\n", null_value="")
