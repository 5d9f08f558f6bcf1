"""An edition's offers as feeds: the newest published offers (the Atom feed), and the delta
feed that partners pull to keep a copy in step, with tombstones for the offers gone.

The delta feed lists every offer of the edition ordered by when it last changed for a reader:
its own `updated_at`, raised to the moment its booth was last approved or declined and to the
moment its edition closed (the offer changes for the reader then, although its row does not).
An offer unpublished, of a booth not approved or of a closed edition is a tombstone
`{"id", "deleted": true, "updated_at"}`. The cursor is opaque to readers: the last item's
change time and id, so an item is given once per change even when many share a moment.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, and_, case, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import clock, editions, structured_data
from fair.enums import BoothStatus, EditionStatus
from fair.errors import Invalid
from fair.models import Booth, Edition, Offer, UTCDateTime

MAX_LIMIT = 500


async def newest(session: AsyncSession, edition: Edition, *, limit: int = 50) -> list[Offer]:
    """The edition's newest published offers of approved booths (booth and employer loaded);
    none once the edition is closed."""
    if not structured_data.listed(edition):
        return []
    rows = await session.scalars(
        select(Offer)
        .join(Booth, Booth.id == Offer.booth_id)
        .where(
            Offer.edition_id == edition.id,
            Offer.published.is_(True),
            Booth.status == BoothStatus.APPROVED.value,
        )
        .options(selectinload(Offer.booth).selectinload(Booth.employer))
        .order_by(Offer.created_at.desc(), Offer.id.desc())
        .limit(limit)
    )
    return list(rows)


def closed_at(edition: Edition, now: datetime | None = None) -> datetime | None:
    """When the edition closed (its applications and live days over, or archived), if it has."""
    now = now or clock.now()
    if editions.status_at(edition, now) not in (EditionStatus.CLOSED, EditionStatus.ARCHIVED):
        return None
    bounds = editions.live_bounds(edition)
    ends = max(
        edition.applications_close_at, bounds[1] if bounds else edition.applications_close_at
    )
    if edition.archived_at is not None:
        ends = min(ends, edition.archived_at)
    return ends


@dataclass(frozen=True)
class Change:
    """One offer as the delta feed gives it: alive (the offer, booth and employer loaded) or
    a tombstone."""

    offer: Offer
    changed_at: datetime
    deleted: bool


@dataclass(frozen=True)
class Delta:
    changes: list[Change]
    cursor: str  # where the next pull starts ("" when nothing was ever given)
    more: bool  # whether the next pull has more already


def encode_cursor(changed_at: datetime, offer_id: int) -> str:
    raw = f"{changed_at.astimezone(UTC).isoformat()}|{offer_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a cursor stands for; Invalid (400) for anything this module did not write."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, offer_id = raw.split("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or not offer_id.isdigit() or len(offer_id) > 18:
            raise ValueError(raw)
        return at, int(offer_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Invalid(
            "This cursor is not one the feed gave.", code="feed.cursor", status=400
        ) from exc


def _at(moment: datetime) -> Any:
    return literal(moment, UTCDateTime())


def _later(column: Any, moment: Any) -> Any:
    return case((column > moment, column), else_=moment)


async def delta(
    session: AsyncSession,
    edition: Edition,
    *,
    since: datetime | None = None,
    cursor: str = "",
    limit: int = 100,
) -> Delta:
    """The edition's offers changed after `cursor` (or at or after `since`), oldest change first,
    `limit` at most."""
    limit = max(1, min(limit, MAX_LIMIT))
    booth_gone = Booth.status != BoothStatus.APPROVED.value
    # The booth approved or declined: its offers changed for readers when that was decided.
    decided = func.coalesce(Booth.decided_at, Booth.requested_at)
    changed: Any = _later(Offer.updated_at, decided)
    deleted: Any = Offer.published.is_(False) | booth_gone
    closed = closed_at(edition)
    if closed is not None:  # the offers still alive then went when the edition closed
        changed = case((deleted, changed), else_=_later(Offer.updated_at, _at(closed)))
        deleted = literal(True, Boolean())
    query = (
        select(Offer, changed.label("changed_at"), deleted.label("deleted"))
        .join(Booth, Booth.id == Offer.booth_id)
        .where(Offer.edition_id == edition.id)
        .options(selectinload(Offer.booth).selectinload(Booth.employer))
    )
    condition: Any = true()
    if cursor:
        at, offer_id = decode_cursor(cursor)
        after = _at(at)
        condition = (changed > after) | and_(changed == after, Offer.id > offer_id)
    elif since is not None:
        condition = changed >= _at(since)
    rows = list(
        await session.execute(query.where(condition).order_by(changed, Offer.id).limit(limit + 1))
    )
    more = len(rows) > limit
    changes = [
        Change(offer=o, changed_at=_aware(at), deleted=bool(gone)) for o, at, gone in rows[:limit]
    ]
    last = changes[-1] if changes else None
    next_cursor = encode_cursor(last.changed_at, last.offer.id) if last else cursor
    return Delta(changes=changes, cursor=next_cursor, more=more)


def _aware(moment: datetime) -> datetime:
    """A CASE over UTCDateTime columns comes back as the driver gives it (a naive UTC datetime
    or, on SQLite, its text): made aware in UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
