"""Deleting one's account: the owner confirms with their password, then every table declared in
fair.personal_data is treated as it says (rows deleted, anonymised, or kept for the figures).

The users row itself stays, anonymised (no name, no address, no usable password, inactive) and
marked in `erased_accounts`: the applications, interviews and funnel rows that point to it stay
counted, so the organisers' dashboards, funnels and outcomes say the same before and after,
and recruiters see "Deleted candidate" (in their language: fair.personal_data.shown) where
the person was. Files (CVs, photos) are deleted
from the database, which is where they are stored (fair.files).

Refused, with a message saying what to do first, when deleting would leave something broken:
the only administrator; the only organiser of an edition not over yet; the only member of an
employer with a booth in an edition not over yet; a candidate or a recruiter with an
interview still to come (cancelling it tells the other person, and the funnel then counts it as
the cancellation it is).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import clock, outcomes, passwords, personal_data, user_sessions
from fair.enums import InterviewStatus, Role
from fair.errors import Conflict, Invalid
from fair.i18n import N_
from fair.models import (
    Base,
    Booth,
    Edition,
    EditionOrganiser,
    EmployerMember,
    ErasedAccount,
    Interview,
    User,
)
from fair.personal_data import Erase

UPCOMING = (InterviewStatus.OFFERED, InterviewStatus.PENDING, InterviewStatus.BOOKED)


async def is_erased(session: AsyncSession, user_id: int) -> bool:
    return await session.get(ErasedAccount, user_id) is not None


async def check_password(user: User, password: str) -> None:
    """Refuse a wrong password (argon2, verified in a thread: fair.passwords)."""
    if not password or not await passwords.verify(user.password_hash, password):
        message = "This is not your password."
        raise Invalid(message, code="erasure.bad_password", fields={"password": message})


async def blockers(session: AsyncSession, user: User) -> list[str]:
    """Why the account cannot be deleted now (msgids; empty: it can)."""
    found: list[str] = []
    if user.role == Role.ADMIN and await _other_admins(session, user) == 0:
        found.append(N_("You are the only administrator: make someone else one first."))
    if await _sole_organiser_of_running(session, user):
        found.append(
            N_(
                "You are the only organiser of an edition that is not over: add another organiser "
                "to it first."
            )
        )
    if await _sole_member_of_running_booth(session, user):
        found.append(
            N_(
                "You are the only recruiter of an employer with a booth in an edition that is not "
                "over: invite a colleague first."
            )
        )
    if await _upcoming_interviews(session, Interview.candidate_id == user.id):
        found.append(
            N_(
                "You have interviews to come: cancel them first (My interviews), so that the "
                "recruiters are told."
            )
        )
    if await _upcoming_interviews(session, Interview.recruiter_id == user.id):
        found.append(
            N_(
                "You have interviews to come with candidates: cancel them first, so that the "
                "candidates are told."
            )
        )
    return found


async def erase(session: AsyncSession, user: User, *, password: str) -> None:
    """Delete `user`'s account after checking their password and `blockers`.

    Side effects: every session ends (their sockets close); the declared tables are treated
    as fair.personal_data says; the account is anonymised and marked erased."""
    await check_password(user, password)
    found = await blockers(session, user)
    if found:
        raise Conflict(found[0], code="erasure.blocked")
    await user_sessions.revoke_all(session, user.id)
    await erase_rows(session, user)


async def erase_rows(session: AsyncSession, user: User) -> None:
    """Treat every declared table for `user` (no check: `erase` checks first)."""
    email = user.email
    tables = Base.metadata.tables
    for declared in personal_data.TABLES:
        if declared.erase is Erase.KEEP or declared.name == "users":
            continue
        table = tables[declared.name]
        rows = personal_data.rows_of(declared, user_id=user.id, email=email)
        if declared.erase is Erase.DELETE:
            await session.execute(delete(table).where(rows))
        else:
            values = personal_data.blank_values(declared, user)
            await session.execute(update(table).where(rows).values(values))
    session.add(ErasedAccount(user_id=user.id, role=user.role, erased_at=clock.now()))
    for name, value in personal_data.blank_values(personal_data.BY_NAME["users"], user).items():
        setattr(user, name, value)
    await session.flush()


async def _other_admins(session: AsyncSession, user: User) -> int:
    return (
        await session.scalar(
            select(func.count()).where(
                User.role == Role.ADMIN.value, User.is_active.is_(True), User.id != user.id
            )
        )
        or 0
    )


async def _running(session: AsyncSession, edition_ids: list[int]) -> bool:
    """Whether one of these editions is not over (not archived, its end still to come)."""
    if not edition_ids:
        return False
    found = await session.scalars(
        select(Edition)
        .where(Edition.id.in_(edition_ids), Edition.archived_at.is_(None))
        .options(selectinload(Edition.live_days))
    )
    now = clock.now()
    return any(outcomes.ends_at(edition) > now for edition in found)


async def _sole_organiser_of_running(session: AsyncSession, user: User) -> bool:
    mine = select(EditionOrganiser.edition_id).where(EditionOrganiser.user_id == user.id)
    alone = (
        select(EditionOrganiser.edition_id)
        .where(EditionOrganiser.edition_id.in_(mine))
        .group_by(EditionOrganiser.edition_id)
        .having(func.count() == 1)
    )
    return await _running(session, list(await session.scalars(alone)))


async def _sole_member_of_running_booth(session: AsyncSession, user: User) -> bool:
    mine = select(EmployerMember.employer_id).where(EmployerMember.user_id == user.id)
    alone = (
        select(EmployerMember.employer_id)
        .where(EmployerMember.employer_id.in_(mine))
        .group_by(EmployerMember.employer_id)
        .having(func.count() == 1)
    )
    editions = select(Booth.edition_id).where(Booth.employer_id.in_(alone))
    return await _running(session, list(await session.scalars(editions)))


async def _upcoming_interviews(session: AsyncSession, whose: ColumnElement[bool]) -> bool:
    found = await session.scalar(
        select(func.count()).where(
            whose,
            Interview.status.in_([s.value for s in UPCOMING]),
            Interview.ends_at > clock.now(),
        )
    )
    return bool(found)
