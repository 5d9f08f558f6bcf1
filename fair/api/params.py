"""The API's parameter types: pydantic types that read query and path parameters through
fair.parse (the one parser of ids, text and dates), so a bad value is a field's message (400),
never an exception further down; cursor pagination (an opaque cursor, `limit`, `updated_since`)
and the list page every list endpoint answers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from fair import i18n, parse
from fair.api.core import Call
from fair.errors import FairError

T = TypeVar("T")
X = TypeVar("X")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def _refusal(code: str, message: str) -> PydanticCustomError:
    """A field's error: `code` its type, `message` its text (already translated)."""
    return PydanticCustomError(code, message)


def _read(reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A pydantic validator running a fair.parse reader: its refusal becomes the field's error,
    its code the error's type and its message translated."""

    def validate(raw: Any) -> Any:
        try:
            return reader(raw)
        except FairError as exc:
            message = i18n.gettext(exc.message, **exc.params)
            raise _refusal(exc.code, message) from None

    return validate


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise parse.ParseError("Enter some text.", code="input.text")
    return parse.line(raw)


Id = Annotated[
    int,
    BeforeValidator(_read(parse.identifier)),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": parse.MAX_ID}),
]
Text = Annotated[str, BeforeValidator(_read(_text)), Field(max_length=200)]
Instant = Annotated[
    datetime,
    BeforeValidator(_read(lambda raw: raw if isinstance(raw, datetime) else parse.instant(raw))),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last row's sort key and id. Lists continue strictly after it."""

    key: int | float | str
    id: int

    def encode(self) -> str:
        data = json.dumps([self.key, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _position(raw: Any) -> Position:
    if isinstance(raw, Position):
        return raw
    refused = _refusal("api.bad_cursor", i18n.gettext("This cursor is not valid."))
    if not isinstance(raw, str) or len(raw) > 200:
        raise refused
    try:
        key, id_ = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError, binascii.Error):  # not base64, not JSON, not a pair
        raise refused from None
    valid_key = isinstance(key, int | float | str) and not isinstance(key, bool)
    if not valid_key or isinstance(id_, bool) or not isinstance(id_, int):
        raise refused
    if not 0 < id_ <= parse.MAX_ID or (isinstance(key, int) and abs(key) > 2**53):
        raise refused
    return Position(key, id_)


Cursor = Annotated[
    Position,
    BeforeValidator(_position),
    WithJsonSchema({"type": "string", "description": "The `next` link's cursor; opaque."}),
]


class Params(BaseModel):
    """Parameters of an endpoint: an unknown one is refused (a typo must not go unnoticed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PageParams(Params):
    """The parameters of every list: where to continue and how many."""

    cursor: Cursor | None = Field(
        None, description="Where to continue: the cursor of the previous page's `next` link."
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page.")


class ListParams(PageParams):
    """A list's parameters with `updated_since`, for the rows that keep when they changed."""

    updated_since: Instant | None = Field(
        None,
        description="Only rows changed at or after this moment (ISO 8601; UTC without offset).",
    )


class Page(BaseModel, Generic[T]):
    """One page of a list, and the link to the next one."""

    data: list[T]
    next: str | None = Field(description="The URL of the next page; null on the last page.")


def page(
    call: Call[Any],
    rows: Sequence[X],
    *,
    limit: int,
    position: Callable[[X], Position],
    item: Callable[[X], T],
) -> tuple[list[T], str | None]:
    """The items of a page read with `limit + 1` rows, and the next page's URL when there is
    one more row (its cursor: the last shown row's position)."""
    shown = rows[:limit]
    following = None
    if len(rows) > limit:
        following = call.url_with(cursor=position(shown[-1]).encode())
    return [item(row) for row in shown], following
