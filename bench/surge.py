"""Opening surge: N candidates arriving within a window, with admission control off and on.

Usage: .venv/bin/python bench/surge.py                       # 10,000 in 60 s (issue 17)
       .venv/bin/python bench/surge.py --candidates 2000 --window 20 --per-minute 600
       .venv/bin/python bench/surge.py --candidates 200 --window 10 --deadline 5   # a smoke run

Two web processes (uvicorn, as `fair serve` runs them) on a fresh PostgreSQL database and the
local Redis (a namespace of this run's own), one edition open now with N registered candidates
(logged in by a server-side session each, the cookie signed here: argon2 would take minutes).
Candidate i arrives at i × window / N, on server i % 2, and does what a browser does at
opening: the edition page, the booth hall, then asks for its place in the admission line
(`/e/<slug>/waiting/status`, what the waiting page's script polls every `--poll` seconds)
until it is let in, then opens the `/live` socket and subscribes to its own channel; sockets
stay open to the end. Modes:

* `off`: no cap (FAIR_ADMISSION_* = 0, the edition's caps empty): everyone is let in at once.
* `on`: the edition's caps `--active` (0: none) and `--per-minute` let in each clock minute.

Printed per mode: errors (any answer but 200 on a page or a status, a socket refused or
closed: must be 0), page p50/p99 (edition page and hall), socket connect p99 (connect to the
subscribe's reply), the time from the first arrival until every candidate let in is connected,
how many were held and the largest position shown, and the honest-ETA error: for each held
candidate, the first wait the page showed against the wait it had from then on, |shown −
actual| / actual, p90 (goal within 25 %). Candidates still held `--deadline` seconds after the
window are counted apart (not errors). The figures mean something only on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import time as day_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402
from _harness import (  # noqa: E402
    add_candidates,
    cookie,
    forget_namespace,
    log_in,
    pct,
    pg_database,
    spawn_web,
    stop,
)
from sqlalchemy import insert, update  # noqa: E402

from fair import (  # noqa: E402
    accounts,
    channels,
    clock,
    db,
    demo,
    editions,
    migrations,
)
from fair.enums import Role  # noqa: E402
from fair.models import Edition, EditionCandidate  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
MODES = ("off", "on")
GOAL_ETA = 0.25  # the honest-ETA error, p90


@dataclass
class Seeded:
    slug: str
    users: list[tuple[int, str]]  # (user id, session cookie)


async def seed(url: str, n: int, secret: str, caps: tuple[int, int] | None) -> Seeded:
    """A fresh database: a published edition open all day today (its caps: `caps`), `n`
    registered candidates with a live server-side session each."""
    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    now = clock.now()
    async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
        organiser = await accounts.create_user(
            session, email="org@surge.fair", name="Org", password=None, role=Role.ORGANISER
        )
        data = replace(demo.edition_input(now), opens=day_time(0, 0), closes=day_time(23, 59))
        edition = await editions.create(session, by=organiser, data=data)
        await editions.publish(session, edition)
        if caps is not None:
            await session.execute(
                update(Edition)
                .where(Edition.id == edition.id)
                .values(admission_active_cap=caps[0] or None, admission_arrivals_per_minute=caps[1])
            )
        ids = await add_candidates(session, "surge", n, now)
        keys = await log_in(session, ids, now)
        registered = [
            {"edition_id": edition.id, "user_id": uid, "registered_at": now} for uid in ids
        ]
        for i in range(0, n, 2000):
            await session.execute(insert(EditionCandidate), registered[i : i + 2000])
        slug = edition.slug
    await engine.dispose()
    return Seeded(slug, [(uid, cookie(secret, key)) for uid, key in zip(ids, keys, strict=True)])


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
    eta_errors: list[float] = field(default_factory=list)
    unknown_eta: int = 0  # held, and no wait shown before being let in


async def candidate(
    uid: int,
    cookie: str,
    base: str,
    transport: httpx.AsyncHTTPTransport,
    slug: str,
    args: argparse.Namespace,
    start: float,
    tally: Tally,
    done: asyncio.Event,
) -> None:
    client = httpx.AsyncClient(transport=transport, base_url=base, timeout=60.0)
    client.cookies.set("fair_session", cookie)
    for path in (f"/e/{slug}", f"/e/{slug}/booths"):
        began = time.monotonic()
        try:
            answer = await client.get(path)
        except httpx.HTTPError as exc:
            tally.errors.append(f"{path}: {exc!r}")
            return
        tally.pages.append(time.monotonic() - began)
        if answer.status_code != 200:
            tally.errors.append(f"{path}: {answer.status_code}")
            return
    if not await wait_turn(client, slug, args, tally):
        return
    await live(client, uid, base, start, tally, done)


async def wait_turn(
    client: httpx.AsyncClient, slug: str, args: argparse.Namespace, tally: Tally
) -> bool:
    """Ask for one's place until let in (True), or the deadline (False)."""
    shown: tuple[float, float] | None = None  # (when, the wait shown)
    first = True
    while True:
        try:
            answer = await client.get(
                f"/e/{slug}/waiting/status", headers={"accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            tally.errors.append(f"status: {exc!r}")
            return False
        if answer.status_code != 200:
            tally.errors.append(f"status: {answer.status_code}")
            return False
        place = answer.json()
        now = time.monotonic()
        if place["admitted"]:
            if not first:
                if shown is None:
                    tally.unknown_eta += 1
                else:
                    actual = max(now - shown[0], 1e-3)
                    tally.eta_errors.append(abs(shown[1] - actual) / actual)
            return True
        if first:
            tally.held += 1
            tally.positions.append(int(place["position"]))
            first = False
        if shown is None and place.get("wait_seconds") is not None:
            shown = (now, float(place["wait_seconds"]))
        if now > args.deadline_at:
            tally.still_held += 1
            return False
        await asyncio.sleep(args.poll)


async def live(
    client: httpx.AsyncClient,
    uid: int,
    base: str,
    start: float,
    tally: Tally,
    done: asyncio.Event,
) -> None:
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    url = base.replace("http://", "ws://") + "/live"
    own = channels.user(uid)
    began = time.monotonic()
    try:
        async with websockets.connect(
            url, additional_headers={"Cookie": cookies}, origin=base, open_timeout=60
        ) as ws:
            await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame[0] != "event":
                    break
            if frame != ["success", 1, {"channel": own}]:
                tally.errors.append(f"subscribe: {frame}")
                return
            now = time.monotonic()
            tally.sockets.append(now - began)
            tally.connected_at.append(now - start)
            closed = asyncio.ensure_future(ws.wait_closed())
            waiting = asyncio.ensure_future(done.wait())
            await asyncio.wait({closed, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if closed.done():
                tally.errors.append(f"socket closed: {ws.close_code} {ws.close_reason}")
            closed.cancel()
            waiting.cancel()
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        tally.errors.append(f"socket: {exc!r}")


async def warm_up(bases: list[str], slug: str) -> None:
    """Each page once per server before the surge: templates compiled, pools opened."""
    async with httpx.AsyncClient(timeout=60.0) as client:
        for base in bases:
            for path in (f"/e/{slug}", f"/e/{slug}/booths"):
                await client.get(base + path)


async def surge(bases: list[str], seeded: Seeded, args: argparse.Namespace) -> Tally:
    await warm_up(bases, seeded.slug)
    tally = Tally()
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=100)
    transports = [httpx.AsyncHTTPTransport(limits=limits) for _ in bases]
    done = asyncio.Event()
    start = time.monotonic()
    args.deadline_at = start + args.window + args.deadline
    n = len(seeded.users)

    async def arrive(i: int, uid: int, cookie: str) -> None:
        await asyncio.sleep(max(0.0, start + i * args.window / n - time.monotonic()))
        server = i % len(bases)
        await candidate(
            uid, cookie, bases[server], transports[server], seeded.slug, args, start, tally, done
        )

    tasks = [asyncio.create_task(arrive(i, *user)) for i, user in enumerate(seeded.users)]
    everyone = len(tasks)
    while len(tally.connected_at) + len(tally.errors) + tally.still_held < everyone:
        if any(t.done() and t.exception() for t in tasks):
            break
        await asyncio.sleep(0.2)
    done.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if task.exception() is not None:
            tally.errors.append(f"crashed: {task.exception()!r}")
    for transport in transports:
        await transport.aclose()
    return tally


# The runs ----------------------------------------------------------------------------------------


def measure(mode: str, args: argparse.Namespace) -> tuple[str, Tally]:
    secret = secrets.token_urlsafe(48)
    namespace = f"{args.namespace}-{mode}"
    url = asyncio.run(pg_database(args.pg_database, create=True))
    caps = (args.active, args.per_minute) if mode == "on" else None
    seeded = asyncio.run(seed(url, args.candidates, secret, caps))
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
    }
    servers = spawn_web(env, 2)
    try:
        tally = asyncio.run(
            surge([f"http://127.0.0.1:{port}" for _, port in servers], seeded, args)
        )
    finally:
        for process, _ in servers:
            stop(process)
        asyncio.run(forget_namespace(REDIS_URL, namespace))
        asyncio.run(pg_database(args.pg_database, create=False))
    return row(mode, args, tally), tally


def row(mode: str, args: argparse.Namespace, tally: Tally) -> str:
    ms = [s * 1000 for s in tally.pages]
    socket_ms = [s * 1000 for s in tally.sockets]
    last = max(tally.connected_at, default=float("nan"))
    eta = pct(tally.eta_errors, 90) * 100 if tally.eta_errors else float("nan")
    return (
        f"{mode:<4} {args.candidates:>6} in {args.window:g} s: errors {len(tally.errors)}, "
        f"page p50 {pct(ms, 50):.0f} ms p99 {pct(ms, 99):.0f} ms, "
        f"socket p99 {pct(socket_ms, 99):.0f} ms, all let in connected at {last:.1f} s "
        f"({len(tally.connected_at)}), held {tally.held} (largest position "
        f"{max(tally.positions, default=0)}), still held {tally.still_held}, "
        f"ETA error p90 {eta:.0f} % ({len(tally.eta_errors)} measured, "
        f"{tally.unknown_eta} unknown)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds of arrivals")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--active", type=int, default=0, help="'on': active candidates cap")
    parser.add_argument(
        "--per-minute", type=int, default=0, help="'on': admissions a minute (default: N / 3)"
    )
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between two asks")
    parser.add_argument(
        "--deadline", type=float, default=180.0, help="seconds after the window to wait"
    )
    parser.add_argument("--connections", type=int, default=200, help="HTTP connections a server")
    parser.add_argument("--pg-database", default="fair_bench_surge")
    parser.add_argument("--namespace", default="fair-bench-surge")
    args = parser.parse_args()
    args.per_minute = args.per_minute or max(1, args.candidates // 3)
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose among {', '.join(MODES)}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.candidates + 500 > hard:
        raise SystemExit(f"RLIMIT_NOFILE is {hard}: too low for {args.candidates:,} sockets")
    lines, tallies = [], []
    for mode in modes:
        print(f"== {mode}: {args.candidates:,} candidates in {args.window:g} s", flush=True)
        line, tally = measure(mode, args)
        print(line, flush=True)
        for error in tally.errors[:5]:
            print(f"   {error}", flush=True)
        lines.append(line)
        tallies.append(tally)
    print(f"\nSummary ({os.cpu_count()} cores; 'on': --active {args.active}, "
          f"--per-minute {args.per_minute}):")  # fmt: skip
    for line in lines:
        print(line)
    errors = sum(len(t.errors) for t in tallies)
    measured = [e for t in tallies for e in t.eta_errors]
    eta = "n/a" if not measured else ("ok" if pct(measured, 90) <= GOAL_ETA else "MISSED")
    print(f"goal 0 errors: {'ok' if not errors else 'FAILED'}; ETA error p90 <= 25 %: {eta}")


if __name__ == "__main__":
    main()
