"""What an ASGI scope's cookies say, read before Starlette's middleware would: the request's
cookies, the session as SessionMiddleware signs it, the language chosen. For the ways in that
answer ahead of the stack: the live socket's (fair.live.entry) and the held status's
(fair.web.admission)."""

from __future__ import annotations

import json
from base64 import b64decode
from typing import Any

import itsdangerous
from itsdangerous.exc import BadSignature
from starlette.requests import cookie_parser
from starlette.types import Scope

from fair import i18n, settings

LANG_COOKIE = "lang"  # the language chosen (fair.web.middleware.locale_of reads it for pages)


def cookies_of(scope: Scope) -> dict[str, str]:
    """The request's cookies, as Starlette's `HTTPConnection.cookies` reads them."""
    cookies: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookies.update(cookie_parser(value.decode("latin-1")))
    return cookies


def locale_of(cookies: dict[str, str]) -> str:
    """The language the cookies chose, else the deployment's default."""
    lang = cookies.get(LANG_COOKIE)
    return lang if lang in i18n.LOCALES else settings.get().default_locale


class Sessions:
    """The session cookie read as starlette.middleware.sessions.SessionMiddleware reads it
    (the same cookie, secret and max age), never written."""

    def __init__(self, *, secret_key: str, session_cookie: str, max_age: int) -> None:
        self.signer = itsdangerous.TimestampSigner(str(secret_key))
        self.session_cookie, self.max_age = session_cookie, max_age

    def of(self, cookies: dict[str, str]) -> dict[str, Any]:
        """The session in `cookies`: empty unless signed by us less than `max_age` seconds
        ago."""
        raw = cookies.get(self.session_cookie)
        if raw is None:
            return {}
        try:
            data = self.signer.unsign(raw.encode("utf-8"), max_age=self.max_age)
        except BadSignature:  # its subclass SignatureExpired too
            return {}
        found = json.loads(b64decode(data))
        return found if isinstance(found, dict) else {}
