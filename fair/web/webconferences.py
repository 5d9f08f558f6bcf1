"""Webconference pages (fair.webconferences): the public programme and a webconference's page,
candidates registering and unregistering, and the schedule/edit/cancel forms of organisers (for
the edition) and of a booth's recruiters (for their booth).

Everything works without JavaScript: forms post, then redirect back; a refused form is shown
again with its errors and the error's status (so the `page` decorator rolls back).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import app_state, editions, employers, permissions, structured_data, webconferences
from fair.enums import RegistrationStatus, Role, WebconferenceAccess, WebconferenceStatus
from fair.errors import FairError
from fair.i18n import N_
from fair.models import Booth, Edition, User, Webconference
from fair.web import forms, urls
from fair.web.auth import database, page, path_int, release, require_role, require_user
from fair.web.browsing import cached
from fair.web.templating import render
from fair.webconferences import audience, recordings

ENUMS = {
    "RegistrationStatus": RegistrationStatus,
    "WebconferenceAccess": WebconferenceAccess,
    "WebconferenceStatus": WebconferenceStatus,
}
# What the webconference page says of its state (fair.webconferences.phase).
PHASES = {
    "cancelled": N_("This webconference is cancelled."),
    "ended": N_("This webconference has ended."),
    "live": N_("Live now."),
    "soon": N_("Starting soon."),
    "scheduled": N_("Not started yet."),
}


# The programme and a webconference's page ------------------------------------------------------


@cached  # a short cache while the fair is full (fair.web.browsing)
@page
async def programme(request: Request) -> Response:
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    user: User | None = request.state.user
    context = {
        "edition": edition,
        "zone": edition.timezone,
        "programme": await webconferences.programme(session, edition, user),
        "done": request.query_params.get("done", ""),
        **ENUMS,
    }
    return render(request, "webconferences/programme.html", context)


async def _visible(request: Request) -> tuple[Webconference, Edition, bool]:
    """The webconference if the user sees it (`webconferences.visible_to`, as the socket's
    stage commands), its edition, and whether the user manages it."""
    session = database(request)
    user: User | None = request.state.user
    webconference_id = path_int(request, "webconference_id")
    webconference = await webconferences.require_visible(session, user, webconference_id)
    edition = await editions.get(session, webconference.edition_id)
    manages = user is not None and await webconferences.can_manage(session, user, webconference)
    return webconference, edition, manages


@page
async def webconference_page(request: Request) -> Response:
    session = database(request)
    webconference, edition, manages = await _visible(request)
    user: User | None = request.state.user
    item = (await webconferences.items(session, [webconference], user))[0]
    phase = webconferences.phase(webconference)
    context = {
        "edition": edition,
        "zone": edition.timezone,
        "item": item,
        "w": webconference,
        "phase": phase,
        "phase_text": PHASES[phase],
        "manages": manages,
        "recording": await recordings.overview(session, webconference, user),
        "done": request.query_params.get("done", ""),
        "jsonld": _event(request, item, edition),
        **ENUMS,
    }
    return render(request, "webconferences/webconference.html", context)


def _event(request: Request, item: webconferences.Item, edition: Edition) -> str:
    """The talk's Event as JSON-LD (fair.structured_data), organised by the booth's employer
    or, for the edition's own talks, by the edition's organisers."""
    w = item.webconference
    edition_url = urls.absolute(request, "edition", slug=edition.slug)
    organizer = (
        {"@type": "Organization", "name": item.employer}
        if item.employer
        else structured_data.edition_organizer(edition, edition_url)
    )
    context = structured_data.TalkContext(
        url=urls.absolute(request, "webconference", webconference_id=w.id),
        edition_url=edition_url,
        organizer=organizer,
        presenters=tuple(item.presenters),
        sold_out=item.seats_left == 0,
    )
    return structured_data.dumps(structured_data.webconference_event(w, edition, context))


def _back(request: Request, edition: Edition, webconference: Webconference, done: str) -> Response:
    """Where a candidate's registration form returns: the programme or the webconference."""
    query = {"done": done}
    if request.query_params.get("back", "") == "programme":
        anchor = f"webconference-{webconference.id}"
        return urls.redirect(request, "programme", slug=edition.slug, query=query, anchor=anchor)
    return urls.redirect(request, "webconference", webconference_id=webconference.id, query=query)


@page
async def register(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    webconference, edition, _manages = await _visible(request)
    registration = await webconferences.register(
        database(request), candidate=user, webconference=webconference
    )
    return _back(request, edition, webconference, registration.status)


@page
async def unregister(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    webconference, edition, _manages = await _visible(request)
    await webconferences.unregister(database(request), candidate=user, webconference=webconference)
    return _back(request, edition, webconference, "unregistered")


# Scheduling: organisers and booth recruiters ---------------------------------------------------


def _input(fields: forms.Fields, zone: str) -> webconferences.WebconferenceInput:
    try:
        access = WebconferenceAccess(fields.text("access"))
    except ValueError:
        fields.errors["access"] = "Choose who may watch."
        access = WebconferenceAccess.REGISTERED
    presenters = fields.identifiers("presenters")
    data = webconferences.WebconferenceInput(
        # Text limits are the domain's, checked with the other fields' rules at once.
        title=fields.text("title"),
        description=fields.text("description", multiline=True),
        starts_at=fields.moment("starts_at", zone),
        ends_at=fields.moment("ends_at", zone),
        capacity=fields.integer("capacity"),
        access=access,
        presenter_ids=presenters,
    )
    fields.done()
    return data


def _state(fields: forms.Fields, error: FairError) -> forms.FormState:
    state = forms.state_from(fields, error)
    state.values["presenters"] = fields.choices("presenters")
    return state


def _defaults(user: User) -> forms.FormState:
    return forms.FormState(
        values={
            "capacity": "100",
            "access": WebconferenceAccess.REGISTERED.value,
            "presenters": [str(user.id)],
        }
    )


def _presenter_options(eligible: list[User], chosen: list[str]) -> list[tuple[str, str]]:
    """Who may present, those chosen first and in their order: a browser sends the ticked boxes
    in the page's order, which becomes the presenters' order (a form saved unchanged keeps it)."""
    rank = {key: n for n, key in enumerate(chosen)}
    options = [(str(u.id), u.name) for u in eligible]
    return sorted(options, key=lambda option: rank.get(option[0], len(rank)))


def _values(webconference: Webconference, presenter_ids: list[int], zone: str) -> dict[str, Any]:
    tz = ZoneInfo(zone)
    return {
        "title": webconference.title,
        "description": webconference.description,
        "starts_at": webconference.starts_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": webconference.ends_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "capacity": str(webconference.capacity),
        "access": webconference.access,
        "presenters": [str(i) for i in presenter_ids],
    }


async def _manage_page(
    request: Request,
    user: User,
    edition: Edition,
    booth: Booth | None,
    form: forms.FormState | None = None,
    *,
    status: int = 200,
) -> Response:
    session = database(request)
    listed = await webconferences.of_edition(
        session, edition.id, booth_id=booth.id if booth else None
    )
    context = {
        "edition": edition,
        "booth": booth,
        "zone": edition.timezone,
        "items": await webconferences.items(session, listed),
        "attendance": await audience.statistics_of(session, listed),
        "presenting": await webconferences.presented_by(session, user, [w.id for w in listed]),
        "phase": webconferences.phase,
        "presenters": _presenter_options(
            await webconferences.eligible_presenters(session, edition, booth),
            (form or _defaults(user)).get("presenters", []),
        ),
        "form": form or _defaults(user),
        "action": _list_path(request, edition.id, booth.id if booth else None),
        "done": request.query_params.get("done", ""),
        **ENUMS,
    }
    return render(request, "webconferences/manage.html", context, status=status)


async def _schedule(
    request: Request, user: User, edition: Edition, booth: Booth | None
) -> Response:
    if request.method != "POST":
        return await _manage_page(request, user, edition, booth)
    fields = forms.Fields(await forms.read(request))
    try:
        await webconferences.schedule(
            database(request),
            by=user,
            edition=edition,
            booth=booth,
            data=_input(fields, edition.timezone),
        )
    except FairError as error:
        if error.status in (403, 404):
            raise
        form = _state(fields, error)
        await release(request)  # the page is read and rendered without the write lock
        return await _manage_page(request, user, edition, booth, form, status=error.status)
    return _to_list(request, edition.id, booth.id if booth else None, "scheduled")


@page
async def edition_webconferences(request: Request) -> Response:
    """The organiser's programme of the edition: schedule, edit, cancel."""
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    edition = await editions.get(session, path_int(request, "edition_id"))
    await permissions.require_organiser(session, user, edition)
    return await _schedule(request, user, edition, None)


@page
async def booth_webconferences(request: Request) -> Response:
    """A booth's own webconferences: its recruiters schedule, edit and cancel them."""
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    booth = await employers.get_booth(session, path_int(request, "booth_id"))
    await permissions.require_booth_member(session, user, booth)
    edition = await editions.get(session, booth.edition_id)
    return await _schedule(request, user, edition, booth)


async def _managed(request: Request) -> tuple[User, Webconference, Edition, Booth | None]:
    user = require_user(request)
    session = database(request)
    webconference_id = path_int(request, "webconference_id")
    webconference = await webconferences.require_manageable(session, user, webconference_id)
    edition = await editions.get(session, webconference.edition_id)
    booth = (
        await employers.get_booth(session, webconference.booth_id)
        if webconference.booth_id
        else None
    )
    return user, webconference, edition, booth


def _list_path(request: Request, edition_id: int, booth_id: int | None) -> str:
    """The programme a talk is managed from: its booth's, else its edition's."""
    if booth_id is not None:
        return urls.path(request, "booth_webconferences", booth_id=booth_id)
    return urls.path(request, "edition_webconferences", edition_id=edition_id)


def _to_list(request: Request, edition_id: int, booth_id: int | None, done: str) -> Response:
    path = _list_path(request, edition_id, booth_id)
    return urls.see_other(path, query={"done": done}, anchor="programme")


@page
async def edit(request: Request) -> Response:
    user, webconference, edition, booth = await _managed(request)
    session = database(request)
    form, status = None, 200
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            data = _input(fields, edition.timezone)
            data.starts_at = forms.as_shown(data.starts_at, webconference.starts_at)
            data.ends_at = forms.as_shown(data.ends_at, webconference.ends_at)
            await webconferences.update(session, by=user, webconference=webconference, data=data)
            return _to_list(request, edition.id, webconference.booth_id, "updated")
        except FairError as error:
            if error.status in (403, 404):
                raise
            form, status = _state(fields, error), error.status
            await release(request)  # the talk's lock goes before the page is read
            session = database(request)
    if form is None:
        presenter_ids = await webconferences.presenters_of(session, webconference.id)
        form = forms.FormState(values=_values(webconference, presenter_ids, edition.timezone))
    context = {
        "edition": edition,
        "booth": booth,
        "w": webconference,
        "zone": edition.timezone,
        "form": form,
        "presenters": _presenter_options(
            await webconferences.eligible_presenters(session, edition, booth),
            form.get("presenters", []),
        ),
        "back": _list_path(request, edition.id, webconference.booth_id),
        **ENUMS,
    }
    return render(request, "webconferences/edit.html", context, status=status)


@page
async def cancel(request: Request) -> Response:
    user, webconference, _edition, _booth = await _managed(request)
    await webconferences.cancel(database(request), by=user, webconference=webconference)
    return _to_list(request, webconference.edition_id, webconference.booth_id, "cancelled")


@page
async def end(request: Request) -> Response:
    """An organiser (or the booth's recruiter) ends a live talk from the programme page, when
    its presenters cannot: the media host closes its stage on the `stage.state` event."""
    user, webconference, _edition, _booth = await _managed(request)
    session = database(request)
    await webconferences.end(session, by=user, webconference=webconference)
    await recordings.finish_recording(app_state.of(request).stages, session, webconference)
    return _to_list(request, webconference.edition_id, webconference.booth_id, "ended")


routes = [
    Route("/e/{slug}/programme", programme, name="programme"),
    Route("/webconferences/{webconference_id:int}", webconference_page, name="webconference"),
    Route(
        "/webconferences/{webconference_id:int}/register",
        register,
        methods=["POST"],
        name="webconference_register",
    ),
    Route(
        "/webconferences/{webconference_id:int}/unregister",
        unregister,
        methods=["POST"],
        name="webconference_unregister",
    ),
    Route(
        "/webconferences/{webconference_id:int}/edit",
        edit,
        methods=["GET", "POST"],
        name="webconference_edit",
    ),
    Route(
        "/webconferences/{webconference_id:int}/cancel",
        cancel,
        methods=["POST"],
        name="webconference_cancel",
    ),
    Route(
        "/webconferences/{webconference_id:int}/end",
        end,
        methods=["POST"],
        name="webconference_end",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/webconferences",
        edition_webconferences,
        methods=["GET", "POST"],
        name="edition_webconferences",
    ),
    Route(
        "/recruiter/booths/{booth_id:int}/webconferences",
        booth_webconferences,
        methods=["GET", "POST"],
        name="booth_webconferences",
    ),
]
