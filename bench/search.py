"""Offer search latency at scale, on SQLite and on PostgreSQL, through the real HTTP stack.

Usage: .venv/bin/python bench/search.py [--offers 100000] [--requests 200] [--backends ...]
       .venv/bin/python bench/search.py --relevance [--backends ...]

For each backend: a fresh database (a SQLite file; a `fair_bench` PostgreSQL database, dropped
afterwards), migrated, with one live edition of 200 approved booths built through the domain
functions, then N offers bulk-inserted. Each offer row is built by `offers.check` and
`offers._apply`, as `offers.create` does, so the stems feeding SQLite's FTS5 index (filled by the
migration's triggers) and the columns feeding PostgreSQL's generated tsvector are the app's own;
only the per-row flush is replaced by batched INSERTs. The real app, as the Procfile's web
processes run it (WEB_PROCESS: no background loop), then serves on a free port (uvicorn in a
thread) and httpx times the search page for three kinds of query. A reference route added to the
same app renders the same template with the same hits held in memory: the difference is what the
database costs. The "widened" kind times words that the synonyms, the ROME codes or the spelling
widen (fair.search.terms). Where the milliseconds go: the app's own Server-Timing header
(fair.timing: the page's query, the count, the facets' counts, the hits read, the widening, the
rendering) beside this process's probes of every SQL statement.

--approximation: the first page of broad words (BROAD) ranked with each tier's matches bounded
(search.Query.rank_bound: the newest so many scored) against the exact ranking (every match
scored) on the generated offers (built, or --reuse): overlap@10, nDCG@10 (the exact order as
the judgement), jobs@10 (the exact first ten's jobs, ROME codes, that the bounded first ten
have: offers of one job differ by their descriptions only) and the share of identical first
pages, per bound, with the mean time of each.

--relevance: the demo fair (fair.demo.seed, 600 offers) in a fresh database per backend (on
PostgreSQL `fair_bench_relevance`, never `fair_bench` that --reuse times again), and the
judged queries of bench/data/search_judged.toml (typed as job seekers type them, each with the
jobs that should come first): nDCG@10 and success@3 (a `best` offer in the first three) of the
pages' ranking (fair.search.terms.find) beside the plain full-text ranking (fair.search.search,
the ranking before issue 16) as baseline, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import random
import re
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jinja2
import uvicorn
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import fast_stems, free_port, pct, pg_scratch, pg_url, settle  # noqa: E402

from fair import (  # noqa: E402
    accounts,
    clock,
    db,
    demo,
    editions,
    employers,
    geo,
    i18n,
    migrations,
    network,
    offers,
    rome,
    search,
    settings,
    timing,
)
from fair.app import create_app  # noqa: E402
from fair.enums import BoothStatus, Contract, Role  # noqa: E402
from fair.models import Booth, Edition, Offer, User  # noqa: E402
from fair.search import best, pages  # noqa: E402
from fair.search import cache as search_cache  # noqa: E402
from fair.search import facets as search_facets  # noqa: E402
from fair.search import filters as search_filters  # noqa: E402
from fair.search import order as search_order  # noqa: E402
from fair.search import params as search_params  # noqa: E402
from fair.search import ranking as search_ranking  # noqa: E402
from fair.search import terms as search_terms  # noqa: E402
from fair.web import auth, public  # noqa: E402
from fair.web.forms import FormState  # noqa: E402
from fair.web.templating import render  # noqa: E402

PG_NAME = "fair_bench"  # the generated offers, kept by --keep and timed again by --reuse
# --relevance seeds the demo fair in a database of its own: dropping PG_NAME would lose the
# generated offers other runs reuse.
PG_RELEVANCE = "fair_bench_relevance"
BOOTHS = 200
BATCH = 2000
GOAL_MS = 20.0  # the search page, p95 (issue 16)
SUGGEST_GOAL_MS = 50.0  # a suggestion list as the person types, p95
# What a person has typed when the list is asked for (from 2 characters, fair.suggest).
TYPED = {
    "jobs": ("chauf", "aide so", "cari", "electr", "serv", "mac", "infirm", "vend", "agent d"),
    "communes": ("mont", "lat", "34", "340", "3497", "sete", "lun", "saint j", "ca"),
}
WORDS = ("electricien", "aide soignant", "cariste", "serveur", "maçon", "infirmier",
         "vendeur", "developpeur", "soudeur", "plombier")  # fmt: skip
FILTERS = (("cdi", "F", "Montpellier"), ("cdd", "J", "Lattes"), ("cdi", "N", "Vendargues"),
           ("temporary", "N", "Lunel"), ("cdi", "G", "Sète"), ("cdd", "K", "Jacou"))  # fmt: skip
# Words fair.search.terms widens: synonyms, a ROME code's job, a typo (searched again).
WIDENED = ("chauffeur", "btp", "aide a domicile", "caces", "femme de menage", "elecricien")
COMBINED = (("electricien", "cdi", "F", "Montpellier"), ("aide soignant", "cdi", "J", "Pignan"),
            ("cariste", "temporary", "N", "Vendargues"), ("serveur", "cdd", "G", "Montpellier"),
            ("agent", "cdi", "K", "Lattes"))  # fmt: skip


def queries(kind: str) -> list[dict[str, str]]:
    if kind == "fulltext":
        return [{"q": w} for w in WORDS]
    if kind == "widened":
        return [{"q": w} for w in WIDENED]
    if kind == "filters":
        return [
            {"contract": c, "domain": d, "commune": m, "radius_km": "20"} for c, d, m in FILTERS
        ]
    return [
        {"q": q, "contract": c, "domain": d, "commune": m, "radius_km": "20", "sort": "distance"}
        for q, c, d, m in COMBINED
    ]


KINDS = ("fulltext", "widened", "filters", "combined")


# Building the database ------------------------------------------------------------------------


async def build(url: str, n_offers: int, n_booths: int) -> tuple[str, float]:
    """Migrate, seed the edition and booths through the domain, bulk-insert the offers."""
    await migrations.upgrade_async(url)
    # A batch of 2,000 offers (their tsvectors computed) took past the app's 30 s statement
    # timeout on PostgreSQL on a loaded machine: loading is not what is timed.
    engine = db.create_engine(url, command_timeout=600)
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
    await settle(engine, url)
    await engine.dispose()
    return slug, elapsed


async def _booth(
    session: AsyncSession,
    spec: demo.DemoEmployer,
    n: int,
    recruiter: User,
    edition: Edition,
    organiser: User,
) -> Booth:
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


# Where the milliseconds go --------------------------------------------------------------------


class Probe:
    """Per request, the time spent in each layer of the server, measured inside this process
    (the client is the only one, sequential, so one request is in flight at a time): the whole
    ASGI stack (`server`), the search route's handler inside the middleware (`handler`), the
    SQL statements (cursor execute, rows fetched included), the templates' rendering; and, per
    statement shape, its mean time, to name the query that costs."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.requests: list[dict[str, float]] = []
        self.statements: dict[str, list[float]] = {}
        self._started: list[float] = []

    def add(self, key: str, ms: float) -> None:
        self.current[key] = self.current.get(key, 0.0) + ms

    def install(self, app: Any) -> Any:
        """Hooks on every engine and template, the handler of the search route wrapped; the
        returned ASGI app (the whole stack wrapped) is what to serve."""
        probe = self

        @event.listens_for(Engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            probe._started.append(time.perf_counter())

        @event.listens_for(Engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            ms = (time.perf_counter() - probe._started.pop()) * 1000
            probe.add("sql", ms)
            probe.add("statements", 1)
            probe.statements.setdefault(_shape(statement), []).append(ms)

        original = jinja2.Template.render

        def render(self: jinja2.Template, *args: Any, **kwargs: Any) -> str:
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                probe.add("render", (time.perf_counter() - started) * 1000)

        jinja2.Template.render = render  # type: ignore[method-assign]
        for module, name in SPANS:
            self.span(module, name)
        for route in app.routes:
            if getattr(route, "name", "") in {"search", "search_suggest", "bench_render"}:
                route.app = self.timed(route.app, "handler")
        return self.timed(app, "server")

    def span(self, module: Any, name: str) -> None:
        """Time the calls of `module.name` (called through its module by the routes)."""
        inner = getattr(module, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await inner(*args, **kwargs)
            finally:
                self.add(name, (time.perf_counter() - started) * 1000)

        setattr(module, name, timed)

    def timed(self, inner: Any, key: str) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            started = time.perf_counter()
            try:
                await inner(scope, receive, send)
            finally:
                self.add(key, (time.perf_counter() - started) * 1000)

        return app

    def start(self) -> None:
        self.current = {}

    def stop(self, client_ms: float) -> None:
        self.current["client"] = client_ms
        self.requests.append(self.current)

    def take(self) -> tuple[list[dict[str, float]], dict[str, list[float]]]:
        requests, statements = self.requests, self.statements
        self.requests, self.statements = [], {}
        return requests, statements


# What the search route calls through a module, timed apart (`other Python` is what is left).
# fair.search.terms calls pages.search; pages and best call read_hits by their own name.
SPANS = [(pages, "search"), (search, "territory_communes"), (network, "shows_network"),
         (editions, "by_slug"), (auth, "load_user"), (pages, "read_hits"),
         (best, "read_hits")]  # fmt: skip


def _shape(statement: str) -> str:
    """A statement's first words and tables, numbers and lists of parameters folded."""
    flat = " ".join(statement.split())
    tables = sorted(set(re.findall(r"(?:FROM|JOIN) (\w+)", flat)))
    head = flat[:28]
    return f"{head}… [{','.join(tables)}]"


def breakdown(name: str, kind: str, requests: list[dict[str, float]],
              statements: dict[str, list[float]]) -> list[str]:  # fmt: skip
    """Mean milliseconds per request of each layer, and the statements that cost most."""
    n = max(len(requests), 1)

    def mean(key: str) -> float:
        return sum(r.get(key, 0.0) for r in requests) / n

    client, server, handler = mean("client"), mean("server"), mean("handler")
    sql, render_ms = mean("sql"), mean("render")
    lines = [
        f"{name:<10} {kind:<9} mean {client:5.1f} ms = client/HTTP {client - server:4.1f}"
        f" + middleware/session {server - handler:4.1f} + SQL {sql:5.1f}"
        f" ({mean('statements'):.1f} statements) + render {render_ms:4.1f}"
        f" + other Python {handler - sql - render_ms:4.1f}"
    ]
    told = sorted({key for r in requests for key in r if key.startswith("timing:")})
    if told:
        split = "  ".join(f"{key[7:]} {mean(key):.1f}" for key in told)
        lines.append(f"{'':21}Server-Timing: {split}")
    spans = "  ".join(f"{name} {mean(name):.1f}" for _module, name in SPANS if mean(name))
    if spans:
        lines.append(f"{'':21}of which (SQL included): {spans}")
    costly = sorted(statements.items(), key=lambda kv: -sum(kv[1]))[:4]
    for shape, times in costly:
        lines.append(
            f"{'':21}{sum(times) / n:5.1f} ms/request  {len(times) / n:3.1f}x  mean "
            f"{sum(times) / len(times):5.1f} ms  {shape}"
        )
    return lines


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
                result = await search_terms.find(session, edition_id=edition.id, query=query)
                counts = await search_facets.count(
                    session,
                    edition_id=edition.id,
                    query=replace(query, also=result.also),
                    origin=result.origin,
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
            # The facets' counts (fair.search.facets), held too: the page renders them.
            "facets": counts,
            "facet_options": public.facet_options(i18n.current_locale.get()),
            "publics": public.PUBLICS,
            "search_pairs": search_params.pairs(query),
        }
        return render(request, "public/search.html", context)

    app.router.routes.insert(0, Route("/bench/render/{kind}", reference, name="bench_render"))


def measure(
    client: httpx.Client,
    url: str,
    params: list[dict[str, str]],
    args: argparse.Namespace,
    probe: Probe,
    expect: str = '<li class="card">',
    by_query: dict[str, list[float]] | None = None,
) -> list[float]:
    """Latencies (ms) of `args.requests` GETs after the warm-up, within `args.budget` seconds;
    each also in `by_query` under its query's words (or its parameters), when given.

    The warm-up is `args.warmup` GETs, and at least one of each query (`warmed`): a search's
    statement is built once per shape and process (fair.search.shapes), and the first query
    of a shape paid it among the measured ones ("plombier", the only fulltext word read in a
    window on PostgreSQL: 47 ms once, 16 after). A pathological query stops early (over
    budget) with what was measured, at least one.
    """
    timings: list[float] = []
    started = time.monotonic()
    warmup = warmed(args.warmup, params)
    for i in range(warmup + args.requests):
        over = time.monotonic() - started > args.budget
        if over and timings:
            break
        query = params[i % len(params)]
        if args.cold:
            # What each query works out; the edition's own (itself, whether it shows the
            # network's offers) stays, as for any query on an edition pages read before.
            search_cache.forget(answers_only=True)  # no request in flight: sequential client
            search_terms.forget_widenings()
        probe.start()
        sent = time.perf_counter()
        response = client.get(url, params=query)
        elapsed = (time.perf_counter() - sent) * 1000
        # The app's own split of the request (fair.timing: query, count, facets, render…).
        for span, ms in timing.parse(response.headers.get("server-timing", "")).items():
            probe.add(f"timing:{span}", ms)
        probe.stop(elapsed)
        if response.status_code != 200 or expect not in response.text:
            raise SystemExit(f"{url} {query}: status {response.status_code} or no hits")
        if i >= warmup or over:
            timings.append(elapsed)
            if by_query is not None:
                by_query.setdefault(query.get("q") or urlencode(query), []).append(elapsed)
        else:
            probe.take()  # the warm-up's figures are not kept
    return timings


def warmed(warmup: int, params: list[dict[str, str]]) -> int:
    """The warm-up's GETs (`measure`): `warmup`, and each query once at least."""
    return max(warmup, len(params))


def slowest(by_query: dict[str, list[float]], most: int = 3) -> str:
    """The queries whose median is the longest (a kind's p95 is its slowest queries')."""
    ranked = sorted(by_query.items(), key=lambda item: -pct(item[1], 50))[:most]
    shown = "; ".join(
        f"{q[:30]} p50 {pct(t, 50):.1f} max {max(t):.1f} (n={len(t)})" for q, t in ranked
    )
    return f"{'':21}slowest queries: {shown}"


async def kept_slug(url: str) -> str:
    """The slug of the edition a kept database (--keep) holds."""
    engine = db.create_engine(url)
    async with engine.connect() as conn:
        slug = (await conn.execute(text("SELECT slug FROM editions"))).scalar_one()
    await engine.dispose()
    return str(slug)


# The measured app runs as the Procfile's `web` processes do: the background loops (the mail and
# webhook outbox senders, the rounds of fair/worker.py) run in `fair worker`, not beside the
# pages timed here.
WEB_PROCESS = {"FAIR_BACKGROUND_TASKS": "false"}
WEB_PROCESS_HEADER = (
    "the app as the Procfile's web processes: FAIR_BACKGROUND_TASKS=false (outbox senders and"
    " worker rounds not in the measured process)"
)


async def upkeep(url: str) -> str:
    """The worker's upkeep of the search table (fair.search.order: hourly, at night), as a
    deployment's database has it the night after an import: what it did, to print."""
    if url.startswith("sqlite"):
        return "search order: nothing to keep on SQLite"
    engine = db.create_engine(url)
    try:
        rows, correlation = await search_order.drift(engine)
        done = await search_order.keep_in_order(engine)
    finally:
        await engine.dispose()
    what = "put in ROME order by the worker's round" if done else "left as it is"
    return f"search_offers {what} ({rows:,.0f} rows, rome_code's correlation {correlation})"


def web_app(url: str, data_dir: Path) -> tuple[Starlette, settings.Settings]:
    """The app measured, on `url`, and its settings (WEB_PROCESS)."""
    base = settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(data_dir), **WEB_PROCESS})
    conf = replace(base, database_url=url)
    return create_app(conf), conf


def run_backend(name: str, url: str, args: argparse.Namespace, data_dir: Path) -> list[str]:
    if args.reuse:
        print(f"\n== {name}: the database --keep left", flush=True)
        slug = asyncio.run(kept_slug(url))
    else:
        print(f"\n== {name}: building {args.offers:,} offers…", flush=True)
        slug, seconds = asyncio.run(build(url, args.offers, args.booths))
        print(f"   built in {seconds:.1f} s ({args.offers / seconds:,.0f} offers/s)", flush=True)
    print(f"   {asyncio.run(upkeep(url))}", flush=True)
    print(f"   {WEB_PROCESS_HEADER}", flush=True)
    app, conf = web_app(url, data_dir)
    add_reference(app, slug, conf)
    probe = Probe()
    served = probe.install(app)
    lines, details = [], []
    with Served(served) as root, httpx.Client(base_url=root, timeout=300) as client:
        for kind in args.kinds.split(","):
            by_query: dict[str, list[float]] = {}
            real = measure(
                client, f"/e/{slug}/offers", queries(kind), args, probe, by_query=by_query
            )
            details += breakdown(name, kind, *probe.take())
            details.append(slowest(by_query))
            ref = measure(client, f"/bench/render/{kind}", [{}], args, probe)
            details += breakdown(name, "reference", *probe.take())
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
        for kind, typed in TYPED.items():
            field = kind[:-1]
            asked = [{"field": field, "q": text} for text in typed]
            real = measure(client, f"/e/{slug}/offers/suggest", asked, args, probe, '"label"')
            details += breakdown(name, kind, *probe.take())
            p50, p95 = pct(real, 50), pct(real, 95)
            verdict = "ok" if p95 <= SUGGEST_GOAL_MS else "SLOW"
            line = (
                f"{name:<10} {kind:<9} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   "
                f"suggestions as typed{'':25}n={len(real)}   "
                f"goal p95 <= {SUGGEST_GOAL_MS:.0f} ms: {verdict}"
            )
            print(line, flush=True)
            lines.append(line)
    print("\n".join(["Where the milliseconds go (means per request):", *details]), flush=True)
    return lines


# Relevance --------------------------------------------------------------------------------------

JUDGED = ROOT / "bench" / "data" / "search_judged.toml"


def judged() -> list[dict[str, Any]]:
    with JUDGED.open("rb") as handle:
        return list(tomllib.load(handle)["judged"])


def gain(judgement: dict[str, Any], code: str) -> int:
    return 2 if code in judgement["best"] else 1 if code in judgement.get("also", ()) else 0


def ndcg(gains: list[int], ideal: list[int], k: int = 10) -> float:
    def dcg(values: list[int]) -> float:
        return sum((2.0**g - 1) / math.log2(i + 2) for i, g in enumerate(values[:k]))

    best = dcg(sorted(ideal, reverse=True))
    return dcg(gains) / best if best else 0.0


async def rank_judged(url: str, show: bool = False) -> dict[str, dict[str, float]]:
    """Seed the demo fair, then score both rankings on every judged query."""
    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    async with db.unit_of_work(db.sessionmaker(engine, write=True)) as session:
        await demo.seed(session)
    rankings = {"baseline": search.search, "new": search_terms.find}
    totals = {name: {"ndcg": 0.0, "success": 0.0, "empty": 0.0, "ms": 0.0} for name in rankings}
    queries = judged()
    async with db.sessionmaker(engine)() as session:
        edition = await demo.find(session)
        assert edition is not None
        codes = dict(
            (
                await session.execute(
                    select(Offer.id, Offer.rome_code)
                    .join(Booth, Booth.id == Offer.booth_id)
                    .where(Offer.edition_id == edition.id, Offer.published.is_(True))
                    .where(Booth.status == BoothStatus.APPROVED.value)
                )
            ).all()
        )
        for judgement in queries:
            ideal = [gain(judgement, code) for code in codes.values()]
            for name, ranking in rankings.items():
                query = search.Query(q=judgement["q"], per_page=10)
                started = time.perf_counter()
                page = await ranking(session, edition_id=edition.id, query=query)
                totals[name]["ms"] += (time.perf_counter() - started) * 1000
                gains = [gain(judgement, codes.get(hit.offer.id, "")) for hit in page.hits]
                totals[name]["ndcg"] += ndcg(gains, ideal)
                totals[name]["success"] += 2 in gains[:3]
                totals[name]["empty"] += not page.hits
                if show and name == "new" and ndcg(gains, ideal) < 0.9:
                    print(f"   {judgement['q']!r}: nDCG {ndcg(gains, ideal):.2f} {gains}")
    await engine.dispose()
    return {
        name: {key: value / (1 if key == "empty" else len(queries)) for key, value in t.items()}
        for name, t in totals.items()
    }


def run_relevance(name: str, url: str, show: bool = False) -> list[str]:
    print(f"\n== {name}: seeding the demo fair, {len(judged())} judged queries…", flush=True)
    scores = asyncio.run(rank_judged(url, show))
    lines = []
    for ranking, label in (("baseline", "baseline (full text)"), ("new", "new (search_terms)")):
        s = scores[ranking]
        line = (
            f"{name:<10} {label:<22} nDCG@10 {s['ndcg']:.3f}  success@3 {s['success']:.3f}  "
            f"no result {s['empty']:.0f}/{len(judged())}  mean {s['ms']:.1f} ms/query"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


# Approximation ----------------------------------------------------------------------------------

# Words with large tiers at scale (the trades job seekers type, their synonyms and ROME codes
# widening them) and narrower ones: the ranking bounded to each tier's newest matches
# (search.Query.rank_bound) against the exact one (every match scored, rank_bound 0).
BROAD = ("chauffeur", "aide a domicile", "btp", "vendeur", "agent", "aide soignant",
         "electricien", "serveur", "cariste", "technicien", "commercial", "employe",
         "conducteur", "cuisinier", "infirmier", "manutentionnaire", "agent d'entretien",
         "magasinier", "assistant", "maçon", "caces", "femme de menage")  # fmt: skip
BOUNDS = "50,100,200,400,1000"
TOP = 10


def overlap(exact: list[int], bounded: list[int], k: int = TOP) -> float:
    """The share of the exact top `k` that the bounded top `k` holds."""
    return len(set(exact[:k]) & set(bounded[:k])) / max(1, min(k, len(exact)))


def same_jobs(exact: list[str], bounded: list[str], k: int = TOP) -> float:
    """The share of the exact top `k`'s jobs (ROME codes, as many times as they come) that
    the bounded top `k` has: the judged set's notion of relevance (a judgement names jobs),
    where the offers of one job, alike but for their descriptions, are interchangeable."""
    left = list(bounded[:k])
    kept = 0
    for code in exact[:k]:
        if code in left:
            left.remove(code)
            kept += 1
    return kept / max(1, min(k, len(exact)))


def ndcg_against(exact: list[int], bounded: list[int], k: int = TOP) -> float:
    """nDCG@k of `bounded` with the exact ranking as the judgement: the exact first offer
    gains k, the second k - 1, … the k-th 1, any other 0."""
    gains = {offer: k - n for n, offer in enumerate(exact[:k])}
    ideal = [k - n for n in range(min(k, len(exact)))]
    return ndcg([gains.get(offer, 0) for offer in bounded[:k]], ideal, k) if ideal else 1.0


async def exact_keys(session: AsyncSession, edition_id: int, q: str) -> dict[int, float]:
    """Every match of `q` (widened as the pages widen it) with its exact rank key (lower
    first: fair.search.ranking, every match scored)."""
    widening = await search_terms.widen(session, q)
    query = search.Query(q=q, also=widening.wider, rank_bound=0)
    origin = search.check(query)
    dialect = search_filters.dialect(session)
    _base, ranked, rank = search_ranking.matching(search_ranking.shape(dialect, query, origin))
    params = search_ranking.values(dialect, edition_id, query, origin)
    rows = await session.execute(ranked.with_only_columns(Offer.id, rank.label("key")), params)
    return {int(offer): float(key) for offer, key in rows.all()}


async def approximate(url: str, bounds: list[int]) -> list[str]:
    """For each of BROAD: the first page of the pages' search (fair.search.terms.find, each
    worked out: the caches forgotten) ranked exactly and bounded by each of `bounds`.

    Per query and bound: overlap@10 and nDCG@10 against the exact top 10 (by offer), whether
    the first page is the same; tie-aware, nDCG@10 where an offer gains by its exact score
    (10 minus the number of matches scoring strictly better: offers scoring the same gain the
    same); and how deep in the exact ranking the bounded first 10 reach (the worst one's
    exact place, as a share of the matches)."""
    engine = db.create_engine(url)  # one session: one connection
    found: dict[int, list[tuple[float, float, bool, float, float, float]]] = {k: [] for k in bounds}
    times: dict[int, list[float]] = {k: [] for k in [0, *bounds]}
    lines = []
    async with db.sessionmaker(engine)() as session:
        edition_id = (await session.execute(select(Edition.id))).scalar_one()

        jobs: dict[int, str] = {}  # offer -> its ROME code

        async def page(q: str, bound: int) -> list[int]:
            search_cache.forget()
            query = search.Query(q=q, rank_bound=bound)
            started = time.perf_counter()
            result = await search_terms.find(session, edition_id=edition_id, query=query)
            times[bound].append((time.perf_counter() - started) * 1000)
            jobs.update((hit.offer.id, hit.offer.rome_code) for hit in result.hits)
            return [hit.offer.id for hit in result.hits]

        for q in BROAD:
            keys = await exact_keys(session, edition_id, q)
            ordered = sorted(keys, key=lambda offer: (keys[offer], -offer))
            exact = await page(q, 0)
            if not keys or exact != ordered[: len(exact)]:  # respelt, or no match
                lines.append(f"   {q!r:<20} left out: its page is not its exact keys' order")
                continue
            values = sorted(keys.values())

            def place(offer: int, values: list[float] = values, keys: Any = keys) -> int:
                return bisect.bisect_left(values, keys[offer])  # matches scoring better

            ideal = [max(0, TOP - place(offer)) for offer in ordered[:TOP]]
            scores = []
            for k in bounds:
                bounded = await page(q, k)
                tied = ndcg([max(0, TOP - place(o)) for o in bounded[:TOP]], ideal, TOP)
                depth = max((place(o) + 1 for o in bounded[:TOP]), default=0) / max(1, len(keys))
                figures = (
                    overlap(exact, bounded),
                    ndcg_against(exact, bounded),
                    bounded == exact,
                    tied if ideal else 1.0,
                    depth,
                    same_jobs([jobs[o] for o in exact], [jobs[o] for o in bounded]),
                )
                found[k].append(figures)
                scores.append(
                    f"{k}: {figures[0]:.1f}/{figures[1]:.2f}/{figures[3]:.2f}/{figures[5]:.1f}"
                    f"{'' if figures[2] else '*'}"
                )
            lines.append(f"   {q!r:<20} {len(keys):>6} matches   " + "  ".join(scores))
    await engine.dispose()
    print(
        "\n".join(
            [
                "   per bound: overlap@10 / nDCG@10 / nDCG@10 ties alike / jobs@10"
                " (* first page differs)",
                *lines,
            ]
        )
    )
    exact_ms = sum(times[0]) / len(times[0])
    summary = []
    for k in bounds:
        n = len(found[k])

        def mean(i: int, k: int = k, n: int = n) -> float:
            return sum(f[i] for f in found[k]) / n

        summary.append(
            f"rank_bound {k:>5}  overlap@{TOP} {mean(0):.3f}"
            f" (worst {min(f[0] for f in found[k]):.1f})  nDCG@{TOP} {mean(1):.3f}"
            f"  ties alike {mean(3):.3f}  jobs@{TOP} {mean(5):.3f}  first page identical "
            f"{sum(f[2] for f in found[k])}/{n}  reach {100 * mean(4):.1f} % (worst "
            f"{100 * max(f[4] for f in found[k]):.1f} %)  mean {sum(times[k]) / n:5.1f} ms/query"
            f" (exact {exact_ms:5.1f})"
        )
    return summary


def run_approximation(name: str, url: str, args: argparse.Namespace) -> list[str]:
    if not args.reuse:
        print(f"\n== {name}: building {args.offers:,} offers…", flush=True)
        _slug, seconds = asyncio.run(build(url, args.offers, args.booths))
        print(f"   built in {seconds:.1f} s", flush=True)
    print(f"\n== {name}: {len(BROAD)} queries, exact ranking against bounded ones", flush=True)
    bounds = [int(k) for k in args.bounds.split(",")]
    return [f"{name:<10} {line}" for line in asyncio.run(approximate(url, bounds))]


def pg_database(args: argparse.Namespace) -> str:
    """The PostgreSQL database this run creates and drops (or reuses): --pg-database if given,
    else one per kind of run, never PG_NAME for --relevance."""
    if args.pg_database:
        return str(args.pg_database)
    return PG_RELEVANCE if args.relevance else PG_NAME


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
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
        "--reuse", action="store_true", help="time the databases --keep left (no build)"
    )
    parser.add_argument(
        "--pg-database",
        default=None,
        help=f"the PostgreSQL database to create and drop (default {PG_NAME}, with --relevance"
        f" {PG_RELEVANCE})",
    )
    parser.add_argument("--kinds", default=",".join(KINDS), help="the kinds of query timed")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="forget what the search keeps of each query (fair.search.cache: pages, facets'"
        " counts, spelling; fair.search.terms: widenings) before each request, so that every"
        " query is worked out",
    )
    parser.add_argument(
        "--relevance",
        action="store_true",
        help="score the judged queries on the demo fair (no latency run)",
    )
    parser.add_argument(
        "--show", action="store_true", help="with --relevance: the queries the new ranking misses"
    )
    parser.add_argument(
        "--approximation",
        action="store_true",
        help="the first page ranked with each tier's matches bounded (--bounds) against the"
        " exact ranking: overlap@10, nDCG@10, identical first pages (no latency run)",
    )
    parser.add_argument("--bounds", default=BOUNDS, help="with --approximation: rank bounds")
    return parser.parse_args(argv)


def main() -> None:
    args = arguments()
    lines = []
    run = run_backend
    if args.relevance:
        run = lambda name, url, args, data_dir: run_relevance(name, url, args.show)  # noqa: E731
    elif args.approximation:
        run = lambda name, url, args, data_dir: run_approximation(name, url, args)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="fair-bench-") as tmp:
        data_dir = Path((args.keep or args.reuse) and str(ROOT / "var" / "bench") or tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in args.backends.split(","):
            if name == "sqlite":
                path = data_dir / "bench.db"
                for suffix in ("", "-wal", "-shm") if not args.reuse else ():
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                lines += run(name, f"sqlite+aiosqlite:///{path}", args, data_dir)
            else:
                if args.reuse:
                    lines += run(name, pg_url(pg_database(args)), args, data_dir)
                else:
                    with pg_scratch(pg_database(args), keep=args.keep) as url:
                        lines += run(name, url, args, data_dir)
    if args.relevance:
        print(f"\nRelevance ({len(judged())} judged queries, {JUDGED.relative_to(ROOT)}):")
    elif args.approximation:
        print(f"\nApproximation (first page of {len(BROAD)} queries, bounded against exact):")
    else:
        print(f"\nSummary ({args.offers:,} offers, {args.requests} requests after {args.warmup} "
              f"warm-up and each query once, one client, sequential; "
              f"{WEB_PROCESS_HEADER}):")  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
