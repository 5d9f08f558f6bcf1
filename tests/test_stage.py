"""Webconference stages through the real /live socket (uvicorn in a thread, SQLite, memory
broadcaster): an aiortc presenter publishes to the server (fair.media.stage), starts the talk,
two aiortc viewers watch and decode its video, the presenter ends it.

The server is tests/live_server.py's, the socket client tests/sockets.py's; the peers are
tests/media_setup.py's (a synthetic 640x360 camera and a 440 Hz microphone).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from sqlalchemy import select

from fair import channels, clock, db, settings, webconferences
from fair.enums import Role, WebconferenceAccess
from fair.models import User, Webconference, WebconferenceAttendance
from fair.webconferences import recordings
from tests import factories as f
from tests.conftest import csrf
from tests.factories import NOON, talk
from tests.live_server import Server
from tests.media_setup import HEIGHT, WIDTH, Viewer, camera_and_microphone, peer, until
from tests.sockets import socket_of


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> Iterator[None]:
    settings.override(server.conf)
    clock.set_now(NOON)
    yield
    clock.set_now(None)


async def event(ws: Any, name: str) -> dict[str, Any]:
    """The next event called `name` (viewer counts arrive in between, throttled)."""
    while True:
        found = await ws.event()
        if found["event"] == name:
            return found


@dataclass
class World:
    webconference: Webconference
    presenter: User
    organiser: User  # organises the edition, does not present
    viewers: list[User]
    unregistered: User


async def seed(server: Server) -> World:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            presenter = await f.user(session, Role.ORGANISER)
            edition = await f.edition(session, by=presenter)
            organiser = await f.user(session, Role.ORGANISER)
            webconference = await webconferences.schedule(
                session,
                by=presenter,
                edition=edition,
                data=talk([presenter], access=WebconferenceAccess.REGISTERED),
            )
            viewers = [await f.user(session, Role.CANDIDATE) for _ in range(2)]
            for viewer in viewers:
                await webconferences.register(
                    session, candidate=viewer, webconference=webconference
                )
            unregistered = await f.user(session, Role.CANDIDATE)
            await session.commit()
            return World(webconference, presenter, organiser, viewers, unregistered)
    finally:
        await engine.dispose()


async def test_presenter_publishes_viewers_watch_and_the_end_closes_them(
    server: Server,
    logged_in: Any,
    loopback_only: None,
) -> None:
    world = await seed(server)
    wid = world.webconference.id
    talk_id = {"webconference_id": wid}
    presenter_http = await logged_in(world.presenter)
    viewer_https = [await logged_in(v) for v in world.viewers]
    organiser_http = await logged_in(world.organiser)
    unregistered_http = await logged_in(world.unregistered)
    stages = server.app.state.stages

    presenter_pc = peer()
    for track in camera_and_microphone():
        presenter_pc.addTrack(track)
    await presenter_pc.setLocalDescription(await presenter_pc.createOffer())
    offer = {**talk_id, "type": "offer", "sdp": presenter_pc.localDescription.sdp}
    viewers = [Viewer(), Viewer()]
    async with (
        socket_of(server, presenter_http) as pws,
        socket_of(server, viewer_https[0]) as v1,
        socket_of(server, viewer_https[1]) as v2,
        socket_of(server, organiser_http) as ows,
        socket_of(server, unregistered_http) as uws,
    ):
        try:
            # Too early for the green room; then 10 minutes before the start, it opens.
            assert await pws.refused("stage.publish", offer) == "stage.too_early"
            clock.set_now(world.webconference.starts_at - timedelta(minutes=10))
            assert await ows.refused("stage.publish", offer) == "stage.forbidden"
            assert await ows.refused("stage.start", talk_id) == "stage.forbidden"
            assert await pws.refused("stage.publish", {**talk_id, "sdp": 5}) == "stage.bad_sdp"
            published = await pws.ok("stage.publish", offer)
            assert (published["webconference_id"], published["type"]) == (wid, "answer")
            await presenter_pc.setRemoteDescription(
                RTCSessionDescription(published["sdp"], "answer")
            )

            # Viewers follow the public channel; before the start they are refused.
            for ws in (v1, v2, uws):
                await ws.ok("subscribe", {"channel": channels.webconference(wid)})
            assert await v1.refused("stage.watch", talk_id) == "stage.not_started"

            clock.set_now(world.webconference.starts_at)
            assert await pws.ok("stage.start", talk_id) == {
                "webconference_id": wid,
                "state": "live",
            }
            for ws in (v1, v2, uws):
                assert await event(ws, "stage.state") == {
                    "event": "stage.state",
                    "webconference_id": wid,
                    "state": "live",
                }
            assert await uws.refused("stage.watch", talk_id) == "stage.not_registered"
            assert await v1.refused("stage.answer", {**talk_id, "sdp": "v=0\r\n"}) == (
                "stage.not_watching"
            )

            for ws, viewer in zip((v1, v2), viewers, strict=True):
                watched = await ws.ok("stage.watch", talk_id)
                assert (watched["webconference_id"], watched["type"]) == (wid, "offer")
                await viewer.pc.setRemoteDescription(RTCSessionDescription(watched["sdp"], "offer"))
                await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
                answer = {**talk_id, "sdp": viewer.pc.localDescription.sdp}
                assert await ws.ok("stage.answer", answer) == talk_id
            await until(lambda: all(v.count("video") >= 10 for v in viewers), 20)
            for viewer in viewers:
                assert {size[1:] for size in viewer.frames["video"]} == {(WIDTH, HEIGHT)}
                assert viewer.count("audio") > 0
            stage = stages.stages[f"webconference:{wid}"]
            assert (len(stage.presenters), len(stage.viewers)) == (1, 2)

            # The presenter ends the talk: everyone hears it, every server connection closes.
            ended = await pws.ok("stage.end", talk_id)
            assert ended == {"webconference_id": wid, "state": "ended"}
            for ws in (v1, v2, uws):
                assert await event(ws, "stage.state") == {
                    "event": "stage.state",
                    "webconference_id": wid,
                    "state": "ended",
                }
            assert f"webconference:{wid}" not in stages.stages
            assert all(pc.connectionState == "closed" for pc in stage.pcs())
            await until(lambda: all(r.done() for v in viewers for r in v.readers), 10)
            assert await v1.refused("stage.watch", talk_id) == "stage.ended"
            assert await pws.refused("stage.publish", offer) == "stage.ended"
        finally:
            for viewer in viewers:
                await viewer.close()
            await presenter_pc.close()


async def test_closing_the_socket_closes_its_connections(
    server: Server,
    logged_in: Any,
    loopback_only: None,
) -> None:
    world = await seed(server)
    wid = world.webconference.id
    clock.set_now(world.webconference.starts_at)
    presenter_pc = peer()
    for track in camera_and_microphone():
        presenter_pc.addTrack(track)
    await presenter_pc.setLocalDescription(await presenter_pc.createOffer())
    offer = {"webconference_id": wid, "sdp": presenter_pc.localDescription.sdp}
    try:
        async with socket_of(server, await logged_in(world.presenter)) as pws:
            await pws.ok("stage.publish", offer)
            (presenter,) = server.app.state.stages.stages[
                f"webconference:{wid}"
            ].presenters.values()
        await until(lambda: f"webconference:{wid}" not in server.app.state.stages.stages, 5)
        await until(lambda: presenter.pc.connectionState == "closed", 5)
    finally:
        await presenter_pc.close()


async def test_two_presenters_reach_a_viewer(
    server: Server,
    logged_in: Any,
    loopback_only: None,
) -> None:
    """A booth's talk with two presenters (its recruiters), open to all: the viewer's one
    connection carries both presenters' audio and video, forwarded by both relays."""
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            colleague = await f.colleague(session, booth_=booth, owner=recruiter)
            data = talk([recruiter, colleague], access=WebconferenceAccess.OPEN)
            webconference = await webconferences.schedule(
                session, by=recruiter, edition=edition, booth=booth, data=data
            )
            viewer_user = await f.user(session, Role.CANDIDATE)
            await session.commit()
    finally:
        await engine.dispose()
    talk_id = {"webconference_id": webconference.id}
    clock.set_now(webconference.starts_at)
    presenters, viewer = [peer(), peer()], Viewer()
    try:
        async with (
            socket_of(server, await logged_in(recruiter)) as first,
            socket_of(server, await logged_in(colleague)) as second,
            socket_of(server, await logged_in(viewer_user)) as watcher,
        ):
            for ws, pc in zip((first, second), presenters, strict=True):
                for track in camera_and_microphone():
                    pc.addTrack(track)
                await pc.setLocalDescription(await pc.createOffer())
                sdp = (await ws.ok("stage.publish", {**talk_id, "sdp": pc.localDescription.sdp}))[
                    "sdp"
                ]
                await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            await second.ok("stage.start", talk_id)
            watched = await watcher.ok("stage.watch", talk_id)
            await viewer.pc.setRemoteDescription(RTCSessionDescription(watched["sdp"], "offer"))
            await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
            await watcher.ok("stage.answer", {**talk_id, "sdp": viewer.pc.localDescription.sdp})
            await until(lambda: viewer.count("video") >= 20, 20)
            assert len(viewer.readers) == 4  # two audio and two video tracks
            stage = server.app.state.stages.stages[f"webconference:{webconference.id}"]
            for presenter in stage.presenters.values():
                assert presenter.relay.viewers == 1
                assert presenter.relay.frames_in["video"] > 0
            assert await watcher.ok("stage.leave", talk_id) == {**talk_id, "left": True}
            assert list(stage.viewers) == []
    finally:
        await viewer.close()
        for pc in presenters:
            await pc.close()


async def watch(ws: Any, viewer: Viewer, wid: int) -> dict[str, Any]:
    watched = await ws.ok("stage.watch", {"webconference_id": wid})
    await viewer.pc.setRemoteDescription(RTCSessionDescription(watched["sdp"], "offer"))
    await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
    answer = {"webconference_id": wid, "sdp": viewer.pc.localDescription.sdp}
    await ws.ok("stage.answer", answer)
    return watched


async def test_questions_counts_attendance_and_the_viewer_cap(
    server: Server,
    logged_in: Any,
    loopback_only: None,
) -> None:
    """Viewers ask and upvote through the socket, the presenter moderates, everyone following
    the talk hears `stage.question`; `stage.count` tells how many watch; attendance rows follow
    the sockets; over the cap a viewer is told so; an organiser cancelling the talk from a page
    closes its stage."""
    world = await seed(server)
    wid = world.webconference.id
    talk_id = {"webconference_id": wid}
    clock.set_now(world.webconference.starts_at)
    settings.override(replace(server.conf, stage_max_viewers=1))
    presenter_pc, viewer = peer(), Viewer()
    for track in camera_and_microphone():
        presenter_pc.addTrack(track)
    await presenter_pc.setLocalDescription(await presenter_pc.createOffer())
    offer = {**talk_id, "sdp": presenter_pc.localDescription.sdp}
    try:
        async with (
            socket_of(server, await logged_in(world.presenter)) as pws,
            socket_of(server, await logged_in(world.viewers[0])) as v1,
            socket_of(server, await logged_in(world.viewers[1])) as v2,
        ):
            answer = await pws.ok("stage.publish", offer)
            await presenter_pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
            await pws.ok("stage.start", talk_id)
            for ws in (pws, v1, v2):
                await ws.ok("subscribe", {"channel": channels.webconference(wid)})
            watched = await watch(v1, viewer, wid)
            assert [(t["kind"], t["info"]) for t in watched["tracks"]] == [
                ("audio", {"name": world.presenter.name, "source": "camera"}),
                ("video", {"name": world.presenter.name, "source": "camera"}),
            ]
            assert await v2.refused("stage.watch", talk_id) == "stage.full"
            counted = await event(v2, "stage.count")
            assert counted == {
                "event": "stage.count",
                "webconference_id": wid,
                "presenters": 1,
                "viewers": 1,
                "version": 1,
            }

            asked = await v1.ok("stage.ask", {**talk_id, "body": "Faut-il le permis ?"})
            question = {"webconference_id": wid, "question_id": asked["question_id"]}
            for ws in (pws, v1, v2):
                assert await event(ws, "stage.question") == {"event": "stage.question", **question}
            qid = asked["question_id"]
            assert await v1.refused("stage.vote", {"question_id": qid}) == "question.own"
            assert await v2.ok("stage.vote", {"question_id": qid}) == {
                "question_id": qid,
                "votes": 1,
                "voted": True,
            }
            hide = {"question_id": qid, "status": "hidden"}
            assert await v2.refused("stage.moderate", hide) == "question.forbidden"
            assert await v2.refused("stage.moderate", {**hide, "status": "gone"}) == (
                "live.bad_message"
            )
            assert await pws.ok("stage.moderate", {**hide, "status": "answered"}) == {
                "question_id": qid,
                "status": "answered",
            }

            attended = select(WebconferenceAttendance).where(
                WebconferenceAttendance.webconference_id == wid
            )
            async with db.sessionmaker(server.app.state.engine)() as session:
                rows = (await session.scalars(attended)).all()
                assert [(r.user_id, r.left_at) for r in rows] == [(world.viewers[0].id, None)]
            assert await v1.ok("stage.leave", talk_id) == {**talk_id, "left": True}
            async with db.sessionmaker(server.app.state.engine)() as session:
                (row,) = (await session.scalars(attended)).all()
                assert row.left_at is not None

            # Ended from the edition's programme page (its organiser, who presents it here),
            # not through the socket: the media host closes the stage on the event.
            organiser_http = await logged_in(world.presenter)
            programme = f"/organiser/editions/{world.webconference.edition_id}/webconferences"
            token = await csrf(organiser_http, programme)
            response = await organiser_http.post(
                f"/webconferences/{wid}/end", data={"csrf_token": token}
            )
            assert response.status_code == 303, response.text
            assert await event(v2, "stage.state") == {
                "event": "stage.state",
                "webconference_id": wid,
                "state": "ended",
            }
            await until(lambda: f"webconference:{wid}" not in server.app.state.stages.stages, 5)
    finally:
        await viewer.close()
        await presenter_pc.close()


async def test_a_consented_talk_is_recorded_from_start_to_end(
    server: Server,
    logged_in: Any,
    loopback_only: None,
    tmp_path: Any,
) -> None:
    """The presenter agreed to the recording: `stage.start` starts it, `stage.end` makes it a
    replay (fair.webconferences.recordings), with the file written by the stage."""
    world = await seed(server)
    wid = world.webconference.id
    talk_id = {"webconference_id": wid}
    settings.override(replace(server.conf, recordings_dir=tmp_path))
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            webconference = await webconferences.get(session, wid)
            await recordings.consent(session, by=world.presenter, webconference=webconference)
            await session.commit()
        clock.set_now(world.webconference.starts_at)
        presenter_pc = peer()
        for track in camera_and_microphone():
            presenter_pc.addTrack(track)
        await presenter_pc.setLocalDescription(await presenter_pc.createOffer())
        try:
            async with socket_of(server, await logged_in(world.presenter)) as pws:
                answer = await pws.ok(
                    "stage.publish", {**talk_id, "sdp": presenter_pc.localDescription.sdp}
                )
                await presenter_pc.setRemoteDescription(
                    RTCSessionDescription(answer["sdp"], "answer")
                )
                await pws.ok("stage.start", talk_id)
                stage = server.app.state.stages.stages[f"webconference:{wid}"]
                (presenter,) = stage.presenters.values()
                await until(lambda: presenter.relay.frames_in["video"] >= 60, 20)
                await pws.ok("stage.end", talk_id)
        finally:
            await presenter_pc.close()
        async with db.sessionmaker(engine)() as session:
            recording = await recordings.current(session, wid)
            assert recording is not None
            assert (recording.status, recording.seconds >= 1) == ("ready", True)
            path = recordings.file_of(recording)
            assert path is not None and path.stat().st_size == recording.bytes > 0
    finally:
        await engine.dispose()


async def test_a_screen_share_is_a_second_publication_taken_back_alone(
    server: Server,
    logged_in: Any,
    loopback_only: None,
) -> None:
    """The presenter's screen (video alone) beside the camera: a viewer's offer describes three
    tracks; `stage.unpublish` of the screen keeps the camera."""
    world = await seed(server)
    wid = world.webconference.id
    talk_id = {"webconference_id": wid}
    clock.set_now(world.webconference.starts_at)
    room = f"webconference:{wid}"
    camera, screen, viewer = peer(), peer(), Viewer()
    for track in camera_and_microphone():
        camera.addTrack(track)
        if track.kind == "video":
            screen.addTrack(track)
    try:
        async with (
            socket_of(server, await logged_in(world.presenter)) as pws,
            socket_of(server, await logged_in(world.viewers[0])) as vws,
        ):
            for pc, source in ((camera, "camera"), (screen, "screen")):
                await pc.setLocalDescription(await pc.createOffer())
                offer = {**talk_id, "sdp": pc.localDescription.sdp, "source": source}
                answer = await pws.ok("stage.publish", offer)
                await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
            stages = server.app.state.stages
            assert (stages.counts(room), stages.version(room)) == ((2, 0), 2)
            bad = {**talk_id, "source": "window"}
            assert await pws.refused("stage.unpublish", bad) == "live.bad_message"
            await pws.ok("stage.start", talk_id)
            watched = await watch(vws, viewer, wid)
            assert [(t["kind"], t["info"]["source"]) for t in watched["tracks"]] == [
                ("audio", "camera"),
                ("video", "camera"),
                ("video", "screen"),
            ]
            assert watched["ice_servers"] == []
            await until(lambda: viewer.count("video") >= 20, 20)

            unpublished = await pws.ok("stage.unpublish", {**talk_id, "source": "screen"})
            assert unpublished == {**talk_id, "source": "screen", "unpublished": True}
            assert (stages.counts(room), stages.version(room)) == ((1, 1), 3)
            assert [p.info["source"] for p in stages.stages[room].presenters.values()] == ["camera"]
            again = await pws.ok("stage.unpublish", {**talk_id, "source": "screen"})
            assert again["unpublished"] is False
            async with db.sessionmaker(server.app.state.engine)() as session:
                seen = select(WebconferenceAttendance.user_id).where(
                    WebconferenceAttendance.webconference_id == wid
                )
                assert list(await session.scalars(seen)) == [world.viewers[0].id]
    finally:
        await viewer.close()
        await camera.close()
        await screen.close()


async def test_a_presenter_whose_connection_closes_leaves_the_stage(
    server: Server,
    logged_in: Any,
    loopback_only: None,
) -> None:
    """A viewer's, then the presenter's browser closes its connection (or its network goes)
    without a word on the socket: the viewer's place is freed; the publication leaves the
    stage and the version moves, so viewers watch again rather than freeze."""
    world = await seed(server)
    wid = world.webconference.id
    room = f"webconference:{wid}"
    clock.set_now(world.webconference.starts_at)
    presenter_pc = peer()
    for track in camera_and_microphone():
        presenter_pc.addTrack(track)
    await presenter_pc.setLocalDescription(await presenter_pc.createOffer())
    stages = server.app.state.stages
    async with socket_of(server, await logged_in(world.presenter)) as pws:
        offer = {"webconference_id": wid, "sdp": presenter_pc.localDescription.sdp}
        answer = await pws.ok("stage.publish", offer)
        await presenter_pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        (published,) = stages.stages[room].presenters.values()
        await until(lambda: published.pc.connectionState == "connected", 10)
        viewer = Viewer()
        async with socket_of(server, await logged_in(world.viewers[0])) as vws:
            await pws.ok("stage.start", {"webconference_id": wid})
            await watch(vws, viewer, wid)
            await until(lambda: viewer.count("video") > 0, 10)
            assert stages.counts(room) == (1, 1)
            await viewer.close()  # the viewer's browser goes, its socket stays
            await until(lambda: stages.counts(room) == (1, 0), 10)
        version = stages.version(room)
        await presenter_pc.close()
        await until(lambda: room not in stages.stages, 10)
        assert stages.version(room) == version + 1
