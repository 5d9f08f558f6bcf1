"""A recruiter's public profile page: job title and photo, the photo only with their agreement."""

from __future__ import annotations

import re

from fair import db
from fair.enums import Role
from fair.models import RecruiterProfile, StoredFile
from tests import factories as f
from tests.conftest import csrf
from tests.pages import person, text

PAGE = "/recruiter/profile"


def errors(page: str) -> list[str]:
    return [text(e) for e in re.findall(r'<p class="field-error" id="e-[^"]*">(.*?)</p>', page)]


async def _send(client, **data: object):  # type: ignore[no-untyped-def]
    files = data.pop("files", None)
    token = await csrf(client, PAGE)
    return await client.post(PAGE, data={"csrf_token": token, **data}, files=files)


async def test_a_photo_needs_the_recruiters_agreement_and_an_image(session, make_client):  # type: ignore[no-untyped-def]
    recruiter = await f.user(session, Role.RECRUITER)
    await db.commit(session)
    client = await person(make_client, recruiter)
    png = {"photo": ("moi.png", f.png_bytes(), "image/png")}

    refused = await _send(client, job_title="Chargée de recrutement", files=png)
    assert refused.status_code == 422
    assert errors(refused.text) == [
        "Tick the box to agree that candidates see your photo, or choose no photo."
    ]

    not_image = {"photo": ("moi.png", b"%PDF-1.4 not an image", "image/png")}
    refused = await _send(client, job_title="", photo_consent="on", files=not_image)
    assert refused.status_code == 422
    assert errors(refused.text) == [
        "This file is not an image. Please choose a PNG, JPEG, WebP or GIF file."
    ]

    refused = await _send(client, job_title="x" * 121)
    assert (refused.status_code, errors(refused.text)) == (422, ["120 characters at most."])
    await db.commit(session)
    assert await session.get(RecruiterProfile, recruiter.id) is None  # nothing half-written

    saved = await _send(client, job_title="Chargée de recrutement", photo_consent="on", files=png)
    assert (saved.status_code, saved.headers["location"]) == (303, PAGE)
    await db.commit(session)  # a new transaction: sees what the app committed
    found = await session.get(RecruiterProfile, recruiter.id, populate_existing=True)
    assert found is not None
    assert found.job_title == "Chargée de recrutement"
    stored = await session.get(StoredFile, found.photo_file_id)
    assert stored is not None
    assert (stored.kind, stored.content_type, stored.owner_id) == (
        "photo",
        "image/png",
        recruiter.id,
    )
    page = (await client.get(PAGE)).text
    assert f'src="/files/images/{stored.id}/128" alt="Your current photo"' in page

    removed = await _send(client, job_title="Chargée de recrutement", remove_photo="on")
    assert removed.status_code == 303
    await db.commit(session)  # a new transaction: sees what the app committed
    found = await session.get(RecruiterProfile, recruiter.id, populate_existing=True)
    assert found is not None
    assert found.photo_file_id is None
    assert await session.get(StoredFile, stored.id, populate_existing=True) is None


async def test_saving_nothing_stores_nothing(session, make_client):  # type: ignore[no-untyped-def]
    recruiter = await f.user(session, Role.RECRUITER)
    await db.commit(session)
    client = await person(make_client, recruiter)

    assert (await _send(client, job_title="")).status_code == 303

    await db.commit(session)
    assert await session.get(RecruiterProfile, recruiter.id) is None


async def test_only_recruiters_have_this_page(session, make_client):  # type: ignore[no-untyped-def]
    candidate = await f.candidate(session)
    organiser = await f.user(session, Role.ORGANISER)
    await db.commit(session)
    for user in (candidate, organiser):
        client = await person(make_client, user)
        assert (await client.get(PAGE)).status_code == 403
