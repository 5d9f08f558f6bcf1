"""Interview figures for the organiser: slots published and interviews by outcome, per booth;
interviews by mode (video, phone, written chat) and outcome, over the edition."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair.enums import BoothStatus, InterviewMode, InterviewStatus
from fair.models import Booth, Employer, Interview, InterviewSlot


@dataclass(frozen=True)
class BoothFigures:
    """One booth's interviews for the organiser: slots published, and interviews by outcome."""

    booth_id: int
    employer: str
    slots: int = 0
    booked: int = 0  # planned and confirmed (status booked)
    held: int = 0
    no_shows: int = 0
    cancelled: int = 0


async def booth_figures(session: AsyncSession, edition_id: int) -> list[BoothFigures]:
    """Per booth of the edition (approved, or with slots), by employer name; three queries."""
    slot_counts: dict[int, int] = {
        booth_id: n
        for booth_id, n in await session.execute(
            select(InterviewSlot.booth_id, func.count(InterviewSlot.id))
            .join(Booth, Booth.id == InterviewSlot.booth_id)
            .where(Booth.edition_id == edition_id, InterviewSlot.withdrawn_at.is_(None))
            .group_by(InterviewSlot.booth_id)
        )
    }
    by_status: dict[tuple[int, str], int] = {
        (booth_id, status): n
        for booth_id, status, n in await session.execute(
            select(Interview.booth_id, Interview.status, func.count(Interview.id))
            .join(Booth, Booth.id == Interview.booth_id)
            .where(Booth.edition_id == edition_id)
            .group_by(Interview.booth_id, Interview.status)
        )
    }
    booths = await session.execute(
        select(Booth.id, Booth.status, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id)
        .order_by(Employer.name, Booth.id)
    )
    return [
        BoothFigures(
            booth_id=booth_id,
            employer=name,
            slots=slot_counts.get(booth_id, 0),
            booked=by_status.get((booth_id, InterviewStatus.BOOKED.value), 0),
            held=by_status.get((booth_id, InterviewStatus.HELD.value), 0),
            no_shows=by_status.get((booth_id, InterviewStatus.NO_SHOW.value), 0),
            cancelled=by_status.get((booth_id, InterviewStatus.CANCELLED.value), 0),
        )
        for booth_id, status, name in booths
        if status == BoothStatus.APPROVED.value or booth_id in slot_counts
    ]


@dataclass(frozen=True)
class ModeFigures:
    """The interviews of one mode: held, missed by the candidate, and booked (to come, or
    whose outcome was not recorded). An inclusion figure: video is never forced."""

    mode: InterviewMode
    held: int = 0
    no_shows: int = 0
    booked: int = 0


async def by_mode(session: AsyncSession, edition_id: int) -> list[ModeFigures]:
    """One row per mode, in the order of InterviewMode; one grouped query. The mode is the
    interview's current one (a room may switch from video to phone or chat)."""
    rows = await session.execute(
        select(Interview.mode, Interview.status, func.count(Interview.id))
        .join(Booth, Booth.id == Interview.booth_id)
        .where(Booth.edition_id == edition_id)
        .group_by(Interview.mode, Interview.status)
    )
    counts = {(mode, status): int(n) for mode, status, n in rows}
    return [
        ModeFigures(
            mode=mode,
            held=counts.get((mode.value, InterviewStatus.HELD.value), 0),
            no_shows=counts.get((mode.value, InterviewStatus.NO_SHOW.value), 0),
            booked=counts.get((mode.value, InterviewStatus.BOOKED.value), 0),
        )
        for mode in InterviewMode
    ]
