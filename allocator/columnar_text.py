"""JSON and CSV text for a table held column by column, equal to what :mod:`json` and :mod:`csv` write.

A 50,000-row plan as a list of dicts costs ``json``'s C encoder 0.25 s, and
``csv.writer`` 0.1 s: both look at every key, float and string of every row
on its own. Here each column is encoded once, a repeated string once per
distinct value, and the rows are then joined in one pass. The JSON is the
same, byte for byte, as ``json.dumps(rows, ensure_ascii=False)``; the CSV is
the same as ``csv.writer(…, lineterminator="\\n").writerows(rows)`` with one
deliberate exception: a field holding a carriage return is quoted. Python
3.11's csv leaves it bare with ``\\n`` line ends, and a reader then splits the
row in two. ``tests/test_columnar_text.py`` checks both on generated tables.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from itertools import chain, groupby, repeat
from collections.abc import Callable, Iterable, Sequence
from typing import Any

_LITERALS = {None: "null", True: "true", False: "false"}


def _scalar(value: Any) -> str:
    # json's own spellings: null/true/false, ints as ints, floats by repr, NaN and Infinity.
    if value is None or value is True or value is False:
        return _LITERALS[value]
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False)


def encode_numbers(values: Sequence[Any]) -> list[str]:
    """Each value of a numeric column (floats, ints, None or bools) as JSON text."""
    try:
        # The common case, all finite floats: one C-level pass. A NaN or inf makes the sum
        # non-finite (as may an overflow), and then every value takes the careful path.
        if math.isfinite(math.fsum(values)):
            return list(map(float.__repr__, values))
    except (TypeError, OverflowError):  # a None, int or bool, or floats whose sum overflows
        pass
    return [_scalar(value) for value in values]


def encode_repeated(values: Sequence[Any]) -> list[str]:
    """Each value of a column with few distinct strings, tuples of strings or flags as JSON text.

    Each distinct value is encoded once; tuples become arrays. Numbers do not
    belong here: equal numbers may spell differently (``1`` and ``True``,
    ``0.0`` and ``-0.0``); see :func:`encode_runs`.
    """
    text = {value: json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)
            for value in set(values)}
    return [text[value] for value in values]


def encode_runs(values: Sequence[Any], encode: Callable[[Any], str] | None = None) -> list[str]:
    """Each value of a column as JSON text (or by ``encode``), encoding a run of one repeated object once.

    For a column such as a leaf's need index, repeated over the leaf's cells.
    Runs are told apart by object identity, never by equality, so the text is
    always exact; a column without runs is only slower.
    """
    encode = encode or _scalar
    encoded: list[str] = []
    for _, run in groupby(values, key=id):
        members = list(run)
        encoded += [encode(members[0])] * len(members)
    return encoded


def encode_rows(keys: Sequence[str], columns: Sequence[Sequence[str]], separator: str = ", ") -> str:
    """Objects with ``keys``, one per row, from columns of already encoded values, joined by ``separator``.

    Equal to the items of ``json.dumps([{key: value, …}, …], ensure_ascii=False)``
    when the columns come from :func:`encode_numbers` and :func:`encode_repeated`.
    """
    if not columns or not columns[0]:
        return ""
    # One flat run of pieces, key prefix and value in turn, joined in one call: faster than a
    # format template per row.
    prefixes = ["{"] + [", "] * (len(keys) - 1)
    pieces: list[Any] = []
    for prefix, key, column in zip(prefixes, keys, columns):
        pieces += [repeat(prefix + json.dumps(key, ensure_ascii=False) + ": "), column]
    pieces.append(repeat("}" + separator))
    return "".join(chain.from_iterable(zip(*pieces)))[:-len(separator)]


#: A field holding none of these is written bare by csv's minimal quoting.
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def csv_fields(values: Sequence[str]) -> list[str]:
    """Each string of a column with few distinct values as a CSV field, quoted as :mod:`csv` quotes it.

    A field with a carriage return is quoted as well (see the module's note).
    """
    distinct = set(values)
    if not _NEEDS_QUOTES.search("".join(distinct)):
        return list(values)
    text: dict[str, str] = {}
    buffer = io.StringIO()
    # csv quotes a field holding any character of the line terminator: "\r\n" makes it quote a
    # lone "\r" too. The terminator itself is cut off below.
    writer = csv.writer(buffer, lineterminator="\r\n")
    for value in distinct:
        buffer.seek(0)
        buffer.truncate()
        # Beside a second field, so that an empty string is not quoted as a lone field would be.
        writer.writerow([value, ""])
        text[value] = buffer.getvalue()[:-3]
    return [text[value] for value in values]


def csv_table(rows: Iterable[Sequence[object]]) -> str:
    """CSV text of whole rows (header included), as :func:`csv_fields` and :func:`csv_lines` write them.

    None becomes an empty field and other values their ``str``, as in :mod:`csv`.
    """
    columns = list(zip(*rows))
    return csv_lines([csv_fields(["" if v is None else v if isinstance(v, str) else str(v) for v in column])
                      for column in columns])


def csv_lines(columns: Sequence[Sequence[str]]) -> str:
    """CSV lines ending in ``\\n`` from columns of fields that need no further quoting.

    Numbers formatted by Python need none; strings go through :func:`csv_fields`.
    """
    if not columns or not columns[0]:
        return ""
    pieces: list[Any] = []
    for column in columns[:-1]:
        pieces += [column, repeat(",")]
    pieces += [columns[-1], repeat("\n")]
    return "".join(chain.from_iterable(zip(*pieces)))
