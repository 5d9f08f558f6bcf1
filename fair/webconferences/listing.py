"""The programme as listed: an edition's talks with their presenters, employer, seat counts and
the reader's registration (`items`, a fixed number of queries), and the programme page's
three parts: live now, coming by day, past (`programme`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, editions
from fair.enums import BoothStatus, RegistrationStatus
from fair.models import (
    Booth,
    Edition,
    Employer,
    User,
    Webconference,
    WebconferencePresenter,
    WebconferenceRegistration,
)
from fair.webconferences.registrations import ACTIVE, waiting_position
from fair.webconferences.rules import visible_to
from fair.webconferences.talks import is_live, is_past


@dataclass
class Item:
    """One webconference as the programme shows it, with the reader's registration."""

    webconference: Webconference
    presenters: list[str]
    employer: str  # the booth's employer, for a booth's talk
    registered: int
    waiting: int
    mine: RegistrationStatus | None = None
    position: int = 0  # on the waiting list, when mine is WAITING

    @property
    def seats_left(self) -> int:
        return max(0, self.webconference.capacity - self.registered)


@dataclass
class Programme:
    live: list[Item]
    upcoming: list[tuple[date, list[Item]]]
    past: list[Item]


async def items(
    session: AsyncSession, found: Sequence[Webconference], user: User | None = None
) -> list[Item]:
    """The webconferences with presenters, employer, counts and the user's registration, in a
    fixed number of queries (plus one per waiting-list place of the user)."""
    ids = [w.id for w in found]
    if not ids:
        return []
    names: dict[int, list[str]] = {}
    for conf_id, name in await session.execute(
        select(WebconferencePresenter.webconference_id, User.name)
        .join(User, User.id == WebconferencePresenter.user_id)
        .where(WebconferencePresenter.webconference_id.in_(ids))
        .order_by(WebconferencePresenter.webconference_id, WebconferencePresenter.position)
    ):
        names.setdefault(conf_id, []).append(name)
    counts: dict[tuple[int, str], int] = {
        (conf_id, status): n
        for conf_id, status, n in await session.execute(
            select(
                WebconferenceRegistration.webconference_id,
                WebconferenceRegistration.status,
                func.count(WebconferenceRegistration.id),
            )
            .where(
                WebconferenceRegistration.webconference_id.in_(ids),
                WebconferenceRegistration.status.in_(ACTIVE),
            )
            .group_by(WebconferenceRegistration.webconference_id, WebconferenceRegistration.status)
        )
    }
    booth_ids = {w.booth_id for w in found if w.booth_id is not None}
    employer_of: dict[int, str] = {}
    if booth_ids:
        employer_of = {
            booth_id: name
            for booth_id, name in await session.execute(
                select(Booth.id, Employer.name)
                .join(Employer, Employer.id == Booth.employer_id)
                .where(Booth.id.in_(booth_ids))
            )
        }
    mine: dict[int, WebconferenceRegistration] = {}
    if user is not None:
        mine = {
            r.webconference_id: r
            for r in await session.scalars(
                select(WebconferenceRegistration).where(
                    WebconferenceRegistration.candidate_id == user.id,
                    WebconferenceRegistration.webconference_id.in_(ids),
                    WebconferenceRegistration.active_key == 1,
                )
            )
        }
    result = []
    for w in found:
        item = Item(
            webconference=w,
            presenters=names.get(w.id, []),
            employer=employer_of.get(w.booth_id or 0, ""),
            registered=counts.get((w.id, RegistrationStatus.REGISTERED.value), 0),
            waiting=counts.get((w.id, RegistrationStatus.WAITING.value), 0),
        )
        registration = mine.get(w.id)
        if registration is not None:
            item.mine = RegistrationStatus(registration.status)
            if item.mine == RegistrationStatus.WAITING:
                item.position = await waiting_position(session, registration)
        result.append(item)
    return result


async def of_edition(
    session: AsyncSession, edition_id: int, *, booth_id: int | None = None
) -> list[Webconference]:
    """The edition's webconferences by start time (only the booth's when `booth_id` is set)."""
    query = select(Webconference).where(Webconference.edition_id == edition_id)
    if booth_id is not None:
        query = query.where(Webconference.booth_id == booth_id)
    rows = await session.scalars(query.order_by(Webconference.starts_at, Webconference.id))
    return list(rows)


async def public_page(
    session: AsyncSession,
    edition: Edition,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
    updated_since: datetime | None = None,
) -> list[Item]:
    """An edition's talks as the public sees them (the organisers' and approved booths'; the
    caller checks the edition is published), by start time then id, from just after `after`
    (a start time and an id), `limit` at most, changed at or after `updated_since`, with their
    presenters and seat counts: the public API's programme (cancelled talks included, so a
    partner learns of the cancellation)."""
    approved = select(Booth.id).where(
        Booth.edition_id == edition.id, Booth.status == BoothStatus.APPROVED
    )
    query = select(Webconference).where(
        Webconference.edition_id == edition.id,
        or_(Webconference.booth_id.is_(None), Webconference.booth_id.in_(approved)),
    )
    if after is not None:
        starts, last_id = after
        query = query.where(
            or_(
                Webconference.starts_at > starts,
                and_(Webconference.starts_at == starts, Webconference.id > last_id),
            )
        )
    if updated_since is not None:
        query = query.where(Webconference.updated_at >= updated_since)
    rows = await session.scalars(
        query.order_by(Webconference.starts_at, Webconference.id).limit(limit)
    )
    return await items(session, list(rows))


async def programme(
    session: AsyncSession, edition: Edition, user: User | None = None, now: datetime | None = None
) -> Programme:
    """What is live now (started by a presenter), then what is coming by day (in the
    edition's zone, those starting soon included), then the past: the talks `user` sees
    (`visible_to`; a booth's talk only while its booth is approved, or for those who run it)."""
    now = now or clock.now()
    zone = ZoneInfo(edition.timezone)
    talks = await of_edition(session, edition.id)
    approved = set(
        await session.scalars(
            select(Booth.id).where(
                Booth.edition_id == edition.id, Booth.status == BoothStatus.APPROVED
            )
        )
    )
    talks = [  # the rule itself for the few talks of booths not approved (or of a draft)
        t
        for t in talks
        if (editions.visible(edition) and t.booth_id in (None, *approved))
        or await visible_to(session, user, t)
    ]
    listed = await items(session, talks, user)
    live = [i for i in listed if is_live(i.webconference, now)]
    past = [i for i in listed if is_past(i.webconference, now)]
    days: dict[date, list[Item]] = {}
    for item in listed:
        if not is_live(item.webconference, now) and not is_past(item.webconference, now):
            days.setdefault(item.webconference.starts_at.astimezone(zone).date(), []).append(item)
    return Programme(live=live, upcoming=list(days.items()), past=past[::-1])
