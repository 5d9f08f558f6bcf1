"""A webconference's stage in the browser (fair/live/PROTOCOL.md, "Webconference stages").

Two pages, both run by static/stage.js over its own /live socket:

* the presenters' stage, `/webconferences/<id>/stage`: the green room (from 15 minutes before the
  start), their camera, microphone and screen, the start and end buttons, the live viewer count
  and the questions with their moderation buttons. Presenters only (403 for anyone else, even
  an organiser of the edition: they moderate from the webconference's page);
* the question list, `/webconferences/<id>/questions`, the fragment both the stage and the
  viewers' player (templates/webconferences/_player.html, on the webconference's page) fetch
  again on each `stage.question` event.

Who reads the questions (`webconferences.require_reader`): the moderators, and whoever may watch
the talk: anyone logged in for an open talk, the candidates holding a seat for a talk with
registration. Unlike watching (`webconferences.require_viewer`), reading is not tied to the
talk being live: before the start the list is empty, and after the end it stays readable
(open and answered questions), so a viewer can read the answers again. Votes and new questions
are for the live talk only; moderators may still tidy up afterwards.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import chat, editions, ice, webconferences
from fair.enums import QuestionStatus, WebconferenceStatus
from fair.models import Webconference
from fair.web.auth import database, page, path_int, require_user
from fair.web.templating import render
from fair.webconferences import audience


def _question_context(
    webconference: Webconference, questions: list[audience.QuestionView], moderator: bool
) -> dict[str, object]:
    return {
        "w": webconference,
        "questions": questions,
        "moderator": moderator,
        "live": webconference.status == WebconferenceStatus.LIVE,
        "QuestionStatus": QuestionStatus,
    }


@page
async def questions(request: Request) -> Response:
    """The question list alone (no layout), for the stage and the player to swap in."""
    user = require_user(request)
    webconference_id = path_int(request, "webconference_id")
    webconference, moderator = await webconferences.require_reader(
        database(request), user, webconference_id
    )
    shown = await audience.questions(database(request), webconference=webconference, user=user)
    context = _question_context(webconference, shown, moderator)
    return render(request, "webconferences/_questions.html", context)


@page
async def stage(request: Request) -> Response:
    """The presenters' stage. Before the green room opens it says when it does (stage.js
    reloads the page then); once over it says so and offers nothing to press."""
    user = require_user(request)
    session = database(request)
    webconference_id = path_int(request, "webconference_id")
    webconference = await webconferences.require_presents(session, user, webconference_id)
    edition = await editions.get(session, webconference.edition_id)
    item = (await webconferences.items(session, [webconference]))[0]
    shown = await audience.questions(session, webconference=webconference, user=user)
    phase = webconferences.phase(webconference)
    opens_at = webconference.starts_at - webconferences.SOON
    over = webconference.status in webconferences.OVER
    context = {
        **_question_context(webconference, shown, True),
        "edition": edition,
        "zone": edition.timezone,
        "item": item,
        "phase": phase,
        "opens_at": opens_at,
        "state": "over" if over else ("early" if phase == "scheduled" else "open"),
        "ice_servers": ice.servers(user_id=user.id),
        "max_question": chat.MAX_BODY,
    }
    return render(request, "webconferences/stage.html", context)


routes = [
    Route("/webconferences/{webconference_id:int}/stage", stage, name="webconference_stage"),
    Route(
        "/webconferences/{webconference_id:int}/questions",
        questions,
        name="webconference_questions",
    ),
]
