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
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fair import admission, admission_gate, app_state, clock, editions, i18n
from fair.enums import Role
from fair.web import gate, urls
from fair.web.accounts import safe_next
from fair.web.auth import database, json_page, page, require_user
from fair.web.templating import render

POLL = gate.REFRESH  # seconds between two status requests of the page's script, about
JITTER = 3  # seconds: each wait between two of them is drawn in POLL ± JITTER (at most 18 s)


# The waiting page ------------------------------------------------------------------------------


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return i18n.gettext("less than a minute")
    minutes = math.ceil(seconds / 60)
    return i18n.ngettext("about %(num)s minute", "about %(num)s minutes", minutes, num=minutes)


def _wait_text(place: admission.Place) -> str:
    if place.drawn:
        return i18n.gettext("The estimated wait will show once the fair opens.")
    wait = place.wait_seconds
    if wait is None:
        return i18n.gettext(
            "The line has not moved over the last 5 minutes, so no wait can be estimated yet."
        )
    if place.at_least:  # the earliest the places can free up: their holders may stay longer
        return i18n.gettext(
            "Estimated wait: %(wait)s or more (those let in may stay longer).",
            wait=_minutes(wait),
        )
    if not place.rate:  # from the places' expiry times or the per-minute cap's pace alone
        return i18n.gettext("Estimated wait: %(wait)s.", wait=_minutes(wait))
    return i18n.gettext(
        "Estimated wait: %(wait)s (pace of admissions lately: %(rate)s a minute).",
        wait=_minutes(wait),
        rate=i18n.decimal(place.rate * 60),  # "1,5" in French
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
    return _status_answer(place, target)


def _status_answer(place: admission.Place | None, target: str) -> Response:
    if place is None:
        return JSONResponse({"admitted": True, "next": target})
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
    response = _status_answer(place, target)
    gate.finish(request, response)  # the cookie, when let in or renewed
    return response


routes = [
    Route("/e/{slug}/waiting", waiting, name="admission_waiting"),
    Route("/e/{slug}/waiting/status", status, name="admission_status"),
]
