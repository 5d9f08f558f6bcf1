"""Live channel names, shared by the domain (which emits on them) and live/ (which serves them).

A channel is "<kind>:<id>": `user:12` (one person's own events), `edition:3`, `booth:7`,
`room:5` (an interview's room: its two participants only, see fair.interviews.rules),
`webconference:4` (a webconference's stage state, public), `panel:3` (an edition's live panel:
its organisers and the administrators only, see fair.live_panel).
"""

from __future__ import annotations

from fair.parse import ParseError, identifier

USER = "user"
EDITION = "edition"
BOOTH = "booth"
ROOM = "room"
WEBCONFERENCE = "webconference"
PANEL = "panel"
KINDS = frozenset({USER, EDITION, BOOTH, ROOM, WEBCONFERENCE, PANEL})


def user(user_id: int) -> str:
    return f"{USER}:{user_id}"


def edition(edition_id: int) -> str:
    return f"{EDITION}:{edition_id}"


def booth(booth_id: int) -> str:
    return f"{BOOTH}:{booth_id}"


def room(interview_id: int) -> str:
    return f"{ROOM}:{interview_id}"


def webconference(webconference_id: int) -> str:
    return f"{WEBCONFERENCE}:{webconference_id}"


def panel(edition_id: int) -> str:
    """An edition's live panel for its organisers (fair.live_panel)."""
    return f"{PANEL}:{edition_id}"


# Internal to the server, never to clients (`parse` refuses them): one channel each for the
# whole deployment, heard by every process (fair.live.hub).
ACCOUNTS = "accounts"
"""A user's sessions or rights changed (fair.user_sessions.signal); payload `user_id`."""
SOCKETS = "sockets"
"""Sockets that must close, the oldest of a user over the limit (fair.live.limits); payload
`close`, their connection ids."""
HIDDEN = "hidden"
"""Public channels no longer visible to everyone (a booth declined after its approval, and its
talks: fair.employers.set_status); payload `channels`, their names. Each process's hub forgets
them as public at once (fair.live.hub)."""


def call(conversation_id: int) -> str:
    """A booth conversation's video call signalling (fair/live/call_commands.py): followed only
    through `call.join`, which checks its two people. Not a kind clients may subscribe to:
    `parse` refuses it."""
    return f"call:{conversation_id}"


def parse(name: str) -> tuple[str, int] | None:
    """(kind, id) for a well-formed channel name (an id the database can hold), else None."""
    kind, _, ident = name.partition(":")
    if kind not in KINDS or ident != ident.strip():
        return None
    try:
        return kind, identifier(ident)
    except ParseError:
        return None
