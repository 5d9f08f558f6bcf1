"""Opening surge: N candidates arriving within a window, with admission control off and on.

Usage: .venv/bin/python bench/surge.py                       # 10,000 in 60 s (issue 17)
       .venv/bin/python bench/surge.py --candidates 3000 --window 60 --per-minute 1000
       .venv/bin/python bench/surge.py --candidates 200 --window 10 --deadline 5   # a smoke run
       .venv/bin/python bench/surge.py --candidates 300 --window 20 --modes on --active 100 \
           --per-minute 6000 --idle-minutes 2 --stay 10 --deadline 400   # the line moves: ETA

Two web processes (uvicorn, as `fair serve` runs them) on a fresh PostgreSQL database and the
local Redis (a namespace of this run's own), one edition open now with N registered candidates
(logged in by a server-side session each, the cookie signed here: argon2 would take minutes).
Candidate i arrives at i × window / N, on server i % 2, and does what a browser does at
opening: the edition page, the booth hall, then asks for its place in the admission line
(`/e/<slug>/waiting/status`, what the waiting page's script polls every `--poll` seconds)
until it is let in, then opens the `/live` socket and subscribes to its own channel, stays
`--stay` seconds and leaves (closes the socket; 0: stays until every candidate is settled:
connected, refused, or still held at the deadline). The candidates are driven by
`--client-processes` processes of this script (`--client`, candidate i in process i % that
number), so that the client is not what limits.
Modes:

* `off`: no cap (FAIR_ADMISSION_* = 0, the edition's caps empty): everyone is let in at once.
* `on`: the edition's caps `--active` (0: none) and `--per-minute` let in at a steady pace;
  a candidate let in holds a place until `--idle-minutes` after its last request or socket
  round (every 30 s while its socket is open), so with an active cap the line moves as those
  who left free their places: `--stay` + `--idle-minutes` after they were let in, about.

Printed per mode: errors (any answer but 200 on a page or a status, a socket refused or
closed: must be 0), page p50/p99 (edition page and hall), socket connect p99 (connect to the
subscribe's reply), the time from the first arrival until every candidate let in is connected,
how many were held and the largest position shown, the web processes' CPU time per candidate
(the default caps are derived from it: docs/OPERATIONS.md), and the honest-ETA check: for
each held candidate, the first wait the page showed against the wait it had from then on (until the
status that let it in), |shown − actual| / actual, p90 (goal within 25 %), beside the medians
of both, with a verdict: INVALID when fewer than MIN_MEASURED waits were measured, when more
than MAX_CUT of the held were still waiting at the end (the longest waits missing), or when
more were let in without a wait shown than with one. Candidates still held `--deadline`
seconds after the window (or at their mode's share of `--timeout`) are counted apart (not
errors). Every phase has a deadline (seeding, servers' start, the surge, the clean-up), and
every process started is stopped on the way out (bench/_harness.Children). The figures mean
something only on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import select as fd_select
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import time as day_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402
from _harness import (  # noqa: E402
    Children,
    cpu_seconds,
    exit_on_sigterm,
    forget_namespace,
    pct,
    pg_database,
    raise_open_files,
    seed_edition,
)
from sqlalchemy import insert, update  # noqa: E402
from websockets.typing import Origin  # noqa: E402

from fair import channels, clock, db, demo  # noqa: E402
from fair.models import Edition, EditionCandidate  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
MODES = ("off", "on")
GOAL_ETA = 0.25  # the honest-ETA error, p90
SETUP_SECONDS = 300.0  # seeding the database, at most
LEAD = 2.0  # seconds between handing the clients their share and the first arrival
ANSWER_SECONDS = 180.0  # a client's "ready" (imports: 60 s+ on a loaded machine) or tally
DRAIN = 90.0  # seconds after the held candidates' deadline for the last sockets to settle
TALLY = 30.0  # seconds kept within `--timeout` for the last requests, the tallies, the clean-up
MIN_MEASURED = 20  # held candidates whose wait was measured, for the ETA error to mean something
MAX_CUT = 0.10  # share of the held still held at the end: more, and the longest waits are missing


@dataclass
class Seeded:
    slug: str
    users: list[tuple[int, str]]  # (user id, session cookie)


async def seed(url: str, n: int, secret: str, caps: tuple[int, int] | None) -> Seeded:
    """A fresh database: a published edition open all day today (its caps: `caps`), `n`
    registered candidates with a live server-side session each."""
    data = replace(demo.edition_input(clock.now()), opens=day_time(0, 0), closes=day_time(23, 59))
    made = await seed_edition(url, n=n, prefix="surge", secret=secret, data=data)
    engine = db.create_engine(url)
    async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
        if caps is not None:
            await session.execute(
                update(Edition)
                .where(Edition.id == made.edition_id)
                .values(admission_active_cap=caps[0] or None, admission_arrivals_per_minute=caps[1])
            )
        now = clock.now()
        registered = [
            {"edition_id": made.edition_id, "user_id": uid, "registered_at": now}
            for uid in made.user_ids
        ]
        for i in range(0, n, 2000):
            await session.execute(insert(EditionCandidate), registered[i : i + 2000])
    await engine.dispose()
    return Seeded(made.slug, list(zip(made.user_ids, made.cookies, strict=True)))


# One candidate ----------------------------------------------------------------------------------


@dataclass
class Tally:
    errors: list[str] = field(default_factory=list)
    pages: list[float] = field(default_factory=list)  # seconds
    sockets: list[float] = field(default_factory=list)
    connected_at: list[float] = field(default_factory=list)  # since the first arrival
    held: int = 0
    still_held: int = 0
    positions: list[int] = field(default_factory=list)
    shown: list[float] = field(default_factory=list)  # the first wait shown, seconds
    actual: list[float] = field(default_factory=list)  # the wait from then on, seconds
    unknown_eta: int = 0  # held, and no wait shown before being let in
    blind: list[float] = field(default_factory=list)  # seconds held before a wait was shown
    server_cpu: float = 0.0  # seconds of the web processes' CPU over the surge

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def eta_errors(self) -> list[float]:
        return [abs(s - a) / a for s, a in zip(self.shown, self.actual, strict=True)]

    def eta_verdict(self) -> str:
        """'valid' when the ETA error was measured on enough held candidates, the line having
        moved for nearly all of them; else 'INVALID (why)'."""
        measured = len(self.eta_errors)
        if measured < MIN_MEASURED:
            return f"INVALID ({measured} measured, {MIN_MEASURED} needed: did the line move?)"
        if self.still_held > MAX_CUT * self.held:
            return (
                f"INVALID ({self.still_held} of {self.held} held still waiting at the end: "
                "the longest waits are missing; a longer --deadline or --timeout)"
            )
        if self.unknown_eta > measured:
            return f"INVALID ({self.unknown_eta} let in without a wait shown, {measured} with)"
        return "valid"

    @property
    def settled(self) -> int:
        return len(self.connected_at) + len(self.errors) + self.still_held


@dataclass
class Job:
    """A client process's share: candidates (i, user id, cookie) and where and when they go."""

    bases: list[str]
    slug: str
    start: float  # time.time() of the first arrival
    window: float
    total: int
    deadline_at: float  # time.time() after which a held candidate stops asking
    poll: float
    connections: int
    stay: float  # seconds a candidate let in keeps its socket open, then leaves (0: to the end)
    users: list[tuple[int, int, str]]


async def candidate(
    uid: int, cookie: str, base: str, transport: httpx.AsyncHTTPTransport, job: Job, tally: Tally
) -> httpx.Cookies | None:
    """The pages then the line; the cookies to open the socket with once let in, else None."""
    # Not closed: closing a client closes its transport, shared by this process's candidates.
    client = httpx.AsyncClient(transport=transport, base_url=base, timeout=60.0)
    client.cookies.set("fair_session", cookie)
    for path in (f"/e/{job.slug}", f"/e/{job.slug}/booths"):
        began = time.monotonic()
        try:
            answer = await client.get(path)
        except httpx.HTTPError as exc:
            tally.errors.append(f"{path}: {exc!r}")
            return None
        tally.pages.append(time.monotonic() - began)
        if answer.status_code != 200:
            tally.errors.append(f"{path}: {answer.status_code} {answer.text[:200]!r}")
            return None
    return client.cookies if await wait_turn(client, job, tally) else None


async def wait_turn(client: httpx.AsyncClient, job: Job, tally: Tally) -> bool:
    """Ask for one's place until let in (True), or the deadline (False)."""
    shown: tuple[float, float] | None = None  # (when, the wait shown)
    first = True
    held_at = 0.0
    while True:
        try:
            answer = await client.get(
                f"/e/{job.slug}/waiting/status", headers={"accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            tally.errors.append(f"status: {exc!r}")
            return False
        if answer.status_code != 200:
            tally.errors.append(f"status: {answer.status_code} {answer.text[:200]!r}")
            return False
        place = answer.json()
        now = time.monotonic()
        if place["admitted"]:
            if not first:
                if shown is None:
                    tally.unknown_eta += 1
                else:
                    tally.shown.append(shown[1])
                    tally.actual.append(max(now - shown[0], 1e-3))
            return True
        if first:
            tally.held += 1
            tally.positions.append(int(place["position"]))
            first = False
            held_at = now
        if shown is None and place.get("wait_seconds") is not None:
            shown = (now, float(place["wait_seconds"]))
            tally.blind.append(now - held_at)
        if time.time() > job.deadline_at:
            tally.still_held += 1
            return False
        await asyncio.sleep(job.poll)


async def live(
    cookies: httpx.Cookies, uid: int, base: str, job: Job, tally: Tally, done: asyncio.Event
) -> None:
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    url = base.replace("http://", "ws://") + "/live"
    own = channels.user(uid)
    began = time.monotonic()
    try:
        async with websockets.connect(
            url, additional_headers={"Cookie": header}, origin=Origin(base), open_timeout=60
        ) as ws:
            await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame[0] != "event":
                    break
            if frame != ["success", 1, {"channel": own}]:
                tally.errors.append(f"subscribe: {frame}")
                return
            tally.sockets.append(time.monotonic() - began)
            tally.connected_at.append(time.time() - job.start)
            closed = asyncio.ensure_future(ws.wait_closed())
            waiting = asyncio.ensure_future(done.wait())
            # A candidate leaves after `stay` seconds (its place frees up `--idle-minutes`
            # after its last request or socket round): the line moves, as at a real fair.
            timeout = job.stay or None
            await asyncio.wait(
                {closed, waiting}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if closed.done():
                tally.errors.append(f"socket closed: {ws.close_code} {ws.close_reason}")
            closed.cancel()
            waiting.cancel()
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        tally.errors.append(f"socket: {exc!r}")


async def drive(job: Job, released: asyncio.Event) -> Tally:
    """Run this process's candidates; say "settled" once each is connected, refused or still
    held; close the sockets when `released`."""
    tally = Tally()
    # Idle connections dropped after 4 s, before uvicorn closes them (5 s): a request sent on
    # one it is closing fails, where a browser would retry it on a new connection.
    limits = httpx.Limits(
        max_connections=job.connections, max_keepalive_connections=100, keepalive_expiry=4.0
    )
    transports = [httpx.AsyncHTTPTransport(limits=limits) for _ in job.bases]

    async def arrive(i: int, uid: int, cookie: str) -> None:
        await asyncio.sleep(max(0.0, job.start + i * job.window / job.total - time.time()))
        server = i % len(job.bases)
        base = job.bases[server]
        cookies = await candidate(uid, cookie, base, transports[server], job, tally)
        if cookies is not None:
            await live(cookies, uid, base, job, tally, released)

    tasks = [asyncio.create_task(arrive(*user)) for user in job.users]
    while tally.settled < len(tasks) and (pending := [t for t in tasks if not t.done()]):
        await asyncio.wait(pending, timeout=0.2)
    print("settled", flush=True)
    await released.wait()
    await asyncio.wait(tasks, timeout=10)  # the sockets closed
    unsettled = 0
    for task in tasks:  # a candidate still in flight at the deadline: counted, not awaited
        if not task.done():
            task.cancel()
            unsettled += 1
    await asyncio.gather(*tasks, return_exceptions=True)
    tally.errors += [f"unsettled at the deadline ({unsettled})"] if unsettled else []
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            tally.errors.append(f"crashed: {task.exception()!r}")
    for transport in transports:
        await transport.aclose()
    return tally


async def client_main() -> None:
    """`--client`: "ready", then a Job on stdin; "settled"; "release" on stdin; the tally."""
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    job = Job(**json.loads(line))
    released = asyncio.Event()

    async def release() -> None:
        await loop.run_in_executor(None, sys.stdin.readline)  # "release", or the parent gone
        released.set()

    waiter = asyncio.create_task(release())
    tally = await drive(job, released)
    await waiter
    print(json.dumps(asdict(tally)), flush=True)


# The runs ----------------------------------------------------------------------------------------


def answer(process: subprocess.Popen[bytes], until: float, what: str) -> str:
    """The next line `process` prints, waiting until `until` (time.monotonic()); raises
    TimeoutError naming `what` past it."""
    assert process.stdout is not None
    ready, _, _ = fd_select.select([process.stdout], [], [], max(0.0, until - time.monotonic()))
    if not ready:
        raise TimeoutError(f"client {process.pid}: no {what} in time")
    line = process.stdout.readline().decode()
    if not line:
        raise TimeoutError(f"client {process.pid}: exited before its {what} ({process.poll()})")
    return line.strip()


def say(process: subprocess.Popen[bytes], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line.encode() + b"\n")
    process.stdin.flush()


def surge(
    children: Children, bases: list[str], seeded: Seeded, args: argparse.Namespace, until: float
) -> Tally:
    """The candidates, over `--client-processes` processes; every phase under a deadline, the
    held candidates' cut to `until` (time.monotonic(): this mode's share of `--timeout`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    count = max(1, min(args.client_processes, len(seeded.users)))
    clients = [
        children.start([__file__, "--client"], env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(count)
    ]
    for client in clients:
        answer(client, time.monotonic() + ANSWER_SECONDS, "'ready'")
    start = time.time() + LEAD
    # The held stop asking at the deadline, or early enough to be counted within `until`
    cut = start + min(args.window + args.deadline, until - time.monotonic() - LEAD - TALLY)
    n = len(seeded.users)
    for k, client in enumerate(clients):
        job = Job(
            bases,
            seeded.slug,
            start,
            args.window,
            n,
            cut,
            args.poll,
            args.connections,
            args.stay,
            [(i, *seeded.users[i]) for i in range(k, n, count)],
        )
        say(client, json.dumps(asdict(job)))
    until = min(time.monotonic() + LEAD + args.window + args.deadline + DRAIN, until)
    tally = Tally()
    for client in clients:
        try:
            answer(client, until, "'settled'")
        except TimeoutError as exc:
            tally.errors.append(str(exc))
    for client in clients:
        say(client, "release")
    until = time.monotonic() + ANSWER_SECONDS  # for all of them together
    for client in clients:
        try:
            tally.add(Tally(**json.loads(answer(client, until, "tally"))))
        except TimeoutError as exc:
            tally.errors.append(str(exc))
    return tally


async def warm_up(bases: list[str], slug: str) -> None:
    """Each page once per server before the surge: templates compiled, pools opened."""
    async with httpx.AsyncClient(timeout=60.0) as client:
        for base in bases:
            for path in (f"/e/{slug}", f"/e/{slug}/booths"):
                await client.get(base + path)


async def seeded_database(args: argparse.Namespace, secret: str, mode: str) -> tuple[str, Seeded]:
    url = await pg_database(args.pg_database, create=True)
    caps = (args.active, args.per_minute) if mode == "on" else None
    return url, await asyncio.wait_for(seed(url, args.candidates, secret, caps), SETUP_SECONDS)


def measure(mode: str, args: argparse.Namespace, until: float) -> tuple[str, Tally]:
    secret = secrets.token_urlsafe(48)
    namespace = f"{args.namespace}-{mode}"
    try:
        url, seeded = asyncio.run(seeded_database(args, secret, mode))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BROADCAST_URL": REDIS_URL,
            "SECRET_KEY": secret,
            "FAIR_ENV": "test",
            "FAIR_BACKGROUND_TASKS": "off",
            "FAIR_BROADCAST_NAMESPACE": namespace,
            "FAIR_LOG_LEVEL": "WARNING",
            "FAIR_ADMISSION_ACTIVE_CAP": "0",
            "FAIR_ADMISSION_ARRIVALS_PER_MINUTE": "0",
            "FAIR_ADMISSION_IDLE_MINUTES": str(args.idle_minutes),
        }
        with Children() as children:
            bases = [f"http://127.0.0.1:{port}" for port in children.web_servers(env, 2)]
            servers = [process.pid for process in children.started]
            asyncio.run(asyncio.wait_for(warm_up(bases, seeded.slug), ANSWER_SECONDS))
            before = sum(cpu_seconds(pid) for pid in servers)
            tally = surge(children, bases, seeded, args, until)
            tally.server_cpu = sum(cpu_seconds(pid) for pid in servers) - before
    finally:
        asyncio.run(forget_namespace(REDIS_URL, namespace))
        asyncio.run(pg_database(args.pg_database, create=False))
    return row(mode, args, tally), tally


def row(mode: str, args: argparse.Namespace, tally: Tally) -> str:
    ms = [s * 1000 for s in tally.pages]
    socket_ms = [s * 1000 for s in tally.sockets]
    last = max(tally.connected_at, default=float("nan"))
    eta = pct(tally.eta_errors, 90) * 100 if tally.eta_errors else float("nan")
    verdict = tally.eta_verdict() if tally.held else "nobody held"
    return (
        f"{mode:<4} {args.candidates:>6} in {args.window:g} s: errors {len(tally.errors)}, "
        f"page p50 {pct(ms, 50):.0f} ms p99 {pct(ms, 99):.0f} ms, "
        f"socket p99 {pct(socket_ms, 99):.0f} ms, all let in connected at {last:.1f} s "
        f"({len(tally.connected_at)}), held {tally.held} (largest position "
        f"{max(tally.positions, default=0)}), still held {tally.still_held}, "
        f"servers' CPU {tally.server_cpu / args.candidates * 1000:.0f} ms a candidate, "
        f"ETA error p90 {eta:.0f} % ({len(tally.eta_errors)} measured, "
        f"{tally.unknown_eta} unknown; wait shown p50 {pct(tally.shown, 50):.0f} s, "
        f"actual p50 {pct(tally.actual, 50):.0f} s, p90 {pct(tally.actual, 90):.0f} s, "
        f"held before a wait was shown p50 {pct(tally.blind, 50):.0f} s: {verdict})"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds of arrivals")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--active", type=int, default=0, help="'on': active candidates cap")
    parser.add_argument(
        "--per-minute", type=int, default=0, help="'on': admissions a minute (default: N / 3)"
    )
    parser.add_argument(
        "--idle-minutes",
        type=int,
        default=10,
        help="minutes after which a quiet candidate's place is freed (an open socket is not quiet)",
    )
    parser.add_argument(
        "--stay",
        type=float,
        default=60.0,
        help="seconds a candidate let in stays (its socket open), then leaves; 0: to the end",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds for the surges, at most (shared by the modes: the held stop asking in "
        "time for their mode's tally; seeding, start and clean-up have their own deadlines)",
    )
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between two asks")
    parser.add_argument(
        "--deadline", type=float, default=180.0, help="seconds after the window to wait"
    )
    parser.add_argument(
        "--client-processes", type=int, default=4, help="processes driving the candidates"
    )
    parser.add_argument(
        "--connections", type=int, default=500, help="HTTP connections a client has to a server"
    )
    parser.add_argument("--pg-database", default="fair_bench_surge")
    parser.add_argument("--namespace", default="fair-bench-surge")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.per_minute = args.per_minute or max(1, args.candidates // 3)
    return args


def main() -> None:
    args = parse()
    if args.client:
        asyncio.run(client_main())
        return
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # the databases dropped, the servers stopped
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose among {', '.join(MODES)}")
    raise_open_files(args.candidates + 500)
    lines, tallies = [], []
    ends = time.monotonic() + args.timeout
    for k, mode in enumerate(modes):
        print(f"== {mode}: {args.candidates:,} candidates in {args.window:g} s", flush=True)
        until = time.monotonic() + (ends - time.monotonic()) / (len(modes) - k)  # its share
        try:
            line, tally = measure(mode, args, until)
        except TimeoutError as exc:  # a phase's deadline (its processes stopped, database dropped)
            raise SystemExit(f"{mode}: {exc}") from None
        print(line, flush=True)
        for error in tally.errors[:5]:
            print(f"   {error}", flush=True)
        lines.append(line)
        tallies.append(tally)
    print(f"\nSummary ({os.cpu_count()} cores, {args.client_processes} client processes; 'on': "
          f"--active {args.active}, --per-minute {args.per_minute}, "
          f"--idle-minutes {args.idle_minutes}, --stay {args.stay:g} s, "
          f"--poll {args.poll:g} s):")  # fmt: skip
    for line in lines:
        print(line)
    errors = sum(len(t.errors) for t in tallies)
    held = [t for t in tallies if t.held]
    if not held:
        eta = "n/a (nobody held)"
    else:
        measured = [e for t in held for e in t.eta_errors]
        verdicts = [v for t in held if (v := t.eta_verdict()) != "valid"]
        p90 = pct(measured, 90) if measured else float("nan")
        goal = "ok" if p90 <= GOAL_ETA else "MISSED"
        eta = f"{goal} ({p90 * 100:.0f} %, {verdicts[0] if verdicts else 'valid'})"
    print(f"goal 0 errors: {'ok' if not errors else 'FAILED'}; ETA error p90 <= 25 %: {eta}")


if __name__ == "__main__":
    main()
