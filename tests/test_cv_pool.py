"""The CV pool (fair.cv_pool, fair.cv_text): consents, CV text, search, opening a profile."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from fair import (
    access_log,
    candidates,
    clock,
    contact_requests,
    cv_pool,
    cv_text,
    db,
    job_search,
    rome,
    worker,
)
from fair.enums import AccessKind, Contract, PoolLevel, Transport
from fair.errors import Conflict, FairError, Invalid, NotFound
from fair.models import CandidateProfile, CvText, Notice, OutboxMail, PoolConsent
from tests import factories as f
from tests.pool_setup import agency, pool_candidate, recruiter_at, text_pdf, world


def test_extraction_reads_the_text_layer() -> None:
    extracted = cv_text.extract_now(text_pdf("Électricien (H/F)", "Lattes \x00 34970"))
    assert extracted == cv_text.Extracted("ok", 1, "Électricien (H/F)\nLattes 34970")
    assert cv_text.extract_now(f.pdf_bytes()) == cv_text.Extracted("empty", 1, "")
    assert cv_text.extract_now(b"%PDF-1.4 nonsense") == cv_text.Extracted("unreadable", 0, "")


async def test_search_by_words_and_distance(session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    w = await world(session)
    assert w.candidate is not None
    cook = await pool_candidate(
        session,
        lines=("Cuisinier en restauration collective",),
        commune="Lyon",
        jobs="Cuisinier",
        editions_=(w.montpellier,),
    )
    for user in (w.candidate, cook):
        await cv_pool.give(
            session, user, level=PoolLevel.EDITION, months=3, edition_id=w.montpellier.id
        )
    viewer = await cv_pool.viewer_of(session, w.recruiters["montpellier"])
    assert viewer is not None
    found = await cv_pool.search(session, viewer=viewer, query=cv_pool.PoolQuery(q="électriciens"))
    assert [p.user_id for p in found.profiles] == [w.candidate.id]
    assert found.total == 1
    near = await cv_pool.search(
        session, viewer=viewer, query=cv_pool.PoolQuery(commune="Montpellier", radius_km=20)
    )
    assert [(p.user_id, p.commune) for p in near.profiles] == [(w.candidate.id, "Lattes")]
    both = await cv_pool.search(
        session, viewer=viewer, query=cv_pool.PoolQuery(commune="Montpellier")
    )
    assert [p.user_id for p in both.profiles] == [w.candidate.id, cook.id]
    assert both.profiles[0].distance_km is not None and both.profiles[0].distance_km < 10


async def test_a_short_stem_of_a_longer_word_is_matched_whole(session) -> None:  # type: ignore[no-untyped-def]
    """ "vie" is the stem "vi", which starts "visites" and "Villeneuve": whole, as the offers'
    search matches it (fair.search.match.typed); "vi" typed as it is still starts them."""
    clock.set_now(f.NOON)
    w = await world(session)
    carer = await pool_candidate(
        session,
        lines=("Auxiliaire de vie sociale",),
        commune="Lyon",
        jobs="Aide à domicile",
        editions_=(w.montpellier,),
    )
    seller = await pool_candidate(
        session,
        lines=("Visites clients, secteur de Villeneuve",),
        commune="Lyon",
        jobs="Commercial",
        editions_=(w.montpellier,),
    )
    for user in (carer, seller):
        await cv_pool.give(
            session, user, level=PoolLevel.EDITION, months=3, edition_id=w.montpellier.id
        )
    viewer = await cv_pool.viewer_of(session, w.recruiters["montpellier"])
    assert viewer is not None
    found = await cv_pool.search(session, viewer=viewer, query=cv_pool.PoolQuery(q="vie"))
    assert [p.user_id for p in found.profiles] == [carer.id]
    found = await cv_pool.search(session, viewer=viewer, query=cv_pool.PoolQuery(q="vi"))
    assert {p.user_id for p in found.profiles} == {carer.id, seller.id}


async def test_consent_levels_period_and_withdrawal(session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    w = await world(session)
    assert w.candidate is not None
    candidate = w.candidate
    viewers = {k: await cv_pool.viewer_of(session, u) for k, u in w.recruiters.items()}
    assert viewers["pending"] is None and viewers["archived"] is None

    async def seen() -> set[str]:
        out = set()
        for name, viewer in viewers.items():
            if viewer is None:
                continue
            page = await cv_pool.search(session, viewer=viewer, query=cv_pool.PoolQuery())
            if [p.user_id for p in page.profiles] == [candidate.id]:
                out.add(name)
        return out

    assert await seen() == set()
    first = await cv_pool.give(
        session, candidate, level=PoolLevel.EDITION, months=3, edition_id=w.montpellier.id
    )
    assert await seen() == {"montpellier"}
    await cv_pool.give(
        session, candidate, level=PoolLevel.TERRITORY, months=12, edition_id=w.montpellier.id
    )
    assert await seen() == {"montpellier", "montpellier2"}
    third = await cv_pool.give(
        session, candidate, level=PoolLevel.NETWORK, months=1, edition_id=None
    )
    assert await seen() == {"montpellier", "montpellier2", "lyon"}
    clock.set_now(f.NOON + timedelta(days=32))
    assert third.ends_at == datetime(2026, 4, 10, 11, 0, tzinfo=UTC) and await seen() == set()
    renewed = await cv_pool.renew(session, candidate, months=6)
    assert (renewed.level, renewed.starts_at) == (3, clock.now())
    assert await seen() == {"montpellier", "montpellier2", "lyon"}
    await cv_pool.withdraw(session, candidate)
    assert await seen() == set()
    rows = await cv_pool.history(session, candidate.id)
    assert [(r.level, r.replaced_at is not None, r.withdrawn_at is not None) for r in rows] == [
        (3, False, True),
        (3, True, False),
        (2, True, False),
        (1, True, False),
    ]
    assert rows[-1].id == first.id and {r.wording for r in rows} == {cv_pool.WORDING}
    with pytest.raises(Invalid) as refused:
        await cv_pool.give(
            session, candidate, level=PoolLevel.EDITION, months=13, edition_id=w.archived.id
        )
    assert refused.value.fields == {
        "months": "Choose a period of 12 months at most.",
        "edition_id": "Choose one of the editions you take part in.",
    }


async def test_opening_a_profile_is_logged_and_masked(session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    w = await world(session)
    lines = (
        "Jeanne Dupré",
        "jeanne.dupre@example.fr - 06 12 34 56 78",
        "12 rue des Lilas, 34970 Lattes",
        "Électricienne, habilitation B1V",
    )
    jeanne = await pool_candidate(
        session, lines=lines, name="Jeanne Dupré", editions_=(w.montpellier,)
    )
    consent = await cv_pool.give(
        session, jeanne, level=PoolLevel.EDITION, months=1, edition_id=w.montpellier.id
    )
    recruiter = w.recruiters["montpellier"]
    viewer = await cv_pool.viewer_of(session, recruiter)
    assert viewer is not None
    row = await session.scalar(select(CvText).where(CvText.user_id == jeanne.id))
    opened = await cv_pool.open_profile(session, viewer=viewer, ref=row.ref)
    assert opened.contact is None
    assert opened.profile.excerpt == (
        "[…] […]\n[…] - […]\n[…], 34970 Lattes\nÉlectricienne, habilitation B1V"
    )
    log = await access_log.of_subject(session, jeanne.id)
    assert [(a.viewer_id, a.viewer, a.what, a.consent_id) for a in log] == [
        (recruiter.id, viewer.name, AccessKind.POOL_PROFILE.value, consent.id)
    ]
    lyon = await cv_pool.viewer_of(session, w.recruiters["lyon"])
    assert lyon is not None
    with pytest.raises(NotFound):
        await cv_pool.open_profile(session, viewer=lyon, ref=row.ref)
    assert len(await access_log.of_subject(session, jeanne.id)) == 1
    assert (
        await session.scalar(select(PoolConsent.id).where(PoolConsent.user_id == jeanne.id))
        == consent.id
    )


async def test_job_search_filters(session) -> None:  # type: ignore[no-untyped-def]
    """A job wanted, a contract accepted (none named: any), available by a day (none given:
    available), a means of transport, and reachable from a commune (no distance given: mobile)."""
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    recruiter = await recruiter_at(session, edition)
    driver = await pool_candidate(session, commune="Lattes", editions_=(edition,))
    blank = await pool_candidate(session, commune="Lyon", editions_=(edition,))
    job = rome.job("N1101")
    assert job is not None
    await job_search.update(
        session,
        driver,
        wanted=job_search.Wanted(
            targets=(job_search.Target(job.code, job.label),),
            max_distance_km=10,
            transport=Transport.CAR,
            contracts=frozenset({Contract.TEMPORARY}),
            available_from=date(2026, 4, 1),
        ),
    )
    for user in (driver, blank):
        await cv_pool.give(session, user, level=PoolLevel.EDITION, months=1, edition_id=edition.id)
    viewer = await cv_pool.viewer_of(session, recruiter)
    assert viewer is not None

    async def found(**kw: object) -> list[int]:
        page = await cv_pool.search(session, viewer=viewer, query=cv_pool.PoolQuery(**kw))  # type: ignore[arg-type]
        return sorted(p.user_id for p in page.profiles)

    both = sorted([driver.id, blank.id])
    assert await found(rome="N1101") == [driver.id]
    assert await found(contract="cdi") == [blank.id]
    assert await found(contract="temporary") == both
    assert await found(available_by=date(2026, 3, 20)) == [blank.id]
    assert await found(available_by=date(2026, 4, 1)) == both
    assert await found(transport="car") == [driver.id]
    assert await found(commune="Montpellier", reachable=True) == both
    assert await found(commune="Sète", reachable=True) == [blank.id]
    page = await cv_pool.search(session, viewer=viewer, query=cv_pool.PoolQuery(rome="N1101"))
    assert page.profiles[0].wanted is not None
    assert page.profiles[0].wanted.targets == (job_search.Target(job.code, job.label),)
    with pytest.raises(Invalid) as refused:
        await cv_pool.search(
            session, viewer=viewer, query=cv_pool.PoolQuery(rome="Z9999", reachable=True)
        )
    assert refused.value.fields == {
        "rome": "Choose the jobs in the list of job names.",
        "commune": "Choose the commune the distance is measured from.",
    }


async def test_the_index_follows_the_profile_and_the_cv(session) -> None:  # type: ignore[no-untyped-def]
    """A new CV is read again, a saved profile refreshes the jobs and the place; a CV stored
    without its text (before extraction existed) is found stale and read by the worker's
    steps (stale, extract outside the transaction, store)."""
    clock.set_now(f.NOON)
    user = await pool_candidate(session, lines=("Soudeur TIG",), commune="Lattes", jobs="Soudeur")
    first = await session.get(CvText, user.id)
    assert (first.status, first.pages, first.content, first.jobs, first.commune_code) == (
        "ok",
        1,
        "Soudeur TIG",
        "Soudeur",
        "34129",
    )
    ref = first.ref
    await candidates.set_cv(session, user, filename="cv.pdf", data=text_pdf("Chaudronnier"))
    await candidates.update(
        session,
        user,
        data=candidates.ProfileInput(
            name=user.name, phone="", commune="Sète", wanted_jobs="Chaudronnier"
        ),
    )
    row = await session.get(CvText, user.id)
    assert (row.ref, row.content, row.jobs, row.commune_code) == (
        ref,
        "Chaudronnier",
        "Chaudronnier",
        "34301",
    )
    assert row.content_stems == "chaudronni" and row.jobs_stems == "chaudronni"
    await session.delete(row)
    await session.flush()
    profile = await session.get(CandidateProfile, user.id)
    assert await cv_text.stale(session) == [(user.id, profile.cv_file_id)]
    data = await cv_text.file_data(session, profile.cv_file_id)
    extracted = await cv_text.extract(data)
    assert await cv_text.store(
        session, user_id=user.id, file_id=profile.cv_file_id, extracted=extracted
    )
    assert await cv_text.stale(session) == []
    again = await session.get(CvText, user.id)
    assert (again.content, again.jobs, again.commune_code) == (
        "Chaudronnier",
        "Chaudronnier",
        "34301",
    )
    # A text read from a file the profile no longer holds is not recorded.
    assert not await cv_text.store(session, user_id=user.id, file_id=-1, extracted=extracted)


async def test_the_worker_round_reminds_and_reads_late_cvs(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    late = await pool_candidate(session, lines=("Maçon VRD",), editions_=(edition,))
    reminded = await pool_candidate(session, editions_=(edition,))
    await cv_pool.give(session, reminded, level=PoolLevel.EDITION, months=1, edition_id=edition.id)
    await session.delete(await session.get(CvText, late.id))  # as if stored before extraction
    await db.commit(session)
    clock.set_now(f.NOON + timedelta(days=25))
    assert await worker.pool_round(app.state) == 2
    assert (await fetch.get(CvText, late.id)).content == "Maçon VRD"
    mails = await fetch.scalars(select(OutboxMail.to_addr))
    assert mails == [reminded.email]
    assert await worker.pool_round(app.state) == 0


async def test_contact_requests(session) -> None:  # type: ignore[no-untyped-def]
    """One open request per organisation; a refusal holds for the consent it was made under;
    accepting shows the contact to the whole organisation that asked, and to it only."""
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    temp = await agency(session, admitted=(edition,))
    jeanne = await pool_candidate(session, editions_=(edition,))
    other = await pool_candidate(session, editions_=(edition,))
    await cv_pool.give(session, jeanne, level=PoolLevel.TERRITORY, months=2, edition_id=edition.id)
    ref = (await session.get(CvText, jeanne.id)).ref
    viewers = [await cv_pool.viewer_of(session, u) for u in (recruiter, colleague, temp)]
    mine, ours, theirs = viewers
    assert mine is not None and ours is not None and theirs is not None

    async def ask(viewer: cv_pool.Viewer, user, message: str = "Bonjour") -> str:  # type: ignore[no-untyped-def]
        try:
            await contact_requests.ask(
                session, viewer=viewer, requester=user, ref=ref, message=message
            )
        except FairError as error:
            return error.code
        return "sent"

    assert await ask(mine, recruiter, " ") == "contact.invalid"
    assert await ask(mine, recruiter) == "sent"
    assert await ask(ours, colleague) == "contact.already_requested"
    assert await ask(theirs, temp) == "sent"
    assert await ask(mine, colleague) == "fair.forbidden"  # another person's viewer
    requests = await contact_requests.of_candidate(session, jeanne.id)
    assert [
        (r.organisation, r.employer_id is not None, r.structure_id is not None) for r in requests
    ] == [
        (theirs.organisation, False, True),
        (mine.organisation, True, False),
    ]
    agency_request, employer_request = requests
    with pytest.raises(NotFound):
        await contact_requests.answer(session, other, request_id=employer_request.id, accept=True)
    await contact_requests.answer(session, jeanne, request_id=employer_request.id, accept=False)
    await contact_requests.answer(session, jeanne, request_id=agency_request.id, accept=True)
    with pytest.raises(Conflict):
        await contact_requests.answer(session, jeanne, request_id=agency_request.id, accept=False)
    assert await ask(ours, colleague) == "contact.declined"
    assert await ask(theirs, temp) == "contact.already_accepted"
    opened = [await cv_pool.open_profile(session, viewer=v, ref=ref) for v in viewers]
    assert [o.contact.email if o.contact else None for o in opened] == [None, None, jeanne.email]
    await cv_pool.renew(session, jeanne, months=3)
    assert await ask(ours, colleague) == "sent"  # a new consent: they may ask again
    kinds = await session.scalars(
        select(Notice.kind).where(Notice.kind.like("contact%")).order_by(Notice.id)
    )
    assert list(kinds) == [
        "contact_request",
        "contact_request",
        "contact_answer",
        "contact_answer",
        "contact_request",
    ]
