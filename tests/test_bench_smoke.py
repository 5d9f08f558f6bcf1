"""Every benchmark script (bench/*.py) runs at a tiny size, so a rename cannot break one silently.

Each script found in bench/ must have its smoke arguments in SMOKE (a new script without an
entry fails `test_every_bench_script_has_smoke_arguments`). All scripts are started at once as
subprocesses, as a person would run them (they mostly wait on their own subprocesses, sockets
and timers, so together they take about as long as the slowest), and each must exit with 0 after
printing its closing figures line. The figures themselves mean nothing at this size.

PostgreSQL databases and the Redis namespace get this run's own names, so that two test runs (or
a real benchmark) on the machine never meet.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if not p.name.startswith("_"))
RUN = f"smoke_{os.getpid()}"
# Seconds for all of them together: 92 alone on this 2-core machine (2026-12-04). Serial
# (tests/conftest.py SERIAL): beside two test workers, fanout's overload scenario and sockets'
# servers missed 150 s (full run of 2026-12-04).
TIMEOUT = 240


@dataclass(frozen=True)
class Smoke:
    args: tuple[str, ...]
    closing: str  # a regular expression matching the closing figures line(s)


SMOKE = {
    "api.py": Smoke(
        (
            "--offers=300",
            "--booths=10",
            "--requests=2",
            "--warmup=1",
            "--pages=2",
            f"--pg-database=fair_bench_api_{RUN}",
        ),
        # Both backends: the list, a search and a revalidation, each beside its reference.
        r"^sqlite +list .*\nsqlite +search .*\nsqlite +304 .*\npostgresql +list .*\n"
        r"postgresql +search .*\npostgresql +304 .* goal p95 <= 5 ms: (ok|SLOW)$",
    ),
    "dashboard.py": Smoke(
        ("--small", "--requests=2", "--warmup=1", f"--pg-database=fair_bench_dashboard_{RUN}"),
        # Both backends measured, the export read to its last row on each.
        r"^sqlite +dashboard .*\nsqlite +export cold .*\npostgresql +dashboard .* goal p95 <= "
        r"150 ms: (ok|SLOW)\npostgresql +export cold .*: (ok|MISSED)$",
    ),
    "fanout.py": Smoke(
        # One mode of each kind of server: a bare reference, fair with the memory broadcaster
        # beside a relay, fair's uvicorn processes on Redis.
        (
            "--clients=4",
            "--messages=2",
            "--bursts=1",
            "--client-processes=1",
            "--idle=2",
            "--modes=reference,fair-1-process-memory,fair-2-processes",
            f"--pg-database=fair_bench_fanout_{RUN}",
            f"--namespace=fair-bench-{RUN}",
            # and the overload scenario, for one second: its events, and commands answered
            "--scenario=both",
            "--seconds=1",
            "--commands=5",
        ),
        # Every frame delivered in every mode: a renamed channel would lose them all. Under
        # overload, some of the state events reach every socket (fewer than all when they
        # coalesce) and no command fails.
        r"^reference +4 +[1-9][\d,]*/[\d,]+ +[\d,]+ +\d+ +\d+ +[1-4] +\d+ +\d+ +0 .*\n"
        r"fair-1-process-memory +4 +[1-9][\d,]*/[\d,]+ +[\d,]+ +\d+ +\d+ +[1-4] +\d+ +\d+ +0 .*\n"
        r"fair-2-processes +4 +[1-9][\d,]*/[\d,]+ +[\d,]+ +\d+ +\d+ +[1-4] +\d+ +\d+ +0 .*\n"
        # then each mode's goals, stated
        r"Goals \(issue 17 item 4\): .*\n  reference at 4 sockets: .* -> (ok|MISSED) \(the "
        r"baseline\)\n  fair-1-process-memory at 4 sockets: .*own commands p99 \d+ ms, 0 failed "
        r"\((ok|MISSED)\).* -> (ok|MISSED)\n  fair-2-processes at 4 sockets: .* -> (ok|MISSED)\n"
        r"(.|\n)*"
        r"^reference +4 +8/8 .*\nfair-1-process-memory +4 +8/8 .*\nfair-2-processes +4 +8/8 .*$",
    ),
    "interview.py": Smoke(
        ("--calls=1",),
        r"^goal p95 <= 2000 ms on each side: (ok|SLOW) \(p95 \d+ ms\)$",
    ),
    "match_latency.py": Smoke(
        (
            "--offers=600",
            "--profiles=200",
            "--booths=10",
            "--requests=2",
            "--warmup=1",
            f"--pg-database=fair_bench_match_{RUN}",
        ),
        # Both kinds on both backends, each beside its reference.
        r"^sqlite +offers for you .*\nsqlite +candidates for offer .*\npostgresql +offers for "
        r"you .*\npostgresql +candidates for offer .* goal p95 <= 100 ms: (ok|SLOW)$",
    ),
    "matching.py": Smoke(
        ("--queries=30",),
        # The baseline and fair's two readings on the same queries, then the goals.
        r"^bm25 +code@1 .*\nfair +code@1 .*\nfair→parent +code@1 .* n=30\n\n"
        r"goal success@1 parent >= 0\.80: (ok|MISSED) .*; code >= 0\.70: (ok|MISSED) .*$",
    ),
    "pagecost.py": Smoke(
        ("--counted=1", "--timed=2", f"--pg-database=fair_bench_pagecost_{RUN}"),
        # Every page counted and timed, then the verdict on the round trips of no work.
        r"^search +\d+\.\d .*\n(.|\n)*^search +p50 .*\n"
        r"round trips of no work per read page: home \d+\.\d, .*; goal 0: (ok|MISSED)$",
    ),
    "relay.py": Smoke(
        ("--viewers=2", "--seconds=1", "--warmup=0.5", "--bots-per-process=2", "--processes=2"),
        # Two `fair media` processes, one viewer each: both got a complete frame (conn 2), the
        # second through a leg; then the 500 viewers/core target's line and the talk's verdict.
        r"^forward:2 +2 +2 +\d+\.\d\d .*\ntarget >= 500 viewers/core .*: (ok|MISSED)\n"
        r"one talk over 2 media processes, 2 viewers: .*: (valid|INVALID)$",
    ),
    "relay_send.py": Smoke(
        ("--viewers=2", "--seconds=1"),
        # Both viewers started; the send path's CPU per packet.
        r"^viewers 2  packets sent \d+  received \d+  send path \d+\.\d\d us/packet .*$",
    ),
    "relay_memory.py": Smoke(
        (
            "--minutes=0.1",
            "--warmup=1",
            "--viewers=3",
            "--churn=1",
            "--interval=1",
            "--sample=1",
            "--settle=1",
        ),
        r"^RSS first 2 s after warm-up .* goal < 10%: (ok|MISSED)$",
    ),
    "search.py": Smoke(
        (
            "--offers=1000",
            "--booths=40",
            "--requests=2",
            "--warmup=1",
            f"--pg-database=fair_bench_{RUN}",
        ),
        # The three kinds of search (goal 20 ms), then the suggestions as typed (goal 50 ms).
        r"^postgresql combined +p50 .* goal p95 <= 20 ms: (ok|SLOW)\n"
        r"postgresql jobs +p50 .* goal p95 <= 50 ms: (ok|SLOW)\n"
        r"postgresql communes +p50 .* goal p95 <= 50 ms: (ok|SLOW)$",
    ),
    "soak.py": Smoke(
        (
            "--minutes=0.25",
            "--interval=5",
            "--warmup=5",
            "--users=20",
            "--viewers=2",
            "--interviews=1",
            "--booths=2",
            "--offers=2",
            "--think=2",
            "--visit=5",
            "--sample=1",
            "--chat-every=3",
            f"--pg-database=fair_bench_soak_{RUN}",
            f"--namespace=fair-bench-soak-{RUN}",
        ),
        # Three intervals measured, then the three goals and the reference.
        r"^ +3 +\d+ .*\n(.|\n)*^RSS growth after warm-up .* goal < 10%: (ok|MISSED)\n"
        r"p99 first interval .* goal <= 1\.5x: (ok|MISSED)\nreference: .*\n"
        r"errors \d+; goal 0: (ok|MISSED)$",
    ),
    "sockets.py": Smoke(
        (
            "--sockets=6",
            "--idle=1",
            "--messages=2",
            "--client-processes=1",
            f"--pg-database=fair_bench_sockets_{RUN}",
            f"--namespace=fair-bench-sockets-{RUN}",
        ),
        # Both modes held every socket and delivered every event to each.
        r"^reference +6 .* 12/12 .*\nfair +6 .* 12/12 .*(ok|MISS [a-z0-9,]+)$",
    ),
    "surge.py": Smoke(
        (
            "--candidates=20",
            "--window=3",
            "--deadline=2",
            "--per-minute=5",
            "--client-processes=2",
            f"--pg-database=fair_bench_surge_{RUN}",
            f"--namespace=fair-bench-surge-{RUN}",
        ),
        # Both modes ran to their line, every candidate's outcome known (none unfinished);
        # with 5 let in a minute, 'on' held someone (10 at least).
        r"^off +20 in 3 s: errors \d+ \(.*\), unfinished 0, .*\n"
        r"on +20 in 3 s: errors \d+ \(.*\), unfinished 0, .* held [1-9]\d* .*\n"
        r"goal 0 errors: off (ok|FAILED .*), on (ok|FAILED .*); "
        r"ETA error p90 <= 25 %: (ok|MISSED|n/a) \(.*\)$",
    ),
    "webhooks.py": Smoke(
        ("--events=60", "--senders=2", f"--pg-database=fair_bench_webhooks_{RUN}"),
        # All delivered, none twice, every signature valid, on each backend.
        r"^sqlite +60 events .*: ok\npostgresql +60 events .*: ok$",
    ),
}


@dataclass
class Result:
    code: int | None
    stdout: str
    stderr: str
    seconds: float


def test_every_bench_script_has_smoke_arguments() -> None:
    assert len(SCRIPTS) >= 5
    assert sorted(SMOKE) == SCRIPTS


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    """Every script with an entry in SMOKE, started together, waited for together."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "BROADCAST_URL", "FAIR_BROADCAST_NAMESPACE", "SECRET_KEY"):
        env.pop(name, None)
    started = time.monotonic()
    processes = {
        script: subprocess.Popen(
            [sys.executable, str(BENCH / script), *SMOKE[script].args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: stopped with its children
        )
        for script in SCRIPTS
        if script in SMOKE
    }
    found = {}
    for script, process in processes.items():
        try:
            stdout, stderr = process.communicate(
                timeout=max(1.0, TIMEOUT - (time.monotonic() - started))
            )
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            stderr += f"\n(killed after {TIMEOUT} s)"
        found[script] = Result(process.returncode, stdout, stderr, time.monotonic() - started)
    return found


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_runs_at_a_tiny_size(results: dict[str, Result], script: str) -> None:
    assert script in SMOKE, f"bench/{script} has no smoke arguments in SMOKE"
    result = results[script]
    assert result.code == 0, result.stderr[-4000:]
    assert re.search(SMOKE[script].closing, result.stdout, re.MULTILINE), result.stdout[-4000:]
