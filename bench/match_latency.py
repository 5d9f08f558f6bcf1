"""Matching latency at scale: "offers for you" among N offers and "candidates for this offer"
among M CV pool profiles, on SQLite and on PostgreSQL (the goals are PostgreSQL's).

Usage: .venv/bin/python bench/match_latency.py [--offers 100000] [--profiles 36000]
                                               [--requests 200] [--backends sqlite,postgresql]

For each backend: a fresh database migrated like `fair migrate`, the edition, booths and
offers built as bench/search.py builds them (imported from there: the domain functions for the
edition and booths, each offer row from `offers.check` and `offers._apply`), then M candidates
with a job search (1 to 3 target jobs among the offers' codes, a home commune of the territory,
a radius and means of transport, contracts, working time) in the CV pool at the network level,
bulk-inserted. Then, one call after another in fresh read sessions:

- **offers for you**: `match_offers.offers_for(session, candidate, limit=20)` rotating over
  candidates; the reference ranks in memory (`matching.top`, as the function does) the same
  offers the database handed over, already loaded: the gap is what the database costs;
- **candidates for offer**: `match_candidates.candidates_for(session, offer, viewer=recruiter)`
  rotating over offers (each with a few applicants); the reference scores the same applicants
  and pool profiles from memory.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import event, func, insert, select
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _harness import pct, pg_database, pg_scratch, pg_url, settle  # noqa: E402
from search import build  # noqa: E402

from fair import (  # noqa: E402
    clock,
    db,
    geo,
    i18n,
    job_search,
    match_candidates,
    match_offers,
    match_referential,
    matching,
    migrations,
    settings,
)
from fair.enums import Contract, PoolLevel, Role, Transport, WorkingTime  # noqa: E402
from fair.models import (  # noqa: E402
    Application,
    CvText,
    JobSearchContract,
    JobSearchProfile,
    JobSearchTarget,
    Offer,
    PoolConsent,
    User,
)
from fair.web import match_view, templating  # noqa: E402

PG_NAME = "fair_bench_match"
GOALS_MS = {"offers for you": 50.0, "candidates for offer": 100.0}
BATCH = 2000
COMMUNES = ("Montpellier", "Lattes", "Lunel", "Sète", "Castelnau-le-Lez", "Pérols", "Jacou",
            "Vendargues", "Pignan", "Mauguio", "Frontignan", "Grabels")  # fmt: skip


async def add_people(url: str, n_profiles: int) -> None:
    """M candidates with a job search, in the pool at the network level, and a few
    applicants per offer of the first ones (bulk inserts, one transaction)."""
    engine = db.create_engine(url)
    maker = db.sessionmaker(engine, write=True)
    rng = random.Random(7)
    now = clock.now()
    places = [p for p in (geo.find(name) for name in COMMUNES) if p is not None]
    async with db.unit_of_work(maker) as session:
        codes = sorted(set(await session.scalars(select(Offer.rome_code).distinct())))
        first = await session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0
        for start in range(0, n_profiles, BATCH):
            ids = range(first + 1 + start, first + 1 + min(start + BATCH, n_profiles))
            await _batch(session, ids, rng, codes, places, now)
        offer_ids = list(await session.scalars(select(Offer.id).order_by(Offer.id).limit(50)))
        rows = []
        for n, offer_id in enumerate(offer_ids):
            for k in range(3):
                candidate = first + 1 + (n * 3 + k) % n_profiles
                rows.append(_application(offer_id, candidate, now))
        if rows:
            await _fill_application_columns(session, rows)
    await settle(engine, url)
    await engine.dispose()


def _application(offer_id: int, candidate: int, now: Any) -> dict[str, Any]:
    return {"offer_id": offer_id, "candidate_id": candidate, "created_at": now}


async def _fill_application_columns(session: Any, rows: list[dict[str, Any]]) -> None:
    """Applications with the booth and edition of their offer, the other columns' defaults."""
    offers = {
        o.id: o
        for o in await session.scalars(
            select(Offer).where(Offer.id.in_({r["offer_id"] for r in rows}))
        )
    }
    full = []
    seen = set()
    for row in rows:
        key = (row["offer_id"], row["candidate_id"])
        if key in seen:
            continue
        seen.add(key)
        offer = offers[row["offer_id"]]
        full.append(
            row
            | {
                "booth_id": offer.booth_id,
                "edition_id": offer.edition_id,
                "status": "submitted",
                "message": "",
                "status_changed_at": row["created_at"],
            }
        )
    await session.execute(insert(Application), full)


async def _batch(session, ids, rng, codes, places, now) -> None:  # type: ignore[no-untyped-def]
    users, profiles, targets, contracts, consents, texts = [], [], [], [], [], []
    for user_id in ids:
        place = rng.choice(places)
        users.append(
            {
                "id": user_id,
                "email": f"seeker{user_id}@bench.fair",
                "name": f"Seeker {user_id}",
                "password_hash": "",
                "role": Role.CANDIDATE.value,
                "locale": "fr",
                "auth_version": "bench",
                "is_active": True,
                "created_at": now,
            }
        )
        transport = rng.choice(list(Transport))
        profiles.append(
            {
                "user_id": user_id,
                "commune_code": place.code,
                "latitude": place.latitude,
                "longitude": place.longitude,
                "max_distance_km": rng.choice((None, 5, 10, 20, 30, 50)),
                "transport": transport.value,
                "working_time": rng.choice(("", *[w.value for w in WorkingTime])),
                "available_from": None,
                "skills": ["Permis B"],
                "skill_codes": [],
                "updated_at": now,
            }
        )
        for position, code in enumerate(rng.sample(codes, k=min(len(codes), rng.randint(1, 3)))):
            targets.append(
                {
                    "user_id": user_id,
                    "position": position,
                    "rome_code": code,
                    "appellation_code": "",
                    "label": code,
                }  # fmt: skip
            )
        for contract in rng.sample(list(Contract), k=rng.randint(0, 2)):
            contracts.append({"user_id": user_id, "contract": contract.value})
        consents.append(
            {
                "user_id": user_id,
                "level": int(PoolLevel.NETWORK),
                "edition_id": None,
                "territory": "",
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=180),
                "wording": "bench",
                "active_key": 1,
                "created_at": now,
            }  # fmt: skip
        )
        texts.append(
            {
                "user_id": user_id,
                "ref": f"B{user_id:09d}",
                "status": "none",
                "pages": 0,
                "content": "",
                "jobs": "",
                "jobs_stems": "",
                "content_stems": "",
                "commune_code": place.code,
                "latitude": place.latitude,
                "longitude": place.longitude,
                "updated_at": now,
            }  # fmt: skip
        )
    for model, rows in (
        (User, users),
        (JobSearchProfile, profiles),
        (JobSearchTarget, targets),
        (JobSearchContract, contracts),
        (PoolConsent, consents),
        (CvText, texts),
    ):
        if rows:
            await session.execute(insert(model), rows)


# Measuring ----------------------------------------------------------------------------------


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


class StatementClock:
    """The time spent in the database driver's execute (a round trip each, the server's work
    included) and the number of statements, since the last `reset`."""

    def __init__(self, engine: Any) -> None:
        self.ms, self.count, self._started = 0.0, 0, 0.0
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        self.ms += (time.perf_counter() - self._started) * 1000
        self.count += 1

    def reset(self) -> None:
        self.ms, self.count = 0.0, 0


@dataclass
class Figures:
    """One kind's calls: the function's time, the reference's, and where the function's went."""

    total: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    database: list[float] = field(default_factory=list)
    trips: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    render: list[float] = field(default_factory=list)


CARDS: jinja2.Template | None = None  # the cards of "offers for you", compiled once (render_cards)


def render_cards(found: list[Any]) -> str:
    """What the page adds per call: the reasons in French and the cards of
    templates/candidate/offers_for_you.html (the page's frame aside)."""
    global CARDS
    if CARDS is None:
        CARDS = templating.env().from_string(
            '{% import "_match.html" as match with context %}<ul class="cards">'
            "{% for m, shown in rows %}<li class=card><h2>{{ m.offer.title }}</h2>"
            '<p class="meta">{{ m.employer }} · {{ m.offer.commune }} ({{ m.offer.postcode }})'
            "</p>{{ match.reasons(shown, m.match.score) }}</li>{% endfor %}</ul>"
        )
    token = i18n.current_locale.set("fr")
    try:
        rows = [(m, match_view.reasons(m.match, matching.YOU)) for m in found]
        return CARDS.render(rows=rows)
    finally:
        i18n.current_locale.reset(token)


async def measure(url: str, args: argparse.Namespace) -> dict[str, Figures]:
    engine = db.create_engine(url)
    clock_ = StatementClock(engine)
    reader = db.sessionmaker(engine)
    async with reader() as session:
        seekers = list(
            await session.scalars(
                select(JobSearchProfile.user_id).order_by(JobSearchProfile.user_id).limit(50)
            )
        )
        offer_ids = list(await session.scalars(select(Offer.id).order_by(Offer.id).limit(50)))
        recruiter = await session.scalar(select(User).where(User.email == "rec@bench.fair"))
    assert recruiter is not None
    results: dict[str, Figures] = {}

    async def offers_for(i: int) -> Any:
        async with reader() as session:
            return await match_offers.offers_for(session, seekers[i % len(seekers)], limit=20)

    async def candidates_for(i: int) -> Any:
        async with reader() as session:
            offer = await session.get(Offer, offer_ids[i % len(offer_ids)])
            assert offer is not None
            return await match_candidates.candidates_for(session, offer, viewer=recruiter)

    # The references: the same scoring from memory, on what the database handed over.
    held_offers = await _held_offers(reader, seekers)
    held_pool = await _held_pool(reader, offer_ids, recruiter)

    async def offers_reference(i: int) -> Any:
        wanted, facts, known = held_offers[i % len(held_offers)]
        today = match_offers.today(clock.now())
        return matching.top([(f, wanted) for f in facts], 20, today=today, referential=known)

    async def pool_reference(i: int) -> Any:
        facts, people, known = held_pool[i % len(held_pool)]
        today = match_offers.today(clock.now())
        return matching.top([(facts, w) for w in people], 20, today=today, referential=known)

    for kind, real, reference in (
        ("offers for you", offers_for, offers_reference),
        ("candidates for offer", candidates_for, pool_reference),
    ):
        figures = Figures()
        started = time.monotonic()
        for i in range(args.warmup + args.requests):
            clock_.reset()
            began, cpu = time.perf_counter(), time.process_time()
            found = await real(i)
            took = (time.perf_counter() - began) * 1000
            cpu = (time.process_time() - cpu) * 1000
            database, trips = clock_.ms, clock_.count
            ref = await timed(functools.partial(reference, i))
            began = time.perf_counter()
            if kind == "offers for you":
                render_cards(found)
            rendered = (time.perf_counter() - began) * 1000
            if i >= args.warmup:
                figures.total.append(took)
                figures.reference.append(ref)
                figures.database.append(database)
                figures.trips.append(trips)
                figures.cpu.append(cpu)
                figures.render.append(rendered)
            if time.monotonic() - started > args.budget and figures.total:
                break
        results[kind] = figures
    await engine.dispose()
    return results


async def _held_offers(reader: Any, seekers: list[int]) -> list[tuple[Any, list[Any], Any]]:
    held = []
    async with reader() as session:
        for user_id in seekers:
            wanted = await job_search.of(session, user_id)
            facts, known = await match_offers.candidates(
                session, wanted, clock.now(), network=settings.get().network_offers
            )
            held.append((wanted, facts, known.referential))
    return held


async def _held_pool(
    reader: Any, offer_ids: list[int], recruiter: User
) -> list[tuple[Any, list[Any], Any]]:
    from fair import cv_pool  # only the reference needs the pool's viewer

    held = []
    async with reader() as session:
        viewer = await cv_pool.viewer_of(session, recruiter)
        assert viewer is not None
        known = await match_referential.checked(session)
        for offer_id in offer_ids:
            offer = await session.get(Offer, offer_id)
            assert offer is not None
            close = known.siblings([offer.rome_code])
            query = match_candidates.prefilter(offer, viewer, clock.now(), close)
            ids = list(await session.scalars(query))
            applicants = list(
                await session.scalars(
                    select(Application.candidate_id).where(Application.offer_id == offer_id)
                )
            )
            people = await job_search.of_many(session, ids + applicants)
            held.append((match_offers.facts(offer), list(people.values()), known.referential))
    return held


def run_backend(name: str, url: str, args: argparse.Namespace) -> list[str]:
    held = asyncio.run(built(url)) if args.reuse else (0, 0)
    if held == (args.offers, args.profiles):
        print(f"\n== {name}: reusing {held[0]:,} offers and {held[1]:,} profiles", flush=True)
    else:
        if args.reuse:
            url = asyncio.run(_fresh(name, url, args))
        print(
            f"\n== {name}: building {args.offers:,} offers and {args.profiles:,} profiles…",
            flush=True,
        )
        started = time.perf_counter()
        asyncio.run(build(url, args.offers, args.booths))
        asyncio.run(add_people(url, args.profiles))
        print(f"   built in {time.perf_counter() - started:.1f} s", flush=True)
    results = asyncio.run(measure(url, args))
    lines = []
    for kind, figures in results.items():
        goal = GOALS_MS[kind]
        real, ref = figures.total, figures.reference
        p50, p95, r50, r95 = pct(real, 50), pct(real, 95), pct(ref, 50), pct(ref, 95)
        verdict = "ok" if p95 <= goal else "SLOW"
        line = (
            f"{name:<10} {kind:<20} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   "
            f"reference p50 {r50:6.2f} ms  p95 {r95:6.2f} ms   n={len(real)}   "
            f"goal p95 <= {goal:.0f} ms{' (PostgreSQL)' if name == 'sqlite' else ''}: {verdict}"
        )
        print(line, flush=True)
        lines.append(line)
        print(where(figures), flush=True)
        lines.append(f"{name:<10} {kind:<20} {where(figures).strip()}")
    return lines


def where(figures: Figures) -> str:
    """Where a call's milliseconds go (medians over the calls): the database (the driver's
    execute: round trip, server, decoding), the exact ranking (the reference: `matching.top`
    on the same rows), the rest of the function (SQL compiling, rows to objects, waiting for a
    core on a busy machine); this process's CPU time during the call, all of these included
    (what the call costs the server, whatever the load); and the page's reasons and cards
    (offers for you)."""
    database, ranking = statistics.median(figures.database), statistics.median(figures.reference)
    total = statistics.median(figures.total)
    other = total - database - ranking
    render = statistics.median(figures.render)
    text = (
        f"{'':<10} {'':<20} median {total:.1f} ms = database {database:.1f} ms in "
        f"{statistics.median(figures.trips):.0f} statements + ranking {ranking:.1f} ms + "
        f"other {other:.1f} ms; Python CPU {statistics.median(figures.cpu):.1f} ms"
    )
    return text + (f"; rendering the cards {render:.1f} ms more" if render > 0.05 else "")


async def built(url: str) -> tuple[int, int]:
    """The offers and pool profiles a kept database holds (0, 0 when it has no tables), after
    migrating it to this checkout's head."""
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            offers_ = await conn.scalar(select(func.count()).select_from(Offer))
            profiles = await conn.scalar(select(func.count()).select_from(PoolConsent))
    except DBAPIError:
        return 0, 0
    finally:
        await engine.dispose()
    await migrations.upgrade_async(url)
    return int(offers_ or 0), int(profiles or 0)


async def _fresh(name: str, url: str, args: argparse.Namespace) -> str:
    """An empty database in place of a kept one that holds other sizes."""
    if name == "sqlite":
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)  # noqa: ASYNC240 (a bench)
        return url
    return await pg_database(args.pg_database, create=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--profiles", type=int, default=36_000)
    parser.add_argument("--booths", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--budget", type=float, default=90, help="seconds at most per kind")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-database", default=PG_NAME)
    parser.add_argument(
        "--reuse",
        metavar="SQLITE_FILE",
        help="keep the databases (this SQLite file, the --pg-database) and reuse them when they "
        "hold the sizes asked for, migrated to head (for measuring while developing)",
    )
    args = parser.parse_args()
    settings.override(settings.load({"FAIR_ENV": "test"}))
    lines = []
    with tempfile.TemporaryDirectory(prefix="fair-bench-") as tmp:
        for name in args.backends.split(","):
            if name == "sqlite":
                path = Path(args.reuse) if args.reuse else Path(tmp) / "bench.db"
                lines += run_backend(name, f"sqlite+aiosqlite:///{path}", args)
            elif args.reuse:
                lines += run_backend(name, pg_url(args.pg_database), args)
            else:
                with pg_scratch(args.pg_database) as url:
                    lines += run_backend(name, url, args)
    print("\nWhere the medians go:")
    print("\n".join(lines[1::2]))
    print(f"\nSummary ({args.offers:,} offers, {args.profiles:,} pool profiles, {args.requests} "
          f"calls after {args.warmup} warm-up, one at a time; commit {_commit()}):")  # fmt: skip
    print("\n".join(lines[0::2]))


def _commit() -> str:
    """The checkout's commit, "+" when its files differ from it."""

    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return (git("rev-parse", "--short", "HEAD") or "unknown") + (
        "+" if git("status", "--short", "--untracked-files=no") else ""
    )


if __name__ == "__main__":
    main()
