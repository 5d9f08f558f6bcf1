"""What the site publishes for machines: the sitemap and robots.txt, the iCalendar feeds of an
edition's programme and of a booth's talks, the Atom feed of an edition's new offers and the
delta feed of its offers (JSON, with tombstones) that partners pull.

Every feed states the data licence (`structured_data.LICENCE`); every URL in them is absolute,
at the configured BASE_URL. The edition's page links them (`links`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from feedgen.feed import FeedGenerator
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fair import (
    editions,
    employers,
    i18n,
    offer_feeds,
    offers_version,
    parse,
    public_pages,
    settings,
    structured_data,
)
from fair.errors import Invalid, NotFound
from fair.i18n import gettext as _
from fair.models import Edition
from fair.web import urls
from fair.web.auth import database, page, path_int
from fair.webconferences import feeds as talk_feeds

CALENDAR = "text/calendar; charset=utf-8"
PUBLIC = {"cache-control": "public, max-age=300"}
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_URLS = 50_000  # the sitemap protocol's limit per file


def links(request: Request, edition: Edition) -> dict[str, str]:
    """The edition's feeds, by kind, as the edition's page links them."""
    return {
        "atom": urls.path(request, "offers_atom", slug=edition.slug),
        "calendar": urls.path(request, "programme_calendar", slug=edition.slug),
        "changes": urls.path(request, "offers_changes", slug=edition.slug),
    }


# The sitemap and robots.txt ---------------------------------------------------------------------


Entry = tuple[str, datetime | None]  # an absolute URL, when it last changed


@page
async def sitemap(request: Request) -> Response:
    """The sitemap; past the protocol's 50,000 URLs, an index of numbered sitemaps."""
    parts = split(await _entries(request))
    if len(parts) == 1:
        return _xml(urlset(parts[0]))
    links = [urls.absolute(request, "sitemap_part", part=n) for n in range(1, len(parts) + 1)]
    return _xml(sitemap_index(links))


@page
async def sitemap_part(request: Request) -> Response:
    parts = split(await _entries(request))
    number = path_int(request, "part")
    if len(parts) == 1 or not 1 <= number <= len(parts):
        raise NotFound("The page you asked for does not exist or was moved.")
    return _xml(urlset(parts[number - 1]))


def split(entries: list[Entry], per: int = MAX_URLS) -> list[list[Entry]]:
    """The entries in sitemaps of `per` URLs at most (one, maybe empty, at least)."""
    return [entries[i : i + per] for i in range(0, len(entries), per)] or [[]]


async def _entries(request: Request) -> list[Entry]:
    pages = await public_pages.of_site(database(request))
    newest = max((at for _, at in pages.editions), default=None)
    found: list[Entry] = [(urls.absolute(request, "home"), newest)]
    found += [(urls.absolute(request, "edition", slug=s), at) for s, at in pages.editions]
    found += [(urls.absolute(request, "programme", slug=s), at) for s, at in pages.editions]
    found += [
        (urls.absolute(request, "booth", slug=s, booth_id=b), at) for s, b, at in pages.booths
    ]
    offer = _by_id(request, "offer", "offer_id")  # one URL built, not one per offer
    found += [(offer(o), at) for o, at in pages.offers]
    talk = _by_id(request, "webconference", "webconference_id")
    found += [(talk(w), at) for w, at in pages.webconferences]
    return found


def _by_id(request: Request, route: str, name: str) -> Callable[[int], str]:
    """The absolute URL of `route` for any id, from the route's URL built once."""
    marker = parse.MAX_ID  # a valid id no base URL holds
    before, after = urls.absolute(request, route, **{name: marker}).split(str(marker))
    return lambda value: f"{before}{value}{after}"


def urlset(entries: list[Entry]) -> str:
    body = "".join(_url(loc, at) for loc, at in entries)
    return f'{XML_HEAD}<urlset xmlns="{SITEMAP_NS}">\n{body}</urlset>\n'


def sitemap_index(links: list[str]) -> str:
    body = "".join(f"  <sitemap><loc>{escape(loc)}</loc></sitemap>\n" for loc in links)
    return f'{XML_HEAD}<sitemapindex xmlns="{SITEMAP_NS}">\n{body}</sitemapindex>\n'


def _xml(text: str) -> Response:
    return Response(text, media_type="application/xml", headers=PUBLIC)


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


# Changed only with the edition's offers version (fair.offers_version), the moment it closes
# (offer_feeds.closed_at: its offers leave the feeds) and what the request asks; the format's
# own version below changes with the code that writes them.
FEEDS_FORMAT = "1"


async def _offers_tag(request: Request, session: AsyncSession, edition: Edition) -> str | None:
    """The weak ETag of an offers feed's answer, read before its query (None without a
    version: the answer then goes without one)."""
    version = await offers_version.current(session, edition.id)
    if version is None:
        return None
    closed = offer_feeds.closed_at(edition)
    inputs = json.dumps(
        [
            FEEDS_FORMAT,
            request.url.path,
            sorted(request.query_params.multi_items()),
            settings.get().base_url,
            i18n.current_locale.get(),
            version,
            structured_data.listed(edition),
            closed.isoformat() if closed else "",
        ],
        separators=(",", ":"),
    )
    return 'W/"' + hashlib.blake2b(inputs.encode(), digest_size=16).hexdigest() + '"'


def _held(request: Request, tag: str | None, headers: dict[str, str]) -> Response | None:
    """304 when the reader holds `tag` (If-None-Match, compared weakly)."""
    if tag is None:
        return None
    held = {
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    }
    if tag.removeprefix("W/") in held or "*" in held:
        return Response(status_code=304, headers={**headers, "etag": tag})
    return None


@page
async def offers_atom(request: Request) -> Response:
    """The edition's newest offers as an Atom feed (feedgen); 304 when the reader's ETag is
    still the offers' (no offer read)."""
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    tag = await _offers_tag(request, session, edition)
    if (held := _held(request, tag, PUBLIC)) is not None:
        return held
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
    headers = {**PUBLIC, "etag": tag} if tag else PUBLIC
    return Response(xml, media_type="application/atom+xml; charset=utf-8", headers=headers)


@page
async def offers_changes(request: Request) -> Response:
    """The delta feed of the edition's offers: `?cursor=` from the previous pull (or
    `?since=` an ISO 8601 instant for the first), `?limit=` up to 500; 304 when the reader's
    ETag is still the offers' (a pull that would bring nothing new costs one small read)."""
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    tag = await _offers_tag(request, session, edition)
    no_cache = {"cache-control": "no-cache"}
    if (held := _held(request, tag, no_cache)) is not None:
        return held
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
    return JSONResponse(body, headers={**no_cache, "etag": tag} if tag else no_cache)


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
        "starts_on": offer.starts_on.isoformat() if offer.starts_on else None,
        "created_at": offer.created_at.isoformat(),
    }


routes = [
    Route("/sitemap.xml", sitemap, name="sitemap"),
    Route("/sitemap-{part:int}.xml", sitemap_part, name="sitemap_part"),
    Route("/robots.txt", robots, name="robots"),
    Route("/e/{slug}/programme.ics", programme_calendar, name="programme_calendar"),
    Route("/e/{slug}/booths/{booth_id:int}/talks.ics", booth_calendar, name="booth_calendar"),
    Route("/e/{slug}/offers.atom", offers_atom, name="offers_atom"),
    Route("/e/{slug}/offers/changes.json", offers_changes, name="offers_changes"),
]
