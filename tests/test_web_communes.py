"""Commune fields of the forms: a postcode typed in place of a name, homonyms and shared
postcodes refused with the choices listed in the user's language, and the suggestion lists."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from fair import db, geo
from fair.enums import Role
from fair.models import Employer, Offer
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import OFFER_FORM, text


def suggestions(page: str) -> list[str]:
    """The options of the page's commune datalist."""
    found = re.search(r'<datalist id="communes">(.*?)</datalist>', page, re.S)
    assert found is not None
    return re.findall(r'<option value="([^"]*)"', found.group(1).replace("&#39;", "'"))


async def test_offer_form_takes_a_postcode_and_lists_a_shared_ones_communes(client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await db.commit(session)
    client.cookies.set("lang", "fr")
    await login(client, recruiter.email, f.PASSWORD)
    url = f"/recruiter/booths/{booth.id}/offers/new"

    # The employer is in Montpellier: the list offers the 341 communes of the Hérault.
    listed = suggestions((await client.get(url)).text)
    assert len(listed) == 341 and {"Lunel", "Gignac (34150)", "Saint-Just (34400)"} <= set(listed)

    token = await csrf(client, url)
    typed = OFFER_FORM | {"csrf_token": token, "commune": "34970", "postcode": ""}
    assert (await client.post(url, data=typed)).status_code == 303
    [offer] = await fetch.scalars(select(Offer))
    lattes = geo.by_code("34129")
    assert lattes is not None and lattes.name == "Lattes"
    assert (offer.commune, offer.postcode, offer.latitude, offer.longitude) == (
        "Lattes",
        "34970",
        lattes.latitude,
        lattes.longitude,
    )

    shared = await client.post(url, data=typed | {"commune": "34400"})
    assert shared.status_code == 422
    assert (
        "Le code postal 34400 dessert plusieurs communes : Lunel (34400), Lunel-Viel (34400), "
        "Saint-Just (34400), Entre-Vignes (34400), Villetelle (34400), Saturargues (34400), "
        "Saint-Sériès (34400), Saint-Nazaire-de-Pézan (34400). Saisissez celle que vous voulez "
        "dire telle qu'elle est écrite ici."
    ) in text(shared.text)
    wrong = await client.post(url, data=typed | {"commune": "Lunel", "postcode": "34000"})
    assert wrong.status_code == 422
    assert "34000 n'est pas un code postal de Lunel : 34400." in text(wrong.text)
    chosen = await client.post(url, data=typed | {"commune": "Lunel (34400)"})
    assert chosen.status_code == 303
    assert await fetch.scalar(select(Offer.commune).order_by(Offer.id.desc())) == "Lunel"
    assert await fetch.scalar(select(func.count()).select_from(Offer)) == 2


async def test_search_measures_from_a_postcode_and_names_homonyms(client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Cariste", commune="Lunel-Viel", postcode="34400")
    await f.offer(session, booth_=booth, title="Soudeur", commune="Gignac", postcode="34150")
    await f.offer(session, booth_=booth, title="Plombier", commune="Nîmes", postcode="30000")
    await db.commit(session)
    client.cookies.set("lang", "fr")
    url = f"/e/{edition.slug}/offers"

    # The booths' employers are in Montpellier: the suggestions put the Hérault's first.
    asked = await client.get(f"{url}/suggest", params={"field": "commune", "q": "gignac"})
    assert asked.json()["suggestions"][0] == {"label": "Gignac (34150)", "value": "Gignac (34150)"}
    # "St", "Ste" as people type them; "st" alone still begins Strasbourg.
    saint = await client.get(f"{url}/suggest", params={"field": "commune", "q": "st jean de v"})
    assert saint.json()["suggestions"][0]["value"] == "Saint-Jean-de-Védas"
    city = await client.get(f"{url}/suggest", params={"field": "commune", "q": "st"})
    assert "Strasbourg" in [s["value"] for s in city.json()["suggestions"]]

    # 34400 is shared by eight communes: a radius is measured from the main one, Lunel.
    lunel = geo.find("Lunel")
    assert lunel is not None
    near = await client.get(url, params={"commune": "34400", "radius_km": "30"})
    assert near.status_code == 200
    titles = re.findall(r'<h2><a href="/offers/\d+">([^<]*)</a>', near.text)
    expected = []
    for title, name, postcode in (("Cariste", "Lunel-Viel", "34400"), ("Plombier", "Nîmes", "")):
        there = geo.find(name, postcode)
        assert there is not None
        if geo.distance_km(lunel.latitude, lunel.longitude, there.latitude, there.longitude) <= 30:
            expected.append(title)
    assert sorted(titles) == sorted(expected) == ["Cariste", "Plombier"]

    homonyms = await client.get(url, params={"commune": "gignac", "radius_km": "10"})
    assert homonyms.status_code == 422
    assert (
        "Plusieurs communes s'appellent gignac : Gignac (34150), Gignac (46600), Gignac (84400)."
    ) in text(homonyms.text)
    chosen = await client.get(url, params={"commune": "Gignac (34150)", "radius_km": "10"})
    assert re.findall(r'<h2><a href="/offers/\d+">([^<]*)</a>', chosen.text) == ["Soudeur"]


async def test_employer_commune_takes_a_postcode(client, session, fetch):  # type: ignore[no-untyped-def]
    recruiter = await f.user(session, Role.RECRUITER)
    await db.commit(session)
    client.cookies.set("lang", "fr")
    await login(client, recruiter.email, f.PASSWORD)
    token = await csrf(client, "/recruiter/employers/new")
    form = {
        "csrf_token": token,
        "name": "Transports du Vidourle",
        "siret": f.siret(9191),
        "naf_code": "4941A",
        "size": "10-49",
    }
    unknown = await client.post("/recruiter/employers/new", data=form | {"commune": "99999"})
    assert unknown.status_code == 422
    assert "Commune inconnue : saisissez son nom ou son code postal." in text(unknown.text)
    saved = await client.post("/recruiter/employers/new", data=form | {"commune": "84400"})
    assert saved.status_code == 422  # Apt's postcode serves several communes
    saved = await client.post("/recruiter/employers/new", data=form | {"commune": "34970"})
    assert saved.status_code == 303
    assert await fetch.scalar(select(Employer.commune)) == "Lattes"
