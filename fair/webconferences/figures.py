"""Webconference figures for the organiser: seats booked against attendance, watch time and
questions, per talk of an edition (cancelled talks left out).

Who counts. The audience is the candidates who watched (fair.webconferences.audience records
every viewer but the presenters; organisers and recruiters looking in are not the audience).
Each candidate involved in a talk is in one of three groups, so that they add up:

- booked a seat (registration `registered`) and watched;
- booked a seat and did not watch;
- watched without a seat (an open talk lets anyone watch).

The participation rate is the first group over the seats booked (the first two). A
registration cancelled or still on the waiting list is not a seat. Watch time is a
candidate's time summed over their connections to the talk (an open row counts until the talk
ended, or until now while it runs, as `audience.statistics` counts it); its median is over
the audience. Questions are every question asked, whatever a moderator did with it since.

Four queries for a whole edition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.enums import RegistrationStatus, Role, WebconferenceStatus
from fair.models import (
    User,
    Webconference,
    WebconferenceAttendance,
    WebconferenceQuestion,
    WebconferenceRegistration,
)


@dataclass
class TalkFigures:
    """One talk's seats, audience and questions."""

    webconference_id: int
    title: str
    starts_at: datetime
    seated_watched: int = 0
    seated_absent: int = 0
    unseated_watched: int = 0
    watch_seconds: list[float] = field(default_factory=list)  # one per candidate who watched
    questions: int = 0

    @property
    def seats(self) -> int:
        return self.seated_watched + self.seated_absent

    @property
    def audience(self) -> int:
        return self.seated_watched + self.unseated_watched


async def per_talk(session: AsyncSession, edition_id: int) -> list[TalkFigures]:
    """Every talk of the edition but the cancelled ones, in programme order."""
    talks = list(
        await session.scalars(
            select(Webconference)
            .where(
                Webconference.edition_id == edition_id,
                Webconference.status != WebconferenceStatus.CANCELLED.value,
            )
            .order_by(Webconference.starts_at, Webconference.id)
        )
    )
    ids = [t.id for t in talks]
    watched = await _watch_seconds(session, talks)
    seated = await _seats(session, ids)
    asked = await _questions(session, ids)
    found = []
    for talk in talks:
        seconds, seats = watched.get(talk.id, {}), seated.get(talk.id, set())
        found.append(
            TalkFigures(
                webconference_id=talk.id,
                title=talk.title,
                starts_at=talk.starts_at,
                seated_watched=len(seats & seconds.keys()),
                seated_absent=len(seats - seconds.keys()),
                unseated_watched=len(seconds.keys() - seats),
                watch_seconds=sorted(seconds.values()),
                questions=asked.get(talk.id, 0),
            )
        )
    return found


async def _watch_seconds(
    session: AsyncSession, talks: list[Webconference]
) -> dict[int, dict[int, float]]:
    """Per talk, per candidate who watched: the seconds watched."""
    now = clock.now()
    until = {t.id: _until(t, now) for t in talks}
    rows = await session.execute(
        select(
            WebconferenceAttendance.webconference_id,
            WebconferenceAttendance.user_id,
            WebconferenceAttendance.joined_at,
            WebconferenceAttendance.left_at,
        )
        .join(User, User.id == WebconferenceAttendance.user_id)
        .where(
            WebconferenceAttendance.webconference_id.in_(list(until)),
            User.role == Role.CANDIDATE.value,
        )
    )
    found: dict[int, dict[int, float]] = {}
    for talk_id, user_id, joined, left in rows:
        spent = max(0.0, ((left or until[talk_id]) - joined).total_seconds())
        per_user = found.setdefault(talk_id, {})
        per_user[user_id] = per_user.get(user_id, 0.0) + spent
    return found


def _until(talk: Webconference, now: datetime) -> datetime:
    """Where an open attendance row stops counting: the talk's end once it ended, else now."""
    if talk.status == WebconferenceStatus.ENDED.value and talk.ended_at is not None:
        return talk.ended_at
    return now


async def _seats(session: AsyncSession, ids: list[int]) -> dict[int, set[int]]:
    rows = await session.execute(
        select(
            WebconferenceRegistration.webconference_id, WebconferenceRegistration.candidate_id
        ).where(
            WebconferenceRegistration.webconference_id.in_(ids),
            WebconferenceRegistration.status == RegistrationStatus.REGISTERED.value,
        )
    )
    found: dict[int, set[int]] = {}
    for talk_id, candidate_id in rows:
        found.setdefault(talk_id, set()).add(candidate_id)
    return found


async def _questions(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(WebconferenceQuestion.webconference_id, func.count())
        .where(WebconferenceQuestion.webconference_id.in_(ids))
        .group_by(WebconferenceQuestion.webconference_id)
    )
    return {talk_id: int(n) for talk_id, n in rows}
