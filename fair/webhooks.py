"""Webhooks: an edition's events told to its organisers' and recruiters' URLs, signed.

An endpoint belongs to an edition (its organisers': every event of the edition) or to one booth
(its recruiters': that booth's events only). The owning domain functions call the `*_event`
helpers below, which write one `WebhookDelivery` per subscribed active endpoint **in the
caller's transaction** (the outbox): a rolled-back change tells nobody.

The worker (`run_sender`) claims due deliveries in a short transaction (its attempt counted and
its next attempt moved past a lease: two workers never post one delivery at once; SKIP LOCKED
on PostgreSQL, SQLite's writer lock elsewhere), posts them with no transaction open (httpx, a
short timeout, redirects not followed, at most CONCURRENCY at once), then records each attempt
(`WebhookAttempt`: status code or error, duration). A 2xx delivers; anything else is retried
with exponential backoff and jitter until 24 hours after it was queued, then marked failed.
A delivered or failed delivery can be replayed (`replay`): queued again with 24 hours anew.

The request follows Standard Webhooks (https://www.standardwebhooks.com/): headers
`webhook-id` (stable across retries), `webhook-timestamp` (Unix seconds of this attempt) and
`webhook-signature` = "v1," + base64(HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")),
the secret being "whsec_" + base64 of its bytes.

Payloads (JSON, documented in docs/WEBHOOKS.md): {"type", "timestamp", "data"}, where data holds
ids, the status and public fields; personal data (the candidate's name) only in deliveries
to the booth's own endpoints, which its recruiters' pages show anyway.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import random
import secrets
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import ColumnElement, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import clock, db, permissions, settings
from fair.errors import Conflict, Invalid, NotFound
from fair.i18n import N_
from fair.models import (
    Application,
    Booth,
    Edition,
    Interview,
    Offer,
    User,
    Webconference,
    WebconferenceRegistration,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger("fair.webhooks")

# The event types, with their English labels (msgids).
EVENTS: dict[str, str] = {
    "application.submitted": N_("Application submitted"),
    "application.status_changed": N_("Application status changed"),
    "interview.booked": N_("Interview booked"),
    "interview.moved": N_("Interview moved"),
    "interview.cancelled": N_("Interview cancelled"),
    "webconference.registration": N_("Webconference registration"),
    "booth.approved": N_("Booth approved"),
    "offer.published": N_("Offer published"),
    "offer.closed": N_("Offer closed"),
}
RETRY_WINDOW = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)  # then doubled on each failure, up to MAX_RETRY
MAX_RETRY = timedelta(hours=2)
BATCH = 100  # deliveries claimed per round
CONCURRENCY = 10  # posts in flight at once
MAX_URL = 500  # WebhookEndpoint.url
LOG_PAGE = 50
_LOOPBACK_NAMES = {"localhost", "localhost."}
_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
    weakref.WeakKeyDictionary()
)


# Endpoints ------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def check_url(url: str) -> str:
    """The URL, stripped, if deliveries may go there: HTTPS; plain HTTP only to a loopback host
    in development and tests (a local receiver). Raises Invalid with a clear message."""
    url = url.strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if len(url) > MAX_URL or not host or parts.scheme not in {"https", "http"}:
        _refuse("Enter a full URL starting with https://, 500 characters at most.")
    if parts.username or parts.password:
        _refuse("The URL must not hold a user name or password.")
    if parts.scheme == "http":
        if settings.get().env not in {"development", "test"} or not _loopback(host):
            _refuse("The URL must start with https:// (plain http only to this machine in tests).")
    return url


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(text: str) -> None:
    raise Invalid(text, code="webhook.bad_url", fields={"url": text})


def check_events(events: list[str]) -> list[str]:
    chosen = [event for event in EVENTS if event in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        text = "Choose at least one event among those listed."
        raise Invalid(text, code="webhook.bad_events", fields={"events": text})
    return chosen


async def require_manager(session: AsyncSession, user: User, endpoint: WebhookEndpoint) -> None:
    """Organisers of its edition manage an edition's endpoint; members of its booth a booth's."""
    if endpoint.booth_id is None:
        edition = await session.get(Edition, endpoint.edition_id)
        assert edition is not None
        await permissions.require_organiser(session, user, edition)
    else:
        booth = await session.get(Booth, endpoint.booth_id)
        assert booth is not None
        await permissions.require_booth_member(session, user, booth)


async def create(
    session: AsyncSession,
    *,
    by: User,
    edition_id: int,
    booth_id: int | None,
    url: str,
    events: list[str],
) -> WebhookEndpoint:
    """A new active endpoint with a fresh secret (the caller checked `by` may manage it)."""
    endpoint = WebhookEndpoint(
        edition_id=edition_id,
        booth_id=booth_id,
        url=check_url(url),
        events=check_events(events),
        secret=new_secret(),
        active=True,
        created_at=clock.now(),
        created_by_id=by.id,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def update_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, *, url: str, events: list[str]
) -> None:
    endpoint.url = check_url(url)
    endpoint.events = check_events(events)
    await session.flush()


async def set_active(session: AsyncSession, endpoint: WebhookEndpoint, active: bool) -> None:
    """Pause (its deliveries wait, new events are not queued) or resume an endpoint."""
    endpoint.active = active
    await session.flush()
    if active:
        db.after_commit(session, _wake)


async def delete(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await session.delete(endpoint)
    await session.flush()


async def get_endpoint(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("This webhook does not exist.", code="webhook.not_found")
    return endpoint


async def endpoints_of(
    session: AsyncSession, *, edition_id: int, booth_id: int | None
) -> list[WebhookEndpoint]:
    """An edition's own endpoints (booth_id None) or a booth's."""
    owner = (
        WebhookEndpoint.booth_id.is_(None)
        if booth_id is None
        else WebhookEndpoint.booth_id == booth_id
    )
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.edition_id == edition_id, owner)
        .order_by(WebhookEndpoint.id)
    )
    return list(rows)


async def deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, *, before: int | None = None
) -> list[WebhookDelivery]:
    """A page of the endpoint's deliveries, latest first (LOG_PAGE + 1 read: is there more?)."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(LOG_PAGE + 1))
    return list(rows)


async def replay(session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: int) -> None:
    """Queue a delivered or failed delivery again (same webhook-id), with 24 hours of retries."""
    delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound("This delivery does not exist.", code="webhook.delivery_not_found")
    if delivery.delivered_at is None and delivery.failed_at is None:
        raise Conflict("This delivery is still being tried.", code="webhook.pending")
    now = clock.now()
    delivery.delivered_at = None
    delivery.failed_at = None
    delivery.queued_at = now
    delivery.next_attempt_at = None
    await session.flush()
    db.after_commit(session, _wake)


# Queuing events (in the caller's transaction) ---------------------------------------------------


async def queue(
    session: AsyncSession,
    event: str,
    *,
    edition_id: int | None,
    booth_id: int | None,
    data: dict[str, Any],
    candidate_id: int | None = None,
) -> int:
    """Write a delivery of `event` for every active endpoint subscribed to it: the edition's
    (`edition_id`, else the booth's edition) and the booth's, which also get the candidate's id
    and name (`candidate_id`) in data; returns how many. One query when nobody listens."""
    if edition_id is None:
        assert booth_id is not None
        edition: Any = select(Booth.edition_id).where(Booth.id == booth_id).scalar_subquery()
    else:
        edition = edition_id
    owners: ColumnElement[bool] = WebhookEndpoint.booth_id.is_(None)
    if booth_id is not None:
        owners = or_(owners, WebhookEndpoint.booth_id == booth_id)
    endpoints = await session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.edition_id == edition, WebhookEndpoint.active, owners
        )
    )
    chosen = [endpoint for endpoint in endpoints if event in endpoint.events]
    if not chosen:
        return 0
    personal: dict[str, Any] = {}
    if candidate_id is not None and any(e.booth_id is not None for e in chosen):
        candidate = await session.get(User, candidate_id)
        assert candidate is not None
        personal = {"candidate": {"id": candidate.id, "name": candidate.name}}
    now = clock.now()
    rows = []
    for endpoint in chosen:
        payload = data if endpoint.booth_id is None else {**data, **personal}
        body = {"type": event, "timestamp": now.isoformat(), "data": payload}
        rows.append(
            {
                "endpoint_id": endpoint.id,
                "message_id": f"msg_{uuid.uuid4().hex}",
                "event": event,
                "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                "created_at": now,
                "queued_at": now,
                "attempts": 0,
                "last_error": "",
            }
        )
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
        db.after_commit(session, _wake)
    return len(rows)


async def application_event(
    session: AsyncSession, event: str, application: Application, *, previous: str | None = None
) -> None:
    """application.submitted or application.status_changed (with the previous status)."""
    data: dict[str, Any] = {
        "application_id": application.id,
        "offer_id": application.offer_id,
        "booth_id": application.booth_id,
        "edition_id": application.edition_id,
        "status": application.status,
    }
    if previous is not None:
        data["previous_status"] = previous
    await queue(
        session,
        event,
        edition_id=application.edition_id,
        booth_id=application.booth_id,
        data=data,
        candidate_id=application.candidate_id,
    )


async def interview_event(session: AsyncSession, event: str, interview: Interview) -> None:
    """interview.booked, interview.moved or interview.cancelled."""
    data = {
        "interview_id": interview.id,
        "booth_id": interview.booth_id,
        "status": interview.status,
        "mode": interview.mode,
        "starts_at": interview.starts_at.isoformat(),
        "ends_at": interview.ends_at.isoformat(),
    }
    await queue(
        session,
        event,
        edition_id=None,  # the booth's
        booth_id=interview.booth_id,
        data=data,
        candidate_id=interview.candidate_id,
    )


async def registration_event(
    session: AsyncSession, webconference: Webconference, registration: WebconferenceRegistration
) -> None:
    """webconference.registration: a seat or a place on the waiting list (no one's identity)."""
    data = {
        "webconference_id": webconference.id,
        "registration_id": registration.id,
        "edition_id": webconference.edition_id,
        "booth_id": webconference.booth_id,
        "status": registration.status,
    }
    await queue(
        session,
        "webconference.registration",
        edition_id=webconference.edition_id,
        booth_id=webconference.booth_id,
        data=data,
    )


async def booth_event(session: AsyncSession, booth: Booth) -> None:
    """booth.approved."""
    data = {
        "booth_id": booth.id,
        "edition_id": booth.edition_id,
        "employer_id": booth.employer_id,
        "status": booth.status,
    }
    await queue(
        session, "booth.approved", edition_id=booth.edition_id, booth_id=booth.id, data=data
    )


async def offer_event(session: AsyncSession, offer: Offer) -> None:
    """offer.published or offer.closed, after its `published` changed (or it was created)."""
    data = {
        "offer_id": offer.id,
        "booth_id": offer.booth_id,
        "edition_id": offer.edition_id,
        "title": offer.title,
        "contract": offer.contract,
        "commune": offer.commune,
        "postcode": offer.postcode,
        "published": offer.published,
    }
    event = "offer.published" if offer.published else "offer.closed"
    await queue(session, event, edition_id=offer.edition_id, booth_id=offer.booth_id, data=data)


# Delivery (the worker) --------------------------------------------------------------------------


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
    timeout = settings.get().webhook_timeout
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout) as client:
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
        if not outcome.ok:
            log.info("webhook delivery %s: %s", outcome.claimed.id, outcome.status or outcome.error)


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


def _wakeup() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    event = _wakeups.get(loop)
    if event is None:
        event = _wakeups[loop] = asyncio.Event()
    return event


async def _wake() -> None:
    _wakeup().set()


async def run_sender(maker: async_sessionmaker[AsyncSession], *, interval: float = 5.0) -> None:
    """Deliver whenever a commit queued deliveries, and every `interval` seconds."""
    wakeup = _wakeup()
    while True:
        try:
            await asyncio.wait_for(wakeup.wait(), timeout=interval)
        except TimeoutError:
            pass
        wakeup.clear()
        try:
            while (await _round(maker, BATCH))[1] == BATCH:
                pass  # a full batch: more may be due
        except Exception:  # keep the sender alive; the next round retries
            log.exception("webhook delivery failed")
