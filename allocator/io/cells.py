"""Parse spreadsheet cells: numbers in Danish or English notation, and yes/no flags."""

from __future__ import annotations

import math
import re

from allocator.io.limits import MAX_NUMBER

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_DK_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")
_EN_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

_TRUE = {"true", "yes", "y", "ja", "j", "x", "1", "sand"}
_FALSE = {"false", "no", "n", "nej", "0", "", "falsk"}


class CellError(ValueError):
    """A cell holds something that is not what the column needs."""


def parse_number(value: object, *, decimal_comma: bool | None = None) -> float | int | None:
    """Turn a cell into a finite number, or None when the cell is empty.

    Parameters
    ----------
    value
        A number, or a string such as ``"1.835.562"``, ``"924,5"`` or ``"12.5"``.
    decimal_comma
        True for Danish notation (``,`` decimal, ``.`` thousands), False for
        English, None to decide from the string (a lone comma is a decimal comma).

    Raises
    ------
    CellError
        When the cell is not a number, or is NaN or infinite.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return _in_range(value, value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"expected a finite number, got {value!r}")
        return _in_range(int(value) if value.is_integer() and abs(value) < 2**53 else value, value)
    if not isinstance(value, str):
        raise CellError(f"expected a number, got {type(value).__name__}")
    text = _SPACES.sub("", value.strip())
    if text == "":
        return None
    if decimal_comma is None:
        decimal_comma = "," in text and "." not in text
    if decimal_comma:
        if _DK_THOUSANDS.match(text):
            text = text.replace(".", "")
        text = text.replace(",", ".")
    elif _EN_THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _PLAIN.match(text):
        raise CellError(f"expected a number, got {value!r}")
    number = float(text)
    if not math.isfinite(number):
        raise CellError(f"expected a finite number, got {value!r}")
    if number.is_integer() and "." not in text and "e" not in text.lower() and abs(number) < 2**53:
        return _in_range(int(number), value)
    return _in_range(number, value)


def _in_range(number: float | int, given: object) -> float | int:
    if abs(number) > MAX_NUMBER:
        raise CellError(f"the number {given!r} is larger than {MAX_NUMBER:.0e}, the largest accepted")
    return number


def parse_flag(value: object) -> bool:
    """Turn a yes/no cell (``true``, ``ja``, ``x``, ``1``, empty …) into a bool."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise CellError(f"expected yes or no (true/false, ja/nej, 1/0), got {value!r}")


#: Fields that are rates (fractions): a person may well write one as a percentage.
RATE_FIELDS = frozenset({"exit_rate", "fill_rate", "retention", "completion", "population_growth"})

_PERCENT = re.compile(r"^\s*([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+))\s*%\s*$")


def fraction_fix(value: object) -> str | None:
    """The fix for a rate written as a percentage (``"70%"``): the fraction to write instead; else None."""
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    percent = float(match.group(1).replace(",", "."))
    return f"write the rate as a fraction, not a percentage: {percent / 100:g} for {value.strip()}"
