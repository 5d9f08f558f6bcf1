"""Webhook pages (fair.webhooks): organisers manage their edition's endpoints, recruiters their
booth's: register, edit, pause or resume, delete; see the signing secret; read the delivery log
(latest first, by pages) and replay a delivery. Every endpoint page checks, server-side, that
the user manages the endpoint (webhooks.require_manager)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import editions, employers, parse, permissions, webhooks
from fair.enums import Role
from fair.errors import FairError
from fair.models import WebhookEndpoint
from fair.web import forms, urls
from fair.web.auth import database, organised_edition, page, path_int, require_role
from fair.web.flash import flash
from fair.web.templating import render

Owner = tuple[int, int | None]  # the edition, and the booth (None: the edition's own)


async def _booth_owner(request: Request) -> tuple[Owner, str]:
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    booth = await employers.get_booth(session, path_int(request, "booth_id"))
    await permissions.require_booth_member(session, user, booth)
    return (booth.edition_id, booth.id), booth.employer.name


async def _list_page(
    request: Request, owner: Owner, title: str, form: forms.FormState, *, status: int = 200
) -> Response:
    edition_id, booth_id = owner
    session = database(request)
    listed = await webhooks.endpoints_of(session, edition_id=edition_id, booth_id=booth_id)
    edition = await editions.get(session, edition_id)
    chosen = form.values.get("events_chosen", list(webhooks.EVENTS))
    context = {
        "owner_title": title,
        "edition": edition,
        "edition_id": edition_id,
        "booth_id": booth_id,
        "endpoints": listed,
        "form": form,
        "events": webhooks.EVENTS,
        "chosen": chosen,
        "action": _list_url(request, owner),
    }
    return render(request, "webhooks/list.html", context, status=status)


def _list_url(request: Request, owner: Owner) -> str:
    edition_id, booth_id = owner
    if booth_id is None:
        return urls.path(request, "edition_webhooks", edition_id=edition_id)
    return urls.path(request, "booth_webhooks", booth_id=booth_id)


async def _register(request: Request, owner: Owner, title: str) -> Response:
    """The list of endpoints, and on POST a new one (then its page, with its secret)."""
    if request.method != "POST":
        return await _list_page(request, owner, title, forms.FormState())
    fields = forms.Fields(await forms.read(request))
    url = fields.text("url", max_length=webhooks.MAX_URL)
    chosen = fields.choices("events")
    try:
        endpoint = await webhooks.create(
            database(request),
            by=request.state.user,
            edition_id=owner[0],
            booth_id=owner[1],
            url=url,
            events=chosen,
        )
    except FairError as error:
        state = forms.state_from(fields, error)
        state.values["events_chosen"] = chosen
        return await _list_page(request, owner, title, state, status=error.status)
    flash(request, "The webhook was registered. Copy its secret to check the signatures.")
    return urls.redirect(request, "webhook", endpoint_id=endpoint.id)


@page
async def edition_webhooks(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    return await _register(request, (edition.id, None), edition.title)


@page
async def booth_webhooks(request: Request) -> Response:
    owner, title = await _booth_owner(request)
    return await _register(request, owner, title)


async def _endpoint(request: Request) -> WebhookEndpoint:
    user = require_role(request, Role.ORGANISER, Role.RECRUITER)
    session = database(request)
    endpoint = await webhooks.get_endpoint(session, path_int(request, "endpoint_id"))
    await webhooks.require_manager(session, user, endpoint)
    return endpoint


async def _endpoint_page(
    request: Request, endpoint: WebhookEndpoint, form: forms.FormState, *, status: int = 200
) -> Response:
    session = database(request)
    rows = await webhooks.deliveries(session, endpoint, before=_before(request))
    shown = rows[: webhooks.LOG_PAGE]
    edition = await editions.get(session, endpoint.edition_id)
    context = {
        "endpoint": endpoint,
        "edition": edition,
        "form": form,
        "events": webhooks.EVENTS,
        "chosen": form.values.get("events_chosen", endpoint.events),
        "deliveries": shown,
        "older": shown[-1].id if len(rows) > webhooks.LOG_PAGE else None,
        "back": _list_url(request, (endpoint.edition_id, endpoint.booth_id)),
        "zone": edition.timezone,
    }
    return render(request, "webhooks/endpoint.html", context, status=status)


def _before(request: Request) -> int | None:
    """The log page's cursor: deliveries older than this id (none: the latest)."""
    try:
        return parse.identifier(request.query_params.get("before", ""))
    except parse.ParseError:
        return None


@page
async def webhook(request: Request) -> Response:
    """An endpoint: its settings (POST: saved), its secret and its delivery log."""
    endpoint = await _endpoint(request)
    if request.method != "POST":
        return await _endpoint_page(request, endpoint, forms.FormState())
    fields = forms.Fields(await forms.read(request))
    chosen = fields.choices("events")
    try:
        await webhooks.update_endpoint(
            database(request),
            endpoint,
            url=fields.text("url", max_length=webhooks.MAX_URL),
            events=chosen,
        )
    except FairError as error:
        state = forms.state_from(fields, error)
        state.values["events_chosen"] = chosen
        return await _endpoint_page(request, endpoint, state, status=error.status)
    flash(request, "The webhook was saved.")
    return urls.redirect(request, "webhook", endpoint_id=endpoint.id)


@page
async def webhook_pause(request: Request) -> Response:
    """Pause (deliveries wait, new events are not queued) or resume the endpoint."""
    endpoint = await _endpoint(request)
    fields = forms.Fields(await forms.read(request))
    active = fields.flag("active")
    await webhooks.set_active(database(request), endpoint, active)
    flash(request, "The webhook was resumed." if active else "The webhook was paused.")
    return urls.redirect(request, "webhook", endpoint_id=endpoint.id)


@page
async def webhook_delete(request: Request) -> Response:
    endpoint = await _endpoint(request)
    back = (endpoint.edition_id, endpoint.booth_id)
    await webhooks.delete(database(request), endpoint)
    flash(request, "The webhook was deleted.")
    if back[1] is None:
        return urls.redirect(request, "edition_webhooks", edition_id=back[0])
    return urls.redirect(request, "booth_webhooks", booth_id=back[1])


@page
async def webhook_replay(request: Request) -> Response:
    """Queue a delivered or failed delivery again."""
    endpoint = await _endpoint(request)
    await webhooks.replay(database(request), endpoint, path_int(request, "delivery_id"))
    flash(request, "The delivery was queued again.")
    return urls.redirect(request, "webhook", endpoint_id=endpoint.id)


routes = [
    Route(
        "/organiser/editions/{edition_id:int}/webhooks",
        edition_webhooks,
        methods=["GET", "POST"],
        name="edition_webhooks",
    ),
    Route(
        "/recruiter/booths/{booth_id:int}/webhooks",
        booth_webhooks,
        methods=["GET", "POST"],
        name="booth_webhooks",
    ),
    Route("/webhooks/{endpoint_id:int}", webhook, methods=["GET", "POST"], name="webhook"),
    Route(
        "/webhooks/{endpoint_id:int}/pause",
        webhook_pause,
        methods=["POST"],
        name="webhook_pause",
    ),
    Route(
        "/webhooks/{endpoint_id:int}/delete",
        webhook_delete,
        methods=["POST"],
        name="webhook_delete",
    ),
    Route(
        "/webhooks/{endpoint_id:int}/deliveries/{delivery_id:int}/replay",
        webhook_replay,
        methods=["POST"],
        name="webhook_replay",
    ),
]
