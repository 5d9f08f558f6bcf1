"""Webhook delivery: N events to a loopback receiver failing 10 %, all delivered, none twice.

For each backend: a fresh migrated database, one edition with one endpoint (fair.webhooks), N
events queued through `webhooks.queue` (the outbox) by batches; then W concurrent senders (as W
workers would) run `webhook_delivery.deliver_due` until nothing is due, the clock moved past
the backoff between passes. The receiver is a separate process (uvicorn, a bare ASGI app)
that checks every signature (Standard Webhooks, its own code), answers 500 to a random share
of requests (`--fail`), and counts the 2xx it gave per webhook-id. The run checks: every event
delivered, no webhook-id answered 2xx twice, every signature valid; and prints the throughput.

    .venv/bin/python bench/webhooks.py                      # 10,000 events, both backends
    .venv/bin/python bench/webhooks.py --events 500 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import free_port, pg_scratch  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from fair import (  # noqa: E402
    accounts,
    clock,
    db,
    demo,
    editions,
    migrations,
    webhook_delivery,
    webhooks,
)
from fair.enums import Role  # noqa: E402
from fair.models import WebhookDelivery  # noqa: E402

PG_NAME = "fair_bench_webhooks"
QUEUE_BATCH = 1000


def receiver_app(secret: str, fail: float) -> Any:
    """The receiver: a bare ASGI app (no framework between the socket and the count)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    accepted: dict[str, int] = {}
    seen = {"requests": 0, "bad_signatures": 0, "failed": 0}
    rng = random.Random(7)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "GET":
            answer = json.dumps({"accepted": accepted, **seen}).encode()
            await _answer(send, 200, answer)
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        seen["requests"] += 1
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        given = [s.partition(",")[2] for s in headers["webhook-signature"].split(" ")]
        if not any(hmac.compare_digest(expected, s) for s in given):
            seen["bad_signatures"] += 1
            await _answer(send, 401, b"")
            return
        if rng.random() < fail:
            seen["failed"] += 1
            await _answer(send, 500, b"")
            return
        accepted[headers["webhook-id"]] = accepted.get(headers["webhook-id"], 0) + 1
        await _answer(send, 204, b"")

    return app


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(port: int, secret: str, fail: float) -> None:
    import uvicorn

    app = receiver_app(secret, fail)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def build(url: str, receiver: str, events: int) -> tuple[Any, str, float]:
    """Migrate; an edition and its endpoint; N events queued. Returns the engine, the secret,
    the seconds spent queuing."""
    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    maker = db.sessionmaker(engine, write=True)
    async with db.unit_of_work(maker) as session:
        organiser = await accounts.create_user(
            session, email="org@bench.fair", name="Org", password=None, role=Role.ORGANISER
        )
        edition = await editions.create(session, by=organiser, data=demo.edition_input(clock.now()))
        endpoint = await webhooks.create(
            session,
            by=organiser,
            edition_id=edition.id,
            booth_id=None,
            url=receiver,
            events=["offer.published"],
        )
        edition_id, secret = edition.id, endpoint.secret
    started = time.perf_counter()
    for first in range(0, events, QUEUE_BATCH):
        async with db.unit_of_work(maker) as session:
            for n in range(first, min(first + QUEUE_BATCH, events)):
                data = {"offer_id": n, "edition_id": edition_id, "title": f"Offre {n}"}
                await webhooks.queue(
                    session, "offer.published", edition_id=edition_id, booth_id=None, data=data
                )
    return engine, secret, time.perf_counter() - started


async def deliver(engine: Any, senders: int) -> tuple[int, int, float]:
    """W senders until nothing is due, the clock moved past the backoff between passes.
    Returns (delivered, passes, seconds)."""
    maker = db.sessionmaker(engine, write=True)
    delivered = passes = 0
    started = time.perf_counter()

    async def sender() -> int:
        done = 0
        while got := await webhook_delivery.deliver_due(maker):  # until a round delivers nothing
            done += got
        return done

    while await _pending(maker):
        passes += 1
        delivered += sum(await asyncio.gather(*(sender() for _ in range(senders))))
        clock.set_now(clock.now() + webhook_delivery.MAX_RETRY + timedelta(minutes=1))
    return delivered, passes, time.perf_counter() - started


async def _pending(maker: Any) -> int:
    async with maker() as session:
        count: int = await session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.failed_at.is_(None))
        )
        return count


async def run_backend(name: str, url: str, args: argparse.Namespace) -> str:
    clock.set_now(None)
    clock.set_now(clock.now())
    port = free_port()
    receiver_url = f"http://127.0.0.1:{port}/hook"
    engine, secret, queuing = await build(url, receiver_url, args.events)
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(port, secret, args.fail), daemon=True
    )
    process.start()
    try:
        await _wait_for(port)
        delivered, passes, seconds = await deliver(engine, args.senders)
        async with httpx.AsyncClient() as client:
            stats = (await client.get(f"http://127.0.0.1:{port}/stats")).json()
    finally:
        process.terminate()
        process.join()
        await engine.dispose()
    accepted: dict[str, int] = stats["accepted"]
    twice = sum(1 for count in accepted.values() if count > 1)
    ok = (
        delivered == args.events
        and len(accepted) == args.events
        and twice == 0
        and stats["bad_signatures"] == 0
    )
    return (
        f"{name:<10} {args.events:,} events queued in {queuing:.1f} s; delivered "
        f"{delivered:,} in {seconds:.1f} s ({delivered / seconds:,.0f}/s, {passes} passes, "
        f"{stats['requests']:,} requests, {stats['failed']:,} failures injected); "
        f"twice: {twice}, bad signatures: {stats['bad_signatures']}: "
        f"{'ok' if ok else 'WRONG'}"
    )


async def _wait_for(port: int) -> None:
    # A spawned process imports the app afresh: on a loaded two-core machine (the suite's
    # bench smoke beside two test workers) that took more than the 10 s once allowed.
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                await client.get(f"http://127.0.0.1:{port}/stats")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the receiver did not start within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--fail", type=float, default=0.1, help="share of requests failed")
    parser.add_argument("--senders", type=int, default=4, help="concurrent senders (workers)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-database", default=PG_NAME, help="the database to create and drop")
    args = parser.parse_args()
    os.environ.setdefault("FAIR_ENV", "test")  # the receiver is plain http on loopback
    os.environ.setdefault("FAIR_WEBHOOK_PRIVATE_TARGETS", "true")  # …which is not public
    lines = []
    with tempfile.TemporaryDirectory(prefix="fair-bench-webhooks-") as tmp:
        for name in args.backends.split(","):
            if name == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                lines.append(asyncio.run(run_backend(name, url, args)))
            else:
                with pg_scratch(args.pg_database) as url:
                    lines.append(asyncio.run(run_backend(name, url, args)))
    print(
        f"\nSummary ({args.events:,} events, {args.fail:.0%} failures injected, "
        f"{args.senders} concurrent senders, batches of {webhook_delivery.BATCH} at "
        f"{webhook_delivery.CONCURRENCY} posts at once):"
    )
    print("\n".join(lines))
    print("load average (1, 5, 15 min) at the end: " + ", ".join(
        f"{n:.2f}" for n in os.getloadavg()) + f" on {os.cpu_count()} CPUs")  # fmt: skip
    if any(not line.endswith(": ok") for line in lines):
        sys.exit(1)


if __name__ == "__main__":
    main()
