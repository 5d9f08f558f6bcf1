"""The day an offer's position is to be filled (`Offer.starts_on`): typed by the recruiter in
the offer form (read by fair.parse.day: a clear field error otherwise, nothing saved), shown on
the offer's page ("as soon as possible" when none) and in the form again, and carried by the
public API."""

from __future__ import annotations

import html
import re
from datetime import date, datetime

from sqlalchemy import func, select

from fair import clock, db
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


async def test_a_start_date_before_today_is_refused_unless_the_edited_offer_had_it(  # type: ignore[no-untyped-def]
    client, session, fetch
):
    """Today is the day in the edition's time zone (Europe/Paris): at 00:30 in Paris on
    10 March, 9 March is past although it is still 9 March in UTC. An offer that already had a
    date now past stays editable with it; moving it to another past day is refused."""
    clock.set_now(datetime(2026, 3, 9, 12, 0, tzinfo=f.PARIS))
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    old = await f.offer(session, booth_=booth, starts_on=date(2026, 3, 9))
    await db.commit(session)
    clock.set_now(datetime(2026, 3, 10, 0, 30, tzinfo=f.PARIS))
    await login(client, recruiter.email, f.PASSWORD)
    new = f"/recruiter/booths/{booth.id}/offers/new"
    token = await csrf(client, new)
    refused = (
        "Choisissez une date de début à partir d’aujourd’hui, "
        "ou laissez le champ vide pour « dès que possible »."
    )

    form = {"csrf_token": token, **OFFER_FORM, "starts_on": "2026-03-09"}
    response = await client.post(new, data=form)
    assert response.status_code == 422
    assert errors(response.text) == {"starts_on": refused}
    form = {"csrf_token": token, **OFFER_FORM, "starts_on": "2026-03-10"}
    assert (await client.post(new, data=form)).status_code == 303

    edit = f"/recruiter/offers/{old.id}"
    form = {"csrf_token": token, **OFFER_FORM, "title": "Renamed", "starts_on": "2026-03-09"}
    assert (await client.post(edit, data=form)).status_code == 303
    form = {**form, "starts_on": "2026-03-08"}
    response = await client.post(edit, data=form)
    assert response.status_code == 422
    assert errors(response.text) == {"starts_on": refused}
    rows = await fetch.scalars(select(Offer).order_by(Offer.id))
    assert [(o.title, o.starts_on) for o in rows] == [
        ("Renamed", date(2026, 3, 9)),
        (OFFER_FORM["title"], date(2026, 3, 10)),
    ]
