"""Who may do what in the flat families: roles (administrators), editions (organisers),
employers and booths (their recruiters), offers, applications, and staffing a booth live.

The interview and webconference families keep theirs in `fair/interviews/rules.py` and
`fair/webconferences/rules.py`. Boundaries and domain functions call these rules; none is
written again elsewhere. A rule either answers (`is_…`, `has_…`) or refuses (`require_…`,
raising Forbidden, or NotYours where a refusal would tell that someone else's object exists).

This module sits at the bottom of the domain: it reads the tables (fair.models) and imports no
other domain module, so every domain module may call it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair.enums import Role
from fair.errors import Forbidden, NotYours
from fair.models import Application, Booth, Edition, EditionOrganiser, EmployerMember, Offer, User

# Roles -----------------------------------------------------------------------------------------


def has_role(user: User, *roles: Role) -> bool:
    """Whether the user has one of `roles`; an administrator has them all."""
    return user.role in roles or user.role == Role.ADMIN


def require_role(user: User, *roles: Role) -> None:
    if not has_role(user, *roles):
        raise Forbidden("This page is not available to your account.")


def is_admin(user: User) -> bool:
    """Administrators: they create organisers, close accounts, read the outbox."""
    return user.role == Role.ADMIN


def require_admin(user: User) -> None:
    """Administrators only (has_role lets admins into every role's pages, not the reverse)."""
    if not is_admin(user):
        raise Forbidden("This page is for administrators.")


# Editions: their organisers (and the administrators) -------------------------------------------


async def is_organiser(session: AsyncSession, user: User, edition: Edition) -> bool:
    if is_admin(user):
        return True
    if user.role != Role.ORGANISER:
        return False
    found = await session.scalar(
        select(EditionOrganiser.user_id).where(
            EditionOrganiser.edition_id == edition.id, EditionOrganiser.user_id == user.id
        )
    )
    return found is not None


async def require_organiser(session: AsyncSession, user: User, edition: Edition) -> None:
    """Refuse someone who does not organise `edition`: a draft reads as missing (NotYours), so a
    refusal never tells that an unpublished edition exists; a published one is public anyway."""
    if not await is_organiser(session, user, edition):
        if edition.published_at is None:
            raise NotYours("This edition does not exist.")
        raise Forbidden("You do not organise this edition.")


# Employers and their booths: the employer's recruiters -----------------------------------------


async def membership(session: AsyncSession, user: User, employer_id: int) -> EmployerMember | None:
    return await session.get(EmployerMember, (employer_id, user.id))


async def is_member(session: AsyncSession, user: User, employer_id: int) -> bool:
    """Whether the user recruits for the employer."""
    return await membership(session, user, employer_id) is not None


async def require_member(
    session: AsyncSession, user: User, employer_id: int, *, owner: bool = False
) -> EmployerMember:
    """The user's membership of the employer (its owner's, with `owner`); else Forbidden."""
    member = await membership(session, user, employer_id)
    if member is None or (owner and not member.is_owner):
        raise Forbidden("You are not a recruiter of this employer.")
    return member


async def require_booth_member(session: AsyncSession, user: User, booth: Booth) -> None:
    """Who manages a booth, answers its queue and chat and staffs it live: its employer's
    recruiters."""
    await require_member(session, user, booth.employer_id)


# Offers ---------------------------------------------------------------------------------------


async def require_offer_member(session: AsyncSession, user: User, offer: Offer) -> None:
    """Who changes an offer: the recruiters of its booth's employer (`offer.booth` loaded)."""
    await require_member(session, user, offer.booth.employer_id)


# Applications ----------------------------------------------------------------------------------


async def require_application_recruiter(session: AsyncSession, user: User, booth: Booth) -> None:
    """A recruiter sees an application of `booth` (its booth) only as a recruiter of the booth's
    employer; anyone else is told it does not exist (NotYours)."""
    if not await is_member(session, user, booth.employer_id):
        raise NotYours("This application does not exist.")


def require_own_application(user: User, application: Application) -> None:
    """A candidate sees and changes only their own applications; another's does not exist."""
    if application.candidate_id != user.id:
        raise NotYours("This application does not exist.")
