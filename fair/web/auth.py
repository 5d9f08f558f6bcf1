"""Who is asking: the session cookie, roles, CSRF tokens, and the per-request database session."""

from __future__ import annotations

import base64
import functools
import hmac
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import wraps
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from fair import (
    app_state,
    cv_pool,
    db,
    editions,
    notices,
    parse,
    permissions,
    settings,
    stop_links,
    timing,
    unit_of_work,
    user_sessions,
)
from fair.enums import Role
from fair.errors import Forbidden, NotFound, Unauthenticated
from fair.models import Edition, User
from fair.web import gate, kept

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(request: Request) -> str:
    """The session's token as a page shows it: masked by a fresh random pad each time.

    Pages are sent compressed: a secret repeated identically in every page beside text an
    attacker can reflect (a search) could be read back from compressed sizes (BREACH). So
    each page carries pad + (pad XOR secret), which `check_csrf` unmasks.
    """
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    secret = str(token).encode()
    pad = secrets.token_bytes(len(secret))
    masked = pad + bytes(a ^ b for a, b in zip(pad, secret, strict=True))
    return base64.urlsafe_b64encode(masked).decode().rstrip("=")


def _unmask(submitted: str, size: int) -> bytes:
    """The secret a masked token carries (b"" when it is not one)."""
    try:
        raw = base64.urlsafe_b64decode(submitted + "=" * (-len(submitted) % 4))
    except ValueError:  # binascii.Error, or non-ASCII text
        return b""
    if len(raw) != 2 * size:
        return b""
    return bytes(a ^ b for a, b in zip(raw[:size], raw[size:], strict=True))


def check_csrf(request: Request, submitted: str) -> None:
    expected = str(request.session.get("csrf", "")).encode()
    # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    given = _unmask(submitted, len(expected)) if expected else b""
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise Forbidden(
            "This form has expired or did not come from this site. Go back, reload the page and "
            "try again.",
            code="csrf.invalid",
        )


async def read_form(request: Request) -> FormData:
    """The submitted form, after checking its size and its CSRF token (parsed once per request)."""
    # Its size is bounded as it arrives, for every request: web.middleware.BodyLimit.
    form = await request.form(max_files=5, max_fields=200, max_part_size=256 * 1024)
    check_csrf(request, str(form.get("csrf_token", "")))
    return form


def database(request: Request) -> AsyncSession:
    return request.state.db  # type: ignore[no-any-return]


@asynccontextmanager
async def spare_session(request: Request) -> AsyncIterator[AsyncSession | None]:
    """A second read session, for a page that reads two slow things at once (the organiser's
    dashboard: its latency is then the slower read, not their sum), or None when the process's
    spare connections are all taken (app_state.SPARE_READS): the page then reads one thing
    after the other on its own session rather than wait for a connection while holding one."""
    spare = app_state.of(request).spare_reads
    if spare.locked():
        yield None
        return
    async with spare, app_state.of(request).read_sessions() as session:
        yield session


def page(handler: Handler) -> Handler:
    """Run `handler` in one unit of work: a write session for unsafe methods, a read one otherwise.

    Every unsafe request must carry a valid CSRF token: it is checked here, before the handler
    runs, so no state-changing route can forget it. The transaction commits only when the
    response is not an error, so a form re-shown with its errors leaves nothing half-written;
    after-commit callbacks (mail) then run and the queued live events are published. On
    rollback both are dropped.

    Decide, roll back, then render: an error page's HTML is rendered only once the transaction
    is rolled back here (templating.render defers it), so no row lock is held while rendering;
    a handler that reads much to show a refused form again calls `release` first.
    """

    return _unit_of_work(handler, one_click=False, header=True)


def json_page(handler: Handler) -> Handler:
    """`page` for JSON that a page's script polls (the waiting page's status): what only the
    header of an HTML page shows (the unread notices, the CV pool link) is not read. An error
    answered there is still read in full (fair.web.errors reads the user afresh)."""
    return _unit_of_work(handler, one_click=False, header=False)


def one_click_page(handler: Handler) -> Handler:
    """`page` for the stop link of a mail (fair.stop_links): a mail client's one-click POST
    (RFC 8058: exactly `List-Unsubscribe=One-Click`, no cookie) is spared the CSRF check, and
    the handler sees `is_one_click(request)`; it must then check the signed token of its URL.
    Any other POST is checked as `page` checks it."""
    return _unit_of_work(handler, one_click=True, header=True)


def is_one_click(request: Request) -> bool:
    return bool(getattr(request.state, "one_click", False))


async def _one_click_form(request: Request) -> bool:
    form = await request.form(max_files=5, max_fields=200, max_part_size=256 * 1024)
    return list(form.multi_items()) == [(stop_links.ONE_CLICK_FIELD, stop_links.ONE_CLICK_VALUE)]


# The attribute of a page's handler that answers it without a database session when it can
# (fair.web.browsing `shared`: a kept page), else None: `Handler` then runs in the unit of work.
WITHOUT_SESSION = "without_session"


async def _without_session(handler: Handler, request: Request, *, header: bool) -> Response | None:
    """The answer decided before any connection is taken (fair.web.gate `decide`): the
    waiting page for a candidate the gate holds, or an open page served from what is kept
    (`WITHOUT_SESSION`, for pages with a header); None: the page's unit of work answers."""
    serve: Handler | None = getattr(handler, WITHOUT_SESSION, None) if header else None
    with timing.span("gate"):
        decided = await gate.decide(request, served=serve is not None)
    if decided is None:
        # No gate engaged on this page: a candidate's page kept for every candidate is served
        # all the same, gate or not (fair.web.browsing `shared`); else the unit of work.
        if serve is None or not await _kept_candidate(request):
            return None
        return await serve(request)
    response = decided.response
    if response is None and serve is not None:
        response = await serve(request)
    if response is not None:
        gate.finish(request, response)
    return response


async def _kept_candidate(request: Request) -> bool:
    """Whether a GET comes from a logged-in candidate, as the live hub's session cache knows
    (fair.app_state.SessionCheck: revocations heard at once), who is then `request.state.user`:
    a page kept for candidates may be served them without a unit of work (issue 17: each took
    a connection and three statements for a page every candidate sees alike)."""
    if request.method != "GET" or not request.session.get("sid"):
        return False
    return await gate.known_candidate(request) is not None


def _unit_of_work(handler: Handler, *, one_click: bool, header: bool) -> Handler:
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await run(request)
        finally:  # a kept page's render it claimed (fair.web.browsing), settled if not yet
            claim = getattr(request.state, "kept_claim", None)
            if claim is not None:
                key, rendering = claim
                app_state.of(request).pages.settle(key, rendering, None)

    async def run(request: Request) -> Response:
        if request.method == "GET":
            found = await _without_session(handler, request, header=header)
            if found is not None:
                return found
        return await db.again(
            lambda: _answer(handler, request, one_click=one_click, header=header),
            what=f"{request.method} {request.url.path}",
            may=lambda: _again(request),
        )

    return wrapper


def _again(request: Request) -> bool:
    """Whether a request whose connection was found lost before use (`db.lost_unused`:
    nothing it asked was done) is answered again, once, on another: a read, or an unsafe one
    whose handler had not begun (what it does besides its statements, such as counting
    attempts, is never done twice)."""
    return request.method not in UNSAFE or not getattr(request.state, "handling", False)


async def _answer(handler: Handler, request: Request, *, one_click: bool, header: bool) -> Response:
    """`handler`'s answer in the request's unit of work (`page`)."""
    state = app_state.of(request)
    maker = state.write_sessions if request.method in UNSAFE else state.read_sessions
    # One connection for the whole request: after `release` the page is read on it again,
    # not on another one waited for behind requests queued on the lock just released.
    async with maker.kw["bind"].connect() as connection, maker(bind=connection) as session:
        request.state.db = session
        try:
            with timing.span("user"):  # what every page pays first (fair.timing)
                await load_user(request, header=header, pool=False)
            if request.method in UNSAFE:
                if one_click and await _one_click_form(request):
                    request.state.one_click = True
                else:
                    await read_form(request)
            # A candidate the admission gate holds goes to the waiting line instead, before
            # anything of the page is read (the header's CV pool link too: holding costs
            # little; the unread notices came in the session's statement).
            with timing.span("gate"):
                response = await gate.check(request)
            if response is None:
                if header:
                    await load_header(request)
                request.state.handling = True
                response = await handler(request)
            gate.finish(request, response)
            if response.status_code >= 400 or request.state.db is not session:
                session.expunge_all()  # what the page shows stays readable, as loaded
                await unit_of_work.discard(session)
            else:
                await unit_of_work.commit(session, state.broadcast)
        except BaseException:
            await unit_of_work.discard(session)
            raise
        finally:
            if request.state.db is not session:  # the read session `release` opened
                await request.state.db.close()
        return response


async def release(request: Request) -> None:
    """End the request's write transaction now, before reading what a refused form shows.

    The transaction is rolled back: its row locks (and SQLite's write lock) are released, its
    queued live events and mail dropped. Objects already read stay readable as they were
    loaded (detached); from here on `database(request)` is a read session that `page` closes.
    """
    session = database(request)
    if session.info.get("released"):
        return
    session.expunge_all()
    await unit_of_work.discard(session)
    connection = session.bind
    if isinstance(connection, AsyncConnection):  # the request's own (see `page`)
        # As a read session's: PostgreSQL's plain reads in autocommit, SQLite's plain BEGIN.
        await connection.execution_options(**db.read_options(connection.dialect.name))
        reader = app_state.of(request).read_sessions(bind=connection)
    else:
        reader = app_state.of(request).read_sessions()
    reader.info["released"] = True
    request.state.db = reader


async def let_go(request: Request) -> None:
    """`release`, and give the request's connection back to the pool too: before something
    slow outside the database (a partner instance's answer, up to its timeout), so that slow
    calls cannot take every connection of the pool. What the page reads afterwards is read on
    a new read session, which takes a connection when first used; `page` closes it."""
    await release(request)
    session = database(request)
    connection = session.bind
    await session.close()
    if isinstance(connection, AsyncConnection):  # the request's own (see `page`)
        await connection.close()
    reader = app_state.of(request).read_sessions()
    reader.info["released"] = True
    request.state.db = reader


async def load_user(request: Request, *, header: bool = True, pool: bool = True) -> User | None:
    """The user of the request's session cookie (None: nobody), and what the header of every
    page shows for them (unless not `header`: JSON, see `json_page`): the unread notices, read
    with the user, and the CV pool's link (unless not `pool`: `load_header` then, once the
    admission gate has let the request through)."""
    session = database(request)
    # The header's "Notices (n unread)" link on every page, read with the user.
    also = (_unread_column(),) if header else ()
    found = await user_sessions.session_record(session, request.session, also=also)
    user, record, values = found if found is not None else (None, None, ())
    request.state.user = user
    request.state.user_session = record
    request.state.unread_notices = int(values[0] or 0) if values else 0
    if user is not None and header:  # pages served without a session show it from now on
        kept.of(app_state.of(request)).heard_unread(user.id, request.state.unread_notices)
    request.state.pool_search = False
    if header and pool:
        await load_header(request)
    if record is not None and user_sessions.stale(record):
        # Written in a transaction of its own once the request's has committed (a read
        # session must not write; the write lock is free by then).
        db.after_commit(session, functools.partial(_touch, app_state.of(request), record.id))
    return user


@functools.cache
def _unread_column() -> Any:
    """`notices.unread_of(User.id)`, built once: every page asks for it, and building it took
    longer than the rest of an anonymous visitor's `load_user` (0.1 ms)."""
    return notices.unread_of(User.id)


async def load_header(request: Request) -> None:
    """What the header of every page shows for the user `load_user` found beyond the unread
    notices (read with the user): the CV pool's link."""
    session, user = database(request), request.state.user
    # The menu's "CV pool" for those its pages let in (fair.web.pool.pool_viewer).
    request.state.pool_search = await cv_pool.may_search(session, user)


async def _touch(state: app_state.AppState, session_id: int) -> None:
    """Best effort: the page's own work has committed, so a busy database here is one warning
    line (fair.db.report), never the page's 503; the next request touches the session again."""
    try:
        async with db.unit_of_work(state.write_sessions) as session:
            await user_sessions.touch(session, session_id)
    except Exception as exc:
        db.report(log, exc, "touching the user session")


async def login(request: Request, user: User) -> None:
    """Start a fresh session for `user`: a new server-side session and a new CSRF token (no
    fixation); the session the cookie held before, if any, ends."""
    session = database(request)
    old = request.session.get("sid")
    if isinstance(old, str) and old:
        await user_sessions.revoke(session, old)
    key = await user_sessions.start(session, user, user_agent=request.headers.get("user-agent", ""))
    request.session.clear()
    request.session.update(sid=key, csrf=secrets.token_urlsafe(32))
    request.state.user = user


async def logout(request: Request) -> None:
    """End this browser's session on the server too: a copy of the cookie opens nothing."""
    key = request.session.get("sid")
    if isinstance(key, str) and key:
        await user_sessions.revoke(database(request), key)
    request.session.clear()
    request.state.user = None


def client_address(request: Request) -> str:
    """The client's IP address: the peer's, or, only when the peer is one of the trusted
    proxies (FAIR_TRUSTED_PROXIES), the last address X-Forwarded-For names that is not itself
    a trusted proxy. A client that sends the header itself changes nothing."""
    peer = request.client.host if request.client else ""
    if not settings.trusted_proxy(peer):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_address(hop):
            break  # a garbled header: trust nothing before it
        if not settings.trusted_proxy(hop):
            return hop
    return peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def require_user(request: Request) -> User:
    user: User | None = request.state.user
    if user is None:
        raise Unauthenticated("Please log in to continue.")
    return user


def require_role(request: Request, *roles: Role) -> User:
    """The logged-in user, if they have one of `roles` (permissions.require_role)."""
    user = require_user(request)
    permissions.require_role(user, *roles)
    return user


async def organised_edition(request: Request) -> tuple[User, Edition]:
    """The user and the edition in the path (`edition_id`), once the user is known to organise
    it (or is an administrator): every organiser's page of an edition starts here."""
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    edition = await editions.get(session, path_int(request, "edition_id"))
    await permissions.require_organiser(session, user, edition)
    return user, edition


def path_int(request: Request, name: str) -> int:
    """The id in the path (routes' `int` convertor, fair.web.convertors); else NotFound."""
    value: Any = request.path_params[name]
    try:
        return parse.identifier(value)
    except parse.ParseError as exc:
        raise NotFound("The page you asked for does not exist or was moved.") from exc
