"""Operations (issue 17 item 5, fair.web.ops, fair.metrics, fair.logs): /healthz, /readyz and
/metrics on both databases and the real Redis, each request's id, JSON log lines, and the
metrics of several processes added up (prometheus_client's multiprocess mode, for real)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import clock, db, logs, mail, metrics, queues, settings, webhook_delivery, webhooks
from fair.app import create_app
from fair.enums import Role
from fair.models import OutboxMail, WebhookDelivery
from tests import factories as f
from tests.conftest import csrf
from tests.factories import NOON, live_booth
from tests.live_server import Server
from tests.prometheus_text import sample
from tests.server_processes import free_port
from tests.statements import listening
from tests.webhook_receiver import Receiver

REDIS = os.environ.get("FAIR_TEST_REDIS", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def serving(
    conf: settings.Settings, *, client: tuple[str, int] = ("127.0.0.1", 123)
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(conf)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            http.app = application  # type: ignore[attr-defined]
            yield http


# /healthz and /readyz ---------------------------------------------------------------------------


async def test_healthz_is_alive_without_any_io(conf) -> None:  # type: ignore[no-untyped-def]
    """No database statement, no session cookie, no request id: nothing but the answer; and
    alive even with the database out of reach (PostgreSQL) or the pool all taken."""
    async with serving(replace(conf, db_pool_size=1, db_max_overflow=0)) as client:
        statements: list[str] = []
        engine = client.app.state.engine  # type: ignore[attr-defined]
        with listening(
            engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql)
        ):
            async with engine.connect() as held:  # the only connection, taken
                await held.execute(text("SELECT 1"))
                statements.clear()
                answers = [await client.get("/healthz") for _ in range(200)]  # no rate limit
    assert {(a.status_code, a.text) for a in answers} == {(200, '{"status":"alive"}')}
    assert statements == []
    assert "set-cookie" not in answers[0].headers
    assert "x-request-id" not in answers[0].headers


async def test_readyz_checks_the_database(conf) -> None:  # type: ignore[no-untyped-def]
    async with serving(conf) as client:
        ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ready", "checks": {"database": "ok"}},
    )
    assert "set-cookie" not in ready.headers


@pytest.mark.postgresql_only
async def test_readyz_names_a_database_out_of_reach(conf) -> None:  # type: ignore[no-untyped-def]
    url = make_url(conf.database_url).set(port=free_port())
    refused = replace(conf, database_url=url.render_as_string(hide_password=False))
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    quiet_url = url.set(host="127.0.0.1", port=silent.sockets[0].getsockname()[1])
    quiet = replace(
        conf, database_url=quiet_url.render_as_string(hide_password=False), readyz_timeout=0.5
    )
    try:
        async with serving(refused) as client:
            down = await client.get("/readyz")
        async with serving(quiet) as client:
            started = time.monotonic()
            hung = await client.get("/readyz")
            waited = time.monotonic() - started
    finally:
        silent.close()
    assert (down.status_code, down.headers["retry-after"]) == (503, "5")
    assert down.json() == {
        "status": "unavailable",
        "failing": ["database"],
        "checks": {"database": "failed: Unreachable"},
    }
    assert (hung.status_code, hung.json()["checks"]) == (
        503,
        {"database": "no answer within 0.5 s"},
    )
    assert 0.5 <= waited < 3


class Relay:
    """A TCP relay on loopback (here in front of Redis) that a test cuts."""

    def __init__(self, port: int) -> None:
        self.target, self.port = port, free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self.server is None:
            return
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()
        self.server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_readyz_checks_redis_when_configured_and_names_it_when_gone(conf) -> None:  # type: ignore[no-untyped-def]
    redis = make_url(REDIS.replace("redis://", "redis+x://"))
    relay = Relay(redis.port or 6379)
    await relay.start()
    through = replace(
        conf,
        broadcast_url=f"redis://127.0.0.1:{relay.port}/{redis.database or 0}",
        broadcast_namespace=f"fair-test-ops:{uuid.uuid4().hex}",
    )
    try:
        async with serving(through) as client:
            ready = await client.get("/readyz")
            await relay.cut()
            gone = await client.get("/readyz")
    finally:
        await relay.cut()
    assert (ready.status_code, ready.json()["checks"]) == (200, {"database": "ok", "redis": "ok"})
    assert (gone.status_code, gone.json()["failing"]) == (503, ["redis"])
    assert gone.json()["checks"]["database"] == "ok"


async def test_readyz_names_media_processes_when_none_is_alive(conf) -> None:  # type: ignore[no-untyped-def]
    """FAIR_MEDIA_URL set and no `fair media` process registered under the namespace."""
    alone = replace(conf, media_url=REDIS, media_namespace=f"fair-test-ops:{uuid.uuid4().hex}")
    async with serving(alone) as client:
        answer = await client.get("/readyz")
    assert (answer.status_code, answer.json()) == (
        503,
        {
            "status": "unavailable",
            "failing": ["media"],
            "checks": {"database": "ok", "media": "failed: RuntimeError"},
        },
    )


def test_probes_and_scrapes_stay_out_of_the_access_log() -> None:
    """uvicorn's access-log record: (client, method, path with query, HTTP version, status)."""
    quiet = logs.QuietOperations()

    def record(path: str) -> logging.LogRecord:
        args = ("127.0.0.1:5000", "GET", path, "1.1", 200)
        return logging.LogRecord("uvicorn.access", 20, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)

    kept = [
        p
        for p in ("/healthz", "/readyz?x=1", "/metrics", "/", "/healthzz")
        if quiet.filter(record(p))
    ]
    assert kept == ["/", "/healthzz"]


# /metrics -----------------------------------------------------------------------------------------


async def test_metrics_count_requests_by_route_template_and_status(conf) -> None:  # type: ignore[no-untyped-def]
    async with serving(conf) as client:
        before = (await client.get("/metrics")).text
        for _ in range(3):
            await client.get("/")
        await client.get("/e/no-such-fair")
        await client.get("/no/such/page")
        scraped = await client.get("/metrics")
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    text_ = scraped.text

    def grown(name: str, **labels: str) -> float:
        return (sample(text_, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    requests = "fair_http_requests_total"
    assert grown(requests, method="GET", route="/", status="200") == 3
    assert grown(requests, method="GET", route="/e/{slug}", status="404") == 1
    assert grown(requests, method="GET", route="<unmatched>", status="404") == 1
    latency = "fair_http_request_duration_seconds_count"
    assert grown(latency, method="GET", route="/") == 3
    assert sample(text_, requests, method="GET", route="/metrics", status="200") is None


async def test_metrics_read_the_outboxes_and_queues(conf, app, client, session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    _edition, booth, _recruiter = await live_booth(session)
    for _ in range(2):
        await queues.join(session, candidate=await f.candidate(session), booth=booth)
    await db.commit(session)
    before = sample((await client.get("/metrics")).text, "fair_outbox_mails", state="waiting")
    for i in range(3):
        await mail.queue(session, to=f"p{i}@example.org", subject="s", body="b")
    await db.commit(session)
    text_ = (await client.get("/metrics")).text
    assert sample(text_, "fair_outbox_mails", state="waiting") == (before or 0) + 3
    assert sample(text_, "fair_outbox_mails", state="failed") == 0
    assert sample(text_, "fair_outbox_webhooks", state="waiting") == 0
    assert sample(text_, "fair_queue_entries", status="waiting") == 2
    assert sample(text_, "fair_queue_entries", status="called") == 0


async def test_metrics_are_for_this_host_or_the_token_only(conf) -> None:  # type: ignore[no-untyped-def]
    async with serving(conf, client=("203.0.113.7", 4000)) as outside:
        far = await outside.get("/metrics")
    async with serving(conf) as local:
        relayed = await local.get("/metrics", headers={"x-forwarded-for": "203.0.113.7"})
        near = await local.get("/metrics")
    guarded = replace(conf, metrics_token="s3cret-token")
    async with serving(guarded, client=("203.0.113.7", 4000)) as outside:
        none = await outside.get("/metrics")
        wrong = await outside.get("/metrics", headers={"authorization": "Bearer nope"})
        right = await outside.get("/metrics", headers={"authorization": "Bearer s3cret-token"})
    assert [r.status_code for r in (far, relayed, near)] == [403, 403, 200]
    assert far.json() == {
        "error": {"code": "metrics.forbidden", "message": "Metrics are not public."}
    }
    assert [r.status_code for r in (none, wrong, right)] == [403, 403, 200]
    assert "fair_http_requests_total" in right.text


async def test_metrics_refuse_whatever_a_local_proxy_relays(conf) -> None:  # type: ignore[no-untyped-def]
    """A local proxy may say whom it relays in Forwarded or X-Real-IP only; and behind trusted
    proxies, only the token opens /metrics (a proxy may send no header at all)."""
    async with serving(conf) as local:
        relayed = [
            (await local.get("/metrics", headers={name: "203.0.113.7"})).status_code
            for name in ("forwarded", "x-real-ip", "x-forwarded-for")
        ]
        near = await local.get("/metrics")
    assert (relayed, near.status_code) == ([403, 403, 403], 200)
    proxied = replace(conf, trusted_proxies=("127.0.0.1",))
    async with serving(proxied) as local:
        bare = await local.get("/metrics")
    assert bare.status_code == 403
    guarded = replace(proxied, metrics_token="s3cret-token")
    async with serving(guarded) as local:
        right = await local.get("/metrics", headers={"authorization": "Bearer s3cret-token"})
    assert right.status_code == 200


async def test_metrics_count_open_sockets(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        before = sample((await http.get("/metrics")).text, "fair_live_sockets") or 0
        async with websockets.connect(server.ws) as one, websockets.connect(server.ws) as two:
            await one.send(json.dumps(["ping", 1, {}]))
            await two.send(json.dumps(["ping", 1, {}]))
            await one.recv(), await two.recv()
            during = sample((await http.get("/metrics")).text, "fair_live_sockets")
        for _ in range(100):  # the server notices the closes in its own time
            after = sample((await http.get("/metrics")).text, "fair_live_sockets")
            if after == before:
                break
            await asyncio.sleep(0.05)
    assert (during, after) == (before + 2, before)


WORKER_PROCESS = """
import sys
from fair import metrics
metrics.REQUESTS.labels("GET", "/", "200").inc(int(sys.argv[1]))
metrics.SOCKETS.inc(int(sys.argv[1]))
metrics.MAILS.labels("sent").inc()
print("done", flush=True)
sys.stdin.read()  # alive until told
if sys.argv[2] == "stop":
    metrics.process_stopped()  # what the app's lifespan and the worker do when they stop
"""
SCRAPE = """
from fair import metrics
print(metrics.exposition(metrics.Figures([])).decode())
"""


def test_several_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """Two processes (two uvicorn workers, or a web process and the worker) write their
    samples; a third's scrape adds them up; a process stopped leaves the live gauges."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}

    def start(count: int, end: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER_PROCESS, str(count), end],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stdout.readline() == "done\n"
        return process

    def scrape() -> str:
        run = [sys.executable, "-c", SCRAPE]
        return subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout

    first, second = start(2, "stop"), start(5, "stay")
    both = scrape()
    assert first.stdin is not None
    first.stdin.close()
    assert first.wait(timeout=20) == 0
    later = scrape()
    assert second.stdin is not None
    second.stdin.close()
    second.wait(timeout=20)
    requests = {"method": "GET", "route": "/", "status": "200"}
    assert sample(both, "fair_http_requests_total", **requests) == 7
    assert sample(both, "fair_mails_total", outcome="sent") == 2
    assert sample(both, "fair_live_sockets") == 7
    assert sample(later, "fair_live_sockets") == 5  # the first process's sockets are gone
    assert sample(later, "fair_http_requests_total", **requests) == 7  # counts stay


# Request ids and log lines ---------------------------------------------------------------------


async def test_each_answer_carries_its_request_id(conf) -> None:  # type: ignore[no-untyped-def]
    async with serving(conf) as client:
        given = await client.get("/", headers={"x-request-id": "lb-4f2a.77:x_y"})
        made = [await client.get("/") for _ in range(2)]
        refused = await client.get("/", headers={"x-request-id": "bad id\twith spaces"})
        too_long = await client.get("/", headers={"x-request-id": "a" * 65})
    assert given.headers["x-request-id"] == "lb-4f2a.77:x_y"
    ids = [r.headers["x-request-id"] for r in (*made, refused, too_long)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == 4


async def test_log_lines_carry_the_request_id_as_json(conf) -> None:  # type: ignore[no-untyped-def]
    """A request whose handling logs (every connection taken: fair.web.errors.busy warns),
    written by the JSON lines handler fair.logs sets up."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    handler.addFilter(logs.RequestId())
    logging.getLogger("fair").addHandler(handler)
    tiny = replace(conf, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.1)
    try:
        async with serving(tiny) as client:
            async with client.app.state.engine.connect() as held:  # type: ignore[attr-defined]
                await held.execute(text("SELECT 1"))
                answer = await client.get("/", headers={"x-request-id": "req-123"})
            logging.getLogger("fair.test").warning("outside any request")
    finally:
        logging.getLogger("fair").removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert answer.status_code == 503
    busy = [e for e in lines if e["message"].startswith("database pool exhausted on GET /")]
    assert [(e["level"], e["logger"], e["request_id"]) for e in busy] == [
        ("WARNING", "fair.web", "req-123")
    ]
    outside = [e for e in lines if e["message"] == "outside any request"]
    assert [(e["logger"], e["request_id"]) for e in outside] == [("fair.test", "-")]
    assert set(lines[0]) == {"time", "level", "logger", "message", "request_id"}


def test_settings_of_operations() -> None:
    loaded = settings.load({})
    assert (loaded.readyz_timeout, loaded.metrics_token, loaded.log_format) == (2.0, "", "text")
    set_ = settings.load(
        {"FAIR_READYZ_TIMEOUT": "1", "FAIR_METRICS_TOKEN": " t ", "FAIR_LOG_FORMAT": "JSON"}
    )
    assert (set_.readyz_timeout, set_.metrics_token, set_.log_format) == (1.0, "t", "json")


@contextlib.contextmanager
def json_lines() -> Iterator[io.StringIO]:
    """fair's log lines at INFO, as the JSON lines handler of fair.logs writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    handler.addFilter(logs.RequestId())
    logger = logging.getLogger("fair")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_a_request_id_follows_into_the_mail_it_queued(app, client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    """The request that queues a mail logs its outbox id under the request's id, which the
    outbox row keeps; the sender (the worker's round) logs its sending under the same id."""
    user = await f.user(session, Role.CANDIDATE, email="ana@example.fr")
    await db.commit(session)
    token = await csrf(client, "/reset")
    with json_lines() as stream:
        answer = await client.post(
            "/reset",
            data={"csrf_token": token, "email": user.email},
            headers={"x-request-id": "trace-77"},
        )
        assert await mail.deliver_pending(app.state.write_sessions) == 1
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mails = [(e["message"], e["request_id"]) for e in lines if e["logger"] == "fair.mail"]
    queued = [m for m, rid in mails if m.endswith(" queued") and rid == "trace-77"]
    assert answer.headers["x-request-id"] == "trace-77" and len(queued) == 1
    number = queued[0].split()[1]
    assert (f"mail {number} sent", "trace-77") in mails
    stored = await fetch.get(OutboxMail, int(number))
    assert stored.request_id == "trace-77"


async def test_a_request_id_follows_into_the_webhook_it_queued(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    """A change made during a request (its id set as fair.web.ops sets it) queues a webhook
    delivery that keeps the id; the sender's line about posting it carries it again. What a
    worker's own round queues carries none."""
    settings.override(replace(settings.get(), webhook_timeout=2.0, webhook_private_targets=True))
    with Receiver() as receiver:
        edition = await f.edition(session)
        booth, _recruiter = await f.booth(session, edition_=edition)
        organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
        endpoint = await webhooks.create(
            session,
            by=organiser,
            edition_id=edition.id,
            booth_id=None,
            url=receiver.url,
            events=["application.submitted"],
        )
        receiver.secret = endpoint.secret
        offer = await f.offer(session, booth_=booth)
        await db.commit(session)
        maker = app.state.write_sessions
        with logs.following("trace-88"):
            async with db.unit_of_work(maker) as s:
                await f.application(s, offer_=offer)
        async with db.unit_of_work(maker) as s:  # outside any request
            await f.application(s, offer_=await f.offer(s, booth_=booth))
        with json_lines() as stream:
            assert await webhook_delivery.deliver_due(maker) == 2
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    deliveries = await fetch.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
    assert [d.request_id for d in deliveries] == ["trace-88", None]
    sent = [(e["message"], e["request_id"]) for e in lines if e["logger"] == "fair.webhooks"]
    assert sent == [
        (f"webhook {d.message_id} (delivery {d.id}): delivered", rid)
        for d, rid in zip(deliveries, ["trace-88", "-"], strict=True)
    ]


async def test_an_unexpected_error_is_logged_with_its_request_id(conf) -> None:  # type: ignore[no-untyped-def]
    """The handler of unexpected errors runs outside every middleware: its line still carries
    the request's id. (A route that fails, added to the app for the test.)"""

    async def failing(_request: Request) -> Response:
        raise RuntimeError("a defect")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    handler.addFilter(logs.RequestId())
    logging.getLogger("fair").addHandler(handler)
    try:
        application = create_app(conf)
        application.router.routes.append(Route("/failing", failing))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.get("/failing", headers={"x-request-id": "oops-1"})
            scraped = metrics.exposition(metrics.Figures([])).decode()
    finally:
        logging.getLogger("fair").removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    failed = [e for e in lines if e["message"] == "unhandled error on GET /failing"]
    assert answer.status_code == 500 and "a defect" not in answer.text
    assert [(e["request_id"], "RuntimeError: a defect" in e["exception"]) for e in failed] == [
        ("oops-1", True)
    ]
    labels = {"method": "GET", "route": "/failing", "status": "500"}
    assert (sample(scraped, "fair_http_requests_total", **labels) or 0) >= 1
