"""The public API's latency at scale (issue 14), on SQLite and on PostgreSQL, through HTTP.

Usage: .venv/bin/python bench/api.py [--offers 100000] [--requests 200] [--backends ...]

For each backend: the database bench/search.py builds (one live edition, 200 approved booths
through the domain, N offers bulk-inserted with the app's own stems), then the real app on a
free port. Timed, one client, sequential:

- list: GET /api/v1/editions/{id}/offers, the first page and pages further on (by cursor);
- search: the same endpoint with words, and with words and filters (the search page's);
- 304: the list's first page again with If-None-Match set to its ETag.

The reference, in the same run, is a route of the same app answering the same JSON body held in
memory (read once from the real endpoint): what is left is what the database and the encoding
cost. Goals (issue 14): list and search p95 <= 20 ms, a 304 revalidation p95 <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import pct, pg_scratch  # noqa: E402
from search import BOOTHS, Served, build  # noqa: E402

from fair import db, editions, settings  # noqa: E402
from fair.app import create_app  # noqa: E402

PG_NAME = "fair_bench_api"
GOAL_MS = 20.0
GOAL_304_MS = 5.0
SEARCHES = (
    {"q": "electricien"},
    {"q": "aide soignant"},
    {"q": "cariste", "contract": "temporary"},
    {"q": "serveur", "contract": "cdd", "domain": "G"},
    {"q": "agent", "commune": "Montpellier", "radius_km": "20"},
)


def edition_id_of(url: str, slug: str) -> int:
    async def read() -> int:
        engine = db.create_engine(url)
        async with db.sessionmaker(engine)() as session:
            found = (await editions.by_slug(session, slug)).id
        await engine.dispose()
        return found

    return asyncio.run(read())


def add_reference(app: Any, bodies: dict[str, bytes]) -> None:
    """/bench/held/{kind}: the body the real endpoint gave for that kind, from memory."""

    async def held(request: Request) -> Response:
        return Response(bodies[request.path_params["kind"]], media_type="application/json")

    app.router.routes.insert(0, Route("/bench/held/{kind}", held))


def cursors(client: httpx.Client, path: str, pages: int) -> list[dict[str, str]]:
    """The query strings of the list's first `pages` pages, following each page's `next`."""
    found = [{"limit": "20"}]
    for _ in range(pages - 1):
        following = client.get(path, params=found[-1]).json().get("next")
        if not following:
            break
        query = httpx.URL(following).params
        found.append(dict(query))
    return found


def measure(
    client: httpx.Client,
    path: str,
    queries: list[dict[str, str]],
    args: argparse.Namespace,
    *,
    headers: dict[str, str] | None = None,
    status: int = 200,
) -> list[float]:
    """Latencies (ms) of `args.requests` GETs after `args.warmup`, cycling through `queries`."""
    timings: list[float] = []
    for i in range(args.warmup + args.requests):
        query = queries[i % len(queries)]
        sent = time.perf_counter()
        response = client.get(path, params=query, headers=headers)
        elapsed = (time.perf_counter() - sent) * 1000
        if response.status_code != status:
            raise SystemExit(f"{path} {query}: status {response.status_code}, not {status}")
        if i >= args.warmup:
            timings.append(elapsed)
    return timings


def line(name: str, kind: str, real: list[float], ref: list[float], goal: float) -> str:
    p50, p95, r50, r95 = pct(real, 50), pct(real, 95), pct(ref, 50), pct(ref, 95)
    return (
        f"{name:<10} {kind:<7} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms   "
        f"reference p50 {r50:5.1f} ms  p95 {r95:5.1f} ms   ratio p95 {p95 / r95:5.1f}x   "
        f"n={len(real)}   goal p95 <= {goal:.0f} ms: {'ok' if p95 <= goal else 'SLOW'}"
    )


def run_backend(name: str, url: str, args: argparse.Namespace, data_dir: Path) -> list[str]:
    print(f"\n== {name}: building {args.offers:,} offers…", flush=True)
    slug, seconds = asyncio.run(build(url, args.offers, args.booths))
    print(f"   built in {seconds:.1f} s", flush=True)
    edition_id = edition_id_of(url, slug)
    base = settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(data_dir)})
    app = create_app(replace(base, database_url=url))
    bodies: dict[str, bytes] = {}
    add_reference(app, bodies)
    path = f"/api/v1/editions/{edition_id}/offers"
    lines = []
    with Served(app) as root, httpx.Client(base_url=root, timeout=300) as client:
        pages = cursors(client, path, args.pages)
        kinds = {"list": pages, "search": [dict(q, limit="20") for q in SEARCHES]}
        for kind, queries in kinds.items():
            first = client.get(path, params=queries[0])
            if first.status_code != 200 or not first.json()["data"]:
                raise SystemExit(f"{path} {queries[0]}: status {first.status_code} or no offers")
            bodies[kind] = first.content
            real = measure(client, path, queries, args)
            ref = measure(client, f"/bench/held/{kind}", [{}], args)
            lines.append(line(name, kind, real, ref, GOAL_MS))
            print(lines[-1], flush=True)
        first = client.get(path, params=pages[0])
        etag = {"If-None-Match": first.headers["etag"]}
        real = measure(client, path, pages[:1], args, headers=etag, status=304)
        ref = measure(client, "/bench/held/list", [{}], args)
        lines.append(line(name, "304", real, ref, GOAL_304_MS))
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--booths", type=int, default=BOOTHS, help="approved booths (employers)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--pages", type=int, default=10, help="list pages followed by cursor")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-database", default=PG_NAME, help="the PostgreSQL database to create and drop"
    )
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(prefix="fair-bench-api-") as tmp:
        data_dir = Path(tmp)
        for name in args.backends.split(","):
            if name == "sqlite":
                url = f"sqlite+aiosqlite:///{data_dir / 'api.db'}"
                lines += run_backend(name, url, args, data_dir)
            else:
                with pg_scratch(args.pg_database) as url:
                    lines += run_backend(name, url, args, data_dir)
    print(f"\nSummary ({args.offers:,} offers, {args.requests} requests after {args.warmup} "
          f"warm-up, one client, sequential):")  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
