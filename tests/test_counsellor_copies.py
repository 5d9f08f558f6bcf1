"""A candidate without a mailbox (made by a counsellor, fair.counsellors.create_person): their
counsellors are mailed, in the counsellor's language, that an application's outcome or a contact
request awaits the candidate, without its private content (fair.counsellor_copies); a candidate
with a mailbox is mailed as before and their counsellor is not."""

from __future__ import annotations

from sqlalchemy import select

from fair import (
    applications,
    candidates,
    clock,
    contact_requests,
    counsellors,
    cv_pool,
    participants,
    settings,
    structures,
)
from fair.enums import ApplicationStatus, PoolLevel, StructureKind
from fair.models import CvText, OutboxMail, User
from tests import factories as f
from tests.pool_setup import text_pdf

NEWS = "News for "
MONTLUCON = structures.StructureInput(
    name="Mission Emploi de Montluçon",
    kind=StructureKind.MISSION_EMPLOI.value,
    departement="03",
    communes=["03185"],
)


async def mails(session, to: str, subject: str = "") -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = await session.scalars(
        select(OutboxMail)
        .where(OutboxMail.to_addr == to, OutboxMail.subject.startswith(subject))
        .order_by(OutboxMail.id)
    )
    return [(m.subject, m.body) for m in rows]


async def test_the_counsellor_hears_what_awaits_a_candidate_without_e_mail(session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    organiser = await session.get(User, edition.created_by_id)
    structure = await structures.create(
        session, by=organiser, data=MONTLUCON, edition_id=edition.id
    )
    counsellor = await structures.add_counsellor(
        session, by=organiser, structure=structure, email="conseil@example.fr", name="Claire"
    )
    counsellor.locale = "en"  # the counsellor reads English, the candidate French
    made = await counsellors.create_person(
        session, by=counsellor, structure=structure, name="Marie Dupré", consent=True
    )
    marie = made.candidate
    await candidates.set_cv(session, marie, filename="cv.pdf", data=text_pdf("Cariste CACES 3"))
    await participants.register(session, edition_id=edition.id, user=marie)
    paul = await counsellors.create_person(
        session,
        by=counsellor,
        structure=structure,
        name="Paul",
        email="paul@example.fr",
        consent=True,
    )
    with_mail = paul.candidate
    await candidates.set_cv(session, with_mail, filename="cv.pdf", data=f.pdf_bytes())
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, title="Cariste")
    application = await f.application(session, offer_=offer, candidate_=marie)
    assert await mails(session, counsellor.email, NEWS) == []  # received: nothing to tell

    # Two moves in one transaction: one mail; the recruiter's message stays private.
    await applications.set_status(session, application, ApplicationStatus.SHORTLISTED, by=recruiter)
    await applications.set_status(
        session,
        application,
        ApplicationStatus.NOT_RETAINED,
        by=recruiter,
        message="Profil trop junior, désolé.",
    )
    link = f"{settings.get().base_url}/counsellor/candidates/{marie.id}"
    employer = booth.employer.name
    assert await mails(session, counsellor.email, NEWS) == [
        (
            "News for Marie Dupré",
            "Hello Claire,\n\n"
            "Marie Dupré, whom you accompany, has no e-mail address: news about their application"
            f" to “Cariste” ({employer}) awaits them in their notices on the site. Help them read"
            " it and answer.\n\n"
            f"Their page: {link}\n\n"
            "-- \n"
            f"Sent by Mission Emploi de Montluçon through {settings.get().base_url}.\n"
            "You receive this message because you accompany Marie Dupré, who has no e-mail"
            " address.\n"
            "This is a service message about your account, not a newsletter.\n",
        )
    ]
    assert await mails(session, marie.email) == []

    # A contact request from the pool: who asks and their message stay private.
    await cv_pool.give(session, marie, level=PoolLevel.EDITION, months=2, edition_id=edition.id)
    viewer = await cv_pool.viewer_of(session, recruiter)
    assert viewer is not None
    ref = (await session.get(CvText, marie.id)).ref
    await contact_requests.ask(
        session, viewer=viewer, requester=recruiter, ref=ref, message="Appelez-nous au 0102"
    )
    told = await mails(session, counsellor.email, NEWS)
    assert len(told) == 2
    assert told[1][0] == "News for Marie Dupré"
    assert (
        "has no e-mail address: a request to contact them from an organisation that found their"
        " profile in the CV pool awaits them" in told[1][1]
    )
    assert "0102" not in told[1][1] and viewer.organisation not in told[1][1]

    # A candidate with a mailbox is mailed themselves; their counsellor hears nothing more.
    other = await f.application(session, offer_=offer, candidate_=with_mail)
    await applications.set_status(session, other, ApplicationStatus.SHORTLISTED, by=recruiter)
    assert [subject for subject, _body in await mails(session, with_mail.email, "Candidature")] == [
        "Candidature présélectionnée : Cariste"
    ]
    assert len(await mails(session, counsellor.email, NEWS)) == 2
