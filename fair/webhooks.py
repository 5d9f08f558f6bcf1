"""Webhooks: an edition's events told to its organisers' and recruiters' URLs, signed.

An endpoint belongs to an edition (its organisers': every event of the edition) or to one booth
(its recruiters': that booth's events only). The owning domain functions call the `*_event`
helpers below, which write one `WebhookDelivery` per subscribed active endpoint **in the
caller's transaction** (the outbox): a rolled-back change tells nobody.

The worker sends them (fair.webhook_delivery: signed as Standard Webhooks specifies, retried
with backoff for 24 hours, then marked failed). A delivered or failed delivery can be replayed
(`replay`): queued again with 24 hours anew.

Payloads (JSON, documented in docs/WEBHOOKS.md): {"type", "timestamp", "data"}, where data holds
ids, the status and public fields; personal data (the candidate's name) only in deliveries
to the booth's own endpoints, which its recruiters' pages show anyway.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, logs, permissions, settings, webhook_delivery
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
MAX_URL = 500  # WebhookEndpoint.url
LOG_PAGE = 50
_LOOPBACK_NAMES = {"localhost", "localhost."}


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
        _refuse(N_("Enter a full URL starting with https://, 500 characters at most."))
    if parts.username or parts.password:
        _refuse(N_("The URL must not hold a user name or password."))
    local = settings.get().env in {"development", "test"} and _loopback(host)
    if parts.scheme == "http" and not local:
        _refuse(N_("The URL must start with https:// (plain http only to this machine in tests)."))
    if not local and _internal(host):
        _refuse(N_("The URL must point to a public address, not a private or local one."))
    return url


def _internal(host: str) -> bool:
    """A loopback name, or an address that is not public (private, loopback, link-local…):
    an endpoint must not make the worker call into its own network. (A name that resolves to
    such an address is refused at delivery, when it is resolved: fair.outbound.)"""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


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
        db.after_commit(session, webhook_delivery.wake)


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
    db.after_commit(session, webhook_delivery.wake)


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
                "request_id": logs.current(),
            }
        )
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
        # With the request's id (fair.logs); the sender's lines name the same message ids,
        # which the receivers get too (the webhook-id header).
        log.info("webhook %s queued: %s", event, " ".join(str(r["message_id"]) for r in rows))
        db.after_commit(session, webhook_delivery.wake)
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
