"""bench/_harness.py: the benchmarks' web processes are fair's web process as deployed."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from fair import cli

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import _harness  # noqa: E402


def test_bench_web_processes_serve_sockets_as_fair_serve_does() -> None:
    # The command read by uvicorn's own command line: /live served as `fair serve` has it
    # (fair.cli.WEBSOCKETS), not with uvicorn's defaults (legacy protocol, permessage-deflate).
    command = _harness.uvicorn(8123)
    assert command[:2] == ["-m", "uvicorn"]
    params = uvicorn.main.make_context("uvicorn", command[2:]).params
    assert {key: params[key] for key in cli.WEBSOCKETS} == cli.WEBSOCKETS
    assert (params["app"], params["factory"], params["port"]) == ("fair.app:create_app", True, 8123)
    assert (params["log_level"], params["access_log"]) == ("warning", False)
    assert params["backlog"] == cli.LISTEN_BACKLOG  # an opening's connections queue (issue 17)
