"""Idle /live sockets held on one box: memory, connect time, heartbeat CPU, a broadcast.

Usage: .venv/bin/python bench/sockets.py [--sockets 40000] [--idle 60] [--messages 5]
       .venv/bin/python bench/sockets.py --sockets 2000 --idle 30      # a quick look

40,000 (the default) needs 20,000 sockets a server: over RLIMIT_NOFILE, the bench runs the most
the limit allows (2 x (limit - SERVER_FILES): 39,700 under a hard limit of 20,000) and says why.

N logged-in candidates, each with a server-side session of their own (fair.user_sessions, as a
login makes them) and its signed cookie. For each mode, two server processes are started and N
sockets are opened against them (client i to server i % 2, from `--client-processes` load
processes, the load client of bench/fanout.py, each from a source address of its own,
127.<mode>.0.<2 + k>: one address has ~28,000 ephemeral ports), each connecting and
subscribing to the edition's channel:

* `reference`: the bare `websockets` server of bench/fanout.py (`websockets.broadcast` of its
  Redis subscription; websockets' defaults otherwise, its 20 s keepalive pings included).
* `fair`: `python -m fair serve` (as deployed: uvicorn with fair.cli.WEBSOCKETS) on PostgreSQL
  and Redis, its default heartbeats (FAIR_LIVE_HEARTBEAT_SECONDS, 25 s), uvicorn's keepalive
  pings (60 s) and the hub's rounds (30 s). Admission caps off (FAIR_ADMISSION_* = 0): every
  candidate is let in whatever the hour (with the default caps, the demo edition's gate would
  be armed during its live hours only, and engaged past 1,119 active candidates: then sockets
  wait in line, bench/surge.py's subject).

Measured per mode, beside the reference of the same run: the time until every socket is
connected and subscribed, server memory per socket (VmRSS of both servers after, minus before,
over N), the servers' CPU while the sockets sit idle for `--idle` seconds (heartbeats, pings
and the rounds of fair.live.hub: printed as ms of CPU a second, and us a socket a minute),
then one edition-wide event published `--messages`
times on Redis: deliveries per second and p99 latency. The load processes' CPU is shown too
(they share the cores). Goals (issue 17): connect time <= 1.5x, memory <= 1.0x, delivery rate
>= 0.7x, p99 <= 1.5x the reference's.

Each server holds N/2 sockets: its open-files limit (RLIMIT_NOFILE, raised to the hard limit,
which only root with CAP_SYS_RESOURCE may raise) must exceed N/2 + SERVER_FILES; so must each
load process's share (one per CLIENT_SOCKETS sockets, each from an address of its own). Every
phase has a deadline, and the whole run `--time-limit`; the servers and load processes die
with the bench (even by SIGKILL).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's fair, before _harness imports it

import _harness  # noqa: E402
import fanout  # noqa: E402
from _harness import cpu_seconds, rss_kib  # noqa: E402

PG_NAME = "fair_bench_sockets"
MODES = ("reference", "fair")
GOALS = {"connect": 1.5, "memory": 1.0, "rate": 0.7, "p99": 1.5}
SERVER_FILES = 150  # what a server holds besides its sockets (pool, Redis, listener, logs)
CLIENT_SOCKETS = 10_000  # sockets per load process, at most, unless --client-processes
HEARTBEATS = {  # what keeps an idle socket alive in each mode (printed beside its idle CPU)
    "reference": "websockets' pings every 20 s",
    "fair": "heartbeats every 25 s, pings every 60 s, hub rounds every 30 s",
}


async def seed(url: str, n: int, secret: str) -> tuple[int, list[str]]:
    """A fresh database: a published edition and `n` candidates each logged in once. Returns
    the edition's id and the session cookies (signed as Starlette's SessionMiddleware does)."""
    await _harness.pg_database(url.rsplit("/", 1)[1], create=True)
    seeded = await _harness.seed_edition(url, n=n, prefix="socket", secret=secret)
    return seeded.edition_id, seeded.cookies


Servers = list[tuple[subprocess.Popen[bytes], int]]


def spawn(children: _harness.Children, mode: str, env: dict[str, str], channel: str) -> Servers:
    def command(port: int) -> list[str]:
        if mode == "reference":
            return [str(ROOT / "bench" / "fanout.py"), "--serve-reference", str(port), channel]
        return ["-m", "fair", "serve", "--port", str(port)]

    started = children.servers(command, env, 2)
    time.sleep(1.0)  # let start-up allocations settle before reading RSS
    return started


def open_files(pid: int) -> int:
    """How many files `pid` has open (its sockets among them), 0 once it is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


@dataclass
class Row:
    mode: str
    sockets: int
    connect_s: float
    connect_us: float  # the servers' CPU per socket while connecting
    kib: float
    idle_cores: float
    delivered: int
    expected: int
    rate: float
    p99_ms: float
    errors: int
    client_connect_us: float  # the load processes' CPU per socket while connecting
    client_idle_cores: float
    client_broadcast_cores: float


def measure(mode: str, cookies: list[str], channel: str, env: dict[str, str],
            args: argparse.Namespace) -> Row:  # fmt: skip
    import redis

    n = len(cookies)
    with _harness.Children() as children:
        servers = spawn(children, mode, env, channel)
        pipes, procs = [], []
        ctx = multiprocessing.get_context("spawn")
        deadline = args.deadline or max(120.0, n / 40)  # seconds for every socket to connect
        try:
            pids = [p.pid for p, _ in servers]
            before = sum(rss_kib(pid) for pid in pids)
            cpu_at_start = sum(cpu_seconds(pid) for pid in pids)
            urls = [f"ws://127.0.0.1:{port}/live" for _, port in servers]
            started = time.monotonic()
            shares = [cookies[k :: args.client_processes] for k in range(args.client_processes)]
            for k, mine in enumerate(share for share in shares if share):
                parent, child = ctx.Pipe()
                source = f"127.{1 + MODES.index(mode)}.0.{2 + k}"
                proc = ctx.Process(
                    target=fanout.client_main,
                    args=(child, urls, mine, channel, args.batch, source),
                    daemon=True,
                )
                proc.start()
                pipes.append(parent)
                procs.append(proc)
            clients = [proc.pid for proc in procs if proc.pid is not None]
            client_cpu = sum(cpu_seconds(pid) for pid in clients)
            connected = errors = 0
            for pipe in pipes:
                if not pipe.poll(max(1.0, started + deadline - time.monotonic())):
                    held = sum(open_files(pid) for pid in pids)
                    raise SystemExit(
                        f"{mode}: the sockets did not connect within {deadline:.0f} s (the servers "
                        f"hold {held:,} open files for {n:,} sockets)"
                    )
                _, ok, shown, n_errors, _seconds = pipe.recv()
                connected, errors = connected + ok, errors + n_errors
                if n_errors:
                    print(f"   {mode}: {n_errors} sockets failed, e.g. {shown}", flush=True)
            connect_s = time.monotonic() - started
            connect_us = (sum(cpu_seconds(pid) for pid in pids) - cpu_at_start) * 1e6
            connect_us /= max(connected, 1)
            client_connect_us = (sum(cpu_seconds(pid) for pid in clients) - client_cpu) * 1e6
            client_connect_us /= max(connected, 1)
            time.sleep(1.0)
            kib = (sum(rss_kib(pid) for pid in pids) - before) / max(connected, 1)
            cpu_before = sum(cpu_seconds(pid) for pid in pids)
            client_cpu = sum(cpu_seconds(pid) for pid in clients)
            time.sleep(args.idle)
            idle_cores = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) / args.idle
            client_idle = (sum(cpu_seconds(pid) for pid in clients) - client_cpu) / args.idle
            print(f"   {mode:<9} {connected:,} sockets in {connect_s:.1f} s ({connect_us:.0f} "
                  f"us of server CPU each, {client_connect_us:.0f} us of the clients'), "
                  f"{kib:.1f} KiB each, idle {idle_line(idle_cores, connected)} (clients "
                  f"{client_idle * 100:.2f} % of a core)", flush=True)  # fmt: skip
            client_cpu = sum(cpu_seconds(pid) for pid in clients)
            delivered, elapsed, latencies = broadcast(pipes, shares, channel, args, redis)
            client_busy = sum(cpu_seconds(pid) for pid in clients) - client_cpu
            latencies = array("d", sorted(latencies))
            return Row(
                mode,
                n,
                connect_s,
                connect_us,
                kib,
                idle_cores,
                delivered,
                connected * args.messages,
                delivered / elapsed if elapsed else 0.0,
                _harness.pct(latencies, 99) * 1000,
                errors,
                client_connect_us,
                client_idle,
                client_busy / elapsed if elapsed else 0.0,
            )
        finally:
            for pipe in pipes:
                try:
                    pipe.send(("exit",))
                except OSError:
                    pass
            for proc in procs:
                proc.join(10)
                if proc.is_alive():
                    proc.kill()


def broadcast(pipes: list[Any], shares: list[list[str]], channel: str,
              args: argparse.Namespace, redis: Any) -> tuple[int, float, array[float]]:  # fmt: skip
    """Publish `--messages` events on the edition's channel; what arrived, in how long."""
    publisher = redis.Redis.from_url(fanout.REDIS_URL)
    for pipe, share in zip(pipes, (s for s in shares if s), strict=True):
        pipe.send(("burst", len(share) * args.messages, args.wait))
    for pipe in pipes:
        if not pipe.poll(60):
            raise SystemExit("a load process did not arm within 60 s")
        pipe.recv()  # armed
    first = time.time()
    for seq in range(args.messages):
        frame = ["event", channel, {"event": "bench.tick", "seq": seq, "sent": time.time()}]
        publisher.publish(fanout.prefix() + channel, json.dumps(frame, separators=(",", ":")))
    publisher.close()
    delivered, last, latencies = 0, first, array("d")
    # Each load process answers after `--wait` seconds without a delivery, or once it has all.
    deadline = first + args.wait + max(60.0, sum(map(len, shares)) * args.messages / 2000)
    for pipe in pipes:
        if not pipe.poll(max(1.0, deadline - time.time())):
            raise SystemExit(f"the broadcast was not over within {deadline - first:.0f} s")
        _, count, at, _closed, raw = pipe.recv()
        delivered += count
        last = max(last, at)
        latencies.frombytes(raw)
    return delivered, last - first, latencies


def idle_line(cores: float, sockets: int) -> str:
    """Idle CPU as ms of CPU a second, and us a socket a minute."""
    per_socket = cores * 60e6 / sockets if sockets else float("nan")
    return f"{cores * 1000:.1f} ms of CPU a second ({per_socket:.1f} us a socket a minute)"


def ratios(row: Row, ref: Row) -> dict[str, float]:
    return {
        "connect": row.connect_s / ref.connect_s if ref.connect_s else float("nan"),
        "memory": row.kib / ref.kib if ref.kib > 0 else float("nan"),
        "rate": row.rate / ref.rate if ref.rate else float("nan"),
        "p99": row.p99_ms / ref.p99_ms if ref.p99_ms else float("nan"),
    }


def verdict(found: dict[str, float], row: Row) -> str:
    misses = [k for k in ("connect", "memory", "p99") if not found[k] <= GOALS[k]]
    misses += [] if found["rate"] >= GOALS["rate"] else ["rate"]
    misses += ["lost"] if row.delivered < row.expected or row.errors else []
    return "ok" if not misses else "MISS " + ",".join(misses)


def fit(args: argparse.Namespace) -> None:
    """The sockets and load processes within the open-files limit and the ephemeral ports: the
    most the limit allows when more sockets are asked (said why), SystemExit when the load
    processes asked cannot hold their share."""
    limit, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_process = limit - SERVER_FILES  # sockets a process can hold
    if math.ceil(args.sockets / 2) > per_process:
        most = 2 * per_process
        print(f"{most:,} sockets, not {args.sockets:,}: RLIMIT_NOFILE is {limit:,} (hard limit "
              f"{hard:,}, raised only as root with CAP_SYS_RESOURCE: ulimit -Hn, LimitNOFILE "
              f"in systemd), and each of the 2 servers holds {SERVER_FILES} files besides its "
              f"sockets: 2 x {per_process:,} at most.", flush=True)  # fmt: skip
        args.sockets = most
    share = min(CLIENT_SOCKETS, per_process, ephemeral_ports())
    if args.client_processes <= 0:
        args.client_processes = max(2, math.ceil(args.sockets / share))
    if math.ceil(args.sockets / args.client_processes) > share:
        raise SystemExit(
            f"{args.client_processes} load processes cannot hold {args.sockets:,} sockets: "
            f"{share:,} each at most (RLIMIT_NOFILE {limit:,}, {ephemeral_ports():,} ephemeral "
            f"ports an address); add --client-processes, or leave it out"
        )


def ephemeral_ports() -> int:
    """Ports a source address can connect from (net.ipv4.ip_local_port_range)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return 28_232  # Linux's default range
    return high - low + 1


def time_up(signum: int, frame: object) -> None:
    raise SystemExit("the run went over --time-limit: stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=40_000, help="idle sockets (N)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle CPU measured")
    parser.add_argument("--messages", type=int, default=5, help="events broadcast to all")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds without a delivery "
                        "that end the broadcast")  # fmt: skip
    parser.add_argument("--client-processes", type=int, default=0, help="load processes "
                        f"(0: one per {CLIENT_SOCKETS:,} sockets, 2 at least)")  # fmt: skip
    parser.add_argument("--deadline", type=float, default=0.0, help="seconds for all sockets "
                        "to connect (0: N/40, 120 at least)")  # fmt: skip
    parser.add_argument("--batch", type=int, default=100, help="connects at once per client")
    parser.add_argument("--time-limit", type=float, default=3600.0, help="seconds for the whole "
                        "run, after which it stops (its processes and database too)")  # fmt: skip
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--pg-database", default=PG_NAME)
    parser.add_argument("--namespace", default="fair-bench-sockets", help="Redis namespace")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose among {', '.join(MODES)}")
    # `timeout` stops the servers and drops the database too; so does --time-limit
    signal.signal(signal.SIGTERM, _harness.exit_on_sigterm)
    signal.signal(signal.SIGALRM, time_up)
    signal.alarm(max(1, math.ceil(args.time_limit)))
    _harness.raise_open_files()  # the servers and load processes inherit it
    fit(args)
    url = _harness.pg_url(args.pg_database)
    os.environ["FAIR_BROADCAST_NAMESPACE"] = args.namespace  # for fanout.prefix()
    secret = secrets.token_urlsafe(48)
    print(f"Seeding {args.sockets:,} candidates with a session each…", flush=True)
    rows: list[Row] = []
    try:
        edition_id, cookies = fanout.run(seed(url, args.sockets, secret))
        channel = f"edition:{edition_id}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BROADCAST_URL": fanout.REDIS_URL,
            "SECRET_KEY": secret,
            "FAIR_ENV": "test",
            "FAIR_BACKGROUND_TASKS": "off",
            "FAIR_LOG_LEVEL": "WARNING",
            "FAIR_ADMISSION_ACTIVE_CAP": "0",  # the gate never armed (the module's docstring)
            "FAIR_ADMISSION_ARRIVALS_PER_MINUTE": "0",
        }
        for mode in modes:
            rows.append(measure(mode, cookies, channel, env, args))
    finally:
        signal.alarm(0)  # the clean-up runs to its end
        fanout.run(_harness.pg_database(args.pg_database, create=False))
    print(f"\nSummary ({args.sockets:,} idle sockets over 2 server processes, "
          f"{args.client_processes} load processes on the same {os.cpu_count()} cores, idle "
          f"{args.idle:.0f} s, {args.messages} events to all; admission caps off):")  # fmt: skip
    print(f"{'mode':<9} {'sockets':>7} {'connect s':>9} {'CPU us':>6} {'KiB/sock':>8} "
          f"{'idle %core':>10} "
          f"{'delivered/expected':>18} {'dlv/s':>8} {'p99 ms':>7}  vs reference: connect "
          f"memory rate p99  goal (<= 1.5x, <= 1.0x, >= 0.7x, <= 1.5x)")  # fmt: skip
    ref = next((r for r in rows if r.mode == "reference"), None)
    for row in rows:
        line = (f"{row.mode:<9} {row.sockets:>7,} {row.connect_s:>9.1f} {row.connect_us:>6.0f} "
                f"{row.kib:>8.1f} "
                f"{row.idle_cores * 100:>10.2f} {f'{row.delivered:,}/{row.expected:,}':>18} "
                f"{row.rate:>8,.0f} {row.p99_ms:>7.0f}")  # fmt: skip
        if ref is not None and row is not ref:
            found = ratios(row, ref)
            line += "  " + " ".join(f"{found[k]:.2f}x" for k in GOALS) + "  " + verdict(found, row)
        print(line)
    for row in rows:
        print(f"{row.mode:<9} idle {args.idle:.0f} s: {idle_line(row.idle_cores, row.sockets)} "
              f"of the servers' ({HEARTBEATS[row.mode]})")  # fmt: skip
    for row in rows:
        print(f"{row.mode:<9} load processes (same cores): {row.client_connect_us:.0f} us a "
              f"connect, {row.client_idle_cores * 100:.2f} % of a core idle, "
              f"{row.client_broadcast_cores:.2f} cores in the broadcast")  # fmt: skip


if __name__ == "__main__":
    main()
