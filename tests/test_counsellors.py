"""Counsellors (fair.structures, fair.counsellors, fair.endorsements): structures and their
counsellors, accompaniments with consent, accounts without e-mail and printed codes, acting on
a candidate's behalf, putting forward; a counsellor never sees a candidate who did not agree or
whose accompaniment ended."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from fair import (
    accounts,
    applications,
    clock,
    counsellors,
    db,
    endorsements,
    structures,
    webconferences,
)
from fair.enums import ApplicationStatus, InterviewMode, NoticeKind, Role, StructureKind
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.models import (
    ApplicationEndorsement,
    CounsellorAction,
    Notice,
    OutboxMail,
    User,
)
from tests import factories as f

MONTLUCON = structures.StructureInput(
    name="Mission Emploi de Montluçon",
    kind=StructureKind.MISSION_EMPLOI.value,
    departement="03",
    communes=["03185"],
)


async def _structure(session, edition=None):  # type: ignore[no-untyped-def]
    """A structure created by the edition's organiser, and one counsellor of it."""
    edition = edition or await f.edition(session)
    organiser = await session.get(User, edition.created_by_id)
    structure = await structures.create(
        session, by=organiser, data=MONTLUCON, edition_id=edition.id
    )
    counsellor = await structures.add_counsellor(
        session,
        by=organiser,
        structure=structure,
        email="conseil@example.fr",
        name="Claire Conseil",
    )
    return edition, organiser, structure, counsellor


async def _mails(session, to: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        await session.scalars(
            select(OutboxMail.subject).where(OutboxMail.to_addr == to).order_by(OutboxMail.id)
        )
    )


async def test_structures_are_created_checked_and_managed_by_their_organisers(session):  # type: ignore[no-untyped-def]
    edition, organiser, structure, counsellor = await _structure(session)
    assert (structure.kind, structure.departement, structure.communes) == (
        "mission_emploi",
        "03",
        ["03185"],
    )
    assert structure.approved_at is not None and structure.approved_by_id == organiser.id
    assert structures.territory(structure) == "Allier (03) · Montluçon"
    assert (counsellor.role, counsellor.confirmed_at is not None) == ("counsellor", True)
    assert await _mails(session, "conseil@example.fr") == ["Votre compte fair"]

    with pytest.raises(Invalid) as refused:
        structures.check(
            structures.StructureInput(name="", kind="bank", departement="99", communes=["3417"])
        )
    assert refused.value.fields == {
        "name": "Enter the structure's name (200 characters at most).",
        "kind": "Choose the kind of structure.",
        "departement": "Enter a département code, such as 03 or 2A.",
        "communes": "Enter INSEE commune codes (5 characters), 200 at most.",
    }
    with pytest.raises(Invalid) as outside:  # Montpellier is not in the Montluçon EPCI
        structures.check(
            structures.StructureInput(
                name="PLIE", kind="plie", departement="03", epci="200071082", communes=["34172"]
            )
        )
    assert outside.value.fields == {"communes": "These communes are not all in the EPCI."}

    other = await f.user(session, Role.ORGANISER, can_log_in=False)
    assert await structures.of_manager(session, other) == []
    with pytest.raises(NotYours):
        await structures.managed(session, other, structure.id)
    with pytest.raises(Forbidden):
        await structures.create(session, by=other, data=MONTLUCON)
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    with pytest.raises(Conflict) as taken:
        await structures.add_counsellor(
            session, by=organiser, structure=structure, email=recruiter.email, name="X"
        )
    assert taken.value.code == "structure.not_counsellor"
    assert [s.id for s in await structures.of_counsellor(session, counsellor)] == [structure.id]
    await structures.set_approved(session, structure, by=organiser, approved=False)
    assert await structures.of_counsellor(session, counsellor) == []


async def test_an_account_without_e_mail_logs_in_with_a_printed_code(session):  # type: ignore[no-untyped-def]
    _e, _o, structure, counsellor = await _structure(session)
    created = await counsellors.create_person(
        session, by=counsellor, structure=structure, name="Marie-Hélène Dupré", consent=True
    )
    assert created.code is not None and len(created.code) == 14
    assert re.fullmatch(r"marie\.helene\.dupre\.[1-9]\d{3}", created.login)
    candidate = created.candidate
    assert candidate.email == created.login + "@sans-adresse.invalid"
    assert (candidate.role, candidate.confirmed_at) == ("candidate", None)
    accompaniment = created.accompaniment
    assert (accompaniment.consent_version, accompaniment.consent_via) == ("2026-12", "in_person")
    # Nothing is mailed to an address in the reserved domain.
    assert await _mails(session, candidate.email) == []

    with pytest.raises(Invalid):  # a wrong code
        await accounts.redeem_code(session, code="AAAA-BBBB-CCCC", password="un mot de passe sûr")
    redeemed = await accounts.redeem_code(
        session, code=created.code.lower().replace("-", " "), password="un mot de passe sûr"
    )
    assert redeemed.id == candidate.id and redeemed.confirmed_at is not None
    logged = await accounts.authenticate(
        session, email=created.login.upper(), password="un mot de passe sûr"
    )
    assert logged.id == candidate.id
    with pytest.raises(Invalid) as used:  # single use
        await accounts.redeem_code(session, code=created.code, password="un autre mot de passe")
    assert used.value.code == "auth.reset_expired"

    followed = await counsellors.require_followed(session, counsellor, candidate.id)
    code = await counsellors.new_code(session, followed)
    assert code != created.code
    with_mail = await f.candidate(session, can_log_in=False)
    await counsellors.invite(session, by=counsellor, structure=structure, email=with_mail.email)


async def test_a_counsellor_sees_only_candidates_who_agreed_until_it_ends(session):  # type: ignore[no-untyped-def]
    _e, organiser, structure, counsellor = await _structure(session)
    existing = await f.candidate(session, can_log_in=False)
    asked = await counsellors.invite(
        session, by=counsellor, structure=structure, email=existing.email
    )
    with pytest.raises(Conflict):  # asked once
        await counsellors.invite(session, by=counsellor, structure=structure, email=existing.email)
    assert await _mails(session, existing.email) == [
        "Mission Emploi de Montluçon vous propose un accompagnement"
    ]
    with pytest.raises(NotYours):  # not agreed yet
        await counsellors.require_followed(session, counsellor, existing.id)
    assert await counsellors.dashboard(session, counsellor) == []

    with pytest.raises(Invalid):  # the box not ticked
        await counsellors.consent(
            session, candidate=existing, accompaniment_id=asked.id, version="2026-12", agreed=False
        )
    with pytest.raises(Conflict):  # a text that is not the one in force
        await counsellors.consent(
            session, candidate=existing, accompaniment_id=asked.id, version="2020-01", agreed=True
        )
    other = await f.candidate(session, can_log_in=False)
    with pytest.raises(NotYours):  # someone else's request
        await counsellors.consent(
            session, candidate=other, accompaniment_id=asked.id, version="2026-12", agreed=True
        )
    await counsellors.consent(
        session, candidate=existing, accompaniment_id=asked.id, version="2026-12", agreed=True
    )
    assert (asked.consent_via, asked.consent_version) == ("candidate", "2026-12")
    followed = await counsellors.require_followed(session, counsellor, existing.id)
    assert followed.structure.id == structure.id
    rows = await counsellors.dashboard(session, counsellor)
    assert [(r.candidate.id, r.structure, r.applications) for r in rows] == [
        (existing.id, "Mission Emploi de Montluçon", 0)
    ]
    # Another counsellor, even of the same structure, does not see them.
    colleague = await structures.add_counsellor(
        session, by=organiser, structure=structure, email="autre@example.fr", name="Paul"
    )
    with pytest.raises(NotYours):
        await counsellors.require_followed(session, colleague, existing.id)
    # Approval withdrawn: nothing; given back: followed again.
    await structures.set_approved(session, structure, by=organiser, approved=False)
    with pytest.raises(NotYours):
        await counsellors.require_followed(session, counsellor, existing.id)
    await structures.set_approved(session, structure, by=organiser, approved=True)
    await counsellors.require_followed(session, counsellor, existing.id)

    await counsellors.end(session, by=existing, accompaniment_id=asked.id)
    assert asked.ended_by_id == existing.id and asked.ended_at is not None
    with pytest.raises(NotYours):
        await counsellors.require_followed(session, counsellor, existing.id)
    kinds = await session.scalars(
        select(Notice.params).where(Notice.user_id == counsellor.id).order_by(Notice.id)
    )
    assert [p["action"] for p in kinds] == ["consented", "ended_by_candidate"]


async def test_acting_for_a_candidate_and_putting_them_forward(session):  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    booth_, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    edition = await f.edition(session)  # the structure's edition (any)
    _e, _o, structure, counsellor = await _structure(session, edition)
    asked = await counsellors.invite(
        session, by=counsellor, structure=structure, email=candidate.email
    )
    await counsellors.consent_in_person(session, followed_request=asked, by=counsellor, agreed=True)
    followed = await counsellors.require_followed(session, counsellor, candidate.id)

    with pytest.raises(Invalid) as not_pdf:
        await counsellors.set_cv(session, followed, filename="cv.pdf", data=b"not a pdf")
    assert not_pdf.value.code == "upload.not_pdf"
    await counsellors.set_cv(session, followed, filename="cv.pdf", data=f.pdf_bytes("CV relu"))

    booked = await counsellors.book(
        session,
        followed,
        invitation_id=invitation.id,
        slot_id=slots[0].id,
        mode=InterviewMode.PHONE,
    )
    assert (booked.status, booked.booked_by_id) == ("booked", counsellor.id)
    bodies = list(
        await session.scalars(select(OutboxMail.body).where(OutboxMail.to_addr == candidate.email))
    )
    assert any(
        "Fait pour vous par Claire Conseil (Mission Emploi de Montluçon), qui vous accompagne."
        in body
        for body in bodies
    )

    organiser = await session.get(User, edition.created_by_id)
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser], title="Le CV en 1 page")
    )
    await counsellors.register_talk(session, followed, webconference_id=talk.id)
    registration = await webconferences.registration_of(session, talk.id, candidate.id)
    assert registration is not None and registration.status == "registered"
    assert [(t.title, e) for t, e in await counsellors.upcoming_talks(session)] == [
        ("Le CV en 1 page", edition.title)
    ]
    offer = await f.offer(session, booth_=booth_, title="Cariste (H/F)")
    application = await counsellors.put_forward(
        session, followed, offer=offer, note="Sérieux, CACES 3 en cours."
    )
    assert (application.candidate_id, application.status) == (candidate.id, "submitted")
    shown = await endorsements.of_applications(session, [application.id])
    assert shown == {
        application.id: endorsements.Shown(
            structure="Mission Emploi de Montluçon",
            counsellor="Claire Conseil",
            note="Sérieux, CACES 3 en cours.",
        )
    }
    with pytest.raises(Conflict):
        await counsellors.put_forward(session, followed, offer=offer, note="")
    actions = await session.scalars(
        select(CounsellorAction.action).where(CounsellorAction.candidate_id == candidate.id)
    )
    assert sorted(actions) == ["cv", "interview", "put_forward", "webconference"]

    await applications.set_status(session, application, ApplicationStatus.SHORTLISTED, by=recruiter)
    told = await session.scalars(
        select(Notice).where(
            Notice.user_id == counsellor.id, Notice.kind == NoticeKind.PUT_FORWARD_STATUS
        )
    )
    assert [n.params["status"] for n in told] == ["shortlisted"]
    assert await _mails(session, counsellor.email) == [
        "Votre compte fair",
        f"Candidature de {candidate.name} sur « Cariste (H/F) »",
    ]
    overview = await counsellors.overview(session, followed)
    assert sorted((a.offer.title, s is not None) for a, _n, s in overview.applications) == [
        ("Cariste (H/F)", True),
        ("Électricien du bâtiment (H/F)", False),
    ]
    assert await session.get(ApplicationEndorsement, application.id) is not None
    dashboard = await counsellors.put_forward_by(session, counsellor)
    assert [(p.candidate, p.offer, p.application.status) for p in dashboard] == [
        (candidate.name, "Cariste (H/F)", "shortlisted")
    ]
    await counsellors.end(session, by=candidate, accompaniment_id=asked.id)
    assert await counsellors.put_forward_by(session, counsellor) == []  # no longer theirs
    assert asked.consent_via == "in_person"
    await db.commit(session)
