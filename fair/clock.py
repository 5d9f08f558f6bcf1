"""The one source of "now", so tests can set the time the whole platform sees."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at `moment` (aware), or unfreeze it with None."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    _frozen = moment.astimezone(UTC) if moment is not None else None


def frozen() -> datetime | None:
    """The moment the clock is frozen at, or None while it runs: what to put back after
    moving it for a while (the demo seeds its history that way)."""
    return _frozen
