"""The live booth desk: a candidate's place in a booth's drop-in queue, the recruiter's desk.

Every action here is also a socket command (fair/live/PROTOCOL.md): static/live.js sends the
command while its socket is up, and these forms work without JavaScript (post, then go back to
the page). Both paths call the same fair.queues and fair.conversations functions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import (
    applications,
    booth_actions,
    candidates,
    conversation_calls,
    conversations,
    editions,
    employers,
    permissions,
    presence,
    queues,
    recruiter_profiles,
)
from fair.enums import BoothStatus, InterviewMode, NextStep, Role
from fair.errors import Invalid
from fair.models import Booth, Edition, User
from fair.web import forms, urls
from fair.web.auth import database, page, path_int, require_role, require_user
from fair.web.templating import render


async def candidate_context(
    session: AsyncSession, user: User | None, booth: Booth, edition: Edition
) -> dict[str, Any]:
    """What the public booth page shows of the live desk (see public/_desk.html), with the
    recruiters on duty and the page's one call to action (fair.booth_actions)."""
    desk = None
    my_phone = ""
    if user is not None and user.role == Role.CANDIDATE:
        desk = await conversations.candidate_desk(session, candidate=user, booth_id=booth.id)
        my_phone = (await candidates.profile(session, user)).phone
    live = editions.open_now(edition)
    return {
        "my_phone": my_phone,
        "live": live,
        "on_duty": await recruiter_profiles.on_duty(session, booth.id) if live else [],
        "action": await booth_actions.next_action(session, booth=booth, edition=edition, user=user),
        "staffed": await presence.is_staffed(session, booth.id),
        "queue_counts": await queues.counts(session, booth.id),
        "desk": desk,
        "next_steps": list(NextStep),
    }


def _back_to_booth(request: Request, booth: Booth) -> Response:
    return urls.redirect(
        request, "booth", slug=booth.edition.slug, booth_id=booth.id, anchor="desk"
    )


def _back_to_desk(request: Request, booth_id: int) -> Response:
    return urls.redirect(request, "desk", booth_id=booth_id, anchor="desk")


async def _public_booth(session: AsyncSession, booth_id: int) -> Booth:
    return await employers.public_booth(session, booth_id)


# Candidates ------------------------------------------------------------------------------------


@page
async def booth_link(request: Request) -> Response:
    """A booth by id alone (live notices only know the id): to its public page's desk."""
    booth = await _public_booth(database(request), path_int(request, "booth_id"))
    return _back_to_booth(request, booth)


@page
async def join(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    booth = await _public_booth(session, path_int(request, "booth_id"))
    await queues.join(session, candidate=user, booth=booth)
    return _back_to_booth(request, booth)


@page
async def leave(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    booth = await _public_booth(session, path_int(request, "booth_id"))
    await queues.leave(session, candidate=user, booth=booth)
    return _back_to_booth(request, booth)


@page
async def answer(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    entry = await queues.get_entry(session, path_int(request, "entry_id"))
    await conversations.answer(session, candidate=user, entry=entry)
    return _back_to_booth(request, await employers.get_booth(session, entry.booth_id))


# Both sides of a conversation ------------------------------------------------------------------


@page
async def send(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    conversation = await conversations.get(session, path_int(request, "conversation_id"))
    body = forms.Fields(await forms.read(request)).text("body", multiline=True)
    await conversations.send_message(session, user=user, conversation=conversation, body=body)
    if user.id == conversation.candidate_id:
        return _back_to_booth(request, await employers.get_booth(session, conversation.booth_id))
    return _back_to_desk(request, conversation.booth_id)


async def _back_to_conversation(request: Request, user: User, booth_id: int) -> Response:
    if user.role == Role.CANDIDATE:
        booth = await employers.get_booth(database(request), booth_id)
        return _back_to_booth(request, booth)
    return _back_to_desk(request, booth_id)


@page
async def switch_mode(request: Request) -> Response:
    """Ask to move to video or phone, or go back to written chat (fair.conversation_calls)."""
    user = require_user(request)
    session = database(request)
    conversation = await conversations.get(session, path_int(request, "conversation_id"))
    fields = forms.Fields(await forms.read(request))
    try:
        mode = InterviewMode(fields.text("mode"))
    except ValueError:
        raise Invalid("Choose how you want to talk.", code="live.bad_message") from None
    await conversation_calls.request_mode(session, user=user, conversation=conversation, mode=mode)
    return await _back_to_conversation(request, user, conversation.booth_id)


@page
async def answer_request(request: Request) -> Response:
    """Accept or refuse the other person's request (or withdraw one's own)."""
    user = require_user(request)
    session = database(request)
    conversation = await conversations.get(session, path_int(request, "conversation_id"))
    fields = forms.Fields(await forms.read(request))
    if fields.text("answer") == "accept":
        await conversation_calls.accept(session, user=user, conversation=conversation)
    else:
        await conversation_calls.decline(session, user=user, conversation=conversation)
    return await _back_to_conversation(request, user, conversation.booth_id)


@page
async def give_phone(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    conversation = await conversations.get(session, path_int(request, "conversation_id"))
    phone = forms.Fields(await forms.read(request)).text("phone")
    await conversation_calls.set_phone(session, user=user, conversation=conversation, phone=phone)
    return await _back_to_conversation(request, user, conversation.booth_id)


# Recruiters ------------------------------------------------------------------------------------


async def _member_booth(request: Request) -> Booth:
    user = require_role(request, Role.RECRUITER)
    booth = await employers.get_booth(database(request), path_int(request, "booth_id"))
    await permissions.require_booth_member(database(request), user, booth)
    return booth


@page
async def desk_page(request: Request) -> Response:
    booth = await _member_booth(request)
    session = database(request)
    user = require_user(request)
    edition = await editions.get(session, booth.edition_id)
    desk = await conversations.recruiter_desk(session, recruiter=user, booth_id=booth.id)
    candidate_id = desk.other.id if desk.other is not None else None
    context = {
        "booth": booth,
        "edition": edition,
        "live": editions.open_now(edition) and booth.status == BoothStatus.APPROVED.value,
        "queue_counts": await queues.counts(session, booth.id),
        "waiting": await conversations.waiting_list(session, booth_id=booth.id),
        "desk": desk,
        "next_steps": list(NextStep),
        "their_applications": (
            await applications.pipeline(session, booth=booth, candidate_id=candidate_id)
            if desk.conversation is not None and candidate_id is not None
            else []
        ),
        "nobody": request.query_params.get("nobody") == "1",
        "phone": await _phone(session, user, desk),
        # The conversation's mode as the badge says it (a msgid).
        "mode_label": (
            InterviewMode(desk.conversation.mode).label if desk.conversation is not None else ""
        ),
    }
    return render(request, "recruiter/desk.html", context)


async def _phone(session: AsyncSession, user: User, desk: conversations.Desk) -> str | None:
    """The candidate's number while the conversation runs by phone (None otherwise)."""
    conversation = desk.conversation
    if conversation is None or conversation.mode != InterviewMode.PHONE:
        return None
    return await conversation_calls.phone_number(session, user=user, conversation=conversation)


@page
async def take_next(request: Request) -> Response:
    booth = await _member_booth(request)
    user = require_user(request)
    entry = await queues.take_next(database(request), recruiter=user, booth=booth)
    if entry is None:
        return urls.redirect(request, "desk", booth_id=booth.id, query={"nobody": 1}, anchor="desk")
    return _back_to_desk(request, booth.id)


@page
async def end(request: Request) -> Response:
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    conversation = await conversations.get(session, path_int(request, "conversation_id"))
    fields = forms.Fields(await forms.read(request))
    try:
        next_step = NextStep(fields.text("next_step"))
    except ValueError:
        raise Invalid("Choose a next step.", code="live.bad_message") from None
    await conversations.end(session, recruiter=user, conversation=conversation, next_step=next_step)
    return _back_to_desk(request, conversation.booth_id)


routes = [
    Route("/booths/{booth_id:int}", booth_link, name="booth_link"),
    Route("/booths/{booth_id:int}/queue/join", join, methods=["POST"], name="queue_join"),
    Route("/booths/{booth_id:int}/queue/leave", leave, methods=["POST"], name="queue_leave"),
    Route("/queue/{entry_id:int}/answer", answer, methods=["POST"], name="queue_answer"),
    Route(
        "/conversations/{conversation_id:int}/messages",
        send,
        methods=["POST"],
        name="conversation_send",
    ),
    Route(
        "/conversations/{conversation_id:int}/end", end, methods=["POST"], name="conversation_end"
    ),
    Route(
        "/conversations/{conversation_id:int}/mode",
        switch_mode,
        methods=["POST"],
        name="conversation_mode",
    ),
    Route(
        "/conversations/{conversation_id:int}/request",
        answer_request,
        methods=["POST"],
        name="conversation_request",
    ),
    Route(
        "/conversations/{conversation_id:int}/phone",
        give_phone,
        methods=["POST"],
        name="conversation_phone",
    ),
    Route("/recruiter/booths/{booth_id:int}/desk", desk_page, name="desk"),
    Route(
        "/recruiter/booths/{booth_id:int}/desk/next", take_next, methods=["POST"], name="desk_next"
    ),
]
