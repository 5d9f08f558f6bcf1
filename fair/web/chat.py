"""Booth Q&A and chat moderation pages: ask, answer and report from the booth page; the
organiser's moderation page.

Every booth form is also a socket command (fair/live/PROTOCOL.md: `qa.ask`, `qa.answer`,
`chat.report`): static/live.js may send the command instead, and these routes work without
JavaScript. They redirect back to the booth page; a refused message shows the booth page
again with the error beside the form and the text kept (the transaction rolls back).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import chat, editions, employers, moderation, parse, permissions
from fair.enums import MuteLength, ReportKind, Role
from fair.errors import FairError, Invalid, NotFound
from fair.i18n import N_
from fair.models import Booth, Edition, User
from fair.web import forms, urls
from fair.web.auth import database, page, path_int, require_role, require_user
from fair.web.flash import flash
from fair.web.templating import render


@dataclass
class QaPanel:
    """What templates/public/_booth_qa.html shows to the current visitor."""

    threads: list[chat.QaView]
    open: bool
    can_ask: bool
    can_answer: bool
    can_report: bool
    muted: bool
    muted_until: datetime | None
    reported: set[int]
    login_url: str
    # The refused submission shown again: which form ("ask", "answer-<question id>",
    # "report-<message id>") and its values and errors.
    target: str = ""
    form: forms.FormState | None = None
    max_body: int = chat.MAX_BODY
    max_reason: int = moderation.MAX_REASON
    # The error belongs to no form shown (say, a report of a message now marked as reported):
    # the panel shows it on its own.
    stray: bool = False


async def booth_qa(request: Request, booth: Booth) -> QaPanel:
    """The booth page's Q&A for the current visitor (`booth` as loaded by employers.get_booth)."""
    session = database(request)
    user: User | None = request.state.user
    threads = await chat.booth_threads(session, booth)
    is_open = chat.qa_open(booth)
    views = {m.id: m for q in threads for m in (q, *q.answers)}
    mute, reported, member = None, set(), False
    if user is not None:
        mute = await chat.active_mute(session, user_id=user.id, edition_id=booth.edition_id)
        reported = await moderation.reported_by(session, user=user, ids=list(views))
        member = await permissions.is_member(session, user, booth.employer_id)
    failed: tuple[str, forms.FormState | None] = getattr(request.state, "qa_failed", ("", None))
    login = urls.path(request, "login")
    panel = QaPanel(
        threads=threads,
        open=is_open,
        can_ask=is_open and mute is None and user is not None and user.role == Role.CANDIDATE,
        can_answer=is_open and mute is None and member,
        can_report=user is not None,
        muted=mute is not None,
        muted_until=mute.until if mute is not None else None,
        reported=reported,
        login_url=f"{login}?{urlencode({'next': request.url.path})}",
        target=failed[0],
        form=failed[1],
    )
    panel.stray = bool(panel.target) and not _has_form(panel, views, user)
    return panel


def _has_form(panel: QaPanel, views: dict[int, chat.QaView], user: User | None) -> bool:
    """Whether the panel shows the form `panel.target` names (public/_booth_qa.html)."""
    kind, _, ident = panel.target.partition("-")
    if kind == "ask":
        return panel.can_ask
    view = views.get(int(ident)) if ident.isascii() and ident.isdigit() else None
    if view is None or view.removed or user is None:
        return False
    if kind == "answer":
        return panel.can_answer and view.question_id is None
    return panel.can_report and view.id not in panel.reported and view.author_id != user.id


def _to_booth(request: Request, anchor: str) -> Response:
    slug, booth_id = request.path_params["slug"], path_int(request, "booth_id")
    return urls.redirect(request, "booth", slug=slug, booth_id=booth_id, anchor=anchor)


async def _show_again(
    request: Request, target: str, fields: forms.Fields, error: FairError
) -> Response:
    """The booth page again, the error beside the form `target`, with the error's status."""
    from fair.web import public  # public imports this module for the booth's Q&A panel

    request.state.qa_failed = (target, forms.state_from(fields, error))
    # The page's own handler, inside this request's unit of work (which rolls back: >= 400).
    response: Response = await inspect.unwrap(public.booth_page)(request)
    response.status_code = error.status
    return response


async def _booth(request: Request) -> Booth:
    booth = await employers.get_booth(database(request), path_int(request, "booth_id"))
    if booth.edition.slug != request.path_params["slug"]:
        raise NotFound("This booth does not exist.")
    return booth


def _id(fields: forms.Fields, name: str, missing: str, code: str) -> int:
    try:
        return parse.identifier(fields.text(name))
    except parse.ParseError as exc:
        raise NotFound(missing, code=code) from exc


@page
async def ask(request: Request) -> Response:
    user = require_user(request)
    booth = await _booth(request)
    fields = forms.Fields(await forms.read(request))
    try:
        question = await chat.ask(
            database(request), candidate=user, booth=booth, body=fields.text("body", multiline=True)
        )
    except FairError as error:
        return await _show_again(request, "ask", fields, error)
    return _to_booth(request, f"qa-{question.id}")


@page
async def answer(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    booth = await _booth(request)
    fields = forms.Fields(await forms.read(request))
    question_id = _id(fields, "question_id", "This question does not exist.", "qa.not_found")
    question = await chat.get_question(session, question_id)
    if question.booth_id != booth.id:
        raise NotFound("This question does not exist.", code="qa.not_found")
    try:
        reply = await chat.answer(
            session, recruiter=user, question=question, body=fields.text("body", multiline=True)
        )
    except FairError as error:
        return await _show_again(request, f"answer-{question.id}", fields, error)
    return _to_booth(request, f"qa-{reply.id}")


@page
async def report(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    booth = await _booth(request)
    fields = forms.Fields(await forms.read(request))
    message_id = _id(fields, "message_id", "This message does not exist.", "chat.not_found")
    try:
        kind = ReportKind(fields.text("kind"))
    except ValueError:
        raise NotFound("This message does not exist.", code="chat.not_found") from None
    if kind == ReportKind.QA and (await chat.get_qa(session, message_id)).booth_id != booth.id:
        raise NotFound("This message does not exist.", code="qa.not_found")
    try:
        await moderation.report(
            session, user=user, kind=kind, message_id=message_id, reason=fields.text("reason")
        )
    except FairError as error:
        return await _show_again(request, f"report-{message_id}", fields, error)
    return _to_booth(request, f"qa-{message_id}" if kind == ReportKind.QA else "desk")


# The organiser's moderation page ---------------------------------------------------------------


async def _moderator(request: Request) -> tuple[User, Edition]:
    """The edition named in the path, once the user is known to moderate it."""
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    edition = await editions.get(session, path_int(request, "edition_id"))
    await permissions.require_organiser(session, user, edition)
    return user, edition


async def _moderation_page(
    request: Request,
    user: User,
    edition: Edition,
    *,
    form: forms.FormState | None = None,
    status: int = 200,
) -> Response:
    session = database(request)
    context: dict[str, Any] = {
        "edition": edition,
        "reports": await moderation.open_reports(session, by=user, edition=edition),
        "mutes": await moderation.active_mutes(session, by=user, edition=edition),
        "threads": await moderation.edition_threads(session, by=user, edition=edition),
        "lengths": [(length.value, length.label) for length in MuteLength],
        "form": form,
    }
    return render(request, "organiser/moderation.html", context, status=status)


@page
async def moderation_page(request: Request) -> Response:
    user, edition = await _moderator(request)
    return await _moderation_page(request, user, edition)


DONE = {
    "removed": N_("The message was removed."),
    "resolved": N_("The report was settled."),
    "muted": N_("The person is muted in this fair's chats."),
    "unmuted": N_("The person can write again."),
}


def _back(request: Request, edition: Edition, done: str) -> Response:
    flash(request, DONE[done])
    return urls.redirect(request, "edition_moderation", edition_id=edition.id)


def _kind(fields: forms.Fields) -> ReportKind:
    try:
        return ReportKind(fields.text("kind"))
    except ValueError:
        raise NotFound("This message does not exist.", code="chat.not_found") from None


def _length(fields: forms.Fields, name: str) -> MuteLength | None:
    value = fields.text(name)
    try:
        return MuteLength(value) if value else None
    except ValueError:
        message = "Choose how long to mute."
        raise Invalid(message, code="form.invalid", fields={name: message}) from None


@page
async def moderation_remove(request: Request) -> Response:
    user, edition = await _moderator(request)
    fields = forms.Fields(await forms.read(request))
    message_id = _id(fields, "message_id", "This message does not exist.", "chat.not_found")
    await moderation.remove(database(request), by=user, kind=_kind(fields), message_id=message_id)
    return _back(request, edition, "removed")


@page
async def moderation_resolve(request: Request) -> Response:
    user, edition = await _moderator(request)
    fields = forms.Fields(await forms.read(request))
    message_id = _id(fields, "message_id", "This message does not exist.", "chat.not_found")
    try:
        await moderation.resolve(
            database(request),
            by=user,
            kind=_kind(fields),
            message_id=message_id,
            remove_message=fields.text("verdict") == "remove",
            mute_length=_length(fields, "mute"),
        )
    except FairError as error:
        form = forms.state_from(fields, error)
        return await _moderation_page(request, user, edition, form=form, status=error.status)
    return _back(request, edition, "resolved")


@page
async def moderation_mute(request: Request) -> Response:
    user, edition = await _moderator(request)
    fields = forms.Fields(await forms.read(request))
    user_id = _id(fields, "user_id", "This person does not exist.", "chat.user_not_found")
    try:
        length = _length(fields, "length") or MuteLength.UNTIL_UNMUTED
        await moderation.mute(
            database(request),
            by=user,
            edition=edition,
            user_id=user_id,
            length=length,
            reason=fields.text("reason"),
        )
    except FairError as error:
        form = forms.state_from(fields, error)
        return await _moderation_page(request, user, edition, form=form, status=error.status)
    return _back(request, edition, "muted")


@page
async def moderation_unmute(request: Request) -> Response:
    user, edition = await _moderator(request)
    fields = forms.Fields(await forms.read(request))
    user_id = _id(fields, "user_id", "This person does not exist.", "chat.user_not_found")
    await moderation.unmute(database(request), by=user, edition=edition, user_id=user_id)
    return _back(request, edition, "unmuted")


_BOOTH = "/e/{slug}/booths/{booth_id:int}"
_MODERATION = "/organiser/editions/{edition_id:int}/moderation"

routes = [
    Route(f"{_BOOTH}/questions", ask, methods=["POST"], name="qa_ask"),
    Route(f"{_BOOTH}/answers", answer, methods=["POST"], name="qa_answer"),
    Route(f"{_BOOTH}/reports", report, methods=["POST"], name="chat_report"),
    Route(_MODERATION, moderation_page, name="edition_moderation"),
    Route(f"{_MODERATION}/remove", moderation_remove, methods=["POST"], name="moderation_remove"),
    Route(
        f"{_MODERATION}/resolve", moderation_resolve, methods=["POST"], name="moderation_resolve"
    ),
    Route(f"{_MODERATION}/mute", moderation_mute, methods=["POST"], name="moderation_mute"),
    Route(f"{_MODERATION}/unmute", moderation_unmute, methods=["POST"], name="moderation_unmute"),
]
