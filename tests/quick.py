"""Accounts, editions and booths built as tests/factories.py builds them, with accounts that
never log in (no password hashing: about a tenth of a second each, the bulk of a domain test
that makes a few booths)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fair import employers
from fair.enums import BoothStatus, Role
from fair.models import Booth, Edition, User
from tests import factories as f


async def cheap(session: AsyncSession, role: Role) -> User:
    """An account that never logs in here (no password hashing: a tenth of a second each)."""
    return await f.user(session, role, can_log_in=False)


async def edition_of(session: AsyncSession, **kw: object) -> Edition:
    return await f.edition(session, by=await cheap(session, Role.ORGANISER), **kw)


async def booth_of(
    session: AsyncSession, edition: Edition, *, approve: bool = True
) -> tuple[Booth, User]:
    """A booth of a new employer, approved unless told, and its recruiter (as f.booth does,
    with accounts that never log in)."""
    person = await cheap(session, Role.RECRUITER)
    employer = await f.employer(session, by=person)
    booth = await employers.request_booth(session, by=person, employer=employer, edition=edition)
    if approve:
        admin = await cheap(session, Role.ADMIN)
        await employers.set_status(session, booth, BoothStatus.APPROVED, by=admin)
    return await employers.get_booth(session, booth.id), person


async def colleague_of(session: AsyncSession, booth: Booth, owner: User) -> User:
    person = await cheap(session, Role.RECRUITER)
    employer = await employers.get(session, booth.employer_id)
    token = await employers.invite(session, by=owner, employer=employer, email=person.email)
    await employers.accept_invitation(session, token=token, user=person)
    return person
