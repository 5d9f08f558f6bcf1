"""What the benchmark scripts share: a throwaway PostgreSQL database, a free port, server
processes that cannot outlive the bench, percentiles, and the search stemmer memoised for bulk
loads. Imported as `_harness` (a script's own folder
is first on sys.path); the leading underscore keeps it out of tests/test_bench_smoke.py's list
of scripts to run."""

from __future__ import annotations

import ctypes
import functools
import secrets
import signal
import socket
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

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


def candidate_rows(prefix: str, n: int, now: datetime) -> list[dict[str, Any]]:
    """`n` candidates to insert at once (`insert(User)`), `<prefix><i>@bench.fair`, who can
    log in with no password (the benchmarks sign their session cookies themselves)."""
    from fair import accounts
    from fair.enums import Role

    return [
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


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Have the kernel kill this process when the process that started it dies, even by
    SIGKILL or `timeout -s KILL` (Linux; elsewhere nothing). Call it first thing in a child."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def exit_on_signals() -> None:
    """SIGTERM (`timeout`, kill) and SIGHUP exit through `finally` blocks and atexit, which
    stop the servers and drop the database; the default kills the bench on the spot."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: sys.exit(128 + number))


def spawn(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """A server process (`python` and `command`) that dies with the bench."""
    return subprocess.Popen(
        [sys.executable, *command], env=env, cwd=cwd, preexec_fn=die_with_parent
    )
