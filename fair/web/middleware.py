"""ASGI middleware: the request's language, security headers, and the request body's size."""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fair import i18n, settings, videos
from fair.errors import TooLarge
from fair.web import errors


def policy(frame_ancestors: str = "'none'") -> str:
    """The Content-Security-Policy of every page; `frame_ancestors` says who may frame it
    (nobody but for the embeddable widget's pages: fair/web/embeds.py)."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; media-src 'self'; object-src 'none'; "
        f"frame-ancestors {frame_ancestors}; base-uri 'self'; form-action 'self'; "
        f"frame-src {' '.join(videos.FRAME_SOURCES)}"  # booths' presentation videos, cookie-free
    )


CSP = policy()
# Added to every answer that does not set the header itself (then its own value stands).
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    # geolocation: the offer search's "around me" (static/around_me.js), asked only on a click.
    (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=(self)"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """The headers above on every HTTP answer, unless the answer set one itself: its own value
    stands. X-Frame-Options: DENY, the old browsers' form of `frame-ancestors 'none'`, goes
    on every answer but one whose own Content-Security-Policy names its `frame-ancestors`
    (the widget's pages: `policy(frame_ancestors=...)`): that answer says there who may frame
    it, which X-Frame-Options cannot say."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        state = scope.setdefault("state", {})  # the requests' `state`: web.auth sets its user

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                message["headers"] = secured(headers, private=state.get("user") is not None)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secured(headers: list[tuple[bytes, bytes]], *, private: bool) -> list[tuple[bytes, bytes]]:
    """An answer's `headers` with SecurityHeaders' added; `private`: a logged-in person's."""
    headers = list(headers)
    if private:
        # Whatever a logged-in person is shown stays out of every cache (a shared computer's
        # browser, a proxy): their pages are private.
        headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
        headers.append((b"cache-control", b"no-store"))
    present = {name.lower() for name, _ in headers}
    if b"x-frame-options" not in present and not _frames_itself(headers):
        headers.append((b"x-frame-options", b"DENY"))
    headers += [(n, v) for n, v in HEADERS if n not in present]
    if settings.get().secure_cookies:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


def _frames_itself(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the answer's own policy says who may frame it."""
    return any(
        name.lower() == b"content-security-policy" and b"frame-ancestors" in value
        for name, value in headers
    )


def locale_of(scope: Scope) -> str:
    """The `lang` cookie when valid, else the platform default (French)."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:
                continue
            if "lang" in cookie and cookie["lang"].value in i18n.LOCALES:
                return cookie["lang"].value
    return settings.get().default_locale


class Locale:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = i18n.current_locale.set(locale_of(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_locale.reset(token)


class BodyLimit:
    """Refuse request bodies over `max_request_bytes` with 413, counted as they arrive.

    A declared Content-Length over the limit is refused before anything is read; a chunked
    body (or one longer than it declared) is counted message by message in `receive`, and
    the read that passes the limit raises `TooLarge`, which the app's error handler shows as
    the translated 413 page (the handler's transaction rolls back). Sits inside the session
    middleware, so the error page knows who is asking.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.get().max_request_bytes
        if _declared_length(scope) > limit:
            await _refuse(scope, receive, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        "The upload is too large: %(max)s MB at most in all.",
        params={"max": limit // (1024 * 1024)},
    )


def _declared_length(scope: Scope) -> int:
    """The Content-Length header's value; 0 when absent; -1 when unreadable (then counted)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()):
                return -1
            return int(text) if len(text) <= 18 else 10**18  # int() refuses 4,300 digits
    return 0


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    request = Request(scope, receive)
    response = await errors.fair_error(request, too_large(limit))
    await response(scope, receive, send)
