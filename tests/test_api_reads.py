"""The public read endpoints of /api/v1 (fair/api/reads.py): what each lists, whole pages
walked without a row twice or missing, updated_since, the search page's filters, and 404/400 in
the API's error shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, editions, employers, offers, search
from fair.search import terms as search_terms
from tests import factories as f
from tests.api_setup import seed, walk
from tests.statements import cold

API = "/api/v1"


def _ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


async def test_editions_published_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    items, _ = await walk(client, f"{API}/editions")
    assert _ids(items) == [s.edition.id]
    one = (await client.get(f"{API}/editions/{s.edition.id}")).json()
    assert one == items[0]
    assert (one["title"], one["status"], one["timezone"]) == (
        s.edition.title,
        "live",
        "Europe/Paris",
    )
    draft = await client.get(f"{API}/editions/{s.draft.id}")
    assert (draft.status_code, draft.json()["error"]["code"]) == (404, "fair.not_found")


async def test_booths_approved_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    items, pages = await walk(client, f"{API}/editions/{s.edition.id}/booths?limit=1")
    assert (_ids(items), pages) == ([b.id for b in s.booths], 3)
    first = items[0]
    assert first["employer"] == {
        "name": s.booths[0].employer.name,
        "sector": s.booths[0].employer.sector,
        "size": "10-49",
        "commune": "Montpellier",
        "website": "https://example.fr",
        "description": "",
        "logo": None,
    }
    assert first["url"] == f"http://testserver/e/{s.edition.slug}/booths/{s.booths[0].id}"
    draft = await client.get(f"{API}/editions/{s.draft.id}/booths")
    assert draft.status_code == 404


async def test_offers_all_pages_no_duplicate(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await seed(session)
    items, pages = await walk(client, f"{API}/editions/{s.edition.id}/offers?limit=2")
    assert (_ids(items), pages) == ([o.id for o in s.offers], 3)
    assert items[0]["employer"] == s.booths[0].employer.name
    assert items[0]["publics"] == {
        "seniors": False,
        "under26": False,
        "disabled": False,
        "no_diploma": False,
        "insertion": False,
    }
    one = await client.get(f"{API}/offers/{s.offers[0].id}")
    assert one.json() == items[0]
    for hidden in s.hidden:
        gone = await client.get(f"{API}/offers/{hidden.id}")
        assert (gone.status_code, gone.json()["error"]["code"]) == (404, "fair.not_found")


async def test_offers_searched_and_filtered_as_the_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await seed(session)
    base = f"{API}/editions/{s.edition.id}/offers"
    cases = {
        "q=secretaires": [s.offers[3].id],  # accents and plurals ignored
        "q=plombier&contract=cdd": [s.offers[1].id],
        "q=plombier&contract=cdi": [],
        "contract=cdd": [s.offers[1].id, s.offers[4].id],
        "publics=seniors": [s.offers[3].id],
        "publics=seniors&publics=under26": [s.offers[3].id],
        "q=astronaute": [],
        "q=plombeir": [s.offers[1].id],  # a misspelt word, respelt as on the page
        "commune=Montpellier&radius_km=10": [o.id for o in s.offers],
        "commune=34000&radius_km=10": [o.id for o in s.offers],  # by postcode
        "working_time=full_time": [o.id for o in s.offers],
        "working_time=part_time": [],
    }
    for query, expected in cases.items():
        items, _ = await walk(client, f"{base}?{query}")
        assert _ids(items) == expected, query
    # The words widened as the page widens them (fair.search.terms): the same offers.
    for q in ("btp", "chauffagiste electricien", "plombeir"):
        page = await search_terms.find(session, edition_id=s.edition.id, query=search.Query(q=q))
        items, _ = await walk(client, f"{base}?q={q}")
        assert _ids(items) == sorted(h.offer.id for h in page.hits) != [], q
    near, _ = await walk(client, f"{base}?commune=Montpellier&radius_km=10")
    assert near[0]["distance_km"] is not None
    refused = await client.get(f"{base}?contract=astronaut&radius_km=5")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "search.invalid"
    assert sorted(refused.json()["error"]["fields"]) == ["commune", "contract"]


async def test_updated_since(client: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    later = f.NOON + timedelta(hours=1)
    since = quote(later.isoformat())
    for path in ("editions", f"editions/{s.edition.id}/booths", f"editions/{s.edition.id}/offers"):
        items, _ = await walk(client, f"{API}/{path}?updated_since={since}")
        assert items == [], path
    clock.set_now(later)
    offer = await offers.get(session, s.offers[3].id)
    await offers.set_published(session, offer, True)
    employer = await employers.get(session, s.booths[2].employer_id)
    await employers.update(
        session,
        employer,
        data=employers.EmployerInput(
            name="Nouveau nom",
            siret=employer.siret,
            naf_code=employer.naf_code,
            size=employer.size,
            commune=employer.commune,
            website=employer.website,
            description="",
            video_url="",
        ),
    )
    edition = await editions.get(session, s.edition.id)
    await editions.update(session, edition, data=f.edition_input(title="Nouveau titre"))
    await db.commit(session)
    got = {
        path: _ids((await walk(client, f"{API}/{path}?updated_since={since}"))[0])
        for path in (
            "editions",
            f"editions/{s.edition.id}/booths",
            f"editions/{s.edition.id}/offers",
        )
    }
    assert got == {
        "editions": [s.edition.id],
        f"editions/{s.edition.id}/booths": [s.booths[2].id],
        f"editions/{s.edition.id}/offers": [s.offers[3].id],
    }
    bad = await client.get(f"{API}/editions?updated_since=yesterday")
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["updated_since"])


async def test_webconferences_programme(client: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    items, pages = await walk(client, f"{API}/editions/{s.edition.id}/webconferences?limit=1")
    assert (_ids(items), pages) == ([t.id for t in s.talks], 2)
    opening, booth_talk = items
    assert {k: opening[k] for k in ("title", "status", "phase", "capacity", "seats_left")} == {
        "title": "Ouverture",
        "status": "scheduled",
        "phase": "scheduled",
        "capacity": 2,
        "seats_left": 2,
    }
    assert (opening["booth_id"], booth_talk["booth_id"], booth_talk["employer"]) == (
        None,
        s.booths[1].id,
        s.booths[1].employer.name,
    )


async def test_availability_counts_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await seed(session)
    items, _ = await walk(client, f"{API}/editions/{s.edition.id}/availability")
    slot_start = f.day_at(f.TOMORROW, 9).astimezone(clock.now().tzinfo)
    assert items == [
        {
            "booth_id": s.booths[0].id,
            "free_slots": 4,
            "next_slot_at": slot_start.isoformat().replace("+00:00", "Z"),
        },
        {"booth_id": s.booths[1].id, "free_slots": 0, "next_slot_at": None},
        {"booth_id": s.booths[2].id, "free_slots": 0, "next_slot_at": None},
    ]


async def test_bad_input_never_a_server_error(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await seed(session)
    e = s.edition.id
    urls = [
        f"{API}/editions/0",
        f"{API}/editions/99999999999999999999",
        f"{API}/editions/²",
        f"{API}/editions/abc/booths",
        f"{API}/offers/-1",
        f"{API}/editions/{e}/offers?q=" + "x" * 300,
        f"{API}/editions/{e}/offers?publics=martians",
        f"{API}/editions/{e}/offers?radius_km=7&commune=Montpellier",
        f"{API}/editions/{e}/offers?commune=Atlantis",
        f"{API}/editions/{e}/offers?remote=perhaps",
        f"{API}/editions/{e}/offers?domain=Z",
        f"{API}/editions/{e}/webconferences?cursor=WyJub3QgYSBkYXRlIiwgMV0",  # ["not a date", 1]
        f"{API}/editions/{e}/webconferences?cursor=WzEsIDFd",  # [1, 1]
        f"{API}/editions/{e}/booths?cursor=WyJ4IiwgMF0",  # ["x", 0]
        f"{API}/editions/{e}/booths?updated_since=9999-01-01T00:00Z",
        f"{API}/editions/{e}/booths?updated_since=2026-02-30T00:00Z",
        f"{API}/editions/{e}/availability?updated_since=2026-01-01T00:00Z",
        f"{API}/editions?edition_id=3",
        f"{API}/editions?limit=%FF",
        f"{API}/editions?limit=%00",
        f"{API}/editions?limit=%EF%BC%91",  # a fullwidth 1
        f"{API}/editions/%ED%A0%80",  # a lone surrogate's UTF-8
        f"{API}/editions?updated_since=%ED%A0%80",
        f"{API}/editions?cursor=%ED%A0%80",
        f"{API}/editions/{e}/offers?radius_km=5.0",
        f"{API}/editions/{e}/offers?publics=",
    ]
    for url in urls:
        response = await client.get(url)
        assert response.status_code in (400, 404), (url, response.status_code, response.text)
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    for odd in ("%00", "%ED%A0%80", "%FF"):  # dropped or replaced: no word to search
        found = await client.get(f"{API}/editions/{e}/offers?q={odd}")
        assert (found.status_code, len(found.json()["data"])) in ((200, 5), (200, 0)), odd
    head = await client.head(f"{API}/editions/{e}")
    assert (head.status_code, head.content) == (200, b"")


async def test_private_data_absent(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """Nothing of a candidate or a recruiter's account: no e-mail anywhere in any list."""
    s = await seed(session)
    candidate = await f.candidate(session)
    await f.application(session, offer_=s.offers[0], candidate_=candidate)
    await db.commit(session)
    emails = [r.email for r in s.recruiters] + [candidate.email]
    for path in ("booths", "offers", "webconferences", "availability"):
        text = (await client.get(f"{API}/editions/{s.edition.id}/{path}")).text
        assert [e for e in emails if e in text] == [], path


async def test_lists_read_in_a_fixed_number_of_statements(
    app: Any, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """One row or a page of them: the same statements (no query per row)."""
    s = await seed(session)
    paths = ["editions"] + [
        f"editions/{s.edition.id}/{name}"
        for name in ("booths", "offers", "webconferences", "availability")
    ]
    counts = {}
    for path in paths:
        for limit in (1, 100):
            with cold(app, every=True) as seen:
                assert (await client.get(f"{API}/{path}?limit={limit}")).status_code == 200
            counts[path, limit] = len(seen)
    assert {p: counts[p, 100] - counts[p, 1] for p in paths} == {p: 0 for p in paths}
