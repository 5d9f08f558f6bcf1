"""Round trips per page on PostgreSQL, and which of them do no work (issue 17's surge, issue 16).

    .venv/bin/python bench/pagecost.py                    # 5 counted, 200 timed requests a page
    .venv/bin/python bench/pagecost.py --counted 2 --timed 20 --pg-database fair_bench_pc_x

A fresh database (`fair_bench_pagecost`, dropped at the end) gets a published edition with a
booth, 20 offers and a logged-in candidate (tests/factories.py). The real app then runs in this
process (httpx's ASGI transport, the candidate's signed session cookie), its database reached
through tests/wire.py's relay, which reads PostgreSQL's protocol and names each round trip:
`begin`, `commit`, `rollback` and `ping` do no work; `prepare` parses a statement new to the
connection; `execute` runs one. Each page (the home page, the edition's page, its hall, an offer
search with the search cache forgotten first, as a first visitor's) is requested twice
unmeasured, then `--counted` times through the relay: round trips per request by kind, beside
the statements SQLAlchemy sent. Then the same pages `--timed` times on a direct connection:
p50 and p95 in ms and the CPU time of this process (app and client) per request, to compare two
commits run one after the other (a shared machine: relative figures only).

Closing line: the round trips that do no work per read page, goal 0.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _harness  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from fair import clock, db, migrations, settings  # noqa: E402
from fair.app import create_app  # noqa: E402
from fair.enums import Role  # noqa: E402
from fair.search import cache as search_cache  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.wire import IDLE, Wire  # noqa: E402

SECRET = secrets.token_urlsafe(48)
KINDS = ("begin", "commit", "rollback", "ping", "prepare", "execute", "connect", "other")


async def seed(url: str) -> tuple[str, str]:
    """The edition's slug and the candidate's session cookie."""
    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    try:
        async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
            edition = await f.edition(session)
            booth, _ = await f.booth(session, edition_=edition)
            for n in range(20):
                await f.offer(session, booth_=booth, title=f"Électricien {n} (H/F)")
            person = await f.user(session, Role.CANDIDATE, can_log_in=False)
            keys = await _harness.log_in(session, [person.id], clock.now())
            slug = edition.slug
    finally:
        await engine.dispose()
    return slug, _harness.cookie(SECRET, keys[0])


def pages(slug: str) -> dict[str, str]:
    return {
        "home": "/",
        "edition": f"/e/{slug}",
        "hall": f"/e/{slug}/booths",
        "search": f"/e/{slug}/offers?q=electricien&contract=cdi",
    }


def conf_for(url: str, data_dir: Path) -> settings.Settings:
    return settings.load(
        {
            "FAIR_ENV": "test",
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "FAIR_DATA_DIR": str(data_dir),
            "FAIR_BACKGROUND_TASKS": "off",
        }
    )


async def serve(
    conf: settings.Settings, cookie: str, work: Callable[[Any, httpx.AsyncClient], Awaitable[None]]
) -> None:
    application = create_app(conf)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        cookies = {"fair_session": cookie}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as client:
            await work(application, client)


async def get(client: httpx.AsyncClient, path: str) -> None:
    if "/offers" in path:
        search_cache.forget()  # a first visitor's search: every query worked out
    answer = await client.get(path)
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code}")


async def count(
    url: str, slug: str, cookie: str, data_dir: Path, n: int
) -> dict[str, Counter[str]]:
    """Round trips by kind per page (summed over `n` requests), and SQLAlchemy's statements
    (`statements`)."""
    real = make_url(url)
    wire = Wire((real.host or "127.0.0.1", real.port or 5432))
    await wire.start()
    found: dict[str, Counter[str]] = {}

    async def work(application: Any, client: httpx.AsyncClient) -> None:
        sent: list[str] = []

        def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            sent.append(statement)

        event.listen(application.state.engine.sync_engine, "before_cursor_execute", note)
        for name, path in pages(slug).items():
            for _ in range(2):
                await get(client, path)
            sent.clear()
            with wire.counting() as trips:
                for _ in range(n):
                    await get(client, path)
            found[name] = Counter(trip.kind for trip in trips)
            found[name]["statements"] = len(sent)

    try:
        await serve(conf_for(wire.url(url), data_dir), cookie, work)
    finally:
        await wire.close()
    return found


async def timed(url: str, slug: str, cookie: str, data_dir: Path, n: int) -> dict[str, list[float]]:
    """Per page: the `n` requests' durations (s), then the CPU seconds they took in all."""
    found: dict[str, list[float]] = {}

    async def work(_application: Any, client: httpx.AsyncClient) -> None:
        for name, path in pages(slug).items():
            for _ in range(3):
                await get(client, path)
            took = []
            cpu = time.process_time()
            for _ in range(n):
                started = time.perf_counter()
                await get(client, path)
                took.append(time.perf_counter() - started)
            found[name] = [*took, time.process_time() - cpu]

    await serve(conf_for(url, data_dir), cookie, work)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counted", type=int, default=5, help="requests a page, counted")
    parser.add_argument("--timed", type=int, default=200, help="requests a page, timed")
    parser.add_argument("--pg-database", default="fair_bench_pagecost")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    with (
        _harness.pg_scratch(args.pg_database, keep=args.keep) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        slug, cookie = asyncio.run(seed(url))
        counted = asyncio.run(count(url, slug, cookie, Path(tmp), args.counted))
        durations = asyncio.run(timed(url, slug, cookie, Path(tmp), args.timed))
    n = args.counted
    print(f"{'page':8} {'trips':>6} " + " ".join(f"{k:>8}" for k in KINDS) + " statements")
    for name, kinds in counted.items():
        trips = sum(v for k, v in kinds.items() if k != "statements")
        cells = " ".join(f"{kinds[k] / n:8.1f}" for k in KINDS)
        print(f"{name:8} {trips / n:6.1f} {cells} {kinds['statements'] / n:10.1f}")
    print(f"per request, {args.timed} requests a page on a direct connection:")
    for name, values in durations.items():
        took = sorted(values[:-1])
        p50, p95 = _harness.pct(took, 50) * 1000, _harness.pct(took, 95) * 1000
        cpu = values[-1] / len(took) * 1000
        print(f"{name:8} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  cpu {cpu:6.2f} ms")
    idle = {name: sum(kinds[k] for k in IDLE) / n for name, kinds in counted.items()}
    verdict = "ok" if not any(idle.values()) else "MISSED"
    shown = ", ".join(f"{name} {value:.1f}" for name, value in idle.items())
    print(f"round trips of no work per read page: {shown}; goal 0: {verdict}")


if __name__ == "__main__":
    main()
