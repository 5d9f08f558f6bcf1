"""bench/_http1.py, the benchmarks' lean HTTP/1.1 client, against real sockets on loopback:
what a browser (and httpx, before it) does for surge.py's candidates: keep-alive, a new
connection once the server closed one, gzip asked and read on demand, cookies kept and
dropped, chunked bodies, and its timeouts named."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import _http1  # noqa: E402

Answer = Callable[[bytes], bytes]  # a request's head -> the bytes answered


@contextlib.asynccontextmanager
async def serving(answer: Answer, *, close_after: int = 0) -> AsyncIterator[tuple[str, list]]:
    """A server answering each request's head with `answer(head)`; closing each connection
    after `close_after` answers (0: never). The base URL, and each connection's heads."""
    connections: list[list[bytes]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads: list[bytes] = []
        connections.append(heads)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                heads.append(head)
                writer.write(answer(head))
                await writer.drain()
                if close_after and len(heads) == close_after:
                    break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", connections


def _ok(body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return b"HTTP/1.1 200 OK\r\n%scontent-length: %d\r\n\r\n%s" % (extra.encode(), len(body), body)


async def test_one_connection_kept_alive_with_the_cookies_set() -> None:
    page = gzip.compress(b'{"admitted": true}')

    def answer(head: bytes) -> bytes:
        if b" /login " in head:
            return _ok(b"in", "set-cookie: fair_session=abc; path=/; HttpOnly")
        if b" /logout " in head:
            return _ok(b"out", "set-cookie: fair_session=null; path=/; expires=Thu, 01 Jan 1970")
        return _ok(page, "content-encoding: gzip", "content-type: application/json")

    async with serving(answer) as (base, connections), _http1.Browser(base) as browser:
        browser.cookies["lang"] = "fr"
        assert (await browser.get("/login")).text == "in"
        status = await browser.get("/status", {"accept": "application/json"})
        assert (status.status_code, status.content, status.json()) == (
            200,
            page,
            {"admitted": True},
        )
        assert browser.cookies == {"lang": "fr", "fair_session": "abc"}
        await browser.get("/logout")
        assert browser.cookies == {"lang": "fr"}
    (heads,) = connections  # one connection for the three
    lines = [h.decode().split("\r\n") for h in heads]
    assert lines[1][:3] == [
        "GET /status HTTP/1.1",
        base.replace("http://", "host: "),
        "accept: application/json",
    ]
    assert "accept-encoding: gzip, deflate" in lines[1]
    assert "cookie: lang=fr; fair_session=abc" in lines[1]


async def test_a_connection_the_server_closed_is_opened_again() -> None:
    async with serving(lambda _h: _ok(b"ok"), close_after=1) as (base, connections):
        async with _http1.Browser(base) as browser:
            assert [(await browser.get(p)).text for p in ("/a", "/b", "/c")] == ["ok"] * 3
    assert [len(heads) for heads in connections] == [1, 1, 1]


async def test_a_chunked_body_is_read_whole() -> None:
    chunked = b"HTTP/1.1 503 Busy\r\nretry-after: 5\r\ntransfer-encoding: chunked\r\n\r\n"
    chunked += b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    async with serving(lambda _h: chunked) as (base, _), _http1.Browser(base) as browser:
        answer = await browser.get("/")
        assert (answer.status_code, answer.headers["retry-after"], answer.text) == (
            503,
            "5",
            "abcde",
        )


async def test_no_server_and_a_silent_one_are_named_as_httpx_named_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serving(lambda _h: b"") as (base, _):
        pass  # closed: nothing listens there any more
    with pytest.raises(_http1.ConnectError):
        await _http1.Browser(base).get("/")
    monkeypatch.setattr(_http1, "TIMEOUT", 0.2)
    async with serving(lambda _h: b"") as (base, _), _http1.Browser(base) as browser:
        with pytest.raises(_http1.ReadTimeout):
            await browser.get("/")
