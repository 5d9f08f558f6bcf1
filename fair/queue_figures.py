"""Queue figures for the organiser: joins, conversations held, abandons and waits, per booth.

A join is one place taken in a booth's queue (fair.queues.join; a candidate who leaves and
joins again joins twice). Each ends one of three ways, read from its status:

- a conversation held: the call was answered (in conversation, or done);
- abandoned: the candidate left the queue (before or after being called) or let the call
  expire unanswered (skipped): they left without talking to the booth;
- still in the queue: waiting or called now (zero once the live day is over).

So per booth `joins = conversations + abandoned + in_queue`, and the abandon rate is
`abandoned / joins`. The wait is from joining to being called (`called_at - joined_at`), for
every join that was called; its median is taken per booth and over the edition.

Two grouped queries for a whole edition, whatever its number of booths.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair.enums import QueueStatus
from fair.models import Booth, QueueEntry

HELD = frozenset({QueueStatus.IN_CONVERSATION, QueueStatus.DONE})
ABANDONED = frozenset({QueueStatus.LEFT, QueueStatus.SKIPPED})
IN_QUEUE = frozenset({QueueStatus.WAITING, QueueStatus.CALLED})


@dataclass
class BoothQueue:
    """One booth's queue over the edition."""

    booth_id: int
    conversations: int = 0
    abandoned: int = 0
    in_queue: int = 0
    waits: list[float] = field(default_factory=list)  # seconds from joining to being called

    @property
    def joins(self) -> int:
        return self.conversations + self.abandoned + self.in_queue


def median(values: Iterable[float]) -> float | None:
    """The median of the values, None when there are none."""
    found = list(values)
    return float(statistics.median(found)) if found else None


def rate(part: int, whole: int) -> float | None:
    """`part` in percent of `whole`, None when `whole` is zero."""
    return 100 * part / whole if whole else None


async def per_booth(session: AsyncSession, edition_id: int) -> dict[int, BoothQueue]:
    """Per booth of the edition with any join: its joins by outcome and its waits."""
    found: dict[int, BoothQueue] = {}
    counted = await session.execute(
        select(QueueEntry.booth_id, QueueEntry.status, func.count())
        .join(Booth, Booth.id == QueueEntry.booth_id)
        .where(Booth.edition_id == edition_id)
        .group_by(QueueEntry.booth_id, QueueEntry.status)
    )
    for booth_id, status, n in counted:
        figures = found.setdefault(booth_id, BoothQueue(booth_id))
        if status in HELD:
            figures.conversations += int(n)
        elif status in ABANDONED:
            figures.abandoned += int(n)
        else:
            figures.in_queue += int(n)
    called = await session.execute(
        select(QueueEntry.booth_id, QueueEntry.joined_at, QueueEntry.called_at)
        .join(Booth, Booth.id == QueueEntry.booth_id)
        .where(Booth.edition_id == edition_id, QueueEntry.called_at.is_not(None))
    )
    for booth_id, joined_at, called_at in called:
        if called_at is not None:  # always, by the query
            wait = max(0.0, (called_at - joined_at).total_seconds())
            found.setdefault(booth_id, BoothQueue(booth_id)).waits.append(wait)
    return found
