"""Webhooks (fair.webhooks): the outbox written with the change, signed deliveries to a real
receiver on loopback, retries with backoff for 24 hours, replay, pause, one delivery at once."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from fair import (
    applications,
    clock,
    db,
    interviews,
    offers,
    settings,
    webconferences,
    webhook_delivery,
    webhooks,
)
from fair.enums import ApplicationStatus, InterviewMode, Role
from fair.errors import Conflict, Invalid
from fair.models import WebhookAttempt, WebhookDelivery
from tests import factories as f
from tests.webhook_receiver import Receiver

START = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def short_timeout(request):  # type: ignore[no-untyped-def]
    """Receivers get 1 s (after the app, which installs its own settings): enough on a busy
    machine, short beside the hanging receiver's 2 s. They listen on loopback: private targets
    allowed (test_a_name_resolving_to_loopback_is_refused turns that off)."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app")
        conf = replace(settings.get(), webhook_timeout=1.0, webhook_private_targets=True)
        settings.override(conf)


async def test_a_name_resolving_to_loopback_is_refused(app, session, fetch):  # type: ignore[no-untyped-def]
    """A receiver's name is resolved at delivery: "localhost" (127.0.0.1) is not public, so
    nothing is posted unless FAIR_WEBHOOK_PRIVATE_TARGETS allows it; the address checked is
    the one connected to."""
    settings.override(replace(settings.get(), webhook_private_targets=False))
    with Receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        endpoint, booth_, _ = await _endpoint(session, url)
        receiver.secret = endpoint.secret
        await f.application(session, offer_=await f.offer(session, booth_=booth_))
        await db.commit(session)
        maker = app.state.write_sessions
        assert await webhook_delivery.deliver_due(maker) == 0
        [refused] = await _deliveries(fetch)
        assert receiver.received == []
        shown = refused.last_error.split(": ")
        assert (refused.last_status, shown[0], shown[1][: len("localhost resolves to ")]) == (
            None,
            "NotPublic",
            "localhost resolves to ",
        )
        assert "127.0.0.1" in shown[1] and shown[-1] == "not a public address"

        settings.override(replace(settings.get(), webhook_private_targets=True))
        clock.set_now(refused.next_attempt_at)
        assert await webhook_delivery.deliver_due(maker) == 1
    assert [(r.verified, r.answer) for r in receiver.received] == [(True, 200)]


async def _endpoint(session, url, *, events=("application.submitted",), booth=None):  # type: ignore[no-untyped-def]
    clock.set_now(START)
    edition = await f.edition(session)
    booth_, recruiter = booth or await f.booth(session, edition_=edition)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    endpoint = await webhooks.create(
        session,
        by=organiser,
        edition_id=booth_.edition_id,
        booth_id=None,
        url=url,
        events=list(events),
    )
    return endpoint, booth_, recruiter


async def _deliveries(fetch):  # type: ignore[no-untyped-def]
    return await fetch.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))


async def _attempts(fetch, delivery_id):  # type: ignore[no-untyped-def]
    rows = await fetch.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    )
    return [(a.at, a.status, a.error) for a in rows]


async def test_fails_times_out_then_delivers_once(app, session, fetch):  # type: ignore[no-untyped-def]
    with Receiver(script=[500, "hang"], hang=2.0) as receiver:
        endpoint, booth_, _ = await _endpoint(session, receiver.url)
        receiver.secret = endpoint.secret
        applied = await f.application(session, offer_=await f.offer(session, booth_=booth_))
        await db.commit(session)
        maker = app.state.write_sessions

        assert await webhook_delivery.deliver_due(maker) == 0  # 500
        [first] = await _deliveries(fetch)
        assert (first.attempts, first.last_status, first.last_error) == (1, 500, "HTTP 500")
        waited = first.next_attempt_at - START
        assert timedelta(seconds=15) <= waited <= timedelta(seconds=30)
        assert await webhook_delivery.deliver_due(maker) == 0  # not due yet: nothing posted
        assert len(receiver.received) == 1

        second_try = first.next_attempt_at
        clock.set_now(second_try)
        assert await webhook_delivery.deliver_due(maker) == 0  # the receiver hangs past 1 s
        [second] = await _deliveries(fetch)
        assert (second.attempts, second.last_status, second.last_error) == (2, None, "timeout")
        assert second_try + timedelta(seconds=30) <= second.next_attempt_at
        assert second.next_attempt_at <= second_try + timedelta(seconds=60)

        third_try = second.next_attempt_at
        clock.set_now(third_try)
        assert await webhook_delivery.deliver_due(maker) == 1
        clock.set_now(third_try + timedelta(days=2))
        assert await webhook_delivery.deliver_due(maker) == 0  # never twice
        await asyncio.sleep(1.2)  # the hung request's thread ends

    [done] = await _deliveries(fetch)
    assert (done.attempts, done.delivered_at, done.next_attempt_at, done.failed_at) == (
        3,
        third_try,
        None,
        None,
    )
    assert await _attempts(fetch, done.id) == [
        (START, 500, ""),
        (second_try, None, "timeout"),
        (third_try, 200, ""),
    ]
    stamps = [int(START.timestamp()), int(second_try.timestamp()), int(third_try.timestamp())]
    body = {
        "type": "application.submitted",
        "timestamp": START.isoformat(),
        "data": {
            "application_id": applied.id,
            "offer_id": applied.offer_id,
            "booth_id": booth_.id,
            "edition_id": booth_.edition_id,
            "status": "submitted",
        },  # the edition's endpoint: no candidate
    }
    assert [
        (r.webhook_id, r.timestamp, r.body, r.verified, r.answer) for r in receiver.received
    ] == [
        (done.message_id, stamps[0], body, True, 500),
        (done.message_id, stamps[1], body, True, "hang"),
        (done.message_id, stamps[2], body, True, 200),
    ]


async def test_a_wrong_secret_does_not_verify(app, session):  # type: ignore[no-untyped-def]
    with Receiver() as receiver:
        endpoint, booth_, _ = await _endpoint(session, receiver.url)
        receiver.secret = webhooks.new_secret()
        await f.application(session, offer_=await f.offer(session, booth_=booth_))
        await db.commit(session)
        assert await webhook_delivery.deliver_due(app.state.write_sessions) == 1
    assert [r.verified for r in receiver.received] == [False]
    assert endpoint.secret.startswith("whsec_") and endpoint.secret != receiver.secret


async def test_failed_after_24_hours_then_replayed(app, session, fetch):  # type: ignore[no-untyped-def]
    with Receiver(default=503) as receiver:
        endpoint, booth_, _ = await _endpoint(session, receiver.url)
        receiver.secret = endpoint.secret
        await f.application(session, offer_=await f.offer(session, booth_=booth_))
        await db.commit(session)
        maker = app.state.write_sessions
        assert await webhook_delivery.deliver_due(maker) == 0
        tries = 1
        while (delivery := (await _deliveries(fetch))[0]).failed_at is None:
            clock.set_now(delivery.next_attempt_at)
            await webhook_delivery.deliver_due(maker)
            tries += 1
        deadline = START + timedelta(hours=24)
        assert (delivery.failed_at, delivery.next_attempt_at, delivery.attempts) == (
            deadline,
            None,
            tries,
        )
        # Backoff: about 30 s doubled each time up to 2 h (with jitter): 20 to 30 tries.
        assert 20 <= tries <= 30
        assert len(receiver.received) == tries
        times = [at for at, _, _ in await _attempts(fetch, delivery.id)]
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert max(gaps) <= timedelta(hours=2) and times[-1] == deadline

        # Replay: queued again with 24 hours anew; the receiver is back.
        receiver.default = 200
        clock.set_now(deadline + timedelta(hours=1))
        async with db.unit_of_work(maker) as s:
            await webhooks.replay(s, endpoint, delivery.id)
        async with db.unit_of_work(maker) as s:
            with pytest.raises(Conflict) as refused:  # still pending: not replayed twice
                await webhooks.replay(s, endpoint, delivery.id)
            assert refused.value.code == "webhook.pending"
        assert await webhook_delivery.deliver_due(maker) == 1
    [replayed] = await _deliveries(fetch)
    assert (replayed.delivered_at, replayed.failed_at, replayed.attempts) == (
        deadline + timedelta(hours=1),
        None,
        tries + 1,
    )
    assert [r.answer for r in receiver.received] == [503] * tries + [200]
    assert {r.webhook_id for r in receiver.received} == {replayed.message_id}


async def test_pausing_stops_deliveries(app, session, fetch):  # type: ignore[no-untyped-def]
    with Receiver() as receiver:
        endpoint, booth_, _ = await _endpoint(session, receiver.url)
        offer = await f.offer(session, booth_=booth_)
        await f.application(session, offer_=offer)
        await db.commit(session)
        maker = app.state.write_sessions
        async with db.unit_of_work(maker) as s:
            await webhooks.set_active(s, await webhooks.get_endpoint(s, endpoint.id), False)
        assert await webhook_delivery.deliver_due(maker) == 0
        async with db.unit_of_work(maker) as s:  # nothing queued while paused
            await f.application(s, offer_=offer)
        assert len(await _deliveries(fetch)) == 1
        assert receiver.received == []
        async with db.unit_of_work(maker) as s:
            await webhooks.set_active(s, await webhooks.get_endpoint(s, endpoint.id), True)
        assert await webhook_delivery.deliver_due(maker) == 1
    assert len(receiver.received) == 1


async def test_the_outbox_row_is_written_and_rolled_back_with_the_change(app, session, fetch):  # type: ignore[no-untyped-def]
    endpoint, booth_, _ = await _endpoint(session, "https://hooks.example.fr/fair")
    offer = await f.offer(session, booth_=booth_)
    candidate = await f.candidate(session)
    await db.commit(session)
    maker = app.state.write_sessions
    with pytest.raises(RuntimeError):
        async with db.unit_of_work(maker) as s:
            await applications.apply(s, candidate=candidate, offer=offer, message="")
            queued = await s.scalar(select(func.count()).select_from(WebhookDelivery))
            assert queued == 1  # in this transaction
            raise RuntimeError("the change fails after the event was queued")
    assert await _deliveries(fetch) == []
    assert await fetch.scalar(select(func.count()).select_from(WebhookAttempt)) == 0
    async with db.unit_of_work(maker) as s:
        applied = await applications.apply(s, candidate=candidate, offer=offer, message="")
    [delivery] = await _deliveries(fetch)
    assert (delivery.endpoint_id, delivery.event, delivery.attempts) == (
        endpoint.id,
        "application.submitted",
        0,
    )
    assert f'"application_id":{applied.id},' in delivery.body


async def test_every_event_reaches_the_edition_and_the_booth(app, session, fetch):  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=organiser)
    everything = list(webhooks.EVENTS)
    ours = await webhooks.create(
        session,
        by=organiser,
        edition_id=edition.id,
        booth_id=None,
        url="https://partner.example.fr/hooks",
        events=everything,
    )
    booth_, recruiter = await f.booth(session, edition_=edition)
    theirs = await webhooks.create(
        session,
        by=recruiter,
        edition_id=edition.id,
        booth_id=booth_.id,
        url="https://ats.example.fr/hooks",
        events=everything,
    )
    other_booth, _ = await f.booth(session, edition_=edition)
    await webhooks.create(  # another booth's endpoint hears nothing of this booth
        session,
        by=recruiter,
        edition_id=edition.id,
        booth_id=other_booth.id,
        url="https://other.example.fr/hooks",
        events=everything,
    )
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth_, data=f.availability(recruiter)
    )
    offer = await f.offer(session, booth_=booth_)
    candidate = await f.candidate(session, name="Léa Martin")
    applied = await f.application(session, offer_=offer, candidate_=candidate)
    await applications.set_status(session, applied, ApplicationStatus.SHORTLISTED, by=recruiter)
    invitation = await interviews.invite(session, by=recruiter, application=applied)
    booked = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[0], mode=InterviewMode.VIDEO
    )
    await interviews.reschedule(
        session, by=candidate, interview=booked, slot=slots[1], reason="Retard"
    )
    await interviews.cancel(session, by=candidate, interview=booked, reason="Empêchement")
    await offers.set_published(session, offer, False)
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser])
    )
    await webconferences.register(session, candidate=candidate, webconference=talk)
    await db.commit(session)

    rows = await _deliveries(fetch)
    assert {row.endpoint_id for row in rows} == {ours.id, theirs.id}
    edition_events = [row.event for row in rows if row.endpoint_id == ours.id]
    booth_events = [row.event for row in rows if row.endpoint_id == theirs.id]
    assert edition_events == [
        "booth.approved",
        "booth.approved",
        "offer.published",
        "application.submitted",
        "application.status_changed",  # shortlisted
        "application.status_changed",  # interview proposed
        "application.status_changed",  # interview scheduled
        "interview.booked",
        "interview.moved",
        "application.status_changed",  # interview proposed again
        "interview.cancelled",
        "offer.closed",
        "webconference.registration",
    ]
    # The booth's endpoint was made after its approval; the organisers' talk is not the booth's.
    assert booth_events == edition_events[2:-1]
    by_event = {(row.endpoint_id, row.event): row for row in rows}
    booth_booked = json.loads(by_event[(theirs.id, "interview.booked")].body)
    edition_booked = json.loads(by_event[(ours.id, "interview.booked")].body)
    assert booth_booked["data"] == {
        "interview_id": booked.id,
        "booth_id": booth_.id,
        "status": "booked",
        "mode": "video",
        "starts_at": slots[0].starts_at.isoformat(),
        "ends_at": slots[0].ends_at.isoformat(),
        "candidate": {"id": candidate.id, "name": "Léa Martin"},
    }
    assert edition_booked["data"] == {
        k: v for k, v in booth_booked["data"].items() if k != "candidate"
    }
    assert json.loads(by_event[(ours.id, "offer.closed")].body) == {
        "type": "offer.closed",
        "timestamp": f.NOON.astimezone(UTC).isoformat(),
        "data": {
            "offer_id": offer.id,
            "booth_id": booth_.id,
            "edition_id": edition.id,
            "title": "Électricien du bâtiment (H/F)",
            "contract": "cdi",
            "commune": "Montpellier",
            "postcode": "34000",
            "published": False,
        },
    }


async def test_two_workers_never_post_one_delivery_twice(app, session, fetch):  # type: ignore[no-untyped-def]
    with Receiver() as receiver:
        _endpoint_, booth_, _ = await _endpoint(session, receiver.url)
        offer = await f.offer(session, booth_=booth_)
        for _ in range(24):
            await f.application(session, offer_=offer, can_log_in=False)
        await db.commit(session)
        maker = app.state.write_sessions
        settings.override(replace(settings.get(), webhook_timeout=10.0))  # no retry wanted
        delivered = await asyncio.gather(
            *(webhook_delivery.deliver_due(maker, limit=5) for _ in range(4))
        )
        while (more := await webhook_delivery.deliver_due(maker, limit=5)) > 0:
            delivered.append(more)
    ids = [r.webhook_id for r in receiver.received]
    assert (sum(delivered), len(ids), len(set(ids))) == (24, 24, 24)
    assert await fetch.scalar(select(func.count()).select_from(WebhookAttempt)) == 24


@pytest.mark.parametrize(
    ("env", "url", "refused"),
    [
        ("production", "https://hooks.example.fr/fair?x=1", None),
        ("production", "http://127.0.0.1:8080/hook", "https"),
        ("production", "https://127.0.0.1:8080/hook", "public"),
        ("production", "https://localhost/hook", "public"),
        ("production", "https://10.1.2.3/hook", "public"),
        ("production", "https://[fe80::1]/hook", "public"),
        ("test", "https://192.168.1.10/hook", "public"),
        ("production", "https://93.184.216.34/hook", None),
        ("test", "http://127.0.0.1:8080/hook", None),
        ("development", "http://localhost/hook", None),
        ("development", "http://[::1]:9000/hook", None),
        ("test", "http://hooks.example.fr/", "https"),
        ("test", "ftp://hooks.example.fr/", "full"),
        ("test", "https://user:pw@hooks.example.fr/", "password"),
        ("test", "https:///nohost", "full"),
    ],
)
def test_urls_checked_at_the_boundary(conf, env, url, refused):  # type: ignore[no-untyped-def]
    settings.override(replace(conf, env=env))
    if refused is None:
        assert webhooks.check_url(f"  {url} ") == url
        return
    with pytest.raises(Invalid) as error:
        webhooks.check_url(url)
    assert error.value.code == "webhook.bad_url"
    assert refused in error.value.fields["url"]


def test_events_checked() -> None:
    assert webhooks.check_events(["offer.closed", "booth.approved"]) == [
        "booth.approved",
        "offer.closed",
    ]
    for wrong in ([], ["offer.closed", "nope"]):
        with pytest.raises(Invalid) as error:
            webhooks.check_events(wrong)
        assert error.value.code == "webhook.bad_events"


def test_signature_follows_the_standard_webhooks_example() -> None:
    """The example of the Standard Webhooks specification (its reference libraries' test)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    assert (
        webhook_delivery.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


async def test_a_redirect_is_not_followed(app, session, fetch):  # type: ignore[no-untyped-def]
    """A 3xx is a failure to retry (redirects could lead the worker anywhere)."""
    with Receiver(script=[302]) as receiver:
        _endpoint_, booth_, _ = await _endpoint(session, receiver.url)
        await f.application(session, offer_=await f.offer(session, booth_=booth_))
        await db.commit(session)
        assert await webhook_delivery.deliver_due(app.state.write_sessions) == 0
    [delivery] = await _deliveries(fetch)
    assert (delivery.attempts, delivery.last_status, delivery.last_error) == (1, 302, "HTTP 302")
    assert [r.answer for r in receiver.received] == [302]
