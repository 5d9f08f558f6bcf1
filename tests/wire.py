"""PostgreSQL's wire between the app and the server, counted: a TCP relay on loopback that reads
what the client sends (the frontend messages of PostgreSQL's protocol: a type byte and a length)
and counts its round trips: one each time the client speaks after the server did. Each round
trip is named by what the client sent in it:

- `connect`: the start-up (an SSL request, the start-up message, authentication);
- `begin`, `commit`, `rollback`: those simple queries (asyncpg's transaction block);
- `ping`: `;` or `SELECT 1`, prepared or run (SQLAlchemy's pre-ping, a readiness check);
- `prepare`: a statement parsed and described (asyncpg's `prepare`, once per connection and
  statement text while its statement cache keeps it);
- `execute`: a prepared statement bound and run, or another simple query (`query`);
- `close`: the client's Terminate.

`IDLE` names those that do no work for a page. Used by tests/test_db_round_trips.py and
bench/pagecost.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.engine import make_url

IDLE = frozenset({"begin", "commit", "rollback", "ping"})
# The start-up's untyped messages that a start-up message follows (asking for encryption).
SSL_REQUEST, GSS_REQUEST = 80877103, 80877104
PINGS = {";", "SELECT 1"}


@dataclass
class Trip:
    """One round trip: what the client sent (`kind`) and the statement's text, if any."""

    kind: str
    sql: str = ""


def _named(sql: str) -> str:
    """The kind of a simple query's round trip."""
    words = sql.strip().rstrip(";").split()
    first = words[0].upper() if words else ""
    if sql.strip() in PINGS or not words:
        return "ping"
    if first in {"BEGIN", "COMMIT", "ROLLBACK"}:
        return first.lower()
    return "query"


class _Talk:
    """One client connection's side of the wire, parsed as it passes."""

    def __init__(self, trips: list[Trip]) -> None:
        self.trips = trips
        self.buffer = b""
        self.started = False  # past the start-up's untyped messages
        self.encrypted = False
        self.statements: dict[str, str] = {}  # prepared statement name -> its text
        self.speaking = False  # the client spoke last
        self.trip = Trip("other")

    def server(self, data: bytes) -> None:
        if not self.started and data == b"S":  # TLS accepted: nothing readable from here on
            self.encrypted = True
        self.speaking = False

    def client(self, data: bytes) -> None:
        if not self.speaking:
            self.trip = Trip("connect" if not self.started else "other")
            self.trips.append(self.trip)
            self.speaking = True
        if self.encrypted:
            self.trip.kind = "encrypted"
            return
        self.buffer += data
        while self._message():
            pass

    def _message(self) -> bool:
        """Read one whole message from the buffer (False: none yet)."""
        buffer = self.buffer
        if not self.started:
            if len(buffer) < 8 or len(buffer) < int.from_bytes(buffer[:4], "big"):
                return False
            length, code = int.from_bytes(buffer[:4], "big"), int.from_bytes(buffer[4:8], "big")
            self.buffer = buffer[length:]
            self.started = code not in (SSL_REQUEST, GSS_REQUEST)
            return True
        if len(buffer) < 5 or len(buffer) < 1 + int.from_bytes(buffer[1:5], "big"):
            return False
        end = 1 + int.from_bytes(buffer[1:5], "big")
        kind, body = buffer[:1], buffer[5:end]
        self.buffer = buffer[end:]
        self._read(kind, body)
        return True

    def _read(self, kind: bytes, body: bytes) -> None:
        trip = self.trip
        if kind == b"Q":
            trip.sql = body.rstrip(b"\0").decode()
            trip.kind = _named(trip.sql)
        elif kind == b"P":
            name, sql = (part.decode() for part in body.split(b"\0")[:2])
            self.statements[name] = sql
            if trip.kind in {"other", "connect"}:
                trip.kind, trip.sql = ("ping" if sql.strip() in PINGS else "prepare"), sql
        elif kind == b"B":
            sql = self.statements.get(body.split(b"\0")[1].decode(), "")
            trip.kind, trip.sql = ("ping" if sql.strip() in PINGS else "execute"), sql
        elif kind == b"X":
            trip.kind = "close"
        elif kind == b"p" and trip.kind == "other":
            trip.kind = "connect"


class Wire:
    """The relay in front of PostgreSQL at `target`, on a free loopback port; `trips` holds
    every round trip of every connection through it, in the order the client sent them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.trips: list[Trip] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def url(self, url: str) -> str:
        """`url` (a database on `target`'s server) reached through the relay."""
        through = make_url(url).set(host="127.0.0.1", port=self.port)
        return through.render_as_string(hide_password=False)

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[Trip]]:
        """The round trips made during the block (the list filled when it ends)."""
        start = len(self.trips)
        seen: list[Trip] = []
        yield seen
        seen.extend(self.trips[start:])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        talk = _Talk(self.trips)

        async def pipe(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, client: bool
        ) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    # Noted before it is passed on: a round trip is counted before its answer.
                    if client:
                        talk.client(data)
                    else:
                        talk.server(data)
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


def kinds(trips: list[Trip]) -> list[str]:
    return [trip.kind for trip in trips]


def idle(trips: list[Trip]) -> list[str]:
    """The kinds of the round trips that did no work."""
    return [trip.kind for trip in trips if trip.kind in IDLE]
