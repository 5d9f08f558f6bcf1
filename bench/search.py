"""Offer search latency at scale, on SQLite and on PostgreSQL, through the real HTTP stack.

Usage: .venv/bin/python bench/search.py [--offers 100000] [--requests 200] [--backends ...]

For each backend: a fresh database (a SQLite file; a `fair_bench` PostgreSQL database, dropped
afterwards), migrated, with one live edition of 200 approved booths built through the domain
functions, then N offers bulk-inserted. Each offer row is built by `offers.check` and
`offers._apply`, as `offers.create` does, so the stems feeding SQLite's FTS5 index (filled by the
migration's triggers) and the columns feeding PostgreSQL's generated tsvector are the app's own;
only the per-row flush is replaced by batched INSERTs. The real app then serves on a free port
(uvicorn in a thread) and httpx times the search page for three kinds of query. A reference
route added to the same app renders the same template with the same hits held in memory: the
difference is what the database costs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import insert, text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import fast_stems, free_port, pct, pg_database  # noqa: E402

from fair import (  # noqa: E402
    accounts,
    clock,
    db,
    demo,
    editions,
    employers,
    geo,
    migrations,
    offers,
    rome,
    search,
    search_facets,
    search_params,
    settings,
)
from fair.app import create_app  # noqa: E402
from fair.enums import BoothStatus, Contract, Role, WorkingTime  # noqa: E402
from fair.models import Offer  # noqa: E402
from fair.web import public  # noqa: E402
from fair.web.forms import FormState  # noqa: E402
from fair.web.templating import render  # noqa: E402

PG_NAME = "fair_bench"
BOOTHS = 200
BATCH = 2000
GOAL_MS = 50.0
WORDS = ("electricien", "aide soignant", "cariste", "serveur", "maçon", "infirmier",
         "vendeur", "developpeur", "soudeur", "plombier")  # fmt: skip
FILTERS = (("cdi", "F", "Montpellier"), ("cdd", "J", "Lattes"), ("cdi", "N", "Vendargues"),
           ("temporary", "N", "Lunel"), ("cdi", "G", "Sète"), ("cdd", "K", "Jacou"))  # fmt: skip
COMBINED = (("electricien", "cdi", "F", "Montpellier"), ("aide soignant", "cdi", "J", "Pignan"),
            ("cariste", "temporary", "N", "Vendargues"), ("serveur", "cdd", "G", "Montpellier"),
            ("agent", "cdi", "K", "Lattes"))  # fmt: skip


def queries(kind: str) -> list[dict[str, str]]:
    if kind == "fulltext":
        return [{"q": w} for w in WORDS]
    if kind == "filters":
        return [
            {"contract": c, "domain": d, "commune": m, "radius_km": "20"} for c, d, m in FILTERS
        ]
    return [
        {"q": q, "contract": c, "domain": d, "commune": m, "radius_km": "20", "sort": "distance"}
        for q, c, d, m in COMBINED
    ]


KINDS = ("fulltext", "filters", "combined")


# Building the database ------------------------------------------------------------------------


async def build(url: str, n_offers: int, n_booths: int) -> tuple[str, float]:
    """Migrate, seed the edition and booths through the domain, bulk-insert the offers."""
    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    maker = db.sessionmaker(engine, write=True)
    started = time.perf_counter()
    async with db.unit_of_work(maker) as session:
        organiser = await accounts.create_user(
            session, email="org@bench.fair", name="Org", password=None, role=Role.ORGANISER
        )
        recruiter = await accounts.create_user(
            session, email="rec@bench.fair", name="Rec", password=None, role=Role.RECRUITER
        )
        edition = await editions.create(session, by=organiser, data=demo.edition_input(clock.now()))
        await editions.publish(session, edition)
        booths = []
        for n in range(n_booths):
            spec = demo.EMPLOYERS[n % len(demo.EMPLOYERS)]
            spec = replace(spec, name=f"{spec.name} {n // len(demo.EMPLOYERS) + 1}")
            booths.append((spec, await _booth(session, spec, n, recruiter, edition, organiser)))
        slug = edition.slug
    async with db.unit_of_work(maker) as session:
        await _insert_offers(session, booths, n_offers)
    elapsed = time.perf_counter() - started
    # As the server does at start (SQLite) and autovacuum would (PostgreSQL).
    if url.startswith("sqlite"):
        await db.refresh_statistics(engine)
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return slug, elapsed


async def _booth(session, spec, n, recruiter, edition, organiser):  # type: ignore[no-untyped-def]
    employer = await employers.register(
        session,
        by=recruiter,
        data=employers.EmployerInput(
            name=spec.name,
            siret=demo.siret(n),
            naf_code=spec.naf,
            size=spec.size,
            commune=spec.commune,
            website="",
            description="",
            video_url="",
        ),
    )
    booth = await employers.request_booth(session, by=recruiter, employer=employer, edition=edition)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=organiser)
    return booth


async def _insert_offers(session, booths, n_offers: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(42)
    now = clock.now()
    columns = [c.key for c in Offer.__table__.columns if c.key != "id"]
    original, search.stems = search.stems, fast_stems
    try:
        rows = []
        for i in range(n_offers):
            spec, booth = booths[i % len(booths)]
            data = demo._offer(rng, spec)
            created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 20))
            offer = Offer(
                booth_id=booth.id,
                edition_id=booth.edition_id,
                created_at=created,
                updated_at=created,
                published=True,
            )
            offers._apply(offer, data, *offers.check(data))
            rows.append({c: getattr(offer, c) for c in columns})
            if len(rows) == BATCH:
                await session.execute(insert(Offer), rows)
                rows = []
        if rows:
            await session.execute(insert(Offer), rows)
    finally:
        search.stems = original
    assert fast_stems(data.description) == search.stems(data.description)


# Serving and measuring ------------------------------------------------------------------------


class Served:
    """The app on a free port, uvicorn running in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join()


def add_reference(app: Any, slug: str, conf: settings.Settings) -> None:
    """A route rendering search.html with the hits of each kind's first query, held in memory."""
    pages: dict[str, tuple[Any, Any, dict[str, str]]] = {}
    communes: list[geo.Commune] = []

    async def load() -> None:
        engine = db.create_engine(conf.database_url)
        async with db.sessionmaker(engine)() as session:
            edition = await editions.by_slug(session, slug)
            communes.extend(await search.territory_communes(session, edition_id=edition.id))
            for kind in KINDS:
                params = queries(kind)[0]
                query = search.Query(
                    q=params.get("q", ""),
                    domain=params.get("domain", ""),
                    contract=params.get("contract", ""),
                    commune=params.get("commune", ""),
                    radius_km=int(params.get("radius_km", "0")),
                    sort=params.get("sort", ""),
                )
                result = await search.search(session, edition_id=edition.id, query=query)
                counts = await search_facets.count(
                    session, edition_id=edition.id, query=query, origin=result.origin
                )
                pages[kind] = (edition, (query, result, counts), params)
        await engine.dispose()

    asyncio.run(load())

    async def reference(request: Request) -> Response:
        edition, (query, result, counts), params = pages[request.path_params["kind"]]
        context = {
            "edition": edition,
            "query": query,
            "result": result,
            "form": FormState(values=dict(params)),
            "applied": set(),
            "communes": communes,
            "radii": search.RADII,
            "domains": sorted(rome.DOMAINS.items()),
            "contracts": list(Contract),
            "base_query": str(request.query_params),
            # The facets' counts (fair.search_facets), held too: the page renders them.
            "facets": counts,
            "facet_options": {
                "contract": [(c.value, c.label) for c in Contract],
                "working_time": [(w.value, w.label) for w in WorkingTime],
                "domain": sorted(rome.DOMAINS.items()),
            },
            "publics": public.PUBLICS,
            "search_pairs": search_params.pairs(query),
        }
        return render(request, "public/search.html", context)

    app.router.routes.insert(0, Route("/bench/render/{kind}", reference))


def measure(
    client: httpx.Client, url: str, params: list[dict[str, str]], args: argparse.Namespace
) -> list[float]:
    """Latencies (ms) of `args.requests` GETs after `args.warmup`, within `args.budget` seconds.

    A pathological query stops early (over budget) with what was measured, at least one.
    """
    timings: list[float] = []
    started = time.monotonic()
    for i in range(args.warmup + args.requests):
        over = time.monotonic() - started > args.budget
        if over and timings:
            break
        query = params[i % len(params)]
        sent = time.perf_counter()
        response = client.get(url, params=query)
        elapsed = (time.perf_counter() - sent) * 1000
        if response.status_code != 200 or '<li class="card">' not in response.text:
            raise SystemExit(f"{url} {query}: status {response.status_code} or no hits")
        if i >= args.warmup or over:
            timings.append(elapsed)
    return timings


def run_backend(name: str, url: str, args: argparse.Namespace, data_dir: Path) -> list[str]:
    print(f"\n== {name}: building {args.offers:,} offers…", flush=True)
    slug, seconds = asyncio.run(build(url, args.offers, args.booths))
    print(f"   built in {seconds:.1f} s ({args.offers / seconds:,.0f} offers/s)", flush=True)
    base = settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(data_dir)})
    conf = replace(base, database_url=url)
    app = create_app(conf)
    add_reference(app, slug, conf)
    lines = []
    with Served(app) as root, httpx.Client(base_url=root, timeout=300) as client:
        for kind in KINDS:
            real = measure(client, f"/e/{slug}/offers", queries(kind), args)
            ref = measure(client, f"/bench/render/{kind}", [{}], args)
            p50, p95, r50, r95 = pct(real, 50), pct(real, 95), pct(ref, 50), pct(ref, 95)
            verdict = "ok" if p95 <= GOAL_MS else "SLOW"
            line = (
                f"{name:<10} {kind:<9} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   "
                f"reference p50 {r50:5.1f} ms  p95 {r95:5.1f} ms   "
                f"ratio p95 {p95 / r95:5.1f}x   n={len(real)}   goal p95 <= {GOAL_MS:.0f} ms: "
                f"{verdict}"
            )
            print(line, flush=True)
            lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--booths", type=int, default=BOOTHS, help="approved booths (employers)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--budget", type=float, default=90, help="seconds at most per backend and kind"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases for EXPLAIN")
    parser.add_argument(
        "--pg-database", default=PG_NAME, help="the PostgreSQL database to create and drop"
    )
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(prefix="fair-bench-") as tmp:
        data_dir = Path(args.keep and str(ROOT / "var" / "bench") or tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in args.backends.split(","):
            if name == "sqlite":
                path = data_dir / "bench.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                lines += run_backend(name, f"sqlite+aiosqlite:///{path}", args, data_dir)
            else:
                url = asyncio.run(pg_database(args.pg_database, create=True))
                try:
                    lines += run_backend(name, url, args, data_dir)
                finally:
                    if not args.keep:
                        asyncio.run(pg_database(args.pg_database, create=False))
    print(f"\nSummary ({args.offers:,} offers, {args.requests} requests after {args.warmup} "
          f"warm-up, one client, sequential):")  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
