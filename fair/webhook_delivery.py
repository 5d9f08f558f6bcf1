"""Webhook delivery, run by the worker (`run_sender`): the deliveries queued by fair.webhooks
are claimed in a short transaction (their attempt counted and their next attempt moved past a
lease: two workers never post one delivery at once; SKIP LOCKED on PostgreSQL, SQLite's writer
lock elsewhere), posted with no transaction open (httpx, FAIR_WEBHOOK_TIMEOUT, redirects not
followed, at most CONCURRENCY at once), then each attempt is recorded (`WebhookAttempt`: status
code or error, duration). A 2xx delivers; anything else is retried with exponential backoff
and jitter until 24 hours after it was queued (the last try falls at that moment), then the
delivery is marked failed.

The request follows Standard Webhooks (https://www.standardwebhooks.com/): headers
`webhook-id` (stable across retries), `webhook-timestamp` (Unix seconds of this attempt) and
`webhook-signature` = "v1," + base64(HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")),
the secret being "whsec_" + base64 of its bytes.

Receivers are reached through fair.outbound: a host name is resolved when the connection opens
and the post refused unless it resolves to a public address (that very address is then
connected to: no second resolution a rebinding name could change), unless
FAIR_WEBHOOK_PRIVATE_TARGETS allows private ones (tests, a local receiver). A refusal is
recorded as the attempt's error and retried as any failure.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import clock, logs, metrics, outbound, outbox_sender, settings
from fair.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("fair.webhooks")
RETRY_WINDOW = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)  # then doubled on each failure, up to MAX_RETRY
MAX_RETRY = timedelta(hours=2)
BATCH = 100  # deliveries claimed per round
CONCURRENCY = 10  # posts in flight at once
_wakeup = outbox_sender.Wakeup()  # set after each commit that queued deliveries


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header's value (Standard Webhooks, scheme v1)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def retry_delay(attempts: int) -> timedelta:
    """The wait after `attempts` failed attempts: doubled each time up to MAX_RETRY, with
    jitter (between half and all of it), so that receivers coming back are not stampeded."""
    ceiling: timedelta = min(FIRST_RETRY * 2 ** min(attempts - 1, 20), MAX_RETRY)
    return ceiling * random.uniform(0.5, 1.0)


def lease() -> timedelta:
    """How long a claimed delivery is held: a round's posts (BATCH at CONCURRENCY at once, each
    cut at the timeout) fit in it, so none is claimed again while in flight."""
    timeout = settings.get().webhook_timeout
    return timedelta(seconds=timeout * (math.ceil(BATCH / CONCURRENCY) + 1) + 60)


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempt: int
    message_id: str
    body: str
    url: str
    secret: str
    queued_at: datetime
    request_id: str | None = None


@dataclass(frozen=True)
class _Outcome:
    claimed: _Claimed
    at: datetime
    status: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def deliver_due(maker: async_sessionmaker[AsyncSession], *, limit: int = BATCH) -> int:
    """One round: claim up to `limit` due deliveries, post them, record how each went; returns
    how many were delivered."""
    delivered, _claimed = await _round(maker, limit)
    return delivered


async def _round(maker: async_sessionmaker[AsyncSession], limit: int) -> tuple[int, int]:
    claimed = await _claim(maker, limit)
    if not claimed:
        return 0, 0
    gate = asyncio.Semaphore(CONCURRENCY)
    conf = settings.get()
    timeout = conf.webhook_timeout
    # Each receiver's name resolved once, at connection, and refused when not public (unless
    # FAIR_WEBHOOK_PRIVATE_TARGETS): the attempt records why (fair.outbound).
    reach = outbound.transport(allow_private=conf.webhook_private_targets)
    async with httpx.AsyncClient(
        transport=reach, follow_redirects=False, timeout=timeout
    ) as client:
        outcomes = await asyncio.gather(*(_post(client, gate, timeout, c) for c in claimed))
    await _record(maker, outcomes)
    return sum(outcome.ok for outcome in outcomes), len(claimed)


async def _claim(maker: async_sessionmaker[AsyncSession], limit: int) -> list[_Claimed]:
    async with maker() as session:
        now = clock.now()
        rows = await session.execute(
            select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.delivered_at.is_(None),
                WebhookDelivery.failed_at.is_(None),
                or_(
                    WebhookDelivery.next_attempt_at.is_(None),
                    WebhookDelivery.next_attempt_at <= now,
                ),
                WebhookEndpoint.active,
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
        held_until = now + lease()
        claimed = []
        for delivery, url, secret in rows:
            delivery.attempts += 1
            delivery.next_attempt_at = held_until
            claimed.append(
                _Claimed(
                    id=delivery.id,
                    attempt=delivery.attempts,
                    message_id=delivery.message_id,
                    body=delivery.body,
                    url=url,
                    secret=secret,
                    queued_at=delivery.queued_at,
                    request_id=delivery.request_id,
                )
            )
        await session.commit()
    return claimed


async def _post(
    client: httpx.AsyncClient, gate: asyncio.Semaphore, seconds: float, claimed: _Claimed
) -> _Outcome:
    async with gate:
        at = clock.now()
        stamp = int(at.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "fair-webhooks",
            "webhook-id": claimed.message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(claimed.secret, claimed.message_id, stamp, claimed.body),
        }
        started = time.perf_counter()
        status: int | None = None
        error = ""
        try:
            async with asyncio.timeout(seconds):  # the whole exchange, not each read
                response = await client.post(
                    claimed.url, content=claimed.body.encode(), headers=headers
                )
            status = response.status_code
        except (TimeoutError, httpx.TimeoutException):
            error = "timeout"
        except Exception as exc:  # refused, reset, bad TLS…: it belongs to this delivery
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration = round((time.perf_counter() - started) * 1000)
        return _Outcome(claimed, at, status, error, duration)


async def _record(maker: async_sessionmaker[AsyncSession], outcomes: list[_Outcome]) -> None:
    """Log every attempt; deliver, schedule the next try, or give up after the window. A row
    claimed again since (its lease ran out) is left to that attempt."""
    async with maker() as session:
        now = clock.now()
        await session.execute(
            insert(WebhookAttempt),
            [
                {
                    "delivery_id": o.claimed.id,
                    "at": o.at,
                    "status": o.status,
                    "error": o.error,
                    "duration_ms": o.duration_ms,
                }
                for o in outcomes
            ],
        )
        for outcome in outcomes:
            await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == outcome.claimed.id,
                    WebhookDelivery.attempts == outcome.claimed.attempt,
                    WebhookDelivery.delivered_at.is_(None),
                )
                .values(**_next_state(outcome, now))
            )
        await session.commit()
    for outcome in outcomes:
        metrics.WEBHOOKS.labels("delivered" if outcome.ok else "failed").inc()
        with logs.following(outcome.claimed.request_id):  # the request that queued it
            log.info(
                "webhook %s (delivery %s): %s",
                outcome.claimed.message_id,
                outcome.claimed.id,
                "delivered" if outcome.ok else outcome.status or outcome.error,
            )


def _next_state(outcome: _Outcome, now: datetime) -> dict[str, Any]:
    error = outcome.error or ("" if outcome.ok else f"HTTP {outcome.status}")
    state: dict[str, Any] = {"last_status": outcome.status, "last_error": error}
    if outcome.ok:
        return state | {"delivered_at": now, "next_attempt_at": None}
    deadline = outcome.claimed.queued_at + RETRY_WINDOW
    if now >= deadline:
        return state | {"failed_at": now, "next_attempt_at": None}
    # The last try falls at the window's end: its failure gives up.
    return state | {"next_attempt_at": min(now + retry_delay(outcome.claimed.attempt), deadline)}


async def wake() -> None:
    """Start a round now (after a commit that queued deliveries)."""
    await _wakeup.wake()


async def run_sender(maker: async_sessionmaker[AsyncSession], *, interval: float = 5.0) -> None:
    """Deliver whenever a commit queued deliveries, and every `interval` seconds."""

    async def round_() -> bool:
        return (await _round(maker, BATCH))[1] == BATCH  # a full batch: more may be due

    await outbox_sender.run(_wakeup, round_, interval=interval, log=log, what="webhook delivery")
