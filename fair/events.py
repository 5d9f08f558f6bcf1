"""Live events queued by domain code in the session, published by the boundary after commit.

Domain functions call `emit`; nothing leaves the process here. The boundary that commits the
session takes the queued events (`take`) and publishes them, or drops them on rollback (`drop`).
Pub/sub is at-most-once: an event only says "something changed"; the database stays the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

KEY = "events"


@dataclass(frozen=True)
class Event:
    channel: str
    event: str
    payload: dict[str, Any]


def emit(session: AsyncSession, *, channel: str, event: str, payload: dict[str, Any]) -> None:
    """Queue `event` on `channel`, to be published once the session has committed."""
    session.info.setdefault(KEY, []).append(Event(channel, event, dict(payload)))


def take(session: AsyncSession) -> list[Event]:
    """The queued events, removed from the session (call after a successful commit)."""
    queued: list[Event] = session.info.pop(KEY, [])
    return queued


def drop(session: AsyncSession) -> None:
    """Forget the queued events (the transaction rolled back)."""
    session.info.pop(KEY, None)
