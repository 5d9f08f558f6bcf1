"""Payload fields of /live commands, checked at the boundary: each function returns a valid
value or raises `ProtocolError` with the key it wanted (PROTOCOL.md). Commands read their
fields only through these functions, so that no command can forget a bound.

`check` runs first, on every payload: no text that UTF-8 cannot carry (lone surrogates) or the
database refuses (NUL), anywhere in it, keys included, no NaN or Infinity (relayed, they would
break the other side's JSON), and no nesting deeper than MAX_DEPTH.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from fair import parse
from fair.live import protocol
from fair.live.protocol import ProtocolError
from fair.parse import ParseError

MAX_DEPTH = 8  # a signal's candidate is three levels down


def check(payload: dict[str, Any]) -> None:
    """Refuse a payload holding text that is not text (`live.bad_text`), NaN or Infinity, or
    nested too deep (`live.bad_message`)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if protocol.NOT_TEXT_RE.search(value):
                raise ProtocolError(
                    "This message holds characters that are not text.", code="live.bad_text"
                )
        elif isinstance(value, float) and not math.isfinite(value):
            raise ProtocolError("This message holds an invalid number (NaN or Infinity).")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ProtocolError("This message is nested too deeply.")
            items = [*value, *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def body(payload: dict[str, Any]) -> str:
    body = payload.get("body")
    if not isinstance(body, str):
        raise ProtocolError("Write the message's text.", code="live.bad_message")
    return body


def _missing(key: str) -> ProtocolError:
    return ProtocolError("This message is missing a valid “%(key)s”.", params={"key": key})


def choice(
    payload: dict[str, Any],
    key: str,
    options: Iterable[str] | type[StrEnum],
    *,
    default: str | None = None,
) -> str:
    """One of `options` (strings, or an enum's values); `default` when the key is absent."""
    value = payload.get(key, default)
    if not isinstance(value, str) or value not in {str(option) for option in options}:
        raise _missing(key)
    return value


def flag(payload: dict[str, Any], key: str, *, default: bool) -> bool:
    value = payload.get(key, default)
    if not isinstance(value, bool):
        raise _missing(key)
    return value


def string(payload: dict[str, Any], key: str) -> str:
    """An optional text field of any length ("" when absent or null): the domain bounds it."""
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _missing(key)
    return value


def channel(payload: dict[str, Any]) -> str:
    channel = payload.get("channel")
    if not isinstance(channel, str) or not channel:
        raise ProtocolError("Name the channel.", code="live.bad_message")
    return channel


def integer(payload: dict[str, Any], key: str) -> int:
    """An id: a JSON integer within the database's ids (`fair.parse.identifier`, as for pages
    and forms); not a string, float or boolean."""
    value = payload.get(key)
    if not isinstance(value, int):
        raise _missing(key)
    try:
        return parse.identifier(value)
    except ParseError:
        raise _missing(key) from None


MAX_SIGNAL_CHARS = 12_000  # an SDP with its candidates; the frame itself is at most 16 KiB
SIGNAL_TYPES = ("offer", "answer")
CONTROL_SIGNALS = ("ready", "bye")  # "(re)offer me", "I hung up"


def text(payload: dict[str, Any], key: str) -> str | None:
    """An optional short string field (tokens, ids, a phone number)."""
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise _missing(key)
    return value


def signal(payload: dict[str, Any]) -> dict[str, Any]:
    """The WebRTC signal to relay, rebuilt from its known fields: {type, sdp}, {candidate} or
    {type: ready|bye}, with the sender's media `session` id."""
    data = payload.get("data")
    if not isinstance(data, dict):
        data = {"type": None, "sdp": None}
    clean: dict[str, Any]
    if "sdp" in data:
        clean = {"type": data.get("type"), "sdp": data.get("sdp")}
        ok = clean["type"] in SIGNAL_TYPES and isinstance(clean["sdp"], str)
    elif data.get("type") in CONTROL_SIGNALS:
        clean, ok = {"type": data["type"]}, True
    else:
        clean = {"candidate": data.get("candidate")}
        ok = "candidate" in data and isinstance(clean["candidate"], dict | None)
    if ok and data.get("session") is not None:
        clean["session"] = data["session"]
        ok = isinstance(clean["session"], str) and len(clean["session"]) <= 64
    if not ok or len(protocol.dumps(clean)) > MAX_SIGNAL_CHARS:
        raise ProtocolError(
            "This signal is not an offer, an answer or a candidate, or it is too large.",
            code="room.bad_signal",
        )
    return clean


MAX_STAGE_SDP_CHARS = 15_000  # a browser's offer with every candidate gathered; frames are 16 KiB


def sdp(payload: dict[str, Any], kind: str) -> str:
    """A session description of the expected type (`offer` from presenters, `answer` from
    viewers), with its candidates."""
    sdp = payload.get("sdp")
    if (
        payload.get("type", kind) != kind
        or not isinstance(sdp, str)
        or not sdp.startswith("v=0")
        or len(sdp) > MAX_STAGE_SDP_CHARS
    ):
        raise ProtocolError(
            "This message is missing a valid “%(key)s”.",
            code="stage.bad_sdp",
            params={"key": "sdp"},
        )
    return sdp


def event_payload(text: str) -> dict[str, Any]:
    """The payload of an event frame (empty for anything else)."""
    try:
        frame = json.loads(text)
    except ValueError:
        return {}
    if isinstance(frame, list) and len(frame) == 3 and isinstance(frame[2], dict):
        return frame[2]
    return {}
