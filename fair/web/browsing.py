"""Public browsing pages served from a short cache: to anonymous visitors while their edition's
admission gate is engaged, to logged-in candidates at all times (the landing page and the hall).

When a fair is full (fair.admission: its gate engaged, under pressure), the pages everyone may
still browse (the edition's page, the booth hall, the offer search, the programme: `cached`)
are rendered once per URL and language every `FAIR_PAGE_CACHE_SECONDS` at most for anonymous
visitors, and served from this process's fair.page_cache.PageCache in between (requests for a
page being rendered wait for that render): a surge of visitors then costs one primary-key read
each (the edition's offers version, fair.offers_version: a page whose offers, booths or
edition changed is rendered afresh at once), not a render. While the gate is armed but not
engaged, every page is rendered for its visitor as at any other time.

What a kept page never carries: only a GET from a browser with no account session and no
message waiting to be shown (fair.web.flash) is served or kept; only a 200 rendered for nobody
(no user), with no cookie of its own, is kept. Every page holds a CSRF token (the language
form): the one printed is replaced by a random marker of this process in the page kept, and
the marker by the visitor's own token (masked afresh, fair.web.auth.csrf_token) in each page
served, so no visitor ever sees another's token; a first visit gets its session cookie as
usual. The booth and offer pages are not cached: each view of them is counted
(fair.activity). The programme's seats are at most the cache's seconds old.

Logged-in candidates, at all times (`shared`, under `page`, and before it without a unit of
work: the session from the live hub's cache; these pages never hold anyone at the admission
gate): the edition's page and its hall are rendered once
for every candidate while the edition's public version (fair.public_version: offers, booths,
staffing, queues, talks, branding) is the same, for `FAIR_PAGE_CACHE_SECONDS` at most (what
only the time of day changes: the countdown, whether the fair is open now). The page kept is
one candidate's render with what is theirs replaced by markers: the CSRF token, their id (the
`data-user-id` the live socket reads), the header's "Notices (n unread)" link, the moment
served (countdown.js's clock); each page served gets the viewer's own. What else of the viewer
a page shows is part of its key (the landing page: whether they take part). A page with a
message shown, a cookie set, or the renderer's name or e-mail address in it is not kept; a
candidate with a message waiting gets a page of their own.

A page kept for candidates missing (none yet, or past FAIR_PAGE_CACHE_SECONDS) is rendered the
page's way by the first candidate served without a session who finds it so (`_served_kept`
claims the render, fair.page_cache `claim`): those who come while it renders wait for that
render, not each render their own in a unit of work (issue 17: at an opening every candidate
arriving before the first render had reached its page rendered it too, each taking a
connection, every FAIR_PAGE_CACHE_SECONDS). The page's unit of work settles a claim it did not
(fair.web.auth: an error before the page), so nobody waits for a render that never comes.
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from fair import admission_gate, app_state, clock, i18n, metrics, offers_version, public_version
from fair.enums import Role
from fair.page_cache import Key, Page
from fair.web import flash, kept
from fair.web.auth import WITHOUT_SESSION, Handler, csrf_token, database
from fair.web.templating import fragment

MARKER = secrets.token_hex(20).encode()  # in place of the CSRF token in pages kept
USER = secrets.token_hex(20)  # in place of the viewer's id in pages kept for candidates
NOTICES = secrets.token_hex(20).encode()  # in place of their "Notices (n unread)" link
NOW = secrets.token_hex(20).encode()  # in place of the moment served (countdown.js's clock)
NOW_RE = re.compile(rb'data-now="[^"]*"')
SKIPPED = {"content-length", "set-cookie"}
CANDIDATES = "candidate"  # the key's audience: a page as every logged-in candidate sees it


def cached(handler: Handler) -> Handler:
    """Serve `handler`'s page (a `page` of an edition: `slug` in its path) from the cache to
    anonymous visitors while the edition's gate is on; else run it."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        version = await _version(request) if _anonymous(request) else None
        if version is None:
            return await handler(request)
        pages = app_state.of(request).pages
        key = (request.url.path + "?" + request.url.query, i18n.current_locale.get())
        now = clock.now().timestamp()
        found = pages.get(key, version=version, now=now)
        under_way = pages.renders.get(key)
        if found is None and under_way is not None:  # the same page is being rendered
            found = await asyncio.shield(under_way)
            found = found if found is not None and found.version == version else None
        if found is not None:
            metrics.PAGE_CACHE.labels("hit").inc()
            return _served(request, found)
        metrics.PAGE_CACHE.labels("miss").inc()
        if under_way is not None:  # that render could not be kept: one of one's own
            return await handler(request)
        return await _rendered_once(handler, request, key, _kept, version=version, now=now)

    return wrapper


# (request, edition id) -> a part of the key; None: this page is not kept (run the handler)
Variant = Callable[[Request, int], Awaitable[str | None]]
# The same without a read, from what is known of the viewer (fair.web.kept.Viewer)
Known = Callable[[Request, kept.Viewer], str | None]


def shared(
    variant: Variant | None = None, known: Known | None = None
) -> Callable[[Handler], Handler]:
    """Under `page`, for an edition's public page (`slug` in its path): serve a logged-in
    candidate the page kept for every candidate while the edition's public version
    (fair.public_version) is the same, their own parts put in (`_personal`); else run the
    handler, and keep what it rendered when nothing in it is one person's (`_kept_shared`).
    `variant(request, edition_id)` names what else of the viewer the page shows (the landing
    page: whether they take part), part of the key, or that the page is not to be kept (the
    hall filtered by free interview slots: bookings are not in the version).

    The kept page is served before any database connection is taken, gate or not (fair.web.auth
    WITHOUT_SESSION, `_served_kept`: the candidate from the live hub's session cache, the
    version and the viewer from fair.web.kept, stale by their documented seconds at most):
    `known(request, viewer)` is then `variant` worked out from what fair.web.kept knows of the
    viewer (a page with a `variant` and no `known` is not)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: Request) -> Response:
            pages = app_state.of(request).pages
            user = request.state.user
            if (
                pages.seconds <= 0
                or request.method != "GET"
                or user is None
                or user.role != Role.CANDIDATE
                or request.session.get(flash.KEY)
            ):
                return await handler(request)
            slug = request.path_params["slug"]
            found = await public_version.current(database(request), slug)
            if found is None:
                return await handler(request)
            kept.of(app_state.of(request)).put_version(slug, found)
            edition_id, version = found
            own = await variant(request, edition_id) if variant is not None else ""
            if own is None:
                return await handler(request)
            url = request.url.path + "?" + request.url.query
            key = (url, i18n.current_locale.get(), CANDIDATES, own)
            now = clock.now().timestamp()
            page = pages.get(key, version=version, now=now)
            if page is not None:
                metrics.PAGE_CACHE.labels("hit").inc()
                return _personal(request, page)
            metrics.PAGE_CACHE.labels("miss").inc()
            # Those served without a session meanwhile wait for this render (`_served_kept`),
            # not each render their own in a unit of work (every FAIR_PAGE_CACHE_SECONDS): the
            # render this request claimed there (`claimed`), else one of its own.
            return await _rendered_once(
                handler,
                request,
                key,
                _kept_shared,
                version=version,
                now=now,
                rendering=claimed(request, key),
            )

        if variant is None or known is not None:
            from_kept = functools.partial(_served_kept, known or _nothing_more)
            setattr(wrapper, WITHOUT_SESSION, from_kept)
        return wrapper

    return decorate


# (request, its response, the version, the moment) -> the page to keep, or None: not kept
Keep = Callable[[Request, Response, str, float], Page | None]


async def _rendered_once(
    handler: Handler,
    request: Request,
    key: Key,
    keep: Keep,
    *,
    version: str,
    now: float,
    rendering: asyncio.Future[Page | None] | None = None,
) -> Response:
    """`handler`'s response, its page kept under `key` when `keep` gives one; those asking
    for `key` meanwhile wait for this render (fair.page_cache `claim`/`settle`: the page kept,
    or None): `rendering`, the render this request claimed already (`claimed`), else one
    claimed here unless another was under way (no one waits for this one then)."""
    pages = app_state.of(request).pages
    if rendering is None and key not in pages.renders:
        rendering = pages.claim(key)
    page = None
    try:
        response = await handler(request)
        page = keep(request, response, version, now)
        if page is not None:
            pages.put(key, page)
    finally:
        if rendering is not None:
            pages.settle(key, rendering, page)
    return response


def _nothing_more(_request: Request, _viewer: kept.Viewer) -> str:
    return ""


async def _served_kept(known: Known, request: Request) -> Response | None:
    """The page kept for every candidate, for the candidate fair.web.gate `decide` (the
    edition's gate engaged) or fair.web.auth (any other time) found from the live hub's session
    cache, without a database session (fair.web.kept: the version and the viewer), or the one
    being rendered the page's way now once it is; None when it is not kept, or the viewer has
    a message waiting: the page's way then."""
    pages, user = app_state.of(request).pages, request.state.user
    if pages.seconds <= 0 or request.session.get(flash.KEY):
        return None
    facts = kept.of(app_state.of(request))
    found = await facts.version(request.path_params["slug"])
    if found is None:
        return None
    edition_id, version = found
    viewer = await facts.viewer(user.id, edition_id)
    own = known(request, viewer)
    if own is None:
        return None
    key = (request.url.path + "?" + request.url.query, i18n.current_locale.get(), CANDIDATES, own)
    page = pages.get(key, version=version, now=clock.now().timestamp())
    under_way = pages.renders.get(key) if page is None else None
    if page is None and under_way is None:  # the first to miss it renders it the page's way
        request.state.kept_claim = (key, pages.claim(key))
        return None
    if under_way is not None:  # rendered the page's way just now: its page, when kept
        page = await asyncio.shield(under_way)
    if page is None or page.version != version:
        return None
    metrics.PAGE_CACHE.labels("hit").inc()
    request.state.unread_notices = viewer.unread
    return _personal(request, page)


def claimed(request: Request, key: Key) -> asyncio.Future[Page | None] | None:
    """The render of the page kept under `key` that this request claimed (`_served_kept`)."""
    found = getattr(request.state, "kept_claim", None)
    return found[1] if found is not None and found[0] == key else None


def _notices(request: Request, unread: int) -> bytes:
    return fragment(request, "_notices_link.html", unread_notices=unread).encode()


def _kept_shared(request: Request, response: Response, version: str, now: float) -> Page | None:
    """The candidate's page to keep for every candidate: their CSRF token, id and notices
    link replaced by markers (each found exactly once), and the moment it was rendered
    (`data-now`); None when it may not be kept (an
    error, a cookie of its own, a message shown, their name or e-mail address in it)."""
    shown = getattr(request.state, "csrf_shown", None)
    user = request.state.user
    if (
        type(response) is not HTMLResponse
        or response.status_code != 200
        or "set-cookie" in response.headers
        or not shown
        or getattr(request.state, "flashes_shown", True)
    ):
        return None
    body = bytes(response.body)
    attribute = f' data-user-id="{user.id}"'.encode()
    notices = _notices(request, request.state.unread_notices)
    if body.count(attribute) != 1 or body.count(notices) != 1:
        return None
    if any(text and text.encode() in body for text in (user.name, user.email)):
        return None
    body = body.replace(shown.encode(), MARKER).replace(notices, NOTICES)
    body = body.replace(attribute, f' data-user-id="{USER}"'.encode())
    body = NOW_RE.sub(b'data-now="' + NOW + b'"', body)
    headers = tuple((k, v) for k, v in response.headers.items() if k not in SKIPPED)
    return Page(now, version, response.status_code, headers, body)


def _personal(request: Request, page: Page) -> Response:
    """A page kept for candidates with the viewer's own token, id and notices link in it, and
    the moment it is served (countdown.js sets its clock by it)."""
    user = request.state.user
    body = page.body.replace(MARKER, csrf_token(request).encode())
    body = body.replace(NOTICES, _notices(request, request.state.unread_notices))
    body = body.replace(USER.encode(), str(user.id).encode())
    body = body.replace(NOW, clock.now().isoformat().encode())
    return Response(body, status_code=page.status, headers=dict(page.headers))


def _anonymous(request: Request) -> bool:
    session = request.session
    return request.method == "GET" and not session.get("sid") and not session.get(flash.KEY)


async def _version(request: Request) -> str | None:
    """The version of the page's edition while its gate is engaged ("" when it has none),
    else None. The armed editions, and whether their gate is engaged, are read once every few
    seconds per process (fair.admission_gate)."""
    state = app_state.of(request)
    if state.pages.seconds <= 0:
        return None
    now = clock.now()
    # A session only to read what this process has not read a moment ago: most pages are
    # served with the gate disengaged (opening and closing one cost 50 µs).
    gates = admission_gate.armed_cached(now)
    if gates is None:
        async with state.read_sessions() as session:
            gates = await admission_gate.armed(session, now)
    gate = next((g for g in gates if g.slug == request.path_params.get("slug")), None)
    line = admission_gate.line_of(state.broadcast.client(), state.broadcast.namespace)
    if gate is None or not await admission_gate.engaged(line, gate, now):
        return None
    async with state.read_sessions() as session:
        return await offers_version.current(session, gate.edition_id) or ""


def _kept(request: Request, response: Response, version: str, now: float) -> Page | None:
    """The page to keep, the CSRF token it shows replaced by the marker; None when it may not
    be kept (an error, a page for someone, a cookie of its own)."""
    shown = getattr(request.state, "csrf_shown", None)
    if (
        type(response) is not HTMLResponse
        or response.status_code != 200
        or request.state.user is not None
        or "set-cookie" in response.headers
        or not shown
    ):
        return None
    headers = tuple((k, v) for k, v in response.headers.items() if k not in SKIPPED)
    body = bytes(response.body).replace(shown.encode(), MARKER)
    return Page(now, version, response.status_code, headers, body)


def _served(request: Request, page: Page) -> Response:
    """A kept page with the visitor's own CSRF token in it."""
    body = page.body.replace(MARKER, csrf_token(request).encode())
    return Response(body, status_code=page.status, headers=dict(page.headers))
