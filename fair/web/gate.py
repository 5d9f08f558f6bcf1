"""The admission gate on pages (fair.admission, fair.admission_gate).

`check` runs in every page's unit of work (fair.web.auth.page), once the user is known: a
candidate the gate holds is sent to the edition's waiting page (fair.web.admission; a 503 with
Retry-After for a script asking for JSON; 503 with Retry-After too when the line is full or
out of reach, fair.admission.Full); `finish` puts the renewed or new cookie on the answer.

A form sent (POST: applying, joining a queue, booking an interview) is never redirected to the
waiting page, which would lose what the candidate typed: a candidate who holds a place (the
cookie, or the line lets them in now, taking the place they were waiting in) or is exempt goes
through; one the gate holds gets a 503 with Retry-After (`NotSent`, in their language) saying
that the fair is full, that what they sent was not saved, their place in line (taken by this
request), and that their browser's back button keeps what they typed to send it again once let
in. Nothing of the request is written (the unit of work rolls back on an error). The form is not
kept server-side: it may hold a file, and replaying it later would act without them.

A page without the edition's slug in its path that names an offer, a booth or a talk passes the
gate of that thing's edition (applying, joining a queue and signing up for a talk register the
candidate to it: admission_gate.in_path), not that of an edition they were registered to.

Public browsing (the edition's page, booths, offers, programme), accounts and the waiting page
are never held (`OPEN_MODULES`, `OPEN_PAGES`): they stay open when the fair is full, and the
browsing pages are then served to anonymous visitors from a short cache (fair.web.browsing).
Below fair.web.auth (which calls it): it reads the request's session itself.
"""

from __future__ import annotations

import logging
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fair import admission, admission_gate, app_state, clock, i18n, metrics, settings
from fair.enums import Role
from fair.errors import FairError
from fair.web import urls

log = logging.getLogger("fair.admission")

REFRESH = 15  # seconds: the Retry-After of a held request and of the waiting page
OPEN_MODULES = {
    "fair.web.public",
    "fair.web.landing",
    "fair.web.accounts",
    "fair.web.privacy",
    "fair.web.admission",
}
OPEN_PAGES = {"fair.web.webconferences.programme", "fair.web.webconferences.webconference_page"}
NOT_REACHED = i18n.N_(
    "The waiting line cannot be reached just now. Please try again in a few seconds."
)


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class NotSent(FairError):
    """A form sent by a candidate the gate holds: not saved (module doc), come back later."""

    status = 503
    code = "admission.not_sent"

    def __init__(self, place: admission.Place) -> None:
        if place.drawn:
            message = i18n.N_(
                "The fair opens in a few minutes and places are drawn at random at opening, so "
                "what you sent was not saved. Go back: your browser keeps what you typed. Send "
                "it again once the fair has let you in."
            )
        else:
            message = i18n.N_(
                "The fair is full right now, so what you sent was not saved. You are number "
                "%(num)s in line, out of %(waiting)s. Go back: your browser keeps what you "
                "typed. Send it again once you are let in (the fair's waiting page tells you "
                "when)."
            )
        params = {"num": place.position, "waiting": place.waiting}
        super().__init__(message, params=params)
        self.retry_after = REFRESH


def _module(request: Request) -> str:
    return str(getattr(request.scope.get("endpoint"), "__module__", ""))


def _open(request: Request) -> bool:
    endpoint = request.scope.get("endpoint")
    module = _module(request)
    return module in OPEN_MODULES or f"{module}.{getattr(endpoint, '__name__', '')}" in OPEN_PAGES


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def check(request: Request) -> Response | None:
    """None when the request may go on; else where a held candidate goes."""
    user = request.state.user
    if user is None or user.role != Role.CANDIDATE or _open(request):
        return None
    held = await standing(request, request.path_params.get("slug"))
    if held is None:
        return None
    gate, place = held
    if request.method not in SAFE_METHODS:  # never lose a form (module doc)
        raise NotSent(place)
    if _wants_json(request):
        body = {"error": {"code": "admission.waiting", "message": place_text(place)}}
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(REFRESH)})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return urls.redirect(request, "admission_waiting", slug=gate.slug, query={"next": target})


async def standing(
    request: Request, slug: str | None
) -> tuple[admission_gate.Gate, admission.Place] | None:
    """The gate holding the candidate and their place in its line; None when they may go on
    (no gate armed, let in already or now, never held). A gate not engaged lets them in at
    once, counted (and the cookie given: their next pages need no line); before opening, with
    too few arrivals to press a cap, they go on with their drawn place and no cookie (all let
    in by the first arrival at opening); with its line out of reach, uncounted (fail open:
    nobody waits while nothing presses)."""
    user, now = request.state.user, clock.now()
    session: AsyncSession = request.state.db
    gate = await _gate(request, session, slug, now)
    if gate is None or await passes(request, gate):
        return None
    engaged = await admission_gate.engaged(_line(request), gate, now)
    if engaged and await admission_gate.exempt(session, user, now):
        return None
    try:
        place = await arrive(request, gate)
    except admission.Full as exc:
        if engaged or exc.code != "admission.unavailable":
            raise
        return None
    if place.admitted or not place.engaged:  # not engaged: before opening, too few to press
        return None
    if not engaged and await admission_gate.exempt(session, user, now):
        return None
    return gate, place


async def _gate(
    request: Request, session: AsyncSession, slug: str | None, now: datetime
) -> admission_gate.Gate | None:
    """The armed gate of this page (`slug`, or the edition of the offer, booth or talk in its path:
    admission_gate.in_path), else the one the candidate's cookie names (no read of their
    registrations), else that of the first armed edition they are registered to."""
    if slug is None:
        gates = await admission_gate.armed(session, now)
        if not gates:
            return None
        partner = _module(request) == "fair.web.network"  # its offer_id: a partner's offer
        edition_id = await admission_gate.in_path(session, request.path_params, partner=partner)
        if edition_id is not None:
            return next((g for g in gates if g.edition_id == edition_id), None)
        raw = request.cookies.get(admission_gate.COOKIE)
        found = admission_gate.admitted_to(raw, request.state.user.id, gates, now)
        if found is not None:
            return next(g for g in gates if g.edition_id == found)
    return await admission_gate.gate_for(session, request.state.user, now, slug=slug)


async def passes(request: Request, gate: admission_gate.Gate) -> bool:
    """Whether the candidate holds a valid cookie of this gate (renewed when due: the line
    told they are active; with the line out of reach they stay in all the same)."""
    now = clock.now()
    edition_id, age = admission_gate.read_token(
        request.cookies.get(admission_gate.COOKIE),
        user_id=request.state.user.id,
        idle=gate.caps.idle,
        now=now,
    )
    if edition_id != gate.edition_id:
        return False
    if age >= admission_gate.renew_after(gate.caps.idle):
        try:
            await _line(request).touch(gate.edition_id, request.state.user.id, now=now.timestamp())
        except (RedisError, OSError) as exc:  # fail open for people let in
            log.warning("admission: renewing a place without the line: %r", exc)
        _set_cookie(request, gate)
    return True


def _line(request: Request) -> admission.Line:
    broadcast = app_state.of(request).broadcast
    return admission_gate.line_of(broadcast.client(), broadcast.namespace)


async def arrive(request: Request, gate: admission_gate.Gate) -> admission.Place:
    """The candidate's place (let in: the cookie set on the answer); Full is a 503."""
    now = clock.now()
    try:
        place = await admission_gate.take_place(_line(request), gate, request.state.user.id, now)
    except admission.Full:
        metrics.ADMISSION_REJECTED.labels("full").inc()
        raise
    except (RedisError, OSError) as exc:
        log.warning("admission: the line is out of reach: %r", exc)
        metrics.ADMISSION_REJECTED.labels("unavailable").inc()
        raise admission.Full(NOT_REACHED, code="admission.unavailable", retry_after=10) from exc
    admission_gate.note(gate, place, now)
    if place.admitted:
        metrics.ADMISSION_ADMITTED.inc()
        _set_cookie(request, gate)
    else:
        metrics.ADMISSION_HELD.inc()
    return place


def _set_cookie(request: Request, gate: admission_gate.Gate) -> None:
    request.state.admission_cookie = (
        admission_gate.token(gate.edition_id, request.state.user.id, clock.now()),
        int(gate.caps.idle),
    )


def finish(request: Request, response: Response) -> None:
    """Put the cookie `check` or the waiting page decided on the answer."""
    found = getattr(request.state, "admission_cookie", None)
    if found is not None:
        value, max_age = found
        response.set_cookie(
            admission_gate.COOKIE,
            value,
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=settings.get().secure_cookies,
        )


def place_text(place: admission.Place) -> str:
    if place.drawn:
        return i18n.gettext(
            "You are in line. Places are drawn at random when the fair opens: arriving "
            "earlier or refreshing gives no advantage."
        )
    return i18n.ngettext(
        "You are number %(num)s in line, out of %(waiting)s.",
        "You are number %(num)s in line, out of %(waiting)s.",
        place.position,
        num=place.position,
        waiting=place.waiting,
    )
