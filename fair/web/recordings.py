"""Webconference recordings (fair.webconferences.recordings): a presenter's consent and its
withdrawal, the replay page and its video file.

The file route checks who asks on every request (a browser seeking in the video sends one per
jump, with a Range header: Starlette's FileResponse answers 206 with those bytes). Consenting
while the talk is live starts the stage's recorder at once; withdrawing while it records stops
it, and the file is deleted (recordings.start_recording / finish_recording drive the stage).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from fair import app_state, editions, webconferences
from fair.enums import WebconferenceStatus
from fair.media_rooms import MediaRooms
from fair.models import User, Webconference
from fair.web import urls
from fair.web.auth import database, page, path_int, require_user
from fair.web.templating import render
from fair.webconferences import recordings


def _stages(request: Request) -> MediaRooms:
    """The app's media rooms (fair.media_rooms)."""
    return app_state.of(request).stages


def _back(request: Request, webconference: Webconference, done: str) -> Response:
    return urls.redirect(
        request,
        "webconference",
        webconference_id=webconference.id,
        query={"done": done},
        anchor="recording",
    )


@page
async def consent(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    webconference = await webconferences.get(session, path_int(request, "webconference_id"))
    await recordings.consent(session, by=user, webconference=webconference)
    if webconference.status == WebconferenceStatus.LIVE:  # on stage already: record from now
        await recordings.start_recording(_stages(request), session, webconference)
    return _back(request, webconference, "recording_consented")


@page
async def withdraw(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    webconference = await webconferences.get(session, path_int(request, "webconference_id"))
    if await recordings.withdraw(session, by=user, webconference=webconference):
        await recordings.finish_recording(_stages(request), session, webconference)
    return _back(request, webconference, "recording_withdrawn")


@page
async def replay(request: Request) -> Response:
    session = database(request)
    user: User | None = request.state.user
    webconference_id = path_int(request, "webconference_id")
    recording = await recordings.replay_of(session, webconference_id, user)
    webconference = await webconferences.get(session, webconference_id)
    edition = await editions.get(session, webconference.edition_id)
    context = {
        "w": webconference,
        "edition": edition,
        "zone": edition.timezone,
        "item": (await webconferences.items(session, [webconference]))[0],
        "replay": recording,
        "recording": await recordings.overview(session, webconference, user),
        "done": "",
    }
    return render(request, "webconferences/replay.html", context)


@page
async def replay_file(request: Request) -> Response:
    recording = await recordings.replay_of(
        database(request), path_int(request, "webconference_id"), request.state.user
    )
    path = recordings.file_of(recording)
    assert path is not None  # replay_of checked it
    return FileResponse(
        path,
        media_type="video/webm",
        headers={"Cache-Control": "private, no-cache"},  # permission is checked every time
    )


routes = [
    Route(
        "/webconferences/{webconference_id:int}/recording/consent",
        consent,
        methods=["POST"],
        name="recording_consent",
    ),
    Route(
        "/webconferences/{webconference_id:int}/recording/withdraw",
        withdraw,
        methods=["POST"],
        name="recording_withdraw",
    ),
    Route("/webconferences/{webconference_id:int}/replay", replay, name="webconference_replay"),
    Route(
        "/webconferences/{webconference_id:int}/replay.webm",
        replay_file,
        name="webconference_replay_file",
    ),
]
