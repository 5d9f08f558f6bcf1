"""The interview room's page (fair.interviews.rooms): device check, waiting room, call, phone
and chat.

The call runs in static/room.js over the /live socket (`room.*` commands, PROTOCOL.md). The
forms here (the mode, the candidate's number, a chat message) also work without JavaScript:
they post, then come back to the room. Only the interview's two people get the page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import i18n
from fair.enums import InterviewMode
from fair.errors import Invalid
from fair.interviews import rooms
from fair.web import forms, urls
from fair.web.auth import database, page, path_int, require_user
from fair.web.templating import render


@page
async def room(request: Request) -> Response:
    user = require_user(request)
    found = await rooms.visit(
        database(request), user=user, interview_id=path_int(request, "interview_id")
    )
    context = {
        "room": found,
        "modes": list(InterviewMode),
        "mode_labels": {m.value: i18n.gettext(m.label) for m in InterviewMode},
        "max_message": rooms.MAX_MESSAGE,
    }
    return render(request, "rooms/room.html", context)


@page
async def mode(request: Request) -> Response:
    user = require_user(request)
    interview_id = path_int(request, "interview_id")
    try:
        chosen = InterviewMode(forms.Fields(await forms.read(request)).text("mode"))
    except ValueError:
        raise Invalid("Choose video, phone or chat.", code="room.invalid") from None
    await rooms.switch_mode(database(request), user=user, interview_id=interview_id, mode=chosen)
    return urls.redirect(request, "room", interview_id=interview_id)


@page
async def phone(request: Request) -> Response:
    user = require_user(request)
    interview_id = path_int(request, "interview_id")
    number = forms.Fields(await forms.read(request)).text("phone", max_length=30)
    await rooms.set_phone(database(request), user=user, interview_id=interview_id, phone=number)
    return urls.redirect(request, "room", interview_id=interview_id, anchor="phone-panel")


@page
async def message(request: Request) -> Response:
    user = require_user(request)
    interview_id = path_int(request, "interview_id")
    body = forms.Fields(await forms.read(request)).text("body", multiline=True)
    await rooms.send_message(database(request), user=user, interview_id=interview_id, body=body)
    return urls.redirect(request, "room", interview_id=interview_id, anchor="chat-panel")


routes = [
    Route("/interviews/{interview_id:int}/room", room, name="room"),
    Route("/interviews/{interview_id:int}/room/mode", mode, methods=["POST"], name="room_mode"),
    Route("/interviews/{interview_id:int}/room/phone", phone, methods=["POST"], name="room_phone"),
    Route(
        "/interviews/{interview_id:int}/room/messages",
        message,
        methods=["POST"],
        name="room_message",
    ),
]
