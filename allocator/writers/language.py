"""The message catalogue: every sentence of the reports and of `solve`'s console, in Danish and English.

The catalogues are gettext ``.po`` files under ``allocator/locale/<lang>/LC_MESSAGES/allocator.po``,
read by Babel and compiled in memory (no binary ``.mo`` file to keep in step with its source).
The message ids are the English sentences; the English catalogue repeats them, so a missing
translation shows up in the test that every message has both (tests/test_language.py), not as
a silent fallback. Numbers go through Babel's CLDR data: Danish ``1.835.562`` and ``924,5``.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

#: Where the catalogues live.
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
#: The languages every message exists in.
LANGUAGES = ("da", "en")
#: The catalogue's domain (file name).
DOMAIN = "allocator"


@lru_cache(maxsize=4)
def translations(language: str) -> gettext.GNUTranslations:
    """The compiled catalogue of ``language`` (``da`` or ``en``)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for language {language!r}; the languages are {', '.join(LANGUAGES)}")
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as stream:
        catalog = read_po(stream, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Numbers:
    """Numbers in one language's notation (CLDR through Babel)."""

    def __init__(self, language: str) -> None:
        self.locale = language

    def posts(self, value: float | None) -> str:
        """A count of posts: whole, or with the half of a half post (``924,5``)."""
        if value is None:
            return "–"
        return format_decimal(value, format="#,##0.#", locale=self.locale)

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
        return format_decimal(value, format="#,##0." + "0" * digits, locale=self.locale)

    def whole(self, value: float | None) -> str:
        """A whole number with thousands separators: ``1.835.562``."""
        if value is None:
            return "–"
        return format_decimal(round(value), format="#,##0", locale=self.locale)

    def percent(self, share: float | None, digits: int = 1) -> str:
        """A share as a percentage: ``44,9 %``."""
        if share is None:
            return "–"
        # The language's own pattern (Danish "44,9 %" with a no-break space, English "44.9%"), with decimals.
        pattern = Locale.parse(self.locale).percent_formats[None].pattern
        return format_percent(share, format=pattern.replace("0", "0." + "0" * digits, 1) if digits else pattern,
                              locale=self.locale)
