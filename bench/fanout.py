"""Live fan-out: N sockets following one edition's channel receive a burst of events.

Usage: .venv/bin/python bench/fanout.py [--clients 1000,5000] [--messages 20] [--bursts 2]
       .venv/bin/python bench/fanout.py --clients 1000,5000,10000      # with the stretch goal
       .venv/bin/python bench/fanout.py --scenario overload --clients 5000   # 20 events/s

For each N and each mode, fresh server process(es) are started, N WebSocket clients (spread over
`--client-processes` load processes, asyncio + uvloop + `websockets`) connect with a session
cookie of their own, each `subscribe` to `edition:<id>`, then the bench publishes `--messages`
event frames on Redis, each carrying its send time, and every client records when each arrives.
Modes:

* `reference`: a bare `websockets` server (this file, `--serve-reference`): a set of sockets,
  `websockets.broadcast` of every frame its Redis subscription receives. The baseline.
* `fair-1-process`: `python -m uvicorn fair.app:create_app --factory`, as `fair serve` runs it,
  with BROADCAST_URL=redis://: the bench publishes on `fair:edition:<id>` as
  `Broadcaster.publish` would.
* `fair-1-process-memory`: the same app with BROADCAST_URL=memory://, served by uvicorn inside
  this file (`--serve-fair-memory`) next to a relay task that calls
  `app.state.broadcast.publish` for each frame received on the same Redis channel (the app's own
  publishing path; nothing of fair is patched).
* `fair-2-processes`: two uvicorn processes on one Redis; client i connects to server i % 2.

The overload scenario (`--scenario overload`, or `both`; issue 17 item 4) replaces the bursts:
`--rate` edition-wide state events a second (`booth.waiting` of `--booths` booths, as the hall
gets them) for `--seconds`, beyond what two cores deliver to 5,000 sockets, while one more
socket (the "publishing recruiter", following the same channel) sends up to `--commands`
commands while the events go on (`queue.status`: a database read, which the reference does too
in plain asyncpg, or `--command ping`), each once the previous one is answered, one every
seconds/commands at most, and times each round trip. Every mode gets the same events, and every
phase has a deadline (a mode that misses one says what it got, and the next runs); `--timeout`
bounds the whole run (the mode under way stops, its servers are stopped, the rest is not run).
Printed per row: delivered/expected (fair coalesces state for a slow socket: a socket gets the
latest count of each booth, not every one), deliveries/s, p50/p99 latency, the sockets that
ended with the latest state, the commands' p50/p99 round trip and failures, and the frames
fair's /metrics counted as coalesced and dropped and the resyncs; then one line a mode with
each requirement's figures, ratios and ok/MISSED ([delivery] deliveries/s >= 0.5x the
reference's and p99 <= 2x its p99, [state] every socket with the latest state, [commands] own
commands p99 < 1 s with none failed, [counted] coalesced and dropped frames read from /metrics).

All modes get the same burst through the same Redis channel, and the same load client. Printed
per row: delivered/expected, deliveries per second (all deliveries over the time from the first
publish to the last arrival, summed over the measured bursts), p50/p99 delivery latency (arrival
time minus the send time in the frame), server RSS growth per connection (VmRSS after connecting
minus before, summed over the server processes, over N), then the ratios to the reference and
the goal's verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import resource
import secrets
import signal
import subprocess
import sys
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _harness  # noqa: E402  (after the line above: it imports this checkout's fair)

PG_NAME = "fair_bench_fanout"
REDIS_URL = "redis://127.0.0.1:6379/0"
NAMESPACE = "fair"  # the servers' FAIR_BROADCAST_NAMESPACE, unless `--namespace`
MODES = ("reference", "fair-1-process", "fair-1-process-memory", "fair-2-processes")
GOAL_RATE = 0.5  # at least half the reference's deliveries per second
GOAL_P99 = 2.0  # at most twice the reference's p99
BUSY_ATTEMPTS = 5  # connects closed with 1013, or subscribes answered "server.busy", a socket
TRY_LATER = 1013  # the close code of fair's "service briefly unavailable"
GOAL_COMMAND_P99 = 1.0  # overload: the publisher's own commands' round trip, seconds


def prefix() -> str:
    """The Redis channel prefix: the servers' namespace (`--namespace`, which `main` puts in the
    environment of every process it starts) and ":", as `Broadcaster.publish` names channels."""
    return os.environ.get("FAIR_BROADCAST_NAMESPACE", NAMESPACE) + ":"


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # uvicorn falls back to asyncio too
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


out_of_time: list[str] = []  # why, once `--timeout` is reached (time_limit)


def run(coro: Any) -> Any:
    with asyncio.Runner(loop_factory=new_loop) as runner:
        try:
            return runner.run(coro)
        except asyncio.CancelledError:
            if out_of_time:
                raise OutOfTime(out_of_time[0]) from None
            raise


# The reference server and the memory-broadcaster wrapper (subprocesses) -------------------------


# What a bare server reads for `queue.status` (fair.live.booth_commands.queue_status): the booth
# if the public sees it (approved, its edition published), then its queue's counts.
REFERENCE_BOOTH = """
    SELECT b.id FROM booths b JOIN editions e ON e.id = b.edition_id
    WHERE b.id = $1 AND b.status = 'approved' AND e.published_at IS NOT NULL"""
REFERENCE_COUNTS = """
    SELECT status, count(*) FROM queue_entries
    WHERE booth_id = $1 AND active_key = 1 GROUP BY status"""


async def serve_reference(port: int, channel: str) -> None:
    """A bare `websockets` broadcast server speaking just enough of PROTOCOL.md: `subscribe`,
    `ping`, and `queue.status` answered as fair answers it (the same database reads, in plain
    asyncpg, on DATABASE_URL)."""
    import asyncpg
    import redis.asyncio as aioredis
    from websockets.asyncio.server import broadcast, serve
    from websockets.exceptions import ConnectionClosed

    clients: set[Any] = set()
    dsn = os.environ["DATABASE_URL"].replace("+asyncpg", "")
    database = await asyncpg.create_pool(dsn, min_size=1, max_size=4)

    async def answer(action: str, payload: dict[str, Any]) -> list[Any]:
        if action != "queue.status":
            return ["success", payload]
        booth_id = int(payload["booth_id"])
        async with database.acquire() as conn:
            if await conn.fetchval(REFERENCE_BOOTH, booth_id) is None:
                return ["error", {"code": "booth.not_found"}]
            found = dict(await conn.fetch(REFERENCE_COUNTS, booth_id))
        counts = {k: found.get(k, 0) for k in ("waiting", "called", "in_conversation")}
        return ["success", {"booth_id": booth_id, "entry_id": None, **counts}]

    async def handler(ws: Any) -> None:
        try:
            async for text in ws:
                action, id_, payload = json.loads(text)
                if action == "subscribe":
                    clients.add(ws)
                kind, answered = await answer(action, payload)
                await ws.send(json.dumps([kind, id_, answered], separators=(",", ":")))
        except ConnectionClosed:  # the load client exits without closing
            pass
        finally:
            clients.discard(ws)

    pubsub = aioredis.from_url(REDIS_URL, decode_responses=True).pubsub()
    await pubsub.subscribe(prefix() + channel)  # before listening: accepting means ready
    async with serve(handler, "127.0.0.1", port, max_size=16 * 1024, backlog=2048):
        async for item in pubsub.listen():
            if item["type"] == "message":
                broadcast(clients, item["data"])
                # Let the handlers run between two broadcasts: with Redis frames already
                # buffered, `listen` does not yield, and under overload commands would wait
                # until the publishing stops (which waits for their answers).
                await asyncio.sleep(0)


async def serve_fair_memory(port: int, channel: str) -> None:
    """fair's app with BROADCAST_URL=memory://, fed by `app.state.broadcast.publish`."""
    import redis.asyncio as aioredis
    import uvicorn

    from fair.app import create_app

    app = create_app()
    pubsub = aioredis.from_url(REDIS_URL, decode_responses=True).pubsub()
    await pubsub.subscribe(prefix() + channel)

    async def relay() -> None:
        async for item in pubsub.listen():
            if item["type"] == "message":
                await app.state.broadcast.publish(channel, item["data"])

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    relaying = asyncio.create_task(relay())
    try:
        await server.serve()
    finally:
        relaying.cancel()


# The load client (multiprocessing) ---------------------------------------------------------------


class Refused(Exception):
    pass


@dataclass
class Tally:
    expected: int = 0
    count: int = 0
    closed: int = 0
    last: float = 0.0
    latencies: array[float] = field(default_factory=lambda: array("d"))
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def client_run(pipe: Any, urls: list[str], cookies: list[str], channel: str, batch: int,
                     source: str | None = None) -> None:  # fmt: skip
    """Open a socket per cookie (`batch` at a time, from the address `source` if given: each
    source address has its own ~28,000 ephemeral ports), subscribe each to `channel`, then
    answer the parent's commands on `pipe`."""
    import websockets
    from websockets.exceptions import ConnectionClosed

    tally = Tally()
    busy_retries = [0]
    sockets: list[Any] = []
    readers: list[asyncio.Task[None]] = []
    latest: list[str] = []  # each socket's last event frame

    async def reader(ws: Any, k: int) -> None:
        try:
            async for msg in ws:
                if '"sent":' not in msg:  # a heartbeat
                    continue
                latest[k] = msg
                now = time.time()
                tally.latencies.append(now - float(msg[msg.rindex(":") + 1 : -2]))
                tally.last = now
                tally.count += 1
                if tally.count >= tally.expected:
                    tally.done.set()
        except ConnectionClosed:
            pass
        tally.closed += 1

    async def one(url: str, cookie: str) -> None:
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            try:
                ws = await subscribed(url, cookie)
                break
            except ConnectionClosed as exc:  # closed at once with 1013: the database busy
                if exc.rcvd is None or exc.rcvd.code != TRY_LATER or attempt == BUSY_ATTEMPTS:
                    raise
            busy_retries[0] += 1  # reconnect, as static/live.js does, after a pause
            await asyncio.sleep(attempt * (0.5 + random.random()))
        sockets.append(ws)
        latest.append("")
        readers.append(asyncio.create_task(reader(ws, len(latest) - 1)))

    async def subscribed(url: str, cookie: str) -> Any:
        ws = await websockets.connect(
            url,
            additional_headers={"Cookie": f"fair_session={cookie}"},
            max_size=None,
            ping_interval=None,
            open_timeout=120,
            close_timeout=1,
            local_addr=(source, 0) if source else None,
        )
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            await ws.send(json.dumps(["subscribe", attempt, {"channel": channel}]))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if reply[0] == "success" or attempt == BUSY_ATTEMPTS or not busy(reply):
                break
            # "try again in a few seconds", as a browser would (static/live.js backs off)
            busy_retries[0] += 1
            await asyncio.sleep(attempt * (0.5 + random.random()))
        if reply[0] != "success":
            await ws.close()
            raise Refused(f"subscribe {channel!r} answered {reply}")
        return ws

    loop = asyncio.get_running_loop()
    errors: list[str] = []
    started = time.monotonic()
    for i in range(0, len(cookies), batch):
        done = await asyncio.gather(
            *(one(urls[j % len(urls)], cookies[j]) for j in range(i, min(i + batch, len(cookies)))),
            return_exceptions=True,
        )
        errors += [f"{type(e).__name__}: {e}" for e in done if isinstance(e, BaseException)]
        if any(isinstance(e, Refused) for e in done):
            break
    if busy_retries[0]:
        print(f"   (a load process retried {busy_retries[0]:,} busy connects or subscribes)",
              flush=True)  # fmt: skip
    pipe.send(("ready", len(sockets), errors[:3], len(errors), time.monotonic() - started))
    while True:
        command, *args = await loop.run_in_executor(None, pipe.recv)
        if command == "exit":
            return
        # A burst is coming: arm, then collect until `expected` arrived, `idle` seconds went
        # by without one, or `limit` seconds (if given) since armed; then, if asked, the
        # sequence number in each socket's last event frame (-1: none).
        expected, idle, *rest = args
        limit, lasts = rest if rest else (float("inf"), False)
        tally.expected, tally.count, tally.last = expected, 0, 0.0
        tally.latencies = array("d")
        tally.done.clear()
        latest[:] = [""] * len(latest)
        ends = time.monotonic() + limit
        pipe.send(("armed",))
        seen = -1
        while not tally.done.is_set() and tally.count != seen and time.monotonic() < ends:
            seen = tally.count
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.done.wait(), min(idle, ends - time.monotonic()))
        pipe.send(("done", tally.count, tally.last, tally.closed, tally.latencies.tobytes()))
        if lasts:
            pipe.send(("lasts", array("q", map(last_seq, latest)).tobytes()))


def busy(reply: list[Any]) -> bool:
    """Whether a reply is fair's "briefly unavailable" (its database pool full)."""
    details = reply[2] if reply[0] == "error" and isinstance(reply[2], dict) else {}
    return details.get("code") == "server.busy"


def last_seq(frame: str) -> int:
    """The sequence number an event frame of this bench carries (-1 for none)."""
    if not frame:
        return -1
    payload = json.loads(frame)[2]
    return int(payload.get("waiting", payload.get("seq", -1)))


def client_main(pipe: Any, urls: list[str], cookies: list[str], channel: str, batch: int,
                source: str | None = None) -> None:  # fmt: skip
    _harness.die_with_parent()
    _harness.raise_open_files()
    run(client_run(pipe, urls, cookies, channel, batch, source))
    pipe.close()
    os._exit(0)  # let the kernel close thousands of sockets at once


# Setting up --------------------------------------------------------------------------------------


async def seed(url: str, n_users: int, secret: str) -> tuple[int, int, list[str]]:
    """A fresh database: a published edition with one approved booth, `n_users` candidates.

    Returns the edition's id, the booth's and the candidates' session cookies.
    """
    from fair import accounts, db, demo, employers
    from fair.enums import BoothStatus, Role
    from fair.models import Edition, User

    await _harness.pg_database(url.rsplit("/", 1)[1], create=True)
    seeded = await _harness.seed_edition(url, n=n_users, prefix="fanout", secret=secret)
    engine = db.create_engine(url)
    async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
        organiser = await session.get_one(User, seeded.organiser_id)
        edition = await session.get_one(Edition, seeded.edition_id)
        recruiter = await accounts.create_user(
            session, email="rec@bench.fair", name="Rec", password=None, role=Role.RECRUITER
        )
        spec = demo.EMPLOYERS[0]
        employer = await employers.register(
            session,
            by=recruiter,
            data=employers.EmployerInput(
                name=spec.name,
                siret=demo.siret(0),
                naf_code=spec.naf,
                size=spec.size,
                commune=spec.commune,
                website="",
                description="",
                video_url="",
            ),
        )
        booth = await employers.request_booth(
            session, by=recruiter, employer=employer, edition=edition
        )
        await employers.set_status(session, booth, BoothStatus.APPROVED, by=organiser)
        booth_id = booth.id
    await engine.dispose()
    return seeded.edition_id, booth_id, seeded.cookies


def spawn_servers(
    children: _harness.Children, mode: str, env: dict[str, str], channel: str
) -> Servers:
    def command(port: int) -> list[str]:
        if mode == "reference":
            return [__file__, "--serve-reference", str(port), channel]
        if mode == "fair-1-process-memory":
            return [__file__, "--serve-fair-memory", str(port), channel]
        return _harness.uvicorn(port)

    broadcast = "memory://" if mode == "fair-1-process-memory" else REDIS_URL
    count = 2 if mode == "fair-2-processes" else 1
    # 120 s: a fair process took more than 60 s to listen at load 50 (2 cores)
    started = children.servers(command, {**env, "BROADCAST_URL": broadcast}, count, seconds=120)
    time.sleep(1.0)  # let start-up allocations settle before reading RSS
    return started


# Measuring ---------------------------------------------------------------------------------------


@dataclass
class Row:
    mode: str
    clients: int
    delivered: int
    expected: int
    rate: float
    p50: float
    p99: float
    kib: float
    cpu_us: float
    closed: int


Servers = list[tuple[subprocess.Popen[bytes], int]]  # each server process and its port


@contextlib.contextmanager
def connected(mode: str, n: int, cookies: list[str], channel: str, env: dict[str, str],
              args: argparse.Namespace) -> Iterator[tuple[Servers, list[Any], float]]:  # fmt: skip
    """Fresh server(s) of `mode`, and `n` clients (the first `n` cookies) subscribed to
    `channel` in the load processes: the servers, the pipes to the load processes, and the
    servers' memory growth per connection (KiB)."""
    with _harness.Children() as children:
        servers = spawn_servers(children, mode, env, channel)
        pipes, procs = [], []
        ctx = multiprocessing.get_context("spawn")
        try:
            before = sum(_harness.rss_kib(p.pid) for p, _ in servers)
            urls = [f"ws://127.0.0.1:{port}/live" for _, port in servers]
            share = -(-n // args.client_processes)
            started = time.monotonic()
            for k in range(args.client_processes):
                mine = cookies[k * share : min(n, (k + 1) * share)]
                if not mine:
                    continue
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=client_main, args=(child, urls, mine, channel, args.batch), daemon=True
                )
                proc.start()
                pipes.append(parent)
                procs.append(proc)
            connected = 0
            deadline = started + connect_seconds(args, n)
            for pipe in pipes:
                if not pipe.poll(max(0.0, deadline - time.monotonic())):
                    raise ModeFailed(
                        f"{mode}: {n:,} clients not subscribed within {deadline - started:.0f} s "
                        f"({connected:,} reported by then; --connect-seconds)"
                    )
                _, ok, errors, n_errors, _seconds = pipe.recv()
                connected += ok
                if any("Refused" in e for e in errors):
                    raise ModeFailed(
                        f"{mode}: the server refused the subscription to {channel}: {errors[0]}\n"
                        "fair.live.socket.check_subscribe must let a logged-in user follow an "
                        "edition's channel (see bench/README.md, 'Live fan-out')."
                    )
                if n_errors:
                    print(f"   {n_errors} connections failed, e.g. {errors}", flush=True)
            seconds = time.monotonic() - started
            time.sleep(1.0)
            kib = (sum(_harness.rss_kib(p.pid) for p, _ in servers) - before) / max(connected, 1)
            print(f"   {mode:<22} N={n:>6,}: {connected:,} subscribed in {seconds:5.1f} s, "
                  f"{kib:5.1f} KiB/connection", flush=True)  # fmt: skip
            yield servers, pipes, kib
        finally:
            for pipe in pipes:
                with contextlib.suppress(OSError):
                    pipe.send(("exit",))
            for proc in procs:
                proc.join(10)
                if proc.is_alive():
                    proc.kill()


class ModeFailed(Exception):
    """A mode could not be measured to the end: said, and the next mode runs."""


class OutOfTime(Exception):
    """`--timeout` reached: the mode under way stops (its servers and load processes are
    stopped on the way out), the others are not run, and what was measured is printed."""


def time_limit(seconds: float) -> None:
    """Raise OutOfTime in this (main) thread `seconds` from now, wherever it waits (in an event
    loop, which would only log it, its tasks are cancelled instead, and `run` raises it)."""

    def expired(signum: int, frame: Any) -> None:
        out_of_time.append(f"--timeout {seconds:g} s reached")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise OutOfTime(out_of_time[0]) from None
        for task in asyncio.all_tasks(loop):
            task.cancel()

    if seconds > 0:
        signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)


def drop_database(name: str) -> None:
    """Drop the bench's database; a failure is said (what was measured is still printed after:
    a DROP timed out once at load 50, and the traceback took the figures with it)."""
    try:
        run(_harness.pg_database(name, create=False))
    except Exception as exc:
        print(f"   the database {name} was not dropped: {type(exc).__name__}: {exc}", flush=True)


def connect_seconds(args: argparse.Namespace, n: int) -> float:
    """How long `n` clients may take to connect and subscribe: --connect-seconds, else 60 s
    and 20 ms a socket (fair took 54-62 s for 10,000 on this machine; the reference 8 s)."""
    return float(args.connect_seconds or 60 + 0.02 * n)


def arm(pipes: list[Any], cookies: list[str], n: int, messages: int, idle: float,
        limit: float, lasts: bool = False) -> None:  # fmt: skip
    """Tell each load process how many deliveries to wait for (for `idle` seconds without one,
    `limit` at most); return once all are armed."""
    per_client = [len(c) for c in _shares(cookies[:n], len(pipes))]
    for pipe, m in zip(pipes, per_client, strict=True):
        pipe.send(("burst", m * messages, idle, limit, lasts))
    answer(pipes, 60, "armed")


def answer(pipes: list[Any], seconds: float, what: str) -> list[tuple[Any, ...]]:
    """Each load process's next message, all within `seconds` (else ModeFailed)."""
    deadline = time.monotonic() + seconds
    found = []
    for k, pipe in enumerate(pipes):
        if not pipe.poll(max(0.0, deadline - time.monotonic())):
            raise ModeFailed(f"load process {k} sent no {what!r} within {seconds:.0f} s")
        found.append(pipe.recv())
    return found


def measure(mode: str, n: int, cookies: list[str], channel: str, env: dict[str, str],
            args: argparse.Namespace) -> Row:  # fmt: skip
    import redis

    with connected(mode, n, cookies, channel, env, args) as (servers, pipes, kib):
        publisher = redis.Redis.from_url(REDIS_URL)
        delivered = 0
        elapsed = 0.0
        latencies = array("d")
        closed = 0
        cpu = 0.0
        for burst in range(args.bursts + 1):  # burst 0 warms up, unmeasured
            messages = 1 if burst == 0 else args.messages
            arm(pipes, cookies, n, messages, args.idle, args.drain)
            cpu_before = sum(_harness.cpu_seconds(p.pid) for p, _ in servers)
            first = time.time()
            for seq in range(messages):
                frame = ["event", channel, {"event": "bench.tick", "seq": seq, "sent": time.time()}]
                publisher.publish(prefix() + channel, json.dumps(frame, separators=(",", ":")))
            last = first
            for _, count, at, closed_now, raw in answer(pipes, args.drain + 60, "done"):
                if burst:
                    delivered += count
                    latencies.frombytes(raw)
                last = max(last, at)
                closed = closed_now
            if burst:
                elapsed += last - first
                cpu += sum(_harness.cpu_seconds(p.pid) for p, _ in servers) - cpu_before
            time.sleep(0.5)
        publisher.close()
        latencies = array("d", sorted(latencies))
        return Row(
            mode,
            n,
            delivered,
            n * args.messages * args.bursts,
            delivered / elapsed if elapsed else 0.0,
            _harness.pct(latencies, 50) * 1000,
            _harness.pct(latencies, 99) * 1000,
            kib,
            cpu / delivered * 1e6 if delivered else float("nan"),
            closed,
        )


# The overload scenario ---------------------------------------------------------------------------


@dataclass
class Overload:
    mode: str
    clients: int
    delivered: int
    expected: int
    rate: float
    p50: float
    p99: float
    fresh: int  # sockets whose last event frame was the last one published
    commands: array[float]  # round trips of the commands answered with success, seconds
    failed: int
    sent: int  # commands sent while the events went on (of --commands)
    counted: dict[str, float]  # fair's /metrics: coalesced, dropped, resyncs (summed)
    notes: list[str] = field(default_factory=list)  # what went wrong, if anything

    @classmethod
    def failure(cls, mode: str, clients: int, reason: str) -> Overload:
        nan = float("nan")
        counted = dict.fromkeys(METRICS, nan)
        return cls(mode, clients, 0, 0, 0.0, nan, nan, 0, array("d"), 0, 0, counted, [reason])


METRICS = {
    "coalesced": ("fair_live_frames_coalesced_total", ""),
    "dropped": ("fair_live_frames_dropped_total", '{where="socket"}'),
    "resyncs": ("fair_live_resyncs_total", ""),
}


def scrape(servers: Servers, mode: str, notes: list[str]) -> dict[str, float]:
    """The outbox counters of fair's /metrics, summed over the servers (zeros for the
    reference, which has none; NaN, and a note, for a server that does not answer)."""
    import urllib.request

    found = dict.fromkeys(METRICS, 0.0)
    if mode == "reference":
        return found
    for _, port in servers:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as got:
                text = got.read().decode()
        except OSError as exc:
            notes.append(f"/metrics on port {port}: {exc}")
            return dict.fromkeys(METRICS, float("nan"))
        for line in text.splitlines():
            for key, (name, labels) in METRICS.items():
                if line.startswith(name + labels + " "):
                    found[key] += float(line.rsplit(" ", 1)[1])
    return found


@dataclass
class Driven:
    """What the publishing user's socket saw (`drive`)."""

    round_trips: array[float] = field(default_factory=lambda: array("d"))  # answered commands, s
    failed: int = 0  # commands answered with an error or unanswered
    sent: int = 0  # commands sent while the events went on
    published: int = 0  # events published
    notes: list[str] = field(default_factory=list)

    def fail(self, reason: str, commands: int = 1) -> None:
        self.failed += commands
        if len(self.notes) < 3:
            self.notes.append(reason)
            print(f"   a command failed: {reason}", flush=True)


async def drive(urls: list[str], cookie: str, channel: str, booth_id: int,
                args: argparse.Namespace) -> Driven:  # fmt: skip
    """Publish `--rate` state events a second for `--seconds`, exactly (the same events for
    every mode: a slow server does not get more of them), while the publishing user's own
    socket (following `channel` too) sends `--commands` commands spread over the same time,
    each once the previous one is answered (as a person does), one every seconds/commands at
    most. No command is sent after the events end (`Driven.sent` says how many were); the one
    under way then is waited for, `--command-timeout` seconds at most."""
    import redis.asyncio as aioredis
    import websockets

    loop = asyncio.get_running_loop()
    waiting: dict[int, asyncio.Future[list[Any]]] = {}
    driven = Driven()
    publisher = aioredis.from_url(REDIS_URL)
    ws = await websockets.connect(
        urls[0],
        additional_headers={"Cookie": f"fair_session={cookie}"},
        max_size=None,
        ping_interval=None,
        open_timeout=60,
        close_timeout=1,
    )

    async def read() -> None:
        try:
            async for text in ws:
                frame = json.loads(text)
                if frame[0] != "event" and (future := waiting.pop(frame[1], None)) is not None:
                    if not future.done():  # else it timed out: a late answer
                        future.set_result(frame)
        finally:  # the socket closed: what is waiting will not be answered
            for future in waiting.values():
                if not future.done():
                    future.set_result(["closed", ws.close_code, ws.close_reason])

    reader = asyncio.create_task(read())

    async def command(i: int, action: str, payload: dict[str, Any]) -> None:
        waiting[i] = future = loop.create_future()
        started = time.perf_counter()
        try:
            if reader.done():
                raise ConnectionError(f"socket closed ({ws.close_code} {ws.close_reason})")
            await ws.send(json.dumps([action, i, payload]))
            frame = await asyncio.wait_for(future, args.command_timeout)
        except TimeoutError:
            frame = [f"no answer within {args.command_timeout:g} s"]
        except (ConnectionError, websockets.ConnectionClosed) as exc:
            frame = [f"{type(exc).__name__}: {exc}"]
        finally:
            waiting.pop(i, None)
        if frame[0] == "success":
            driven.round_trips.append(time.perf_counter() - started)
        else:
            driven.fail(f"{action} #{i} answered {frame}")

    async def publish() -> None:
        start = time.monotonic()
        for seq in range(round(args.rate * args.seconds)):
            await asyncio.sleep(max(0.0, start + seq / args.rate - time.monotonic()))
            payload = {
                "event": "booth.waiting",
                "booth_id": 1 + seq % args.booths,
                "waiting": seq,
                "sent": time.time(),
            }
            frame = json.dumps(["event", channel, payload], separators=(",", ":"))
            await publisher.publish(prefix() + channel, frame)
            driven.published = seq + 1

    publishing = None
    try:
        await command(0, "subscribe", {"channel": channel})
        if driven.failed:
            raise ModeFailed(f"the publishing user could not subscribe to {channel}")
        publishing = asyncio.create_task(publish())
        payload = {"booth_id": booth_id} if args.command == "queue.status" else {}
        for i in range(1, args.commands + 1):
            if publishing.done():
                break
            due = time.monotonic() + args.seconds / args.commands
            driven.sent = i
            await command(i, args.command, payload)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        await publishing
    finally:
        if publishing is not None:
            publishing.cancel()
        reader.cancel()
        await ws.close()
        await publisher.aclose()
    return driven


def measure_overload(mode: str, n: int, cookies: list[str], channel: str, booth_id: int,
                     env: dict[str, str], args: argparse.Namespace) -> Overload:  # fmt: skip
    with connected(mode, n, cookies, channel, env, args) as (servers, pipes, _kib):
        urls = [f"ws://127.0.0.1:{port}/live" for _, port in servers]
        # How many events is known at the end: each load process stops after --idle seconds
        # without a delivery, or --drain seconds after the events end.
        window = args.seconds + args.command_timeout
        arm(pipes, cookies, n, 10**9, args.idle, window + args.drain, lasts=True)
        notes: list[str] = []
        before = scrape(servers, mode, notes)
        first = time.time()
        driven = run(drive(urls, cookies[n], channel, booth_id, args))
        notes += driven.notes
        delivered, last, latencies, fresh = 0, first, array("d"), 0
        try:
            counts = answer(pipes, window + args.drain + 60 - (time.time() - first), "done")
            lasts = answer(pipes, 60, "lasts")
        except ModeFailed as exc:  # the figures of the load processes that answered are lost
            counts, lasts = [], []
            notes.append(str(exc))
        closed = 0
        for _, count, at, closed_there, raw in counts:
            delivered += count
            latencies.frombytes(raw)
            last = max(last, at)
            closed += closed_there
        if closed:  # e.g. the server's keepalive pings unanswered by a starved load process
            notes.append(f"{closed:,} sockets closed during the run")
        for _, raw in lasts:
            fresh += array("q", raw).count(driven.published - 1)
        after = scrape(servers, mode, notes)
    latencies = array("d", sorted(latencies))
    return Overload(
        mode,
        n,
        delivered,
        n * driven.published,
        delivered / (last - first) if last > first else 0.0,
        _harness.pct(latencies, 50) * 1000,
        _harness.pct(latencies, 99) * 1000,
        fresh,
        array("d", sorted(driven.round_trips)),
        driven.failed,
        driven.sent,
        {key: after[key] - before[key] for key in METRICS},
        notes,
    )


def print_overload(rows: list[Overload], args: argparse.Namespace) -> None:
    print(f"\nOverload ({args.rate:g} edition-wide state events/s for {args.seconds:g} s over "
          f"{args.booths} booths, up to {args.commands} {args.command} of the publishing user "
          f"meanwhile, each after the previous answer):")  # fmt: skip
    print(f"{'mode':<22} {'clients':>7} {'delivered/expected':>18} {'deliveries/s':>12} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'latest':>7} {'cmd p50 ms':>10} {'cmd p99 ms':>10} "
          f"{'cmd failed':>10} {'coalesced':>9} {'dropped':>7} {'resyncs':>7}")  # fmt: skip
    for row in rows:
        cmd50 = _harness.pct(row.commands, 50) * 1000
        cmd99 = _harness.pct(row.commands, 99) * 1000
        print(f"{row.mode:<22} {row.clients:>7,} {f'{row.delivered:,}/{row.expected:,}':>18} "
              f"{row.rate:>12,.0f} {row.p50:>8.0f} {row.p99:>8.0f} {row.fresh:>7,} "
              f"{cmd50:>10.0f} {cmd99:>10.0f} {row.failed:>10} "
              f"{row.counted['coalesced']:>9,.0f} {row.counted['dropped']:>7,.0f} "
              f"{row.counted['resyncs']:>7,.0f}")  # fmt: skip
        for note in row.notes:
            print(f"{'':<22}   {note}")
    print("Goals (issue 17 item 4): [delivery] deliveries/s >= "
          f"{GOAL_RATE}x the reference's, p99 <= {GOAL_P99}x its p99; [state] every socket ends "
          f"with the latest state; [commands] own commands p99 < {GOAL_COMMAND_P99 * 1000:.0f} ms "
          "with none failed; [counted] what is coalesced and dropped is in /metrics:")  # fmt: skip
    for row in rows:
        ref = next((r for r in rows if r.mode == "reference" and r.clients == row.clients), None)
        print(f"  {row.mode} at {row.clients:,} sockets: {overload_goals(row, ref)}")


def overload_goals(row: Overload, ref: Overload | None) -> str:
    """One line: each requirement's figures, ratios to the reference and ok/MISSED, then the
    verdict."""

    def said(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    def ratio(mine: float, theirs: float) -> float:
        return mine / theirs if theirs else float("nan")

    baseline = row.mode == "reference"
    cmd99 = _harness.pct(row.commands, 99) if row.commands else float("nan")
    oks = {
        "state": row.fresh == row.clients,
        "commands": row.failed == 0 and cmd99 < GOAL_COMMAND_P99,
        # fair's counters were read before and after (NaN: /metrics did not answer)
        "counted": baseline or all(v == v for v in row.counted.values()),
    }
    parts = []
    if not baseline and ref is not None:
        rate, p99 = ratio(row.rate, ref.rate), ratio(row.p99, ref.p99)
        oks["delivery"] = rate >= GOAL_RATE and p99 <= GOAL_P99
        parts.append(f"[delivery] {rate:.2f}x the reference's deliveries/s, p99 {p99:.2f}x its "
                     f"p99 ({said(oks['delivery'])})")  # fmt: skip
    parts.append(f"[state] latest on {row.fresh:,}/{row.clients:,} sockets ({said(oks['state'])})")
    versus = "" if baseline or ref is None or not ref.commands else (
        f" ({ratio(cmd99, _harness.pct(ref.commands, 99)):.1f}x the reference's)"
    )  # fmt: skip
    parts.append(f"[commands] {row.sent} sent, own commands p99 {cmd99 * 1000:.0f} ms, "
                 f"{row.failed} failed ({said(oks['commands'])}){versus}")  # fmt: skip
    counted = (f"coalesced {row.counted['coalesced']:,.0f}, dropped {row.counted['dropped']:,.0f},"
               f" resyncs {row.counted['resyncs']:,.0f}")  # fmt: skip
    parts.append("[counted] none (a bare server counts nothing)" if baseline
                 else f"[counted] {counted} ({said(oks['counted'])})")  # fmt: skip
    verdict = "ok" if all(oks.values()) else "MISSED"
    if baseline:
        verdict += " (the baseline)"
    return "; ".join(parts) + f" -> {verdict}"


def _shares(items: list[str], parts: int) -> list[list[str]]:
    share = -(-len(items) // parts)
    return [items[k * share : (k + 1) * share] for k in range(parts) if items[k * share :]]


def verdict(row: Row, ref: Row | None) -> tuple[str, str, str]:
    if ref is None or row.mode == "reference":
        return "", "", ""
    rate = row.rate / ref.rate if ref.rate else float("nan")
    p99 = row.p99 / ref.p99 if ref.p99 else float("nan")
    misses = []
    if row.delivered < row.expected:
        misses.append("lost")
    if not rate >= GOAL_RATE:
        misses.append("rate")
    if not p99 <= GOAL_P99:
        misses.append("p99")
    return f"{rate:.2f}x", f"{p99:.2f}x", "ok" if not misses else "MISS " + ",".join(misses)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] in ("--serve-reference", "--serve-fair-memory"):
        _harness.raise_open_files()
        serve = serve_reference if sys.argv[1] == "--serve-reference" else serve_fair_memory
        with contextlib.suppress(KeyboardInterrupt):
            run(serve(int(sys.argv[2]), sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--clients", default="1000,5000", help="comma-separated N (e.g. 1000,5000,10000)"
    )
    parser.add_argument("--messages", type=int, default=20, help="messages per burst")
    parser.add_argument(
        "--bursts", type=int, default=2, help="measured bursts (after a 1-message warm-up)"
    )
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument(
        "--channel",
        choices=("edition", "booth"),
        default="edition",
        help="which channel the clients follow (fan-out is the same past check_subscribe)",
    )
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument(
        "--batch", type=int, default=100, help="concurrent connects per client process"
    )
    parser.add_argument(
        "--idle", type=float, default=10.0, help="seconds without a delivery that end a burst"
    )
    parser.add_argument(
        "--scenario",
        choices=("burst", "overload", "both"),
        default="burst",
        help="bursts of messages (the default), the overload scenario, or both",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="overload: events a second")
    parser.add_argument("--seconds", type=float, default=15.0, help="overload: its duration")
    parser.add_argument(
        "--booths", type=int, default=20, help="overload: booths whose counts the events carry"
    )
    parser.add_argument(
        "--commands", type=int, default=100, help="overload: the publishing user's commands"
    )
    parser.add_argument(
        "--command",
        choices=("queue.status", "ping"),
        default="queue.status",
        help="overload: the publishing user's command (ping: no database read)",
    )
    parser.add_argument(
        "--command-timeout",
        type=float,
        default=10.0,
        help="overload: seconds after which a command without an answer counts as failed",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1200.0,
        help="seconds for the whole run (0: none); past them the mode under way stops, the "
        "others are not run, and what was measured is printed",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=120.0,
        help="seconds the load processes wait at most for late deliveries (a burst, the "
        "overload's backlog)",
    )
    parser.add_argument(
        "--connect-seconds",
        type=float,
        default=0.0,
        help="seconds the clients may take to subscribe (default: 60 + 0.02 a client)",
    )
    parser.add_argument(
        "--pg-database", default=PG_NAME, help="the PostgreSQL database to create and drop"
    )
    parser.add_argument(
        "--namespace", default=NAMESPACE, help="the servers' FAIR_BROADCAST_NAMESPACE"
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.clients.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose among {', '.join(MODES)}")
    time_limit(args.timeout)
    _harness.raise_open_files()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if max(sizes) + 100 > limit:
        raise SystemExit(
            f"RLIMIT_NOFILE is {limit}: too low for {max(sizes):,} sockets in one server"
        )

    url = _harness.pg_url(args.pg_database)
    os.environ["FAIR_BROADCAST_NAMESPACE"] = args.namespace  # for prefix(), here and below
    secret = secrets.token_urlsafe(48)
    print(f"Seeding {max(sizes) + 1:,} users…", flush=True)  # one more: the publishing user
    try:
        edition_id, booth_id, cookies = run(seed(url, max(sizes) + 1, secret))
    except OutOfTime as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        drop_database(args.pg_database)
        raise SystemExit(f"nothing measured: {exc} while seeding") from None
    channel = f"edition:{edition_id}" if args.channel == "edition" else f"booth:{booth_id}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secret,
        "FAIR_ENV": "test",
        "FAIR_BACKGROUND_TASKS": "off",
        "FAIR_BROADCAST_NAMESPACE": args.namespace,
    }
    rows: list[Row] = []
    overloads: list[Overload] = []
    started = time.monotonic()
    try:
        for n in sizes if args.scenario != "overload" else []:
            print(f"\n== {n:,} clients, {args.bursts} burst(s) of {args.messages} messages on "
                  f"{channel}", flush=True)  # fmt: skip
            for mode in modes:
                try:
                    rows.append(measure(mode, n, cookies, channel, env, args))
                except (ModeFailed, OutOfTime, _harness.ServerFailed) as exc:
                    print(f"   {mode}: not measured: {exc}", flush=True)
                    if isinstance(exc, OutOfTime):
                        raise
        for n in sizes if args.scenario != "burst" else []:
            print(f"\n== {n:,} clients, overload: {args.rate:g} events/s for {args.seconds:g} s "
                  f"on {channel}", flush=True)  # fmt: skip
            for mode in modes:
                try:
                    overloads.append(
                        measure_overload(mode, n, cookies, channel, booth_id, env, args)
                    )
                except (ModeFailed, OutOfTime, _harness.ServerFailed) as exc:
                    print(f"   {mode}: not measured: {exc}", flush=True)
                    overloads.append(Overload.failure(mode, n, str(exc)))
                    if isinstance(exc, OutOfTime):
                        raise
    except OutOfTime:
        print(f"   the modes after it were not run (--timeout {args.timeout:g} s)", flush=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)  # the clean-up below is not cut short
        drop_database(args.pg_database)
    if overloads:
        print_overload(overloads, args)
    if not rows:
        return
    print(f"\nSummary ({args.bursts} bursts of {args.messages} messages per N, "
          f"{args.client_processes} load processes on the same {os.cpu_count()} cores, "
          f"{time.monotonic() - started:.0f} s):")  # fmt: skip
    head = (f"{'mode':<22} {'clients':>7} {'delivered/expected':>18} {'deliveries/s':>12} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'KiB/conn':>8} {'CPU us/dlv':>10} {'closed':>6}  "
            f"{'rate vs ref':>11} {'p99 vs ref':>10}  "
            f"goal (rate >= {GOAL_RATE}x, p99 <= {GOAL_P99}x, none lost)")  # fmt: skip
    print(head)
    for row in rows:
        ref = next((r for r in rows if r.mode == "reference" and r.clients == row.clients), None)
        rate, p99, ok = verdict(row, ref)
        print(f"{row.mode:<22} {row.clients:>7,} {f'{row.delivered:,}/{row.expected:,}':>18} "
              f"{row.rate:>12,.0f} {row.p50:>8.0f} {row.p99:>8.0f} {row.kib:>8.1f} "
              f"{row.cpu_us:>10.1f} {row.closed:>6}  {rate:>11} {p99:>10}  {ok}")  # fmt: skip


if __name__ == "__main__":
    main()
