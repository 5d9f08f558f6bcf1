"""What the fault tests (issue 17 item 3) start and kill, never the shared services: a PostgreSQL
cluster of a test's own on a free port (stopped, frozen and started again), `fair worker`
processes, an SMTP server that holds each mail a while, /live clients that fail over to the
other server (`LiveClient`), and kill -9 of any of them. A pytest
plugin (tests/conftest.py): the fixture `private_postgres` gives a started cluster, migrated,
removed afterwards.

PostgreSQL refuses to run as root: as root, its commands run as the `postgres` OS user
(runuser), in a directory of /tmp that user owns. Web processes come from
tests/server_processes.py (`spawn`, `servers`), redis-server from `redis_server` there.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import websockets
from aiosmtpd.controller import Controller

from fair import migrations
from tests.server_processes import ROOT, free_port

_BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
PG_BIN = Path(_BINARIES[-1]) if _BINARIES else None
NEEDS_PG_BINARIES = pytest.mark.skipif(PG_BIN is None, reason="needs PostgreSQL's server binaries")


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1:`port`."""

    def __init__(self) -> None:
        assert PG_BIN is not None
        self.root = Path(tempfile.mkdtemp(prefix="fair-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self.frozen = False

    def _run(self, *command: str) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / command[0]), *command[1:]]),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        """Start (or start again, on the same port) and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """Stopped at once, as a crash would: every connection cut, nothing shut down cleanly."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def pids(self) -> list[int]:
        """The postmaster's and its children's process ids."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """Every process stopped (SIGSTOP): connections stay open and nothing answers, as a
        hung host or a dead network path does."""
        self._signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)
        self.frozen = False

    def _signal(self, number: int) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):  # a backend that just ended
                os.kill(pid, number)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            if self.frozen:
                self.thaw()
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.init()
        cluster.start()
        migrations.upgrade(cluster.url)
        yield cluster
    finally:
        cluster.remove()


def kill9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL, and reaped: no goodbye to anyone."""
    process.kill()
    process.wait(timeout=10)


def spawn_worker(
    database_url: str, broadcast_url: str, log: Path, **extra: str
) -> subprocess.Popen[bytes]:
    """`fair worker` as a process of its own, its JSON log lines appended to `log`."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BROADCAST_URL": broadcast_url,
        "FAIR_ENV": "test",
        "FAIR_LOG_FORMAT": "json",
        **extra,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fair", "worker"], env=env, cwd=ROOT, stdout=out, stderr=out
        )


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll `check()` (a callable) every 0.1 s until it is true; returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.1)
    return time.monotonic() - started


class SlowSmtpSink:
    """An SMTP server's handler (aiosmtpd) that holds each recipient `hold` seconds before
    accepting it: a sender killed meanwhile is killed in the middle of sending a mail, before
    the message's content was sent. `accepted`: the messages taken (their 250 to DATA given),
    `recipients`: how many RCPT commands arrived."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.accepted: list[EmailMessage] = []
        self.recipients = 0

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]  # noqa: N802
        self.recipients += 1
        await asyncio.sleep(self.hold)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.content)
        self.accepted.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_sink(handler: object) -> Iterator[int]:
    """An SMTP server on a free loopback port (in a thread of this process), with `handler`."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


BRIEFLY_UNAVAILABLE = ("server.busy", "server.unavailable")


class LiveClient:
    """A browser's /live socket as static/socket.js keeps it, with a client-side list of servers
    (a browser has one address; in front of two processes a load balancer picks the other): a
    socket that closes connects again to the next server of the list after socket.js's delays
    (0.5 s doubling up to 8 s, each drawn between half and all of it), then `on_open` runs
    again (subscribe, re-fetch: events are at-most-once). Events read meanwhile are kept."""

    def __init__(self, urls: list[str], cookie: str, channels: list[str]) -> None:
        self.urls = urls
        self.at = 0
        self.headers = {"Cookie": cookie} if cookie else {}
        self.channels = channels
        self.events: list[dict[str, Any]] = []
        self.ws: Any = None
        self.next_id = 1
        self.failures: list[str] = []  # why connecting again failed, each time

    async def connect(self) -> None:
        # max_queue=None: frames are read as they come, as a browser reads them; with the
        # default (16 unread frames, then reading paused) a socket with unread events would
        # not see its server die until the keepalive ping gave up, 20 s or more later.
        self.ws = await websockets.connect(
            self.urls[self.at], additional_headers=self.headers, max_queue=None
        )
        for channel in self.channels:
            answer = await self.command("subscribe", {"channel": channel})
            if answer[0] == "error" and answer[2]["code"] in BRIEFLY_UNAVAILABLE:
                await self.ws.close()  # a surge over the server's pool: try again later
                raise ConnectionError(answer[2]["code"])
            assert answer[0] == "success", answer

    async def command(self, action: str, payload: dict[str, Any]) -> list[Any]:
        """Send a command and return its reply frame."""
        id_ = self.next_id
        self.next_id += 1
        await self.ws.send(json.dumps([action, id_, payload]))
        async with asyncio.timeout(10):
            while True:
                frame = json.loads(await self.ws.recv())
                if frame[0] != "event":
                    assert frame[1] == id_, frame
                    return list(frame)
                if frame[2]["event"] != "heartbeat":
                    self.events.append(frame[2])

    async def event(self, name: str, seconds: float, **fields: Any) -> dict[str, Any]:
        """The first event `name` (with these fields) kept or received within `seconds`."""
        wanted = {"event": name, **fields}
        async with asyncio.timeout(seconds):
            while True:
                for found in self.events:
                    if wanted.items() <= found.items():
                        self.events.remove(found)
                        return found
                frame = json.loads(await self.ws.recv())
                if frame[0] == "event" and frame[2]["event"] != "heartbeat":
                    self.events.append(frame[2])

    async def fail_over(self, seconds: float) -> None:
        """Wait for the socket to close, then connect again to the next servers, backing off as
        socket.js does, until one takes it (within `seconds`)."""
        async with asyncio.timeout(seconds):
            await self.ws.wait_closed()
            attempt = 0
            while True:
                delay = min(8.0, 0.5 * 2**attempt)
                attempt += 1
                await asyncio.sleep(delay / 2 + random.random() * delay / 2)
                self.at = (self.at + 1) % len(self.urls)
                try:
                    await self.connect()
                    return
                except (OSError, websockets.InvalidHandshake, websockets.ConnectionClosed) as exc:
                    self.failures.append(f"{self.urls[self.at]}: {exc!r}")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
