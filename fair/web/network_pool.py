"""The CV pool of the network's partners (fair.network_pool): for those who may search the
local pool (fair.web.pool's rule), the search of a partner's profiles opened to the whole
network, a profile (opened in their name at the partner, which records it), a contact request
sent there, and their organisation's requests with the contact details once accepted.

A partner is called with no transaction open and no database connection held here (`let_go`
first: slow partners cannot take the pool's connections), in one of the process's places for
such calls (fair.partner_http.slot: 503 with Retry-After when they are all taken).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import (
    app_state,
    contact_requests,
    cv_pool,
    geo,
    network_pool,
    parse,
    partner_http,
    search,
)
from fair.enums import ContactStatus, Contract, Transport
from fair.errors import FairError, Invalid, NotFound
from fair.models import NetworkPartner
from fair.web import forms, urls
from fair.web.auth import database, let_go, page, path_int, require_user
from fair.web.flash import flash
from fair.web.pool import REF, pool_query, pool_viewer
from fair.web.templating import render

MAX_PAGE = 50  # the partners' API answers this many pages at most


def _ref(request: Request) -> str:
    ref = str(request.path_params["ref"])
    if not REF.fullmatch(ref):
        raise NotFound(network_pool.GONE)
    return ref


def _chosen(request: Request, partners: list[NetworkPartner]) -> NetworkPartner | None:
    wanted = request.query_params.get("partner", "")
    try:
        number = parse.integer(wanted, lo=1, hi=2**31) if wanted else 0
    except parse.ParseError:
        number = 0
    return next((p for p in partners if p.id == number), partners[0] if partners else None)


@page
async def search_page(request: Request) -> Response:
    viewer = await pool_viewer(request)
    session = database(request)
    partners = await network_pool.partners_for(session, viewer)
    partner = _chosen(request, partners)
    query = pool_query(request)
    query.page = min(query.page, MAX_PAGE)
    form = forms.FormState(values=dict(request.query_params.multi_items()))
    result: network_pool.RemotePage | None = None
    status, failure = 200, ""
    try:
        origin = cv_pool.check(query)
        if partner is not None and request.query_params:
            goal = network_pool.target(partner)
            if isinstance(origin, geo.Commune):
                query.commune = origin.code  # the partner reads the same communes' codes
            async with partner_http.slot():
                await let_go(request)
                result = await network_pool.search(goal, query)
    except Invalid as error:
        form.errors, form.message, status = dict(error.fields), error.message, 422
        form.params = dict(error.params)
    except FairError as error:
        if error.status == 503:
            raise  # busy: the error page, with Retry-After
        failure, status = error.message, error.status
    if "rome" in form.errors:
        form.errors["job"] = form.errors.pop("rome")
    base = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"])
    context = {
        "partners": partners,
        "partner": partner,
        "contract_options": [(c.value, c.label) for c in Contract],
        "transport_options": [(t.value, t.label) for t in Transport],
        "query": query,
        "result": result,
        "pages": max(1, min(MAX_PAGE, -(-result.total // cv_pool.PER_PAGE))) if result else 1,
        "failure": failure,
        "form": form,
        "radii": search.RADII,
        "base_query": base,
    }
    return render(request, "network_pool/search.html", context, status=status)


async def _profile_context(request: Request, form: forms.FormState | None = None) -> dict[str, Any]:
    """The partner's profile, opened in the viewer's name (the partner records it), and the
    requests of the viewer's organisation to it."""
    viewer = await pool_viewer(request)
    user = require_user(request)
    session = database(request)
    partner = await network_pool.partner_for(session, viewer, path_int(request, "partner_id"))
    ref = _ref(request)
    sent = [
        s
        for s in await network_pool.sent_for(session, viewer, partner_id=partner.id)
        if s.ref == ref
    ]
    goal = network_pool.target(partner)
    async with partner_http.slot():
        await let_go(request)
        profile = await network_pool.open_profile(
            goal, network_pool.viewer_in(viewer, user.name), ref
        )
    return {
        "partner": partner,
        "profile": profile,
        "sent": sent,
        "form": form,
        "max_message": contact_requests.MAX_MESSAGE,
    }


@page
async def profile_page(request: Request) -> Response:
    return render(request, "network_pool/profile.html", await _profile_context(request))


@page
async def ask(request: Request) -> Response:
    viewer = await pool_viewer(request)
    user = require_user(request)
    session = database(request)
    partner = await network_pool.partner_for(session, viewer, path_int(request, "partner_id"))
    ref = _ref(request)
    fields = forms.Fields(await forms.read(request))
    goal = network_pool.target(partner)
    try:
        message = fields.text("message", max_length=contact_requests.MAX_MESSAGE, multiline=True)
        fields.done()
        async with partner_http.slot():
            await let_go(request)  # no transaction, no connection held while the partner is called
            await network_pool.ask(
                app_state.of(request).write_sessions, goal, viewer, user, ref, message
            )
    except FairError as error:
        if isinstance(error, NotFound):
            raise
        context = await _profile_context(request, forms.state_from(fields, error))
        return render(request, "network_pool/profile.html", context, status=error.status)
    flash(
        request,
        "Your request is sent to %(territory)s. The candidate is told there and answers; "
        "their contact details show here once they accept.",
        territory=partner.territory,
    )
    return urls.redirect(request, "network_pool_requests")


@page
async def requests_page(request: Request) -> Response:
    viewer = await pool_viewer(request)
    session = database(request)
    sent = await network_pool.sent_for(session, viewer)
    partners = {p.id: p for p in await network_pool.partners_for(session, viewer)}
    return render(
        request,
        "network_pool/requests.html",
        {"sent": sent, "viewer": viewer, "partners": partners, "ContactStatus": ContactStatus},
    )


routes = [
    Route("/network/pool", search_page, name="network_pool_search"),
    Route("/network/pool/requests", requests_page, name="network_pool_requests"),
    Route("/network/pool/{partner_id:int}/{ref}", profile_page, name="network_pool_profile"),
    Route(
        "/network/pool/{partner_id:int}/{ref}/contact",
        ask,
        methods=["POST"],
        name="network_pool_ask",
    ),
]
