"""`fair serve` run for real: its listening socket queues an opening's connections (issue 17:
a connection finding the listen queue full is dropped, its browser retrying seconds later)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fair import cli

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _backlog(port: int) -> int | None:
    """The backlog of the socket listening on `port`, as the kernel holds it (ss's Send-Q of
    a listening socket); None while nothing listens there."""
    shown = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(shown[2]) if shown else None


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
def test_fair_serve_listens_with_a_backlog_for_an_opening(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "FAIR_ENV": "test",
        "FAIR_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fair.db'}",
        "BROADCAST_URL": "memory://",
    }
    command = [sys.executable, "-m", "fair", "serve", "--migrate", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline, found = time.monotonic() + 60, None
        while found is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            found = _backlog(port)
    finally:
        process.terminate()
        process.wait(timeout=20)
    cap = int(cli.SOMAXCONN.read_text())
    # uvicorn's default (2048) before; the kernel caps what is asked at net.core.somaxconn.
    assert found == min(cli.LISTEN_BACKLOG, cap) and cli.LISTEN_BACKLOG == 4096


def test_a_kernel_cap_under_the_backlog_is_said_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    low, high = tmp_path / "low", tmp_path / "high"
    low.write_text("128\n")
    high.write_text("4096\n")
    with caplog.at_level(logging.WARNING, logger="fair.cli"):
        assert cli._check_backlog(high) == 4096
        assert caplog.messages == []
        assert cli._check_backlog(low) == 128
        assert cli._check_backlog(tmp_path / "absent") is None
    assert caplog.messages == [
        "net.core.somaxconn is 128: connections queued past 128 are dropped at an opening "
        "(sysctl -w net.core.somaxconn=4096; docs/OPERATIONS.md)"
    ]
