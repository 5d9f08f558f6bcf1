"""What the benchmark scripts share: a throwaway PostgreSQL database, logged-in users (server-side
sessions and their signed cookies), server processes (`fair serve`'s uvicorn, `fair worker`,
`fair media`) started, awaited and stopped, their RSS and CPU read from /proc, a free port,
percentiles, and the search stemmer memoised for bulk loads. Imported as `_harness` (a script's
own folder is first on sys.path); the leading underscore keeps it out of
tests/test_bench_smoke.py's list of scripts to run."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from base64 import b64encode
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from fair import db, search

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def pg_database(name: str, create: bool) -> str:
    """Drop the database `name` (its connections closed), create it again if `create`; its URL."""
    engine = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


async def add_candidates(session: AsyncSession, prefix: str, n: int, now: datetime) -> list[int]:
    """`n` candidates inserted at once, `<prefix><i>@bench.fair`, who can log in with no
    password (the benchmarks sign their session cookies themselves): their ids, in order."""
    from sqlalchemy import select

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


# Server processes ------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
Process = subprocess.Popen[bytes]


def spawn_web(env: dict[str, str], count: int, within: float = 60.0) -> list[tuple[Process, int]]:
    """`count` uvicorn processes serving fair as `fair serve` runs it, each on a free port,
    listening when this returns (each within `within` seconds)."""
    started = []
    for _ in range(count):
        port = free_port()
        command = ["-m", "uvicorn", "fair.app:create_app", "--factory", "--port", str(port)]
        command += ["--log-level", "warning", "--no-access-log"]
        started.append((subprocess.Popen([sys.executable, *command], env=env, cwd=ROOT), port))
    for process, port in started:
        wait_listening(process, port, within)
    return started


def spawn_fair(env: dict[str, str], *command: str) -> Process:
    """`python -m fair <command>` (`worker`, `media`), with this checkout's fair."""
    return subprocess.Popen([sys.executable, "-m", "fair", *command], env=env, cwd=ROOT)


def wait_listening(process: Process, port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited at start (code {process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise SystemExit(f"no server listening on port {port} after {seconds:.0f} s")


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (/proc/<pid>/stat utime and stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
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
    return search._stemmer().stemWord(word)  # type: ignore[no-any-return]


def fast_stems(text_: str) -> str:
    """search.stems, memoised per word (the pure-Python stemmer costs ~0.1 ms a word)."""
    return " ".join(_stem(w) for w in search.words(text_))
