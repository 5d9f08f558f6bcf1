"""Who may export what, and the record of each personal export: written in the unit of work
that checked the permission; listed, newest first, to the edition's organisers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, permissions
from fair.exports.kinds import BOOTH_APPLICATIONS, Export, check_format
from fair.models import (
    Booth,
    Edition,
    Employer,
    ExportRecord,
    User,
)

AUDIT_PAGE = 50

# Permission and audit -------------------------------------------------------------------------


async def authorise_edition(
    session: AsyncSession, *, user: User, edition: Edition, export: Export, format: str
) -> ExportRecord | None:
    """Refuse anyone but the edition's organisers; record a personal export (`record`)."""
    await permissions.require_organiser(session, user, edition)
    if not export.personal:
        return None
    return await record(session, export=export, edition_id=edition.id, by=user, format=format)


async def authorise_booth(
    session: AsyncSession, *, user: User, booth: Booth, format: str
) -> ExportRecord:
    """Refuse anyone but the booth's recruiters (another booth's applications do not exist for
    them); record the export."""
    await permissions.require_application_recruiter(session, user, booth)
    return await record(
        session,
        export=BOOTH_APPLICATIONS,
        edition_id=booth.edition_id,
        booth_id=booth.id,
        by=user,
        format=format,
    )


async def record(
    session: AsyncSession,
    *,
    export: Export,
    edition_id: int,
    by: User,
    format: str,
    booth_id: int | None = None,
) -> ExportRecord:
    """Write who exported what, when, in which format: the one writer of ExportRecord. Called
    in the unit of work that checked the permission, so no export leaves unrecorded."""
    entry = ExportRecord(
        edition_id=edition_id,
        booth_id=booth_id,
        user_id=by.id,
        what=export.what,
        format=check_format(format),
        personal=export.personal,
        created_at=clock.now(),
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    who: str
    email: str
    what: str
    format: str
    employer: str


async def audit(
    session: AsyncSession, edition_id: int, *, page: int = 1, size: int = AUDIT_PAGE
) -> tuple[list[AuditLine], bool]:
    """One page of the edition's recorded exports, newest first, and whether more follow."""
    statement = (
        select(ExportRecord, User.name, User.email, Employer.name)
        .outerjoin(User, User.id == ExportRecord.user_id)
        .outerjoin(Booth, Booth.id == ExportRecord.booth_id)
        .outerjoin(Employer, Employer.id == Booth.employer_id)
        .where(ExportRecord.edition_id == edition_id)
        .order_by(ExportRecord.created_at.desc(), ExportRecord.id.desc())
        .limit(size + 1)
        .offset((max(page, 1) - 1) * size)
    )
    rows = (await session.execute(statement)).all()
    lines = [
        AuditLine(entry.created_at, name or "", email or "", entry.what, entry.format, emp or "")
        for entry, name, email, emp in rows[:size]
    ]
    return lines, len(rows) > size
