"""The whole journey over HTTP, and bad input at each step."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from fair import db, employers
from fair.enums import ApplicationStatus, BoothStatus, Role
from fair.models import Application, Booth, Employer, Offer, OutboxMail, StoredFile
from tests import factories as f
from tests.conftest import confirm_signup, csrf, login
from tests.pages import OFFER_FORM
from tests.statements import cold


async def _count(fetch, model) -> int:  # type: ignore[no-untyped-def]
    return int(await fetch.scalar(select(func.count()).select_from(model)))


async def test_journey(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    recruiter = await f.user(session, Role.RECRUITER)
    admin = await f.user(session, Role.ADMIN)
    await db.commit(session)

    # The recruiter registers an employer and asks for a booth.
    await login(client, recruiter.email, f.PASSWORD)
    token = await csrf(client, "/recruiter/employers/new")
    response = await client.post(
        "/recruiter/employers/new",
        data={
            "csrf_token": token,
            "name": "Watt Sud",
            "siret": f.siret(777),
            "naf_code": "4321a",
            "size": "10-49",
            "commune": "Lattes",
        },
        files={"logo": ("logo.png", f.png_bytes(), "image/png")},
    )
    assert response.status_code == 303
    employer = await fetch.scalar(select(Employer).where(Employer.name == "Watt Sud"))
    assert (employer.naf_code, employer.logo_file_id is not None) == ("43.21A", True)
    response = await client.post(
        f"/recruiter/employers/{employer.id}/booths",
        data={"csrf_token": token, "edition_id": str(edition.id)},
    )
    assert response.status_code == 303
    booth = await fetch.scalar(select(Booth).where(Booth.employer_id == employer.id))
    assert booth.status == "requested"

    # Approved by the organiser (the organiser's pages have their own tests).
    booth = await session.get(Booth, booth.id)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=admin)
    await db.commit(session)

    # The recruiter publishes an offer.
    response = await client.post(
        f"/recruiter/booths/{booth.id}/offers/new", data={"csrf_token": token, **OFFER_FORM}
    )
    assert response.status_code == 303, response.text
    offer = await fetch.scalar(select(Offer).where(Offer.booth_id == booth.id))
    assert (offer.title, offer.skills, offer.no_diploma, offer.positions) == (
        "Électricien du bâtiment (H/F)",
        ["Habilitation électrique", "Lecture de plans"],
        True,
        2,
    )

    # A candidate signs up, searches with an accented plural and a radius, applies with a PDF.
    candidate = make_client()
    token_c = await csrf(candidate, "/signup")
    response = await candidate.post(
        "/signup",
        data={
            "csrf_token": token_c,
            "role": "candidate",
            "name": "Nadia B",
            "email": "nadia@example.fr",
            "password": "un mot de passe sûr",
        },
    )
    assert response.status_code == 303
    assert (await confirm_signup(candidate, fetch, "nadia@example.fr")).status_code == 303
    page = await candidate.get(
        f"/e/{edition.slug}/offers",
        params={"q": "électriciens", "commune": "Montpellier", "radius_km": "10"},
    )
    assert page.status_code == 200
    assert re.findall(r'<h2><a href="/offers/(\d+)">', page.text) == [str(offer.id)]
    far = await candidate.get(
        f"/e/{edition.slug}/offers",
        params={"q": "electricien", "commune": "Nîmes", "radius_km": "20"},
    )
    assert re.findall(r'<h2><a href="/offers/(\d+)">', far.text) == []
    token_c = await csrf(candidate, f"/offers/{offer.id}")
    response = await candidate.post(
        f"/offers/{offer.id}/apply",
        data={"csrf_token": token_c, "message": "Disponible tout de suite."},
        files={"cv": ("mon cv.pdf", f.pdf_bytes(), "application/pdf")},
    )
    assert response.status_code == 303, response.text
    application = await fetch.scalar(select(Application))
    assert (application.status, application.message) == ("submitted", "Disponible tout de suite.")

    # The recruiter sees it in the pipeline, opens the CV and shortlists.
    page = await client.get(f"/recruiter/booths/{booth.id}/applications")
    assert "Nadia B" in page.text
    cv = await client.get(f"/recruiter/applications/{application.id}/cv")
    assert (cv.status_code, cv.headers["content-type"], cv.content[:5]) == (
        200,
        "application/pdf",
        b"%PDF-",
    )
    response = await client.post(
        f"/recruiter/applications/{application.id}/status",
        data={"csrf_token": token, "status": "shortlisted"},
    )
    assert response.status_code == 303

    # The candidate sees the new status.
    page = await candidate.get("/me/applications")
    assert re.findall(r'data-status="([a-z_]+)"', page.text) == ["shortlisted"]
    notices = await candidate.get("/me/notices")
    assert "Présélectionnée" in notices.text or "Shortlisted" in notices.text


async def test_bad_inputs_change_nothing(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    other_booth, other_recruiter = await f.booth(session, edition_=edition)
    other_offer = await f.offer(session, booth_=other_booth)
    candidate_user = await f.user(session, Role.CANDIDATE)
    other_application = await f.application(session, offer_=other_offer)
    await db.commit(session)
    files_before = await _count(fetch, StoredFile)

    candidate = make_client()
    await login(candidate, candidate_user.email, f.PASSWORD)
    token = await csrf(candidate, f"/offers/{offer.id}")

    # A file named .pdf that is not a PDF.
    response = await candidate.post(
        f"/offers/{offer.id}/apply",
        data={"csrf_token": token, "message": "Bonjour"},
        files={"cv": ("cv.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")},
    )
    assert response.status_code == 422
    assert "PDF" in response.text and "Bonjour" in response.text  # the message is kept
    # A 20 MB file.
    big = b"%PDF-1.4\n" + b"0" * (20 * 1024 * 1024)
    response = await candidate.post(
        f"/offers/{offer.id}/apply",
        data={"csrf_token": token},
        files={"cv": ("cv.pdf", big, "application/pdf")},
    )
    assert response.status_code == 413
    assert "12 Mo" in response.text or "12 MB" in response.text
    # A 6 MB PDF passes the request limit but not the CV limit.
    response = await candidate.post(
        f"/offers/{offer.id}/apply",
        data={"csrf_token": token},
        files={"cv": ("cv.pdf", b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024), "application/pdf")},
    )
    assert response.status_code == 413
    # A forged CSRF token.
    response = await candidate.post(
        f"/offers/{offer.id}/apply",
        data={"csrf_token": "forged"},
        files={"cv": ("cv.pdf", f.pdf_bytes(), "application/pdf")},
    )
    assert response.status_code == 403
    # A missing field: no CV at all.
    response = await candidate.post(f"/offers/{offer.id}/apply", data={"csrf_token": token})
    assert response.status_code == 422
    assert await _count(fetch, StoredFile) == files_before
    assert await _count(fetch, Application) == 1

    # Another booth's application, reached by its URL.
    await login(client, recruiter.email, f.PASSWORD)
    for path in (
        f"/recruiter/applications/{other_application.id}",
        f"/recruiter/applications/{other_application.id}/cv",
    ):
        assert (await client.get(path)).status_code == 404
    token_r = await csrf(client, "/recruiter")
    response = await client.post(
        f"/recruiter/applications/{other_application.id}/status",
        data={"csrf_token": token_r, "status": "not_retained"},
    )
    assert response.status_code == 404
    other_application = await fetch.get(Application, other_application.id)
    assert other_application.status == ApplicationStatus.SUBMITTED
    page = await client.get(f"/recruiter/booths/{other_booth.id}/applications")
    assert page.status_code == 403

    # A wrong SIRET.
    response = await client.post(
        "/recruiter/employers/new",
        data={
            "csrf_token": token_r,
            "name": "Faux",
            "siret": "12345678901234",
            "naf_code": "43.21A",
            "size": "0-9",
            "commune": "Sète",
        },
    )
    assert response.status_code == 422
    assert "SIRET" in response.text and 'value="Faux"' in response.text
    assert await fetch.scalar(select(Employer).where(Employer.name == "Faux")) is None


async def test_apply_after_window(client, session, fetch):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from fair import clock

    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    candidate_user = await f.candidate(session)
    await db.commit(session)
    await login(client, candidate_user.email, f.PASSWORD)
    token = await csrf(client, f"/offers/{offer.id}")
    mails = await _count(fetch, OutboxMail)
    clock.set_now(edition.applications_close_at + timedelta(minutes=1))
    response = await client.post(f"/offers/{offer.id}/apply", data={"csrf_token": token})
    assert response.status_code == 409
    assert "clos" in response.text or "closed" in response.text
    assert await _count(fetch, Application) == 0
    assert await _count(fetch, OutboxMail) == mails


async def test_missing_offer_field_keeps_the_form(client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await db.commit(session)
    await login(client, recruiter.email, f.PASSWORD)
    token = await csrf(client, f"/recruiter/booths/{booth.id}/offers/new")
    form = {**OFFER_FORM, "title": "", "description": "Une description à garder"}
    response = await client.post(
        f"/recruiter/booths/{booth.id}/offers/new", data={"csrf_token": token, **form}
    )
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text and "Une description à garder" in response.text
    assert await _count(fetch, Offer) == 0


async def test_pipeline_queries_do_not_grow_with_applications(app, client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    await f.application(session, offer_=offer)
    await db.commit(session)
    await login(client, recruiter.email, f.PASSWORD)
    with cold(app) as one:
        await client.get(f"/recruiter/booths/{booth.id}/applications")
    for _ in range(5):
        await f.application(session, offer_=offer)
    await db.commit(session)
    with cold(app) as six:
        page = await client.get(f"/recruiter/booths/{booth.id}/applications")
    assert page.text.count('name="application"') == 6
    assert len(six) == len(one), six
