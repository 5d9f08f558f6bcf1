"""Counsellors' pages (their candidates, acting for them, putting them forward), the
candidate's "My counsellors" page, and logging in with a printed one-time code.

Every page about one candidate (`/counsellor/candidates/{candidate_id}/…`) is declared with
`for_candidate`, which runs the one check (counsellors.require_followed: an accompaniment in
force, by this counsellor, for an approved structure) before the handler: a candidate who did
not agree, or whose accompaniment ended, does not exist for the counsellor (404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import (
    accounts,
    app_state,
    candidates,
    counsellors,
    files,
    i18n,
    job_search,
    match_offers,
    matching,
    offers,
    rate_limits,
    search,
    structures,
)
from fair.counsellors import Followed
from fair.enums import InterviewMode, InterviewStatus, Role, StructureKind
from fair.errors import FairError, Forbidden, NotFound
from fair.i18n import current_locale, gettext
from fair.models import Structure, User
from fair.search import terms as search_terms
from fair.throttle import Throttled
from fair.web import auth, forms, job_search_form, match_view, urls
from fair.web.auth import database, page, path_int, require_role, require_user
from fair.web.candidate import cv_response
from fair.web.flash import flash
from fair.web.templating import render

SUGGESTED = 10
CandidateHandler = Callable[[Request, Followed], Awaitable[Response]]


def for_candidate(handler: CandidateHandler) -> Callable[[Request], Awaitable[Response]]:
    """A counsellor's page about one followed candidate: the permission is checked here, on
    every request, before the handler runs (and `page` runs the unit of work and CSRF)."""

    @page
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        user = require_user(request)
        candidate_id = path_int(request, "candidate_id")
        followed = await counsellors.require_followed(database(request), user, candidate_id)
        return await handler(request, followed)

    return wrapper


def _counsellor(request: Request) -> User:
    """The counsellor asking (an administrator manages structures, but follows nobody)."""
    user = require_user(request)
    if user.role != Role.COUNSELLOR:
        raise Forbidden("This page is for counsellors.")
    return user


# The dashboard --------------------------------------------------------------------------------


async def _home_context(request: Request, form: forms.FormState | None = None) -> dict[str, Any]:
    user = _counsellor(request)
    session = database(request)
    mine = await structures.of_counsellor(session, user)
    return {
        "structures": mine,
        "structure_options": [(s.id, s.name) for s in mine],
        "rows": await counsellors.dashboard(session, user),
        "requests": await counsellors.requests_of(session, user),
        "put_forward": await counsellors.put_forward_by(session, user),
        "form": form,
    }


@page
async def home(request: Request) -> Response:
    return render(request, "counsellor/home.html", await _home_context(request))


@page
async def invite(request: Request) -> Response:
    user = _counsellor(request)
    session = database(request)
    fields = forms.Fields(await forms.read(request))
    try:
        structure = await _structure(session, user, fields)
        email = fields.text("email", required=True, max_length=254)
        fields.done()
        await counsellors.invite(session, by=user, structure=structure, email=email)
    except FairError as error:
        context = await _home_context(request, forms.state_from(fields, error))
        return render(request, "counsellor/home.html", context, status=error.status)
    flash(request, "Your request was sent: the candidate accepts it on their account.")
    return urls.redirect(request, "counsellor_home")


async def _structure(session: AsyncSession, user: User, fields: forms.Fields) -> Structure:
    """The structure chosen in the form (the counsellor's only one when they have one)."""
    mine = await structures.of_counsellor(session, user)
    wanted = fields.identifier("structure", required=False)
    if wanted is None and len(mine) == 1:
        return mine[0]
    return await counsellors.structure_of(session, user, wanted or 0)


# An account made with a person ----------------------------------------------------------------


async def _person_context(request: Request, form: forms.FormState | None = None) -> dict[str, Any]:
    user = _counsellor(request)
    mine = await structures.of_counsellor(database(request), user)
    return {
        "structures": mine,
        "structure_options": [(s.id, s.name) for s in mine],
        "wording": counsellors.wording(
            counsellors.CONSENT_VERSION,
            counsellor=user.name,
            structure=" / ".join(s.name for s in mine),
        ),
        "version": counsellors.CONSENT_VERSION,
        "form": form,
    }


@page
async def new_person(request: Request) -> Response:
    user = _counsellor(request)
    if request.method != "POST":
        return render(request, "counsellor/new_person.html", await _person_context(request))
    session = database(request)
    fields = forms.Fields(await forms.read(request))
    try:
        structure = await _structure(session, user, fields)
        name = fields.text("name", required=True, max_length=120)
        email = fields.text("email", max_length=254)
        fields.done()
        created = await counsellors.create_person(
            session,
            by=user,
            structure=structure,
            name=name,
            email=email,
            consent=fields.flag("agree"),
            locale=current_locale.get(),
        )
    except FairError as error:
        context = await _person_context(request, forms.state_from(fields, error))
        return render(request, "counsellor/new_person.html", context, status=error.status)
    if created.code is not None:
        return _code_page(request, created.candidate, created.login, created.code, structure.name)
    flash(
        request,
        "The account is created: %(name)s was mailed a link to choose a password.",
        name=created.candidate.name,
    )
    if created.accompaniment.consent_at is not None:
        return urls.redirect(request, "counsellor_candidate", candidate_id=created.candidate.id)
    return urls.redirect(request, "counsellor_home")


def _code_page(
    request: Request, candidate: User, login: str, code: str, structure: str
) -> Response:
    context = {
        "candidate": candidate,
        "login": login,
        "code": code,
        "structure": structure,
        "days": accounts.CODE_LIFETIME.days,
        "code_url": urls.absolute(request, "code_login"),
    }
    return render(request, "counsellor/code.html", context)


@page
async def consent_in_person(request: Request) -> Response:
    """A request the candidate has not answered: the person reads the wording on the
    counsellor's screen and ticks the box."""
    user = _counsellor(request)
    session = database(request)
    accompaniment, candidate, structure = await counsellors.request_of(
        session, user, path_int(request, "accompaniment_id")
    )
    context: dict[str, Any] = {
        "accompaniment": accompaniment,
        "candidate": candidate,
        "structure": structure,
        "wording": counsellors.wording(
            counsellors.CONSENT_VERSION, counsellor=user.name, structure=structure.name
        ),
        "form": None,
    }
    if request.method != "POST":
        return render(request, "counsellor/consent.html", context)
    fields = forms.Fields(await forms.read(request))
    try:
        await counsellors.consent_in_person(
            session, followed_request=accompaniment, by=user, agreed=fields.flag("agree")
        )
    except FairError as error:
        context["form"] = forms.state_from(fields, error)
        return render(request, "counsellor/consent.html", context, status=error.status)
    flash(request, "%(name)s agreed: you accompany them now.", name=candidate.name)
    return urls.redirect(request, "counsellor_candidate", candidate_id=candidate.id)


@page
async def end_request(request: Request) -> Response:
    user = _counsellor(request)
    session = database(request)
    accompaniment, _candidate, _structure = await counsellors.request_of(
        session, user, path_int(request, "accompaniment_id")
    )
    await counsellors.end(session, by=user, accompaniment_id=accompaniment.id)
    flash(request, "The request is withdrawn.")
    return urls.redirect(request, "counsellor_home")


# One followed candidate -----------------------------------------------------------------------


async def _candidate_context(
    request: Request, followed: Followed, form: forms.FormState | None = None
) -> dict[str, Any]:
    session = database(request)
    overview = await counsellors.overview(session, followed)
    talks = await counsellors.upcoming_talks(session)
    return {
        "followed": followed,
        "candidate": followed.candidate,
        "overview": overview,
        "interview_rows": [
            (i, employer, InterviewStatus(i.status).label) for i, employer in overview.interviews
        ],
        "free_slot_options": {
            invitation_id: [(slot_id, i18n.moment(at)) for slot_id, at, _modes in free]
            for invitation_id, _employer, free in overview.invitations
        },
        "talks": talks,
        "talk_options": [
            (w.id, f"{w.title} · {edition} · {i18n.moment(w.starts_at)}") for w, edition in talks
        ],
        "has_mailbox": accounts.has_mailbox(followed.candidate),
        "login": accounts.login_of(followed.candidate),
        "modes": [(m.value, gettext(m.label)) for m in InterviewMode],
        "form": form,
    }


async def _refused(
    request: Request, followed: Followed, fields: forms.Fields, error: FairError
) -> Response:
    context = await _candidate_context(request, followed, forms.state_from(fields, error))
    return render(request, "counsellor/candidate.html", context, status=error.status)


@for_candidate
async def candidate_page(request: Request, followed: Followed) -> Response:
    return render(request, "counsellor/candidate.html", await _candidate_context(request, followed))


@for_candidate
async def candidate_cv(request: Request, followed: Followed) -> Response:
    session = database(request)
    profile = await candidates.profile(session, followed.candidate)
    if profile.cv_file_id is None:
        raise NotFound("This candidate has no CV yet.")
    return cv_response(await files.get(session, profile.cv_file_id))


@for_candidate
async def set_cv(request: Request, followed: Followed) -> Response:
    fields = forms.Fields(await forms.read(request))
    try:
        upload = await fields.upload("cv")
        if upload is None:
            fields.errors["cv"] = "Choose the CV (a PDF file)."
        fields.done()
        assert upload is not None
        await counsellors.set_cv(database(request), followed, filename=upload[0], data=upload[1])
    except FairError as error:
        return await _refused(request, followed, fields, error)
    flash(request, "The CV is saved.")
    return urls.redirect(request, "counsellor_candidate", candidate_id=followed.candidate.id)


async def _profile_context(
    request: Request, followed: Followed, form: forms.FormState | None = None
) -> dict[str, Any]:
    session = database(request)
    return {
        "followed": followed,
        "candidate": followed.candidate,
        "profile": await candidates.profile(session, followed.candidate),
        "search": job_search_form.shown(await job_search.of(session, followed.candidate.id)),
        "form": form,
    }


@for_candidate
async def profile_page(request: Request, followed: Followed) -> Response:
    """The candidate's profile and job search, filled in with them (what matching reads)."""
    if request.method != "POST":
        return render(request, "counsellor/profile.html", await _profile_context(request, followed))
    fields = forms.Fields(await forms.read(request))
    try:
        wanted = job_search_form.read(fields)
        data = candidates.ProfileInput(
            name=fields.text("name"),
            phone=fields.text("phone"),
            commune=fields.text("commune"),
            wanted_jobs=fields.text("wanted_jobs", multiline=True),
        )
        if fields.errors:
            fields.done()
        await counsellors.update_profile(database(request), followed, data=data, wanted=wanted)
    except FairError as error:
        context = await _profile_context(request, followed, forms.state_from(fields, error))
        return render(request, "counsellor/profile.html", context, status=error.status)
    flash(request, "The profile is saved.")
    return urls.redirect(request, "counsellor_candidate", candidate_id=followed.candidate.id)


@for_candidate
async def book(request: Request, followed: Followed) -> Response:
    fields = forms.Fields(await forms.read(request))
    try:
        invitation_id = fields.identifier("invitation")
        slot_id = fields.identifier("slot")
        mode = fields.member("mode", InterviewMode)
        fields.done()
        assert invitation_id is not None and slot_id is not None and mode is not None
        await counsellors.book(
            database(request), followed, invitation_id=invitation_id, slot_id=slot_id, mode=mode
        )
    except FairError as error:
        return await _refused(request, followed, fields, error)
    flash(request, "The interview is booked; %(name)s is told.", name=followed.candidate.name)
    return urls.redirect(request, "counsellor_candidate", candidate_id=followed.candidate.id)


@for_candidate
async def register_talk(request: Request, followed: Followed) -> Response:
    fields = forms.Fields(await forms.read(request))
    try:
        talk_id = fields.identifier("webconference")
        fields.done()
        assert talk_id is not None
        await counsellors.register_talk(database(request), followed, webconference_id=talk_id)
    except FairError as error:
        return await _refused(request, followed, fields, error)
    flash(request, "%(name)s is registered; they are told.", name=followed.candidate.name)
    return urls.redirect(request, "counsellor_candidate", candidate_id=followed.candidate.id)


@for_candidate
async def new_code(request: Request, followed: Followed) -> Response:
    code = await counsellors.new_code(database(request), followed)
    return _code_page(
        request,
        followed.candidate,
        accounts.login_of(followed.candidate),
        code,
        followed.structure.name,
    )


@for_candidate
async def end(request: Request, followed: Followed) -> Response:
    await counsellors.end(
        database(request), by=followed.counsellor, accompaniment_id=followed.accompaniment.id
    )
    flash(request, "You no longer accompany %(name)s.", name=followed.candidate.name)
    return urls.redirect(request, "counsellor_home")


# Offers and putting forward -------------------------------------------------------------------


async def _offers_context(
    request: Request, followed: Followed, form: forms.FormState | None = None
) -> dict[str, Any]:
    session = database(request)
    open_editions = await counsellors.open_editions(session)
    params = request.query_params
    chosen = next((e for e in open_editions if str(e.id) == params.get("edition", "")), None)
    chosen = chosen or (open_editions[0] if open_editions else None)
    query = search.Query(q=params.get("q", "")[:200], per_page=20)
    hits = await search_terms.find(session, edition_id=chosen.id, query=query) if chosen else None
    # The offers that match the candidate's job search best, with the reasons (fair.matching),
    # read once for_candidate checked that the counsellor accompanies them.
    found = await match_offers.offers_for(session, followed.candidate.id, limit=SUGGESTED)
    return {
        "followed": followed,
        "candidate": followed.candidate,
        "editions": open_editions,
        "edition_options": [(e.id, e.title) for e in open_editions],
        "edition": chosen,
        "suggestions": [(m, match_view.reasons(m.match, matching.THEM)) for m in found],
        "q": query.q,
        "page": hits,
        "form": form,
    }


@for_candidate
async def offers_page(request: Request, followed: Followed) -> Response:
    try:
        context = await _offers_context(request, followed)
    except FairError as error:  # a bad filter: shown as the form's error
        context = {
            "followed": followed,
            "candidate": followed.candidate,
            "editions": [],
            "edition_options": [],
            "edition": None,
            "suggestions": [],
            "q": "",
            "page": None,
            "form": forms.state_from(None, error),
        }
        return render(request, "counsellor/offers.html", context, status=error.status)
    return render(request, "counsellor/offers.html", context)


@for_candidate
async def put_forward(request: Request, followed: Followed) -> Response:
    session = database(request)
    offer = await offers.get_public(session, path_int(request, "offer_id"))
    fields = forms.Fields(await forms.read(request))
    try:
        note = fields.text("note", max_length=2000, multiline=True)
        fields.done()
        await counsellors.put_forward(session, followed, offer=offer, note=note)
    except FairError as error:
        context = await _offers_context(request, followed, forms.state_from(fields, error))
        return render(request, "counsellor/offers.html", context, status=error.status)
    flash(
        request,
        "%(name)s is put forward on “%(offer)s”.",
        name=followed.candidate.name,
        offer=offer.title,
    )
    return urls.redirect(request, "counsellor_candidate", candidate_id=followed.candidate.id)


# The candidate's side -------------------------------------------------------------------------


async def _mine_context(request: Request, form: forms.FormState | None = None) -> dict[str, Any]:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    listed = await counsellors.followers(session, user)
    return {
        "followers": [
            (
                f,
                StructureKind(f.kind).label,
                counsellors.wording(
                    f.accompaniment.consent_version or counsellors.CONSENT_VERSION,
                    counsellor=f.counsellor,
                    structure=f.structure,
                ),
            )
            for f in listed
        ],
        "done": await counsellors.done_for(session, user),
        "actions": counsellors.ACTIONS,
        "version": counsellors.CONSENT_VERSION,
        "form": form,
    }


@page
async def mine(request: Request) -> Response:
    return render(request, "counsellor/mine.html", await _mine_context(request))


@page
async def consent(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    fields = forms.Fields(await forms.read(request))
    try:
        await counsellors.consent(
            database(request),
            candidate=user,
            accompaniment_id=path_int(request, "accompaniment_id"),
            version=fields.text("version"),
            agreed=fields.flag("agree"),
        )
    except FairError as error:
        context = await _mine_context(request, forms.state_from(fields, error))
        return render(request, "counsellor/mine.html", context, status=error.status)
    flash(request, "You accepted: your counsellor can now help you on fair.")
    return urls.redirect(request, "my_counsellors")


@page
async def end_mine(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    await forms.read(request)
    await counsellors.end(
        database(request), by=user, accompaniment_id=path_int(request, "accompaniment_id")
    )
    flash(request, "Done: this counsellor no longer sees your account.")
    return urls.redirect(request, "my_counsellors")


# Logging in with a printed code ---------------------------------------------------------------


async def _count_try(request: Request, code: str) -> None:
    """Every try counts, valid or not (fair.accounts.count_code_try): in Redis when the
    deployment has it, shared by every process."""
    broadcast = app_state.of(request).broadcast
    limiter = rate_limits.of(
        broadcast.client(), namespace=broadcast.namespace, fallback=accounts.CODE_TRIES
    )
    await accounts.count_code_try(limiter, ip=auth.client_address(request), code=code)


@page
async def code_login(request: Request) -> Response:
    if request.method != "POST":
        return render(request, "accounts/code.html", {"form": None})
    fields = forms.Fields(await forms.read(request))
    try:
        await _count_try(request, str(fields.form.get("code", "")))
        code = fields.text("code", required=True, max_length=40)
        password = str(fields.form.get("password", ""))
        if password != str(fields.form.get("password_again", "")):
            fields.errors["password_again"] = "The two passwords differ."
        fields.done()
        user = await accounts.redeem_code(database(request), code=code, password=password)
    except FairError as error:
        form = forms.state_from(fields, error)
        form.values.pop("password", None)
        form.values.pop("password_again", None)
        page_ = render(request, "accounts/code.html", {"form": form}, status=error.status)
        if isinstance(error, Throttled):
            page_.headers["Retry-After"] = str(error.retry_after)
        return page_
    await auth.login(request, user)
    flash(request, "Welcome! Your password is saved: log in with it next time.")
    return urls.redirect(request, "my_counsellors" if user.role == Role.CANDIDATE else "home")


routes = [
    Route("/counsellor", home, name="counsellor_home"),
    Route("/counsellor/invite", invite, methods=["POST"], name="counsellor_invite"),
    Route(
        "/counsellor/people/new", new_person, methods=["GET", "POST"], name="counsellor_new_person"
    ),
    Route(
        "/counsellor/requests/{accompaniment_id:int}/consent",
        consent_in_person,
        methods=["GET", "POST"],
        name="counsellor_consent",
    ),
    Route(
        "/counsellor/requests/{accompaniment_id:int}/withdraw",
        end_request,
        methods=["POST"],
        name="counsellor_withdraw_request",
    ),
    Route("/counsellor/candidates/{candidate_id:int}", candidate_page, name="counsellor_candidate"),
    Route(
        "/counsellor/candidates/{candidate_id:int}/cv", candidate_cv, name="counsellor_candidate_cv"
    ),
    Route(
        "/counsellor/candidates/{candidate_id:int}/cv",
        set_cv,
        methods=["POST"],
        name="counsellor_set_cv",
    ),
    Route(
        "/counsellor/candidates/{candidate_id:int}/book",
        book,
        methods=["POST"],
        name="counsellor_book",
    ),
    Route(
        "/counsellor/candidates/{candidate_id:int}/profile",
        profile_page,
        methods=["GET", "POST"],
        name="counsellor_profile",
    ),
    Route(
        "/counsellor/candidates/{candidate_id:int}/talks",
        register_talk,
        methods=["POST"],
        name="counsellor_register_talk",
    ),
    Route(
        "/counsellor/candidates/{candidate_id:int}/offers", offers_page, name="counsellor_offers"
    ),
    Route(
        "/counsellor/candidates/{candidate_id:int}/offers/{offer_id:int}/put-forward",
        put_forward,
        methods=["POST"],
        name="counsellor_put_forward",
    ),
    Route(
        "/counsellor/candidates/{candidate_id:int}/code",
        new_code,
        methods=["POST"],
        name="counsellor_new_code",
    ),
    Route(
        "/counsellor/candidates/{candidate_id:int}/end",
        end,
        methods=["POST"],
        name="counsellor_end",
    ),
    Route("/me/counsellors", mine, name="my_counsellors"),
    Route(
        "/me/counsellors/{accompaniment_id:int}/consent",
        consent,
        methods=["POST"],
        name="my_counsellors_consent",
    ),
    Route(
        "/me/counsellors/{accompaniment_id:int}/end",
        end_mine,
        methods=["POST"],
        name="my_counsellors_end",
    ),
    Route("/code", code_login, methods=["GET", "POST"], name="code_login"),
]
