"""The message catalogue: every sentence of the reports and of `solve`'s console, in Danish and English.

The catalogues are gettext ``.po`` files under ``allocator/locale/<lang>/LC_MESSAGES/allocator.po``,
read as they are (no binary ``.mo`` file to keep in step with its source).
The message ids are the English sentences; the English catalogue repeats them, so a missing
translation shows up in the test that every message has both (tests/test_language.py), not as
a silent fallback. Numbers go through Babel's CLDR data: Danish ``1.835.562`` and ``924,5``.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from allocator.writers.text import format_number

#: Where the catalogues live.
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
#: The languages every message exists in.
LANGUAGES = ("da", "en")
#: The catalogue's domain (file name).
DOMAIN = "allocator"


class Catalogue:
    """One language's messages: ``gettext`` and ``ngettext``, as Jinja2's i18n extension and the CLI use them.

    Both our languages have two plural forms, the second for every count but 1
    (``Plural-Forms: nplurals=2; plural=(n != 1)``, checked by the tests).
    """

    def __init__(self, messages: dict[str, str], plurals: dict[str, tuple[str, str]]) -> None:
        self.messages = messages
        self.plurals = plurals

    def gettext(self, message: str) -> str:
        """The translation of ``message`` (the message itself if the catalogue lacks it)."""
        return self.messages.get(message) or message

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The translation of ``singular``/``plural`` for ``count``."""
        forms = self.plurals.get(singular) or (singular, plural)
        return forms[0] if count == 1 else forms[1]


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(line: str) -> str:
    # A PO string is a C string in double quotes; Babel writes only these escapes.
    body = line[line.index('"') + 1:line.rindex('"')]
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(0)), body)


def read_catalogue(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """The messages and plural messages of a ``.po`` file, skipping fuzzy and obsolete entries.

    A reader of the subset of PO that Babel writes (``msgid``, ``msgid_plural``,
    ``msgstr``, ``msgstr[n]``, continuation lines): Babel's own reader costs a
    tenth of a second at every ``solve``, on a 0.4 s command. The tests check
    that both readers agree on our catalogues.
    """
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, str]] = {}
    entries: list[dict[str, str]] = []
    entry: dict[str, str] = {}
    field = ""
    fuzzy = False
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry:
                if not fuzzy:
                    entries.append(entry)
                entry, field, fuzzy = {}, "", False
            continue
        if line.startswith("#"):
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
            continue
        if line.startswith('"'):
            entry[field] += _unquote(line)
            continue
        field = line.split(" ", 1)[0]
        entry[field] = _unquote(line)
    for entry in entries:
        key = entry.get("msgid", "")
        if not key:
            continue  # the header
        if "msgid_plural" in entry:
            plurals[key] = (entry.get("msgstr[0]", ""), entry.get("msgstr[1]", ""))
        else:
            messages[key] = entry.get("msgstr", "")
    return messages, plurals


@lru_cache(maxsize=4)
def translations(language: str) -> Catalogue:
    """The catalogue of ``language`` (``da`` or ``en``)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for language {language!r}; the languages are {', '.join(LANGUAGES)}")
    return Catalogue(*read_catalogue(catalogue_path(language)))


def catalogue_path(language: str) -> Path:
    """The ``.po`` file of ``language``."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _decimal(*args: object, **kwargs: object) -> str:
    from babel.numbers import format_decimal

    return format_decimal(*args, **kwargs)  # type: ignore[arg-type]


def _percent(*args: object, **kwargs: object) -> str:
    from babel.numbers import format_percent

    return format_percent(*args, **kwargs)  # type: ignore[arg-type]


class Numbers:
    """Numbers in one language's notation (CLDR through Babel)."""

    def __init__(self, language: str) -> None:
        # Babel's CLDR data is loaded here, not at import: the English console of `solve` never needs it.
        from babel import Locale

        self.locale = Locale.parse(language)

    def posts(self, value: float | None) -> str:
        """A count of posts: whole, or with the half of a half post (``924,5``)."""
        if value is None:
            return "–"
        return _decimal(value, format="#,##0.#", locale=self.locale)

    def signed(self, value: float | None) -> str:
        """A change: ``+12``, ``−3`` (a real minus sign), ``0``."""
        if value is None:
            return "–"
        text = self.posts(abs(value))
        return ("+" + text) if value > 0 else ("\u2212" + text) if value < 0 else text

    def decimal(self, value: float | None, digits: int = 1) -> str:
        """A figure with ``digits`` decimals: ``1.776,9``."""
        if value is None:
            return "–"
        return _decimal(value, format="#,##0." + "0" * digits, locale=self.locale)

    def whole(self, value: float | None) -> str:
        """A whole number with thousands separators: ``1.835.562``."""
        if value is None:
            return "–"
        return _decimal(round(value), format="#,##0", locale=self.locale)

    def percent(self, share: float | None, digits: int = 1) -> str:
        """A share as a percentage: ``44,9 %``."""
        if share is None:
            return "–"
        # The language's own pattern (Danish "44,9 %" with a no-break space, English "44.9%"), with decimals.
        pattern = self.locale.percent_formats[None].pattern
        return _percent(share, format=pattern.replace("0", "0." + "0" * digits, 1) if digits else pattern,
                              locale=self.locale)


class MemoNumbers:
    """The numbers of a memo: English as plan.csv writes them (``924.5``, ``+3``); Danish in Danish notation
    (``924,5``, ``−3``, ``1.835.562``) through :class:`Numbers`."""

    def __init__(self, language: str) -> None:
        self.numbers = None if language == "en" else Numbers(language)

    def posts(self, value: float | None) -> str:
        return format_number(value) if self.numbers is None else self.numbers.posts(value)

    def change(self, value: float) -> str:
        return f"{value:+g}" if self.numbers is None else self.numbers.signed(value)

    def decimal(self, value: float, digits: int) -> str:
        return f"{value:.{digits}f}" if self.numbers is None else self.numbers.decimal(value, digits)

    def figure(self, value: float) -> str:
        """Six significant digits (the objective), as ``%.6g`` gives them, in the language's notation."""
        text = f"{value:.6g}"
        if self.numbers is None or "e" in text:
            return text
        digits = len(text.split(".")[1]) if "." in text else 0
        return self.numbers.decimal(float(text), digits) if digits else self.numbers.whole(float(text))

    def count(self, value: float) -> str:
        return f"{value:,.0f}" if self.numbers is None else self.numbers.whole(value)

    def objective(self, value: float) -> str:
        """An objective or bound: English at full precision, as plan.json has it (``8380.10424284984``);
        Danish to six significant digits, as the console says it (``8.380,1``): a council compares the
        figures, and fifteen digits after a decimal comma would read as noise."""
        return repr(float(value)) if self.numbers is None else self.figure(value)

    def signed_count(self, value: float) -> str:
        """A whole change with thousands separators: ``-100,638`` in English, ``−100.638`` in Danish."""
        if self.numbers is None:
            return f"{value:+,.0f}"
        sign = "+" if value > 0 else "\u2212" if value < 0 else ""
        return sign + self.numbers.whole(abs(value))

    def percent(self, share: float) -> str:
        """``95.6%`` in English, ``95,6 %`` in Danish; ``–`` when not finite."""
        if not math.isfinite(share):
            return "–"
        # Danish re-spells the English digits, so that the two memos never round a half differently.
        return self.formatted(share, ".1%")

    def formatted(self, value: float, spec: str) -> str:
        """``format(value, spec)`` in English, byte for byte; in Danish the same digits in Danish notation.

        For the memos whose English figures come from format specs (``g``, ``+g``, ``.2f``, ``,.0f``,
        ``.4g``, ``.0%``): the Danish text keeps the English text's digits and sign, with a decimal comma,
        thousands points and a real minus sign. A figure in exponent notation stays as it is.
        """
        text = format(value, spec)
        if self.numbers is None or "e" in text or "n" in text:  # English; exponent; nan or inf
            return text
        # The English text's own digits, re-spelled: rounding the value again (Babel rounds 0.575 to 58 %,
        # Python to 57%) could make the two languages disagree.
        percent = text.endswith("%")
        number = text[:-1] if percent else text
        digits = len(number.split(".")[1]) if "." in number else 0
        magnitude = abs(float(number.replace(",", "")))
        body = self.numbers.decimal(magnitude, digits) if digits else self.numbers.whole(magnitude)
        sign = "+" if text.startswith("+") else "\u2212" if text.startswith("-") else ""
        return sign + body + ("\xa0%" if percent else "")


def status_text(status: str, language: str) -> str:
    """A solver status as a memo says it in ``language``: ``optimal``; ``gap ≤ 0,001`` in Danish
    notation (``gab ≤ 0,001``); ``time limit``; ``infeasible``; ``error``.

    plan.json, the CSVs and the console keep the machine word (``gap ≤ 0.001``, ``time-limit``); only the
    memos and reports, which councils read, say it in their language.
    """
    _ = translations(language).gettext
    if status.startswith("gap") and "≤" in status:
        tolerance = float(status.split("≤", 1)[1])
        return _("gap ≤ %(gap)s") % {"gap": MemoNumbers(language).formatted(tolerance, "g")}
    words = {"optimal": _("optimal"), "time-limit": _("time limit"), "infeasible": _("infeasible"),
             "error": _("error"), "given": _("given plan"), "status quo": _("status quo")}
    return words.get(status, status)


def breach_text(breach: dict[str, Any], language: str, area: str | None = None, specialty: str | None = None) -> str:
    """A yearly rule a plan breaks (a record of :func:`allocator.results.horizon.yearly_breaches`), in ``language``.

    ``area`` and ``specialty`` are the names to say (default: the record's ids); a bound on all
    specialties together says so. The figures are in the language's notation.
    """
    _ = translations(language).gettext
    n = MemoNumbers(language)
    year = breach["year"]
    value, limit = float(breach["value"]), float(breach["limit"])
    specialty = specialty or breach.get("specialty") or _("all specialties")
    area = area or breach.get("area") or ""
    kind = breach["kind"]
    if kind == "total":
        return _("%(year)s: %(specialty)s: the posts add up to %(posts)s, not the total %(total)s") % {
            "year": year, "specialty": specialty, "posts": n.posts(value), "total": n.posts(limit)}
    if kind == "min":
        return _("%(year)s: %(area)s (%(specialty)s): %(posts)s posts, under the minimum of %(limit)s") % {
            "year": year, "area": area, "specialty": specialty, "posts": n.posts(value), "limit": n.posts(limit)}
    if kind == "max":
        return _("%(year)s: %(area)s (%(specialty)s): %(posts)s posts, over the maximum of %(limit)s") % {
            "year": year, "area": area, "specialty": specialty, "posts": n.posts(value), "limit": n.posts(limit)}
    if kind == "max_change":
        return _("%(year)s: %(area)s (%(specialty)s): the posts change by %(change)s against the year before, "
                 "more than the largest change allowed, %(limit)s") % {
            "year": year, "area": area, "specialty": specialty, "change": n.change(value), "limit": n.posts(limit)}
    raise ValueError(f"unknown kind of broken rule: {kind!r}")
