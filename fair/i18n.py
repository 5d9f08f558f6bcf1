"""Translations: English msgids in code and templates, Babel catalogues per locale.

The .po catalogues in fair/locale are compiled in memory at first use, so no build step or
binary artefact is needed. The current locale lives in a context variable set per request.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
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
    text = translations(locale or current_locale.get()).ngettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message
