"""The booth hall's page (GET /e/<slug>/booths): filters in the URL and back in the form,
refused values answered in the reader's language (never a 500), pages, and a number of
statements that does not grow with the booths."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db
from tests.factories import NOON
from tests.hall_setup import hall_booth as _booth
from tests.hall_setup import make_hall
from tests.pages import text_of
from tests.statements import cold


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


def shown(html: str) -> list[str]:
    """The employers' names of the hall's cards, in order."""
    return re.findall(r'<h3><a href="/e/[^/]+/booths/\d+">([^<]*)</a></h3>', html)


async def test_filters_round_trip(session: AsyncSession, client: httpx.AsyncClient) -> None:
    made = await make_hall(session)
    await db.commit(session)
    url = f"/e/{made.edition.slug}/booths"

    page = await client.get(url)
    assert page.status_code == 200
    assert shown(page.text) == [
        "Alpha Bâtiment",
        "boulangerie Beta",
        "Clinique Gamma",
        "Delta Logistique",
        "Foxtrot Services",
    ]
    assert "5 stands" in text_of(page.text) and "Retirer les filtres" not in page.text

    page = await client.get(
        url, params={"sector": "43", "commune": "Montpellier", "radius_km": "5"}
    )
    assert shown(page.text) == ["Alpha Bâtiment", "Foxtrot Services"]
    assert '<option value="43" selected>Travaux de construction spécialisés</option>' in page.text
    assert 'name="commune" type="text" value="Montpellier"' in page.text
    assert '<option value="5" selected>Dans un rayon de 5 km</option>' in page.text
    assert f'<a href="{url}">Retirer les filtres</a>' in page.text

    query = [("contract", "cdd"), ("contract", "apprenticeship"), ("no_diploma", "on")]
    page = await client.get(url, params=query)
    assert shown(page.text) == ["boulangerie Beta", "Clinique Gamma"]
    checked = re.findall(
        r'<input type="checkbox" id="[^"]+" name="(\w+)"(?: value="(\w+)")? checked>', page.text
    )
    assert checked == [("contract", "cdd"), ("contract", "apprenticeship"), ("no_diploma", "")]
    assert '<details class="more" open>' in page.text

    page = await client.get(url, params={"q": "DELTA", "present": "on", "slots": "on"})
    assert shown(page.text) == ["Delta Logistique"]
    assert "Recruteur présent" in page.text and 'value="DELTA"' in page.text

    page = await client.get(url, params={"q": "zzz"})
    assert shown(page.text) == []
    assert "Aucun stand ne correspond à ces filtres." in text_of(page.text)

    # Outside live hours: no staffing on the cards, no "present now" to filter by.
    assert 'name="present"' in page.text
    clock.set_now(NOON.replace(day=20))
    page = await client.get(url)
    assert 'name="present"' not in page.text and "data-staffing" not in page.text
    assert "data-edition-id" not in page.text and len(shown(page.text)) == 5


async def test_refused_values_in_the_readers_language(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    made = await make_hall(session)
    await db.commit(session)
    url = f"/e/{made.edition.slug}/booths"
    query = {"sector": "zz", "commune": "Nulle-Part-sur-Mer", "radius_km": "abc", "contract": "job"}
    page = await client.get(url, params=query)
    assert page.status_code == 422
    summary = re.findall(r'<li><a href="#f-(\w+)">([^<]*)</a></li>', page.text)
    assert summary == [
        ("sector", "Choisissez un secteur dans la liste."),
        (
            "commune",
            "Aucune commune ne s&#39;appelle Nulle-Part-sur-Mer : vérifiez l&#39;orthographe,"
            " ou saisissez son code postal.",
        ),
        ("radius_km", "Choisissez une distance dans la liste."),
        ("contracts", "Choisissez des types de contrat dans la liste."),
    ]
    assert shown(page.text) == [] and 'id="f-contracts"' in page.text
    assert 'value="Nulle-Part-sur-Mer" aria-describedby="h-commune e-commune"' in page.text

    client.cookies.set("lang", "en")
    page = await client.get(url, params={"radius_km": "10", "q": "x" * 150})
    assert page.status_code == 422
    assert re.findall(r'<li><a href="#f-(\w+)">([^<]*)</a></li>', page.text) == [
        ("q", "Keep the name under 100 characters."),
        ("commune", "Choose the commune the distance is measured from."),
    ]
    # A page number typed by hand: the first page, or the last one.
    for number in ("abc", "-3", "0", "99999999999999999999", "7"):
        page = await client.get(url, params={"page": number})
        assert (page.status_code, len(shown(page.text))) == (200, 5), number


async def test_pages_with_a_fixed_number_of_statements(
    app, session: AsyncSession, client: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    made = await make_hall(session)
    await db.commit(session)
    url = f"/e/{made.edition.slug}/booths"
    query = {"sector": "43", "commune": "Montpellier", "radius_km": "5", "slots": "on"}

    async def statements() -> list[list[str]]:
        """The hall's first page, and with every filter."""
        with cold(app) as first:
            page = await client.get(url)
        with cold(app) as filtered:
            await client.get(url, params=query)
        cards.append(len(shown(page.text)))
        return [first, filtered]

    cards: list[int] = []
    few = await statements()
    for n in range(24):
        await _booth(session, made.edition, f"Zulu {n:02d}", "43.99Z", "Lattes")
    await db.commit(session)
    many = await statements()
    assert cards == [5, 24]
    assert [len(seen) for seen in many] == [len(seen) for seen in few], many

    page = await client.get(url, params={"sector": "43"})
    names = shown(page.text)
    assert len(names) == 24 and names[:3] == ["Alpha Bâtiment", "Foxtrot Services", "Zulu 00"]
    assert "26 stands" in text_of(page.text) and "Page 1 sur 2" in text_of(page.text)
    assert '<a href="?sector=43&amp;page=2" rel="next">Page suivante</a>' in page.text
    page = await client.get(url, params={"sector": "43", "page": "2"})
    assert shown(page.text) == ["Zulu 22", "Zulu 23"]
    assert '<a href="?sector=43&amp;page=1" rel="prev">Page précédente</a>' in page.text
    assert "Page suivante" not in page.text
