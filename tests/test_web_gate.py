"""The admission gate on pages (fair.web.gate) for the gaps of issue 17 item 1: forms sent while
held, actions on an edition without its slug in the path, the admission cookie as an attacker
would try it, and the line's gauges in /metrics. On SQLite and PostgreSQL (the `conf` fixture),
each with the line of this process and the line in the real Redis (`app` below). Time moves
with fair.clock, never sleeps."""

from __future__ import annotations

import html
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from itsdangerous import Signer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    admission_gate,
    alerts,
    clock,
    db,
    i18n,
    interviews,
    participants,
    queues,
    settings,
    webconferences,
)
from fair.app import create_app
from fair.enums import QueueStatus, Role
from fair.models import (
    Application,
    Edition,
    EditionCandidate,
    Interview,
    JobAlert,
    NetworkApplication,
    Offer,
    QueueEntry,
    User,
    Webconference,
    WebconferenceRegistration,
)
from fair.web.gate import NotSent
from tests import factories as f
from tests import network_offers
from tests.conftest import Fetch, csrf, login

REDIS = "redis://127.0.0.1:6379/0"


@pytest_asyncio.fixture(params=["memory", "redis"])
async def app(request: pytest.FixtureRequest, conf: settings.Settings) -> AsyncIterator[object]:
    """The app with the line of this process (the embedded default), or with the line in the
    real Redis (BROADCAST_URL redis://, a namespace of this test's own)."""
    namespace = f"test-gate-{secrets.token_hex(4)}"
    if request.param == "redis":
        conf = replace(conf, broadcast_url=REDIS, broadcast_namespace=namespace)
    application = create_app(conf)
    try:
        async with application.router.lifespan_context(application):
            yield application
    finally:
        if request.param == "redis":
            redis = aioredis.from_url(REDIS)
            keys = [k async for k in redis.scan_iter(f"{namespace}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


@pytest.fixture(autouse=True)
def _fresh_gate() -> None:
    admission_gate.LOCAL.editions.clear()
    admission_gate.forget()


async def _person(
    session: AsyncSession, make_client: Any, edition: Edition | None
) -> tuple[httpx.AsyncClient, User]:
    """A candidate logged in, registered to `edition` (None: to none)."""
    candidate = await f.candidate(session)
    if edition is not None:
        await participants.register(session, edition_id=edition.id, user=candidate)
    await db.commit(session)
    client = make_client()
    await login(client, candidate.email, f.PASSWORD)
    return client, candidate


async def _full_fair(session: AsyncSession, make_client: Any) -> tuple[Edition, Offer]:
    """An edition open now with one active place, taken by a candidate who stays active; an
    offer, and a talk tomorrow."""
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser, admission_active_cap=1)
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    await webconferences.schedule(session, by=organiser, edition=edition, data=f.talk([organiser]))
    await db.commit(session)
    first, _ = await _person(session, make_client, edition)
    assert (await first.get(f"/e/{edition.slug}/my-fair")).status_code == 200
    return edition, offer


def _not_sent(num: int, waiting: int) -> str:
    message = (
        "The fair is full right now, so what you sent was not saved. You are number "
        "%(num)s in line, out of %(waiting)s. Go back: your browser keeps what you typed. Send "
        "it again once you are let in (the fair's waiting page tells you when)."
    )
    return i18n.gettext(message, "fr", num=num, waiting=waiting)


async def _applications(fetch: Fetch) -> int:
    return int(await fetch.scalar(select(func.count()).select_from(Application)))


async def test_a_form_sent_while_held_is_answered_503_and_sent_again_once_let_in(
    session: AsyncSession, make_client: Any, fetch: Fetch
) -> None:
    """Applying while the fair is full: not a redirect to the waiting page (the message typed
    would be lost), a 503 with Retry-After that says so in the candidate's language and their
    place; nothing written. The same form sent again once let in goes through."""
    edition, offer = await _full_fair(session, make_client)
    second, _ = await _person(session, make_client, edition)
    token = await csrf(second, f"/offers/{offer.id}")  # browsing stays open
    form = {"csrf_token": token, "message": "Disponible tout de suite."}
    held = await second.post(f"/offers/{offer.id}/apply", data=form)
    assert (held.status_code, held.headers["retry-after"]) == (503, "15")
    assert _not_sent(1, 1) in html.unescape(held.text)
    assert await _applications(fetch) == 0
    asked = await second.post(
        f"/offers/{offer.id}/apply", data=form, headers={"accept": "application/json"}
    )
    assert (asked.status_code, asked.headers["retry-after"]) == (503, "15")
    assert asked.json()["error"] == {"code": NotSent.code, "message": _not_sent(1, 1)}
    # The first goes quiet (10 minutes, the default idle): the place is the second's.
    clock.set_now(f.NOON + timedelta(minutes=11))
    sent = await second.post(f"/offers/{offer.id}/apply", data=form)
    assert (sent.status_code, sent.headers["location"]) == (303, "/me/applications")
    application = await fetch.scalar(select(Application))
    assert (application.offer_id, application.message) == (offer.id, "Disponible tout de suite.")
    assert admission_gate.COOKIE in second.cookies


async def test_acting_on_an_edition_without_its_slug_is_gated_by_that_edition(
    session: AsyncSession, make_client: Any, fetch: Fetch
) -> None:
    """Applying to an offer, joining a booth's queue and signing up for a talk register the
    candidate to its edition: their paths name the offer, the booth or the talk, not the
    edition. A candidate registered to another edition (or to none) was not gated there and
    skipped the line of a full fair."""
    edition, offer = await _full_fair(session, make_client)
    other = await f.edition(session)  # armed too (the default caps), far from full
    await db.commit(session)
    admission_gate.forget()  # the editions armed, read afresh (kept CACHE_SECONDS)
    outsider, candidate = await _person(session, make_client, other)
    token = await csrf(outsider, f"/offers/{offer.id}")
    applied = await outsider.post(f"/offers/{offer.id}/apply", data={"csrf_token": token})
    assert applied.status_code == 503
    assert _not_sent(1, 1) in html.unescape(applied.text)
    booth_id = offer.booth_id
    joined = await outsider.post(f"/booths/{booth_id}/queue/join", data={"csrf_token": token})
    assert joined.status_code == 503
    talk = await fetch.scalar(select(Webconference.id))
    signed_up = await outsider.post(f"/webconferences/{talk}/register", data={"csrf_token": token})
    assert signed_up.status_code == 503
    assert await _applications(fetch) == 0
    assert await fetch.scalar(select(func.count()).select_from(QueueEntry)) == 0
    seats = select(func.count()).select_from(WebconferenceRegistration)
    assert await fetch.scalar(seats) == 0
    registered = await fetch.scalars(
        select(EditionCandidate.edition_id).where(EditionCandidate.user_id == candidate.id)
    )
    assert registered == [other.id]


async def test_a_partner_s_offer_is_gated_by_its_own_edition_not_a_local_offer_s(
    session: AsyncSession, make_client: Any, fetch: Fetch
) -> None:
    """`/network/offers/{offer_id}/apply` names a partner's offer (a NetworkOffer), not one of
    this instance's offers: its id was read as an Offer's, so a local offer with the same id in
    another edition, armed but not engaged, let a held candidate of the full fair through."""
    edition, _offer = await _full_fair(session, make_client)
    other = await f.edition(session)  # armed too (the default caps), far from full
    booth, _recruiter = await f.booth(session, edition_=other)
    local = await f.offer(session, booth_=booth)
    partner = await network_offers.partner(session, edition, "Montluçon", "https://m.example")
    theirs = await network_offers.held(session, partner, 1, "Cariste", "Lattes", id=local.id)
    await db.commit(session)
    admission_gate.forget()  # the editions armed, read afresh (kept CACHE_SECONDS)
    second, _ = await _person(session, make_client, edition)
    page = await second.get(f"/network/offers/{theirs.id}")
    assert page.status_code == 303
    assert page.headers["location"].startswith(f"/e/{edition.slug}/waiting")
    token = await csrf(second, f"/offers/{local.id}")  # browsing stays open
    form = {"csrf_token": token, "message": "Disponible.", "consent": "1"}
    applied = await second.post(f"/network/offers/{theirs.id}/apply", data=form)
    assert (applied.status_code, applied.headers["retry-after"]) == (503, "15")
    assert _not_sent(1, 1) in html.unescape(applied.text)
    assert await fetch.scalar(select(func.count()).select_from(NetworkApplication)) == 0


async def test_a_candidate_held_in_a_fair_is_held_there_through_its_invitations_and_job_pages(
    session: AsyncSession, make_client: Any, fetch: Fetch
) -> None:
    """Booking an interview (/me/invitations/{invitation_id}/book) and the job report
    (/me/editions/{edition_id}/job) name the invitation and the edition, not the slug: their
    gate was the edition the cookie named, else the first armed edition the candidate was
    registered to. Registered to a calm fair too (its id the lower), a candidate held in the
    full one (no cookie), or let in to the calm one (its cookie), booked in the full fair past
    its line; both are now held there."""
    clock.set_now(f.NOON)
    calm = await f.edition(session)  # armed (the default caps), far from full, the lower id
    await db.commit(session)
    full, offer = await _full_fair(session, make_client)
    booth, recruiter = await f.booth(session, edition_=full)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=f.availability(recruiter)
    )
    people = []
    for _ in range(2):
        invitation, candidate = await f.invited(session, booth, recruiter)  # registers to `full`
        await participants.register(session, edition_id=calm.id, user=candidate)
        people.append((invitation, candidate))
    await db.commit(session)
    admission_gate.forget()  # the editions armed, read afresh (kept CACHE_SECONDS)
    clients = []
    for _invitation, candidate in people:
        client = make_client()
        await login(client, candidate.email, f.PASSWORD)
        clients.append(client)
    # The second is let in to the calm fair: its cookie.
    assert (await clients[1].get(f"/e/{calm.slug}/my-fair")).status_code == 200
    assert admission_gate.COOKIE in clients[1].cookies
    as_json = {"accept": "application/json"}
    for num, ((invitation, _), client) in enumerate(zip(people, clients, strict=True), 1):
        token = await csrf(client, f"/offers/{offer.id}")  # browsing stays open
        form = {"csrf_token": token, "slot": str(slots[0].id), "mode": "video"}
        booked = await client.post(
            f"/me/invitations/{invitation.id}/book", data=form, headers=as_json
        )
        assert (booked.status_code, booked.headers["retry-after"]) == (503, "15"), num
        assert booked.json()["error"] == {"code": NotSent.code, "message": _not_sent(num, num)}
        job = f"/me/editions/{full.id}/job"
        shown = await client.get(job)
        assert shown.status_code == 303, num
        assert shown.headers["location"].startswith(f"/e/{full.slug}/waiting"), num
        sent = await client.post(job, data={"csrf_token": token}, headers=as_json)
        assert (sent.status_code, sent.json()["error"]["code"]) == (503, NotSent.code), num
    assert await fetch.scalar(select(func.count()).select_from(Interview)) == 0
    # Their own pages, of no one edition, still pass the calm fair's gate (the second's cookie,
    # the first's registration).
    assert [(await c.get("/me/interviews")).status_code for c in clients] == [200, 200]


async def test_a_held_candidate_leaves_a_queue_and_stops_mails_without_waiting(
    session: AsyncSession, make_client: Any, fetch: Fetch
) -> None:
    """Leaving a booth's queue frees a place (the socket's queue.leave was never held, the
    page was); a mail's stop link, switching the alert on again from it, or stopping an alert
    from the site, must work during a surge. A candidate held in the full fair (their place
    gone) was sent to the waiting page or answered 503 by all four."""
    edition, offer = await _full_fair(session, make_client)
    held, candidate = await _person(session, make_client, edition)
    booth, _recruiter = await f.booth(session, edition_=edition)
    entry = await queues.join(session, candidate=candidate, booth=booth)  # joined before
    alert = await alerts.subscribe(session, candidate, kept={"edition_id": str(edition.id)})
    await db.commit(session)
    mine = await held.get(f"/e/{edition.slug}/my-fair")
    assert mine.headers["location"].startswith(f"/e/{edition.slug}/waiting")  # held
    token = await csrf(held, f"/offers/{offer.id}")  # browsing stays open
    left = await held.post(f"/booths/{booth.id}/queue/leave", data={"csrf_token": token})
    assert (left.status_code, left.headers["location"]) == (
        303,
        f"/e/{edition.slug}/booths/{booth.id}#desk",
    )
    assert (await fetch.get(QueueEntry, entry.id)).status == QueueStatus.LEFT
    link = f"/alerts/stop/{alerts.token(alert.id)}"
    assert (await held.get(link)).status_code == 200  # asks to confirm
    stopped = await held.post(link, data={"csrf_token": token})
    assert stopped.status_code == 200
    assert (await fetch.get(JobAlert, alert.id)).stopped_at is not None
    # "It was a mistake: switch it on again", the stopped page's button: the same link's
    # token, the candidate's own alert, nothing of the fair (was OWN: 503 while held).
    resumed = await held.post(
        f"/alerts/resume/{alerts.token(alert.id)}", data={"csrf_token": token}
    )
    assert resumed.status_code == 200
    assert (await fetch.get(JobAlert, alert.id)).stopped_at is None
    from_site = await held.post(f"/me/alerts/{alert.id}/stop", data={"csrf_token": token})
    assert (from_site.status_code, from_site.headers["location"]) == (303, "/me/offers-for-you")
    assert (await fetch.get(JobAlert, alert.id)).stopped_at is not None
    # Still held where it matters: their place in line is unchanged.
    status = (await held.get(f"/e/{edition.slug}/waiting/status")).json()
    assert (status["admitted"], status["position"]) == (False, 1)


async def test_a_candidate_let_in_to_one_fair_passes_their_own_pages_there_not_the_first_s(
    session: AsyncSession, make_client: Any, client: httpx.AsyncClient
) -> None:
    """A candidate registered to two armed fairs, the one with one place first (the lower id),
    let in to the calm one (a page there, on one device), opens their own pages (of no one
    edition) on another device, without that cookie. They were judged by the first fair: before
    anyone was there, they took its one place, unused (the next to come to it was held); once
    it was full, they were sent to its waiting page and put in its line. Now the calm fair
    they are let in to judges them (as their socket, fair.live.socket): its cookie on the
    answer, nothing taken in the first fair."""
    clock.set_now(f.NOON)
    small = await f.edition(session, admission_active_cap=1)
    calm = await f.edition(session)  # armed (the default caps), far from full
    await db.commit(session)
    assert small.id < calm.id
    admission_gate.forget()  # the editions armed, read afresh (kept CACHE_SECONDS)
    both = []
    for _ in range(2):
        device, candidate = await _person(session, make_client, small)
        await participants.register(session, edition_id=calm.id, user=candidate)
        await db.commit(session)
        assert (await device.get(f"/e/{calm.slug}/my-fair")).status_code == 200
        other_device = make_client()
        await login(other_device, candidate.email, f.PASSWORD)
        both.append((other_device, candidate))
    (early, _), (late, _) = both
    assert (await early.get("/me/interviews")).status_code == 200  # the small fair not engaged
    first, _ = await _person(session, make_client, small)
    assert (await first.get(f"/e/{small.slug}/my-fair")).status_code == 200  # its one place
    shown = await late.get("/me/interviews")  # the small fair full now
    assert shown.status_code == 200, shown.headers.get("location")
    for device, candidate in both:
        raw = device.cookies.get(admission_gate.COOKIE)
        gates = admission_gate.armed_cached(clock.now()) or []
        assert admission_gate.admitted_to(raw, candidate.id, gates, clock.now()) == calm.id
    text = (await client.get("/metrics")).text
    gauges = [g for g in text.splitlines() if g.startswith("fair_admission_")]
    for line in (
        f'fair_admission_active{{edition="{small.id}"}} 1.0',
        f'fair_admission_waiting{{edition="{small.id}"}} 0.0',
        f'fair_admission_active{{edition="{calm.id}"}} 2.0',
    ):
        assert line in gauges, (line, gauges)


async def test_the_admission_cookie_is_one_person_s_for_one_edition_and_signed(
    session: AsyncSession, make_client: Any
) -> None:
    """Replayed by another account, forged, or of another edition, the cookie lets nobody in;
    a person's second device shares their one place (several devices hold one place)."""
    edition, _offer = await _full_fair(session, make_client)
    mine = f"/e/{edition.slug}/my-fair"
    owner, owner_user = await _person(session, make_client, edition)
    clock.set_now(f.NOON + timedelta(minutes=11))  # the first went quiet: the owner's turn
    assert (await owner.get(mine)).status_code == 200
    cookie = owner.cookies[admission_gate.COOKIE]
    other, other_user = await _person(session, make_client, edition)
    now = clock.now()
    forged = Signer("not the secret key", salt="fair.admission")
    tries = {
        "replayed": cookie,
        "forged": forged.sign(f"{edition.id}.{other_user.id}.{int(now.timestamp())}").decode(),
        "another edition": admission_gate.token(edition.id + 1, other_user.id, now),
        "unsigned": f"{edition.id}.{other_user.id}.{int(now.timestamp())}",
    }
    for name, value in tries.items():
        other.cookies.set(admission_gate.COOKIE, value)
        held = await other.get(mine)
        assert held.status_code == 303, name
        assert held.headers["location"].startswith(f"/e/{edition.slug}/waiting"), name
    # The owner's second device: no cookie there, the same one place in the line.
    second_device = make_client()
    await login(second_device, owner_user.email, f.PASSWORD)
    assert (await second_device.get(mine)).status_code == 200
    status = (await other.get(f"/e/{edition.slug}/waiting/status")).json()
    assert (status["admitted"], status["position"], status["waiting"]) == (False, 1, 1)


async def test_the_line_s_gauges_show_in_metrics(
    session: AsyncSession, make_client: Any, client: httpx.AsyncClient
) -> None:
    """What an operator needs to see of each gated edition's line: engaged or not, active,
    waiting, the wait the last in line's page shows (was NaN until a pace was measured),
    the per-minute cap's tokens left, and the caps."""
    edition, _offer = await _full_fair(session, make_client)
    calm = await f.edition(session, admission_active_cap=100, admission_arrivals_per_minute=60)
    await db.commit(session)
    admission_gate.forget()  # the editions armed, read afresh (kept CACHE_SECONDS)
    visitor, _ = await _person(session, make_client, calm)
    assert (await visitor.get(f"/e/{calm.slug}/my-fair")).status_code == 200
    second, _ = await _person(session, make_client, edition)
    assert (await second.get(f"/e/{edition.slug}/my-fair")).status_code == 303  # waiting
    shown = (await second.get(f"/e/{edition.slug}/waiting/status")).json()["wait_seconds"]
    # the holder, seen now, could open a socket and leave: a round, then QUIET (90 s)
    assert shown == 90.0
    text = (await client.get("/metrics")).text
    full, free = f'{{edition="{edition.id}"}}', f'{{edition="{calm.id}"}}'
    default = settings.get().admission_arrivals_per_minute  # the full fair's: its bucket
    # holds 10 s of it, one taken
    gauges = [g for g in text.splitlines() if g.startswith("fair_admission_")]
    for line in (
        f"fair_admission_engaged{full} 1.0",
        f"fair_admission_engaged{free} 0.0",
        f"fair_admission_active{full} 1.0",
        f"fair_admission_waiting{full} 1.0",
        f"fair_admission_active{free} 1.0",
        f"fair_admission_waiting{free} 0.0",
        f"fair_admission_wait_seconds{full} {shown}",  # the last one's page's
        f"fair_admission_wait_seconds{free} 0.0",  # nobody waiting
        f"fair_admission_tokens{full} {default * 10 / 60 - 1}",
        f"fair_admission_tokens{free} 9.0",  # 10 s of 60 a minute, one used
        f"fair_admission_active_cap{full} 1.0",
        f"fair_admission_active_cap{free} 100.0",
        f"fair_admission_per_minute_cap{full} {float(default)}",
        f"fair_admission_per_minute_cap{free} 60.0",
    ):
        assert line in gauges, (line, gauges)


async def test_early_arrivals_who_closed_the_tab_are_let_in_at_opening_by_their_draw(
    session: AsyncSession, make_client: Any
) -> None:
    """Two candidates come 14 minutes before opening (one engages the gate: held, place drawn)
    and close the tab: no page asking, no socket. Their drawn places outlive the 2 minutes a
    waiter may go without asking: at opening they are let in ahead of a later arrival, who
    waits; they find themselves let in when they come back."""
    opens = f.NOON.replace(hour=0)  # its first live day opens at midnight
    clock.set_now(opens - timedelta(minutes=14))
    edition = await f.edition(session, admission_active_cap=2, live_first_day=opens.date())
    await db.commit(session)
    mine = f"/e/{edition.slug}/my-fair"
    early = [(await _person(session, make_client, edition))[0] for _ in range(2)]
    assert [(await c.get(mine)).status_code for c in early] == [200, 303]  # 2 of 2: engaged
    later, _ = await _person(session, make_client, edition)
    clock.set_now(opens + timedelta(minutes=1))
    assert (await later.get(mine)).status_code == 303
    clock.set_now(opens + timedelta(minutes=3))
    assert [(await c.get(mine)).status_code for c in early] == [200, 200]
    assert all(admission_gate.COOKIE in c.cookies for c in early)
    assert (await later.get(mine)).status_code == 303
