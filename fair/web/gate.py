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

Which edition's gate a page passes is declared once, for every page (`declared`): a path
parameter of a kind of fair.edition_keys.KINDS names the thing it acts on (the edition's slug
or id, a booth, an offer, a partner's offer, a talk, an application, an interview invitation,
an interview, a conversation, a place in a queue): the gate of that thing's edition, whatever
edition the cookie names or the candidate was registered to first (applying, booking or joining
a queue in a full fair past its line through another edition's admission). A candidate's own
pages, of no one edition (`OWN_PAGES`: their profile, their lists across editions), pass the
gate of the edition their cookie names, else the gate that judges their socket
(fair.admission_gate `judge`): that of an armed edition the line lets them in to already (a
page of theirs there on another device: let in, its cookie given), else that of the first armed
edition they are registered to. Public browsing (the edition's page, booths, offers, programme,
feeds, widgets), accounts, the waiting page, leaving a queue or a waiting list (it frees a
place) and the mails' stop links (unsubscribing, or switching the alert on again from there:
the link's token alone does it, logged in or not) are never held (`OPEN_MODULES`,
`OPEN_PAGES`): they stay open when the fair is full, and the browsing pages are then served to
anonymous visitors from a short cache (fair.web.browsing). Staff's pages (`STAFF_MODULES`,
`STAFF_PAGES`) hold nobody: a candidate is refused there. tests/test_gate_routes.py checks that
every page of the app is declared.
Below fair.web.auth (which calls it): it reads the request's session itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fair import (
    admission,
    admission_gate,
    app_state,
    clock,
    db,
    edition_keys,
    i18n,
    metrics,
    settings,
)
from fair.enums import Role
from fair.errors import FairError
from fair.models import User
from fair.web import kept, urls

log = logging.getLogger("fair.admission")

REFRESH = 15  # seconds: the Retry-After of a held request and of the waiting page
OPEN = "open"  # never held (the module's docstring)
STAFF = "staff"  # staff's: nobody held (a candidate is refused by the page itself)
OWN = "own"  # a candidate's own page, of no one edition
OPEN_MODULES = {
    "fair.web.public",
    "fair.web.landing",
    "fair.web.accounts",
    "fair.web.privacy",
    "fair.web.admission",
    "fair.web.feeds",  # the sitemap, calendars and feeds of the public pages
    "fair.web.embeds",  # the public pages' widgets, for other sites
}
OPEN_PAGES = {
    # Leaving a booth's queue or an interview's waiting list frees a place (as the socket's
    # queue.leave, fair.live.booth_commands EDITION_OF), and a mail's stop link must work during
    # a surge: never held.
    "fair.web.desk.leave",
    "fair.web.interviews.waitlist_leave",
    "fair.web.matches.stop_mine",
    "fair.web.matches.stop_by_link",
    "fair.web.matches.resume_by_link",  # the stop page's undo: the link's token, nothing of a fair
    "fair.web.pool.stop_reminders",
    "fair.web.webconferences.programme",
    "fair.web.webconferences.webconference_page",
    "fair.web.counsellor.code_login",  # an account's first password, as fair.web.accounts
    "fair.web.styleguide.styleguide",  # the design system's page (development only)
}
STAFF_MODULES = {
    "fair.web.recruiter",
    "fair.web.recruiter_profile",
    "fair.web.organiser",
    "fair.web.dashboard",
    "fair.web.activity",
    "fair.web.compare",
    "fair.web.panel",
    "fair.web.health",
    "fair.web.api_keys",
    "fair.web.admin",
    "fair.web.branding",
    "fair.web.webhooks",
    "fair.web.exports",
    "fair.web.structures",
    "fair.web.network_pool",
    "fair.web.counsellor",  # but its OWN_PAGES and code_login
}
STAFF_PAGES = {
    "fair.web.pool.search_page",
    "fair.web.pool.requests_page",
    "fair.web.pool.profile_page",
    "fair.web.pool.ask",
    "fair.web.pool.pool_cv",
    "fair.web.interviews.slot_withdraw",
}
OWN_PAGES = {
    "fair.web.candidate.profile_page",
    "fair.web.candidate.priority_page",
    "fair.web.candidate.my_cv",
    "fair.web.candidate.my_applications",
    "fair.web.candidate.notices_page",
    "fair.web.matches.offers_for_you",
    "fair.web.matches.subscribe",
    "fair.web.pool.my_pool",
    "fair.web.pool.give",
    "fair.web.pool.renew",
    "fair.web.pool.withdraw",
    "fair.web.pool.answer",
    "fair.web.counsellor.mine",
    "fair.web.counsellor.consent",
    "fair.web.counsellor.end_mine",
    "fair.web.my_fair.my_fair_current",
    "fair.web.interviews.my_interviews",
    "fair.web.interviews.calendar_link",
    "fair.web.outcomes.my_job_reports",
}
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


def declared(endpoint: object, params: Iterable[str]) -> str | None:
    """How the gate finds the edition of the page `endpoint` with path `params` (the module's
    docstring): OPEN, STAFF, OWN, or the kind of the parameter that names its edition's thing
    (fair.edition_keys.first); None when the page declares none (tests/test_gate_routes.py
    finds none; `check` takes it for OWN)."""
    module = str(getattr(endpoint, "__module__", ""))
    page = f"{module}.{getattr(endpoint, '__name__', '')}"
    for pages, how in ((OPEN_PAGES, OPEN), (STAFF_PAGES, STAFF), (OWN_PAGES, OWN)):
        if page in pages:
            return how
    if module in OPEN_MODULES:
        return OPEN
    if module in STAFF_MODULES:
        return STAFF
    return edition_keys.first(params)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def check(request: Request) -> Response | None:
    """None when the request may go on; else where a held candidate goes."""
    user = request.state.user
    if user is None or user.role != Role.CANDIDATE:
        return None
    how = declared(request.scope.get("endpoint"), request.path_params) or OWN
    if how in (OPEN, STAFF):
        return None
    if getattr(request.state, "gate_decided", False):  # let in by `decide`, the cookie given
        return None
    found = await standing(request, how)
    if found is None:
        return None
    gate, place = found
    if request.method not in SAFE_METHODS:  # never lose a form (module doc)
        raise NotSent(place)
    return held(request, gate, place)


def held(request: Request, gate: admission_gate.Gate, place: admission.Place) -> Response:
    """The answer to a GET of a candidate the gate holds: the waiting page (to come back to
    the page asked for), or a 503 with Retry-After for a script asking for JSON."""
    if _wants_json(request):
        body = {"error": {"code": "admission.waiting", "message": place_text(place)}}
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(REFRESH)})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return urls.redirect(request, "admission_waiting", slug=gate.slug, query={"next": target})


async def standing(
    request: Request, how: str
) -> tuple[admission_gate.Gate, admission.Place] | None:
    """The gate holding the candidate and their place in its line; None when they may go on
    (no gate armed, let in already or now, never held). `how`: the page's OWN or the kind of
    its path parameter naming the edition (`declared`); the rest as `held_at` says."""
    user, now = request.state.user, clock.now()
    session: AsyncSession = request.state.db
    judged = await _gate(request, session, how, now)
    if judged is None:
        return None
    gate, let_in = judged
    if let_in:  # the line keeps them active there (admission_gate.judge): its cookie
        _set_cookie(request, gate)
        return None
    place = await held_at(request, gate, lambda: admission_gate.exempt(session, user, now))
    return None if place is None else (gate, place)


async def held_at(
    request: Request, gate: admission_gate.Gate, exempt: Callable[[], Awaitable[bool]]
) -> admission.Place | None:
    """The candidate's (`request.state.user`) place in `gate`'s line, None when they may go
    on: a valid cookie of the gate (renewed when due), `exempt()` (an interview soon), or let
    in now. A gate not engaged lets them in at once, counted (and the cookie given: their next
    pages need no line); before opening, with too few arrivals to press a cap, they go on with
    their drawn place and no cookie (all let in by the first arrival at opening); with its
    line out of reach, uncounted (fail open: nobody waits while nothing presses)."""
    if await passes(request, gate):
        return None
    engaged = await admission_gate.engaged(line(request), gate, clock.now())
    if engaged and await exempt():
        return None
    try:
        place = await arrive(request, gate)
    except admission.Full as exc:
        if engaged or exc.code != "admission.unavailable":
            raise
        return None
    if place.admitted or not place.engaged:  # not engaged: before opening, too few to press
        return None
    if not engaged and await exempt():
        return None
    return place


@dataclass(frozen=True)
class Decided:
    """What `decide` settled without a database session: the candidate asking (from the live
    hub's session cache), the engaged gate of the page's edition, and the answer when that
    gate holds them (None: the page may be served, `Decided.gate` engaged)."""

    user: User
    gate: admission_gate.Gate
    response: Response | None = None


async def decide(request: Request, *, served: bool) -> Decided | None:
    """A GET of a logged-in candidate decided before any database connection is taken (issue
    17: at an opening, the pages' units of work emptied the pool before the line was pressed);
    None when it cannot be without one, and the page's unit of work decides (`check`).

    Only while the page's edition's gate is armed and engaged, as this process knows it (the
    armed editions as read within CACHE_SECONDS, admission_gate `armed_cached`: by a page's
    unit of work or the held status, which ask while people wait; the pressure learnt from the
    line), or, for an open page that can be served kept, armed while this process's pool is
    short (fair.db `pool_short`: the first seconds of an opening, before the line is pressed);
    else None at once, before the session is looked at (a fair not pressed, and staff, pay
    nothing). The page's edition is that of
    its slug, or of the thing its path names when this process remembers it
    (fair.edition_keys `known`); a candidate's own pages (OWN: their cookie or registrations
    decide) and staff's go the page's way. The user comes from the live hub's session cache
    (fair.app_state.SessionCheck: revocations heard at once, fair.live.hub), as for the held
    status; anyone but a candidate goes the page's way. Then:

    * a gated page: `held_at` decides, the exemption as `exempt_now` knows it (one read a
      minute): held, the waiting page (`held`); let in (a valid cookie, renewed when due;
      exempt; the line lets them in now), the page's way with the cookie given, `check` not
      asking again;
    * an open page (public browsing): `served` (the page can be answered from a kept page,
      fair.web.browsing `shared`) gives the caller the engaged gate; else None."""
    if request.method not in SAFE_METHODS or not request.session.get("sid"):
        return None
    state, now = app_state.of(request), clock.now()
    how = declared(request.scope.get("endpoint"), request.path_params) or OWN
    if how in (STAFF, OWN) or (how == OPEN and not served):
        return None
    gates = admission_gate.armed_cached(now)
    if gates is None and how == OPEN and db.pool_short(state.engine):
        # An opening's first seconds: nothing has read them yet (the held status does, which
        # comes after these pages) and the pool is short: read them now, one caller at a
        # time on a connection of its own, so that these pages can be served kept.
        gates = await admission_gate.armed_now(state.read_sessions, now)
    if not gates:  # none armed, or to read again: the page's way (the held status) reads them
        return None
    kind = "slug" if how == OPEN else how
    edition_id = _edition_known(state, gates, kind, request.path_params.get(kind))
    gate = next((g for g in gates if g.edition_id == edition_id), None)
    if gate is None:
        return None
    if not await admission_gate.engaged(line(request), gate, now):
        # Not pressed yet (the line engages after its first arrivals, which come after these
        # pages): an open page is served kept all the same while the pool is short, not
        # waited for in a unit of work (issue 17: the hall answered "server.busy" in the
        # 10,000-candidate surge's first seconds, before the gate engaged).
        if how != OPEN or not db.pool_short(state.engine):
            return None
    user = await known_candidate(request)
    if user is None:
        return None
    if how == OPEN:
        return Decided(user, gate)
    place = await held_at(request, gate, lambda: exempt_now(state, user, now))
    if place is None:  # let in (the cookie given or renewed): `check` lets them by
        request.state.gate_decided = True
        return None
    return Decided(user, gate, held(request, gate, place))


async def known_candidate(request: Request) -> User | None:
    """The logged-in candidate of the request as the live hub's session cache knows them
    (fair.app_state.SessionCheck: revocations heard at once), then `request.state.user`; None
    for anyone else or no session: no database session is opened for it."""
    state = app_state.of(request)
    found = await state.sessions.authenticate(state, request.session)
    if found is None or found[0].role != Role.CANDIDATE:
        return None
    request.state.user = found[0]
    return found[0]


async def exempt_now(state: app_state.AppState, user: User, now: datetime) -> bool:
    """`admission_gate.exempt` as known within the last minute (`exempt_known`), else read
    with the other candidates asked at the same moment (fair.web.kept `exempt`: one
    connection for them all; one each emptied the pool when thousands held asked at once)."""
    if user.role != Role.CANDIDATE:
        return True
    found = admission_gate.exempt_known(user.id, now)
    return found if found is not None else await kept.of(state).exempt(user.id)


def _edition_known(
    state: app_state.AppState, gates: list[admission_gate.Gate], kind: str | None, value: object
) -> int | None:
    """The edition that `value`, a path parameter of `kind`, names, when known without a read:
    a slug among the armed gates', an edition id, a thing's edition this process remembers."""
    if kind is None:
        return None
    if kind == "slug":
        return next((g.edition_id for g in gates if g.slug == value), None)
    engine = state.read_sessions.kw["bind"]
    return edition_keys.known(engine, kind, value)


async def _gate(
    request: Request, session: AsyncSession, how: str, now: datetime
) -> tuple[admission_gate.Gate, bool] | None:
    """The armed gate of this page, and whether the line lets the candidate in there already:
    that of the edition its path names (`how`, a kind), else (OWN) the one the candidate's
    cookie names (no read of their registrations), else the one that judges them as it judges
    their socket (`admission_gate.judge`: an armed edition the line lets them in to already,
    else the first armed edition they are registered to)."""
    gates = await admission_gate.armed(session, now)
    if not gates:
        return None
    if how != OWN:
        gate = await admission_gate.gate_of(session, gates, how, request.path_params.get(how))
        return None if gate is None else (gate, False)
    user = request.state.user
    raw = request.cookies.get(admission_gate.COOKIE)
    found = admission_gate.admitted_to(raw, user.id, gates, now)
    if found is not None:
        return next(g for g in gates if g.edition_id == found), False
    return await admission_gate.judge(session, line(request), user, gates, now)


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
            kept = await line(request).touch(
                gate.edition_id, request.state.user.id, now=now.timestamp(), idle=gate.caps.idle
            )
        except (RedisError, OSError) as exc:  # fail open for people let in
            log.warning("admission: renewing a place without the line: %r", exc)
        else:
            if not kept:  # their place lapsed (they left: fair.admission.lapse_at): the line's
                return False
        _set_cookie(request, gate)
    return True


def line(request: Request) -> admission.Line:
    """The deployment's admission line, as this request's app reaches it."""
    broadcast = app_state.of(request).broadcast
    return admission_gate.line_of(broadcast.client(), broadcast.namespace)


async def arrive(request: Request, gate: admission_gate.Gate) -> admission.Place:
    """The candidate's place (let in: the cookie set on the answer); Full is a 503."""
    now = clock.now()
    try:
        place = await admission_gate.take_place(line(request), gate, request.state.user.id, now)
    except admission.Full:
        metrics.ADMISSION_REJECTED.labels("full").inc()
        raise
    except (RedisError, OSError) as exc:
        log.warning("admission: the line is out of reach: %r", exc)
        metrics.ADMISSION_REJECTED.labels("unavailable").inc()
        raise admission.Full(NOT_REACHED, code="admission.unavailable", retry_after=10) from exc
    admission_gate.note(gate, place, now)
    if place.admitted:
        request.state.admitted_at = place.since  # the held status says it (bench/surge.py)
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
