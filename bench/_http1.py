"""A lean HTTP/1.1 client for the benchmarks' simulated people: what a browser does for a page,
at a fraction of httpx's CPU (bench/surge.py: its 10,000 candidates share the 2 cores with the
servers they measure, and their CPU is not the product's).

Measured on loopback against a server answering a fixed 8 KiB gzip page (three GETs a person,
a connection each, as surge.py's candidates): httpx 3.8 ms of CPU a person, this 0.25 ms.

What it does as httpx did for surge.py (so the servers do the same work): one keep-alive
connection per `Browser` (a browser's to one host), opened again when idle for `KEEPALIVE`
seconds (uvicorn closes idle ones at 5 s) or after the server said `connection: close`;
`accept: */*` and `accept-encoding: gzip, deflate` (the servers compress as for httpx); the
cookies the answers set, sent back (a cookie set empty or expired is dropped); redirects not
followed. What it does not: decompress or decode a body nobody reads (`Answer.text` and
`Answer.json()` do, on demand).

Timeouts, a patient person's (as surge.py's httpx client had): the connection opened within
`TIMEOUT` seconds (ConnectTimeout), the answer's head and body each within `TIMEOUT` seconds
of being waited for (ReadTimeout).
"""

from __future__ import annotations

import asyncio
import json
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

TIMEOUT = 60.0  # seconds
KEEPALIVE = 4.0  # seconds an idle connection is reused, at most
HEAD_LIMIT = 64 * 1024


class HTTPError(Exception):
    """A request that got no answer (its repr names the kind, as httpx's did)."""


class ConnectTimeout(HTTPError):
    pass


class ConnectError(HTTPError):
    pass


class ReadTimeout(HTTPError):
    pass


class ReadError(HTTPError):
    pass


class RemoteProtocolError(HTTPError):
    pass


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]  # lower-case names; a repeated header's last value
    content: bytes  # as sent (compressed, if so)

    @property
    def body(self) -> bytes:
        coding = self.headers.get("content-encoding", "")
        if coding == "gzip":
            return zlib.decompress(self.content, 16 + zlib.MAX_WBITS)
        if coding == "deflate":
            return zlib.decompress(self.content)
        return self.content

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Browser:
    """One person's browser to one server (`base`: http://host:port)."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _idle_since: float = 0.0

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        """GET `path`; HTTPError when no answer came (the module's docstring)."""
        fresh = self._reader is None or self._stale()
        if fresh:
            await self._open()
        try:
            return await self._exchange(path, headers or {})
        except (ReadError, RemoteProtocolError):
            if fresh:
                raise
        # A kept connection the server had closed meanwhile: a browser tries a new one.
        await self._open()
        return await self._exchange(path, headers or {})

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def _stale(self) -> bool:
        return asyncio.get_running_loop().time() - self._idle_since > KEEPALIVE

    async def _open(self) -> None:
        await self.aclose()
        where = urlsplit(self.base)
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(where.hostname, where.port), TIMEOUT
            )
        except TimeoutError as exc:
            raise ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise ConnectError(str(exc)) from exc

    async def _exchange(self, path: str, headers: dict[str, str]) -> Answer:
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        host = urlsplit(self.base).netloc
        lines = [f"GET {path} HTTP/1.1", f"host: {host}", "accept: */*"]
        lines.append("accept-encoding: gzip, deflate")
        lines.extend(f"{name}: {value}" for name, value in headers.items() if name != "accept")
        if "accept" in headers:
            lines[2] = f"accept: {headers['accept']}"
        if self.cookies:
            lines.append("cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            answer, close = await self._read(reader)
        except TimeoutError as exc:
            await self.aclose()
            raise ReadTimeout(str(exc)) from exc
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            await self.aclose()
            raise ReadError(repr(exc)) from exc
        except ValueError as exc:
            await self.aclose()
            raise RemoteProtocolError(str(exc)) from exc
        if close:
            await self.aclose()
        self._idle_since = asyncio.get_running_loop().time()
        return answer

    async def _read(self, reader: asyncio.StreamReader) -> tuple[Answer, bool]:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        if len(head) > HEAD_LIMIT:
            raise ValueError("head too long")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._keep(value)
            headers[name] = value
        if "content-length" in headers:
            length = int(headers["content-length"])
            body = await asyncio.wait_for(reader.readexactly(length), TIMEOUT)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await asyncio.wait_for(_chunked(reader), TIMEOUT)
        else:  # to the end of the connection
            body = await asyncio.wait_for(reader.read(), TIMEOUT)
            return Answer(status, headers, body), True
        return Answer(status, headers, body), headers.get("connection", "").lower() == "close"

    def _keep(self, header: str) -> None:
        """A Set-Cookie: kept, or dropped when set empty or expired (a log-out, a session
        emptied: Starlette sets `null` expiring in 1970)."""
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        attrs = attributes.lower().replace(" ", "")
        if "max-age=0" in attrs or "1970" in attrs or not value:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from our servers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
