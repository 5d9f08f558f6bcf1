"""What the benchmark scripts share: a throwaway PostgreSQL database, server processes (the one
place that starts them: `spawn`, `stop`, their memory and CPU), a free port, percentiles, and the
search stemmer memoised for bulk loads. Imported as `_harness` (a script's own folder
is first on sys.path); the leading underscore keeps it out of tests/test_bench_smoke.py's list
of scripts to run."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from fair import db, search

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parent.parent
Servers = list[tuple[subprocess.Popen[bytes], int]]  # each server process and its port


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


class ServerFailed(RuntimeError):
    """A server process exited, or did not listen, at start."""


def uvicorn(port: int) -> list[str]:
    """The arguments of fair's app on `port`, served as `fair serve` serves it."""
    command = ["-m", "uvicorn", "fair.app:create_app", "--factory", "--port", str(port)]
    return command + ["--log-level", "warning", "--no-access-log"]


def spawn(command: Callable[[int], list[str]], env: Mapping[str, str], count: int = 1,
          *, seconds: float = 60.0) -> Servers:  # fmt: skip
    """`count` processes `python <command(port)>`, each on a free port, started together; once
    each is listening (within `seconds`, else ServerFailed and every one stopped)."""
    started: Servers = []
    try:
        for _ in range(count):
            port = free_port()
            argv = [sys.executable, *command(port)]
            started.append((subprocess.Popen(argv, env=dict(env), cwd=ROOT), port))
        for process, port in started:
            wait_listening(process, port, seconds)
    except BaseException:
        stop_all(started)
        raise
    return started


def wait_listening(process: subprocess.Popen[bytes], port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"a server exited at start (code {process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise ServerFailed(f"no server listening on port {port} after {seconds:.0f} s")


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; reaped either way."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_all(servers: Servers) -> None:
    for process, _ in servers:
        stop(process)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (/proc/<pid>/stat utime and stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


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
