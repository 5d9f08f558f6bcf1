"""Which edition a page or a socket command acts in, found from the thing it names.

`KINDS` are the names of the path parameters and socket payload fields that name a thing of one
edition (an edition's slug or id, a booth, an offer, a partner's offer, a talk, an application,
an interview invitation, an interview, a booth conversation, a place in a booth's queue), each
with the read that finds its edition. A page declares its kind by its path parameter's name,
a socket command in its family's `EDITION_OF` table; the admission gate (fair.admission_gate
`gate_of`: fair.web.gate for pages, fair.live.admitted for commands) asks `edition_of`, and
tests/test_gate_routes.py checks that every gated page and command declares one.

A booth, an offer, a talk, an application, an invitation, an interview, a conversation and a
queue entry never move to another edition and are never deleted, so the edition read for one is
remembered (`REMEMBERED` of them per process, by database): a page or command that reads the
thing itself after the gate reads it once, not twice. A slug may change and a partner's offers
are replaced at each synchronisation (fair.network_sync): read each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from fair.models import (
    Application,
    Booth,
    Conversation,
    Edition,
    Interview,
    InterviewInvitation,
    NetworkOffer,
    Offer,
    QueueEntry,
    Webconference,
)
from fair.ttl_cache import TTLCache

REMEMBERED = 50_000  # things whose edition a process remembers, at most
SECONDS = 24 * 3600.0

Read = Callable[[Any], Select[Any]]  # of one column: the edition's id


def _in_row(model: Any) -> Read:
    """A thing whose row holds its edition's id."""
    return lambda value: select(model.edition_id).where(model.id == value)


def _of_booth(model: Any) -> Read:
    """A thing of a booth: the booth's edition."""
    return lambda value: (
        select(Booth.edition_id).join(model, model.booth_id == Booth.id).where(model.id == value)
    )


# Parameter name: the read of the edition it names. The first one a page's path has is the one
# its gate follows (fair.web.gate `declared`): the slug and the edition's id need no read.
KINDS: dict[str, Read] = {
    "slug": lambda value: select(Edition.id).where(Edition.slug == value),
    "edition_id": lambda value: select(Edition.id).where(Edition.id == value),
    "booth_id": _in_row(Booth),
    "offer_id": _in_row(Offer),
    "network_offer_id": _in_row(NetworkOffer),
    "webconference_id": _in_row(Webconference),
    "application_id": _in_row(Application),
    "invitation_id": _of_booth(InterviewInvitation),
    "interview_id": _of_booth(Interview),
    "conversation_id": _of_booth(Conversation),
    "entry_id": _of_booth(QueueEntry),
}
TEXT_KINDS = {"slug"}  # the others are database ids (ints)
NOT_REMEMBERED = {"slug", "network_offer_id"}  # the module's docstring

_known: TTLCache[tuple[str, str, int], int] = TTLCache(seconds=SECONDS, size=REMEMBERED)


def first(names: Iterable[str]) -> str | None:
    """The kind among parameter `names` whose edition is cheapest to find (`KINDS`' order), or
    None when none names a thing of one edition."""
    found = set(names)
    return next((kind for kind in KINDS if kind in found), None)


async def edition_of(session: AsyncSession, kind: str, value: object) -> int | None:
    """The id of the edition that `value`, a parameter of `kind`, names; None when nothing
    has that name (or `value` is not of the kind's type: the page or command refuses it)."""
    if kind in TEXT_KINDS:
        return await _read(session, kind, value) if isinstance(value, str) else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if kind == "edition_id":
        return value
    if kind in NOT_REMEMBERED:
        return await _read(session, kind, value)
    key = (_database(session), kind, value)
    found = _known.get(key)
    if found is None:
        found = await _read(session, kind, value)
        if found is not None:
            _known.put(key, found)
    return found


def known(engine: AsyncEngine, kind: str, value: object) -> int | None:
    """`edition_of` without a read, for `engine`'s database: an edition's id itself, or the
    edition of a thing remembered; None when it is to be read (fair.web.gate `decide`)."""
    if not isinstance(value, int) or isinstance(value, bool) or kind not in KINDS:
        return None
    if kind == "edition_id":
        return value
    if kind in NOT_REMEMBERED:
        return None
    return _known.get((str(engine.url), kind, value))


async def _read(session: AsyncSession, kind: str, value: object) -> int | None:
    found: int | None = await session.scalar(KINDS[kind](value))
    return found


def _database(session: AsyncSession) -> str:
    """The database `session` reads (ids are a database's own: tests use several)."""
    return str(session.get_bind().engine.url)


def forget() -> None:
    """Forget the editions remembered (tests: a database emptied, its ids counted again)."""
    _known.clear()
