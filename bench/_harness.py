"""What the benchmark scripts share: a throwaway PostgreSQL database, a free port, percentiles,
the search stemmer memoised for bulk loads, and the child processes (`Children`: fair's web
servers and a script's own client processes, every one stopped when the script ends, even on
an exception, Ctrl-C or `timeout`'s SIGTERM, and killed by the kernel if the script is killed
with SIGKILL). Imported as `_harness` (a script's own folder
is first on sys.path); the leading underscore keeps it out of tests/test_bench_smoke.py's list
of scripts to run."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import text

from fair import db, search

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parent.parent


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
        self.started: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Children:
        self._previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for process in self.started:
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
        self, args: list[str], env: dict[str, str], **popen: object
    ) -> subprocess.Popen[bytes]:
        """`args` run by this Python (`-m …` or a script), from the checkout's root."""
        popen.setdefault("preexec_fn", die_with_parent)
        process = subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT, **popen)  # type: ignore[call-overload]
        self.started.append(process)
        return process

    def web_servers(self, env: dict[str, str], count: int, *, seconds: float = 60.0) -> list[int]:
        """`count` web processes as `fair serve` runs them (uvicorn, no access log), each on a
        free port; their ports, once each answers a connection (at most `seconds`)."""
        ports = []
        for _ in range(count):
            port = free_port()
            command = ["-m", "uvicorn", "fair.app:create_app", "--factory", "--port", str(port)]
            self.start([*command, "--log-level", "warning", "--no-access-log"], env)
            ports.append(port)
        for process, port in zip(self.started[-count:], ports, strict=True):
            wait_listening(process, port, seconds)
        return ports


def wait_listening(process: subprocess.Popen[bytes], port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited at start (code {process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise SystemExit(f"no server listening on port {port} after {seconds:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (/proc/<pid>/stat utime and stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_open_files(needed: int) -> None:
    """The soft limit of open files up to the hard one (children inherit it); SystemExit when
    even that is under `needed`."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if needed > hard:
        raise SystemExit(f"RLIMIT_NOFILE is {hard}: {needed:,} open files needed")
