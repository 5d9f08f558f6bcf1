"""Reading submitted forms at the boundary: size limits, CSRF, and typed fields with errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from fair.errors import FairError, Invalid
from fair.i18n import gettext
from fair.web.auth import read_form

REQUIRED = "This field is required."


async def read(request: Request) -> FormData:
    """The submitted form (size and CSRF token already checked by the `page` decorator)."""
    return await read_form(request)


@dataclass
class Fields:
    """Typed access to a form that collects every field error before raising once."""

    form: FormData
    errors: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.form.multi_items() if not isinstance(v, UploadFile)}

    def text(self, name: str, *, required: bool = False, max_length: int = 20000) -> str:
        value = self.form.get(name, "")
        value = value.strip() if isinstance(value, str) else ""
        if required and not value:
            self.errors[name] = REQUIRED
        elif len(value) > max_length:
            self.errors[name] = "This text is too long."
        return value

    def flag(self, name: str) -> bool:
        return self.form.get(name) in ("on", "1", "true", "yes")

    def choices(self, name: str) -> list[str]:
        return [v for v in self.form.getlist(name) if isinstance(v, str)]

    def integer(self, name: str, *, default: int | None = None) -> int:
        raw = self.text(name, required=default is None)
        if not raw:
            return default or 0
        try:
            return int(raw)
        except ValueError:
            self.errors[name] = "Enter a whole number."
            return default or 0

    def day(self, name: str) -> date:
        raw = self.text(name, required=True)
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.errors.setdefault(name, "Enter a date.")
            return date(2000, 1, 1)

    def clock_time(self, name: str) -> time:
        raw = self.text(name, required=True)
        try:
            return time.fromisoformat(raw)
        except ValueError:
            self.errors.setdefault(name, "Enter a time such as 09:00.")
            return time(0, 0)

    def moment(self, name: str, zone: str) -> datetime:
        """A datetime-local input, read in `zone`, returned aware."""
        raw = self.text(name, required=True)
        try:
            return datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(zone))
        except (ValueError, KeyError):
            self.errors.setdefault(name, "Enter a date and time.")
            return datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))

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
