"""The edition's booking rules (InterviewRules) and what they refuse.

Set by the organiser: how many interviews a candidate may have planned per booth and in all,
when booking opens, the cut-off for moving or cancelling, how long an offer from the waiting
list holds, and the minimum notice. (Who may do what is fair.interviews.rules.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, editions, permissions
from fair.errors import Conflict, Invalid
from fair.i18n import moment
from fair.interviews.reads import active_of_invitation, booth_row
from fair.models import (
    Booth,
    Edition,
    Interview,
    InterviewInvitation,
    InterviewRules,
    InterviewSlot,
    User,
)


@dataclass
class RulesInput:
    max_per_booth: int
    max_total: int
    release_at: datetime | None
    cancel_cutoff_minutes: int
    offer_minutes: int
    min_notice_minutes: int = 120


async def booking_rules(session: AsyncSession, edition_id: int) -> InterviewRules:
    """The edition's rules; defaults (not stored) until an organiser sets them."""
    found = await session.get(InterviewRules, edition_id)
    if found is not None:
        return found
    return InterviewRules(
        edition_id=edition_id,
        max_per_booth=1,
        max_total=5,
        release_at=None,
        cancel_cutoff_minutes=120,
        offer_minutes=60,
        min_notice_minutes=120,
    )


async def set_rules(
    session: AsyncSession, *, by: User, edition: Edition, data: RulesInput
) -> InterviewRules:
    await permissions.require_organiser(session, by, edition)
    errors = {}
    if not 1 <= data.max_per_booth <= 20:
        errors["max_per_booth"] = "Enter a number between 1 and 20."
    if not 1 <= data.max_total <= 50:
        errors["max_total"] = "Enter a number between 1 and 50."
    if not 0 <= data.cancel_cutoff_minutes <= 7 * 24 * 60:
        errors["cancel_cutoff_minutes"] = "Enter a number of minutes between 0 and 10,080."
    if not 5 <= data.offer_minutes <= 24 * 60:
        errors["offer_minutes"] = "Enter a number of minutes between 5 and 1,440."
    if not 0 <= data.min_notice_minutes <= 7 * 24 * 60:
        errors["min_notice_minutes"] = "Enter a number of minutes between 0 and 10,080."
    if errors:
        raise Invalid("Some fields need correcting.", code="interview.rules_invalid", fields=errors)
    found = await session.get(InterviewRules, edition.id)
    if found is None:
        found = InterviewRules(edition_id=edition.id)
        session.add(found)
    found.max_per_booth = data.max_per_booth
    found.max_total = data.max_total
    found.release_at = data.release_at
    found.cancel_cutoff_minutes = data.cancel_cutoff_minutes
    found.offer_minutes = data.offer_minutes
    found.min_notice_minutes = data.min_notice_minutes
    await session.flush()
    return found


def notice(limits: InterviewRules) -> timedelta:
    """The minimum notice: bookings and moves start at least this long after they are made."""
    return timedelta(minutes=limits.min_notice_minutes)


@dataclass(frozen=True)
class Refusal:
    """Why a booking cannot succeed now: a msgid, its parameters and a dotted code (`at`: the
    release time, for pages that show it in the reader's language)."""

    message: str
    code: str
    params: dict[str, Any]
    at: datetime | None = None

    def error(self) -> Conflict:
        return Conflict(self.message, code=self.code, params=self.params)


async def booking_refusal(session: AsyncSession, invitation: InterviewInvitation) -> Refusal | None:
    """Whether the invitation's candidate can book a slot now, and if not why (None: they can).

    The one answer for the pages, which show it instead of a booking form (to the candidate,
    and to the recruiter before booking for them), and for `book` itself, which raises it.
    In order: the invitation is closed; it already has an interview (a stale tab); booking
    has not opened yet (the rules' release time); the candidate has as many interviews
    planned with this employer, or in all, as the fair allows.
    """
    if invitation.active_key != 1:
        return Refusal("This invitation is closed.", "interview.invitation_closed", {})
    if await active_of_invitation(session, invitation.id) is not None:
        return Refusal(
            "You already have an interview for this invitation: change it instead.",
            "interview.already_booked",
            {},
        )
    return await rules_refusal(
        session, candidate_id=invitation.candidate_id, booth_id=invitation.booth_id
    )


async def rules_refusal(
    session: AsyncSession, *, candidate_id: int, booth_id: int
) -> Refusal | None:
    """The edition's rules for this candidate at this booth now: booking not open yet, or as
    many interviews planned as allowed (what a recruiter sees before proposing one)."""
    booth = await booth_row(session, booth_id)
    limits = await booking_rules(session, booth.edition_id)
    if limits.release_at is not None and clock.now() < limits.release_at:
        edition = await editions.get(session, booth.edition_id)
        when = limits.release_at.astimezone(ZoneInfo(edition.timezone))
        return Refusal(
            "Booking opens on %(when)s.",
            "interview.not_released",
            {"when": moment(when, edition.timezone, "short")},
            limits.release_at,
        )
    planned = await _planned(session, candidate_id)
    return _over_limit(planned, booth_id, booth.edition_id, limits)


async def _planned(
    session: AsyncSession, candidate_id: int, moving: Interview | None = None
) -> list[tuple[Interview, int]]:
    """The candidate's active interviews not yet over, with their edition (`moving` left out)."""
    query = (
        select(Interview, Booth.edition_id)
        .join(Booth, Booth.id == Interview.booth_id)
        .where(
            Interview.candidate_id == candidate_id,
            Interview.active_key == 1,
            Interview.ends_at > clock.now(),
        )
    )
    if moving is not None:
        query = query.where(Interview.id != moving.id)
    return [(i, edition_id) for i, edition_id in (await session.execute(query)).all()]


def _over_limit(
    planned: list[tuple[Interview, int]], booth_id: int, edition_id: int, limits: InterviewRules
) -> Refusal | None:
    """The edition's limits on planned interviews, per employer's booth and in all."""
    if sum(1 for i, _e in planned if i.booth_id == booth_id) >= limits.max_per_booth:
        return Refusal(
            "You have as many interviews planned with this employer as the fair allows.",
            "interview.limit_booth",
            {},
        )
    if sum(1 for _i, e in planned if e == edition_id) >= limits.max_total:
        return Refusal(
            "You have as many interviews planned as the fair allows.", "interview.limit_total", {}
        )
    return None


async def check_planned(
    session: AsyncSession, candidate_id: int, slot: InterviewSlot, moving: Interview | None = None
) -> None:
    """No overlap with any planned interview, and the edition's limits on future bookings.

    Called with the candidate's row locked, so two bookings of theirs cannot both pass.
    """
    booth = await booth_row(session, slot.booth_id)
    limits = await booking_rules(session, booth.edition_id)
    planned = await _planned(session, candidate_id, moving)
    if any(i.starts_at < slot.ends_at and i.ends_at > slot.starts_at for i, _e in planned):
        raise Conflict("You already have an interview at that time.", code="interview.overlap")
    refusal = _over_limit(planned, slot.booth_id, booth.edition_id, limits)
    if refusal is not None:
        raise refusal.error()


async def require_before_cutoff(session: AsyncSession, interview: Interview) -> None:
    booth = await booth_row(session, interview.booth_id)
    cutoff = timedelta(
        minutes=(await booking_rules(session, booth.edition_id)).cancel_cutoff_minutes
    )
    if clock.now() > interview.starts_at - cutoff:
        raise Conflict(
            "Too late to change this interview: %(minutes)s minutes before it at the latest.",
            code="interview.too_late",
            params={"minutes": int(cutoff.total_seconds() // 60)},
        )
