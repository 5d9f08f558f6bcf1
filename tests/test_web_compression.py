"""The GZip middleware with the rest of the stack (fair/app.py): a streamed export stays streamed
when compressed (each piece readable as it arrives), small answers go as they are,
and compressed pages keep the security headers (the CSP middleware sits outside GZip)."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import pytest

from fair import clock
from fair.enums import Role
from fair.web.middleware import CSP
from tests import factories as f
from tests.pages import as_user


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def asgi_get(app: Any, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The ASGI messages the app sends for a GET, as a server receives them."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    asked = False
    forever = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await forever.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def headers_of(start: dict[str, Any]) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in start["headers"]}


async def test_a_streamed_export_is_compressed_piece_by_piece(app, client, session) -> None:  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    await f.booth(session, edition_=edition)
    await as_user(client, session, user=organiser)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    path = f"/organiser/editions/{edition.id}/exports/edition_events.csv"

    plain_start, *plain = await asgi_get(
        app, path, {"cookie": cookie, "accept-encoding": "identity"}
    )
    start, *bodies = await asgi_get(app, path, {"cookie": cookie, "accept-encoding": "gzip"})

    assert (start["status"], plain_start["status"]) == (200, 200)
    headers = headers_of(start)
    assert headers["content-encoding"] == "gzip"
    assert "content-length" not in headers
    assert headers["content-security-policy"] == CSP
    pieces = [m["body"] for m in bodies if m["body"]]
    plain_pieces = [m["body"] for m in plain if m["body"]]
    assert len(plain_pieces) == 2  # the header line, then the batch of rows
    # Each piece is flushed as it comes: what has arrived decompresses to the lines sent so far;
    # the last message (empty before) carries the gzip trailer.
    assert len(pieces) == 3
    reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert reader.decompress(pieces[0]) == plain_pieces[0]
    assert reader.decompress(pieces[1]) == plain_pieces[1]
    assert reader.decompress(pieces[2]) + reader.flush() == b""
    assert reader.eof


async def test_a_compressed_page_keeps_the_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    page = await client.get("/login", headers={"accept-encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"


async def test_small_answers_are_sent_as_they_are(client) -> None:  # type: ignore[no-untyped-def]
    health = await client.get("/health", headers={"accept-encoding": "gzip"})
    assert health.json() == {"status": "ok"}
    assert "content-encoding" not in health.headers  # under 500 bytes: gzip would add bytes
