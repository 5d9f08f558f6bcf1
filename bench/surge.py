"""Opening surge: N candidates arriving within a window, with admission control off and on.

Usage: .venv/bin/python bench/surge.py --candidates 10000 --window 60   # the default (issue 17)
       .venv/bin/python bench/surge.py --candidates 3000 --window 60 --per-minute 1000
       .venv/bin/python bench/surge.py --candidates 3000 --window 60 --modes on  # default caps
       .venv/bin/python bench/surge.py --candidates 200 --window 10 --deadline 5   # a smoke run
       .venv/bin/python bench/surge.py --candidates 2000 --window 20 --modes on --active 224 \
           --per-minute 1000 --deadline 900   # the line turns over ~8 times: the ETA, smaller

Two web processes (uvicorn, as `fair serve` runs them) on a fresh PostgreSQL database and the
local Redis (a namespace of this run's own), one edition open now with N registered candidates
(logged in by a server-side session each, the cookie signed here: argon2 would take minutes).
Candidate i arrives at i × window / N, on server i % 2, and does what a browser does at
opening: the edition page, the booth hall, then asks for its place in the admission line
(`/e/<slug>/waiting/status`, what the waiting page's script polls every `--poll` seconds ±
`--jitter` at random: by default the page's own, fair.web.admission.POLL and JITTER)
until it is let in, then opens the `/live` socket and subscribes to its own channel, stays
`--stay` seconds and leaves (closes the socket; 0: stays until every candidate is settled:
connected, refused, or still held at the deadline). The candidates are driven by
`--client-processes` processes of this script (`--client`, candidate i in process i % that
number), so that the client is not what limits; each candidate has its own HTTP connection, as
a browser has (one pool shared by thousands cost the clients' whole CPU: `candidate`), through
bench/_http1.py (a lean HTTP/1.1 client: httpx's work here at a fifteenth of its CPU, since
2026-12-05; the same requests, keep-alive, gzip and cookies, and a patient person's timeouts:
60 s to connect, 60 s for an answer's head and for its body, 60 s to open the socket and for
its reply, as the httpx client had). The clients' CPU per candidate is printed beside the
servers' (each client's from the moment it gets its share: its imports and start, 1 to 2 s a
process, are not its candidates' cost and were counted before 2026-12-05). The host's listen
queue overflows over the surge (TcpExtListenOverflows in /proc/net/netstat: connections a full
accept queue dropped, every listening socket of the machine's) are printed too: a connect
timeout with none is the client's or the server's event loop, not the kernel.
Modes:

* `off`: no cap (FAIR_ADMISSION_* = 0, the edition's caps empty): everyone is let in at once.
* `on`: the edition's caps `--active` (0: none) and `--per-minute` let in at a steady pace,
  each the product's default when not given (fair.settings.ADMISSION_*, derived from the CPU
  a candidate costs: docs/OPERATIONS.md);
  a candidate let in holds a place while its socket is open (a round every 30 s), and leaves
  after `--stay` seconds: its place frees up 90 s after its socket's last round
  (fair.admission.lapse_at: its sockets closed, it left; `--idle-minutes` after its last
  request for one seen only by pages), so with an active cap the line turns over about every
  `--stay` + 2 minutes. With the defaults the 10,000's line drains in about 21 minutes
  (`DEADLINE`).

Printed per mode: errors (any answer but 200 on a page or a status, a socket refused or
closed: must be 0 with the caps; without them, past the servers' capacity, they are expected:
what the caps are for), with how many of them said to come back shortly, by kind (a 503 with
Retry-After: "503 server.busy" when every database connection stayed taken, "503
server.unavailable"; a socket closed 1013 "try again later"), the other errors apart; the
candidates left unfinished (no outcome yet when their client had to answer: a request or a
connect still in flight; all those of a client whose tally never came); page p50/p99 (edition
page and hall), socket connect p99 (connect to the subscribe's reply), the time from the first
arrival until every candidate let in is connected, how many were held and the largest
position shown, the web processes' CPU time per candidate (the default caps are derived from
it: docs/OPERATIONS.md), and the honest-ETA check: for each held candidate, the first wait the
page showed against the wait it had from then on (until the line let it in: the status's
`admitted_at`, not the ask that learnt it up to a poll later),
|shown − actual| / actual, p90 (goal within 25 %; a wait the status calls a floor, a lower
bound, is not an estimate: the first wait shown that is not one is measured, and those shown
only floors are counted apart), beside the medians of both, with a verdict:
INVALID when fewer than MIN_MEASURED waits were measured, when more than MAX_CUT of the held
were still waiting at the end (the longest waits missing), or when more were let in without a
wait shown than with one. Candidates still held `--deadline` seconds after the window (or at
their mode's share of `--timeout`) are counted apart (not errors). Every phase has a deadline
(seeding, servers' start, the surge, the clean-up); the client processes keep the surge's
themselves (`Job`: "settled", then the tally, each by its time whatever their candidates are
doing), so both modes' lines and the summary are printed within `--timeout`; every process
started is stopped on the way out (bench/_harness.Children). The figures mean something only
on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import select as fd_select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import time as day_time
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _http1  # noqa: E402
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
from _http1 import Browser, HTTPError  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402
from websockets.typing import Origin  # noqa: E402

from fair import channels, clock, db, demo, settings  # noqa: E402
from fair.models import Edition, EditionCandidate  # noqa: E402
from fair.web.admission import JITTER, POLL  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
MODES = ("off", "on")
GOAL_ETA = 0.25  # the honest-ETA error, p90
SETUP_SECONDS = 300.0  # seeding the database, at most
LEAD = 2.0  # seconds between handing the clients their share and the first arrival
ANSWER_SECONDS = 180.0  # a client's "ready" (imports: 60 s+ on a loaded machine)
DRAIN = 90.0  # seconds after the held candidates' deadline for the last sockets to settle
TALLY = 30.0  # seconds kept within `--timeout` for the release, the tallies, the clean-up
MARGIN = 5.0  # seconds a client is waited for past a deadline it keeps itself
MIN_MEASURED = 20  # held candidates whose wait was measured, for the ETA error to mean something
MAX_CUT = 0.10  # share of the held still held at the end: more, and the longest waits are missing
# seconds after the window the held keep asking: with the default caps (1,119 active) at 10,000
# candidates each staying --stay 60 s, a place is held about 2.4 minutes (60 s, then until a
# socket round at most 30 s later, then fair.admission.quiet's 90 s: they left), so the line
# lets in about 460 a minute and its last (~8,900 held) about 21 minutes after the first
# arrival; a held candidate who is let in sooner ends the run sooner
DEADLINE = 1800.0
TIMEOUT = 4200.0  # seconds for the surges, both modes: 'off' takes ~3 minutes, 'on' DEADLINE+


@dataclass
class Seeded:
    slug: str
    users: list[tuple[int, str]]  # (user id, session cookie)


async def seed(url: str, n: int, secret: str, caps: tuple[int | None, int | None] | None) -> Seeded:
    """A fresh database: a published edition open all day today (its caps: `caps`, None for
    the product's default), `n` registered candidates with a live server-side session each."""
    data = replace(demo.edition_input(clock.now()), opens=day_time(0, 0), closes=day_time(23, 59))
    made = await seed_edition(url, n=n, prefix="surge", secret=secret, data=data)
    engine = db.create_engine(url)
    async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
        if caps is not None:
            await session.execute(
                update(Edition)
                .where(Edition.id == made.edition_id)
                .values(admission_active_cap=caps[0], admission_arrivals_per_minute=caps[1])
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
    # Of the errors, the answers that said "come back shortly", by kind: a 503 with Retry-After
    # ("503 server.busy": every database connection taken; "503 server.unavailable"; ...), a
    # socket closed "try again later" (1013) or a subscribe refused for the same reasons.
    again: list[str] = field(default_factory=list)
    pages: list[float] = field(default_factory=list)  # seconds
    sockets: list[float] = field(default_factory=list)
    connected_at: list[float] = field(default_factory=list)  # since the first arrival
    held: int = 0
    still_held: int = 0
    # Candidates with no outcome yet (connected, refused, or still held at the deadline) when
    # their client had to answer: a request or a connect still in flight, or a client whose
    # tally never came (all its candidates).
    unfinished: int = 0
    positions: list[int] = field(default_factory=list)
    shown: list[float] = field(default_factory=list)  # the first wait shown, seconds
    actual: list[float] = field(default_factory=list)  # the wait from then on, seconds
    unknown_eta: int = 0  # held, and no wait shown before being let in
    # Held, and every wait shown before being let in a floor (the status's "floor": a lower
    # bound, e.g. the line not moving yet): left out of the ETA error, counted apart.
    floors: int = 0
    blind: list[float] = field(default_factory=list)  # seconds held before a wait was shown
    # seconds from being let in (the status's `admitted_at`) to the ask that learnt it
    late: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # seconds of the web processes' CPU over the surge
    client_cpu: float = 0.0  # seconds of the client processes' CPU over the surge, each its own
    listen_drops: int = 0  # the host's listen queue overflows over the surge
    silent: list[str] = field(default_factory=list)  # client processes whose tally never came

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def refused(self, what: str, answer: Answered) -> None:
        """An answer other than 200 to a page or a status request: an error, and its kind when
        it said to come back shortly (`again`)."""
        self.errors.append(f"{what}: {answer.status_code} {answer.text[:200]!r}")
        kind = come_back(answer)
        if kind is not None:
            self.again.append(kind)

    def error_kinds(self) -> str:
        """'errors N (503 server.busy n, …; other m)'."""
        kinds = Counter(self.again).most_common()
        told = "".join(f"{kind} {n}, " for kind, n in kinds)
        return f"errors {len(self.errors)} ({told}other {len(self.errors) - len(self.again)})"

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
        if self.unknown_eta + self.floors > measured:
            return (
                f"INVALID ({self.unknown_eta} let in without a wait shown and {self.floors} "
                f"with floors only, {measured} with a wait)"
            )
        return "valid"


CODE_IN_PAGE = re.compile(r'data-code="([\w.]+)"')  # the error page's (errors/error.html)


class Answered(Protocol):
    """An HTTP answer (bench/_http1.Answer, httpx.Response)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


def come_back(answer: Answered) -> str | None:
    """'503 <code>' for a 503 with Retry-After (the code from the JSON answer or the error
    page), else None."""
    if answer.status_code != 503 or "retry-after" not in answer.headers:
        return None
    code = None
    if answer.headers.get("content-type", "").startswith("application/json"):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            code = str(answer.json()["error"]["code"])
    elif found := CODE_IN_PAGE.search(answer.text):
        code = found[1]
    return f"503 {code or '?'}"


class Outcomes:
    """Which of a client's candidates have no outcome yet: connected, refused (an error) or
    still held at the deadline. `settled` is set once none is left; those left when the client
    must answer are counted `unfinished`."""

    def __init__(self, candidates: Iterable[int]) -> None:
        self.left = set(candidates)
        self.settled = asyncio.Event()
        if not self.left:
            self.settled.set()

    def settle(self, i: int) -> None:
        self.left.discard(i)
        if not self.left:
            self.settled.set()


@dataclass
class Job:
    """A client process's share: candidates (i, user id, cookie) and where and when they go.
    Times are time.time(): the client keeps them itself, whatever its candidates are doing."""

    bases: list[str]
    slug: str
    start: float  # the first arrival
    window: float
    total: int
    deadline_at: float  # after which a held candidate stops asking (still held)
    settle_at: float  # "settled" is said by then, with whatever is still in flight
    tally_at: float  # the tally is sent by then, released or not (the rest unfinished)
    poll: float
    stay: float  # seconds a candidate let in keeps its socket open, then leaves (0: to the end)
    users: list[tuple[int, int, str]]
    jitter: float = 0.0  # each wait between two asks drawn in poll ± jitter, as the page does


# Each candidate has an HTTP connection of their own, as a browser has (one httpx pool shared
# by thousands of candidates spent the client's CPU choosing among its connections), through
# bench/_http1.py: what httpx did here at a fifteenth of its CPU (its docstring: keep-alive,
# gzip asked, cookies, the same 60 s timeouts; idle connections dropped after 4 s, before
# uvicorn closes them at 5 s). Until 2026-12-05 the clients were httpx's.


async def candidate(
    uid: int, cookie: str, base: str, job: Job, tally: Tally
) -> dict[str, str] | None:
    """The pages then the line; the cookies to open the socket with once let in, else None."""
    async with Browser(base) as client:
        client.cookies["fair_session"] = cookie
        for path in (f"/e/{job.slug}", f"/e/{job.slug}/booths"):
            began = time.monotonic()
            try:
                answer = await client.get(path)
            except HTTPError as exc:
                tally.errors.append(f"{path}: {exc!r}")
                return None
            tally.pages.append(time.monotonic() - began)
            if answer.status_code != 200:
                tally.refused(path, answer)
                return None
        return client.cookies if await wait_turn(client, job, tally) else None


async def wait_turn(client: Browser, job: Job, tally: Tally) -> bool:
    """Ask for one's place until let in (True), or the deadline (False)."""
    # (when, time.time(), the first wait shown that is not a floor)
    shown: tuple[float, float] | None = None
    floor = False  # a wait was shown, only ever a floor (a lower bound)
    first = True
    held_at = 0.0
    while True:
        try:
            answer = await client.get(
                f"/e/{job.slug}/waiting/status", headers={"accept": "application/json"}
            )
        except HTTPError as exc:
            tally.errors.append(f"status: {exc!r}")
            return False
        if answer.status_code != 200:
            tally.refused("status", answer)
            return False
        place = answer.json()
        now = time.time()  # the servers' clock (fair.clock), on this machine
        if place["admitted"]:
            if not first:
                if shown is None and floor:
                    tally.floors += 1
                elif shown is None:
                    tally.unknown_eta += 1
                else:
                    # Let in when the line says (`admitted_at`), not at this ask, up to a poll
                    # later: the wait had, not the page's delay in learning it.
                    let_in = place.get("admitted_at") or now
                    tally.shown.append(shown[1])
                    tally.actual.append(max(let_in - shown[0], 1e-3))
                    tally.late.append(now - let_in)
            return True
        if first:
            tally.held += 1
            tally.positions.append(int(place["position"]))
            first = False
            held_at = now
        if shown is None and place.get("wait_seconds") is not None:
            if place.get("floor"):  # a lower bound: not what the ETA error measures
                floor = True
            else:
                shown = (now, float(place["wait_seconds"]))
                tally.blind.append(now - held_at)
        pause = job.poll + random.uniform(-job.jitter, job.jitter)
        if time.time() + pause > job.deadline_at:
            tally.still_held += 1
            return False
        await asyncio.sleep(pause)


async def live(
    cookies: dict[str, str],
    uid: int,
    base: str,
    job: Job,
    tally: Tally,
    done: asyncio.Event,
    connected: Callable[[], None],
) -> None:
    """The socket: connect, subscribe to one's channel (then `connected()`), stay."""
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    url = base.replace("http://", "ws://") + "/live"
    own = channels.user(uid)
    began = time.monotonic()
    try:
        async with websockets.connect(
            url,
            additional_headers={"Cookie": header},
            origin=Origin(base),
            open_timeout=60,
            close_timeout=5,
        ) as ws:
            await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame[0] != "event":
                    break
            if frame != ["success", 1, {"channel": own}]:
                tally.errors.append(f"subscribe: {frame}")
                code = frame[2].get("code") if frame[0] == "error" else None
                if code in ("server.busy", "server.unavailable"):
                    tally.again.append(f"subscribe {code}")
                return
            tally.sockets.append(time.monotonic() - began)
            tally.connected_at.append(time.time() - job.start)
            connected()
            closed = asyncio.ensure_future(ws.wait_closed())
            waiting = asyncio.ensure_future(done.wait())
            # A candidate leaves after `stay` seconds (its place frees up 90 s after its
            # socket's last round: fair.admission.lapse_at): the line moves, as at a fair.
            timeout = job.stay or None
            await asyncio.wait(
                {closed, waiting}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if closed.done():
                tally.errors.append(f"socket closed: {ws.close_code} {ws.close_reason}")
                if ws.close_code == AGAIN:
                    tally.again.append(f"socket {AGAIN} {ws.close_reason}")
            closed.cancel()
            waiting.cancel()
    except websockets.ConnectionClosed as exc:  # e.g. refused: 1013 "try again later"
        tally.errors.append(f"socket: {exc!r}")
        if exc.rcvd is not None and exc.rcvd.code == AGAIN:
            tally.again.append(f"socket {AGAIN} {exc.rcvd.reason}")
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        tally.errors.append(f"socket: {exc!r}")


AGAIN = 1013  # a socket's "try again later" (fair.live.socket: busy, unavailable)
CLOSING = 10.0  # seconds for the sockets to close once released, at most


async def drive(job: Job, released: asyncio.Event) -> Tally:
    """Run this process's candidates; print "settled" once each has an outcome, or at
    `job.settle_at` whatever is still in flight; close the sockets when `released` (or at
    `job.tally_at`, less CLOSING); the tally, by `job.tally_at` whatever happens, with the
    candidates still without an outcome counted `unfinished`."""
    began = time.process_time()  # the surge's CPU, not the imports' (the module's docstring)
    tally = Tally()
    outcomes = Outcomes(i for i, _, _ in job.users)

    async def arrive(i: int, uid: int, cookie: str) -> None:
        await asyncio.sleep(max(0.0, job.start + i * job.window / job.total - time.time()))
        base = job.bases[i % len(job.bases)]
        try:
            cookies = await candidate(uid, cookie, base, job, tally)
            if cookies is not None:
                await live(cookies, uid, base, job, tally, released, lambda: outcomes.settle(i))
        except Exception as exc:  # a defect of this script: counted, and the others go on
            tally.errors.append(f"crashed: {exc!r}")
        finally:
            outcomes.settle(i)

    tasks = [asyncio.create_task(arrive(*user)) for user in job.users]
    await until(outcomes.settled, job.settle_at)
    print("settled", flush=True)
    await until(released, job.tally_at - CLOSING)
    released.set()  # the sockets closed (those still connecting too, once connected)
    if tasks:
        await asyncio.wait(tasks, timeout=max(0.1, min(CLOSING, job.tally_at - time.time())))
    tally.unfinished = len(outcomes.left)
    tally.client_cpu = time.process_time() - began
    for task in tasks:  # still in flight: cancelled, not awaited
        task.cancel()
    return tally


async def until(event: asyncio.Event, at: float) -> None:
    """Wait for `event`, at most until `at` (time.time())."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), max(0.0, at - time.time()))


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
    print(json.dumps(asdict(tally)), flush=True)
    waiter.cancel()  # its thread still reads stdin: the process exits without waiting for it
    os._exit(0)


# The runs ----------------------------------------------------------------------------------------


class Client:
    """A client process (`--client`) and the lines it prints, read as they come: select() on
    its pipe and os.read(), with nothing kept in a buffer that select() cannot see (a tally
    printed right after a late "settled" is read, not waited for)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None and process.stdin is not None
        self.process = process
        self.fd = process.stdout.fileno()
        self.read = b""

    def answer(self, until: float, what: str) -> str:
        """The next line, waiting until `until` (time.monotonic()); TimeoutError naming
        `what` past it."""
        while b"\n" not in self.read:
            ready, _, _ = fd_select.select([self.fd], [], [], max(0.0, until - time.monotonic()))
            if not ready:
                raise TimeoutError(f"client {self.process.pid}: no {what} in time")
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                code = self.process.poll()
                raise TimeoutError(f"client {self.process.pid}: exited before its {what} ({code})")
            self.read += chunk
        line, self.read = self.read.split(b"\n", 1)
        return line.decode().strip()

    def say(self, line: str) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(line.encode() + b"\n")
        stdin.flush()


def surge(
    children: Children, bases: list[str], seeded: Seeded, args: argparse.Namespace, until: float
) -> Tally:
    """The candidates, over `--client-processes` processes; every phase under a deadline kept
    by the clients themselves (Job), all within `until` (time.monotonic(): this mode's share
    of `--timeout`). A client that still says nothing MARGIN seconds past one of its deadlines
    is named in `silent`, its candidates counted unfinished."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    count = max(1, min(args.client_processes, len(seeded.users)))
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
    clients = [Client(children.start([__file__, "--client"], env, **pipes)) for _ in range(count)]
    for client in clients:
        client.answer(time.monotonic() + ANSWER_SECONDS, "'ready'")
    now, left = time.time(), until - time.monotonic()
    start = now + LEAD
    # Everyone has an outcome DRAIN seconds after the held stop asking, or TALLY seconds
    # before `until`; the held stop asking at the deadline, or in time to be counted.
    settle_at = now + max(LEAD, min(LEAD + args.window + args.deadline + DRAIN, left - TALLY))
    deadline_at = min(start + args.window + args.deadline, settle_at - DRAIN / 3)
    tally_at = settle_at + TALLY - 2 * MARGIN
    n = len(seeded.users)
    shares = [[(i, *seeded.users[i]) for i in range(k, n, count)] for k in range(count)]
    for client, users in zip(clients, shares, strict=True):
        job = Job(
            bases,
            seeded.slug,
            start,
            args.window,
            n,
            deadline_at,
            settle_at,
            tally_at,
            args.poll,
            args.stay,
            users,
            args.jitter,
        )
        client.say(json.dumps(asdict(job)))
    tally = Tally()
    for client in clients:
        with contextlib.suppress(TimeoutError):  # named below, if its tally does not come
            client.answer(monotonic(settle_at + MARGIN), "'settled'")
    for client in clients:
        with contextlib.suppress(OSError):  # exited: its tally is missing, said below
            client.say("release")
    for client, users in zip(clients, shares, strict=True):
        try:
            tally.add(tally_of(client, monotonic(tally_at + MARGIN)))
        except TimeoutError as exc:
            tally.silent.append(str(exc))
            tally.unfinished += len(users)
    return tally


def tally_of(client: Client, until: float) -> Tally:
    """The tally `client` prints (after a "settled" said too late, if so)."""
    line = client.answer(until, "tally")
    if line == "settled":
        line = client.answer(until, "tally")
    try:
        return Tally(**json.loads(line))
    except (ValueError, TypeError) as exc:
        pid = client.process.pid
        raise TimeoutError(f"client {pid}: no tally but {line[:100]!r}") from exc


def monotonic(at: float) -> float:
    """The time.monotonic() of `at`, a time.time()."""
    return time.monotonic() + at - time.time()


async def warm_up(bases: list[str], slug: str) -> None:
    """Each page once per server before the surge: templates compiled, pools opened."""
    async with httpx.AsyncClient(timeout=60.0) as client:
        for base in bases:
            for path in (f"/e/{slug}", f"/e/{slug}/booths"):
                await client.get(base + path)


async def seeded_database(args: argparse.Namespace, secret: str, mode: str) -> tuple[str, Seeded]:
    url = await pg_database(args.pg_database, create=True)
    caps = (args.active, args.per_minute) if mode == "on" else (None, None)
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
            "FAIR_ADMISSION_IDLE_MINUTES": str(args.idle_minutes),
        }
        for name in ("FAIR_ADMISSION_ACTIVE_CAP", "FAIR_ADMISSION_ARRIVALS_PER_MINUTE"):
            if mode == "off":  # no cap
                env[name] = "0"
            else:  # the product's default, or the edition's caps given
                env.pop(name, None)
        with Children() as children:
            bases = [f"http://127.0.0.1:{port}" for port in children.web_servers(env, 2)]
            servers = [process.pid for process in children.started]
            asyncio.run(asyncio.wait_for(warm_up(bases, seeded.slug), ANSWER_SECONDS))
            before, overflows = sum(cpu_seconds(pid) for pid in servers), listen_overflows()
            tally = surge(children, bases, seeded, args, until)
            tally.server_cpu = sum(cpu_seconds(pid) for pid in servers) - before
            tally.listen_drops = listen_overflows() - overflows
    finally:
        asyncio.run(forget_namespace(REDIS_URL, namespace))
        asyncio.run(pg_database(args.pg_database, create=False))
    return row(mode, args, tally), tally


def listen_overflows() -> int:
    """The host's TcpExtListenOverflows (connections dropped by a full accept queue, on any
    listening socket), 0 where /proc/net/netstat cannot be read."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return 0
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            found = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(found.get("ListenOverflows", 0))
    return 0


def row(mode: str, args: argparse.Namespace, tally: Tally) -> str:
    ms = [s * 1000 for s in tally.pages]
    socket_ms = [s * 1000 for s in tally.sockets]
    last = max(tally.connected_at, default=float("nan"))
    eta = pct(tally.eta_errors, 90) * 100 if tally.eta_errors else float("nan")
    verdict = tally.eta_verdict() if tally.held else "nobody held"
    silent = f" ({len(tally.silent)} clients silent)" if tally.silent else ""
    return (
        f"{mode:<4} {args.candidates:>6} in {args.window:g} s: {tally.error_kinds()}, "
        f"unfinished {tally.unfinished}{silent}, "
        f"page p50 {pct(ms, 50):.0f} ms p99 {pct(ms, 99):.0f} ms, "
        f"socket p99 {pct(socket_ms, 99):.0f} ms, all let in connected at {last:.1f} s "
        f"({len(tally.connected_at)}), held {tally.held} (largest position "
        f"{max(tally.positions, default=0)}), still held {tally.still_held}, "
        f"servers' CPU {tally.server_cpu / args.candidates * 1000:.1f} ms a candidate "
        f"(clients' {tally.client_cpu / args.candidates * 1000:.1f} ms), "
        f"listen queue overflows {tally.listen_drops} (the host's), "
        f"ETA error p90 {eta:.0f} % ({len(tally.eta_errors)} measured, "
        f"{tally.unknown_eta} unknown, {tally.floors} floors left out; "
        f"wait shown p50 {pct(tally.shown, 50):.0f} s, "
        f"actual p50 {pct(tally.actual, 50):.0f} s, p90 {pct(tally.actual, 90):.0f} s, "
        f"held before a wait was shown p50 {pct(tally.blind, 50):.0f} s, "
        f"let in before the page learnt it p50 {pct(tally.late, 50):.0f} s: {verdict})"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds of arrivals")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument(
        "--active",
        type=int,
        default=None,
        help="'on': active candidates cap (0: none; default: the product's, "
        f"{settings.ADMISSION_ACTIVE_CAP})",
    )
    parser.add_argument(
        "--per-minute",
        type=int,
        default=None,
        help="'on': admissions a minute (0: none; default: the product's, "
        f"{settings.ADMISSION_ARRIVALS_PER_MINUTE})",
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
        default=TIMEOUT,
        help="seconds for the surges, at most (shared by the modes: the held stop asking in "
        "time for their mode's tally; seeding, start and clean-up have their own deadlines)",
    )
    parser.add_argument(
        "--poll", type=float, default=POLL, help="seconds between two asks (the page's)"
    )
    parser.add_argument(
        "--jitter", type=float, default=JITTER, help="± seconds drawn at random (the page's)"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=DEADLINE,
        help="seconds after the window a held candidate keeps asking (then 'still held')",
    )
    parser.add_argument(
        "--client-processes", type=int, default=4, help="processes driving the candidates"
    )
    parser.add_argument("--pg-database", default="fair_bench_surge")
    parser.add_argument("--namespace", default="fair-bench-surge")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse()
    if args.client:
        try:
            import uvloop  # the servers' event loop (uvicorn's): the client's CPU a third less
        except ImportError:
            asyncio.run(client_main())
        else:
            uvloop.run(client_main())
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
        for text in tally.silent:
            print(f"   {text}", flush=True)
        for text, count in Counter(e[:160] for e in tally.errors).most_common(5):
            print(f"   {count} x {text}", flush=True)
        lines.append(line)
        tallies.append(tally)
    active = f"default {settings.ADMISSION_ACTIVE_CAP}" if args.active is None else args.active
    per_minute = args.per_minute
    if per_minute is None:
        per_minute = f"default {settings.ADMISSION_ARRIVALS_PER_MINUTE}"
    print(f"\nSummary ({os.cpu_count()} cores, {args.client_processes} client processes, "
          f"HTTP by bench/_http1.py (timeouts {_http1.TIMEOUT:g} s); 'on': "
          f"--active {active}, --per-minute {per_minute}, "
          f"--idle-minutes {args.idle_minutes}, --stay {args.stay:g} s, "
          f"--poll {args.poll:g} ± {args.jitter:g} s):")  # fmt: skip
    for line in lines:
        print(line)
    goals = ", ".join(mode_goal(mode, t) for mode, t in zip(modes, tallies, strict=True))
    held = [t for t in tallies if t.held]
    if not held:
        eta = "n/a (nobody held)"
    else:
        measured = [e for t in held for e in t.eta_errors]
        verdicts = [v for t in held if (v := t.eta_verdict()) != "valid"]
        p90 = pct(measured, 90) if measured else float("nan")
        goal = "ok" if p90 <= GOAL_ETA else "MISSED"
        eta = f"{goal} ({p90 * 100:.0f} %, {verdicts[0] if verdicts else 'valid'})"
    print(f"goal 0 errors: {goals}; ETA error p90 <= 25 %: {eta}")


def mode_goal(mode: str, tally: Tally) -> str:
    """'<mode> ok' with no error and every candidate's outcome known, else FAILED and why
    (without caps, past the servers' capacity, errors are expected: what the caps are for)."""
    if not tally.errors and not tally.unfinished:
        return f"{mode} ok"
    why = f"{len(tally.errors)} errors, {tally.unfinished} unfinished"
    return f"{mode} FAILED ({why}{'; no cap' if mode == 'off' else ''})"


if __name__ == "__main__":
    main()
