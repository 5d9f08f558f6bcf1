"""Webconferences (fair.webconferences and fair.web.webconferences) on SQLite and PostgreSQL:
scheduling, registrations with capacity and waiting list, calendars, reminders, pages."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, editions, webconferences, worker
from fair.enums import (
    RegistrationStatus,
    Role,
    WebconferenceStatus,
)
from fair.errors import FairError
from fair.models import (
    Edition,
    OutboxMail,
    User,
    Webconference,
    WebconferenceRegistration,
)
from fair.webconferences import mail as webconference_mail
from tests import factories as f
from tests.factories import NOON, TOMORROW, talk
from tests.pages import person, post, text_of
from tests.refusals import code_of
from tests.statements import cold


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


async def fields_of(awaitable) -> set[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(FairError) as raised:
        await awaitable
    return set(raised.value.fields)


async def organised(session: AsyncSession, **kw: object) -> tuple[Edition, User]:
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser, **kw)
    return edition, organiser


async def scheduled(session: AsyncSession, **kw: object) -> tuple[Webconference, User]:
    edition, organiser = await organised(session)
    webconference = await webconferences.schedule(
        session, by=organiser, edition=edition, data=talk([organiser], **kw)
    )
    return webconference, organiser


async def outbox(session: AsyncSession, to: str) -> list[OutboxMail]:
    rows = await session.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == to).order_by(OutboxMail.id)
    )
    return list(rows)


def vevent(mail: OutboxMail):  # type: ignore[no-untyped-def]
    assert mail.calendar is not None
    cal = Calendar.from_ical(mail.calendar)
    return str(cal["method"]), next(iter(cal.walk("VEVENT")))


# Scheduling ------------------------------------------------------------------------------------


async def test_organisers_and_booth_recruiters_schedule(session: AsyncSession) -> None:
    edition, organiser = await organised(session)
    webconference = await webconferences.schedule(
        session, by=organiser, edition=edition, data=talk([organiser])
    )
    assert (webconference.status, webconference.sequence, webconference.booth_id) == (
        WebconferenceStatus.SCHEDULED,
        0,
        None,
    )
    assert webconference.uid.endswith("@fair") and webconference.edition_id == edition.id
    assert webconference.starts_at == f.day_at(TOMORROW, 10)
    assert await webconferences.presenters_of(session, webconference.id) == [organiser.id]

    booth, recruiter = await f.booth(session, edition_=edition)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    theirs = await webconferences.schedule(
        session,
        by=colleague,
        edition=edition,
        booth=booth,
        data=talk([recruiter, colleague, organiser], capacity=5000),
    )
    assert theirs.booth_id == booth.id
    assert await webconferences.presenters_of(session, theirs.id) == [
        recruiter.id,
        colleague.id,
        organiser.id,
    ]
    listed = await webconferences.of_edition(session, edition.id)
    assert [w.id for w in listed] == [webconference.id, theirs.id]
    assert [
        w.id for w in await webconferences.of_edition(session, edition.id, booth_id=booth.id)
    ] == [theirs.id]

    # Who may not: another booth's recruiter, a recruiter without a booth, a candidate, another
    # edition's organiser; an unapproved booth waits for the organiser.
    other_booth, stranger = await f.booth(session, edition_=edition)
    candidate = (await f.candidate_accounts(session, 1))[0]
    other_organiser = await f.user(session, Role.ORGANISER)
    refused = [
        (stranger, booth),
        (stranger, None),
        (candidate, None),
        (other_organiser, None),
    ]
    for by, where in refused:
        assert (
            await code_of(
                webconferences.schedule(
                    session, by=by, edition=edition, booth=where, data=talk([organiser])
                )
            )
            == "fair.forbidden"
        )
    waiting_booth, newcomer = await f.booth(session, edition_=edition, approve=False)
    assert (
        await code_of(
            webconferences.schedule(
                session, by=newcomer, edition=edition, booth=waiting_booth, data=talk([newcomer])
            )
        )
        == "webconference.booth_not_approved"
    )
    # Presenters come from the booth's team or the organisers only.
    for presenters in ([stranger], [candidate], [], [recruiter, colleague, organiser, recruiter]):
        assert await fields_of(
            webconferences.schedule(
                session, by=recruiter, edition=edition, booth=booth, data=talk(presenters)
            )
        ) == {"presenters"}
    assert other_booth.id != booth.id


async def test_scheduling_validation(session: AsyncSession) -> None:
    edition, organiser = await organised(session, opens=time(9, 0), closes=time(18, 0))

    async def errors(**kw: object) -> set[str]:
        return await fields_of(
            webconferences.schedule(
                session, by=organiser, edition=edition, data=talk([organiser], **kw)
            )
        )

    assert await errors(
        title="  ",
        description="x" * 5001,
        ends_at=f.day_at(TOMORROW, 10) + timedelta(minutes=5),
        capacity=0,
        presenter_ids=[],
    ) == {"title", "description", "ends_at", "capacity", "presenters"}
    assert await errors(title="x" * 201, capacity=5001) == {"title", "capacity"}
    assert await errors(ends_at=f.day_at(TOMORROW, 9)) == {"ends_at"}
    assert await errors(ends_at=f.day_at(TOMORROW, 14) + timedelta(minutes=1)) == {"ends_at"}
    # Outside the live days, or the opening hours (09:00-18:00), or in the past.
    assert await errors(
        starts_at=f.day_at(date(2026, 3, 20), 10), ends_at=f.day_at(date(2026, 3, 20), 11)
    ) == {"starts_at"}
    assert await errors(
        starts_at=f.day_at(TOMORROW, 17), ends_at=f.day_at(TOMORROW, 18) + timedelta(minutes=30)
    ) == {"starts_at"}
    assert await errors(starts_at=f.day_at(TOMORROW, 8), ends_at=f.day_at(TOMORROW, 9)) == {
        "starts_at"
    }
    assert await errors(starts_at=f.day_at(NOON.date(), 10), ends_at=f.day_at(NOON.date(), 11)) == {
        "starts_at"
    }
    # The limits themselves are fine: 15 and 240 minutes, 1 and 5,000 seats, 200 characters.
    for minutes, capacity in ((15, 1), (240, 5000)):
        created = await webconferences.schedule(
            session,
            by=organiser,
            edition=edition,
            data=talk(
                [organiser],
                title="x" * 200,
                ends_at=f.day_at(TOMORROW, 10) + timedelta(minutes=minutes),
                capacity=capacity,
            ),
        )
        assert created.capacity == capacity


# Registrations ---------------------------------------------------------------------------------


async def test_capacity_waiting_list_promotion_and_calendars(session: AsyncSession) -> None:
    webconference, organiser = await scheduled(session)
    a, b, c, d = await f.candidate_accounts(session, 4)
    registrations = [
        await webconferences.register(session, candidate=person, webconference=webconference)
        for person in (a, b, c, d)
    ]
    assert [r.status for r in registrations] == ["registered", "registered", "waiting", "waiting"]
    assert [await webconferences.waiting_position(session, r) for r in registrations[2:]] == [1, 2]
    # Registering again returns the same registration.
    again = await webconferences.register(session, candidate=a, webconference=webconference)
    assert again.id == registrations[0].id

    # The registered get an invitation for themselves; the waiting a message without one.
    [mail_a] = await outbox(session, a.email)
    method, event = vevent(mail_a)
    uid_a = f"r{registrations[0].id}-{webconference.uid}"
    assert (method, str(event["uid"]), int(event["sequence"])) == ("REQUEST", uid_a, 0)
    assert event["dtstart"].dt == f.day_at(TOMORROW, 10)
    assert [str(x).removeprefix("mailto:") for x in [event["attendee"]]] == [a.email]
    assert f"/webconferences/{webconference.id}" in str(event["location"])
    [mail_c] = await outbox(session, c.email)
    assert mail_c.calendar is None and "n° 1 sur la liste d'attente" in mail_c.body

    # A seat freed: its holder gets a CANCEL (same UID, SEQUENCE up), the first waiting the seat.
    await webconferences.unregister(session, candidate=a, webconference=webconference)
    method, event = vevent((await outbox(session, a.email))[-1])
    assert (method, str(event["uid"]), int(event["sequence"])) == ("CANCEL", uid_a, 1)
    assert str(event["status"]) == "CANCELLED"
    method, event = vevent((await outbox(session, c.email))[-1])
    assert (method, str(event["uid"])) == ("REQUEST", f"r{registrations[2].id}-{webconference.uid}")
    statuses = await session.scalars(
        select(WebconferenceRegistration.status)
        .where(WebconferenceRegistration.webconference_id == webconference.id)
        .order_by(WebconferenceRegistration.id)
    )
    assert list(statuses) == ["cancelled", "registered", "registered", "waiting"]
    assert await webconferences.waiting_position(session, registrations[3]) == 1

    # Leaving the waiting list sends nothing and promotes nobody; a second time is refused.
    await webconferences.unregister(session, candidate=d, webconference=webconference)
    assert len(await outbox(session, d.email)) == 1
    assert (
        await code_of(webconferences.unregister(session, candidate=d, webconference=webconference))
        == "webconference.not_registered"
    )
    # Registering again after unregistering: a new registration, hence a new UID.
    back = await webconferences.register(session, candidate=a, webconference=webconference)
    assert back.id != registrations[0].id and back.status == RegistrationStatus.WAITING
    assert (
        await code_of(
            webconferences.register(session, candidate=organiser, webconference=webconference)
        )
        == "webconference.not_candidate"
    )


async def test_update_and_cancel_tell_the_registered(session: AsyncSession) -> None:
    webconference, organiser = await scheduled(session, capacity=1)
    a, b = await f.candidate_accounts(session, 2)
    first = await webconferences.register(session, candidate=a, webconference=webconference)
    second = await webconferences.register(session, candidate=b, webconference=webconference)
    assert second.status == RegistrationStatus.WAITING

    moved = talk(
        [organiser],
        starts_at=f.day_at(TOMORROW, 14),
        ends_at=f.day_at(TOMORROW, 15),
        capacity=2,
    )
    await webconferences.update(session, by=organiser, webconference=webconference, data=moved)
    assert webconference.sequence == 1 and webconference.starts_at == f.day_at(TOMORROW, 14)
    method, event = vevent((await outbox(session, a.email))[-1])
    assert (method, str(event["uid"]), int(event["sequence"])) == (
        "REQUEST",
        webconference_mail.registration_uid(webconference, first),
        1,
    )
    assert event["dtstart"].dt == f.day_at(TOMORROW, 14)
    assert second.status == RegistrationStatus.REGISTERED  # the new seat went to the waiting
    method, event = vevent((await outbox(session, b.email))[-1])
    assert (method, int(event["sequence"])) == ("REQUEST", 1)
    # A description alone changes nothing in calendars; fewer seats than registered is refused.
    sent = len(await outbox(session, a.email))
    moved.description = "Autre description"
    await webconferences.update(session, by=organiser, webconference=webconference, data=moved)
    assert webconference.sequence == 1 and len(await outbox(session, a.email)) == sent
    moved.capacity = 1
    assert await fields_of(
        webconferences.update(session, by=organiser, webconference=webconference, data=moved)
    ) == {"capacity"}

    edition = await editions.get(session, webconference.edition_id)
    _booth, stranger = await f.booth(session, edition_=edition)
    assert (
        await code_of(webconferences.cancel(session, by=stranger, webconference=webconference))
        == "webconference.forbidden"
    )
    await webconferences.cancel(session, by=organiser, webconference=webconference)
    assert (webconference.status, webconference.sequence) == (WebconferenceStatus.CANCELLED, 2)
    for registered in (a, b):
        method, event = vevent((await outbox(session, registered.email))[-1])
        assert (method, int(event["sequence"]), str(event["status"])) == (
            "CANCEL",
            2,
            "CANCELLED",
        )
    moved.capacity = 2
    assert (
        await code_of(
            webconferences.update(session, by=organiser, webconference=webconference, data=moved)
        )
        == "webconference.not_scheduled"
    )
    c = (await f.candidate_accounts(session, 1))[0]
    assert (
        await code_of(webconferences.register(session, candidate=c, webconference=webconference))
        == "webconference.closed"
    )


@pytest.mark.pool_timeout(30)
async def test_concurrent_registrations_never_overbook(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    webconference, _organiser = await scheduled(session, capacity=3)
    early = await f.candidate_accounts(session, 2)
    for candidate in early:
        await webconferences.register(session, candidate=candidate, webconference=webconference)
    people = await f.candidate_accounts(session, 40)
    await db.commit(session)

    async def attempt(candidate_id: int) -> str:
        async with app.state.write_sessions() as writer:
            candidate = await writer.get(User, candidate_id)
            found = await writer.get(Webconference, webconference.id)
            assert candidate is not None and found is not None
            registration = await webconferences.register(
                writer, candidate=candidate, webconference=found
            )
            await db.commit(writer)
            return registration.status

    results = await asyncio.gather(*(attempt(p.id) for p in people))
    assert results.count("registered") == 1 and results.count("waiting") == 39
    seats = await fetch.scalar(
        select(func.count(WebconferenceRegistration.id)).where(
            WebconferenceRegistration.webconference_id == webconference.id,
            WebconferenceRegistration.status == RegistrationStatus.REGISTERED,
        )
    )
    assert seats == 3


async def test_reminder_an_hour_before_once(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    webconference, _organiser = await scheduled(session, capacity=1)
    a, b = await f.candidate_accounts(session, 2)
    for candidate in (a, b):
        await webconferences.register(session, candidate=candidate, webconference=webconference)
    await db.commit(session)
    assert await worker.interview_round(app.state) == 0  # a day before: nothing yet
    clock.set_now(f.day_at(TOMORROW, 9) + timedelta(minutes=5))
    assert await worker.interview_round(app.state) == 1
    assert await worker.interview_round(app.state) == 0
    subjects = await fetch.scalars(
        select(OutboxMail.subject).where(OutboxMail.to_addr == a.email).order_by(OutboxMail.id)
    )
    assert len(subjects) == 2 and subjects[-1].startswith("Rappel : Réussir son entretien")
    assert len(await fetch.scalars(select(OutboxMail).where(OutboxMail.to_addr == b.email))) == 1
    reminded = await fetch.scalar(
        select(WebconferenceRegistration.reminded_at).where(
            WebconferenceRegistration.candidate_id == a.id
        )
    )
    assert reminded == f.day_at(TOMORROW, 9) + timedelta(minutes=5)


async def test_programme_live_now_upcoming_and_past(session: AsyncSession) -> None:
    edition, organiser = await organised(session)
    clock.set_now(NOON - timedelta(hours=3))

    async def at(start: datetime, minutes: int, title: str) -> Webconference:
        return await webconferences.schedule(
            session,
            by=organiser,
            edition=edition,
            data=talk(
                [organiser],
                title=title,
                starts_at=start,
                ends_at=start + timedelta(minutes=minutes),
            ),
        )

    past = await at(NOON - timedelta(hours=2), 60, "Passée")
    live = await at(NOON - timedelta(minutes=10), 30, "En direct")
    ended_early = await at(NOON - timedelta(minutes=20), 60, "Terminée plus tôt")
    later = await at(NOON + timedelta(hours=2), 30, "Cet après-midi")
    tomorrow = await at(f.day_at(TOMORROW, 10), 30, "Demain")
    cancelled = await at(f.day_at(TOMORROW, 11), 30, "Annulée")
    await webconferences.cancel(session, by=organiser, webconference=cancelled)
    clock.set_now(NOON)
    await webconferences.start(session, by=organiser, webconference=ended_early)
    await webconferences.end(session, by=organiser, webconference=ended_early)
    candidate = (await f.candidate_accounts(session, 1))[0]
    await webconferences.register(session, candidate=candidate, webconference=later)

    found = await webconferences.programme(session, edition, candidate)
    assert [i.webconference.id for i in found.live] == []  # in its time, not started yet
    assert [(day, [i.webconference.id for i in items]) for day, items in found.upcoming] == [
        (NOON.date(), [live.id, later.id]),
        (TOMORROW, [tomorrow.id, cancelled.id]),
    ]
    assert [i.webconference.id for i in found.past] == [ended_early.id, past.id]
    mine = next(i for day, items in found.upcoming for i in items if i.webconference.id == later.id)
    assert (mine.mine, mine.registered, mine.seats_left, mine.presenters) == (
        RegistrationStatus.REGISTERED,
        1,
        1,
        [organiser.name],
    )
    # In its time but not on stage yet: "starting soon" (the programme lists it as coming
    # up); once a presenter starts it, live.
    assert [webconferences.phase(w) for w in (past, live, ended_early, later, cancelled)] == [
        "ended",
        "soon",
        "ended",
        "scheduled",
        "cancelled",
    ]
    clock.set_now(later.starts_at - timedelta(minutes=10))
    assert webconferences.phase(later) == "soon"
    await webconferences.start(session, by=organiser, webconference=live)
    assert webconferences.phase(live) == "live"
    found = await webconferences.programme(session, edition, candidate)
    assert [i.webconference.id for i in found.live] == [live.id]
    clock.set_now(live.ends_at + timedelta(minutes=20))  # running late: still live, not past
    assert (webconferences.phase(live), webconferences.is_past(live)) == ("live", False)


# Pages -----------------------------------------------------------------------------------------


def section(html: str, ident: str) -> str:
    found = re.search(rf'<section id="{ident}".*?</section>', html, re.S)
    assert found, ident
    return text_of(found.group(0))


async def test_programme_page_shows_live_now_and_candidates_register(
    session: AsyncSession, make_client, client
) -> None:  # type: ignore[no-untyped-def]
    edition, organiser = await organised(session)
    clock.set_now(NOON - timedelta(hours=1))
    live = await webconferences.schedule(
        session,
        by=organiser,
        edition=edition,
        data=talk(
            [organiser],
            title="Le direct",
            starts_at=NOON - timedelta(minutes=10),
            ends_at=NOON + timedelta(minutes=20),
        ),
    )
    full = await webconferences.schedule(
        session, by=organiser, edition=edition, data=talk([organiser], title="Complet", capacity=1)
    )
    clock.set_now(NOON)
    other = (await f.candidate_accounts(session, 1))[0]
    await webconferences.register(session, candidate=other, webconference=full)
    candidate = await f.user(session, Role.CANDIDATE)
    await db.commit(session)
    url = f"/e/{edition.slug}/programme"

    client.cookies.set("lang", "en")
    anonymous = await client.get(url)
    assert anonymous.status_code == 200
    # In its time but no presenter started it: not live anywhere (item 18).
    assert "No webconference is live at the moment." in section(anonymous.text, "live")
    assert "Le direct" not in section(anonymous.text, "live")
    assert "Le direct 11:50 AM–12:20 PM With" in section(anonymous.text, "upcoming")
    assert "Starting soon · Registered candidates only" in section(anonymous.text, "upcoming")
    assert "Complet" in section(anonymous.text, "upcoming")
    assert 'action="/webconferences/' not in anonymous.text
    hall = await client.get(f"/e/{edition.slug}/booths")
    assert f'href="{url}"' in hall.text

    me = await person(make_client, candidate)
    page = (await me.get(url)).text
    assert "0 seats left" in section(page, "upcoming") and "Join the waiting list" in page
    response = await post(me, url, f"/webconferences/{live.id}/register?back=programme")
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?done=registered#webconference-{live.id}"
    response = await post(me, url, f"/webconferences/{full.id}/register?back=programme")
    assert response.headers["location"] == f"{url}?done=waiting#webconference-{full.id}"
    page = (await me.get(url)).text
    assert "Registered" in section(page, "upcoming")
    assert "Waiting list #1" in section(page, "upcoming")
    assert "Leave the waiting list" in section(page, "upcoming")

    detail = await me.get(f"/webconferences/{live.id}")
    assert "Starting soon." in text_of(detail.text) and "Unregister" in detail.text
    response = await post(me, f"/webconferences/{live.id}", f"/webconferences/{live.id}/unregister")
    assert response.headers["location"] == f"/webconferences/{live.id}?done=unregistered"
    detail = text_of((await me.get(response.headers["location"])).text)
    assert "Your registration is cancelled." in detail and "0 registered out of 2" in detail
    upcoming = text_of((await me.get(f"/webconferences/{full.id}")).text)
    assert "Not started yet." in upcoming and "1 on the waiting list" in upcoming

    # Without a token the form is refused and nothing is stored.
    refused = await me.post(f"/webconferences/{full.id}/unregister", data={})
    assert refused.status_code == 403

    # The programme, the talk's page and the organiser's list say the same (item 18).
    boss = await person(make_client, organiser)
    listed = f"/organiser/editions/{edition.id}/webconferences"

    async def said() -> tuple[str, str, str]:
        programme = (await client.get(url)).text
        card = re.search(rf'id="webconference-{live.id}".*?data-phase>([^<]+)<', programme, re.S)
        page = (await client.get(f"/webconferences/{live.id}")).text
        label = re.search(
            r'class="stage-state" data-phase="\w+" role="status"><strong>([^<]+)<', page
        )
        row = re.search(
            rf'<tr data-webconference-id="{live.id}">.*?data-phase="\w+">([^<]+)<',
            (await boss.get(listed)).text,
            re.S,
        )
        assert card and label and row
        return card.group(1), label.group(1), row.group(1)

    assert await said() == ("Starting soon", "Starting soon.", "Starting soon")
    await webconferences.start(session, by=organiser, webconference=live)
    await db.commit(session)
    assert await said() == ("Live", "Live now.", "Live")
    assert "Le direct" in section((await client.get(url)).text, "live")


async def test_schedule_forms_and_permissions(session: AsyncSession, make_client, fetch) -> None:  # type: ignore[no-untyped-def]
    edition, organiser = await organised(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    _other_booth, stranger = await f.booth(session, edition_=edition)
    candidate = await f.user(session, Role.CANDIDATE)
    organiser_login = await f.user(session, Role.ORGANISER)
    await db.commit(session)
    org = await person(make_client, organiser)
    url = f"/organiser/editions/{edition.id}/webconferences"
    nav = (await org.get(f"/organiser/editions/{edition.id}/interviews")).text
    assert f'href="{url}"' in nav
    page = await org.get(url)
    assert page.status_code == 200 and "No webconference yet." in page.text
    assert re.findall(r'name="presenters" value="(\d+)" checked', page.text) == [str(organiser.id)]

    bad = await post(
        org,
        url,
        url,
        title="",
        starts_at="2026-03-11T10:00",
        ends_at="2026-03-11T10:05",
        capacity="0",
        access="registered",
    )
    assert bad.status_code == 422
    errors = re.findall(r'<li><a href="#f-(\w+)">', bad.text)
    assert set(errors) == {"title", "ends_at", "capacity", "presenters"}
    good = await post(
        org,
        url,
        url,
        title="Les métiers du bâtiment",
        description="",
        starts_at="2026-03-11T10:00",
        ends_at="2026-03-11T11:00",
        capacity="50",
        access="open",
        presenters=str(organiser.id),
    )
    assert good.status_code == 303, good.text
    [created] = await fetch.scalars(select(Webconference))
    assert (created.title, created.access, created.capacity, created.booth_id) == (
        "Les métiers du bâtiment",
        "open",
        50,
        None,
    )
    assert created.starts_at == f.day_at(TOMORROW, 10)
    listing = text_of((await org.get(url)).text)
    assert "Les métiers du bâtiment" in listing and "0 / 50" in listing

    # Editing keeps the values; cancelling needs the manager.
    edit_url = f"/webconferences/{created.id}/edit"
    form = (await org.get(edit_url)).text
    assert 'value="2026-03-11T10:00"' in form and 'value="open" checked' in form
    saved = await post(
        org,
        edit_url,
        edit_url,
        title="Les métiers du BTP",
        starts_at="2026-03-11T10:00",
        ends_at="2026-03-11T11:00",
        capacity="60",
        access="open",
        presenters=str(organiser.id),
    )
    assert saved.status_code == 303
    assert (await fetch.get(Webconference, created.id)).title == "Les métiers du BTP"
    refused = await post(
        org,
        edit_url,
        edit_url,
        title="Refusé",
        starts_at="2026-03-11T10:00",
        ends_at="2026-03-11T09:00",
        capacity="60",
        access="open",
        presenters=str(organiser.id),
    )  # shown again once the talk's lock is released (auth.release)
    assert refused.status_code == 422 and 'value="Refusé"' in refused.text
    assert (await fetch.get(Webconference, created.id)).title == "Les métiers du BTP"

    # A booth's recruiters schedule for their booth; nobody else reaches these pages.
    rec = await person(make_client, recruiter)
    booth_url = f"/recruiter/booths/{booth.id}/webconferences"
    assert f'href="{booth_url}"' in (await rec.get(f"/recruiter/booths/{booth.id}")).text
    response = await post(
        rec,
        booth_url,
        booth_url,
        title="Nos métiers",
        starts_at="2026-03-11T14:00",
        ends_at="2026-03-11T14:45",
        capacity="30",
        access="registered",
        presenters=str(recruiter.id),
    )
    assert response.status_code == 303
    theirs = await fetch.scalar(select(Webconference).where(Webconference.booth_id == booth.id))
    assert theirs is not None and theirs.created_by_id == recruiter.id
    other = await person(make_client, stranger)
    assert (await other.get(booth_url)).status_code == 403
    assert (await other.get(f"/webconferences/{theirs.id}/edit")).status_code == 404
    me = await person(make_client, candidate)
    assert (await me.get(url)).status_code == 403
    someone = await person(make_client, organiser_login)
    assert (await someone.get(url)).status_code == 403
    assert (await rec.get(edit_url)).status_code == 404

    cancelled = await post(org, url, f"/webconferences/{created.id}/cancel")
    assert cancelled.status_code == 303
    assert (await fetch.get(Webconference, created.id)).status == WebconferenceStatus.CANCELLED


async def test_programme_page_queries_do_not_grow_with_the_programme(
    app, session: AsyncSession, make_client
) -> None:  # type: ignore[no-untyped-def]

    edition, organiser = await organised(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    candidate = await f.user(session, Role.CANDIDATE)

    async def add(n: int) -> None:
        for hour in range(n):
            webconference = await webconferences.schedule(
                session,
                by=recruiter,
                edition=edition,
                booth=booth,
                data=talk(
                    [recruiter, organiser],
                    starts_at=f.day_at(TOMORROW, 8 + hour),
                    ends_at=f.day_at(TOMORROW, 9 + hour),
                ),
            )
            await webconferences.register(session, candidate=candidate, webconference=webconference)
        await db.commit(session)

    await add(1)
    me = await person(make_client, candidate)
    with cold(app) as few:
        await me.get(f"/e/{edition.slug}/programme")
    await add(4)
    with cold(app) as many:
        page = await me.get(f"/e/{edition.slug}/programme")
    assert section(page.text, "upcoming").count("Unregister") == 5
    assert len(many) == len(few), many
