"""The sites allowed to frame an edition's embeddable widget (fair/web/embeds.py).

An organiser lists the origins of the partners' sites ("https://www.ville.fr", a port when it
has one); the widget's pages then send `Content-Security-Policy: frame-ancestors` with exactly
those, so no other site can frame them. Outside production, `http://127.0.0.1` and
`http://localhost` (any port) may be listed too, for trying the widget on one's own machine.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import settings
from fair.errors import Invalid
from fair.i18n import N_
from fair.models import Edition, EmbedOrigin

MAX_ORIGINS = 20
# A host name: dot-separated labels of letters, digits and hyphens (IDNs in their xn-- form).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*"
ORIGIN_RE = re.compile(rf"(https)://({_HOST})(?::(\d{{1,5}}))?")
LOCAL_RE = re.compile(r"(http)://(127\.0\.0\.1|localhost)(?::(\d{1,5}))?")
_SCHEME_HOST = re.compile(r"([a-z][a-z0-9+.-]*://[^/?#]*)[/?#]")


def check_origin(text: str, *, local: bool | None = None) -> str:
    """`text` as an origin ("https://host[:port]", lower case, no default port), else Invalid
    saying what is wrong. `local` (default: outside production) also accepts
    http://127.0.0.1 and http://localhost."""
    local = not settings.get().production if local is None else local
    value = text.strip().lower().removesuffix("/")
    found = ORIGIN_RE.fullmatch(value) or (LOCAL_RE.fullmatch(value) if local else None)
    if found is None:
        raise Invalid(_why(value, local=local), params={"origin": text.strip()})
    scheme, host, port = found.groups()
    if port is not None and not 1 <= int(port) <= 65535:
        message = "%(origin)s: the port must be a number from 1 to 65535."
        raise Invalid(message, params={"origin": value})
    if port is None or (scheme, port) in {("https", "443"), ("http", "80")}:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{int(port)}"


def _why(value: str, *, local: bool) -> str:
    """The message for what is not an origin, as helpful as can be told."""

    def allowed(origin: str) -> bool:
        secure = re.sub(r"^http://", "https://", origin)
        return bool(ORIGIN_RE.fullmatch(secure) or (local and LOCAL_RE.fullmatch(origin)))

    prefix = _SCHEME_HOST.match(value)
    if prefix is not None and allowed(prefix[1]):
        return N_("%(origin)s: only the site's origin, without a path: its scheme, host and port.")
    if value.startswith("http://") and allowed(value):
        return N_("%(origin)s: the site must use https://.")
    return N_(
        "%(origin)s is not a site's origin: write https:// then its host name, and a port if it "
        "has one (for example https://www.ville.fr)."
    )


def parse_list(text: str) -> list[str]:
    """The origins written one a line (blank lines and repeats dropped), each checked; Invalid
    on the field "origins" naming the first wrong one."""
    found: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            origin = check_origin(line)
        except Invalid as error:
            fields = {"origins": error.message}
            raise Invalid(error.message, params=error.params, fields=fields) from None
        if origin not in found:
            found.append(origin)
    if len(found) > MAX_ORIGINS:
        message = "%(max)s sites at most may show the widget."
        raise Invalid(message, params={"max": MAX_ORIGINS}, fields={"origins": message})
    return found


async def origins(session: AsyncSession, edition_id: int) -> list[str]:
    """The origins allowed to frame the edition's widget, in alphabetical order."""
    rows = await session.scalars(
        select(EmbedOrigin.origin)
        .where(EmbedOrigin.edition_id == edition_id)
        .order_by(EmbedOrigin.origin)
    )
    return list(rows)


async def replace(session: AsyncSession, edition: Edition, listed: list[str]) -> None:
    """Allow exactly `listed` (origins from `parse_list`) to frame the edition's widget."""
    await session.execute(delete(EmbedOrigin).where(EmbedOrigin.edition_id == edition.id))
    session.add_all(EmbedOrigin(edition_id=edition.id, origin=o) for o in listed)
    await session.flush()
