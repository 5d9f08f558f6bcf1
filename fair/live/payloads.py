"""Payload fields of /live commands, checked at the boundary: each function returns a valid
value or raises `ProtocolError` with the key it wanted (PROTOCOL.md)."""

from __future__ import annotations

import json
from typing import Any

from fair.live import protocol
from fair.live.protocol import ProtocolError


def body(payload: dict[str, Any]) -> str:
    body = payload.get("body")
    if not isinstance(body, str):
        raise ProtocolError("Write the message's text.", code="live.bad_message")
    return body


def channel(payload: dict[str, Any]) -> str:
    channel = payload.get("channel")
    if not isinstance(channel, str) or not channel:
        raise ProtocolError("Name the channel.", code="live.bad_message")
    return channel


def integer(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise ProtocolError("This message is missing a valid “%(key)s”.", params={"key": key})
    return value


MAX_SIGNAL_CHARS = 12_000  # an SDP with its candidates; the frame itself is at most 16 KiB
SIGNAL_TYPES = ("offer", "answer")
CONTROL_SIGNALS = ("ready", "bye")  # "(re)offer me", "I hung up"


def text(payload: dict[str, Any], key: str) -> str | None:
    """An optional short string field (tokens, ids, a phone number)."""
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ProtocolError("This message is missing a valid “%(key)s”.", params={"key": key})
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
