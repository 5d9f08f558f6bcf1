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
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _harness import pct, pg_database  # noqa: E402
from search import build  # noqa: E402

from fair import (  # noqa: E402
    clock,
    db,
    geo,
    job_search,
    match_candidates,
    match_offers,
    matching,
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
    if url.startswith("sqlite"):
        await db.refresh_statistics(engine)
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
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


async def measure(url: str, args: argparse.Namespace) -> dict[str, tuple[list[float], list[float]]]:
    engine = db.create_engine(url)
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
    results: dict[str, tuple[list[float], list[float]]] = {}

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
        wanted, facts = held_offers[i % len(held_offers)]
        today = match_offers.today(clock.now())
        return matching.top([(f, wanted) for f in facts], 20, today=today)

    async def pool_reference(i: int) -> Any:
        facts, people = held_pool[i % len(held_pool)]
        today = match_offers.today(clock.now())
        return matching.top([(facts, w) for w in people], 20, today=today)

    for kind, real, reference in (
        ("offers for you", offers_for, offers_reference),
        ("candidates for offer", candidates_for, pool_reference),
    ):
        timings, refs = [], []
        started = time.monotonic()
        for i in range(args.warmup + args.requests):
            took = await timed(lambda i=i, call=real: call(i))
            ref = await timed(lambda i=i, call=reference: call(i))
            if i >= args.warmup:
                timings.append(took)
                refs.append(ref)
            if time.monotonic() - started > args.budget and timings:
                break
        results[kind] = (timings, refs)
    await engine.dispose()
    return results


async def _held_offers(reader: Any, seekers: list[int]) -> list[tuple[Any, list[Any]]]:
    held = []
    async with reader() as session:
        for user_id in seekers:
            wanted = await job_search.of(session, user_id)
            close = await match_offers.siblings(session, wanted.codes)
            ids = list(
                await session.scalars(match_offers.prefilter(wanted, clock.now(), close=close))
            )
            rows = await session.scalars(select(Offer).where(Offer.id.in_(ids)))
            held.append((wanted, [match_offers.facts(o) for o in rows]))
    return held


async def _held_pool(
    reader: Any, offer_ids: list[int], recruiter: User
) -> list[tuple[Any, list[Any]]]:
    from fair import cv_pool  # only the reference needs the pool's viewer

    held = []
    async with reader() as session:
        viewer = await cv_pool.viewer_of(session, recruiter)
        assert viewer is not None
        for offer_id in offer_ids:
            offer = await session.get(Offer, offer_id)
            assert offer is not None
            close = await match_offers.siblings(session, (offer.rome_code,))
            query = match_candidates.prefilter(offer, viewer, clock.now(), close)
            ids = list(await session.scalars(query))
            applicants = list(
                await session.scalars(
                    select(Application.candidate_id).where(Application.offer_id == offer_id)
                )
            )
            people = await job_search.of_many(session, ids + applicants)
            held.append((match_offers.facts(offer), list(people.values())))
    return held


def run_backend(name: str, url: str, args: argparse.Namespace) -> list[str]:
    print(
        f"\n== {name}: building {args.offers:,} offers and {args.profiles:,} profiles…", flush=True
    )
    started = time.perf_counter()
    asyncio.run(build(url, args.offers, args.booths))
    asyncio.run(add_people(url, args.profiles))
    print(f"   built in {time.perf_counter() - started:.1f} s", flush=True)
    results = asyncio.run(measure(url, args))
    lines = []
    for kind, (real, ref) in results.items():
        goal = GOALS_MS[kind]
        p50, p95, r50, r95 = pct(real, 50), pct(real, 95), pct(ref, 50), pct(ref, 95)
        verdict = "ok" if p95 <= goal else "SLOW"
        line = (
            f"{name:<10} {kind:<20} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   "
            f"reference p50 {r50:6.2f} ms  p95 {r95:6.2f} ms   n={len(real)}   "
            f"goal p95 <= {goal:.0f} ms{' (PostgreSQL)' if name == 'sqlite' else ''}: {verdict}"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


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
    args = parser.parse_args()
    settings.override(settings.load({"FAIR_ENV": "test"}))
    lines = []
    with tempfile.TemporaryDirectory(prefix="fair-bench-") as tmp:
        for name in args.backends.split(","):
            if name == "sqlite":
                lines += run_backend(name, f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args)
            else:
                url = asyncio.run(pg_database(args.pg_database, create=True))
                try:
                    lines += run_backend(name, url, args)
                finally:
                    asyncio.run(pg_database(args.pg_database, create=False))
    print(f"\nSummary ({args.offers:,} offers, {args.profiles:,} pool profiles, {args.requests} "
          f"calls after {args.warmup} warm-up, one at a time):")  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
