"""The personal-data access log: who opened which candidate's data, when, under which consent.

Written by the function that hands the data out (fair.cv_pool: a pool profile, its contact
details, its CV; the recruiters' page of an application's CV), in the same transaction, so a
page that fails records nothing and a page that shows something cannot forget to record it.
The candidate reads their own log on their CV pool page ("who saw my CV").
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.enums import AccessKind
from fair.models import PersonalDataAccess

SHOWN = 200  # the candidate's page lists this many, newest first


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
    `viewer_id` None for a partner instance of the network)."""
    row = PersonalDataAccess(
        subject_id=subject_id,
        viewer_id=viewer_id,
        viewer=viewer[:300],
        what=what.value,
        consent_id=consent_id,
        at=clock.now(),
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
