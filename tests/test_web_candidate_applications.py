"""The candidate's list of applications never links to an offer they cannot open."""

from __future__ import annotations

import re

from fair import applications, db, offers
from fair.enums import ApplicationStatus
from tests import factories as f
from tests.conftest import login


def links_to(page: str, path: str) -> int:
    return len(re.findall(f'href="{re.escape(path)}"', page))


async def test_an_offer_the_employer_hid_is_listed_without_its_link(client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    shown = await f.offer(session, booth_=booth, title="Cariste")
    hidden = await f.offer(session, booth_=booth, title="Magasinier")
    candidate = await f.candidate(session, locale="en")
    await f.application(session, offer_=shown, candidate_=candidate)
    withdrawn = await f.application(session, offer_=hidden, candidate_=candidate)
    await applications.set_status(session, withdrawn, ApplicationStatus.WITHDRAWN, by=candidate)
    await offers.set_published(session, hidden, False)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, candidate.email, f.PASSWORD)

    page = (await client.get("/me/applications")).text

    assert links_to(page, f"/offers/{shown.id}") == 1
    assert links_to(page, f"/offers/{hidden.id}") == 0
    assert page.count("The employer no longer shows this offer.") == 1
    assert (await client.get(f"/offers/{hidden.id}")).status_code == 404
