"""The app as real processes (a pytest plugin: tests/conftest.py): uvicorn subprocesses as
`fair serve` runs them, a redis-server of a test's own, a PostgreSQL database of a module's own.

- `database_url` (fixture, one per module): a new PostgreSQL database, migrated, dropped after;
- `NEEDS_POSTGRESQL_AND_REDIS`: the skip mark of the modules that use both;
- `servers(database_url, broadcast_url, count)`: uvicorn processes answering /health;
- `redis_server(port)`, `wait_redis(url)`, `free_port()`, `stop(process)`;
- `session_cookie(secret, key, csrf)`: the cookie a log-in would set, signed with the servers'
  secret (logging many people in would only measure argon2).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from base64 import b64encode
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import itsdangerous
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from sqlalchemy import text

from fair import db, migrations
from tests.conftest import BACKENDS, PG_ADMIN

ROOT = Path(__file__).resolve().parent.parent
SHARED_REDIS = "redis://127.0.0.1:6379/0"
DB_NAME = f"fair_live_redis_{os.getpid()}"

NEEDS_POSTGRESQL_AND_REDIS = pytest.mark.skipif(
    "postgresql" not in BACKENDS or shutil.which("redis-server") is None,
    reason="needs PostgreSQL and redis-server",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest_asyncio.fixture(scope="module")
async def database_url() -> AsyncIterator[str]:
    admin = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    await migrations.upgrade_async(url)
    try:
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        await admin.dispose()


@dataclass
class Server:
    url: str
    ws: str
    process: subprocess.Popen[bytes]


def spawn(database_url: str, broadcast_url: str, **extra: str) -> Server:
    """One uvicorn process on a free port, as `fair serve` runs the app (`extra`: more
    environment)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BROADCAST_URL": broadcast_url,
        "FAIR_ENV": "test",
        "FAIR_BACKGROUND_TASKS": "off",
        **extra,
    }
    command = [sys.executable, "-m", "uvicorn", "fair.app:create_app", "--factory"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"], env=env, cwd=ROOT
    )
    return Server(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/live", process)


@contextlib.asynccontextmanager
async def servers(
    database_url: str, broadcast_url: str, count: int, *, within: float = 20.0, **extra: str
) -> AsyncIterator[list[Server]]:
    """`count` servers answering /health (each within `within` seconds); terminated on exit."""
    started: list[Server] = []
    try:
        for _ in range(count):
            started.append(spawn(database_url, broadcast_url, **extra))
        for server in started:
            await wait_healthy(server, within)
        yield started
    finally:
        for server in started:
            stop(server.process)


async def wait_healthy(server: Server, seconds: float = 20.0) -> None:
    async with httpx.AsyncClient() as client:
        async with asyncio.timeout(seconds):
            while True:
                assert server.process.poll() is None, "the server exited"
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{server.url}/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def redis_server(port: int, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of the test's own on `port`, with `options` (e.g. "--enable-debug-command",
    "yes")."""
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
        + ["--daemonize", "no", "--loglevel", "warning", *options],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def wait_redis(url: str, seconds: float = 10.0) -> None:
    client = aioredis.from_url(url)
    try:
        async with asyncio.timeout(seconds):
            while True:
                with contextlib.suppress(OSError, aioredis.ConnectionError):
                    if await client.ping():
                        return
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()


def session_cookie(secret: str, key: str, csrf: str) -> str:
    """The cookie starlette's SessionMiddleware would set after `web.auth.login` (`key`: the
    server-side session's, from user_sessions.start)."""
    data = {"sid": key, "csrf": csrf}
    signer = itsdangerous.TimestampSigner(secret)
    return signer.sign(b64encode(json.dumps(data).encode())).decode()


@contextlib.contextmanager
def migrated_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of its own for a server test module: a SQLite file, or a PostgreSQL
    database created for it and dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzzdb') / 'fair.db'}"
        migrations.upgrade(url)
        yield url
        return
    name = f"fair_fuzz_{id(tmp_path_factory)}"
    asyncio.run(
        _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    )
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        migrations.upgrade(url)
        yield url
    finally:
        asyncio.run(_run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _run_admin(*statements: str) -> None:
    engine = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    await engine.dispose()
