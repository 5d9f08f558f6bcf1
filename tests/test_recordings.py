"""Webconference recordings (fair.webconferences.recordings and fair.web.recordings) on SQLite
and PostgreSQL: consent, the stage's begin and finish, withdrawal deleting the file, who may
watch the replay, the forms, the replay page and its file served with Range requests."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, db, settings, webconferences
from fair.enums import RecordingStatus, Role, WebconferenceAccess
from fair.errors import FairError
from fair.models import Edition, User, Webconference, WebconferenceRecording
from fair.webconferences import recordings
from tests import factories as f
from tests.conftest import csrf
from tests.factories import NOON, TOMORROW, talk
from tests.media_setup import HEIGHT, WIDTH, camera_and_microphone, peer, until
from tests.pages import person, text_of
from tests.refusals import code_of

START = f.day_at(TOMORROW, 10)
DATA = bytes(range(256)) * 40  # 10,240 bytes standing for a WebM file


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


@dataclass
class Talk:
    webconference: Webconference
    edition: Edition
    presenter: User  # a recruiter of the booth
    organiser: User  # organises the edition, does not present
    stranger: User  # a recruiter of another booth
    registered: User
    unregistered: User


async def booth_talk(
    session: AsyncSession, access: WebconferenceAccess = WebconferenceAccess.REGISTERED
) -> Talk:
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, presenter = await f.booth(session, edition_=edition)
    _other, stranger = await f.booth(session, edition_=edition)
    webconference = await webconferences.schedule(
        session, by=presenter, edition=edition, booth=booth, data=talk([presenter], access=access)
    )
    registered = await f.user(session, Role.CANDIDATE)
    await webconferences.register(session, candidate=registered, webconference=webconference)
    unregistered = await f.user(session, Role.CANDIDATE)
    return Talk(webconference, edition, presenter, organiser, stranger, registered, unregistered)


async def live(session: AsyncSession, t: Talk) -> str | None:
    """The stage goes live (as stage.start does): the recording begins if consented."""
    clock.set_now(START)
    await webconferences.start(session, by=t.presenter, webconference=t.webconference)
    return await recordings.begin(session, webconference=t.webconference)


def write(path: str | Path | None, data: bytes) -> Path:
    """What the stage's recorder would write (tests may block: the files are small)."""
    assert path is not None
    Path(path).write_bytes(data)
    return Path(path)


def exists(path: Path) -> bool:
    return path.exists()


# The domain ------------------------------------------------------------------------------------


async def test_consent_is_a_presenters_before_the_end_and_idempotent(
    session: AsyncSession,
) -> None:
    t = await booth_talk(session)
    w = t.webconference
    for outsider in (t.organiser, t.stranger, t.registered):
        assert await code_of(recordings.consent(session, by=outsider, webconference=w)) == (
            "recording.forbidden"
        )
    assert await recordings.begin(session, webconference=w) is None  # nobody consented
    consented = await recordings.consent(session, by=t.presenter, webconference=w)
    assert (consented.status, consented.consented_by_id, consented.consented_at) == (
        RecordingStatus.CONSENTED,
        t.presenter.id,
        NOON,
    )
    again = await recordings.consent(session, by=t.presenter, webconference=w)
    assert again.id == consented.id
    assert await recordings.current(session, w.id) is consented

    clock.set_now(w.ends_at)
    assert await code_of(recordings.consent(session, by=t.presenter, webconference=w)) == (
        "recording.too_late"
    )


async def test_begin_finish_and_withdraw_delete_the_file(session: AsyncSession) -> None:
    t = await booth_talk(session)
    w = t.webconference
    await recordings.consent(session, by=t.presenter, webconference=w)
    path = await live(session, t)
    recording = await recordings.current(session, w.id)
    assert recording is not None
    expected = settings.get().recordings_dir / f"webconference-{w.id}-{recording.id}.webm"
    assert path == str(expected) and expected.parent.is_dir()
    assert (recording.status, recording.started_at, recording.path) == (
        RecordingStatus.RECORDING,
        START,
        expected.name,
    )
    assert await recordings.begin(session, webconference=w) == path  # the same file again

    expected.write_bytes(DATA)  # what the stage writes
    clock.set_now(START + timedelta(minutes=50))
    done = await recordings.finish(session, webconference=w, bytes=len(DATA), seconds=2990)
    assert done is recording
    assert (recording.status, recording.bytes, recording.seconds, recording.ended_at) == (
        RecordingStatus.READY,
        len(DATA),
        2990,
        START + timedelta(minutes=50),
    )
    # Consenting again changes nothing; outsiders may not withdraw; an organiser may.
    assert (await recordings.consent(session, by=t.presenter, webconference=w)) is recording
    for outsider in (t.stranger, t.registered):
        assert await code_of(recordings.withdraw(session, by=outsider, webconference=w)) == (
            "recording.forbidden"
        )
    assert await recordings.withdraw(session, by=t.organiser, webconference=w) is False
    assert recording.status == RecordingStatus.WITHDRAWN and not expected.exists()
    assert await code_of(recordings.withdraw(session, by=t.presenter, webconference=w)) == (
        "recording.none"
    )
    with pytest.raises(FairError) as raised:
        recordings._move(recording, RecordingStatus.READY)
    assert raised.value.code == "recording.bad_status"


async def test_withdrawing_while_recording_and_a_recording_that_failed(
    session: AsyncSession,
) -> None:
    t = await booth_talk(session)
    w = t.webconference
    await recordings.consent(session, by=t.presenter, webconference=w)
    path = write(await live(session, t), DATA[:100])
    assert await recordings.withdraw(session, by=t.presenter, webconference=w) is True
    assert not exists(path)
    # The stage's recorder wrote on until it was stopped: finish deletes that too.
    write(path, DATA[:100])
    withdrawn = await recordings.finish(session, webconference=w, bytes=100, seconds=1)
    assert withdrawn is not None and withdrawn.status == RecordingStatus.WITHDRAWN
    assert not exists(path) and withdrawn.ended_at == START

    # Consenting again (still live) is a new recording; one with nothing written failed.
    again = await recordings.consent(session, by=t.presenter, webconference=w)
    assert again.id != withdrawn.id and again.status == RecordingStatus.CONSENTED
    second = write(await recordings.begin(session, webconference=w), b"")
    assert second != path
    failed = await recordings.finish(session, webconference=w, bytes=0, seconds=0)
    assert failed is again and again.status == RecordingStatus.FAILED
    assert not exists(second)


async def test_a_recording_whose_stage_died_is_swept_as_failed(session: AsyncSession) -> None:
    """The media process died mid-talk: nobody finishes the recording. Ten minutes after the
    talk is over, the worker's sweep fails it and deletes the unfinished file; a talk still
    live, or just over, keeps recording."""
    t = await booth_talk(session)
    w = t.webconference
    await recordings.consent(session, by=t.presenter, webconference=w)
    path = write(await live(session, t), DATA)
    assert await recordings.sweep(session) == 0  # still live
    clock.set_now(START + timedelta(minutes=40))
    await webconferences.end(session, by=t.presenter, webconference=w)
    assert await recordings.sweep(session) == 0  # just over: the stage may still finish it
    clock.set_now(START + timedelta(minutes=51))
    assert await recordings.sweep(session) == 1
    recording = await recordings.current(session, w.id)
    assert recording is not None
    assert (recording.status, recording.ended_at) == (
        RecordingStatus.FAILED,
        START + timedelta(minutes=51),
    )
    assert not path.exists()
    assert await recordings.sweep(session) == 0


async def test_who_may_watch_a_replay(session: AsyncSession) -> None:
    t = await booth_talk(session)
    w = t.webconference
    await recordings.consent(session, by=t.presenter, webconference=w)
    write(await live(session, t), DATA)
    assert await code_of(recordings.replay_of(session, w.id, t.registered)) == (
        "recording.not_found"  # still recording: no replay yet
    )
    await recordings.finish(session, webconference=w, bytes=len(DATA), seconds=60)
    await webconferences.end(session, by=t.presenter, webconference=w)
    admin = await f.user(session, Role.ADMIN, can_log_in=False)

    for allowed in (t.registered, t.presenter, t.organiser, admin):
        found = await recordings.replay_of(session, w.id, allowed)
        assert found.status == RecordingStatus.READY
    for refused in (t.unregistered, t.stranger):
        assert await code_of(recordings.replay_of(session, w.id, refused)) == (
            "recording.not_registered"
        )
    assert await code_of(recordings.replay_of(session, w.id, None)) == "auth.required"
    assert await code_of(recordings.replay_of(session, w.id + 1000, t.presenter)) == (
        "webconference.not_found"
    )
    overview = await recordings.overview(session, w, t.registered)
    assert (overview.may_consent, overview.may_withdraw, overview.may_replay) == (
        False,
        False,
        True,
    )
    overview = await recordings.overview(session, w, t.presenter)
    assert (overview.may_consent, overview.may_withdraw, overview.may_replay) == (
        False,
        True,
        True,
    )

    # An open talk: anyone logged in, but not while its edition is unpublished.
    w.access = WebconferenceAccess.OPEN.value
    for anyone in (t.unregistered, t.stranger):
        assert (await recordings.replay_of(session, w.id, anyone)).status == "ready"
    t.edition.published_at = None
    assert await code_of(recordings.replay_of(session, w.id, t.unregistered)) == (
        "webconference.not_found"
    )
    assert (await recordings.replay_of(session, w.id, t.organiser)).status == "ready"


# The pages -------------------------------------------------------------------------------------


async def test_consent_and_withdraw_forms_drive_the_stage(
    session: AsyncSession, make_client, fetch, app
) -> None:  # type: ignore[no-untyped-def]
    t = await booth_talk(session)
    w = t.webconference
    clock.set_now(START)
    await webconferences.start(session, by=t.presenter, webconference=w)
    await db.commit(session)
    presenter = await person(make_client, t.presenter)
    token = await csrf(presenter, f"/webconferences/{w.id}")
    action = f"/webconferences/{w.id}/recording"

    refused = await presenter.post(f"{action}/consent", data={})
    assert refused.status_code == 403  # no CSRF token
    candidate = await person(make_client, t.registered)
    other = await candidate.post(
        f"{action}/consent", data={"csrf_token": await csrf(candidate, f"/webconferences/{w.id}")}
    )
    assert other.status_code == 403
    assert await fetch.scalar(recordings_of(w.id)) is None

    # Live already: consenting starts the stage's recorder at once (no camera yet: it waits).
    response = await presenter.post(f"{action}/consent", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/webconferences/{w.id}?done=recording_consented#recording"
    )
    row = await fetch.scalar(recordings_of(w.id))
    assert row.status == RecordingStatus.RECORDING
    room = channels.webconference(w.id)
    recording = app.state.stages.stages[room].recording
    assert recording is not None and recording.recorder.path.endswith(row.path)

    response = await presenter.post(f"{action}/withdraw", data={"csrf_token": token})
    assert response.headers["location"] == (
        f"/webconferences/{w.id}?done=recording_withdrawn#recording"
    )
    assert (await fetch.get(WebconferenceRecording, row.id)).status == "withdrawn"
    assert room not in app.state.stages.stages  # the recorder stopped, the empty room is gone
    again = await presenter.post(f"{action}/withdraw", data={"csrf_token": token})
    assert again.status_code == 409


def recordings_of(webconference_id: int):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    return (
        select(WebconferenceRecording)
        .where(WebconferenceRecording.webconference_id == webconference_id)
        .order_by(WebconferenceRecording.id.desc())
        .limit(1)
    )


async def test_replay_page_and_file_with_ranges(session: AsyncSession, make_client, client) -> None:  # type: ignore[no-untyped-def]
    t = await booth_talk(session)
    w = t.webconference
    await recordings.consent(session, by=t.presenter, webconference=w)
    write(await live(session, t), DATA)
    await recordings.finish(session, webconference=w, bytes=len(DATA), seconds=125)
    await webconferences.end(session, by=t.presenter, webconference=w)
    await db.commit(session)
    page, file = f"/webconferences/{w.id}/replay", f"/webconferences/{w.id}/replay.webm"

    viewer = await person(make_client, t.registered)
    shown = await viewer.get(page)
    assert shown.status_code == 200
    assert f'<video controls preload="metadata" src="{file}"' in shown.text
    assert 'aria-describedby="replay-description"' in shown.text
    caption = re.search(r'<figcaption id="replay-description">(.*?)</figcaption>', shown.text, re.S)
    assert caption is not None
    assert text_of(caption.group(1)).strip() == (
        f"Recording of the webconference “{w.title}”, given on 3/11/26, 10:00 AM–11:00 AM by "
        f"{t.presenter.name}: the presenter's camera and microphone (shared screens were not "
        "recorded). Length: 3 minutes."
    )
    assert 'action="/webconferences/' not in shown.text.split("<main", 1)[1]  # no forms

    whole = await viewer.get(file)
    assert (whole.status_code, whole.content, whole.headers["content-type"]) == (
        200,
        DATA,
        "video/webm",
    )
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["cache-control"] == "no-store"  # a logged-in answer: never kept
    part = await viewer.get(file, headers={"Range": "bytes=1000-1999"})
    assert (part.status_code, part.content, part.headers["content-range"]) == (
        206,
        DATA[1000:2000],
        f"bytes 1000-1999/{len(DATA)}",
    )
    tail = await viewer.get(file, headers={"Range": "bytes=-240"})
    assert (tail.status_code, tail.content) == (206, DATA[-240:])
    beyond = await viewer.get(file, headers={"Range": f"bytes={len(DATA)}-"})
    assert beyond.status_code == 416

    presenter = await person(make_client, t.presenter)
    own = await presenter.get(page)
    assert own.status_code == 200 and f'action="/webconferences/{w.id}/recording/withdraw"' in (
        own.text
    )
    assert "Replay available" in text_of(own.text)

    stranger = await person(make_client, t.unregistered)
    assert (await stranger.get(page)).status_code == 403
    assert (await stranger.get(file, headers={"Range": "bytes=0-99"})).status_code == 403
    anonymous = await client.get(file)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, f"/login?next={file}")

    # Withdrawn: the file is gone, and the pages with it, on the very next request.
    token = await csrf(presenter, page)
    await presenter.post(f"/webconferences/{w.id}/recording/withdraw", data={"csrf_token": token})
    assert (await viewer.get(page)).status_code == 404
    assert (await viewer.get(file, headers={"Range": "bytes=0-99"})).status_code == 404
    assert list(settings.get().recordings_dir.iterdir()) == []


async def test_a_live_talk_is_recorded_end_to_end_and_replayed(
    session: AsyncSession,
    make_client,
    app,
    loopback_only: None,
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    """The app's own stages: an aiortc presenter publishes, the talk starts (begin + record),
    ends (stop + finish), and the replay file served over HTTP decodes."""
    import io

    import av
    from aiortc import RTCSessionDescription

    from fair.webconferences.recordings import finish_recording, start_recording

    t = await booth_talk(session)
    w = t.webconference
    await recordings.consent(session, by=t.presenter, webconference=w)
    await db.commit(session)
    stages, room = app.state.stages, channels.webconference(w.id)
    presenter = peer()
    for track in camera_and_microphone():
        presenter.addTrack(track)
    await presenter.setLocalDescription(await presenter.createOffer())
    answer = await stages.publish(
        room, "socket-1", presenter.localDescription.sdp, info={"source": "camera"}
    )
    await presenter.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    clock.set_now(START)
    async with app.state.write_sessions() as s:
        found = await webconferences.get(s, w.id)
        await webconferences.start(s, by=t.presenter, webconference=found)
        await start_recording(stages, s, found)
        await db.commit(s)
    recorder = stages.stages[room].recording.recorder
    await until(lambda: recorder.frames["video"] >= 1, 10)
    await asyncio.sleep(2)
    async with app.state.write_sessions() as s:
        found = await webconferences.get(s, w.id)
        await webconferences.end(s, by=t.presenter, webconference=found)
        await finish_recording(stages, s, found)
        await db.commit(s)
    await stages.end(room)
    await presenter.close()

    row = await recordings.current(session, w.id)  # a fresh read: the session was committed
    await session.refresh(row)
    assert row.status == RecordingStatus.READY and row.seconds in (2, 3)  # ~2 s recorded
    viewer = await person(make_client, t.registered)
    served = await viewer.get(f"/webconferences/{w.id}/replay.webm")
    assert served.status_code == 200 and len(served.content) == row.bytes > 10_000
    with av.open(io.BytesIO(served.content)) as container:
        sizes = {(frame.width, frame.height) for frame in container.decode(video=0)}
    assert sizes == {(WIDTH, HEIGHT)}


async def test_the_recording_panel_offers_what_each_person_may_do(session: AsyncSession) -> None:
    """templates/webconferences/_recording.html, as the webconference page includes it."""
    from fair import i18n
    from fair.web.templating import env

    t = await booth_talk(session)
    w = t.webconference
    template = env().get_template("webconferences/_recording.html")

    async def html(user: User | None, done: str = "") -> str:
        return template.render(
            w=w,
            done=done,
            csrf_token="token",
            url=lambda name, **params: f"/{name}/{params['webconference_id']}",
            recording=await recordings.overview(session, w, user),
        )

    async def panel(user: User | None, done: str = "") -> str:
        return text_of(await html(user, done)).strip()

    french = await panel(t.presenter, "recording_withdrawn")
    assert french.startswith("Enregistrement Consentement retiré : l'enregistrement est supprimé.")
    english = i18n.current_locale.set("en")
    try:
        consent_text = (
            "With your consent, the server records your camera and microphone while the "
            "webconference is live (not your shared screen), and a replay page shows it "
            "afterwards to those who could watch it. You can withdraw your consent at any time: "
            "the recording is then deleted."
        )
        assert await panel(t.presenter) == f"Recording {consent_text} I agree to the recording"
        form = f'<form method="post" action="/recording_consent/{w.id}">'
        assert form in await html(t.presenter)
        assert await panel(t.registered) == await panel(t.organiser) == await panel(None) == ""
        assert text_of(template.render(w=w)).strip() == ""  # a page that passes no `recording`

        await recordings.consent(session, by=t.presenter, webconference=w)
        notice = (
            "The presenters' camera and microphone are recorded while the webconference is "
            "live; shared screens are not. The replay is shown on this page afterwards, to those "
            "who could watch the webconference."
        )
        assert await panel(t.registered) == f"Recording Will be recorded {notice}"
        assert await panel(t.organiser, "recording_consented") == (
            "Recording Thank you: the webconference will be recorded while it is live. "
            f"Will be recorded {notice} Withdraw the consent and delete the recording"
        )
    finally:
        i18n.current_locale.reset(english)
