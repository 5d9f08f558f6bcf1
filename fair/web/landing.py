"""The edition's landing page (fair.landing) and the accessibility statement."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import clock, editions, images, landing, participants, structured_data
from fair.enums import Role
from fair.models import Edition
from fair.web import feeds, kept, urls
from fair.web.auth import database, page
from fair.web.browsing import cached, shared
from fair.web.templating import render


async def _takes_part(request: Request, edition_id: int) -> str:
    """What of the viewer (a candidate) the page shows: whether they take part."""
    user = request.state.user
    found = await participants.is_registered(database(request), edition_id=edition_id, user=user)
    return "taking part" if found else ""


def _takes_part_known(_request: Request, viewer: kept.Viewer) -> str:
    """`_takes_part` from what is known of the viewer (fair.web.kept), without a read."""
    return "taking part" if viewer.registered else ""


@cached  # a short cache while the fair is full (fair.web.browsing)
@page
@shared(_takes_part, _takes_part_known)  # kept for logged-in candidates while the same (likewise)
async def edition_page(request: Request) -> Response:
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    now = clock.now()
    context = {
        "edition": edition,
        "status": editions.status_at(edition, now),
        "applications_open": editions.applications_open(edition, now),
        "landing": await landing.of_edition(session, edition, now),
        "now": now,
        "taking_part": await _taking_part(request, edition),
        "feeds": feeds.links(request, edition),
        "licence": structured_data.LICENCE,
        "jsonld": _event(request, edition),
    }
    return render(request, "public/edition.html", context)


def _event(request: Request, edition: Edition) -> str:
    """The edition's Event as JSON-LD (fair.structured_data); registering is on this page."""
    url = urls.absolute(request, "edition", slug=edition.slug)
    image = ""
    if edition.brand is not None and edition.brand.banner_file_id is not None:
        width = max(images.BANNER.widths)
        image = urls.absolute(request, "image", file_id=edition.brand.banner_file_id, width=width)
    data = structured_data.edition_event(edition, url=url, registration_url=url, image_url=image)
    return structured_data.dumps(data)


async def _taking_part(request: Request, edition: Edition) -> bool | None:
    """Whether the candidate looking takes part in the edition; None for anyone else."""
    user = request.state.user
    if user is None or user.role != Role.CANDIDATE:
        return None
    return await participants.is_registered(database(request), edition_id=edition.id, user=user)


@page
async def accessibility(request: Request) -> Response:
    """The accessibility statement (the RGAA's "déclaration d'accessibilité"), linked from
    every page's footer and from the landing page."""
    return render(request, "public/accessibility.html", {})


routes = [
    Route("/e/{slug}", edition_page, name="edition"),
    Route("/accessibility", accessibility, name="accessibility"),
]
