"""The waiting page of an edition's admission line (fair.admission): the candidate's place and
an honest estimated wait, the rate in the reader's number format. With JavaScript it is
updated in place about every `POLL` seconds through `admission_status` (static/admission.js:
POLL ± JITTER at random, so that those who arrived together do not ask together); without
it, a "Refresh now" link asks again (the place is kept `admission.WAIT_IDLE` seconds between
two asks). No meta refresh: a page reloading by itself fails WCAG 2.2.1 (axe "meta-refresh").
The page and a held request answer `Retry-After: gate.REFRESH`, the same POLL. Once let in,
the candidate goes on to the page they asked for (`next`).

Holding costs far less than serving (issue 17): a candidate's ask while their edition's gate
is armed never takes a unit of work (`_held_status`): their session from the live hub's cache
(fair.app_state.SessionCheck, fair.live.hub: one read for the asks and sockets of a moment,
kept 30 s, revocations heard at once), the armed gates and their pressure (fair.admission_gate's
caches; read again every few seconds by one caller on a session of its own), whether they are
exempt (kept `admission_gate.EXEMPT_SECONDS`, else one read), then one Redis script for their
place (fair.web.gate `held_at`, as a page decides). Anything else (no gate armed for the
edition, no valid session, staff) goes the page's way (`_status`).

The script's asks (JSON) come in through `Shortcut`, right inside fair.web.ops (their id,
count and latency) and past the rest of the stack: ~9,500 held candidates asking every 15 s
are ~630 asks a second on two cores, and the stack (security headers, gzip, language,
session, body limit, exception middleware, the router trying every route: ~130 us of CPU an
ask in process, of ~900) is paid by each for nothing the answer needs. It reads the
session and language cookies as those layers do, answers with the security headers, and
hands anything it cannot answer (`_held_status` None, an error, not JSON) down the stack.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fair import admission, admission_gate, app_state, clock, editions, i18n, scope_cookies
from fair.enums import Role
from fair.web import gate, middleware, urls
from fair.web.accounts import safe_next
from fair.web.auth import database, json_page, page, require_user
from fair.web.templating import render

POLL = gate.REFRESH  # seconds between two status requests of the page's script, about
JITTER = 3  # seconds: each wait between two of them is drawn in POLL ± JITTER (at most 18 s)


# The waiting page ------------------------------------------------------------------------------


def _wait_text(place: admission.Place) -> str:
    """The wait shown, in the reader's language: one text per minute of wait and pace, made
    once and shared by everyone shown it (`_wait_words`), not formatted on every ask."""
    return _wait_words(i18n.current_locale.get(), *_wait_kind(place))


def _wait_kind(place: admission.Place) -> tuple[str, int, float]:
    """What the text says: its kind, the minutes of wait (0: under a minute) and the pace in
    admissions a minute, to the tenth shown (0.0: none)."""
    if place.drawn:
        return "drawn", 0, 0.0
    wait = place.wait_seconds
    if wait is None:
        return "unknown", 0, 0.0
    minutes = 0 if wait < 60 else math.ceil(wait / 60)
    if place.at_least:  # the earliest the places can free up: their holders may stay longer
        return "floor", minutes, 0.0
    if not place.rate:  # from the places' expiry times or the per-minute cap's pace alone
        return "estimate", minutes, 0.0
    return "paced", minutes, round(place.rate * 60, 1)


@functools.lru_cache(maxsize=4096)
def _wait_words(locale: str, kind: str, minutes: int, rate: float) -> str:
    if kind == "drawn":
        return i18n.gettext("The estimated wait will show once the fair opens.", locale)
    if kind == "unknown":
        return i18n.gettext(
            "The line has not moved over the last 5 minutes, so no wait can be estimated yet.",
            locale,
        )
    if minutes == 0:
        wait = i18n.gettext("less than a minute", locale)
    else:
        wait = i18n.ngettext(
            "about %(num)s minute", "about %(num)s minutes", minutes, locale, num=minutes
        )
    if kind == "floor":
        return i18n.gettext(
            "Estimated wait: %(wait)s or more (those let in may stay longer).", locale, wait=wait
        )
    if kind == "estimate":
        return i18n.gettext("Estimated wait: %(wait)s.", locale, wait=wait)
    return i18n.gettext(
        "Estimated wait: %(wait)s (pace of admissions lately: %(rate)s a minute).",
        locale,
        wait=wait,
        rate=i18n.decimal(rate, locale=locale),  # "1,5" in French
    )


async def _standing(request: Request) -> tuple[admission.Place | None, str]:
    """The candidate's place in the edition's line (None: let in or never held), and where
    they go once in. The edition is known to exist without a read when its gate is armed (the
    armed editions are cached: admission_gate.armed), as it is while people wait."""
    require_user(request)
    slug = request.path_params["slug"]
    session = database(request)
    if all(g.slug != slug for g in await admission_gate.armed(session, clock.now())):
        await editions.public_id(session, slug)  # NotFound
    target = safe_next(request.query_params.get("next"), urls.path(request, "edition", slug=slug))
    held = await gate.standing(request, "slug")  # this edition's line, its slug in the path
    return (None if held is None else held[1]), target


def _context(place: admission.Place, target: str) -> dict[str, Any]:
    return {
        "place": place,
        "place_text": gate.place_text(place),
        "wait_text": _wait_text(place),
        "next": target,
        "refresh": gate.REFRESH,
        "poll": POLL,
        "jitter": JITTER,
        "no_socket": True,  # held, the socket would be refused (base.html)
    }


@page
async def waiting(request: Request) -> Response:
    place, target = await _standing(request)
    if place is None:
        response: Response = urls.see_other(target)
    else:
        response = render(request, "public/waiting.html", _context(place, target))
        response.headers["Retry-After"] = str(gate.REFRESH)
    return response


async def status(request: Request) -> Response:
    """The candidate's place, for the waiting page's script: `_held_status` when it can
    answer from what this process knows, else `_status` in a unit of work."""
    answer = await _held_status(request)
    return answer if answer is not None else await _status(request)


@json_page
async def _status(request: Request) -> Response:
    place, target = await _standing(request)
    return _status_answer(place, target, getattr(request.state, "admitted_at", None))


def _status_answer(
    place: admission.Place | None, target: str, admitted_at: float | None = None
) -> Response:
    if place is None:
        # When the line let them in (fair.clock's time, seconds since the epoch), when this
        # ask found them let in: a page that asks every 15 s learns it that much later, and
        # bench/surge.py measures the wait they had to that moment, not to its ask.
        return JSONResponse({"admitted": True, "next": target, "admitted_at": admitted_at})
    context = _context(place, target)
    body = {key: context[key] for key in ("place_text", "wait_text", "next")}
    body |= {"admitted": False, "position": place.position, "waiting": place.waiting}
    body["wait_seconds"] = place.wait_seconds
    # A floor: the earliest the line can let them in, not an estimate (holders present, no
    # pace measured yet: "or more" in `wait_text`); bench/surge.py leaves it out of the ETA
    # error, which measures estimates.
    body["floor"] = place.at_least
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def _held_status(request: Request) -> Response | None:
    """The answer to a candidate whose edition's gate is armed, without a unit of work
    (module doc): held, their place; let in (a valid cookie, exempt, or now), where to go.
    None when something must be read the page's way (`_status`): no gate armed for this slug
    (nobody is held: the edition to find, or NotFound), no valid session, staff."""
    now = clock.now()
    slug = request.path_params["slug"]
    state = app_state.of(request)
    gates = await admission_gate.armed_now(state.read_sessions, now)
    gate_ = next((g for g in gates if g.slug == slug), None)
    if gate_ is None:
        return None
    found = await state.sessions.authenticate(state, request.session)
    if found is None or found[0].role != Role.CANDIDATE:
        return None
    user = request.state.user = found[0]
    # admission.Full: a 503 with Retry-After
    place = await gate.held_at(request, gate_, lambda: gate.exempt_now(state, user, now))
    target = safe_next(request.query_params.get("next"), urls.path(request, "edition", slug=slug))
    response = _status_answer(place, target, getattr(request.state, "admitted_at", None))
    gate.finish(request, response)  # the cookie, when let in or renewed
    return response


STATUS_PATH = re.compile(r"/e/([^/]+)/waiting/status")


class Shortcut:
    """The held status's way in, past the stack (module doc): a GET of `admission_status`
    asking for JSON (the waiting page's script) is answered by `_held_status` when it can;
    anything else goes down the stack. The session cookie is read as SessionMiddleware reads
    it (the same cookie, secret and max age) and never written back: the answer changes no
    session."""

    def __init__(self, app: ASGIApp, *, secret_key: str, session_cookie: str, max_age: int) -> None:
        self.app = app
        self.sessions = scope_cookies.Sessions(
            secret_key=secret_key, session_cookie=session_cookie, max_age=max_age
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _status_asked(scope)
        response = None if found is None else await self._answer(scope, receive, found)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, slug: str) -> Response | None:
        cookies = scope_cookies.cookies_of(scope)
        session = self.sessions.of(cookies)
        if not session.get("sid"):
            return None
        app = scope["app"]
        ours = {"session": session, "path_params": {"slug": slug}, "endpoint": status}
        request = Request({**scope, **ours, "router": app.router}, receive)
        token = i18n.current_locale.set(scope_cookies.locale_of(cookies))
        try:
            response = await _held_status(request)
        except Exception as exc:  # answered as the stack answers it (fair/app.py's handlers)
            handler = _handler_of(app, exc)
            if handler is None:  # pragma: no cover - fair/app.py handles Exception
                raise
            response = await handler(request, exc)
        finally:
            i18n.current_locale.reset(token)
        if response is not None:
            scope.update(ours)  # fair.web.ops counts it under its route
            private = getattr(request.state, "user", None) is not None
            response.raw_headers = middleware.secured(response.raw_headers, private=private)
        return response


def _handler_of(app: Any, exc: Exception) -> Any:
    """The app's exception handler for `exc` (its class's, else its nearest base's): the
    line full (admission.Full), every connection taken (a 503 with Retry-After), ..."""
    handlers = app.exception_handlers
    return next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)


def _status_asked(scope: Scope) -> str | None:
    """The slug of a GET of `admission_status` asking for JSON (not HTML), else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    found = STATUS_PATH.fullmatch(scope["path"])
    if found is None:
        return None
    accept = next((v for n, v in scope["headers"] if n == b"accept"), b"")
    if b"application/json" not in accept or b"text/html" in accept:
        return None
    return unquote(found[1])


routes = [
    Route("/e/{slug}/waiting", waiting, name="admission_waiting"),
    Route("/e/{slug}/waiting/status", status, name="admission_status"),
]
