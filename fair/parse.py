"""Reading what people send: numbers, ids, dates, coordinates, text and JSON, in one place.

Every form field (web/forms.py), path parameter (web/convertors.py, web/auth.path_int), socket
payload and import goes through these functions, so that no handler can forget a bound: values
outside what the database, `datetime` or the mail headers can hold are refused here with a
`ParseError` (a 422 carrying a translated message), never found later as an OverflowError, a
database error or a broken mail header.

- Numbers and ids are ASCII digits only: '²' passes `str.isdigit()` and '１' passes `int()`.
- Ids are 1 .. 2**31 - 1 and whole numbers fit in 32 bits (the INTEGER columns of PostgreSQL);
  dates are within years 1900 .. 2100, so adding a day or moving to another time zone cannot
  overflow.
- Single-line text (titles, names, subjects: anything that may reach a mail header) loses its
  line breaks, tabs and other control characters; multi-line text keeps its line breaks only.
  NUL and lone surrogates (which PostgreSQL and UTF-8 refuse) go in both.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fair.errors import Invalid

MAX_ID = 2**31 - 1  # ids and numbers are INTEGER columns (32 bits on PostgreSQL)
MIN_INT = -(2**31)
ANSWERS: dict[str, bool | None] = {"yes": True, "no": False, "unsaid": None, "": None}
E = TypeVar("E", bound=StrEnum)
FIRST_YEAR, LAST_YEAR = 1900, 2100
INTEGER_RE = re.compile(r"[+-]?[0-9]{1,19}")
DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]{1,20}(?:[.,][0-9]{0,20})?|[.,][0-9]{1,20})")
DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIME_RE = re.compile(r"[0-9]{2}:[0-9]{2}(?::[0-9]{2})?")
MOMENT_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
)
INSTANT_RE = re.compile(MOMENT_RE.pattern + r"(?:Z|z|[+-][0-9]{2}:?[0-9]{2})?")
# Line breaks and tabs, in every spelling Unicode has (with the spaces around them): one space in
# a single line.
BREAKS = "\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029"
BREAKS_RE = re.compile(f"[ {BREAKS}]*[{BREAKS}][ {BREAKS}]*")
# What no text keeps: the other C0 and C1 controls, DEL, NUL, and lone surrogates.
CONTROLS_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")
NEWLINES_RE = re.compile(r"\r\n?|[\v\f\x1c-\x1e\x85\u2028\u2029]")


class ParseError(Invalid):
    """A value that cannot be read; `message` is an English msgid shown beside the field."""

    code = "input.invalid"


def line(raw: str) -> str:
    """Single-line text: breaks and tabs become one space, other control characters go."""
    return BREAKS_RE.sub(" ", CONTROLS_RE.sub("", raw)).strip()


def paragraphs(raw: str) -> str:
    """Multi-line text: line breaks kept (as \\n) and tabs too, other control characters go."""
    return NEWLINES_RE.sub("\n", CONTROLS_RE.sub("", raw)).strip()


def integer(raw: str | int, *, lo: int = MIN_INT, hi: int = MAX_ID) -> int:
    """A whole number within lo .. hi: written in ASCII digits, or an int (a JSON payload's)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ParseError("Enter a whole number.", code="input.integer")
    if isinstance(raw, int):
        value = raw
    elif INTEGER_RE.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        raise ParseError("Enter a whole number.", code="input.integer")
    if not lo <= value <= hi:
        raise ParseError(
            "Enter a whole number between %(lo)s and %(hi)s.",
            code="input.integer_range",
            params={"lo": lo, "hi": hi},
        )
    return value


def answer(raw: str) -> bool | None:
    """A yes/no question that may be left unsaid: "yes", "no", or "unsaid" (or nothing)."""
    text = raw.strip()
    if text in ANSWERS:
        return ANSWERS[text]
    raise ParseError("Choose one of the answers.", code="input.choice")


def member(raw: str, kind: type[E]) -> E:
    """One value of a closed vocabulary (a StrEnum of fair.enums)."""
    try:
        return kind(raw.strip())
    except ValueError:
        raise ParseError("Choose one of the answers.", code="input.choice") from None


def identifier(raw: str | int) -> int:
    """A database id: 1 .. 2**31 - 1, ASCII digits only (or an int, from a JSON payload)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ParseError("This reference is not valid.", code="input.identifier")
    if isinstance(raw, int):
        if 0 < raw <= MAX_ID:
            return raw
        raise ParseError("This reference is not valid.", code="input.identifier")
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise ParseError("This reference is not valid.", code="input.identifier")
    value = int(text)
    if not 0 < value <= MAX_ID:
        raise ParseError("This reference is not valid.", code="input.identifier")
    return value


def decimal(raw: str | float | int, *, lo: float, hi: float) -> float:
    """A finite number within lo .. hi (a comma is read as the decimal point); no nan, no inf."""
    if isinstance(raw, bool):
        raise ParseError("Enter a number.", code="input.decimal")
    if isinstance(raw, str):
        text = raw.strip()
        if not DECIMAL_RE.fullmatch(text):
            raise ParseError("Enter a number.", code="input.decimal")
        value = float(text.replace(",", "."))
    elif isinstance(raw, int):
        value = float(raw) if abs(raw) <= 10**15 else math.inf
    elif isinstance(raw, float):
        value = raw
    else:
        raise ParseError("Enter a number.", code="input.decimal")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ParseError(
            "Enter a number between %(lo)s and %(hi)s.",
            code="input.decimal_range",
            params={"lo": lo, "hi": hi},
        )
    return value


def latitude(raw: str | float | int) -> float:
    return decimal(raw, lo=-90.0, hi=90.0)


def longitude(raw: str | float | int) -> float:
    return decimal(raw, lo=-180.0, hi=180.0)


def _in_years(year: int, message: str, code: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ParseError(message, code=code, params={"first": FIRST_YEAR, "last": LAST_YEAR})


def day(raw: str) -> date:
    """A date written YYYY-MM-DD, in years 1900 .. 2100."""
    text = raw.strip()
    message = "Enter a date between %(first)s and %(last)s."
    if not DAY_RE.fullmatch(text):
        raise ParseError("Enter a date.", code="input.date")
    _in_years(int(text[:4]), message, "input.date_range")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ParseError("Enter a date.", code="input.date") from exc


def clock_time(raw: str) -> time:
    """A time of day written HH:MM (or HH:MM:SS)."""
    text = raw.strip()
    try:
        if not TIME_RE.fullmatch(text):
            raise ValueError(text)
        return time.fromisoformat(text)
    except ValueError as exc:
        raise ParseError("Enter a time such as 09:00.", code="input.time") from exc


def moment(raw: str, zone: str) -> datetime:
    """A datetime-local value (YYYY-MM-DDTHH:MM), read in `zone`, returned aware."""
    text = raw.strip()
    if not MOMENT_RE.fullmatch(text):
        raise ParseError("Enter a date and time.", code="input.datetime")
    _in_years(int(text[:4]), "Enter a date between %(first)s and %(last)s.", "input.date_range")
    try:
        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
    except (ValueError, KeyError) as exc:
        raise ParseError("Enter a date and time.", code="input.datetime") from exc


def instant(raw: str) -> datetime:
    """An ISO 8601 date and time with its offset ("2026-03-12T09:30:00+01:00", "…Z"; UTC when
    it has none), returned aware in UTC: the API's `updated_since`."""
    text = raw.strip()
    if not INSTANT_RE.fullmatch(text):
        raise ParseError("Enter an ISO 8601 date and time.", code="input.datetime")
    _in_years(int(text[:4]), "Enter a date between %(first)s and %(last)s.", "input.date_range")
    try:
        moment_ = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ParseError("Enter an ISO 8601 date and time.", code="input.datetime") from exc
    if moment_.tzinfo is None:
        moment_ = moment_.replace(tzinfo=UTC)
    return moment_.astimezone(UTC)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def json_document(data: bytes) -> Any:
    """Decode an uploaded JSON file; refuses NaN/Infinity and nesting deeper than Python can.

    CPU-bound on large files: call it in a worker thread.
    """
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError as exc:
        message = "This file is nested too deeply to be read."
        raise ParseError(message, code="import.too_deep") from exc
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ParseError("This file is not valid JSON.", code="import.bad_json") from exc
