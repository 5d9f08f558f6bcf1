"""Applications by e-mail (fair.application_mail): the candidate's mails in their language, with
the transactional footer, one per transaction; the recruiters' digest at most once an hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accounts,
    application_mail,
    applications,
    clock,
    db,
    editions,
    interviews,
    settings,
    worker,
)
from fair.enums import ApplicationStatus as S
from fair.models import Application, BoothDigest, OutboxMail, User
from tests import factories as f
from tests.conftest import login

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Paris
EDITION = "Rencontres pour l'emploi"
OFFER = "Électricien du bâtiment (H/F)"


async def last_mail_id(fetch) -> int:  # type: ignore[no-untyped-def]
    return int(await fetch.scalar(select(func.max(OutboxMail.id))) or 0)


async def mails_since(fetch, mark: int) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    return await fetch.scalars(
        select(OutboxMail).where(OutboxMail.id > mark).order_by(OutboxMail.id)
    )


def footer_en(why: str) -> str:
    return (
        f"\n-- \nSent by {EDITION} through {settings.get().base_url}.\n{why}\n"
        "This is a service message about your account, not a newsletter.\n"
    )


def footer_fr(why: str) -> str:
    return (
        f"\n-- \nEnvoyé par {EDITION} via {settings.get().base_url}.\n{why}\n"
        "Ceci est un message de service lié à votre compte, pas une lettre d’information.\n"
    )


async def setting(session: AsyncSession, *, locale: str = "en"):  # type: ignore[no-untyped-def]
    clock.set_now(T0)
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    candidate = await f.candidate(session, locale=locale, name="Léa Martin", email="lea@example.fr")
    await db.commit(session)
    return booth, recruiter, offer, candidate


async def test_the_candidate_hears_of_each_decision_that_concerns_them(session, fetch):  # type: ignore[no-untyped-def]
    booth, recruiter, offer, candidate = await setting(session, locale="en")
    employer = booth.employer.name
    site = settings.get().base_url
    mark = await last_mail_id(fetch)

    application = await applications.apply(session, candidate=candidate, offer=offer, message="")
    await db.commit(session)
    [received] = await mails_since(fetch, mark)
    assert (received.to_addr, received.subject) == (
        "lea@example.fr",
        f"Application received: {OFFER}",
    )
    assert received.body == (
        f"Hello Léa Martin,\n\n{employer} has received your application to “{OFFER}”. Employers "
        f"of {EDITION} answer every application by March 12, 2026.\n\n"
        f"Follow your applications: {site}/me/applications\n"
        + footer_en(f"You receive this message because you applied to “{OFFER}” at {EDITION}.")
    )

    mark = await last_mail_id(fetch)
    moves = [
        S.IN_REVIEW,  # not mailed: nothing changes for the candidate
        S.SHORTLISTED,
        "invite",  # interviews.invite: "interview proposed"
        S.INTERVIEW_SCHEDULED,  # the booking's own mail is fair.interviews'
        S.INTERVIEW_PROPOSED,  # back after a cancellation: fair.interviews mailed it
        S.INTERVIEW_SCHEDULED,
        S.INTERVIEWED,
        S.HIRED,
    ]
    for move in moves:
        if move == "invite":
            await interviews.invite(session, by=recruiter, application=application)
        else:
            message = "Welcome aboard!" if move == S.HIRED else ""
            await applications.set_status(
                session, application, S(move), by=recruiter, message=message
            )
        await db.commit(session)  # one transaction each

    sent = await mails_since(fetch, mark)
    assert [(m.to_addr, m.subject) for m in sent] == [
        ("lea@example.fr", f"Application shortlisted: {OFFER}"),
        ("lea@example.fr", f"Interview proposed: {OFFER}"),
        ("lea@example.fr", f"Your application: {OFFER}"),
    ]
    why = f"You receive this message because you applied to “{OFFER}” at {EDITION}."
    assert [m.body for m in sent] == [
        f"Hello Léa Martin,\n\n{employer} has shortlisted your application to “{OFFER}”. They "
        f"may propose an interview to you.\n\nFollow your applications: {site}/me/applications\n"
        + footer_en(why),
        f"Hello Léa Martin,\n\n{employer} proposes an interview about your application to "
        f"“{OFFER}”. Choose a time among their free slots.\n\n"
        f"Choose a time: {site}/me/interviews\n" + footer_en(why),
        f"Hello Léa Martin,\n\nGood news: {employer} is retaining your application to "
        f"“{OFFER}”.\n\nTheir message:\nWelcome aboard!\n\n"
        f"Follow your applications: {site}/me/applications\n" + footer_en(why),
    ]


async def test_a_refusal_in_french_carries_the_recruiters_message(session, fetch):  # type: ignore[no-untyped-def]
    booth, recruiter, offer, candidate = await setting(session, locale="fr")
    application = await applications.apply(session, candidate=candidate, offer=offer, message="")
    await db.commit(session)
    mark = await last_mail_id(fetch)

    done = await applications.decline_many(
        session, by=recruiter, booth=booth, ids=[application.id], message="Merci, Léa."
    )
    await db.commit(session)

    assert done == 1
    [refusal] = await mails_since(fetch, mark)
    employer = booth.employer.name
    assert (refusal.to_addr, refusal.subject) == ("lea@example.fr", f"Votre candidature : {OFFER}")
    assert refusal.body == (
        f"Bonjour Léa Martin,\n\n{employer} ne donnera pas suite à votre candidature à "
        f"« {OFFER} ».\n\nLeur message :\nMerci, Léa.\n\n"
        f"Suivez vos candidatures : {settings.get().base_url}/me/applications\n"
        + footer_fr(
            f"Vous recevez ce message parce que vous avez postulé à « {OFFER} » sur {EDITION}."
        )
    )


async def test_moves_in_one_transaction_make_one_mail(session, fetch):  # type: ignore[no-untyped-def]
    booth, recruiter, offer, candidate = await setting(session, locale="en")
    application = await applications.apply(session, candidate=candidate, offer=offer, message="")
    await db.commit(session)
    mark = await last_mail_id(fetch)

    # What a queue conversation ending on "propose an interview" does (fair.conversations).
    await applications.set_status(session, application, S.SHORTLISTED, by=recruiter)
    await applications.set_status(session, application, S.INTERVIEW_PROPOSED, by=recruiter)
    await db.commit(session)
    assert [m.subject for m in await mails_since(fetch, mark)] == [f"Interview proposed: {OFFER}"]

    # A rolled-back move sends nothing, and the next transaction queues its own mail.
    mark = await last_mail_id(fetch)
    application_id = application.id
    await applications.set_status(
        session, application, S.NOT_RETAINED, by=recruiter, message="Non."
    )
    await session.rollback()
    await session.refresh(recruiter)
    await session.refresh(application)
    assert (application.id, application.status) == (application_id, S.INTERVIEW_PROPOSED)
    await applications.set_status(
        session, application, S.NOT_RETAINED, by=recruiter, message="Sorry."
    )
    await db.commit(session)
    sent = await mails_since(fetch, mark)
    assert [m.subject for m in sent] == [f"Your application: {OFFER}"]
    assert "Their message:\nSorry.\n" in sent[0].body


async def test_recruiters_get_at_most_one_digest_an_hour_per_booth(app, session, fetch):  # type: ignore[no-untyped-def]
    booth, owner, offer, first = await setting(session, locale="en")
    colleague = await f.colleague(session, booth_=booth, owner=owner)
    await accounts.set_locale(session, colleague, "en")
    edition = await editions.get(session, booth.edition_id)
    other_booth, other_recruiter = await f.booth(session, edition_=edition)
    other_offer = await f.offer(session, booth_=other_booth, title="Plombier (H/F)")
    second = await f.candidate(session, name="Paul Durand")
    third = await f.candidate(session, name="Inès Roux")
    await db.commit(session)
    employer = booth.employer.name

    queued: list[OutboxMail] = []

    async def digest_at(moment: datetime) -> list[tuple[str, str]]:
        """One worker round at `moment`, in its own transaction; the mails it queued."""
        clock.set_now(moment)
        mark = await last_mail_id(fetch)
        await worker.digest_round(app.state)
        queued[:] = await mails_since(fetch, mark)
        return [(m.to_addr, m.subject) for m in queued]

    clock.set_now(T0 - timedelta(minutes=20))
    await applications.apply(session, candidate=first, offer=offer, message="")
    clock.set_now(T0 - timedelta(minutes=5))
    await applications.apply(session, candidate=second, offer=offer, message="")
    await db.commit(session)

    first_digest = await digest_at(T0)
    assert first_digest == [
        (owner.email, f"2 nouvelles candidatures pour {employer}"),
        (colleague.email, f"2 new applications for {employer}"),
    ]
    assert queued[1].body == (
        f"Hello {colleague.name},\n\n2 new applications at your booth in {EDITION}:\n"
        f"- Léa Martin, “{OFFER}”, 2 Mar 09:40\n"
        f"- Paul Durand, “{OFFER}”, 2 Mar 09:55\n\n"
        f"Read them and answer each candidate: "
        f"{settings.get().base_url}/recruiter/booths/{booth.id}/applications\n"
        + footer_en(
            f"You receive this summary because you are a member of {employer}, which has a booth "
            f"in {EDITION}. It is sent at most once an hour."
        )
    )

    # A new application ten minutes later waits for the hour; another booth's goes at once.
    clock.set_now(T0 + timedelta(minutes=10))
    await applications.apply(session, candidate=third, offer=offer, message="")
    await applications.apply(session, candidate=third, offer=other_offer, message="")
    await db.commit(session)
    assert await digest_at(T0 + timedelta(minutes=11)) == [
        (other_recruiter.email, f"1 nouvelle candidature pour {other_booth.employer.name}")
    ]
    assert await digest_at(T0 + timedelta(minutes=59)) == []
    assert await digest_at(T0 + timedelta(minutes=60)) == [
        (owner.email, f"1 nouvelle candidature pour {employer}"),
        (colleague.email, f"1 new application for {employer}"),
    ]
    # Each application in one digest only.
    assert queued[1].body.startswith(
        f"Hello {colleague.name},\n\n1 new application at your booth in {EDITION}:\n"
        f"- Inès Roux, “{OFFER}”, 2 Mar 10:10\n\n"
    )
    assert await digest_at(T0 + timedelta(hours=3)) == []  # nothing new: no mail
    assert {(d.booth_id, d.sent_at) for d in await fetch.scalars(select(BoothDigest))} == {
        (booth.id, T0 + timedelta(minutes=60)),
        (other_booth.id, T0 + timedelta(minutes=11)),
    }


async def test_a_withdrawn_application_is_left_out_of_the_digest(session, fetch):  # type: ignore[no-untyped-def]
    booth, recruiter, offer, candidate = await setting(session, locale="en")
    application = await applications.apply(session, candidate=candidate, offer=offer, message="")
    await applications.set_status(session, application, S.WITHDRAWN, by=candidate)
    await db.commit(session)
    mark = await last_mail_id(fetch)

    assert await application_mail.send_digests(session, now=T0) == 0
    await db.commit(session)

    assert await mails_since(fetch, mark) == []
    assert await fetch.scalars(select(BoothDigest)) == []
    stored = await fetch.get(Application, application.id)
    assert stored.digested_at == T0


async def test_only_mailed_moves_are_mailed() -> None:
    mailed = {
        (before, after) for before in S for after in S if application_mail.mailed(before, after)
    }
    assert {after for _before, after in mailed} == {
        S.SHORTLISTED,
        S.INTERVIEW_PROPOSED,
        S.HIRED,
        S.NOT_RETAINED,
    }
    assert (S.INTERVIEW_SCHEDULED, S.INTERVIEW_PROPOSED) not in mailed
    assert (S.INTERVIEWED, S.INTERVIEW_PROPOSED) in mailed  # a second interview


async def test_the_language_logged_in_with_becomes_the_mail_language(client, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.candidate(session, locale="fr")
    await db.commit(session)

    await login(client, user.email, f.PASSWORD)  # no language chosen: the stored one stays
    assert (await fetch.get(User, user.id)).locale == "fr"

    client.cookies.set("lang", "en")
    await login(client, user.email, f.PASSWORD)
    assert (await fetch.get(User, user.id)).locale == "en"


async def test_a_busy_hour_s_digest_lists_fifty_and_loads_no_application(app, session, fetch):  # type: ignore[no-untyped-def]
    """A digest of many applications names the first DIGEST_LINES, counts the rest, and reads
    no application as an object: marked by one UPDATE (the soak's hourly digests of ~800
    applications a booth loaded them all and grew the worker's memory by 10 %)."""
    booth, recruiter, offer, _first = await setting(session, locale="en")
    names = [f"Candidate {k:02d}" for k in range(application_mail.DIGEST_LINES + 3)]
    for k, name in enumerate(names):
        clock.set_now(T0 - timedelta(minutes=59) + timedelta(seconds=k))
        candidate = await f.candidate(session, name=name)
        await applications.apply(session, candidate=candidate, offer=offer, message="")
    await db.commit(session)
    mark = await last_mail_id(fetch)

    loaded: list[int] = []

    def load(target: Application, _context: object) -> None:
        loaded.append(target.id)

    event.listen(Application, "load", load)
    try:
        async with app.state.read_sessions() as digesting:
            assert await application_mail.send_digests(digesting, now=T0) == 1
            await db.commit(digesting)
    finally:
        event.remove(Application, "load", load)
    assert loaded == []

    (mail,) = await mails_since(fetch, mark)
    # The booth's owner reads French (`setting`'s locale is the candidate's).
    assert mail.subject == f"{len(names)} nouvelles candidatures pour {booth.employer.name}"
    listed = [line for line in mail.body.splitlines() if line.startswith("- ")]
    assert [line.split(",")[0][2:] for line in listed] == names[: application_mail.DIGEST_LINES]
    assert "et 3 autres" in mail.body
    undigested = select(func.count()).where(Application.digested_at.is_(None))
    assert await fetch.scalar(undigested) == 0
