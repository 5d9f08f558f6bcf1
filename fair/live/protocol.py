"""The wire format of /live (see PROTOCOL.md); committed events are published by
fair.unit_of_work.

Client to server: `[action, id, payload]`. Server to client: `["success", id, payload]`,
`["error", id, {"code": ..., "message": ...}]` and `["event", channel, {"event": ..., ...}]`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fair.errors import FairError

HEARTBEAT = '["event","",{"event":"heartbeat"}]'


class ProtocolError(FairError):
    status = 400
    code = "live.bad_message"


@dataclass(frozen=True)
class Command:
    action: str
    id: Any
    payload: dict[str, Any]


MAX_ID_CHARS = 100
# What no text of a frame may hold: NUL (PostgreSQL refuses it) and lone surrogates, which
# JSON escapes such as \ud800 let through but UTF-8 (the database, our replies) cannot carry.
NOT_TEXT_RE = re.compile("[\x00\ud800-\udfff]")


def parse(text: str) -> Command:
    """A client message, or ProtocolError when it is not `[action, id, {payload}]`.

    Nesting deeper than the parser can follow is refused. The id is echoed in the reply: a
    string id must be short text. The payload's values are checked apart (`payloads.check`:
    text, depth, NaN and Infinity), once the id is known, so that the error reply carries it.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        data = None
    if (
        not isinstance(data, list)
        or len(data) != 3
        or not isinstance(data[0], str)
        or not isinstance(data[1], str | int | None)
        or isinstance(data[1], bool)
        or (isinstance(data[1], str) and not is_short_text(data[1]))
        or not isinstance(data[2], dict)
    ):
        raise ProtocolError("This message is not of the form [action, id, payload].")
    return Command(data[0], data[1], data[2])


def is_short_text(value: str) -> bool:
    return len(value) <= MAX_ID_CHARS and NOT_TEXT_RE.search(value) is None


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def success(id_: Any, payload: dict[str, Any] | None = None) -> str:
    return dumps(["success", id_, payload or {}])


def error(id_: Any, code: str, message: str) -> str:
    return dumps(["error", id_, {"code": code, "message": message}])
