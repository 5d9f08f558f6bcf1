"""Who is asking: the session cookie, roles, CSRF tokens, and the per-request database session."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from fair import settings
from fair.enums import Role
from fair.errors import Forbidden, TooLarge, Unauthenticated
from fair.live import protocol
from fair.models import User

Handler = Callable[[Request], Awaitable[Response]]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf(request: Request, submitted: str) -> None:
    expected = request.session.get("csrf", "")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise Forbidden(
            "This form has expired or did not come from this site. Go back, reload the page and "
            "try again.",
            code="csrf.invalid",
        )


async def read_form(request: Request) -> FormData:
    """The submitted form, after checking its size and its CSRF token (parsed once per request)."""
    limit = settings.get().max_request_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge(
            "The upload is too large: %(max)s MB at most in all.",
            params={"max": limit // (1024 * 1024)},
        )
    form = await request.form(max_files=5, max_fields=200, max_part_size=256 * 1024)
    check_csrf(request, str(form.get("csrf_token", "")))
    return form


def database(request: Request) -> AsyncSession:
    return request.state.db  # type: ignore[no-any-return]


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

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        state = request.app.state
        maker = state.write_sessions if request.method in UNSAFE else state.read_sessions
        async with maker() as session:
            request.state.db = session
            try:
                await load_user(request)
                if request.method in UNSAFE:
                    await read_form(request)
                response = await handler(request)
                if response.status_code >= 400 or request.state.db is not session:
                    session.expunge_all()  # what the page shows stays readable, as loaded
                    await protocol.discard(session)
                else:
                    await protocol.commit(session, state.broadcast)
            except BaseException:
                await protocol.discard(session)
                raise
            finally:
                if request.state.db is not session:  # the read session `release` opened
                    await request.state.db.close()
            return response

    return wrapper


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
    await protocol.discard(session)
    reader = request.app.state.read_sessions()
    reader.info["released"] = True
    request.state.db = reader


async def load_user(request: Request) -> User | None:
    user = await session_user(database(request), request.session)
    request.state.user = user
    return user


async def session_user(session: AsyncSession, cookie: dict[str, Any]) -> User | None:
    """The active user the session cookie names, if its auth version still holds.

    Used by pages and by the live socket alike; a stale cookie loses its "uid".
    """
    uid = cookie.get("uid")
    if uid is None:
        return None
    user = await session.get(User, int(uid))
    if user is None or not user.is_active or user.auth_version != cookie.get("av"):
        cookie.pop("uid", None)
        return None
    return user


def login(request: Request, user: User) -> None:
    """Start a fresh session for `user` (new CSRF token: no fixation)."""
    request.session.clear()
    request.session.update(uid=user.id, av=user.auth_version, csrf=secrets.token_urlsafe(32))
    request.state.user = user


def logout(request: Request) -> None:
    request.session.clear()
    request.state.user = None


def require_user(request: Request) -> User:
    user: User | None = request.state.user
    if user is None:
        raise Unauthenticated("Please log in to continue.")
    return user


def require_role(request: Request, *roles: Role) -> User:
    user = require_user(request)
    if user.role not in roles and user.role != Role.ADMIN:
        raise Forbidden("This page is not available to your account.")
    return user


def path_int(request: Request, name: str) -> int:
    value: Any = request.path_params[name]
    return int(value)
