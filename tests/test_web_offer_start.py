"""The day an offer's position is to be filled (`Offer.starts_on`): typed by the recruiter in
the offer form (read by fair.parse.day: a clear field error otherwise, nothing saved), shown on
the offer's page ("as soon as possible" when none) and in the form again, and carried by the
public API."""

from __future__ import annotations

import html
import re
from datetime import date

from sqlalchemy import func, select

from fair import db
from fair.models import Offer
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import OFFER_FORM, text


def errors(page: str) -> dict[str, str]:
    """The error summary's links: field name -> message."""
    found = re.findall(r'<li><a href="#f-([\w-]+)">(.*?)</a></li>', page)
    return {name: html.unescape(message) for name, message in found}


async def test_the_recruiter_gives_the_day_and_readers_see_it(client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await db.commit(session)
    await login(client, recruiter.email, f.PASSWORD)
    new = f"/recruiter/booths/{booth.id}/offers/new"
    token = await csrf(client, new)

    for typed, message in (
        ("05/02/2030", "Indiquez une date."),
        ("2030-02-30", "Indiquez une date."),
        ("9999-12-31", "Indiquez une date entre 1900 et 2100."),
    ):
        form = {"csrf_token": token, **OFFER_FORM, "starts_on": typed}
        response = await client.post(new, data=form)
        assert response.status_code == 422, typed
        assert errors(response.text) == {"starts_on": message}
        assert f'value="{typed}"' in response.text  # kept to be corrected
    assert await fetch.scalar(select(func.count()).select_from(Offer)) == 0

    form = {"csrf_token": token, **OFFER_FORM, "starts_on": "2030-02-05"}
    assert (await client.post(new, data=form)).status_code == 303
    form = {"csrf_token": token, **OFFER_FORM, "title": "Électricien tout de suite"}
    assert (await client.post(new, data=form)).status_code == 303
    later, now = await fetch.scalars(select(Offer).order_by(Offer.id))
    assert (later.starts_on, now.starts_on) == (date(2030, 2, 5), None)

    page = text((await client.get(f"/offers/{later.id}")).text)
    assert "Poste à pourvoir mardi 5 février 2030" in page
    page = text((await client.get(f"/offers/{now.id}")).text)
    assert "Poste à pourvoir Dès que possible" in page
    edit = (await client.get(f"/recruiter/offers/{later.id}")).text
    assert re.search(r'name="starts_on" type="date" value="2030-02-05"', edit)

    for offer, day in ((later, "2030-02-05"), (now, None)):
        found = (await client.get(f"/api/v1/offers/{offer.id}")).json()
        assert found["starts_on"] == day
