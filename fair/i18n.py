"""Translations and formats: English msgids, Babel catalogues per locale, Babel formats.

The .po catalogues in fair/locale are compiled in memory at first use, so no build step or
binary artefact is needed. The current locale lives in a context variable set per request.
Dates, times and numbers are written by Babel in that locale (`moment`, `decimal`): "0,4 km"
and "3 déc. 2026, 14:05" in French, never seconds. Templates reach them as filters.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_datetime, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_decimal, parse_pattern
from babel.support import Translations

LOCALES = ("fr", "en")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
current_locale: ContextVar[str] = ContextVar("current_locale", default="fr")


@cache
def translations(locale: str) -> Translations:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return Translations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str, locale: str | None = None, **params: Any) -> str:
    """Translate `message` into `locale` (the current one by default) and fill `params`."""
    text = translations(locale or current_locale.get()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, locale: str | None = None, **params: Any) -> str:
    locale = locale or current_locale.get()
    text = translations(locale).ngettext(singular, plural, n)
    if "num" not in params:  # not setdefault: formatting costs ~70 us, wasted when given
        params["num"] = decimal(n, 0, locale)  # "1 234 offres", "1,234 offers"
    return text % params


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


def moment(
    value: datetime, zone: str = "Europe/Paris", fmt: str = "medium", locale: str | None = None
) -> str:
    """`value` in `zone`: the date in Babel's `fmt` (short, medium, long, full) and the time
    of day without seconds ("3 déc. 2026, 14:05"; "Dec 3, 2026, 2:05 PM"), or `fmt` as a
    Babel pattern of its own."""
    locale = locale or current_locale.get()
    local = value.astimezone(ZoneInfo(zone))
    if fmt not in ("short", "medium", "long", "full"):  # a pattern such as "EEEE d MMMM"
        return format_datetime(local, fmt, locale=locale)
    pattern = str(get_datetime_format(fmt, locale=locale)).replace("'", "")  # type: ignore[arg-type]
    clock = format_time(local, "short", locale=locale)
    return pattern.replace("{0}", clock).replace("{1}", format_date(local, fmt, locale=locale))


def day(value: date, fmt: str = "full", locale: str | None = None) -> str:
    return format_date(value, fmt, locale=locale or current_locale.get())


def decimal(value: float, digits: int = 1, locale: str | None = None) -> str:
    """A number with at most `digits` decimals and the locale's separators ("0,4", "1 234")."""
    return format_decimal(value, _pattern(digits), locale=_babel(locale or current_locale.get()))


@cache
def _babel(locale: str) -> Locale:
    """Babel's Locale for a code, made once: Babel's formats parse a code given as text on
    every call (~40 us; a search page formats ~20 numbers), not a Locale."""
    return Locale.parse(locale)


@cache
def _pattern(digits: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "#" * digits if digits > 0 else ""))
