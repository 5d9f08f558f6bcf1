"""Webconference recordings: a presenter's consent, the file the stage records, the replay.

A talk is recorded only if one of its presenters consents, before it ends. When its stage goes
live, `begin` turns that consent into a recording and names its file (under the
`recordings_dir` setting); the stage records it (fair.media_rooms.MediaRooms.record) until the talk
ends, then `finish` marks it ready (or failed, when nothing was written). Any presenter, or
anyone who manages the talk (its edition's organisers, its booth's recruiters), may withdraw the
consent at any time: the file is deleted and the replay is gone. Consenting again afterwards
starts a new recording (a new row); the latest row is the talk's recording.

Who may watch a replay: whoever could have watched the talk (rules.may_watch).

The stage's edges (the live socket's stage.start / stage.end, an organiser's "end now", a
consent while live, a withdrawal while recording) drive the media rooms (whichever backend holds
them) through two functions, in a write session:

    await start_recording(stages, session, webconference)   # the talk just went live
    await finish_recording(stages, session, webconference)  # the talk just ended

Statuses move only through `_move`, along `TRANSITIONS`:
consented → recording → ready | failed; any of them → withdrawn.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, settings
from fair.enums import RecordingStatus
from fair.errors import Conflict, Forbidden, NotFound, Unauthenticated
from fair.media_rooms import MediaRooms
from fair.models import User, Webconference, WebconferenceRecording
from fair.webconferences import rules, talks

S = RecordingStatus
TRANSITIONS: dict[RecordingStatus, frozenset[RecordingStatus]] = {
    S.CONSENTED: frozenset({S.RECORDING, S.WITHDRAWN}),
    S.RECORDING: frozenset({S.READY, S.FAILED, S.WITHDRAWN}),
    S.READY: frozenset({S.WITHDRAWN}),
    S.FAILED: frozenset({S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}
ACTIVE = (S.CONSENTED, S.RECORDING, S.READY, S.FAILED)  # what withdrawing can take back


async def current(session: AsyncSession, webconference_id: int) -> WebconferenceRecording | None:
    """The talk's latest recording row, whatever its status."""
    found: WebconferenceRecording | None = await session.scalar(
        select(WebconferenceRecording)
        .where(WebconferenceRecording.webconference_id == webconference_id)
        .order_by(WebconferenceRecording.id.desc())
        .limit(1)
    )
    return found


def file_of(recording: WebconferenceRecording) -> Path | None:
    """Where the recording's file is (or would be) on disk."""
    if not recording.path:
        return None
    return settings.get().recordings_dir / recording.path


async def consent(
    session: AsyncSession, *, by: User, webconference: Webconference
) -> WebconferenceRecording:
    """A presenter agrees that the talk be recorded. Consenting again changes nothing."""
    if by.id not in await talks.presenters_of(session, webconference.id):
        raise Forbidden(
            "Only the presenters can agree to record this webconference.",
            code="recording.forbidden",
        )
    if talks.is_past(webconference) or webconference.status in talks.OVER:
        raise Conflict(
            "This webconference is over: it can no longer be recorded.",
            code="recording.too_late",
        )
    found = await current(session, webconference.id)
    if found is not None and found.status != S.WITHDRAWN:
        return found
    recording = WebconferenceRecording(
        webconference_id=webconference.id,
        consented_by_id=by.id,
        consented_at=clock.now(),
        status=S.CONSENTED.value,
        bytes=0,
        seconds=0,
    )
    session.add(recording)
    await session.flush()
    return recording


async def withdraw(session: AsyncSession, *, by: User, webconference: Webconference) -> bool:
    """A presenter or a manager of the talk takes the consent back: the file is deleted.
    Returns whether the stage is recording it now: the caller then stops the stage's
    recorder (Stages.stop_recording) and calls `finish`, which deletes what it wrote."""
    if not await rules.can_moderate(session, by, webconference):
        raise Forbidden(
            "Only the presenters and the organisers can withdraw this recording.",
            code="recording.forbidden",
        )
    recording = await current(session, webconference.id)
    if recording is None or recording.status not in ACTIVE:
        raise Conflict("There is no recording to withdraw.", code="recording.none")
    was_recording = recording.status == S.RECORDING
    _move(recording, S.WITHDRAWN)
    if was_recording:
        recording.ended_at = clock.now()
    _delete_file(recording)
    await session.flush()
    return was_recording


async def begin(session: AsyncSession, *, webconference: Webconference) -> str | None:
    """The stage goes live: if a presenter consented, the recording starts; the path of the
    file to record to (its directory exists). None when the talk is not to be recorded.
    Beginning again while it records gives the same path."""
    recording = await current(session, webconference.id)
    if recording is None or recording.status not in (S.CONSENTED, S.RECORDING):
        return None
    if recording.status == S.CONSENTED:
        _move(recording, S.RECORDING)
        recording.started_at = clock.now()
        recording.path = f"webconference-{webconference.id}-{recording.id}.webm"
        await session.flush()
    path = file_of(recording)
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


async def finish(
    session: AsyncSession, *, webconference: Webconference, bytes: int, seconds: int
) -> WebconferenceRecording | None:
    """The stage stopped recording (`bytes` and `seconds` written): ready for replay, or
    failed when nothing was written (its file, if any, is deleted). A withdrawn recording
    stays withdrawn and loses what the stage wrote after the withdrawal."""
    recording = await current(session, webconference.id)
    if recording is None:
        return None
    if recording.status == S.WITHDRAWN:
        _delete_file(recording)
        return recording
    if recording.status != S.RECORDING:
        return recording
    recording.ended_at = clock.now()
    if bytes > 0:
        _move(recording, S.READY)
        recording.bytes, recording.seconds = bytes, seconds
    else:
        _move(recording, S.FAILED)
        _delete_file(recording)
    await session.flush()
    return recording


async def start_recording(
    stages: MediaRooms, session: AsyncSession, webconference: Webconference
) -> None:
    """The talk is live: if a presenter consented, its stage records to the file `begin` names."""
    path = await begin(session, webconference=webconference)
    if path is not None:
        await stages.record(channels.webconference(webconference.id), path)


async def finish_recording(
    stages: MediaRooms, session: AsyncSession, webconference: Webconference
) -> None:
    """The talk is over (or its consent withdrawn): the stage closes its file (also when the
    media host's `end` already did), and the recording becomes ready, failed or stays
    withdrawn."""
    written = await stages.stop_recording(channels.webconference(webconference.id))
    await finish(session, webconference=webconference, **written)


ABANDONED_AFTER = timedelta(minutes=10)


async def sweep(session: AsyncSession, now: datetime | None = None) -> int:
    """Recordings still RECORDING 10 minutes after their talk ended or was cancelled: the
    process that held the stage died before closing the file (an unfinished WebM): failed, file
    deleted. The worker's round; returns how many."""
    now = now or clock.now()
    stuck = await session.scalars(
        select(WebconferenceRecording)
        .join(Webconference, Webconference.id == WebconferenceRecording.webconference_id)
        .where(
            WebconferenceRecording.status == S.RECORDING,
            Webconference.status.in_(talks.OVER),
            Webconference.updated_at < now - ABANDONED_AFTER,
        )
    )
    swept = 0
    for recording in stuck:
        _move(recording, S.FAILED)
        recording.ended_at = now
        _delete_file(recording)
        swept += 1
    await session.flush()
    return swept


async def replay_of(
    session: AsyncSession, webconference_id: int, viewer: User | None
) -> WebconferenceRecording:
    """The talk's ready recording, if `viewer` may watch it."""
    webconference = await talks.get(session, webconference_id)
    if viewer is None:
        raise Unauthenticated("Please log in to watch the replay.")
    if not await rules.may_watch(session, viewer, webconference):
        if not await rules.visible_to(session, viewer, webconference):
            raise NotFound("This webconference does not exist.", code="webconference.not_found")
        raise Forbidden(
            "This replay is for the candidates registered for the webconference.",
            code="recording.not_registered",
        )
    recording = await current(session, webconference_id)
    path = file_of(recording) if recording is not None else None
    if recording is None or recording.status != S.READY or path is None or not path.is_file():
        raise NotFound("There is no replay of this webconference.", code="recording.not_found")
    return recording


@dataclass
class Overview:
    """What the webconference page shows a person of the talk's recording."""

    recording: WebconferenceRecording | None
    status: RecordingStatus | None
    may_consent: bool  # a presenter, before the end, and no consent is in force
    may_withdraw: bool
    may_replay: bool


async def overview(
    session: AsyncSession, webconference: Webconference, user: User | None
) -> Overview:
    recording = await current(session, webconference.id)
    status = RecordingStatus(recording.status) if recording is not None else None
    if user is None:
        return Overview(recording, status, False, False, False)
    presenter = user.id in await talks.presenters_of(session, webconference.id)
    manages = presenter or await rules.can_manage(session, user, webconference)
    over = talks.is_past(webconference) or webconference.status in talks.OVER
    in_force = status is not None and status != S.WITHDRAWN
    return Overview(
        recording=recording,
        status=status,
        may_consent=presenter and not over and not in_force,
        may_withdraw=manages and status in ACTIVE,
        may_replay=status == S.READY and await rules.may_watch(session, user, webconference),
    )


def _move(recording: WebconferenceRecording, new: RecordingStatus) -> None:
    """The one place a recording's status changes."""
    current_status = RecordingStatus(recording.status)
    if new not in TRANSITIONS[current_status]:
        raise Conflict(
            "This recording cannot change now: %(status)s.",
            code="recording.bad_status",
            params={"status": current_status.label},
        )
    recording.status = new.value


def _delete_file(recording: WebconferenceRecording) -> None:
    path = file_of(recording)
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
