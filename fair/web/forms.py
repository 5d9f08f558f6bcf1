"""Reading submitted forms at the boundary: size limits, CSRF, and typed fields with errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from fair import parse
from fair.errors import FairError, Invalid
from fair.i18n import gettext
from fair.web.auth import read_form

REQUIRED = "This field is required."
T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


async def read(request: Request) -> FormData:
    """The submitted form (size and CSRF token already checked by the `page` decorator)."""
    return await read_form(request)


@dataclass
class Fields:
    """Typed access to a form that collects every field error before raising once."""

    form: FormData
    errors: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """What was submitted, to show again (without NUL or lone surrogates: UTF-8 pages)."""
        return {k: parse.paragraphs(v) for k, v in self.form.multi_items() if isinstance(v, str)}

    def text(
        self, name: str, *, required: bool = False, max_length: int = 20000, multiline: bool = False
    ) -> str:
        """The field's text, trimmed; a single line unless `multiline` (textareas).

        Single-line text loses line breaks, tabs and control characters (it may end up in a
        mail header); multi-line text keeps its line breaks. Both lose NUL and lone surrogates.
        """
        value = self.form.get(name, "")
        if not isinstance(value, str):
            value = ""
        value = parse.paragraphs(value) if multiline else parse.line(value)
        if required and not value:
            self.errors[name] = REQUIRED
        elif len(value) > max_length:
            self.errors[name] = "This text is too long."
        return value

    def flag(self, name: str) -> bool:
        return self.form.get(name) in ("on", "1", "true", "yes")

    def choices(self, name: str) -> list[str]:
        return [parse.line(v) for v in self.form.getlist(name) if isinstance(v, str)]

    def _parsed(self, name: str, reader: Callable[..., T], fallback: T, **kw: Any) -> T:
        """`reader` applied to the field's text; its ParseError is kept as the field's error.

        A message with parameters (a range) is translated here, with its own parameters: two
        fields' ranges would not fit in one form's parameters.
        """
        raw = self.text(name, required=kw.pop("required", True))
        if not raw:
            return fallback
        try:
            return reader(raw, **kw)
        except parse.ParseError as error:
            message = gettext(error.message, **error.params) if error.params else error.message
            self.errors.setdefault(name, message)
            return fallback

    def integer(
        self, name: str, *, default: int | None = None, lo: int = 0, hi: int = 2**31 - 1
    ) -> int:
        """A whole number within lo .. hi (required unless it has a `default`)."""
        fallback = default or 0
        return self._parsed(name, parse.integer, fallback, required=default is None, lo=lo, hi=hi)

    def answer(self, name: str) -> bool | None:
        """A yes/no radio group whose empty choice is 'prefer not to say' (None)."""
        return self._parsed(name, parse.answer, None, required=False)

    def member(self, name: str, kind: type[E]) -> E | None:
        """One value of a closed vocabulary, or None when none is chosen."""
        found: E | None = self._parsed(name, parse.member, None, required=False, kind=kind)
        return found

    def identifier(self, name: str, *, required: bool = True) -> int | None:
        """A database id chosen in a form (a select's value); None when empty and optional."""
        return self._parsed(name, parse.identifier, None, required=required)

    def identifiers(self, name: str) -> list[int]:
        """The ids of a multiple choice; values that are not ids are left out."""
        found = []
        for raw in self.choices(name):
            try:
                found.append(parse.identifier(raw))
            except parse.ParseError:
                continue
        return found

    def numbers(self, name: str, *, lo: int, hi: int) -> list[int]:
        """The whole numbers of a multiple choice within lo .. hi; others are left out."""
        found = []
        for raw in self.choices(name):
            try:
                found.append(parse.integer(raw, lo=lo, hi=hi))
            except parse.ParseError:
                continue
        return found

    def decimal(self, name: str, *, lo: float, hi: float, required: bool = True) -> float | None:
        return self._parsed(name, parse.decimal, None, required=required, lo=lo, hi=hi)

    def day(self, name: str) -> date:
        return self._parsed(name, parse.day, date(2000, 1, 1))

    def clock_time(self, name: str) -> time:
        return self._parsed(name, parse.clock_time, time(0, 0))

    def moment(self, name: str, zone: str) -> datetime:
        """A datetime-local input, read in `zone`, returned aware."""
        fallback = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))
        return self._parsed(name, parse.moment, fallback, zone=zone)

    async def upload(self, name: str) -> tuple[str, bytes] | None:
        """The uploaded file's name and bytes, or None when none was chosen."""
        value = self.form.get(name)
        if not isinstance(value, UploadFile) or not value.filename:
            return None
        data = await value.read()
        return (value.filename, data) if data else None

    def done(self) -> None:
        """Raise once with every field error collected so far."""
        if self.errors:
            raise Invalid("Some fields need correcting.", code="form.invalid", fields=self.errors)


@dataclass
class FormState:
    """What a form template needs to show a submission again: its values and its errors."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = "") -> Any:
        return self.values.get(name, default)


def state_from(fields: Fields | None, error: FairError | None = None) -> FormState:
    values = fields.values() if fields else {}
    errors = dict(error.fields) if error else {}
    message = error.message if error else ""
    params = {
        k: gettext(v) if isinstance(v, str) and v else v
        for k, v in (error.params if error else {}).items()
    }
    return FormState(values=values, errors=errors, message=message, params=params)


def as_shown(submitted: datetime, stored: datetime | None) -> datetime:
    """`stored` when `submitted` is what a form showed of it (to the minute), else `submitted`.

    A datetime-local input shows minutes: a form saved unchanged must not move a moment that
    was set with seconds elsewhere (the demo, the factories, an import).
    """
    if stored is not None and submitted == stored.replace(second=0, microsecond=0):
        return stored
    return submitted
