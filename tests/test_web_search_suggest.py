"""The offer search's suggestions as the person types (fair.suggest, GET
/e/<slug>/offers/suggest): job names from the ROME labels and the coded offers' titles, or from
the imported appellations; communes by name or postcode, the edition's territory first."""

from __future__ import annotations

from sqlalchemy import insert

from fair import db, rome_suggest, search
from fair.models import RomeAppellation, RomeCode
from tests import factories as f


def labels(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [s["label"] for s in response.json()["suggestions"]]


async def test_jobs_from_the_rome_labels_and_the_offers_titles(client, session):  # type: ignore[no-untyped-def]
    rome_suggest.invalidate()
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Chauffeur livreur VL", rome_code="N4105")
    await db.commit(session)
    url = f"/e/{edition.slug}/offers/suggest"

    found = labels(await client.get(url, params={"field": "job", "q": "chauf"}))
    # The shipped ROME labels and the offer's own title, those beginning as typed first.
    assert "Chauffeur livreur VL" in found and "Chauffagiste" in found
    assert all(any(w.startswith("chauf") for w in search.words(label)) for label in found)
    firsts = [search.words(label)[0].startswith("chauf") for label in found]
    assert firsts == sorted(firsts, reverse=True)
    # Every typed word begins a word of the name, accents and case aside.
    both = labels(await client.get(url, params={"field": "job", "q": "CONDUCTEUR lou"}))
    assert both and all("conducteur" in s.lower() and " lou" in s.lower() for s in both)
    assert labels(await client.get(url, params={"field": "job", "q": "c"})) == []
    assert labels(await client.get(url, params={"field": "job", "q": "zzzqx"})) == []


async def test_jobs_from_the_imported_appellations(client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    session.add(RomeCode(code="J1501", label="Aide-soignant / Aide-soignante", parent="J1501"))
    await session.flush()
    await session.execute(
        insert(RomeAppellation),
        [
            {
                "code": "J1501",
                "code_ogr": "11111",
                "label": "Aide-soignant / Aide-soignante",
                "stems": "",
            },  # fmt: skip
            {
                "code": "J1501",
                "code_ogr": "11112",
                "label": "Aide-soignant de nuit",
                "stems": "",
            },  # fmt: skip
        ],
    )
    await db.commit(session)
    rome_suggest.invalidate()
    url = f"/e/{edition.slug}/offers/suggest"
    found = labels(await client.get(url, params={"field": "job", "q": "aide soi"}))
    assert sorted(found) == ["Aide-soignant / Aide-soignante", "Aide-soignant de nuit"]
    # Only the referential's names once one is imported, not the shipped code labels; and
    # the synonym list's words, imported or not.
    found = labels(await client.get(url, params={"field": "job", "q": "electric"}))
    assert found == ["Électricité"]
    rome_suggest.invalidate()


async def test_jobs_from_the_synonym_list(client, session):  # type: ignore[no-untyped-def]
    """The words job seekers type for trades (fair/data/search_synonyms.toml's keys), which
    the search widens, are suggested beside the names: "aide à domicile" is no ROME label.
    Acronyms as the list writes them, in capitals; a name beginning as typed first."""
    rome_suggest.invalidate()
    edition = await f.edition(session)
    await db.commit(session)
    url = f"/e/{edition.slug}/offers/suggest"
    found = labels(await client.get(url, params={"field": "job", "q": "aide a dom"}))
    assert found == ["Aide à domicile", "Responsable de secteur d'aide à domicile"]
    found = labels(await client.get(url, params={"field": "job", "q": "ash"}))
    assert found == ["ASH", "Agent / Agente de service hospitalier (ASH)"]
    rome_suggest.invalidate()


async def test_communes_by_name_or_postcode(client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    await f.booth(session, edition_=edition)  # its employer is in Montpellier (Hérault)
    await db.commit(session)
    url = f"/e/{edition.slug}/offers/suggest"

    def ask(q: str):  # type: ignore[no-untyped-def]
        return client.get(url, params={"field": "commune", "q": q})

    assert labels(await ask("lat"))[0] == "Lattes (34970)"
    assert labels(await ask("montpel"))[0] == "Montpellier (34000)"
    # A postcode: every commune it serves, the value naming the one meant (fair.geo.lookup).
    shared = (await ask("34400")).json()["suggestions"]
    assert shared[0] == {"label": "Lunel (34400)", "value": "Lunel (34400)"}
    assert len(shared) == 8 and all(s["label"].endswith("(34400)") for s in shared)
    assert (await ask("34970")).json()["suggestions"] == [
        {"label": "Lattes (34970)", "value": "Lattes"}
    ]
    assert labels(await ask("saint je"))[:1] and all(
        s.startswith("Saint-Je") for s in labels(await ask("saint je"))
    )
    assert labels(await ask("l")) == [] and labels(await ask("xqzw")) == []


async def test_a_field_not_suggested_is_refused(client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    await db.commit(session)
    client.cookies.set("lang", "fr")
    url = f"/e/{edition.slug}/offers/suggest"
    refused = await client.get(url, params={"field": "salary", "q": "12"})
    assert refused.status_code == 422
    assert (
        await client.get("/e/nowhere/offers/suggest", params={"field": "job"})
    ).status_code == 404
