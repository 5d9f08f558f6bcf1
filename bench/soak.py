"""Soak: a fair's users in a realistic mix for an hour; memory and latency must not drift.

Usage: .venv/bin/python bench/soak.py --minutes 60                 # 1,000 users (issue 17)
       .venv/bin/python bench/soak.py --minutes 10 --warmup 120
       .venv/bin/python bench/soak.py --minutes 2 --users 100 --viewers 5 --interviews 1
       .venv/bin/python bench/soak.py --minutes 5 --users 300 --visit 60 --tracemalloc DIR

fair as deployed, on a fresh PostgreSQL database and the local Redis (namespaces of this run's
own): two web processes (`fair serve`'s uvicorn), `fair worker` and one `fair media` process.
One edition live all day (in the time zone whose day has the most left: `live_zone`),
`--booths` booths each staffed by its recruiter with `--offers` offers, a talk, `--interviews`
booked interviews. The `--users` candidates (logged in by a server-side session each, the
cookie signed here) come and go: each visit holds a /live socket (their own channel and the
edition's), on server i % 2, acts every `--think` seconds on average (exponential) and lasts
`--visit` seconds on average (exponential), then the socket is closed and the candidate comes
back after a pause, so that what a socket leaves behind when it closes is soaked too.
The edition's admission caps are set explicitly (`admission_caps`): the gate armed, as at a live
fair, but sized so that it never engages (nobody held; the defaults, 1,119 active, could hold
some of 1,000 users): a fair within its capacity.

* most browse: the edition page, the booth hall, a booth, an offer search, an offer;
* one in seven applies: an offer's page, then its form with a PDF CV (until one was taken) and a
  message; once per offer;
* one in seven queues at a booth (`queue.join`), answers the recruiter's call, writes twice in
  the conversation and waits for the recruiter to end it (`queue.leave` after `--queue-wait` s);
  each recruiter calls the next (`queue.next`), writes once and ends the conversation
  `--conversation` seconds after the candidate's two messages (30 s: with the messages, about
  100 conversations an hour, within what a person may write, fair.chat.RATE_LIMITS: 200 messages
  an hour; at 8 s the recruiters wrote ~300 an hour and were refused from the 36th minute);
* one browser in twenty asks a question in a booth's Q&A;
* `--viewers` candidates watch the talk, which the organiser presents (stage.publish, start):
  bench/relay.py's viewer bots and its pre-encoded clip, in a process of their own with the
  interviews, each led by a colleague of a booth's recruiter (one person does not staff a booth
  and hold an interview at once): recruiter and candidate join the room, the recruiter admits
  and offers, media flows
  browser to browser (the same bots, each sending the clip), both write in the room every
  `--chat-every` s. A viewer or an interview side whose video frames stop growing between two
  checks is an error.

After `--warmup` seconds (users arrive over the first half of it), the run is measured for
`--minutes` in intervals of `--interval` seconds (a minute): the round trip of every page and
command started in each interval (p50, p99), every `--sample` s the RSS of each server process
(VmRSS), and a static file (/static/fair.css) fetched twice a second from the same servers: the
reference, the latency the machine and the servers give a request that does nothing. Printed per
interval, then the goals, each ok or MISSED: RSS growth < 10 % per process (its mean RSS over the
last interval against the first, after warm-up), p99 stable (the last interval's p99 at most
1.5x the first's; the reference's ratio beside it tells the machine's drift from fair's), and 0
errors (any page answering other than expected, any command refused, a socket closed, a stall,
a booth call not answered: skipped, left more than 10 s after it came, or no end heard in 90 s;
a candidate who leaves as the call comes, their wait run out, is not one: `call_ended`). The
first three such calls are printed in full: what the recruiter and the candidate each sent and
heard (`Calls`).
As a browser does, a GET on a kept-alive connection the server closed is sent once more, and a
socket closed with 1013 ("try again later") connects again after a pause (both counted all the
same when they fail).

Bounded: `--timeout` (default: the warm-up and `--minutes`, plus 20 minutes) ends the run
however far it got; SIGTERM (`timeout`) too. Either way the processes are stopped (SIGTERM,
then SIGKILL), the database dropped and the namespaces' Redis keys deleted. A run needs about
70 of PostgreSQL's connections (two web processes' pools of 30, the worker, the media process).
`--tracemalloc DIR`: the web processes traced (bench/_traced.py) from the end of the first
interval, a snapshot near the end of the last: what they allocated since and still hold, the
largest printed after the report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import random
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's fair, before _harness imports it

import _harness  # noqa: E402
import fanout  # noqa: E402
import httpx  # noqa: E402
import relay  # noqa: E402
import websockets  # noqa: E402
from _live import Live  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
# How a recruiter's call ends (`call_ended`): answered, the candidate left, the call skipped.
CALL_ENDS = ("conversation.started", "queue.left", "queue.skipped")
CALL_WAIT = 90.0  # seconds: skipped after 60 s (fair.queues.CALL_TIMEOUT), checked every 5 s
LEFT_AS_CALLED = 10.0  # seconds: a candidate who left within this gave up as the call came
GOAL_RSS, GOAL_P99 = 0.10, 1.5
# Time zones 3 to 8 hours apart: at any moment one of them has at least 16 hours of its day left.
ZONES = (
    "Europe/Paris",
    "Asia/Tokyo",
    "Pacific/Auckland",
    "America/New_York",
    "America/Los_Angeles",
)
CLOSE_TRY_AGAIN = 1013  # fair.live.socket.CLOSE_OVERFLOW
SETUP_SECONDS = 1200.0  # --timeout's margin: seeding, starting, the media start (600 s at most)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
TOKEN_RE = re.compile(r'data-token="([^"]+)"')
IDS_RE = re.compile(r"(/|\b(?:candidate|booth|conversation|recruiter|interview|viewer|entry) )\d+")


@dataclass
class Person:
    id: int
    cookie: str


@dataclass
class World:
    slug: str
    edition_id: int
    booths: list[int]
    offers: list[int]
    recruiters: list[Person]  # one per booth, same order
    organiser: Person  # presents the talk
    talk: int
    candidates: list[Person]  # the mix
    viewers: list[Person]
    interviews: list[tuple[int, Person, Person]]  # (id, recruiter, candidate)


async def seed(url: str, args: argparse.Namespace, secret: str) -> World:
    """A fresh database: an edition live all day, its booths, offers, talk and interviews, and
    everyone logged in."""
    from sqlalchemy import insert

    from fair import candidates, clock, db, migrations, webconferences
    from fair.enums import Role, WebconferenceAccess
    from fair.models import EditionCandidate, User
    from tests import factories as f

    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    now = clock.now()
    async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
        organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
        total = args.users + args.viewers + args.interviews
        active, per_minute = admission_caps(total)
        edition = await f.edition(
            session,
            by=organiser,
            timezone=live_zone(now, args.warmup + args.minutes * 60),
            admission_active_cap=active,
            admission_arrivals_per_minute=per_minute,
        )
        booths, recruiters, offers = [], [], []
        for _ in range(args.booths):
            recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
            booth, _ = await f.booth(session, edition_=edition, recruiter=recruiter)
            booths.append(booth)
            recruiters.append(recruiter)
            for n in range(args.offers):
                offers.append(await f.offer(session, booth_=booth, title=f"Poste {n} (H/F)"))
        ids = await _harness.add_candidates(session, "soak", total, now)
        registered = [{"edition_id": edition.id, "user_id": u, "registered_at": now} for u in ids]
        for i in range(0, total, 2000):
            await session.execute(insert(EditionCandidate), registered[i : i + 2000])
        length = (args.warmup + args.minutes * 60) / 60 + 15
        talk = await webconferences.schedule(
            session,
            by=organiser,
            edition=edition,
            data=webconferences.WebconferenceInput(
                title="Réussir son entretien",
                description="",
                starts_at=now + timedelta(minutes=1),
                ends_at=now + timedelta(minutes=1 + min(240, max(15, length))),
                capacity=max(1, args.viewers) + 10,
                access=WebconferenceAccess.OPEN,
                presenter_ids=[organiser.id],
            ),
        )
        interviewed, colleagues = [], []
        for k, uid in enumerate(ids[args.users + args.viewers :]):
            candidate = await session.get(User, uid)
            assert candidate is not None
            await candidates.set_cv(session, candidate, filename="cv.pdf", data=f.pdf_bytes())
            booth, owner = booths[k % len(booths)], recruiters[k % len(booths)]
            recruiter = await f.colleague(session, booth_=booth, owner=owner)
            colleagues.append(recruiter.id)
            interview = await f.interview(
                session,
                booth_=booth,
                recruiter=recruiter,
                candidate_=candidate,
                starts_at=now + timedelta(minutes=1),
                minutes=int(length),
            )
            interviewed.append((interview.id, recruiter.id, uid))
        staff = [organiser.id, *(r.id for r in recruiters), *colleagues]
        keys = await _harness.log_in(session, staff + ids, now)
        cookies = {u: _harness.cookie(secret, k) for u, k in zip(staff + ids, keys, strict=True)}
        world = World(
            slug=edition.slug,
            edition_id=edition.id,
            booths=[b.id for b in booths],
            offers=[o.id for o in offers],
            recruiters=[Person(r.id, cookies[r.id]) for r in recruiters],
            organiser=Person(organiser.id, cookies[organiser.id]),
            talk=talk.id,
            candidates=[Person(u, cookies[u]) for u in ids[: args.users]],
            viewers=[Person(u, cookies[u]) for u in ids[args.users : args.users + args.viewers]],
            interviews=[
                (i, Person(r, cookies[r]), Person(c, cookies[c])) for i, r, c in interviewed
            ],
        )
    await engine.dispose()
    return world


def live_zone(now: datetime, seconds: float) -> str:
    """The edition's time zone: of ZONES, the one whose day has the most left now. Its live
    hours are 0:00 to 23:59 each day (tests.factories): a run crossing that minute in the
    edition's zone had its talk refused at seeding (webconference.invalid, outside the live
    hours), and would have had its queues closed (queue.closed). SystemExit when the run
    cannot fit in one day (more than about 16 hours)."""
    left = {zone: _day_left(now, zone) for zone in ZONES}
    zone = max(left, key=lambda z: left[z])
    if left[zone] < seconds + 20 * 60:  # the talk outlasts the run by 15 minutes
        raise SystemExit(f"the run ({seconds / 3600:.1f} h) does not fit in one live day")
    return zone


def _day_left(now: datetime, zone: str) -> float:
    local = now.astimezone(ZoneInfo(zone))
    closes = local.replace(hour=23, minute=59, second=0, microsecond=0)
    return (closes - local).total_seconds()


def admission_caps(total: int) -> tuple[int, int]:
    """The edition's admission caps (fair.admission), active and a minute, set explicitly:
    armed, as a live fair's are, so that the gate's work (places taken, cookies renewed,
    sockets counted in by the hub's round) is part of what is soaked, yet never engaged
    (nobody held): everyone active at once stays under ENGAGE of the active cap, and their
    arrivals, were they all to come in one hub round, under ENGAGE of the per-minute cap's
    bucket. The platform's defaults (1,119 active: fair.settings) could hold the 1,000 users past
    them: the soak is a fair within its capacity; bench/surge.py measures the gate engaged."""
    from fair import admission

    active = math.ceil(total / admission.ENGAGE) + 10
    per_minute = math.ceil(total / admission.ENGAGE * 60 / admission.BURST) + 10
    return active, per_minute


# What is measured ------------------------------------------------------------------------------


class Calls:
    """What each side of the booth calls saw, by queue entry: the replies and the events of the
    recruiter who called and of the candidate (their last KEPT entries). The journals of the
    first SHOWN calls counted as errors are kept whole (and grow with what comes after) to be
    printed in full, the others counted only."""

    KEPT = 300
    SHOWN = 3
    # The events noted as they come (queue.position and queue.changed only move places).
    NOTED = frozenset(
        {
            "queue.called",
            "queue.skipped",
            "queue.left",
            "conversation.started",
            "conversation.ended",
            "resync",
        }
    )

    def __init__(self, start: float) -> None:
        self.start = start  # time.time() the notes count from (the end of the warm-up)
        self.journals: OrderedDict[int, list[str]] = OrderedDict()
        self.shown: list[tuple[str, list[str]]] = []

    def note(self, entry: int, who: str, what: str) -> None:
        lines = self.journals.get(entry)
        if lines is None:
            lines = self.journals[entry] = []
            if len(self.journals) > self.KEPT:
                self.journals.popitem(last=False)
        lines.append(f"{time.time() - self.start:+.1f} s {who}: {what}")

    def heard(self, who: str, entry: int | None, channel: str, event: dict[str, Any]) -> None:
        """An event `who` received (a Live's `seen`): noted on the entry it names, else on
        `entry` (theirs: a resync, a conversation)."""
        name = event.get("event")
        about = event.get("entry_id", entry)
        if name in self.NOTED and isinstance(about, int):
            fields = ", ".join(f"{k} {v}" for k, v in event.items() if k != "event")
            self.note(about, who, f"{name} on {channel}" + (f" ({fields})" if fields else ""))

    def forget(self, entry: int) -> None:
        """A call that ended as it should: its journal is not needed."""
        self.journals.pop(entry, None)

    def show(self, error: str, entry: int) -> None:
        """`error` was counted for the call of `entry`: its journal printed in full (the
        first SHOWN)."""
        if len(self.shown) < self.SHOWN:
            self.shown.append((error, self.journals.setdefault(entry, [])))


@dataclass
class Tally:
    """Round trips by interval (seconds), errors, the servers' RSS samples (KiB), and the
    journals of the booth calls."""

    start: float  # time.time() when the measurement begins (after warm-up)
    interval: float
    intervals: int
    mix: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    static: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    rss: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    actions: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    calls: Calls = field(init=False)

    def __post_init__(self) -> None:
        self.calls = Calls(self.start)

    def bucket(self, at: float) -> int | None:
        n = int((at - self.start) // self.interval) if at >= self.start else -1
        return n if 0 <= n < self.intervals else None

    def error(self, what: str, at: float | None = None) -> None:
        """Noted with when it happened, in seconds from the end of the warm-up."""
        self.errors.append(f"at {(at or time.time()) - self.start:+.0f} s: {what}")

    def record(self, kind: str, began: float, seconds: float, error: str | None) -> None:
        if error is not None:
            self.error(error, began)
        self.actions[kind] += 1
        if (n := self.bucket(began)) is not None:
            (self.static if kind == "static" else self.mix)[n].append(seconds)


async def fetch(
    client: httpx.AsyncClient,
    tally: Tally,
    kind: str,
    method: str,
    path: str,
    expect: tuple[int, ...] = (200,),
    **kw: Any,
) -> httpx.Response | None:
    began, started = time.time(), time.monotonic()
    try:
        try:
            answer = await client.request(method, path, **kw)
        except httpx.RemoteProtocolError:
            if method != "GET":
                raise
            # A kept-alive connection the server closed as it was reused: a browser sends
            # the GET again on a new one, so does this client (once).
            answer = await client.request(method, path, **kw)
    except httpx.HTTPError as exc:
        tally.record(kind, began, time.monotonic() - started, f"{method} {path}: {exc!r}")
        return None
    error = None if answer.status_code in expect else f"{method} {path}: {answer.status_code}"
    tally.record(kind, began, time.monotonic() - started, error)
    return answer


# The candidates and the recruiters --------------------------------------------------------------


@dataclass
class Run:
    world: World
    args: argparse.Namespace
    tally: Tally
    stopping: asyncio.Event
    cv: bytes


async def candidate(run: Run, n: int, person: Person, base: str, transport: Any) -> None:
    """Visits, one after another until the end: a socket opened, actions every `--think` s
    on average, and after `--visit` s on average (exponential) the socket closed, back after
    a `--think` pause with a new one (so sockets open and close all run long, as at a fair)."""
    world, args, tally = run.world, run.args, run.tally
    rng = random.Random(n)
    client = httpx.AsyncClient(transport=transport, base_url=base, timeout=120.0)
    client.cookies.set("fair_session", person.cookie)
    kind = ("apply", "queue", *["browse"] * 5)[n % 7]
    has_cv = False
    offers = world.offers[n % len(world.offers) :] + world.offers[: n % len(world.offers)]
    live: Live | None = None
    try:
        while not run.stopping.is_set():
            stay = rng.expovariate(1 / args.visit) if args.visit else math.inf
            leaves = time.monotonic() + stay
            live = await Live.open(base, person.cookie, tally.record)
            for channel in (f"user:{person.id}", f"edition:{world.edition_id}"):
                await live.call("subscribe", {"channel": channel})
            while not run.stopping.is_set() and time.monotonic() < leaves:
                if await pause(run, rng) or live.closed:
                    break
                if kind == "apply" and offers:
                    # The CV goes with each application until one was taken (one refused
                    # with 503 left none on file: the next, without, was refused with 422).
                    has_cv = await apply(run, client, offers.pop(0), with_cv=not has_cv)
                elif kind == "queue":
                    await queue(run, live, rng.choice(world.booths), n, person.id)
                elif rng.random() < 0.05:
                    body = f"Question {n}: recrutez-vous des débutants ?"
                    await live.call("qa.ask", {"booth_id": rng.choice(world.booths), "body": body})
                else:
                    await browse(run, client, rng)
            if live.closed:
                code, reason = live.ws.close_code, live.ws.close_reason
                tally.error(f"candidate {n}: socket closed {code} {reason!r}")
                if code != CLOSE_TRY_AGAIN:
                    break
                # "Try again later" (a busy server): static/live.js connects again, backing
                # off; so does this candidate, after a pause.
            await live.close()
            live = None
            if not run.stopping.is_set():
                tally.actions["visit ended"] += 1
                await pause(run, rng)
    except (OSError, TimeoutError, httpx.HTTPError, websockets.InvalidStatus) as exc:
        tally.error(f"candidate {n}: {exc!r}")
    finally:
        if live is not None:
            await live.close()
        # The client is not closed: that would close the transport all candidates share.


async def pause(run: Run, rng: random.Random) -> bool:
    """Think for `--think` s on average (exponential); whether the run is stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.stopping.wait(), rng.expovariate(1 / run.args.think))
    return run.stopping.is_set()


async def browse(run: Run, client: httpx.AsyncClient, rng: random.Random) -> None:
    world = run.world
    path = rng.choice(
        [
            f"/e/{world.slug}",
            f"/e/{world.slug}/booths",
            f"/e/{world.slug}/booths/{rng.choice(world.booths)}",
            f"/e/{world.slug}/offers?q=" + rng.choice(["poste", "électricien", "cdi", ""]),
            f"/offers/{rng.choice(world.offers)}",
        ]
    )
    await fetch(client, run.tally, "page", "GET", path)


async def apply(run: Run, client: httpx.AsyncClient, offer: int, *, with_cv: bool) -> bool:
    """Apply to `offer`, sending the CV `with_cv`; whether the candidate has a CV on file."""
    page = await fetch(client, run.tally, "page", "GET", f"/offers/{offer}")
    found = CSRF_RE.search(page.text) if page is not None else None
    if found is None:
        run.tally.error(f"/offers/{offer}: no form to apply")
        return not with_cv
    files = {"cv": ("cv.pdf", run.cv, "application/pdf")} if with_cv else None
    data = {"csrf_token": found.group(1), "message": "Bonjour, ce poste m'intéresse."}
    path = f"/offers/{offer}/apply"
    sent = await fetch(client, run.tally, "apply", "POST", path, (303,), data=data, files=files)
    return not with_cv or (sent is not None and sent.status_code == 303)


async def queue(run: Run, live: Live, booth: int, n: int, user: int) -> None:
    """Join a booth's queue, answer the call, write twice, wait for the end; what this
    candidate (`user`, their id) sent and heard noted in the call's journal."""
    calls, who = run.tally.calls, f"candidate {user}"
    mine: list[int] = []  # the entry, once joined
    live.seen = lambda channel, event: calls.heard(who, mine[0] if mine else None, channel, event)
    try:
        await _queue(run, live, booth, n, who, mine)
    finally:
        live.seen = None


async def _queue(run: Run, live: Live, booth: int, n: int, who: str, mine: list[int]) -> None:
    calls = run.tally.calls
    called = live.watch(event="queue.called", booth_id=booth)
    try:
        joined = await live.call("queue.join", {"booth_id": booth})
        if joined[0] != "success":
            return
        place = joined[2]
        mine.append(entry := place["entry_id"])
        calls.note(entry, who, f"queue.join: {place['status']}, position {place['position']}")
        try:
            call = await asyncio.wait_for(called, run.args.queue_wait)
        except TimeoutError:
            calls.note(entry, who, f"no call within {run.args.queue_wait:g} s: queue.leave")
            await insisting(
                live,
                "queue.leave",
                {"booth_id": booth},
                lambda left: calls.note(entry, who, f"queue.leave: {left[0]} {left[2]}"),
            )
            return
    finally:
        called.cancel()
    ended = live.watch(event="conversation.ended")
    try:
        answer = await insisting(
            live,
            "queue.answer",
            {"entry_id": call["entry_id"]},
            lambda answer: calls.note(
                call["entry_id"], who, f"queue.answer: {answer[0]} {answer[2]}"
            ),
        )
        if answer[0] != "success":
            return
        conversation = answer[2]["conversation_id"]
        for k in range(2):
            await asyncio.sleep(2)
            body = f"Bonjour, je suis le candidat {n} ({k})."
            await live.call("conversation.send", {"conversation_id": conversation, "body": body})
        try:
            await asyncio.wait_for(ended, 120)
        except TimeoutError:
            run.tally.error(f"conversation {conversation}: never ended")
    finally:
        ended.cancel()


async def insisting(
    live: Live,
    action: str,
    payload: dict[str, Any],
    note: Callable[[list[Any]], None] | None = None,
    *,
    pause: float = 2.0,
) -> list[Any]:
    """Send `action`, and again (5 times at most, `pause` s apart) while it is refused for want
    of the server (`server.*`: nothing was done, "try again in a few seconds"), as a person
    clicks again; the last reply (each `note`d). A candidate whose leave was refused once
    stayed in the queue: called later, skipped (twice in the soak at 5140f18, on a loaded
    machine)."""
    for attempt in range(5):
        if attempt:
            await asyncio.sleep(pause)
        reply = await live.call(action, payload)
        if note is not None:
            note(reply)
        if reply[0] == "success" or not str(reply[2].get("code")).startswith("server."):
            break
    return reply


async def recruiter(run: Run, booth: int, person: Person, base: str) -> None:
    """Staff the booth; call the next candidate, write once, end the conversation."""
    tally = run.tally
    try:
        live = await Live.open(base, person.cookie, tally.record)
    except (OSError, TimeoutError) as exc:
        tally.error(f"recruiter {person.id}: {exc!r}")
        return
    try:
        await live.call("subscribe", {"channel": f"user:{person.id}"})
        await live.call("booth.staff", {"booth_id": booth})
        while not run.stopping.is_set() and not live.closed:
            ends = {name: live.watch(event=name) for name in CALL_ENDS}
            asked = time.monotonic()
            called = await live.call("queue.next", {"booth_id": booth})
            if called[0] != "success" or called[2]["entry_id"] is None:
                for watched in ends.values():
                    watched.cancel()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(run.stopping.wait(), 2)
                continue
            entry, candidate = called[2]["entry_id"], called[2]["candidate"]["id"]
            calls = run.tally.calls
            took = f"queue.next in {time.monotonic() - asked:.1f} s"
            calls.note(entry, f"recruiter of booth {booth}", f"{took}: calls candidate {candidate}")
            conversation = await call_ended(run, live, booth, entry, ends)
            if conversation is None:
                continue
            heard = asyncio.create_task(candidate_writes(live, conversation, person.id))
            body = "Bonjour, parlez-moi de votre parcours."
            await live.call("conversation.send", {"conversation_id": conversation, "body": body})
            # The candidate's two messages, then `--conversation` s before ending (ended
            # earlier, the candidate's second message was refused, conversation.ended: the
            # bench's race, not the server's fault). 120 s at most, as the candidate waits.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(heard, 120)
            await asyncio.sleep(run.args.conversation)
            payload = {"conversation_id": conversation, "next_step": "keep_in_touch"}
            await insisting(live, "conversation.end", payload, pause=5.0)
        if live.closed:
            tally.error(f"recruiter {person.id}: socket closed {live.ws.close_code}")
    finally:
        await live.close()


async def call_ended(
    run: Run,
    live: Live,
    booth: int,
    entry: int,
    ends: dict[str, asyncio.Future[dict[str, Any]]],
) -> int | None:
    """How the recruiter's call of `entry` ended (`ends`: its watched ends, from before the
    call, which is noted); the conversation's id when the candidate answered, else None. A
    candidate who left within LEFT_AS_CALLED s of the call gave up as it came (their wait ran
    out; the product tells the recruiter with `queue.left`): counted, not an error. A candidate
    who left later, or was skipped (the candidate bot answers any call it hears while it
    waits: it did not hear this one, or its answer was refused), or no end heard within
    CALL_WAIT s: an error, its journal (both sides' replies and events) kept to be printed
    (`Calls`)."""
    calls, who = run.tally.calls, f"recruiter of booth {booth}"
    live.seen = lambda channel, event: calls.heard(who, entry, channel, event)
    began = time.monotonic()
    try:
        end = await _first_end(live, ends, entry, CALL_WAIT)
    finally:
        live.seen = None
        for watched in ends.values():
            watched.cancel()
    seconds = time.monotonic() - began
    if end is not None and end[0] == "conversation.started":
        calls.forget(entry)
        run.tally.actions["call answered"] += 1
        return int(end[1]["conversation_id"])
    if end is not None and end[0] == "queue.left" and seconds <= LEFT_AS_CALLED:
        calls.forget(entry)
        run.tally.actions["call left as it came"] += 1
        return None
    if end is None:
        error = f"booth {booth}: entry {entry}: a call neither answered, left nor skipped"
    elif end[0] == "queue.left":
        error = f"booth {booth}: entry {entry}: a called candidate left without answering"
    else:
        error = f"booth {booth}: entry {entry}: a call skipped, not answered within 60 s"
    calls.note(entry, who, f"{end[0] if end else 'nothing'} after {seconds:.1f} s: an error")
    run.tally.error(error)
    calls.show(run.tally.errors[-1], entry)
    return None


async def _first_end(
    live: Live, ends: dict[str, asyncio.Future[dict[str, Any]]], entry: int, seconds: float
) -> tuple[str, dict[str, Any]] | None:
    """The first of `ends` heard for `entry` within `seconds` (an end of an earlier call, late,
    is passed over: watched again), or None."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        waiting = set(ends.values())
        done, _ = await asyncio.wait(waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        for name, watched in list(ends.items()):
            if watched not in done:
                continue
            event = watched.result()
            if event.get("entry_id", entry) == entry:  # conversation.started names none
                return name, event
            ends[name] = live.watch(event=name)
    return None


async def candidate_writes(live: Live, conversation: int, recruiter: int, count: int = 2) -> None:
    """Until `count` messages of the conversation's other side have come."""
    while count:
        said = await live.watch(event="conversation.message", conversation_id=conversation)
        count -= said["sender_id"] != recruiter


# The talk and the interviews (a process of their own: aiortc's load stays out of the mix's) ----


async def media_run(pipe: Any, world: World, bases: list[str], args: argparse.Namespace) -> None:
    records: list[tuple[str, float, float, str | None]] = []

    def record(kind: str, began: float, seconds: float, error: str | None) -> None:
        records.append((kind, began, seconds, error))

    relay.setup_aiortc()
    clip = relay.encode_clip()
    bots: dict[str, relay.Bot] = {}
    sockets: list[Live] = []
    peers: list[Any] = []
    try:
        await present(world, bases[0], clip, record, sockets, peers)
        for k, viewer in enumerate(world.viewers):
            bots[f"viewer {viewer.id}"] = await watch(world, bases[k % 2], viewer, record, sockets)
        for k, (interview, rec, cand) in enumerate(world.interviews):
            pair = await interview_call(interview, bases[k % 2], rec, cand, clip, record, sockets)
            bots.update(pair)
        pipe.send(("ready", records[:], []))
        records.clear()
        await chat_and_check(pipe, world, bots, sockets, records, args)
    except Exception as exc:  # noqa: BLE001 (told to the parent, which counts it)
        pipe.send(("failed", records[:], [f"media client: {exc!r}"]))
    finally:
        for bot in bots.values():
            await bot.pc.close()
        for pc in peers:
            await pc.close()
        for live in sockets:
            await live.close()


async def present(
    world: World, base: str, clip: Any, record: Any, sockets: list[Live], peers: list[Any]
) -> None:
    from aiortc import RTCSessionDescription

    live = await Live.open(base, world.organiser.cookie, record)
    sockets.append(live)
    pc = relay.peer()
    peers.append(pc)
    relay.send_clip(pc, relay.clip_tracks(*clip))
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"webconference_id": world.talk, "type": "offer", "sdp": pc.localDescription.sdp}
    for _ in range(60):  # until the media process has registered with Redis
        published = await live.call("stage.publish", {**offer, "source": "camera"})
        if published[0] == "success" or published[2].get("code") != "stage.unavailable":
            break
        await asyncio.sleep(0.5)
    if published[0] != "success":
        raise RuntimeError(f"stage.publish: {published}")
    await pc.setRemoteDescription(RTCSessionDescription(published[2]["sdp"], "answer"))
    await live.call("stage.start", {"webconference_id": world.talk})


async def watch(
    world: World, base: str, viewer: Person, record: Any, sockets: list[Live]
) -> relay.Bot:
    live = await Live.open(base, viewer.cookie, record)
    sockets.append(live)
    await live.call("subscribe", {"channel": f"webconference:{world.talk}"})
    bot = relay.Bot()
    offer = await live.call("stage.watch", {"webconference_id": world.talk})
    if offer[0] == "success":
        answer = await bot.accept(offer[2]["sdp"])
        await live.call("stage.answer", {"webconference_id": world.talk, "sdp": answer})
    return bot


async def interview_call(
    interview: int,
    base: str,
    rec: Person,
    cand: Person,
    clip: Any,
    record: Any,
    sockets: list[Live],
) -> dict[str, relay.Bot]:
    """Both join the room, the recruiter admits and offers, the candidate answers: media flows
    between the two bots, the server relaying the signals only."""
    from aiortc import RTCSessionDescription

    lives, ids = [], []
    for person in (rec, cand):
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            client.cookies.set("fair_session", person.cookie)
            page = await fetch_token(client, interview)
        live = await Live.open(base, person.cookie, record)
        sockets.append(live)
        joined = await live.call("room.join", {"interview_id": interview, "token": page})
        if joined[0] != "success":
            raise RuntimeError(f"room.join: {joined}")
        lives.append(live)
        ids.append(joined[2]["connection_id"])
    await lives[0].call("room.admit", {"interview_id": interview})
    offerer, answerer = relay.Bot(), relay.Bot()
    relay.send_clip(offerer.pc, relay.clip_tracks(*clip))
    await offerer.pc.setLocalDescription(await offerer.pc.createOffer())
    offered = lives[1].watch(event="room.signal")
    data = {"type": "offer", "sdp": offerer.pc.localDescription.sdp}
    await lives[0].call("room.signal", {"interview_id": interview, "to": ids[1], "data": data})
    offer = await asyncio.wait_for(offered, 30)
    answered = lives[0].watch(event="room.signal")
    sdp = await answerer.accept(offer["data"]["sdp"], send=relay.clip_tracks(*clip))
    data = {"type": "answer", "sdp": sdp}
    await lives[1].call("room.signal", {"interview_id": interview, "to": ids[0], "data": data})
    answer = await asyncio.wait_for(answered, 30)
    await offerer.pc.setRemoteDescription(RTCSessionDescription(answer["data"]["sdp"], "answer"))
    offerer.count_headers()
    return {f"interview {interview} {side}": bot
            for side, bot in (("recruiter", offerer), ("candidate", answerer))}  # fmt: skip


async def fetch_token(client: httpx.AsyncClient, interview: int) -> str:
    page = await client.get(f"/interviews/{interview}/room")
    found = TOKEN_RE.search(page.text)
    if page.status_code != 200 or found is None:
        raise RuntimeError(f"room page of interview {interview}: {page.status_code}")
    return found.group(1)


async def chat_and_check(
    pipe: Any,
    world: World,
    bots: dict[str, relay.Bot],
    sockets: list[Live],
    records: list[Any],
    args: argparse.Namespace,
) -> None:
    """Every `--chat-every` s each interview side writes in its room; each check, every bot's
    video frames must have grown; the round trips and errors go to the parent, until it says
    stop."""
    rooms = sockets[1 + len(world.viewers) :]  # after the presenter's and the viewers'
    frames = {name: bot.streams["video"].frames for name, bot in bots.items()}
    loop = asyncio.get_running_loop()
    n = 0
    while not await loop.run_in_executor(None, pipe.poll, args.chat_every):
        n += 1
        for k, live in enumerate(rooms):
            interview = world.interviews[k // 2][0]
            body = f"Message {n} de {'la recruteuse' if k % 2 == 0 else 'la candidate'}."
            await live.call("room.message", {"interview_id": interview, "body": body})
        errors = [f"{s!r}: socket closed" for s in sockets if s.closed]
        now = {name: bot.streams["video"].frames for name, bot in bots.items()}
        errors += [f"{name}: no video for {args.chat_every:g} s" for name in now
                   if now[name] <= frames[name]]  # fmt: skip
        frames = now
        pipe.send(("report", records[:], errors))
        records.clear()
    pipe.recv()


def media_main(pipe: Any, world: World, bases: list[str], args: argparse.Namespace) -> None:
    _harness.die_with_parent()
    fanout.run(media_run(pipe, world, bases, args))
    pipe.close()


# The run -----------------------------------------------------------------------------------------


async def sample(run: Run, processes: dict[str, Any]) -> None:
    """Every `--sample` s: each server's RSS, and whether it still runs."""
    tally = run.tally
    for name in processes:
        tally.rss[name] = defaultdict(list)
    while not run.stopping.is_set():
        n = tally.bucket(time.time())
        for name, process in processes.items():
            if process.poll() is not None:
                tally.error(f"{name} exited ({process.returncode})")
                run.stopping.set()
            elif n is not None:
                tally.rss[name][n].append(_harness.rss_kib(process.pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.stopping.wait(), run.args.sample)


async def snapshots(run: Run, processes: dict[str, Any]) -> None:
    """--tracemalloc: each web process starts tracing at the end of the first interval and
    writes its snapshot a few seconds before the end of the last (bench/_traced.py)."""
    tally = run.tally
    ends = tally.start + tally.intervals * tally.interval
    for at in (tally.start + tally.interval, ends - 10):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.stopping.wait(), max(0.0, at - time.time()))
        if run.stopping.is_set():
            return
        for name, process in processes.items():
            if name.startswith("web"):
                process.send_signal(signal.SIGUSR2)


def grown(directory: str, processes: dict[str, Any]) -> None:
    """--tracemalloc: what each web process allocated from the end of the first interval on
    and still held near the end of the last, the largest first."""
    import _traced

    for name, process in processes.items():
        path = Path(directory) / f"{process.pid}.snap"
        if name.startswith("web") and path.exists():
            print(f"\n{name}: allocated after the first interval and still held near the end")
            print("\n".join(_traced.grown(path)))


async def reference(run: Run, bases: list[str], transports: list[Any]) -> None:
    """The static file, twice a second, from each server in turn."""
    clients = [
        httpx.AsyncClient(transport=t, base_url=b, timeout=60)
        for t, b in zip(transports, bases, strict=True)
    ]
    n = 0
    while not run.stopping.is_set():
        await fetch(clients[n % 2], run.tally, "static", "GET", "/static/fair.css")
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.stopping.wait(), 0.5)


async def soak(world: World, bases: list[str], processes: dict[str, Any],
               args: argparse.Namespace) -> Tally:  # fmt: skip
    """The talk and the interviews first (their process says when they run), then the
    recruiters and the candidates; the warm-up starts with them."""
    from tests import factories as f

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    media = ctx.Process(target=media_main, args=(child, world, bases, args), daemon=True)
    media.start()
    loop = asyncio.get_running_loop()
    began = time.monotonic()
    if not await loop.run_in_executor(None, parent.poll, 600):
        raise SystemExit("the talk and the interviews did not start within 600 s")
    first = parent.recv()
    print(f"   the talk and the interviews: {first[0]} after {time.monotonic() - began:.0f} s",
          flush=True)  # fmt: skip
    intervals = max(1, round(args.minutes * 60 / args.interval))
    tally = Tally(time.time() + args.warmup, args.interval, intervals)
    run = Run(world, args, tally, asyncio.Event(), f.pdf_bytes("CV de candidat"))
    # A connection idle for 2 s is not reused: uvicorn closes it after 5 s, and one reused as it
    # closes fails the request (a browser would retry it; this client would count an error).
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=100, keepalive_expiry=2.0
    )
    transports = [httpx.AsyncHTTPTransport(limits=limits) for _ in bases]
    tasks = [asyncio.create_task(sample(run, processes)),
             asyncio.create_task(reference(run, bases, transports))]  # fmt: skip
    if args.tracemalloc:
        tasks.append(asyncio.create_task(snapshots(run, processes)))
    for k, (booth, person) in enumerate(zip(world.booths, world.recruiters, strict=True)):
        tasks.append(asyncio.create_task(recruiter(run, booth, person, bases[k % 2])))
    ramp = args.warmup / 2 / max(1, len(world.candidates))
    for n, person in enumerate(world.candidates):
        tasks.append(
            asyncio.create_task(candidate(run, n, person, bases[n % 2], transports[n % 2]))
        )
        await asyncio.sleep(ramp)
    end = tally.start + tally.intervals * tally.interval
    what, records, errors = first
    while True:
        for record in records:
            tally.record(*record)
        for error in errors:
            tally.error(error)
        if what == "failed" or time.time() >= end or run.stopping.is_set():
            break
        what, records, errors = "report", [], []
        if await loop.run_in_executor(None, parent.poll, 1.0):
            what, records, errors = parent.recv()
    run.stopping.set()
    with contextlib.suppress(OSError):
        parent.send("stop")
    # What is under way ends within 15 s (a page, a conversation's last words); the rest (a
    # place in a queue, say) is given up.
    _, pending = await asyncio.wait(tasks, timeout=15)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            tally.error(f"crashed: {task.exception()!r}")
    media.join(30)
    if media.is_alive():
        media.kill()
    for transport in transports:
        await transport.aclose()
    return tally


def kind_of(error: str) -> str:
    """An error without when it happened nor whose it was (ids become N), its status kept."""
    what = error.split(": ", 1)[1]
    return IDS_RE.sub(lambda m: m.group(1) + "N", what)


def report(tally: Tally, args: argparse.Namespace, world: World) -> None:
    names = list(tally.rss)
    print(f"\n{'interval':>8} {'requests':>8} {'p50 ms':>7} {'p99 ms':>7} {'static p99':>10}  "
          + " ".join(f"{n + ' MiB':>11}" for n in names))  # fmt: skip
    for n in range(tally.intervals):
        mix, static = tally.mix.get(n, []), tally.static.get(n, [])
        rss = [statistics.mean(tally.rss[name].get(n) or [float("nan")]) / 1024 for name in names]
        print(f"{n + 1:>8} {len(mix):>8} {_harness.pct(mix, 50) * 1000:>7.0f} "
              f"{_harness.pct(mix, 99) * 1000:>7.0f} {_harness.pct(static, 99) * 1000:>10.1f}  "
              + " ".join(f"{r:>11.1f}" for r in rss))  # fmt: skip
    print("actions: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.actions.items())))
    kinds = Counter(kind_of(e) for e in tally.errors)
    for kind, count in kinds.most_common(12):
        first = next(e for e in tally.errors if kind_of(e) == kind)
        print(f"   {count:>6} x {kind} (first {first.split(': ', 1)[0]})")
    for error, journal in tally.calls.shown:  # the first unanswered calls, both sides in full
        print(f"   {error}; what each side sent and heard:")
        for line in journal:
            print(f"      {line}")
    last = tally.intervals - 1
    print(f"\nSummary: {len(world.candidates):,} candidates in the mix, {len(world.viewers)} "
          f"viewers, {len(world.interviews)} interviews, {len(world.booths)} recruiters; "
          f"{args.warmup:g} s warm-up, {tally.intervals} intervals of {args.interval:g} s; 2 web "
          f"processes, worker, media on PostgreSQL + Redis; {os.cpu_count()} cores")  # fmt: skip
    growths = {}
    for name in names:
        before = statistics.mean(tally.rss[name].get(0) or [float("nan")])
        after = statistics.mean(tally.rss[name].get(last) or [float("nan")])
        growths[name] = (after - before) / before
    shown = ", ".join(f"{name} {growth * 100:+.1f} %" for name, growth in growths.items())
    grew = all(growth < GOAL_RSS for growth in growths.values())  # NaN (no sample) fails
    print(
        f"RSS growth after warm-up (last interval vs first): {shown}; "
        f"goal < {GOAL_RSS:.0%}: {'ok' if grew else 'MISSED'}"
    )
    first99, last99 = (_harness.pct(tally.mix.get(i, []), 99) * 1000 for i in (0, last))
    ratio = last99 / first99 if first99 else float("nan")
    print(
        f"p99 first interval {first99:.0f} ms, last {last99:.0f} ms ({ratio:.2f}x); "
        f"goal <= {GOAL_P99:g}x: {'ok' if ratio <= GOAL_P99 else 'MISSED'}"
    )
    s0, s1 = (_harness.pct(tally.static.get(i, []), 99) * 1000 for i in (0, last))
    print(
        f"reference: /static/fair.css from the same servers, p99 first interval {s0:.1f} ms, "
        f"last {s1:.1f} ms ({s1 / s0 if s0 else float('nan'):.2f}x)"
    )
    print(f"errors {len(tally.errors)}; goal 0: {'ok' if not tally.errors else 'MISSED'}")


def timed_out(signum: int, frame: Any) -> None:
    """--timeout reached: SystemExit, so that the `finally` blocks and `with` exits stop the
    processes, drop the database and delete the Redis keys."""
    raise SystemExit("soak: --timeout reached, stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="measured, after warm-up")
    parser.add_argument(
        "--users",
        type=int,
        default=None,
        help="candidates (1,000), viewers, interviews too",
    )
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--interviews", type=int, default=5)
    parser.add_argument("--booths", type=int, default=10)
    parser.add_argument("--offers", type=int, default=6, help="per booth")
    parser.add_argument("--think", type=float, default=30.0, help="mean seconds between actions")
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default: 5 min, "
                        "or a quarter of --minutes when shorter)")  # fmt: skip
    parser.add_argument("--visit", type=float, default=900.0, help="mean seconds a candidate "
                        "stays before closing their socket and coming back (0: stays)")  # fmt: skip
    parser.add_argument("--tracemalloc", metavar="DIR", help="web processes traced, their "
                        "snapshots there, what grew printed (slows them)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=None, help="seconds for the whole "
                        "run at most, then everything stopped and cleaned up (default: the "
                        "warm-up and --minutes, plus 20 min to seed, start and stop)")  # fmt: skip
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per interval")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--queue-wait", type=float, default=120.0)
    parser.add_argument("--conversation", type=float, default=30.0, help="seconds a recruiter "
                        "waits before ending a conversation")  # fmt: skip
    parser.add_argument("--chat-every", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=100, help="HTTP connections a server")
    parser.add_argument("--pg-database", default="fair_bench_soak")
    parser.add_argument("--namespace", default="fair-bench-soak")
    args = parser.parse_args()
    args.users = (1000 if args.users is None else args.users) - args.viewers - args.interviews
    if args.users < 1:
        raise SystemExit("--users must exceed --viewers + --interviews")
    if args.warmup is None:
        args.warmup = min(300.0, args.minutes * 15)
    if args.timeout is None:
        args.timeout = args.warmup + args.minutes * 60 + SETUP_SECONDS
    _harness.raise_open_files()
    signal.signal(signal.SIGTERM, _harness.exit_on_sigterm)  # the database dropped too
    signal.signal(signal.SIGALRM, timed_out)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    secret = secrets.token_urlsafe(48)
    url = fanout.run(_harness.pg_database(args.pg_database, create=True))
    data_dir = tempfile.TemporaryDirectory(prefix="fair-bench-soak-")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BROADCAST_URL": REDIS_URL,
        "SECRET_KEY": secret,
        "FAIR_ENV": "test",
        "FAIR_DATA_DIR": data_dir.name,
        "FAIR_LOG_LEVEL": "WARNING",
        "FAIR_BROADCAST_NAMESPACE": args.namespace,
        "FAIR_MEDIA_URL": REDIS_URL,
        "FAIR_MEDIA_NAMESPACE": f"{args.namespace}:media",
        "FAIR_MEDIA_HOST_ADDRESSES": "127.0.0.1",
    }
    processes: dict[str, Any] = {}
    began = time.monotonic()
    try:
        print(f"Seeding {args.users + args.viewers + args.interviews:,} candidates…", flush=True)
        world = fanout.run(seed(url, args, secret))
        with _harness.Children() as children:
            processes["worker"] = children.fair(env, "worker")
            processes["media"] = children.fair(env, "media")
            # Within 3 minutes: a loaded machine starts them slowly.
            web_env = {**env, "FAIR_BACKGROUND_TASKS": "off"}
            command = _harness.uvicorn
            if args.tracemalloc:
                Path(args.tracemalloc).mkdir(parents=True, exist_ok=True)
                traced = [str(ROOT / "bench" / "_traced.py"), args.tracemalloc]
                command = lambda port: [*traced, *_harness.uvicorn(port)]  # noqa: E731
            web = children.servers(command, web_env, 2, seconds=180)
            for k, (process, _) in enumerate(web, start=1):
                processes[f"web{k}"] = process
            bases = [f"http://127.0.0.1:{port}" for _, port in web]
            print(f"Running ({time.monotonic() - began:.0f} s): {args.warmup:g} s warm-up, then "
                  f"{args.minutes:g} min…", flush=True)  # fmt: skip
            tally = fanout.run(soak(world, bases, processes, args))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)  # the clean-up below is bounded by itself
        # Each step whatever the others do (PostgreSQL out of connections failed the drop,
        # and the data directory was left behind).
        data_dir.cleanup()
        try:
            fanout.run(_harness.forget_namespace(REDIS_URL, args.namespace))
        finally:
            fanout.run(_harness.pg_database(args.pg_database, create=False))
    print(f"Done in {time.monotonic() - began:.0f} s", flush=True)
    report(tally, args, world)
    if args.tracemalloc:
        grown(args.tracemalloc, processes)


if __name__ == "__main__":
    main()
