"""The CV pool's pages: the candidate's (consent, contact requests, who opened their data) and
the recruiters' and agencies' (search with its filters in the URL, a pseudonymous profile, a
contact request, the CV once the candidate accepted, their organisation's requests)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fair import (
    access_log,
    clock,
    contact_requests,
    cv_pool,
    job_search,
    network_pool,
    parse,
    search,
)
from fair.enums import AccessKind, ContactStatus, Contract, PoolLevel, Role, Transport
from fair.errors import FairError, Forbidden, Invalid, NotFound
from fair.i18n import N_, ngettext
from fair.web import forms, urls
from fair.web.auth import (
    database,
    is_one_click,
    one_click_page,
    page,
    path_int,
    require_role,
    require_user,
)
from fair.web.candidate import cv_response
from fair.web.flash import flash
from fair.web.templating import render

REF = re.compile(r"[0-9A-F]{10}")
# What each level means, in plain words (the consent's wording, cv_pool.WORDING).
LEVEL_HELP = {
    1: N_("The recruiters of the booths approved in the edition you choose below."),
    2: N_(
        "Also the recruiters of the other editions of its territory, and the temporary-work "
        "agencies approved there."
    ),
    3: N_(
        "Also the recruiters and the approved temporary-work agencies of every territory of the "
        "network, partner platforms included."
    ),
}


# The candidate's page ---------------------------------------------------------------------------


async def _mine(request: Request, form: forms.FormState | None = None) -> dict[str, Any]:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    consent = await cv_pool.current(session, user.id)
    editions = await cv_pool.editions_of(session, user.id)
    return {
        "consent": consent,
        "in_force": cv_pool.is_in_force(consent, clock.now()),
        "consent_edition": next(
            (e for e in editions if consent and e.id == consent.edition_id), None
        ),
        "history": await cv_pool.history(session, user.id),
        "editions": editions,
        "levels": list(PoolLevel),
        "level_help": LEVEL_HELP,
        "periods_options": [
            (n, ngettext("%(num)s month", "%(num)s months", n)) for n in cv_pool.PERIODS
        ],
        "editions_options": [(e.id, f"{e.title} ({e.territory})") for e in editions],
        "wording": cv_pool.WORDING,
        "requests": await contact_requests.of_candidate(session, user.id),
        "accesses": await access_log.of_subject(session, user.id),
        "ContactStatus": ContactStatus,
        "AccessKind": AccessKind,
        "form": form,
    }


@page
async def my_pool(request: Request) -> Response:
    return render(request, "candidate/pool.html", await _mine(request))


@page
async def give(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    fields = forms.Fields(await forms.read(request))
    try:
        level = fields.integer("level", default=0, lo=0, hi=len(PoolLevel))
        months = fields.integer("months", default=0, lo=0, hi=999)
        edition_id = fields.identifier("edition_id", required=False)
        if not level:
            fields.errors.setdefault("level", "Choose who may find your profile.")
        if not months:
            fields.errors.setdefault("months", "Choose for how long.")
        fields.done()
        await cv_pool.give(
            database(request),
            user,
            level=PoolLevel(level),
            months=months,
            edition_id=edition_id,
        )
    except FairError as error:
        context = await _mine(request, forms.state_from(fields, error))
        return render(request, "candidate/pool.html", context, status=error.status)
    flash(request, "Your profile is in the CV pool.")
    return urls.redirect(request, "my_pool")


@page
async def renew(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    fields = forms.Fields(await forms.read(request))
    try:
        months = fields.integer("months", default=0, lo=0, hi=999)
        if not months:
            fields.errors.setdefault("months", "Choose for how long.")
        fields.done()
        await cv_pool.renew(database(request), user, months=months)
    except FairError as error:
        context = await _mine(request, forms.state_from(fields, error))
        return render(request, "candidate/pool.html", context, status=error.status)
    flash(request, "Your consent is renewed.")
    return urls.redirect(request, "my_pool")


@page
async def withdraw(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    await forms.read(request)
    await cv_pool.withdraw(database(request), user)
    flash(request, "Your profile is out of the CV pool: nobody can find it any more.")
    return urls.redirect(request, "my_pool")


@page
async def answer(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    fields = forms.Fields(await forms.read(request))
    choice = fields.text("answer")
    if choice not in ("accept", "decline"):
        raise Invalid("Choose to accept or to decline.", code="contact.invalid")
    await contact_requests.answer(
        database(request),
        user,
        request_id=path_int(request, "request_id"),
        accept=choice == "accept",
    )
    flash(
        request,
        "You accepted: they can now see your name, contact details and CV."
        if choice == "accept"
        else "You declined: they will see nothing more of you.",
    )
    return urls.redirect(request, "my_pool", anchor="contacts")


# The recruiters' and agencies' pages -------------------------------------------------------------


async def pool_viewer(request: Request) -> cv_pool.Viewer:
    user = require_user(request)
    viewer = await cv_pool.viewer_of(database(request), user)
    if viewer is None:
        raise Forbidden(
            "The CV pool is open to the recruiters of approved booths and to approved "
            "temporary-work agencies."
        )
    return viewer


def pool_query(request: Request) -> cv_pool.PoolQuery:
    params = request.query_params
    try:
        number = parse.integer(params.get("page", "") or "1", lo=1, hi=500)
    except parse.ParseError:
        number = 1
    try:
        radius = parse.integer(params.get("radius_km", "") or "0", lo=0, hi=1000)
    except parse.ParseError:
        radius = -1  # not in RADII: the form says to choose one from the list
    job = parse.line(params.get("job", ""))[:200]
    target = job_search.target_from_text(job) if job else None
    try:
        available = parse.day(params["available_by"]) if params.get("available_by") else None
    except parse.ParseError:
        available = None
    return cv_pool.PoolQuery(
        q=parse.line(params.get("q", ""))[:200],
        commune=parse.line(params.get("commune", ""))[:120],
        radius_km=radius,
        # A job name or code not in the list stays as typed: the search says to choose one.
        rome=target.rome_code if target else job,
        contract=params.get("contract", ""),
        available_by=available,
        transport=params.get("transport", ""),
        reachable=params.get("reachable") == "on",
        page=number,
    )


@page
async def search_page(request: Request) -> Response:
    viewer = await pool_viewer(request)
    query = pool_query(request)
    form = forms.FormState(values=dict(request.query_params.multi_items()))
    result, status = None, 200
    try:
        result = await cv_pool.search(database(request), viewer=viewer, query=query)
    except Invalid as error:
        form.errors, form.message, status = dict(error.fields), error.message, 422
        form.params = dict(error.params)
    base = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"])
    if "rome" in form.errors:  # the field the form shows is the job typed
        form.errors["job"] = form.errors.pop("rome")
    context = {
        "contract_options": [(c.value, c.label) for c in Contract],
        "transport_options": [(t.value, t.label) for t in Transport],
        "viewer": viewer,
        "query": query,
        "result": result,
        "form": form,
        "radii": search.RADII,
        "base_query": base,
        "network": bool(await network_pool.partners_for(database(request), viewer)),
    }
    return render(request, "pool/search.html", context, status=status)


def _ref(request: Request) -> str:
    ref = str(request.path_params["ref"])
    if not REF.fullmatch(ref):
        raise NotFound("This profile is not in the CV pool, or no longer.")
    return ref


async def _profile_context(
    request: Request, viewer: cv_pool.Viewer, form: forms.FormState | None = None
) -> dict[str, Any]:
    session = database(request)
    opened = await cv_pool.open_profile(session, viewer=viewer, ref=_ref(request))
    sent = [
        s for s in await contact_requests.of_viewer(session, viewer) if s.ref == opened.profile.ref
    ]
    return {"opened": opened, "profile": opened.profile, "sent": sent, "form": form}


@page
async def profile_page(request: Request) -> Response:
    viewer = await pool_viewer(request)
    return render(request, "pool/profile.html", await _profile_context(request, viewer))


@page
async def ask(request: Request) -> Response:
    viewer = await pool_viewer(request)
    fields = forms.Fields(await forms.read(request))
    try:
        message = fields.text("message", max_length=contact_requests.MAX_MESSAGE, multiline=True)
        await contact_requests.ask(
            database(request),
            viewer=viewer,
            requester=require_user(request),
            ref=_ref(request),
            message=message,
        )
    except FairError as error:
        if isinstance(error, NotFound):
            raise
        # The refused request's page: its profile opened again (and logged) after the rollback.
        context = await _profile_context(request, viewer, forms.state_from(fields, error))
        return render(request, "pool/profile.html", context, status=error.status)
    flash(request, "Your request is sent. The candidate is told by e-mail and answers here.")
    return urls.redirect(request, "pool_requests")


@page
async def pool_cv(request: Request) -> Response:
    viewer = await pool_viewer(request)
    stored = await cv_pool.open_cv(database(request), viewer=viewer, ref=_ref(request))
    return cv_response(stored)


@page
async def requests_page(request: Request) -> Response:
    viewer = await pool_viewer(request)
    sent = await contact_requests.of_viewer(database(request), viewer)
    return render(
        request,
        "pool/requests.html",
        {"sent": sent, "viewer": viewer, "ContactStatus": ContactStatus},
    )


@one_click_page
async def stop_reminders(request: Request) -> Response:
    """The reminders' stop link, without logging in: GET asks to confirm (mail scanners open
    links), POST stops this consent's reminders, from the button or from a mail client's
    one-click (fair.stop_links)."""
    raw = request.path_params["token"]
    session = database(request)
    consent = await cv_pool.by_reminders_token(session, raw)
    if request.method == "GET":
        return render(request, "candidate/pool_reminders_stopped.html", {"token": raw})
    await cv_pool.stop_reminders(session, consent)
    if is_one_click(request):
        return PlainTextResponse("Stopped.")
    return render(request, "candidate/pool_reminders_stopped.html", {"stopped": True})


routes = [
    Route("/me/pool", my_pool, name="my_pool"),
    Route("/me/pool/consent", give, methods=["POST"], name="pool_give"),
    Route("/me/pool/renew", renew, methods=["POST"], name="pool_renew"),
    Route("/me/pool/withdraw", withdraw, methods=["POST"], name="pool_withdraw"),
    Route("/me/pool/requests/{request_id:int}", answer, methods=["POST"], name="pool_answer"),
    Route(
        "/pool/reminders/stop/{token}",
        stop_reminders,
        methods=["GET", "POST"],
        name="pool_reminders_stop",
    ),
    Route("/pool", search_page, name="pool_search"),
    Route("/pool/requests", requests_page, name="pool_requests"),
    Route("/pool/profiles/{ref}", profile_page, name="pool_profile"),
    Route("/pool/profiles/{ref}/contact", ask, methods=["POST"], name="pool_ask"),
    Route("/pool/profiles/{ref}/cv", pool_cv, name="pool_cv"),
]
