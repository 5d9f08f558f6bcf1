"""The network of territories' pages (fair.network, docs/NETWORK.md): the organisers' page of
an edition's partner instances (register one, see its last pull, disable or enable it), and
a partner's offer as candidates see it, with the application sent through the origin
instance once the candidate agreed to what is sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import candidates, editions, network, network_applications
from fair.enums import Role
from fair.errors import FairError, Invalid, NotFound
from fair.i18n import gettext as _
from fair.models import Edition, NetworkOffer, NetworkPartner, User
from fair.web import forms, urls
from fair.web.auth import database, organised_edition, page, path_int, release, require_role
from fair.web.flash import flash
from fair.web.templating import render

# Partners, for the edition's organisers -----------------------------------------------------


def result_text(partner: NetworkPartner) -> str:
    """The last pull's result in the reader's language (fair.network_sync writes it)."""
    if partner.last_error:
        return _("Failed: %(error)s", error=partner.last_error)
    if partner.last_result == "unchanged":
        return _("Nothing new")
    changed, _sep, removed = partner.last_result.partition(" ")
    if not changed.isdigit() or not removed.isdigit():
        return "—"
    return _("%(changed)s offers updated, %(removed)s removed", changed=changed, removed=removed)


async def _partners_page(
    request: Request,
    edition: Edition,
    *,
    form: forms.FormState | None = None,
    issued: str = "",
    status: int = 200,
) -> Response:
    session = database(request)
    partners = await network.of_edition(session, edition.id)
    context = {
        "edition": edition,
        "partners": partners,
        "counts": await network.offer_counts(session, edition.id),
        "results": {p.id: result_text(p) for p in partners},
        "form": form,
        "issued": issued,
        "shown": await network.shows_network(session, edition.id),
        "site_shows": network.site_shows(),
    }
    response = render(request, "organiser/network.html", context, status=status)
    response.headers["cache-control"] = "no-store"  # the key shown once stays out of caches
    return response


@page
async def edition_network(request: Request) -> Response:
    user, edition = await organised_edition(request)
    if request.method == "GET":
        return await _partners_page(request, edition)
    fields = forms.Fields(await forms.read(request))
    url, territory = fields.text("url"), fields.text("territory")
    key = fields.text("key")
    try:
        fields.done()
        _partner, issued = await network.register(
            database(request), edition=edition, base_url=url, territory=territory, key=key, by=user
        )
    except Invalid as error:
        await release(request)
        return await _partners_page(
            request, edition, form=forms.state_from(fields, error), status=error.status
        )
    return await _partners_page(request, edition, issued=issued)


@page
async def network_partner_active(request: Request) -> Response:
    user, edition = await organised_edition(request)
    session = database(request)
    partner = await network.get(session, path_int(request, "partner_id"), edition_id=edition.id)
    fields = forms.Fields(await forms.read(request))
    active = fields.text("active") == "1"
    fields.done()
    issued = await network.set_active(session, partner, active=active, by=user)
    if issued:
        return await _partners_page(request, edition, issued=issued)
    if active:
        flash(request, "The partner %(territory)s is enabled again.", territory=partner.territory)
    else:
        flash(
            request,
            "The partner %(territory)s is disabled: its offers left the search and its key is "
            "revoked.",
            territory=partner.territory,
        )
    return urls.redirect(request, "edition_network", edition_id=edition.id)


# A partner's offer, for candidates -----------------------------------------------------------


async def _offer(session: AsyncSession, request: Request) -> tuple[NetworkOffer, Edition]:
    offer = await session.get(NetworkOffer, path_int(request, "network_offer_id"))
    if offer is None:
        raise NotFound("This offer does not exist.")
    edition = await editions.get(session, offer.edition_id)
    if edition.published_at is None:
        raise NotFound("This offer does not exist.")
    partner = await session.get(NetworkPartner, offer.partner_id)
    if partner is None or not partner.active:
        raise NotFound("This offer does not exist.")
    return offer, edition


async def _offer_context(
    session: AsyncSession, user: User | None, offer: NetworkOffer, edition: Edition
) -> dict[str, Any]:
    partner = await session.get(NetworkPartner, offer.partner_id)
    assert partner is not None  # checked by _offer
    mine = has_cv = None
    if user is not None and user.role == Role.CANDIDATE:
        mine = await network_applications.of_offer_for(session, user, offer)
        has_cv = (await candidates.profile(session, user)).cv_file_id is not None
    return {
        "offer": offer,
        "edition": edition,
        "territory": partner.territory,
        "mine": mine,
        "has_cv": has_cv,
        "consent": _(network_applications.CONSENT, territory=partner.territory),
        "applications_open": editions.applications_open(edition),
    }


@page
async def network_offer(request: Request) -> Response:
    session = database(request)
    offer, edition = await _offer(session, request)
    context = await _offer_context(session, request.state.user, offer, edition)
    return render(request, "public/network_offer.html", context)


@page
async def network_apply(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    offer, edition = await _offer(session, request)
    fields = forms.Fields(await forms.read(request))
    context = await _offer_context(session, user, offer, edition)
    try:
        message = fields.text("message", max_length=5000, multiline=True)
        consented = fields.flag("consent")
        fields.done()
        await network_applications.queue(
            session,
            candidate=user,
            offer=offer,
            message=message,
            consented=consented,
            consent_text=context["consent"],
        )
    except FairError as error:
        await release(request)
        context["form"] = forms.state_from(fields, error)
        return render(request, "public/network_offer.html", context, status=error.status)
    flash(
        request,
        "Your application is on its way to %(territory)s: its status will show here.",
        territory=context["territory"],
    )
    return urls.redirect(request, "my_applications")


@page
async def network_offers_shown(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    fields = forms.Fields(await forms.read(request))
    shown = fields.text("shown") == "1"
    fields.done()
    await network.set_offers_shown(database(request), edition, shown=shown)
    flash(
        request,
        "The edition's search includes the partners' offers."
        if shown
        else "The edition's search no longer includes the partners' offers.",
    )
    return urls.redirect(request, "edition_network", edition_id=edition.id)


routes = [
    Route(
        "/organiser/editions/{edition_id:int}/network",
        edition_network,
        methods=["GET", "POST"],
        name="edition_network",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/network/{partner_id:int}/active",
        network_partner_active,
        methods=["POST"],
        name="network_partner_active",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/network/offers-shown",
        network_offers_shown,
        methods=["POST"],
        name="network_offers_shown",
    ),
    Route("/network/offers/{network_offer_id:int}", network_offer, name="network_offer"),
    Route(
        "/network/offers/{network_offer_id:int}/apply",
        network_apply,
        methods=["POST"],
        name="network_apply",
    ),
]
