"""Numbers and shared limits of the text every writer produces."""

from __future__ import annotations

from collections.abc import Sequence

#: summary.md lists at most this many areas (or binding cells); a larger plan is summed per parent area.
MEMO_AREAS = 300


def format_number(value: float | None) -> str:
    """A post count as text: ``12``, ``12.5``; empty for None."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 9))


def format_numbers(values: Sequence[float | None]) -> list[str]:
    """:func:`format_number` over a whole column."""
    try:
        if all(map(float.is_integer, values)):  # whole posts, the usual case: one C-level pass
            # Few distinct counts, and equal whole floats (0.0, -0.0) print alike: format each once.
            text = {value: "%d" % value for value in set(values)}
            return [text[value] for value in values]
    except TypeError:  # a None among them
        pass
    return ["" if v is None else str(int(v)) if v.is_integer() else repr(round(v, 9)) for v in values]
