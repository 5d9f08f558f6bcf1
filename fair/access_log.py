"""The personal-data access log: who opened which candidate's data, when, under which consent.

Written by the function that hands the data out (fair.cv_pool: a pool profile, its contact
details, its CV; the recruiters' page of an application's CV), in the same transaction, so a
page that fails records nothing and a page that shows something cannot forget to record it.
The candidate reads their own log on their CV pool page ("who saw my CV").

One entry per viewer, candidate, kind of data, consent and day (the Paris calendar day): the
first time that day. A page reloaded, or opened again from the results, tells the candidate
nothing more than that this organisation looked at this on that day, and one row per GET
would let a viewer bury the other entries of the list the candidate reads (SHOWN, newest
first) and grow the table with every reload.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.enums import AccessKind
from fair.models import PersonalDataAccess

SHOWN = 200  # the candidate's page lists this many, newest first
DAY_ZONE = ZoneInfo("Europe/Paris")  # whose calendar day an entry covers


def _day_start(moment: datetime) -> datetime:
    local = moment.astimezone(DAY_ZONE)
    return datetime.combine(local.date(), time(), tzinfo=DAY_ZONE)


async def record(
    session: AsyncSession,
    *,
    subject_id: int,
    viewer_id: int | None,
    viewer: str,
    what: AccessKind,
    consent_id: int | None = None,
) -> PersonalDataAccess:
    """One access by `viewer` (a person and their organisation, as the candidate reads it;
    `viewer_id` None for a partner instance of the network): the day's entry for the same
    viewer, data and consent if there is one, else a new one."""
    now = clock.now()
    same = await session.scalar(
        select(PersonalDataAccess)
        .where(
            PersonalDataAccess.subject_id == subject_id,
            PersonalDataAccess.at >= _day_start(now),
            PersonalDataAccess.viewer_id.is_(None)
            if viewer_id is None
            else PersonalDataAccess.viewer_id == viewer_id,
            PersonalDataAccess.viewer == viewer[:300],
            PersonalDataAccess.what == what.value,
            PersonalDataAccess.consent_id.is_(None)
            if consent_id is None
            else PersonalDataAccess.consent_id == consent_id,
        )
        .order_by(PersonalDataAccess.id)
        .limit(1)
    )
    if same is not None:
        return same
    row = PersonalDataAccess(
        subject_id=subject_id,
        viewer_id=viewer_id,
        viewer=viewer[:300],
        what=what.value,
        consent_id=consent_id,
        at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def of_subject(
    session: AsyncSession, subject_id: int, *, limit: int = SHOWN
) -> list[PersonalDataAccess]:
    """The accesses to a candidate's data, newest first."""
    rows = await session.scalars(
        select(PersonalDataAccess)
        .where(PersonalDataAccess.subject_id == subject_id)
        .order_by(PersonalDataAccess.at.desc(), PersonalDataAccess.id.desc())
        .limit(limit)
    )
    return list(rows)
