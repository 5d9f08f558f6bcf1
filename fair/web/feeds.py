"""What the site publishes for machines: the sitemap and robots.txt, the iCalendar feeds of an
edition's programme and of a booth's talks, the Atom feed of an edition's new offers and the
delta feed of its offers (JSON, with tombstones) that partners pull.

Every feed states the data licence (`structured_data.LICENCE`); every URL in them is absolute,
at the configured BASE_URL. The edition's page links them (`links`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from feedgen.feed import FeedGenerator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fair import editions, employers, i18n, offer_feeds, parse, public_pages, structured_data
from fair.errors import Invalid, NotFound
from fair.i18n import gettext as _
from fair.models import Edition
from fair.web import urls
from fair.web.auth import database, page, path_int
from fair.webconferences import feeds as talk_feeds

CALENDAR = "text/calendar; charset=utf-8"
PUBLIC = {"cache-control": "public, max-age=300"}
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def links(request: Request, edition: Edition) -> dict[str, str]:
    """The edition's feeds, by kind, as the edition's page links them."""
    return {
        "atom": urls.path(request, "offers_atom", slug=edition.slug),
        "calendar": urls.path(request, "programme_calendar", slug=edition.slug),
        "changes": urls.path(request, "offers_changes", slug=edition.slug),
    }


# The sitemap and robots.txt ---------------------------------------------------------------------


@page
async def sitemap(request: Request) -> Response:
    pages = await public_pages.of_site(database(request))
    newest = max((at for _, at in pages.editions), default=None)
    found: list[tuple[str, datetime | None]] = [(urls.absolute(request, "home"), newest)]
    found += [(urls.absolute(request, "edition", slug=s), at) for s, at in pages.editions]
    found += [(urls.absolute(request, "programme", slug=s), at) for s, at in pages.editions]
    found += [
        (urls.absolute(request, "booth", slug=s, booth_id=b), at) for s, b, at in pages.booths
    ]
    found += [(urls.absolute(request, "offer", offer_id=o), at) for o, at in pages.offers]
    found += [
        (urls.absolute(request, "webconference", webconference_id=w), at)
        for w, at in pages.webconferences
    ]
    body = "".join(_url(loc, at) for loc, at in found)
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n{body}</urlset>\n'
    )
    return Response(xml, media_type="application/xml", headers=PUBLIC)


def _url(loc: str, changed: datetime | None) -> str:
    lastmod = f"<lastmod>{changed.date().isoformat()}</lastmod>" if changed else ""
    return f"  <url><loc>{escape(loc)}</loc>{lastmod}</url>\n"


async def robots(request: Request) -> Response:
    text = f"User-agent: *\nAllow: /\n\nSitemap: {urls.absolute(request, 'sitemap')}\n"
    return Response(text, media_type="text/plain; charset=utf-8", headers=PUBLIC)


# Calendars --------------------------------------------------------------------------------------


@page
async def programme_calendar(request: Request) -> Response:
    """The edition's programme, to subscribe to once."""
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    text = await talk_feeds.programme(session, edition, i18n.current_locale.get())
    return Response(text, media_type=CALENDAR, headers=PUBLIC)


@page
async def booth_calendar(request: Request) -> Response:
    """A booth's talks, to subscribe to once."""
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    booth = await employers.public_booth(session, path_int(request, "booth_id"))
    if booth.edition_id != edition.id:
        raise NotFound("This booth does not exist.")
    text = await talk_feeds.of_booth(session, edition, booth, i18n.current_locale.get())
    return Response(text, media_type=CALENDAR, headers=PUBLIC)


# Offers -----------------------------------------------------------------------------------------


@page
async def offers_atom(request: Request) -> Response:
    """The edition's newest offers as an Atom feed (feedgen)."""
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    found = await offer_feeds.newest(session, edition)
    feed = FeedGenerator()
    feed.id(urls.absolute(request, "offers_atom", slug=edition.slug))
    feed.title(_("New offers: %(title)s", title=edition.title))
    feed.link(href=urls.absolute(request, "search", slug=edition.slug), rel="alternate")
    feed.link(href=urls.absolute(request, "offers_atom", slug=edition.slug), rel="self")
    feed.rights(f"{structured_data.LICENCE} ({structured_data.LICENCE_URL})")
    feed.language(i18n.current_locale.get())
    feed.updated(max([o.updated_at for o in found], default=edition.published_at))
    for offer in reversed(found):  # feedgen puts the last added first
        entry = feed.add_entry()
        entry.id(urls.absolute(request, "offer", offer_id=offer.id))
        entry.title(offer.title)
        entry.link(href=urls.absolute(request, "offer", offer_id=offer.id))
        entry.author(name=offer.booth.employer.name)
        entry.published(offer.created_at)
        entry.updated(offer.updated_at)
        entry.summary(f"{offer.booth.employer.name}, {offer.commune} ({offer.postcode})")
        entry.content(offer.description, type="text")
    xml: bytes = feed.atom_str(pretty=True)
    return Response(xml, media_type="application/atom+xml; charset=utf-8", headers=PUBLIC)


@page
async def offers_changes(request: Request) -> Response:
    """The delta feed of the edition's offers: `?cursor=` from the previous pull (or
    `?since=` an ISO 8601 instant for the first), `?limit=` up to 500."""
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    params = request.query_params
    try:
        since = parse.instant(params["since"]) if params.get("since") else None
        limit = parse.integer(params.get("limit") or "100", lo=1, hi=offer_feeds.MAX_LIMIT)
    except parse.ParseError as error:
        raise Invalid(error.message, code=error.code, status=400) from error
    found = await offer_feeds.delta(
        session, edition, since=since, cursor=params.get("cursor", ""), limit=limit
    )
    body = {
        "licence": {"name": structured_data.LICENCE, "url": structured_data.LICENCE_URL},
        "edition": edition.slug,
        "items": [_change(request, c) for c in found.changes],
        "cursor": found.cursor,
        "more": found.more,
        "next": _next(request, edition, found.cursor) if found.cursor else None,
    }
    return JSONResponse(body, headers={"cache-control": "no-cache"})


def _next(request: Request, edition: Edition, cursor: str) -> str:
    return urls.absolute(request, "offers_changes", slug=edition.slug) + f"?cursor={cursor}"


def _change(request: Request, change: offer_feeds.Change) -> dict[str, Any]:
    offer = change.offer
    item: dict[str, Any] = {
        "id": offer.id,
        "deleted": change.deleted,
        "updated_at": change.changed_at.isoformat(),
    }
    if change.deleted:
        return item
    return item | {
        "url": urls.absolute(request, "offer", offer_id=offer.id),
        "title": offer.title,
        "description": offer.description,
        "employer": {"name": offer.booth.employer.name, "siret": offer.booth.employer.siret},
        "booth_id": offer.booth_id,
        "rome_code": offer.rome_code,
        "contract": offer.contract,
        "working_time": offer.working_time,
        "commune": offer.commune,
        "postcode": offer.postcode,
        "latitude": offer.latitude,
        "longitude": offer.longitude,
        "remote": offer.remote,
        "positions": offer.positions,
        "salary": offer.salary,
        "created_at": offer.created_at.isoformat(),
    }


routes = [
    Route("/sitemap.xml", sitemap, name="sitemap"),
    Route("/robots.txt", robots, name="robots"),
    Route("/e/{slug}/programme.ics", programme_calendar, name="programme_calendar"),
    Route("/e/{slug}/booths/{booth_id:int}/talks.ics", booth_calendar, name="booth_calendar"),
    Route("/e/{slug}/offers.atom", offers_atom, name="offers_atom"),
    Route("/e/{slug}/offers/changes.json", offers_changes, name="offers_changes"),
]
