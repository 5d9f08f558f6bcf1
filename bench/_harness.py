"""What the benchmark scripts share: a throwaway PostgreSQL database (`pg_scratch`), a published
edition with logged-in candidates (`seed_edition`: server-side sessions and their signed
cookies), the planner's statistics after a bulk load (`settle`), the child processes
(`Children`: fair's web servers, `fair worker` / `fair media`, a script's own servers and
clients, every one stopped when the script ends, even on an exception, Ctrl-C or `timeout`'s
SIGTERM, and killed by the kernel if the script is killed with SIGKILL), their RSS and CPU read
from /proc, a free port, percentiles, and the search stemmer memoised for bulk loads. Imported
as `_harness` (a script's own folder is first on sys.path); the leading underscore keeps it out
of tests/test_bench_smoke.py's list of scripts to run."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from base64 import b64encode
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from fair.editions import EditionInput

# fair and SQLAlchemy are imported where used: relay.py's media and bot processes import this
# module too, and start within a deadline on a loaded machine (~2 s of imports otherwise).

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parent.parent


async def pg_database(name: str, create: bool) -> str:
    """Drop the database `name` (its connections closed), create it again if `create`; its URL."""
    from sqlalchemy import text

    from fair import db

    engine = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return pg_url(name)


async def settle(engine: AsyncEngine, url: str) -> None:
    """After a bulk load: the planner's statistics as the server refreshes them at start
    (SQLite), or as autovacuum would leave them (PostgreSQL 13+ vacuums after inserts too):
    statistics, and the visibility map that lets an index-only scan skip the table's pages."""
    from sqlalchemy import text

    from fair import db

    if url.startswith("sqlite"):
        await db.refresh_statistics(engine)
        return
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM: no transaction
        await conn.execute(text("VACUUM ANALYZE"))


@contextlib.contextmanager
def pg_scratch(name: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database `name` for the block (its URL), dropped after it unless `keep`."""
    url = asyncio.run(pg_database(name, create=True))
    try:
        yield url
    finally:
        if not keep:
            asyncio.run(pg_database(name, create=False))


def pg_url(name: str) -> str:
    """The URL of the database `name` on PG_ADMIN's server."""
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


@dataclass
class Seeded:
    """What `seed_edition` wrote: the organiser's and edition's ids, the edition's slug, and the
    candidates' ids and session cookies, in the same order."""

    organiser_id: int
    edition_id: int
    slug: str
    user_ids: list[int]
    cookies: list[str]


async def seed_edition(
    url: str, *, n: int, prefix: str, secret: str, data: EditionInput | None = None
) -> Seeded:
    """Migrate the database at `url`, then write an organiser, the edition they publish (`data`:
    the demo's edition around now unless given) and `n` candidates `<prefix><i>@bench.fair`, each
    logged in once (`log_in`), their cookies signed with `secret`."""
    from fair import accounts, clock, db, demo, editions, migrations
    from fair.enums import Role

    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    now = clock.now()
    async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
        organiser = await accounts.create_user(
            session, email="org@bench.fair", name="Org", password=None, role=Role.ORGANISER
        )
        edition = await editions.create(session, by=organiser, data=data or demo.edition_input(now))
        await editions.publish(session, edition)
        ids = await add_candidates(session, prefix, n, now)
        keys = await log_in(session, ids, now)
        seeded = Seeded(organiser.id, edition.id, edition.slug, ids, [])
    await engine.dispose()
    seeded.cookies = [cookie(secret, key) for key in keys]
    return seeded


async def add_candidates(session: AsyncSession, prefix: str, n: int, now: datetime) -> list[int]:
    """`n` candidates inserted at once, `<prefix><i>@bench.fair`, who can log in with no
    password (the benchmarks sign their session cookies themselves): their ids, in order."""
    from sqlalchemy import insert, select

    from fair import accounts
    from fair.enums import Role
    from fair.models import User

    rows = [
        {
            "email": f"{prefix}{i}@bench.fair",
            "name": f"{prefix.title()} {i}",
            "password_hash": accounts.UNUSABLE_PASSWORD,
            "role": Role.CANDIDATE.value,
            "locale": "fr",
            "auth_version": secrets.token_hex(8),
            "is_active": True,
            "created_at": now,
        }
        for i in range(n)
    ]
    for i in range(0, n, 2000):
        await session.execute(insert(User), rows[i : i + 2000])
    mine = User.email.like(f"{prefix}%@bench.fair")
    return list(await session.scalars(select(User.id).where(mine).order_by(User.id)))


async def log_in(session: AsyncSession, user_ids: Sequence[int], now: datetime) -> list[str]:
    """A server-side session (fair.user_sessions) for each user, written as a log-in writes it
    (argon2 would take minutes for thousands): their keys, in order, for `cookie`."""
    from sqlalchemy import insert

    from fair import tokens
    from fair.models import UserSession

    keys = [secrets.token_urlsafe(32) for _ in user_ids]
    rows = [
        {"key_hash": tokens.digest(key), "user_id": uid, "created_at": now, "last_seen_at": now}
        for uid, key in zip(user_ids, keys, strict=True)
    ]
    for i in range(0, len(rows), 2000):
        await session.execute(insert(UserSession), rows[i : i + 2000])
    return keys


def cookie(secret: str, key: str) -> str:
    """The `fair_session` cookie naming session `key`, signed as starlette's SessionMiddleware
    signs it after a log-in (with the session's CSRF secret, for forms)."""
    import itsdangerous

    data = {"sid": key, "csrf": secrets.token_urlsafe(32)}
    signed = itsdangerous.TimestampSigner(secret).sign(b64encode(json.dumps(data).encode()))
    return signed.decode()


# Processes ------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (/proc/<pid>/stat utime and stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` now, KiB (/proc/<pid>/status VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


async def forget_namespace(redis_url: str, namespace: str) -> None:
    """Delete the Redis keys of a run's namespace (`<namespace>:*`)."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: Sequence[float], p: float) -> float:
    """The `p`th percentile (inclusive method); the value itself for one, NaN for none."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


@functools.cache
def _stem(word: str) -> str:
    from fair import search

    return search.stemmer().stemWord(word)  # type: ignore[no-any-return]


def fast_stems(text_: str) -> str:
    """search.stems, memoised per word (the pure-Python stemmer costs ~0.1 ms a word)."""
    from fair import search

    return " ".join(_stem(w) for w in search.words(text_))


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Have the kernel kill this process when the process that started it dies, even by
    SIGKILL or `timeout -s KILL` (Linux; elsewhere nothing). Call it first thing in a child."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


# Child processes ---------------------------------------------------------------------------------


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler (`signal.signal(signal.SIGTERM, exit_on_sigterm)`): `finally` blocks
    and `with` exits run when `timeout` ends a script."""
    raise SystemExit(128 + signum)


class Children:
    """The processes a benchmark starts; `with Children() as children:` stops them all on the
    way out (SIGTERM, then SIGKILL after `grace` seconds), and turns SIGTERM into SystemExit
    meanwhile so that `timeout` ending the script still runs this clean-up."""

    def __init__(self, grace: float = 10.0) -> None:
        self.grace = grace
        self.started: list[subprocess.Popen[Any]] = []

    def __enter__(self) -> Children:
        self._previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for process in reversed(self.started):  # clients before the servers they use
                if process.stdin is not None:  # a child reading commands sees their end
                    with contextlib.suppress(OSError):
                        process.stdin.close()
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.grace
            for process in self.started:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                if process.poll() is None:
                    process.kill()
                    process.wait()
        finally:
            signal.signal(signal.SIGTERM, self._previous)

    def start(
        self, args: list[str], env: dict[str, str] | None = None, **popen: object
    ) -> subprocess.Popen[bytes]:
        """`args` run by this Python (`-m …` or a script), from the checkout's root; `env`
        None: this process's."""
        popen.setdefault("preexec_fn", die_with_parent)
        process = subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT, **popen)  # type: ignore[call-overload]
        self.started.append(process)
        return process  # type: ignore[no-any-return]

    def talker(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """`start`, with a text pipe each way: a child that reads commands on its stdin and
        answers lines on its stdout (closing its stdin at the end tells it to stop)."""
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
        return self.start(args, env, **pipes)  # type: ignore[return-value]

    def fair(self, env: dict[str, str], *command: str) -> subprocess.Popen[bytes]:
        """`python -m fair <command>` (`worker`, `media`), with this checkout's fair."""
        return self.start(["-m", "fair", *command], env)

    def servers(
        self,
        command: Callable[[int], list[str]],
        env: dict[str, str],
        count: int,
        *,
        seconds: float = 60.0,
    ) -> list[tuple[subprocess.Popen[bytes], int]]:
        """`count` processes running `command(port)`, each on a free port; each process and
        its port, once each answers a connection (at most `seconds`)."""
        started = []
        for _ in range(count):
            port = free_port()
            started.append((self.start(command(port), env), port))
        for process, port in started:
            wait_listening(process, port, seconds)
        return started

    def web_servers(self, env: dict[str, str], count: int, *, seconds: float = 60.0) -> list[int]:
        """`count` web processes as `fair serve` runs them (uvicorn, no access log); their
        ports, once each answers a connection (at most `seconds`)."""
        started = self.servers(uvicorn, env, count, seconds=seconds)
        return [port for _, port in started]


def uvicorn(port: int) -> list[str]:
    """fair's web process on `port` as `fair serve` runs it (uvicorn, no access log, its listen
    backlog fair.cli.LISTEN_BACKLOG, and /live served as fair.cli.WEBSOCKETS says: without them
    uvicorn kept its defaults, its legacy websockets protocol and permessage-deflate's zlib
    streams on every socket)."""
    from fair import cli

    command = ["-m", "uvicorn", "fair.app:create_app", "--factory", "--port", str(port)]
    sockets = [f"--{key.replace('_', '-')}={value}" for key, value in cli.WEBSOCKETS.items()]
    backlog = f"--backlog={cli.LISTEN_BACKLOG}"
    return [*command, *sockets, backlog, "--log-level", "warning", "--no-access-log"]


class ServerFailed(SystemExit):
    """A server process exited, or did not listen, at start. Uncaught, it ends the script with
    its message; bench/fanout.py catches it to say the mode failed and run the next one."""


def wait_listening(process: subprocess.Popen[bytes], port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"a server exited at start (code {process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise ServerFailed(f"no server listening on port {port} after {seconds:.0f} s")


def raise_open_files(needed: int = 0) -> None:
    """The soft limit of open files up to the hard one (children inherit it); SystemExit when
    even that is under `needed`."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if needed > hard:
        raise SystemExit(f"RLIMIT_NOFILE is {hard}: {needed:,} open files needed")
