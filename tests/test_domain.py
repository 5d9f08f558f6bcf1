"""Domain rules: editions and the clock, SIRET, the application status model, notifications."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from fair import applications, clock, db, editions, employers, francetravail
from fair.enums import ApplicationStatus, BoothStatus, EditionStatus, Role
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.models import ApplicationEvent, Notice, OutboxMail
from tests import factories as f

S = ApplicationStatus


@pytest.mark.parametrize(
    "siret,valid",
    [
        ("73282932000074", True),
        ("73282932000075", False),
        ("35600000000048", True),
        ("35600000012345", False),
        ("7328293200007", False),
        ("7328293200007A", False),
    ],
)
def test_siret_check_digit(siret, valid):  # type: ignore[no-untyped-def]
    assert employers.siret_valid(siret) is valid


async def test_edition_status_follows_the_clock(session):  # type: ignore[no-untyped-def]
    now = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # a Monday
    data = f.edition_input(now=now)
    data.applications_open_at = now + timedelta(days=2)
    data.applications_close_at = now + timedelta(days=10)
    data.live_first_day = (now + timedelta(days=7)).date()
    data.live_last_day = (now + timedelta(days=12)).date()
    data.opens, data.closes = time(8), time(20)
    data.weekdays = frozenset(range(6))  # Monday to Saturday
    organiser = await f.user(session, Role.ORGANISER)
    edition = await editions.create(session, by=organiser, data=data)
    edition = await editions.get(session, edition.id)
    assert [d.day.weekday() for d in edition.live_days] == [0, 1, 2, 3, 4, 5]
    assert editions.status_at(edition, now) == EditionStatus.DRAFT
    clock.set_now(now)
    await editions.publish(session, edition)
    seen = [
        editions.status_at(edition, now + delta)
        for delta in (
            timedelta(0),
            timedelta(days=3),
            timedelta(days=7, hours=7),
            timedelta(days=7, hours=8),
            timedelta(days=30),
        )
    ]
    assert seen == [
        EditionStatus.PUBLISHED,
        EditionStatus.APPLICATIONS_OPEN,
        EditionStatus.LIVE,
        EditionStatus.LIVE,
        EditionStatus.CLOSED,
    ]
    # 08:00 Paris in January is 07:00 UTC: 07:30 UTC on the first live day is open.
    first_day = datetime.combine(edition.live_days[0].day, time(7, 30), UTC)
    assert editions.open_now(edition, first_day) is True
    assert editions.open_now(edition, first_day.replace(hour=19, minute=30)) is False
    clock.set_now(now + timedelta(days=30))
    await editions.archive(session, edition)
    assert editions.status_at(edition) == EditionStatus.ARCHIVED


async def test_edition_checks_name_the_fields(session):  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER)
    data = f.edition_input()
    data.applications_close_at = data.applications_open_at - timedelta(hours=1)
    data.closes = time(7)
    data.opens = time(8)
    data.timezone = "Mars/Olympus"
    with pytest.raises(Invalid) as caught:
        await editions.create(session, by=organiser, data=data)
    assert set(caught.value.fields) == {"applications_close_at", "closes", "timezone"}
    candidate = await f.user(session, Role.CANDIDATE)
    with pytest.raises(Forbidden):
        await editions.create(session, by=candidate, data=f.edition_input())


async def test_status_model_is_owned_and_enforced(session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    candidate = await f.candidate(session, locale="en")
    application = await f.application(session, offer_=offer, candidate_=candidate)
    mails_before = int(await session.scalar(select(func.count()).select_from(OutboxMail)))

    for step in (
        S.IN_REVIEW,
        S.SHORTLISTED,
        S.INTERVIEW_PROPOSED,
        S.INTERVIEW_SCHEDULED,
        S.INTERVIEWED,
    ):
        await applications.set_status(session, application, step, by=recruiter)
    with pytest.raises(Conflict):
        await applications.set_status(session, application, S.SUBMITTED, by=recruiter)
    with pytest.raises(Forbidden):
        await applications.set_status(session, application, S.HIRED, by=candidate)
    with pytest.raises(Forbidden):
        await applications.set_status(session, application, S.WITHDRAWN, by=recruiter)
    await applications.set_status(session, application, S.HIRED, by=recruiter, message="Welcome!")
    with pytest.raises(Conflict):
        await applications.set_status(session, application, S.WITHDRAWN, by=candidate)
    await db.commit(session)

    events = await fetch.scalars(select(ApplicationEvent.to_status).order_by(ApplicationEvent.id))
    assert events == [
        "in_review",
        "shortlisted",
        "interview_proposed",
        "interview_scheduled",
        "interviewed",
        "hired",
    ]
    notices = await fetch.scalars(
        select(Notice.params).where(Notice.user_id == candidate.id).order_by(Notice.id)
    )
    assert [n["status"] for n in notices] == events
    # Every move happened in one transaction: one mail (replacing the "received" one), saying
    # where it ended, with the recruiter's message (tests/test_application_mail.py: each move).
    mails = await fetch.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == candidate.email).order_by(OutboxMail.id)
    )
    assert mails_before >= 1
    assert [m.subject for m in mails] == [f"Your application: {offer.title}"]
    employer = await employers.get(session, booth.employer_id)
    assert mails[0].body.startswith(
        f"Hello {candidate.name},\n\nGood news: {employer.name} is retaining your application "
        f"to “{offer.title}”.\n\nTheir message:\nWelcome!\n\n"
    )


async def test_withdraw_and_duplicates(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    candidate = await f.candidate(session)
    application = await f.application(session, offer_=offer, candidate_=candidate)
    with pytest.raises(Conflict) as caught:
        await f.application(session, offer_=offer, candidate_=candidate)
    assert caught.value.code == "application.duplicate"
    await applications.set_status(session, application, S.WITHDRAWN, by=candidate)
    assert application.status == "withdrawn"
    other = await f.candidate(session)
    with pytest.raises(NotYours) as hidden:
        await applications.set_status(session, application, S.WITHDRAWN, by=other)
    assert (hidden.value.status, hidden.value.code) == (404, "fair.not_found")


async def test_decline_many_and_unanswered_report(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    other_booth, _ = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    other_offer = await f.offer(session, booth_=other_booth)
    apps = [await f.application(session, offer_=offer) for _ in range(3)]
    foreign = await f.application(session, offer_=other_offer)
    await applications.set_status(session, apps[0], S.SHORTLISTED, by=recruiter)
    declined = await applications.decline_many(
        session, by=recruiter, booth=booth, ids=[apps[1].id, apps[2].id, foreign.id], message=""
    )
    assert declined == 2
    assert [a.status for a in apps] == ["shortlisted", "not_retained", "not_retained"]
    assert foreign.status == "submitted"
    assert apps[1].status_message.startswith("Merci")  # default courteous message, in French
    report = await applications.unanswered(session, edition.id)
    assert [(r.booth_id, r.count) for r in report] == [(other_booth.id, 1)]


async def test_booth_decision_needs_a_reason(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition, approve=False)
    organiser = await f.user(session, Role.ORGANISER)
    with pytest.raises(Invalid):
        await employers.set_status(session, booth, BoothStatus.DECLINED, by=organiser, reason=" ")
    assert booth.status == "requested"
    await employers.set_status(
        session, booth, BoothStatus.DECLINED, by=organiser, reason="Hors territoire"
    )
    assert (booth.status, booth.decline_reason) == ("declined", "Hors territoire")


async def test_france_travail_round_trip(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    original = await f.offer(
        session,
        booth_=booth,
        contract="apprenticeship",
        working_time="part_time",
        experience="required",
        remote=True,
        open_seniors=True,
        open_disabled=True,
        insertion_clause=True,
        salary="1 900 € brut",
        qualification="CAP",
        positions=3,
        skills=["Habilitation B1V", "Travail en hauteur"],
        starts_on=date(2030, 2, 5),
    )
    exported = francetravail.export_offer(original, booth.employer)
    assert exported["fair"]["startsOn"] == "2030-02-05"  # France Travail's shape has no place
    assert (exported["typeContrat"], exported["natureContrat"], exported["experienceExige"]) == (
        "CDD",
        "Contrat apprentissage",
        "E",
    )
    assert exported["lieuTravail"]["codePostal"] == "34000"
    imported = await francetravail.import_offers(
        session, booth=booth, payload={"resultats": [exported]}
    )
    copy = imported[0]
    fields = [
        "title",
        "description",
        "rome_code",
        "rome_label",
        "contract",
        "working_time",
        "commune",
        "postcode",
        "latitude",
        "longitude",
        "remote",
        "positions",
        "salary",
        "experience",
        "qualification",
        "skills",
        "insertion_clause",
        "open_seniors",
        "open_under26",
        "open_disabled",
        "no_diploma",
        "starts_on",
    ]
    assert {k: getattr(copy, k) for k in fields} == {k: getattr(original, k) for k in fields}
    again = francetravail.export_offer(copy, booth.employer)
    assert {k: v for k, v in again.items() if not k.startswith("date")} == {
        k: v for k, v in exported.items() if not k.startswith("date")
    } | {"id": exported["id"]}


async def test_import_rejects_a_bad_offer_whole(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    good = francetravail.export_offer(await f.offer(session, booth_=booth), booth.employer)
    with pytest.raises(Invalid) as caught:
        await francetravail.import_offers(
            session, booth=booth, payload=[good, {"description": "x"}]
        )
    assert caught.value.params["n"] == 2


async def test_import_reads_a_null_or_structured_text_field_as_missing_or_wrong(session):  # type: ignore[no-untyped-def]
    """JSON null in a text field is an empty field (a null title is refused as missing, never
    stored as the title "None"); an object or a list where text is expected is refused."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    good = francetravail.export_offer(await f.offer(session, booth_=booth), booth.employer)
    with pytest.raises(Invalid):
        await francetravail.import_offers(
            session, booth=booth, payload=[{**good, "intitule": None}]
        )
    with pytest.raises(Invalid):
        await francetravail.import_offers(
            session, booth=booth, payload=[{**good, "intitule": {"fr": "Cariste"}}]
        )
    read = francetravail.to_input({**good, "salaire": {"libelle": None}})
    assert read.salary == ""
    assert read.starts_on is None  # as soon as possible


async def test_import_refuses_a_start_day_it_cannot_read(session):  # type: ignore[no-untyped-def]
    """The start day (in the extra `fair` object) is read by fair.parse.day: a day written
    otherwise, out of 1900 .. 2100 or not text is refused with the offer's number and why."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    good = francetravail.export_offer(await f.offer(session, booth_=booth), booth.employer)
    for day, why in (
        ("05/02/2030", "Indiquez une date."),
        ("9999-01-01", "Indiquez une date entre 1900 et 2100."),
        (20300205, "Indiquez une date."),
    ):
        item = {**good, "fair": {**good["fair"], "startsOn": day}}
        with pytest.raises(Invalid) as caught:
            await francetravail.import_offers(session, booth=booth, payload=[item])
        assert caught.value.params == {
            "n": 1,
            "detail": f"Cette offre n'est pas au format France Travail : {why}",
        }
    item = {**good, "fair": {**good["fair"], "startsOn": "2030-02-05"}}
    assert francetravail.to_input(item).starts_on == date(2030, 2, 5)
