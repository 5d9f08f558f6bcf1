"""Who may do what with a webconference: the family's permission rules, in one place. The web
pages, the stage's socket commands and the domain's own writes all ask here.

* Managing a talk (edit, cancel, start or end it, withdraw its recording): the edition's
  organisers, and for a booth's talk the booth's recruiters (`can_manage`). Scheduling one:
  the same people, once the booth is approved (`require_scheduler`).
* Presenting: the talk's presenters, chosen among the edition's organisers and, for a booth's
  talk, the booth's recruiters (`eligible_presenters`); on stage from 15 minutes before the
  start until it ends (`require_presenter`).
* Moderating its questions: its presenters and those who manage it (`can_moderate`).
* Seeing it at all: its moderators always; anyone else once its edition is published, a
  booth's talk only while the booth is approved (`visible_to`).
* Its access, whatever the hour: an open talk, anyone; a "registered" talk, those holding a
  seat and its moderators (`holds_access`). Watching live needs both, and the talk live
  (`require_viewer`); reading its questions needs both at any time (`require_reader`);
  watching its replay needs both, or managing it (`may_watch`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, editions, employers, permissions
from fair.enums import (
    BoothStatus,
    RegistrationStatus,
    Role,
    WebconferenceAccess,
    WebconferenceStatus,
)
from fair.errors import Conflict, Forbidden, NotFound
from fair.models import Booth, Edition, EditionOrganiser, EmployerMember, User, Webconference
from fair.webconferences import registrations, talks

# Who manages a webconference -------------------------------------------------------------------


async def eligible_presenters(
    session: AsyncSession, edition: Edition, booth: Booth | None
) -> list[User]:
    """Who may present: the edition's organisers, and the booth's recruiters for a booth's talk."""
    allowed: Any = select(EditionOrganiser.user_id).where(EditionOrganiser.edition_id == edition.id)
    if booth is not None:
        allowed = allowed.union(
            select(EmployerMember.user_id).where(EmployerMember.employer_id == booth.employer_id)
        )
    rows = await session.scalars(
        select(User).where(User.id.in_(allowed), User.is_active.is_(True)).order_by(User.name)
    )
    return list(rows)


async def can_manage(session: AsyncSession, user: User, webconference: Webconference) -> bool:
    """An organiser of the edition, or a recruiter of the booth for a booth's talk."""
    edition = await editions.get(session, webconference.edition_id)
    if await permissions.is_organiser(session, user, edition):
        return True
    if webconference.booth_id is None or user.role != Role.RECRUITER:
        return False
    booth = await employers.get_booth(session, webconference.booth_id)
    return await permissions.membership(session, user, booth.employer_id) is not None


async def require_manager(session: AsyncSession, user: User, webconference: Webconference) -> None:
    if not await can_manage(session, user, webconference):
        raise Forbidden("You cannot change this webconference.", code="webconference.forbidden")


async def require_manageable(
    session: AsyncSession, user: User, webconference_id: int
) -> Webconference:
    """The talk, if `user` manages it (`can_manage`); else, as if it did not exist, NotFound
    (the edit, cancel and end pages)."""
    webconference = await talks.get(session, webconference_id)
    if not await can_manage(session, user, webconference):
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    return webconference


async def require_scheduler(
    session: AsyncSession, user: User, edition: Edition, booth: Booth | None
) -> None:
    """`user` may add a talk to the edition's programme (a booth's talk when `booth` is given:
    its recruiters, once the organiser approved the booth)."""
    if booth is not None and booth.edition_id != edition.id:
        raise NotFound("This booth does not exist.")
    if await permissions.is_organiser(session, user, edition):
        return
    if booth is None or user.role != Role.RECRUITER:
        raise Forbidden("You do not organise this edition.")
    await permissions.require_member(session, user, booth.employer_id)
    if booth.status != BoothStatus.APPROVED:
        raise Conflict(
            "Webconferences can be scheduled once the organiser approves the booth.",
            code="webconference.booth_not_approved",
        )


# The stage's doors (checked on every stage command) ---------------------------------------------


async def require_presents(
    session: AsyncSession, user: User, webconference_id: int
) -> Webconference:
    """The talk, if `user` is one of its presenters, whatever the hour (the stage's page:
    not even an organiser of the edition enters it, they moderate from the talk's page)."""
    webconference = await talks.get(session, webconference_id)
    if user.id not in await talks.presenters_of(session, webconference.id):
        raise Forbidden(
            "Only the presenters of this webconference enter its stage.", code="stage.forbidden"
        )
    return webconference


async def require_presenter(
    session: AsyncSession, user: User, webconference_id: int
) -> Webconference:
    """The webconference, if `user` presents it and its green room is open: from 15 minutes
    before its start until it ends."""
    webconference = await talks.get(session, webconference_id)
    if user.id not in await talks.presenters_of(session, webconference_id):
        raise Forbidden("You cannot change this webconference.", code="stage.forbidden")
    _require_not_over(webconference)
    if clock.now() < webconference.starts_at - talks.SOON:
        raise Conflict(
            "Presenters can enter the green room 15 minutes before the start.",
            code="stage.too_early",
        )
    return webconference


async def require_viewer(session: AsyncSession, user: User, webconference_id: int) -> bool:
    """Watching needs the talk visible (`visible_to`), live, and its access (`holds_access`).
    Presenters may watch each other from the green room on. Returns whether `user` presents
    the talk."""
    webconference = await require_visible(session, user, webconference_id)
    _require_not_over(webconference)
    if user.id in await talks.presenters_of(session, webconference_id):
        if clock.now() < webconference.starts_at - talks.SOON:
            raise Conflict(
                "Presenters can enter the green room 15 minutes before the start.",
                code="stage.too_early",
            )
        return True
    if webconference.status != WebconferenceStatus.LIVE:
        raise Conflict(
            "The webconference has not started yet: it will show here when it does.",
            code="stage.not_started",
        )
    if not await holds_access(session, user, webconference):
        raise Forbidden(
            "This webconference is for registered candidates: register on the programme.",
            code="stage.not_registered",
        )
    return False


async def require_reader(
    session: AsyncSession, user: User, webconference_id: int
) -> tuple[Webconference, bool]:
    """The talk and whether `user` moderates it, if they may read its questions: its
    moderators, and whoever may watch it (`visible_to` and `holds_access`). Unlike watching,
    reading is not tied to the talk being live."""
    webconference = await talks.get(session, webconference_id)
    if await can_moderate(session, user, webconference):
        return webconference, True
    if not await visible_to(session, user, webconference):
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    if not await holds_access(session, user, webconference):
        raise Forbidden(
            "This webconference is for registered candidates: register on the programme.",
            code="stage.not_registered",
        )
    return webconference, False


async def visible_to(
    session: AsyncSession, user: User | None, webconference: Webconference
) -> bool:
    """Whether `user` (None: a visitor) sees the talk at all, on its pages and through the
    socket: its presenters and those who manage it always; anyone else once its edition is
    published, and a booth's talk only while the booth is approved (`employers.is_public`)."""
    if await can_moderate(session, user, webconference):
        return True
    if webconference.booth_id is None:
        return editions.visible(await editions.get(session, webconference.edition_id))
    return employers.is_public(await employers.get_booth(session, webconference.booth_id))


async def require_visible(
    session: AsyncSession, user: User | None, webconference_id: int
) -> Webconference:
    """The talk, if `user` sees it (`visible_to`); else, as if it did not exist, NotFound."""
    webconference = await talks.get(session, webconference_id)
    if not await visible_to(session, user, webconference):
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    return webconference


async def holds_access(session: AsyncSession, user: User, webconference: Webconference) -> bool:
    """The talk's access rule, whatever the hour (watching it live, reading its questions,
    its replay): an open talk, anyone; a "registered" talk, those with a seat, its presenters
    and those who manage it."""
    if webconference.access != WebconferenceAccess.REGISTERED:
        return True
    if await can_moderate(session, user, webconference):
        return True
    registration = await registrations.registration_of(session, webconference.id, user.id)
    return registration is not None and registration.status == RegistrationStatus.REGISTERED


async def can_moderate(
    session: AsyncSession, user: User | None, webconference: Webconference
) -> bool:
    """Its presenters, and those who manage it: they moderate its questions and may withdraw
    its recording."""
    if user is None:
        return False
    if user.id in await talks.presenters_of(session, webconference.id):
        return True
    return await can_manage(session, user, webconference)


async def may_watch(session: AsyncSession, viewer: User, webconference: Webconference) -> bool:
    """Whether `viewer` could watch the talk, hence its replay: those who manage it; anyone
    else who sees it (`visible_to`) and holds its access (`holds_access`): for an "open" talk
    anyone logged in (once its edition is published), for a "registered" talk its registered
    candidates and its presenters."""
    if await can_manage(session, viewer, webconference):
        return True
    if not await visible_to(session, viewer, webconference):
        return False
    return await holds_access(session, viewer, webconference)


def _require_not_over(webconference: Webconference) -> None:
    if webconference.status == WebconferenceStatus.CANCELLED:
        raise Conflict("This webconference is cancelled.", code="stage.ended")
    if webconference.status == WebconferenceStatus.ENDED:
        raise Conflict("This webconference has ended.", code="stage.ended")
