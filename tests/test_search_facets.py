"""The offer search's facets (fair.search.facets), places typed by postcode or given as a
position (fair.geo.place, shared with the CV pool and the hall), and a search made an alert in
one click (fair.search.params, fair/web/matches.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import select

from fair import alerts, cv_pool, db, geo, hall, search
from fair.errors import Invalid
from fair.models import JobAlert
from fair.search import facets as search_facets
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import radios, text
from tests.statements import listening


async def _setup(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    hidden_booth, _ = await f.booth(session, edition_=edition, approve=False)
    await f.offer(
        session, booth_=booth, title="Électricien (H/F)", commune="Lattes", postcode="34970"
    )
    await f.offer(
        session,
        booth_=booth,
        title="Aide-soignante de nuit",
        rome_code="J1501",
        contract="cdd",
        working_time="part_time",
        commune="Nîmes",
        postcode="30000",
        open_seniors=True,
        open_disabled=True,
    )
    await f.offer(
        session,
        booth_=booth,
        title="Cariste",
        rome_code="N1101",
        description="Conduite de chariots élévateurs.",
        contract="temporary",
        commune="Sète",
        postcode="34200",
        no_diploma=True,
    )
    await f.offer(
        session,
        booth_=booth,
        title="Développeuse web",
        rome_code="M1805",
        remote=True,
        commune="Montpellier",
        postcode="34000",
        open_disabled=True,
        no_diploma=True,
    )
    await f.offer(session, booth_=hidden_booth, title="Électricien caché", contract="seasonal")
    await db.commit(session)
    return edition


async def _facets(session, edition, **kw) -> search_facets.Facets:  # type: ignore[no-untyped-def]
    query = search.Query(**kw)
    origin = search.check(query)
    return await search_facets.count(session, edition_id=edition.id, query=query, origin=origin)


async def test_counts_leave_out_their_own_filter_and_apply_the_others(session) -> None:  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    everything = await _facets(session, edition)
    assert everything == search_facets.Facets(
        contract={"cdi": 2, "cdd": 1, "temporary": 1},
        working_time={"full_time": 3, "part_time": 1},
        domain={"F": 1, "J": 1, "M": 1, "N": 1},
        radius_km={},
        publics={"seniors": 1, "disabled": 2, "no_diploma": 2},
        remote=1,
        any={
            k: 4 for k in ("contract", "working_time", "domain", "radius_km", "remote", "publics")
        },
    )
    cdi = await _facets(session, edition, contract="cdi")
    assert (cdi.contract, cdi.any["contract"]) == ({"cdi": 2, "cdd": 1, "temporary": 1}, 4)
    assert (cdi.working_time, cdi.any["working_time"]) == ({"full_time": 2}, 2)
    assert (cdi.domain, cdi.publics, cdi.remote) == (
        {"F": 1, "M": 1},
        {"no_diploma": 1, "disabled": 1},
        1,
    )
    # Publics are "open to any of": choosing one still counts the others with the rest.
    open_to = await _facets(session, edition, publics={"no_diploma"}, contract="cdi")
    assert (open_to.publics, open_to.contract) == (
        {"no_diploma": 1, "disabled": 1},
        {"cdi": 1, "temporary": 1},
    )


async def test_counts_follow_the_words_and_the_place(session) -> None:  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    words = await _facets(session, edition, q="chariots")
    assert (words.contract, words.any["contract"], words.publics) == (
        {"temporary": 1},
        1,
        {"no_diploma": 1},
    )
    # From Montpellier: its own offer at 0 km, Lattes ~3 km, Sète ~27 km, Nîmes ~46 km.
    around = await _facets(session, edition, commune="Montpellier", radius_km=10)
    assert around.radius_km == {5: 2, 10: 2, 20: 2, 30: 3, 50: 4, 100: 4}
    assert (around.contract, around.any["contract"], around.any["radius_km"]) == ({"cdi": 2}, 2, 4)
    by_position = await _facets(session, edition, near="43.61,3.88", radius_km=30)
    assert by_position.radius_km == around.radius_km and by_position.contract == {
        "cdi": 2,
        "temporary": 1,
    }
    nothing = await _facets(session, edition, q="plombier")
    assert (nothing.contract, nothing.any["contract"], nothing.remote) == ({}, 0, 0)


async def test_the_page_shows_the_counts_and_keeps_every_choice_in_its_url(client, session) -> None:  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    url = f"/e/{edition.slug}/offers"
    page = await client.get(url, params={"contract": "cdd", "publics": "disabled"})
    assert page.status_code == 200
    assert radios(page.text, "contract") == ["", "cdi", "cdd"]  # no temporary job: RQTH
    assert 'name="contract" value="cdd" checked' in page.text
    assert 'name="publics" value="disabled" checked' in page.text
    shown = text(page.text)
    assert "CDD 1 offre" in shown
    assert "CDI 1 offre" in shown  # Montpellier's, open to disabled workers
    assert "Tous les contrats 2 offres" in shown
    assert "Personnes sans diplôme 0 offre" in shown  # with the CDD chosen
    assert "1 offre trouvée" in shown
    # The fieldsets a screen reader announces, each with its legend.
    legends = re.findall(
        r'<fieldset class="facet" id="f-(\w+)">\s*<legend>([^<]+)</legend>', page.text
    )
    assert [key for key, _legend in legends] == ["contract", "working_time", "publics", "domain"]
    # The words change the counts.
    typed = text((await client.get(url, params={"q": "cariste"})).text)
    assert "Intérim 1 offre" in typed and "Tous les contrats 1 offre" in typed
    assert "CDI" not in typed  # a choice that would find nothing
    # A refused value: the error beside its fieldset, no counts.
    bad = await client.get(url, params={"working_time": "night"})
    assert bad.status_code == 422
    assert "Choisissez un temps de travail dans la liste." in text(bad.text)


@pytest.mark.parametrize(
    "typed", ["34970", "34 970", "Lattes 34970", "34970 Lattes", "Lattes (34970)", "lattes"]
)
async def test_a_commune_by_name_or_postcode(client, session, typed) -> None:  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    page = await client.get(
        f"/e/{edition.slug}/offers", params={"commune": typed, "radius_km": "5", "sort": "distance"}
    )
    assert page.status_code == 200
    titles = re.findall(r'<h2><a href="/offers/\d+">([^<]+)</a></h2>', page.text)
    assert titles == ["Électricien (H/F)", "Développeuse web"]  # Lattes, then Montpellier


async def test_a_commune_typed_with_saint_abbreviated(client, session) -> None:  # type: ignore[no-untyped-def]
    # "St Jean de Védas" as people type it was refused ("no commune is called…").
    edition = await _setup(session)
    for typed in ("st jean de vedas", "St-Jean-de-Védas"):
        page = await client.get(
            f"/e/{edition.slug}/offers",
            params={"commune": typed, "radius_km": "10", "sort": "distance"},
        )
        assert page.status_code == 200, typed
        titles = re.findall(r'<h2><a href="/offers/\d+">([^<]+)</a></h2>', page.text)
        assert titles == ["Électricien (H/F)", "Développeuse web"]  # Lattes, Montpellier


async def test_unknown_communes_and_postcodes_are_named_in_french(client, session) -> None:  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    url = f"/e/{edition.slug}/offers"
    postcode = await client.get(url, params={"commune": "99999"})
    assert postcode.status_code == 422
    assert (
        "Aucune commune n'a le code postal 99999 : vérifiez-le, ou saisissez le nom de la commune."
        in text(postcode.text)
    )
    name = await client.get(url, params={"commune": "Nulle-Part-sur-Mer"})
    assert (
        "Aucune commune ne s'appelle Nulle-Part-sur-Mer : vérifiez l'orthographe, ou saisissez"
        " son code postal." in text(name.text)
    )
    # A département number is no commune's name: the person is told a postcode has 5 digits.
    for typed in ("34", "340", "3 40"):
        short = await client.get(url, params={"commune": typed, "radius_km": "10"})
        assert short.status_code == 422
        assert "ne s'appelle" not in text(short.text), typed
    position = await client.get(url, params={"near": "95,3", "radius_km": "10"})
    assert position.status_code == 422
    assert "Votre position n'a pas pu être lue" in text(position.text)


async def test_around_me_measures_from_a_rounded_position(client, session) -> None:  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    # Montpellier's town hall, as a phone gives it; the page keeps it to 0.01°.
    page = await client.get(
        f"/e/{edition.slug}/offers",
        params={"near": "43.6107713,3.8767193", "radius_km": "10", "sort": "distance"},
    )
    assert page.status_code == 200
    titles = re.findall(r'<h2><a href="/offers/\d+">([^<]+)</a></h2>', page.text)
    assert titles == ["Développeuse web", "Électricien (H/F)"]
    assert '<input type="hidden" name="near" value="43.61,3.88" data-near>' in page.text
    assert "Distances depuis votre position." in text(page.text)
    forget = re.search(r'<a href="\?([^"]*)">Oublier ma position</a>', page.text)
    assert forget is not None and forget.group(1) == "radius_km=10&amp;sort=distance"
    assert geo.position("43.6107713, 3.8767193") == geo.Point(43.61, 3.88)
    assert [geo.position(t) for t in ("", "43.6", "91,0", "1,181", "a,b")] == [None] * 5
    # A commune typed wins over a position left in the form.
    both = search.Query(commune="Nîmes", near="43.61,3.88")
    assert search.check(both) == geo.find("Nîmes")


async def test_one_place_parser_for_the_search_the_pool_and_the_hall(session) -> None:  # type: ignore[no-untyped-def]
    lattes = geo.find("Lattes")
    assert cv_pool.check(cv_pool.PoolQuery(commune="34 970", radius_km=10)) == lattes
    assert hall.check(hall.Filters(commune="Lattes 34970", radius_km=10)) == lattes
    assert search.check(search.Query(commune="34970 Lattes")) == lattes
    for check, query in (
        (cv_pool.check, cv_pool.PoolQuery(commune="99999")),
        (hall.check, hall.Filters(commune="99999")),
        (search.check, search.Query(commune="99999")),
    ):
        with pytest.raises(Invalid) as refused:
            check(query)  # type: ignore[operator]
        assert (refused.value.fields, refused.value.params) == (
            {"commune": geo.NO_POSTCODE},
            {"typed": "99999"},
        )
    with pytest.raises(Invalid) as reach:
        cv_pool.check(cv_pool.PoolQuery(reachable=True))
    assert reach.value.fields == {"commune": geo.NO_ORIGIN}


async def test_a_search_becomes_an_alert_in_one_click(client, make_client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    candidate = await f.candidate(session)
    await db.commit(session)
    params = [
        ("q", "web"),
        ("commune", "34970"),
        ("radius_km", "10"),
        ("working_time", "full_time"),
        ("remote", "on"),
        ("publics", "no_diploma"),
        ("publics", "disabled"),
    ]
    search_url = f"/e/{edition.slug}/offers?{urlencode(params)}"
    # Not logged in: the button leads to the login page, which comes back to this search.
    anonymous = make_client()
    shown = await anonymous.get(search_url)
    back = f"/login?next={quote(search_url + '#alert', safe='/')}"
    assert f'<a class="button secondary" href="{back}">' in shown.text.replace("&amp;", "&")
    logged = await anonymous.post(
        "/login",
        data={
            "csrf_token": await csrf(anonymous, back),
            "email": candidate.email,
            "password": f.PASSWORD,
            "next": search_url + "#alert",
        },
    )
    assert logged.headers["location"] == search_url + "#alert"
    # Logged in: one POST form (CSRF) carries the whole search.
    await login(client, candidate.email, f.PASSWORD)
    page = await client.get(search_url)
    form = re.search(r'<form method="post" action="/me/alerts"[^>]*>(.*?)</form>', page.text, re.S)
    assert form is not None
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(1))
    assert [k for k, _v in fields][:3] == ["csrf_token", "edition_id", "slug"]
    data = dict(fields[:3]) | {"publics": ["disabled", "no_diploma"]}
    data |= {k: v for k, v in fields[3:] if k != "publics"}
    followed = await client.post("/me/alerts", data=data)
    assert followed.status_code == 303
    assert followed.headers["location"] == (
        f"/e/{edition.slug}/offers?q=web&commune=34970&radius_km=10&working_time=full_time"
        "&remote=on&publics=disabled&publics=no_diploma"
    )
    kept = list(await fetch.scalars(select(JobAlert)))
    assert [a.search for a in kept] == [
        {
            "edition_id": str(edition.id),
            "q": "web",
            "commune": "34970",
            "radius_km": "10",
            "working_time": "full_time",
            "remote": "on",
            "publics": "disabled,no_diploma",
        }
    ]
    # The alert's search is the page's.
    query = alerts.query_of(kept[0].search)
    found = await search.search(session, edition_id=edition.id, query=query)
    assert [h.offer.title for h in found.hits] == ["Développeuse web"]
    # A refused filter is no alert.
    refused = await client.post("/me/alerts", data=dict(fields[:3]) | {"contract": "job"})
    assert refused.status_code == 422


async def test_past_the_threshold_the_choices_come_without_counts(session) -> None:  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    query = search.Query(contract="cdi")
    kw = {"edition_id": edition.id, "query": query, "origin": None}
    assert await search_facets.count(session, **kw, scan=4) == await _facets(
        session, edition, contract="cdi"
    )
    assert await search_facets.count(session, **kw, scan=3) == search_facets.Facets(capped=True)
    narrower = await search_facets.count(
        session, edition_id=edition.id, query=search.Query(q="cariste"), origin=None, scan=3
    )
    assert (narrower.capped, narrower.contract) == (False, {"temporary": 1})


async def test_the_counts_follow_the_widened_words_as_the_results_do(client, session) -> None:  # type: ignore[no-untyped-def]
    """ "chauffeur" finds the lorry driver through the synonyms (fair.search.terms): the facets
    count that same offer, not the offers the bare word would find (none)."""
    edition = await _setup(session)
    booth, _ = await f.booth(session, edition_=edition)
    await f.offer(
        session,
        booth_=booth,
        title="Conducteur de poids lourd",
        rome_code="N4101",
        contract="temporary",
        commune="Lunel",
        postcode="34400",
    )
    await db.commit(session)
    shown = text((await client.get(f"/e/{edition.slug}/offers", params={"q": "chauffeur"})).text)
    assert "1 offre trouvée" in shown
    assert "Intérim 1 offre" in shown and "Tous les contrats 1 offre" in shown
    # A misspelt word: the counts follow the respelt search too.
    typo = text((await client.get(f"/e/{edition.slug}/offers", params={"q": "carsite"})).text)
    assert "1 offre trouvée" in typo
    assert "Intérim 1 offre" in typo and "Tous les contrats 1 offre" in typo


@contextlib.contextmanager
def _statements(app):  # type: ignore[no-untyped-def]
    """The SELECTs run meanwhile (the mail sender's aside)."""
    seen: list[str] = []

    def count(*args):  # type: ignore[no-untyped-def]
        if args[2].lstrip().startswith(("SELECT", "WITH")) and "outbox" not in args[2]:
            seen.append(args[2])

    engine = app.state.engine.sync_engine
    with listening(engine, "before_cursor_execute", count):
        yield seen


async def test_counts_are_kept_until_the_offers_change(app, session) -> None:  # type: ignore[no-untyped-def]
    """fair.search.cache: the same search's counts again cost no query; an offer committed
    since is counted at once."""
    edition = await _setup(session)
    first = await _facets(session, edition, q="électricien", contract="cdi")
    assert first.contract == {"cdi": 1}
    with _statements(app) as seen:
        assert await _facets(session, edition, q="électricien", contract="cdi") == first
    assert seen == []  # the version too: read once in the transaction
    booth, _ = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Électricien de nuit", contract="cdd")
    await db.commit(session)
    after = await _facets(session, edition, q="électricien", contract="cdi")
    assert (after.contract, after.any["contract"]) == ({"cdi": 1, "cdd": 1}, 2)


async def test_a_page_counted_past_the_threshold_needs_no_facets_query(app, session) -> None:  # type: ignore[no-untyped-def]
    """The page's own count (capped) proves the facets past the threshold: no query."""
    edition = await _setup(session)
    query = search.Query(per_page=1, count_cap=2)
    page = await search.search(session, edition_id=edition.id, query=query)
    assert (page.total, page.capped) == (2, True)  # 4 offers: "more than 2"
    kw = {"edition_id": edition.id, "query": search.Query(), "origin": None, "shown": page}
    with _statements(app) as seen:
        assert await search_facets.count(session, **kw, scan=2) == search_facets.Facets(capped=True)
    assert seen == []
    # A page that proves nothing (3 or more, at most 4): counted.
    counted = await search_facets.count(session, **kw, scan=4)
    assert (counted.capped, counted.any["contract"]) == (False, 4)


async def test_words_past_the_threshold_need_no_query_with_other_filters(app, session) -> None:  # type: ignore[no-untyped-def]
    """The facets read the words' matches whatever the filters: once more than the threshold
    are known (counted by the facets, or by a page without filters), the same words with any
    filters have no counts, without a query; other words are counted."""
    edition = await _setup(session)  # 4 offers shown
    kw = {"edition_id": edition.id, "origin": None, "scan": 3}
    capped = search_facets.Facets(capped=True)
    assert await search_facets.count(session, query=search.Query(contract="cdi"), **kw) == capped
    with _statements(app) as seen:
        other = search.Query(contract="cdd", working_time="part_time", publics={"seniors"})
        assert await search_facets.count(session, query=other, **kw) == capped
    assert seen == []
    narrower = await search_facets.count(
        session, query=search.Query(q="cariste", contract="cdd"), **kw
    )
    assert (narrower.capped, narrower.contract) == (False, {"temporary": 1})
    # A page without filters counted past the threshold: its words' filters next, no query.
    listing = search.Query(per_page=1, count_cap=1)
    page = await search.search(session, edition_id=edition.id, query=listing)
    assert (page.total, page.capped) == (1, True)  # "more than 1"
    two = {"edition_id": edition.id, "origin": None, "scan": 1}
    assert await search_facets.count(session, query=search.Query(), shown=page, **two) == capped
    with _statements(app) as seen:
        assert (
            await search_facets.count(session, query=search.Query(contract="cdi"), **two) == capped
        )
    assert seen == []


async def test_a_filtered_search_past_the_threshold_counts_only_ids(app, session) -> None:  # type: ignore[no-untyped-def]
    """Words and a filter: the page counted fewer offers than the facets would read, so the
    words' matches are counted on their ids first, and their offers read (a distance band
    computed for each) only when fewer than the threshold: past it, no counts. One statement
    either way (the ids are not sent back and forth)."""
    edition = await _setup(session)
    booth, _ = await f.booth(session, edition_=edition)
    for contract in ("cdi", "cdd", "cdd"):
        await f.offer(session, booth_=booth, title="Électricien de chantier", contract=contract)
    await db.commit(session)
    query = search.Query(q="electricien", contract="cdi", commune="Lattes", radius_km=20)
    kw = {"edition_id": edition.id, "query": query, "origin": search.check(query)}
    with _statements(app) as seen:
        assert await search_facets.count(session, **kw, scan=3) == search_facets.Facets(capped=True)
    read = [s for s in seen if "offers_versions" not in s]
    assert len(read) == 1, read
    # At the threshold: counted, each filter's choices with the others applied.
    with _statements(app) as seen:
        counted = await search_facets.count(session, **kw, scan=4)
    assert len([s for s in seen if "offers_versions" not in s]) == 1
    assert (counted.capped, counted.contract) == (False, {"cdi": 2, "cdd": 2})


async def test_a_search_without_filters_counts_its_matches_by_id(app, session) -> None:  # type: ignore[no-untyped-def]
    """No filter set: the page comes with every match's id (search.Page.matched) and the
    facets read those offers by primary key, in one statement that matches no words: the same
    counts as the words matched again. A filter, or a count past the cap: no ids, the words
    are matched as before."""
    from fair.search import cache as search_cache

    edition = await _setup(session)
    shown_ids = {}
    for kw in (
        {"q": "électricien"},
        {"q": "aide soignante", "commune": "Montpellier"},
        {"commune": "Montpellier", "sort": "distance"},  # no words: the whole listing
    ):
        query = search.Query(**kw)
        page = await search.search(session, edition_id=edition.id, query=query)
        assert page.matched is not None, kw
        assert sorted(page.matched) == sorted(h.offer.id for h in page.hits), kw
        shown_ids[kw.get("q", "")] = len(page.matched)
        search_cache.forget()
        with _statements(app) as seen:
            by_id = await search_facets.count(
                session, edition_id=edition.id, query=query, origin=page.origin, shown=page
            )
        read = [s for s in seen if "offers_versions" not in s]
        assert len(read) == 1 and "MATCH" not in read[0] and "@@" not in read[0], read
        search_cache.forget()
        assert by_id == await _facets(session, edition, **kw), kw
    assert shown_ids == {"électricien": 1, "aide soignante": 1, "": 4}  # never the hidden booth's
    filtered = search.Query(q="électricien", contract="cdi")
    page = await search.search(session, edition_id=edition.id, query=filtered)
    assert page.matched is None
    # A filter: the words' matches without it read as ids first, then those offers by id,
    # in the same statement.
    search_cache.forget()
    with _statements(app) as seen:
        counts = await search_facets.count(
            session, edition_id=edition.id, query=filtered, origin=None, shown=page
        )
    read = [s for s in seen if "offers_versions" not in s]
    assert len(read) == 1 and ("MATCH" in read[0] or "@@" in read[0]), read
    assert (counts.contract, counts.working_time, counts.any["contract"]) == (
        {"cdi": 1},
        {"full_time": 1},
        1,
    )
    capped = search.Query(commune="Montpellier", sort="distance", per_page=1, count_cap=2)
    assert (await search.search(session, edition_id=edition.id, query=capped)).matched is None
