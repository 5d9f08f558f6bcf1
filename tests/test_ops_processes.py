"""`fair serve --workers 2` for real (issue 17 item 5): the requests that either worker answered
are all in /metrics, whichever worker serves the scrape (prometheus_client's multiprocess mode,
set up by `fair serve`); log lines are JSON with the request's id; the access log leaves the
probes out. Serial (tests/conftest.py SERIAL): it starts processes and waits for them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fair import migrations

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "fair serve stopped"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"fair serve was not ready within {timeout} s")


def requests_to_home(exposition: str) -> float:
    found = re.search(
        r'^fair_http_requests_total\{method="GET",route="/",status="200"\} (\S+)$',
        exposition,
        re.M,
    )
    return float(found.group(1)) if found else 0.0


def test_two_workers_add_up_and_log_json_lines(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'fair.db'}"
    migrations.upgrade(database)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database,
        "FAIR_DATA_DIR": str(tmp_path),
        "FAIR_BACKGROUND_TASKS": "false",
        "FAIR_LOG_FORMAT": "json",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "fair", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        answers = []
        for i in range(30):  # new connections: the two workers share them
            with httpx.Client() as client:
                answers.append(client.get(f"{url}/", headers={"x-request-id": f"probe-{i}"}))
        scrapes = [requests_to_home(httpx.get(f"{url}/metrics").text) for _ in range(6)]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
    assert [a.status_code for a in answers] == [200] * 30
    assert scrapes == [30.0] * 6
    lines = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()]
    access = [e for e in lines if e["logger"] == "uvicorn.access"]
    assert {e["request_id"] for e in access if '"GET / HTTP' in e["message"]} == {
        f"probe-{i}" for i in range(30)
    }
    assert not [e for e in access if "/metrics" in e["message"] or "/readyz" in e["message"]]
    pids = {e["message"] for e in lines if e["message"].startswith("Started server process")}
    assert len(pids) == 2  # two workers served
