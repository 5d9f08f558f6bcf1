"""One handler for every error: a page in the user's language, or JSON for API clients."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from fair import app_state, db, i18n
from fair.errors import FairError, Unauthenticated
from fair.web import auth, urls
from fair.web.templating import render

log = logging.getLogger("fair.web")

TITLES = {
    400: "The request could not be understood",
    401: "Please log in",
    403: "Access refused",
    404: "Page not found",
    405: "This action is not possible here",
    409: "This action is not possible now",
    413: "Too large",
    422: "Some information needs correcting",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Service briefly unavailable",
}
RETRY_AFTER = 5  # seconds, when every database connection is taken or the database is down
CLOSE_ERROR = 1011  # a socket's "internal error"
CLOSE_AGAIN = 1013  # a socket's "try again later" (busy, unavailable)
CLOSE_REFUSED = 1008  # a socket's "policy violation" (an expected refusal)
# What a socket's handler returns: nothing to send (Starlette sends an answer only when there
# is one; a socket's handlers are typed `-> None`, one handler serves both here).
NO_ANSWER = cast(Response, None)
Handler = Callable[[Request, Exception], Awaitable[Response]]


def also_sockets(close: int) -> Callable[[Handler], Handler]:
    """A handler that answers a WebSocket too: Starlette calls the same handlers for the
    errors of a socket's endpoint (fair.live.socket catches its own; this is the last resort),
    where no page can be sent. The socket is closed with `close` and the error logged once (a
    traceback for a defect); a client gone meanwhile is no further error."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def handle(request: Request, exc: Exception) -> Response:
            if request.scope["type"] != "websocket":
                return await handler(request, exc)
            assert isinstance(request, WebSocket)  # what Starlette gives for a socket's scope
            await socket_failed(request, exc, close)
            return NO_ANSWER

        return handle

    return wrap


async def socket_failed(websocket: WebSocket, exc: Exception, close: int) -> None:
    path = websocket.url.path
    if close == CLOSE_ERROR:
        log.error("unhandled error on the socket %s", path, exc_info=exc)
    else:
        log.warning("socket %s closed with %d: %r", path, close, exc)
    with contextlib.suppress(Exception):  # not accepted yet, closed already, or the client gone
        await websocket.close(close)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def _page(
    request: Request, status: int, message: str, code: str, *, read_user: bool = True
) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    # The request's own session was rolled back and closed: read the user afresh.
    request.state.user = None
    if read_user and "session" in request.scope:
        try:
            async with app_state.of(request).read_sessions() as session:
                request.state.db = session
                await auth.load_user(request)
        except Exception:  # the error page must render even when the database is down
            request.state.user = None
    title = i18n.gettext(TITLES.get(status, TITLES[400]))
    context = {"status": status, "title": title, "message": message, "code": code}
    return render(request, "errors/error.html", context, status=status)


def translated_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters that are msgids themselves (status labels) are shown translated too."""
    return {k: i18n.gettext(v) if isinstance(v, str) and v else v for k, v in params.items()}


@also_sockets(CLOSE_REFUSED)
async def fair_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FairError)
    if isinstance(exc, Unauthenticated) and request.method == "GET" and not _wants_json(request):
        return urls.redirect(request, "login", query={"next": request.url.path})
    message = i18n.gettext(exc.message, **translated_params(exc.params))
    response = await _page(request, exc.status, message, exc.code)
    retry_after = getattr(exc, "retry_after", None)  # an answer that says when to come back
    if retry_after is None and exc.status in (429, 503):
        retry_after = exc.params.get("retry_after")
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


@also_sockets(CLOSE_REFUSED)
async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = i18n.gettext(TITLES.get(status, TITLES[400]))
    if status == 404:
        message = i18n.gettext("The page you asked for does not exist or was moved.")
    return await _page(request, status, message, f"http.{status}")


@also_sockets(CLOSE_ERROR)
async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = i18n.gettext(
        "The platform hit an unexpected problem. Your last action may not have been saved; "
        "please try again in a moment."
    )
    return await _page(request, 500, message, "server.error")


@also_sockets(CLOSE_AGAIN)
async def busy(request: Request, exc: Exception) -> Response:
    """Every database connection is taken (the pool's timeout passed), or SQLite's write lock
    (its busy timeout passed): come back shortly.

    The page is shown without reading the user (that would wait for a connection again).
    """
    what = "pool exhausted" if isinstance(exc, PoolTimeout) else "locked"  # SQLite's write lock
    log.warning("database %s on %s %s: %r", what, request.method, request.url.path, exc)
    message = i18n.gettext(
        "The platform is very busy right now and could not handle your request. Nothing was "
        "saved: please try again in a few seconds."
    )
    response = await _page(request, 503, message, "server.busy", read_user=False)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


@also_sockets(CLOSE_AGAIN)
async def unavailable(request: Request, exc: Exception) -> Response:
    """The database refused or did not answer (db.Unreachable), or a connection was lost during
    the request: the service is briefly unavailable. Nothing was read or saved; the page is
    shown without reading the user. The engine replaces the dead connections once the database
    answers again (fair.db), so the next request after that is served as usual."""
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    message = i18n.gettext(
        "The service is briefly unavailable. Nothing was saved: please try again in a few seconds."
    )
    response = await _page(request, 503, message, "server.unavailable", read_user=False)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


async def database_error(request: Request, exc: Exception) -> Response:
    """A database error or a timeout: `busy` when SQLite's write lock stayed taken past its
    busy timeout, `unavailable` when the connection was lost or ended by the server or a
    statement got no answer in time (fair.db.unavailable), else a defect (500)."""
    reason = db.unavailable(exc)
    if reason == "server.busy":
        return await busy(request, exc)
    if reason is not None:
        return await unavailable(request, exc)
    return await server_error(request, exc)
