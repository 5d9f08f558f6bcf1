"""Job seekers' words in the offer search (fair.search.terms): synonyms, the same job's ROME codes,
spelling forgiven, and the reasons shown; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text
from sqlalchemy.dialects import sqlite

from fair import db, rome, rome_suggest, search
from fair.models import RomeAppellation, RomeCode
from fair.search import best, ranking
from fair.search import filters as search_filters
from fair.search import match as search_match
from fair.search import terms as search_terms
from fair.search.match import Reason
from tests import factories as f
from tests.statements import listening

OFFERS = {
    # key: (title, ROME code, description, commune, postcode)
    "vtc": ("Chauffeur VTC (H/F)", "N4112", "Transport de clients.", "Montpellier", "34000"),
    "pl": ("Conducteur / Conductrice de poids lourd", "N4101", "Livraisons.", "Lunel", "34400"),
    "works": ("Conducteur de travaux (H/F)", "F1201", "Suivi de chantiers.", "Lattes", "34970"),
    "home": ("Assistant de vie dépendance", "K1302", "Aide aux personnes âgées.", "Sète", "34200"),
    "ash": ("Agent de service hospitalier", "J1301", "Entretien des chambres.", "Sète", "34200"),
    "forklift": ("Cariste (H/F)", "N1101", "Chargement des camions.", "Vendargues", "34740"),
    "elec": ("Électricien du bâtiment", "F1602", "Installations neuves.", "Lattes", "34970"),
    "labourer": ("Manœuvre bâtiment", "F1704", "Aide sur les chantiers.", "Jacou", "34830"),
    "long": ("Grand routier international", "N4111", "Tournées longues.", "Lunel", "34400"),
    "long2": ("Grand routier international", "N4111", "Tournées courtes.", "Sète", "34200"),
}


@pytest.fixture(autouse=True)
def fresh_index():  # type: ignore[no-untyped-def]
    rome_suggest.invalidate()  # each test's database has its own offers: the index follows
    yield
    rome_suggest.invalidate()


async def _setup(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    ids = {}
    for key, (title, code, description, commune, postcode) in OFFERS.items():
        offer = await f.offer(
            session,
            booth_=booth,
            title=title,
            rome_code=code,
            description=description,
            commune=commune,
            postcode=postcode,
            skills=[],
        )
        ids[offer.id] = key
    await db.commit(session)
    return edition, ids


async def _find(session, edition, ids, q):  # type: ignore[no-untyped-def]
    page = await search_terms.find(session, edition_id=edition.id, query=search.Query(q=q))
    return page, [(ids[h.offer.id], h.why) for h in page.hits]


async def test_synonym_finds_the_trade_below_the_words_own_matches(session):  # type: ignore[no-untyped-def]
    edition, ids = await _setup(session)
    page, found = await _find(session, edition, ids, "chauffeur")
    # The words' own match first; the driving jobs after it; never the site manager
    # ("conducteur de travaux"), whom "conducteur" alone would bring.
    assert found[0] == ("vtc", None)
    assert dict(found) == {
        "vtc": None,
        "pl": Reason("synonym", "chauffeur", "conducteur de poids lourd"),
        "long": Reason("synonym", "chauffeur", "conducteur super poids lourd"),
        "long2": Reason("synonym", "chauffeur", "conducteur super poids lourd"),
    }
    assert page.total == 4 and page.did_you_mean == ""
    # The other words stay required: "chauffeur tournées longues" keeps them.
    _, found = await _find(session, edition, ids, "Chauffeurs tournées longues")
    assert [k for k, _ in found] == ["long"]


async def test_several_words_and_abbreviations(session):  # type: ignore[no-untyped-def]
    edition, ids = await _setup(session)
    _, found = await _find(session, edition, ids, "Aides à domicile")
    assert found == [("home", Reason("synonym", "aide à domicile", "assistant de vie"))]
    _, found = await _find(session, edition, ids, "CACES 3")
    assert found == [("forklift", Reason("synonym", "CACES", "cariste"))]
    _, found = await _find(session, edition, ids, "btp")
    assert {k for k, _ in found} == {"elec", "labourer", "works"}  # "travaux du bâtiment" too
    assert dict(found)["elec"] == Reason("synonym", "BTP", "bâtiment")
    _, found = await _find(session, edition, ids, "ASH")  # in the code's name: its own match
    assert found[0] == ("ash", None)


async def test_a_synonym_typed_with_an_elided_article(session):  # type: ignore[no-untyped-def]
    """ "agent d'entretien": the list's key has no "d'" (`_stems` leaves elided articles out,
    as the typed words do: fair.search.stemming.ELISION_RE, all in capitals too); the key is
    found, and its phrases with it (the cleaner's offer, which neither the words nor the ROME
    codes find)."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    ids = {}
    for key, title, code in (
        ("building", "Agent / Agente d'entretien du bâtiment", "I1203"),
        ("cleaner", "Agent / Agente de nettoyage industriel", "K2204"),
        ("baker", "Boulanger", "D1102"),
    ):
        offer = await f.offer(
            session, booth_=booth, title=title, rome_code=code, description="Poste.", skills=[]
        )
        ids[offer.id] = key
    await db.commit(session)
    for q in ("agent d'entretien", "Agents d’entretien", "agent entretien", "AGENT D ENTRETIEN"):
        _, found = await _find(session, edition, ids, q)
        assert found == [
            ("building", None),
            ("cleaner", Reason("synonym", "agent d'entretien", "agent de nettoyage")),
        ], q


async def test_an_elided_article_is_no_word_to_find(session):  # type: ignore[no-untyped-def]
    """ "agent d'entretien": the "d'" is an article cut short, not a word. Searched, it was
    the prefix "d" (every word starting with d: each offer at 100,000, 84 ms of SQLite), and
    an offer without such a word was not found."""
    assert search.words("Agent d'entretien, l’atelier qu'il aujourd'hui, conduite d engins") == [
        "agent", "entretien", "atelier", "il", "aujourd", "hui", "conduite", "engins",
    ]  # fmt: skip
    assert search.words("D'abord, L’ÉQUIPE") == ["abord", "equipe"]
    # A licence's letter is a word: in capitals, or last.
    assert search.words("Permis D exigé, permis d") == ["permis", "d", "exige", "permis", "d"]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    offer = await f.offer(
        session, booth_=booth, title="Agent entretien espaces verts", rome_code="A1203",
        description="Tonte, taille.", skills=[],
    )  # fmt: skip
    await db.commit(session)
    for q in ("agent d'entretien", "agent l’entretien", "agent d entretien"):
        _, found = await _find(session, edition, {offer.id: "garden"}, q)
        assert [key for key, _ in found] == ["garden"], q


async def test_a_single_letter_is_a_whole_word(session):  # type: ignore[no-untyped-def]
    """ "permis b": the licence's letter, not the start of every word beginning with b (the
    bus driver's offer, whose licence is D, has "bus")."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    ids = {}
    for key, title, text_ in (
        ("van", "Chauffeur livreur", "Permis B exigé."),
        ("bus", "Chauffeur de bus", "Permis D exigé."),
    ):
        offer = await f.offer(
            session, booth_=booth, title=title, rome_code="N4105", description=text_, skills=[]
        )
        ids[offer.id] = key
    await db.commit(session)
    for q in ("chauffeur permis b", "Chauffeur permis B"):
        _, found = await _find(session, edition, ids, q)
        assert [key for key, _ in found] == ["van"], q


async def test_a_trade_in_ier_finds_its_craft_in_the_text_not_in_the_title(session):  # type: ignore[no-untyped-def]
    """ "menuisier" also finds the offers whose text says "menuiserie" (Snowball stems them
    apart: "menuisi", "menuiser"; PostgreSQL's to_tsquery, stemming our stems again, found it
    already): after the titles; a title saying the craft ("Vendeur en jardinerie") is no
    title of the trade ("jardinier"): it comes with the texts."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    ids = {}
    for key, title, code, description in (
        ("joiner", "Menuisier / Menuisière", "H2206", "Poste en atelier."),
        ("assembler", "Assembleur d'ouvrages en bois", "H2201", "Menuiserie du Lez : atelier."),
        ("pastry", "Pâtissier", "D1104", "Poste en laboratoire."),
        ("seller", "Vendeur en boulangerie", "D1106", "Boulangerie-pâtisserie du centre."),
        ("gardener", "Jardinier paysagiste", "A1208", "Entretien de parcs."),
        ("garden_shop", "Vendeur en jardinerie", "D1219", "Conseil aux clients."),
        ("baker", "Boulanger", "D1102", "Fournil."),
    ):
        offer = await f.offer(
            session, booth_=booth, title=title, rome_code=code, description=description,
            skills=[],
        )  # fmt: skip
        ids[offer.id] = key
    await db.commit(session)
    for q, expected in (
        ("menuisier", ["joiner", "assembler"]),
        ("pâtissière", ["pastry", "seller"]),
        ("jardinier", ["gardener", "garden_shop"]),
    ):
        page = await search_terms.find(session, edition_id=edition.id, query=search.Query(q=q))
        assert [ids[h.offer.id] for h in page.hits] == expected, q
        plain = await search.search(session, edition_id=edition.id, query=search.Query(q=q))
        assert [ids[h.offer.id] for h in plain.hits] == expected, q


async def test_the_same_job_through_its_rome_code(session):  # type: ignore[no-untyped-def]
    """ "spl" is in no offer's words and in no synonym: the ROME suggestion names the job
    (super poids lourd, N4111), whose offers come with its name as the reason."""
    edition, ids = await _setup(session)
    job = rome.job("N4111")
    assert job is not None
    _, found = await _find(session, edition, ids, "spl")
    assert ("long", Reason("job", "", job.label)) in found
    assert ("long2", Reason("job", "", job.label)) in found
    # The query's other words stay required beside the code.
    _, found = await _find(session, edition, ids, "spl courtes")
    assert [k for k, _ in found] == ["long2"]
    # A job whose name holds the words is found by them (offers are indexed with their code's
    # name): no code is added for it.
    assert await search_terms.job_codes(session, "cariste") == ({}, ())


# Offers of trades named by their activity ("conduite de…") or an appellation, and beside them
# jobs whose names have the same words without being the trade.
DRIVERS = {
    "truck": ("Conducteur / Conductrice de poids lourd", "N4101", "Livraisons régionales."),
    "bus": ("Conducteur de bus (H/F)", "N4103", "Lignes urbaines."),
    "site": ("Conducteur d'engins de chantier", "F1302", "Terrassement."),
    "farm": ("Conducteur d'engins agricoles", "A1101", "Moissons et semis."),
    "instructor": ("Enseignant de la conduite", "K2110", "Permis B et moto."),
    "trainer": ("Formateur conduite d'engins de travaux publics", "K2141", "Centre de formation."),
    "dealer": ("Conseiller vendeur de véhicules poids lourds", "D1425", "Concession."),
    "inspector": ("Contrôleur de bus", "N4132", "Contrôle des titres."),
}


async def _drivers(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    ids = {}
    for key, (title, code, description) in DRIVERS.items():
        offer = await f.offer(
            session, booth_=booth, title=title, rome_code=code, description=description, skills=[]
        )
        ids[offer.id] = key
    await db.commit(session)
    return edition, ids


async def _more(session, edition, ids, others):  # type: ignore[no-untyped-def]
    """`others` (key: title, ROME code, description, commune) in a booth of their own."""
    booth, _ = await f.booth(session, edition_=edition)
    postcodes = {"Villeneuve-lès-Maguelone": "34750", "Montpellier": "34000"}
    for key, (title, code, description, commune) in others.items():
        offer = await f.offer(
            session,
            booth_=booth,
            title=title,
            rome_code=code,
            description=description,
            commune=commune,
            postcode=postcodes[commune],
            skills=[],
        )
        ids[offer.id] = key
    await db.commit(session)


def _job(code: str) -> Reason:
    job = rome.job(code)
    assert job is not None
    return Reason("job", "", job.label)


async def test_a_trade_named_by_its_activity_finds_its_offers(session):  # type: ignore[no-untyped-def]
    """ "Conduite de poids lourd" is in no offer ("conduite" nowhere, the trade's name says
    "conducteur"): the words find the trade's code, which finds its offers, with the reason.
    The jobs whose names have "conduite", "bus" or "poids lourd" without being the trade
    (the driving instructor, the bus inspector, the truck dealer) come only when the words
    find them."""
    edition, ids = await _drivers(session)
    page, found = await _find(session, edition, ids, "conduite de poids lourd")
    assert found == [("truck", _job("N4101"))]
    assert page.did_you_mean == ""
    _, found = await _find(session, edition, ids, "Conduite de bus")
    assert found == [("bus", _job("N4103"))]
    # The trainer's name has "conduite d'engins" whole: found by the words, first; then the
    # trades that drive engins.
    _, found = await _find(session, edition, ids, "conduite d engins")
    assert found[0] == ("trainer", None)
    assert set(found[1:]) == {("site", _job("F1302")), ("farm", _job("A1101"))}
    # The other words stay required beside the trade.
    _, found = await _find(session, edition, ids, "conduite de poids lourd régionales")
    assert found == [("truck", _job("N4101"))]
    _, found = await _find(session, edition, ids, "conduite de poids lourd urbaines")
    assert found == []


async def test_an_appellation_finds_its_codes_offers(session):  # type: ignore[no-untyped-def]
    """With the referential imported, an appellation's words ("conducteur de tracteur") find
    the offers of its code, indexed with the code's label only ("Conducteur d'engins
    agricoles"): the appellation's words are in none of them."""
    edition, ids = await _drivers(session)
    session.add(RomeCode(code="A1101", label=_job("A1101").means, parent="A1101"))
    await session.flush()
    names = ["Conducteur / Conductrice de tracteur", "Conducteur / Conductrice d'engins agricoles"]
    await session.execute(
        insert(RomeAppellation),
        [
            {"code": "A1101", "code_ogr": str(n), "label": name, "stems": ""}
            for n, name in enumerate(names)
        ],
    )
    await db.commit(session)
    rome_suggest.invalidate()
    _, found = await _find(session, edition, ids, "conducteur de tracteur")
    assert found == [("farm", _job("A1101"))]


async def test_a_text_is_widened_once_while_the_rome_index_is_the_same(session):  # type: ignore[no-untyped-def]
    """`widen` works a text out once per ROME index (fair.search.terms._WIDENED: every search
    paid ~0.2 ms for it again): the same text again is an equal answer of its own, that its
    caller may add to (as `meant` does); a rebuilt index (the referential imported) works it
    out again, with what it knows."""
    await _drivers(session)
    q = "conducteur de tracteur"
    first = await search_terms.widen(session, q)
    assert search_terms._WIDENED[q][0] is await rome_suggest.index(session)
    assert "A1101" not in first.jobs
    kept = replace(first, reasons=list(first.reasons), jobs=dict(first.jobs))
    first.reasons.insert(0, (("x",), Reason("spelling", "x", "y")))
    first.jobs["X0000"] = "x"
    again = await search_terms.widen(session, q)
    assert again == kept
    session.add(RomeCode(code="A1101", label=_job("A1101").means, parent="A1101"))
    await session.flush()
    await session.execute(
        insert(RomeAppellation),
        [{"code": "A1101", "code_ogr": "1", "label": "Conducteur / Conductrice de tracteur",
          "stems": ""}],
    )  # fmt: skip
    await db.commit(session)
    rome_suggest.invalidate()
    rebuilt = await search_terms.widen(session, q)
    assert search_terms._WIDENED[q][0] is await rome_suggest.index(session)
    assert rebuilt.jobs == {"A1101": _job("A1101").means}


def test_words_of_one_family():
    stem = search.stem
    assert search_terms.akin(stem("conduite"), stem("conducteur"))
    assert search_terms.akin(stem("plomberie"), stem("plombier"))
    assert search_terms.akin(stem("coiffure"), stem("coiffeur"))
    assert not search_terms.akin(stem("transport"), stem("transformation"))
    assert not search_terms.akin(stem("vente"), stem("ventilation"))


async def test_acronyms_find_their_trade_not_words_beginning_alike(session):  # type: ignore[no-untyped-def]
    """ "AES" and "auxiliaire de vie" mean "assistant de vie" (among others): its "vie" is the
    stem "vi", which as a word's start found any assistant with a "ville" or a "visite" (an
    assistant commercial). "ASH" is the agent de service hospitalier: "agent de service" and
    "agent d'entretien", any two of an offer's words, found the agents of every trade whose
    offer says "sens du service", and the building's maintenance agents."""
    edition, ids = await _setup(session)
    others = {
        "sales": ("Assistant commercial", "D1401", "Visites clients.", "Villeneuve-lès-Maguelone"),
        "upkeep": ("Agent d'entretien du bâtiment", "I1203", "Sens du service.", "Montpellier"),
        "guard": ("Agent de sécurité", "K2503", "Sens du service.", "Montpellier"),
        # "auxiliaire" typed, and words starting with "vi": not the "vie" typed.
        "nursery": (
            "Auxiliaire de puériculture",
            "J1304",
            "Visites des familles.",
            "Villeneuve-lès-Maguelone",
        ),
    }
    await _more(session, edition, ids, others)
    _, found = await _find(session, edition, ids, "AES")
    assert found == [("home", Reason("synonym", "AES", "assistant de vie"))]
    _, found = await _find(session, edition, ids, "auxiliaire de vie")
    assert found == [("home", Reason("synonym", "auxiliaire de vie", "assistant de vie"))]
    _, found = await _find(session, edition, ids, "ash")
    assert found == [("ash", None)]


async def test_a_short_stem_of_a_longer_typed_word_is_matched_whole(session):  # type: ignore[no-untyped-def]
    """The query's own words: "vie" is the stem "vi", which as a word's start found
    "Villeneuve" and "visites"; "pose" is "pos", which found "poste". A short word the stemmer
    leaves whole ("ele", "elec") may be a longer word being typed: still a word's start."""
    edition, ids = await _setup(session)
    others = {
        "sales": ("Assistant commercial", "D1401", "Visites clients.", "Villeneuve-lès-Maguelone"),
        "tiler": ("Carreleur", "F1608", "Pose de carrelage.", "Montpellier"),
        "clerk": ("Agent administratif", "M1602", "Poste à pourvoir.", "Montpellier"),
    }
    await _more(session, edition, ids, others)
    for q, expected in [
        ("vie", {"home"}),
        ("Vies", {"home"}),
        ("assistant vie", {"home"}),
        ("pose", {"tiler"}),
        ("ele", {"elec"}),
        ("elec", {"elec"}),
        ("vi", {"home", "sales"}),  # as typed: a word's start
    ]:
        # The plain search (the API's, the words alone) and the pages' (widened).
        page = await search.search(session, edition_id=edition.id, query=search.Query(q=q))
        assert {ids[h.offer.id] for h in page.hits} == expected, q
        _, found = await _find(session, edition, ids, q)
        assert {k for k, _ in found} == expected, q


def test_typed_stems():
    typed = search_match.typed
    whole = search_match.WHOLE
    assert [typed(w) for w in ("vie", "vies", "aide", "caces", "pose")] == [
        "vi" + whole,
        "vi" + whole,
        "aid" + whole,
        "cac" + whole,
        "pos" + whole,
    ]
    assert [typed(w) for w in ("vi", "ele", "elec", "btp", "electricien")] == [
        "vi",
        "ele",
        "elec",
        "btp",
        search.stem("electricien"),
    ]
    assert search_match.fts5([(typed("auxiliaire"), typed("vie"))]) == '("auxiliair"* AND "vi")'
    assert search_match.tsquery([(typed("auxiliaire"), typed("vie"))]) == "(auxiliair:* & vi)"


def _holds(query: str, present: set[str]) -> bool:
    """Whether a boolean query's text (FTS5's AND/OR or a tsquery's &/|) matches a text
    holding the terms `present` (each term an atom: "conducteur:*" or "bus")."""
    spaced = query.replace(" AND ", " & ").replace(" OR ", " | ")
    atoms = re.sub(r"[\w:*]+", lambda m: str(m.group(0) in present), spaced)
    return bool(eval(atoms.replace("&", " and ").replace("|", " or ")))  # noqa: S307


@given(
    st.lists(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=3), min_size=1, max_size=5),
    st.sets(st.sampled_from("abcdef")),
)
def test_a_stem_groups_share_is_written_once(groups: list[list[str]], present: set[str]) -> None:
    """FTS5 and PostgreSQL's GIN index read a prefix once each time a query writes it
    ("chauffeur" widened wrote "conducteur" in five groups): the factored query writes each
    shared term once, for the same rows, in either syntax."""
    for syntax in (search_match.FTS5, search_match.TSQUERY):
        factored = search_match._factored(groups, syntax)
        assert _holds(factored, present) == _holds(search_match._or(groups, syntax), present)
        plain = search_match._or(groups, syntax)
        terms = {t for g in groups for t in g}
        assert all(factored.count(t) <= plain.count(t) for t in terms)
        if any(sum(t in g for g in groups) > 1 for t in terms):  # one is written less
            assert any(factored.count(t) < plain.count(t) for t in terms)
    stems = [tuple(g) for g in groups]
    found = {f"{stem}:*" for stem in present}
    factored = search_match.tsquery(stems, factored=True)
    assert _holds(factored, found) == _holds(search_match.tsquery(stems), found)


def test_a_widened_job_s_stem_is_written_once() -> None:
    typed = search_match.typed
    words = [(typed("conducteur"), typed("poids"), typed("lourd")), (typed("conducteur"), "bus=")]
    assert search_match.tsquery([*words, (typed("chauffeur"),)], factored=True) == (
        "((conducteur:* | conductric:*) & ((poid:* & lourd:*) | (bus)))"
        " | ((chauffeur:* | chauffeux:*))"
    )


# A job's feminine and masculine (folded, as typed): searched alike (fair.search.stemming).
GENDER_PAIRS = [
    ("vendeuse", "vendeur"), ("vendeuses", "vendeurs"), ("serveuse", "serveur"),
    ("coiffeuse", "coiffeur"), ("conductrice", "conducteur"), ("caissiere", "caissier"),
    ("soignante", "soignant"), ("infirmiere", "infirmier"), ("agente", "agent"),
    ("boulangere", "boulanger"), ("cuisiniere", "cuisinier"), ("technicienne", "technicien"),
    ("ouvriere", "ouvrier"), ("employee", "employe"), ("educatrice", "educateur"),
    ("sportive", "sportif"),
]  # fmt: skip


def test_a_job_s_feminine_is_searched_as_its_masculine():
    """Both words of a pair are the same group stem (the masculine's), whose forms still find
    the feminine's own stem (an offer titled in the feminine alone); an adjective's feminine
    that Snowball already joins keeps its stem, and a masculine does not find a shorter stem
    (Snowball's "directeuse" would be "direct", which "direction" is too)."""
    typed = search_match.typed
    assert [typed(fem) for fem, _ in GENDER_PAIRS] == [typed(masc) for _, masc in GENDER_PAIRS]
    lost = [
        fem
        for fem, _ in GENDER_PAIRS
        if not any(search.stem(fem).startswith(s) for s in search_match.forms(typed(fem)))
    ]
    assert lost == []
    assert search_match.fts5([(typed("vendeuse"), typed("lunel"))]) == (
        '(("vendeur"* OR "vendeux"*) AND "lunel"*)'
    )
    assert search_match.tsquery([(typed("conductrice"),)]) == "((conducteur:* | conductric:*))"
    assert search_match.fts5_title([(typed("vendeuse"),)], head=True) == (
        '((title_stems : ^ "vendeur"* OR title_stems : ^ "vendeux"*))'
    )
    assert [typed(w) for w in ("rigoureuse", "vente", "caissier")] == ["rigour", "vent", "caissi"]
    assert search_match.forms(typed("directeur")) == ("directeur", "directric")


# key: (title, ROME code): masculine titles, a feminine one, both.
GENDERED_OFFERS = {
    "seller": ("Vendeur (H/F)", "D1211"),
    "saleswoman": ("Vendeuse en boulangerie", "D1106"),
    "both": ("Vendeur / Vendeuse prêt-à-porter", "D1214"),
    "waiter": ("Serveur en brasserie", "G1803"),
    "hairdresser": ("Coiffeuse mixte", "D1202"),
    "driver": ("Conducteur de bus", "N4103"),
    "cashier": ("Caissier (H/F)", "D1505"),
    "carer": ("Aide-soignant de nuit", "J1501"),
    "nurse": ("Infirmier en EHPAD", "J1506"),
    "cleaner": ("Agent d'entretien", "K2204"),
    "baker": ("Boulanger", "D1102"),
    "cook": ("Cuisinier", "G1602"),
    "technician": ("Technicien de maintenance", "I1304"),
    "worker": ("Ouvrier agricole", "A1401"),
    "clerk": ("Employé de rayon", "D1507"),
    "coach": ("Éducateur sportif", "G1204"),
}
# (typed in the feminine, in the masculine, the offer both find at least)
GENDERED_QUERIES = [
    ("Vendeuse", "Vendeur", "seller"), ("vendeuses", "vendeurs", "saleswoman"),
    ("serveuse", "serveur", "waiter"), ("coiffeuse", "coiffeur", "hairdresser"),
    ("conductrice de bus", "conducteur de bus", "driver"), ("caissière", "caissier", "cashier"),
    ("aide-soignante", "aide-soignant", "carer"), ("infirmière", "infirmier", "nurse"),
    ("agente d'entretien", "agent d'entretien", "cleaner"), ("boulangère", "boulanger", "baker"),
    ("cuisinière", "cuisinier", "cook"), ("technicienne", "technicien", "technician"),
    ("ouvrière agricole", "ouvrier agricole", "worker"),
    ("employée de rayon", "employé de rayon", "clerk"),
    ("éducatrice sportive", "éducateur sportif", "coach"),
]  # fmt: skip


async def test_a_job_typed_in_the_feminine_finds_its_offers_titled_in_the_masculine(session):  # type: ignore[no-untyped-def]
    """Each pair finds the same offers, on the pages (widened) and the API (the words alone):
    those titled in the masculine, in the feminine, or both; never a "did you mean" (the
    feminine "vendeuse" was "corrected" to "vendeux", its own stem)."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    ids = {}
    for key, (title, code) in GENDERED_OFFERS.items():
        offer = await f.offer(
            session, booth_=booth, title=title, rome_code=code, description="Poste à pourvoir.",
            commune="Montpellier", postcode="34000", skills=[],
        )  # fmt: skip
        ids[offer.id] = key
    await db.commit(session)
    found = {}
    for fem, masc, _ in GENDERED_QUERIES:
        for q in (fem, masc):
            query = search.Query(q=q)
            page = await search_terms.find(session, edition_id=edition.id, query=query)
            plain = await search.search(session, edition_id=edition.id, query=query)
            pages = {ids[h.offer.id] for h in page.hits}
            found[q] = (pages, page.did_you_mean, {ids[h.offer.id] for h in plain.hits})
    apart = [
        (fem, found[fem], masc, found[masc])
        for fem, masc, key in GENDERED_QUERIES
        if found[fem] != found[masc] or key not in found[fem][0] or found[fem][1]
    ]
    assert apart == []
    sellers = {"seller", "saleswoman", "both"}
    assert found["Vendeuse"] == found["vendeuses"] == (sellers, "", sellers)


@pytest.mark.sqlite_only
async def test_a_match_not_scored_writes_the_stems_groups_share_once(session):  # type: ignore[no-untyped-def]
    """Chauffeur's synonyms repeat its trade ("conducteur" in most of its groups): the SQLite
    matches that are not scored (the ids counted, the title's tier) write it once
    (fair.search.match `_factored`: FTS5 reads a term's list once per time it is written),
    the scored query keeps each group's phrases (bm25 scores each one). The same offers."""
    edition, ids = await _setup(session)
    widening = await search_terms.widen(session, "chauffeur")
    found = search_match.values("sqlite", [search_match.typed("chauffeur")], widening.wider)
    conducteur = '"conducteur"*'
    sharing = [g for g in widening.wider.groups if "conducteur" in g]
    assert len(sharing) > 2
    assert found["w_every"].count(conducteur) == len(sharing)
    assert [found[k].count(conducteur) for k in ("w_found", "w_tier_1")] == [1, 1]
    assert found["w_tier_1"].startswith('((title_stems : "conducteur"* OR ')

    async def matched(name: str) -> set[str]:
        statement = text("SELECT rowid FROM offers_fts WHERE offers_fts MATCH :m")
        rows = await session.execute(statement, {"m": found[name]})
        return {ids[i] for (i,) in rows if i in ids}

    # Not "Conducteur de travaux": a group's other words are still required.
    drivers = {"vtc", "pl", "long", "long2"}
    assert await matched("w_found") == await matched("w_every") == drivers
    assert await matched("w_tier_1") == {"vtc", "pl"}  # routier: the code's offers, N4111


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_words_queries_are_written_once(dialect: str) -> None:
    """fair.search.match.values keeps the queries it wrote for the same words and widening
    (searched again page after page, visitor after visitor): the second time writes nothing,
    and each caller gets its own copy to change."""
    wider = search_match.Wider((("conducteur", "poid", "lourd"), ("livreur",)), ("N4101",))
    terms = [search_match.typed("chauffeur")]
    search_match._values.cache_clear()
    first = search_match.values(dialect, terms, wider)
    first["w_every"] = "changed"
    again = search_match.values(dialect, terms, wider)
    assert search_match._values.cache_info().hits == 1
    assert again["w_every"] != "changed" and again == {**first, "w_every": again["w_every"]}
    assert search_match.values(dialect, terms, search_match.Wider()) != again


def test_the_best_first_count_reads_each_tier_once() -> None:
    """SQLite's best-first count works out the tier of the index's `best_k`-th best match
    (fair.search.match.tier_cut): each tier's matches are counted once, when a branch first
    needs them, not again in each later branch's sum (the first tier was counted three times
    in a widened search's four)."""
    words = search_match.Words(((0, "head"), (1, "title"), (2, "any")))
    query = search.Query(q="chauffeur")
    shape = ranking.Shape(search_filters.Shape.of(query, None, "sqlite", words=True), words)
    compiled = best._counted(shape).compile(dialect=sqlite.dialect())
    read = [name for name in compiled.positiontup or () if name.startswith("w_cand_")]
    assert sorted(read) == ["w_cand_0", "w_cand_1", "w_cand_2"]


async def test_typos_forgiven_with_did_you_mean(session):  # type: ignore[no-untyped-def]
    edition, ids = await _setup(session)
    page, found = await _find(session, edition, ids, "electricein")
    assert found == [("elec", Reason("spelling", "electricein", "électricien"))]
    assert page.did_you_mean == "électricien"
    page, found = await _find(session, edition, ids, "carsite camions")
    assert found == [("forklift", Reason("spelling", "carsite", "cariste"))]
    assert page.did_you_mean == "cariste camions"
    # A misspelt synonym: corrected, then widened.
    page, found = await _find(session, edition, ids, "chaufeur courtes")
    assert [k for k, _ in found] == ["long2"]
    assert page.did_you_mean == "chauffeur courtes"
    # Nothing near: nothing found, no suggestion.
    page, found = await _find(session, edition, ids, "xqzwvk")
    assert (page.total, found, page.did_you_mean) == (0, [], "")
    # Found as typed: no suggestion even when a word is one letter from another.
    page, found = await _find(session, edition, ids, "cariste")
    assert (found, page.did_you_mean) == ([("forklift", None)], "")


async def test_a_corrected_word_ranks_as_if_typed_so(session):  # type: ignore[no-untyped-def]
    """The words meant are the search's own words (its tiers: a title starting with them
    first), not the typo's, which finds nothing: the handler typed "manutentionaire" comes
    before the synonyms' order pickers, as for "manutentionnaire" typed right."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    ids = {}
    offers = [("handler", "Manutentionnaire polyvalent en entrepôt frigorifique", "N1105", "Quai.")]
    offers += [
        (f"picker{n}", "Préparateur de commandes", "N1103", "Préparation de commandes.")
        for n in range(3)
    ]
    offers += [(f"baker{n}", "Boulanger", "D1102", "Fournil.") for n in range(6)]
    for key, title, code, description in offers:
        offer = await f.offer(
            session, booth_=booth, title=title, rome_code=code, description=description,
            skills=[],
        )  # fmt: skip
        ids[offer.id] = key
    await db.commit(session)
    for q in ("manutentionnaire", "manutentionaire"):
        page, found = await _find(session, edition, ids, q)
        assert found[0][0] == "handler", (q, found)
        assert page.did_you_mean == ("" if q == "manutentionnaire" else "manutentionnaire")


async def test_a_word_no_offer_has_is_left_out_when_nothing_is_found(session):  # type: ignore[no-untyped-def]
    """A qualifier no offer says ("nuit", "web") would leave the page empty: the other words
    are searched, widened as typed, and every hit says which words were left out."""
    edition, ids = await _setup(session)
    page, found = await _find(session, edition, ids, "cariste nuit")
    assert (page.total, found, page.did_you_mean) == (
        1, [("forklift", Reason("without", "nuit", ""))], ""
    )  # fmt: skip
    _, found = await _find(session, edition, ids, "CACES de nuit")
    assert found == [("forklift", Reason("without", "nuit", ""))]
    # The API's list the same.
    listed = await search_terms.listing(
        session, edition_id=edition.id, query=search.Query(q="cariste nuit"), after=None, limit=5
    )
    assert [ids[h.offer.id] for h in listed] == ["forklift"]
    # Words some offer has stay required ("chantiers": the labourer's), as does a commune's
    # name (no offer there is the answer), and nothing is left when every word is absent.
    for q in ("cariste chantiers", "cariste Castries", "nuit week-end"):
        page, found = await _find(session, edition, ids, q)
        assert (page.total, found) == (0, []), q


async def test_ligatures_are_words(session):  # type: ignore[no-untyped-def]
    edition, ids = await _setup(session)
    for typed in ("manoeuvre", "Manœuvres", "MANŒUVRE"):
        _, found = await _find(session, edition, ids, typed)
        assert found == [("labourer", None)], typed


async def test_vocabulary_follows_titles(session):  # type: ignore[no-untyped-def]
    """Migration 0035's triggers: each title's stems once, counted per title."""
    from sqlalchemy import select

    from fair.models import SearchWord

    await _setup(session)
    words = dict((await session.execute(select(SearchWord.word, SearchWord.offers))).all())
    assert words[search.stem("routier")] == 2
    assert words[search.stem("cariste")] == 1
    assert words[search.stem("manoeuvre")] == 1
    assert "h" not in words and "de" not in words  # stop words and letters left out
    near = [w for w, _ in await search_terms.vocabulary(session, "electricein")]
    assert search.stem("electricien") in near


async def test_search_page_says_why_in_french(client, session):  # type: ignore[no-untyped-def]
    edition, _ = await _setup(session)
    response = await client.get(f"/e/{edition.slug}/offers", params={"q": "chauffeur"})
    assert response.status_code == 200
    assert "Synonyme : chauffeur → conducteur de poids lourd" in response.text
    response = await client.get(f"/e/{edition.slug}/offers", params={"q": "electricein"})
    assert "Orthographe proche : electricein → électricien" in response.text
    assert '<a href="?q=%C3%A9lectricien">électricien</a>' in response.text


def test_distance_counts_edits():
    assert search_terms.distance("conducteur", "conducteru") == 1  # two letters swapped
    assert search_terms.distance("cariste", "carriste") == 1
    assert search_terms.distance("plombier", "plonbiez") == 2
    assert search_terms.distance("macon", "maison", 1) == 2  # past `most`: most + 1
    assert search_terms.closeness("soignnate", search.stem("soignante")) == 0  # its start
    # A trade's whole word is no stem: a typed word's start is not compared with it.
    assert search_terms.closeness("livreru", "libre") == 1
    assert search_terms.closeness("livreru", "libre", start=False) == 3
    assert search_terms.closeness("livreru", "livreur", start=False) == 1
    assert search_terms.allowed("ash") == 0


def _full_table(a: str, b: str) -> int:
    """Edits from `a` to `b` (added, dropped, changed, two swapped), every cell of the table."""
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return row[-1]


@settings(max_examples=600, deadline=None)
@given(
    st.text("aceinrst", max_size=10),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 9), st.sampled_from("aceinrst"))),
    st.integers(0, 2),
)
def test_distance_within_most_is_the_full_tables(word, edits, most):  # type: ignore[no-untyped-def]
    """`distance` works out only the band `most` letters wide around the diagonal: the same
    edits as the whole table wherever they are `most` at most, else `most` + 1."""
    other = list(word)
    for kind, at, letter in edits[:3]:  # a few edits of `word` (or none): near and far pairs
        at = min(at, len(other))
        if kind == 0:
            other.insert(at, letter)
        elif other and kind == 1:
            del other[min(at, len(other) - 1)]
        elif other and kind == 2:
            other[min(at, len(other) - 1)] = letter
        elif at + 1 < len(other):
            other[at], other[at + 1] = other[at + 1], other[at]
    b = "".join(other)
    assert search_terms.distance(word, b, most) == min(_full_table(word, b), most + 1)


def test_words_too_many_letters_apart_are_not_compared():
    """`Typed.near` is `closeness` wherever that is within the letters allowed: the bound on
    letters only skips words that could not be (every trade's word and a sample of stems,
    for typos and correct words)."""
    from fair.search.terms import Typed, letters

    trades = [(w, bits) for found in search_terms.trade_words().values() for w, bits in found]
    stems = [(search.stem(w), letters(search.stem(w))) for w, _ in trades[::7]]
    assert search_terms.apart(letters("carsite"), letters("cariste")) == 0  # same letters
    assert search_terms.apart(letters("plombier"), letters("plonbiez")) == 2
    compared = [(w, bits, start) for found in (trades, stems) for start in (True, False)
                for w, bits in found]  # fmt: skip
    for typed in ("elecricien", "carsite", "chaufeur", "soignnate", "macon", "plombeir", "agnet",
                  "livreru"):  # fmt: skip
        near = Typed.of(typed)
        for other, bits, start in compared:
            expected = search_terms.closeness(typed, other, start=start)
            if expected <= near.most:
                assert near.near(other, bits, start=start) == expected, (typed, other, start)
            else:
                assert near.near(other, bits, start=start) > near.most, (typed, other, start)


def test_synonym_list_is_sound():
    """Each key and phrase has words; no key twice; each phrase's words name trades: each is
    in a ROME job's name or is itself a key of the list."""
    known = set(search_terms.surfaces())
    keys = [s.key for s in search_terms.synonyms()]
    assert len(keys) == len(set(keys)) and all(keys)
    for synonym in search_terms.synonyms():
        assert synonym.means, synonym.typed
        for phrase, stems in synonym.means:
            assert stems and stems != synonym.key, (synonym.typed, phrase)
            named = [w for w in search.words(phrase) if len(w) > 1]
            missing = [w for w in named if search.stem(w) not in known]
            assert not missing, (synonym.typed, phrase, missing)


def test_synonym_groups_replace_the_key_and_keep_the_rest():
    terms = [search.stem(w) for w in search.words("aide à domicile Sète")]
    groups = dict(search_terms.synonym_groups(terms))
    # "vie" is "vi", which starts "ville": the phrase's short stems are matched whole.
    vie = search.stem("vie") + search_match.WHOLE
    assert (search.stem("assistant"), vie, search.stem("sete")) in groups
    assert search_terms.synonym_groups([search.stem("boulanger")]) == []


async def test_vocabulary_counts_a_changed_title_only(session):  # type: ignore[no-untyped-def]
    """An offer saved with its title unchanged leaves the vocabulary as it was (a form posted
    back unchanged changes nothing); a new title adds its words."""
    from sqlalchemy import select, update

    from fair.models import Offer, SearchWord

    edition, ids = await _setup(session)
    before = dict((await session.execute(select(SearchWord.word, SearchWord.offers))).all())
    first = min(ids)
    await session.execute(update(Offer).where(Offer.id == first).values(positions=3))
    await db.commit(session)
    after = dict((await session.execute(select(SearchWord.word, SearchWord.offers))).all())
    assert after == before
    await session.execute(
        update(Offer).where(Offer.id == first).values(title_stems=search.stems("Boulanger"))
    )
    await db.commit(session)
    after = dict((await session.execute(select(SearchWord.word, SearchWord.offers))).all())
    assert after == {**before, search.stem("boulanger"): 1}


# Typed word -> the stem `respell` corrects it to (None: left as typed), on the offers of
# `_setup` and the trades' words: titles' words (the vocabulary), trades' words (ROME names and
# synonyms, no offer has them), a word's start or stem, the communes' names never. A typed
# word's start is compared with the titles' stems, not with a trade's whole word ("livreru" was
# "libre" by its start "livre", "magasinier", a trade, was "magasin", "internatonal" was
# "internat", a school's); a compound of the trades' words is no typo ("electrotechnicien"
# was "electromecanicien").
CORRECTIONS = {
    "electricein": "electricien", "elecricien": "electricien", "carsite": "carist",
    "chaufeur": "chauffeur", "conducteru": "conducteur", "condcteur": "conducteur",
    "routeir": "routi", "routiers": None, "hospitaleir": "hospitali", "manoeuvr": None,
    "plombeir": "plombi", "plombiere": None, "boulangre": "boulang", "soudeure": None,
    "infirmeir": "infirmi", "serveuz": "serveur", "menuisiere": None, "macon": None,
    "macn": "macon", "cuisiner": None, "cuisinie": None, "xqzwvk": None, "lunell": None,
    "vendargue": None, "sete": None, "chantier": None, "chanteirs": "chanti",
    "assistnat": "assist", "dependnace": "depend", "internatonal": "international",
    "internationnal": "international", "pods": "poid", "lourds": None, "aid": None, "agnet": None,
    "jardinnier": "jardini", "electrotechnicien": None,
    "mecanicein": "mecanicien", "secretiare": "secretair", "comptabel": "comptabl",
    "livreru": "livreur", "vendeuse": None, "vendeus": "vendeur", "magasinier": None,
    "magazinier": "magasini", "preparateru": "prepar", "cariste": None, "caristes": None,
    "transprt": "transport", "tranport": "transport",
}  # fmt: skip
# Where the two databases' vocabularies answer apart (FTS5 trigrams against pg_trgm).
CORRECTIONS_BY_DIALECT = {
    "sqlite": {"conductrise": "conductric", "electricite": None},
    "postgresql": {"conductrise": None, "electricite": None},
}


async def test_spelling_corrections(session):  # type: ignore[no-untyped-def]
    """Each typo's correction, one word at a time (as every query's first probe: nothing
    kept): the answers the search gave when this test was written."""
    edition, _ = await _setup(session)
    expected = {**CORRECTIONS, **CORRECTIONS_BY_DIALECT[session.get_bind().dialect.name]}
    found = {}
    for word in expected:
        fixes = await search_terms.respell(session, [word], edition_id=edition.id)
        found[word] = fixes.get(word)
    assert found == expected


async def test_spelling_probe_is_kept_until_the_offers_change(app, session):  # type: ignore[no-untyped-def]
    """A typo typed again costs no probe (fair.search.cache); once an offer has the word, it
    is no typo any more."""

    edition, _ = await _setup(session)
    assert await search_terms.respell(session, ["carsite"], edition_id=edition.id) == {
        "carsite": search.stem("cariste")
    }
    seen: list[str] = []

    def count(*args):  # type: ignore[no-untyped-def]
        if "search_words" in args[2] or "offers_fts" in args[2] or "search_vector" in args[2]:
            seen.append(args[2])

    engine = app.state.engine.sync_engine
    with listening(engine, "before_cursor_execute", count):
        again = await search_terms.respell(session, ["carsite"], edition_id=edition.id)
    assert (again, seen) == ({"carsite": search.stem("cariste")}, [])
    booth, _ = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Magasinier", description="Carsite confirmé.")
    await db.commit(session)
    assert await search_terms.respell(session, ["carsite"], edition_id=edition.id) == {}


async def test_spelling_follows_the_offers_added_and_removed(session):  # type: ignore[no-untyped-def]
    """A correction toward a title's word once an offer has it; none while an offer has the
    word as typed (no typo then), and again once that offer is gone. Each answer is kept
    (fair.search.cache) until a commit changes the edition's offers."""
    edition, _ = await _setup(session)
    booth, _ = await f.booth(session, edition_=edition)

    async def fixed() -> dict[str, str]:
        return await search_terms.respell(session, ["zytholgue"], edition_id=edition.id)

    assert await fixed() == {}
    await f.offer(session, booth_=booth, title="Zythologue", description="Bières.")
    await db.commit(session)
    assert await fixed() == {"zytholgue": search.stem("zythologue")}
    typed = await f.offer(session, booth_=booth, title="Caviste", description="Zytholgue.")
    await db.commit(session)
    assert await fixed() == {}
    await session.delete(typed)
    await db.commit(session)
    assert await fixed() == {"zytholgue": search.stem("zythologue")}


async def test_the_spelling_tables_are_worked_out_at_start_up(conf):  # type: ignore[no-untyped-def]
    """The trades' and the communes' words (~0.25 s of CPU) are there before the first typo
    (fair.app's lifespan, in a thread): not worked out on the event loop by its request."""
    from fair.app import create_app  # the app assembled, as a process starts it

    tables = (
        search_terms.surfaces,
        search_terms.trade_words,
        search_terms.trades_sorted,
        search_terms.place_words,
    )
    for table in tables:
        table.cache_clear()
    application = create_app(conf)
    async with application.router.lifespan_context(application):
        assert [table.cache_info().currsize for table in tables] == [1, 1, 1, 1]


def test_groups_that_find_nothing_more_are_left_out_of_the_match():
    """A group whose every stem continues one of another group's stems finds no offer that
    one does not: the match leaves it out (its rank still counts it); equal groups once."""
    groups = [
        ("cuisin", "montpelli"),
        ("comm", "cuisin", "montpelli"),
        ("chef", "part"),
        ("part", "chef"),
        ("chef", "part", "montpelli"),
        ("conducteur",),
        ("conduct",),
    ]
    assert search_match.matching(groups) == [
        ("cuisin", "montpelli"),
        ("chef", "part"),
        ("conduct",),
    ]


# Offers whose words fall in each tier (fair.search.match.tiers), and the tiers of each query,
# best first.
TIERED = {
    # "mise en rayon": a skill of the seller's; the synonym's "employé de rayon" a title.
    "seller": ("Vendeur en boulangerie", "D1106", "Accueil des clients.", ["Mise en rayon"]),
    "shelves": ("Employé de rayon libre-service", "D1507", "Réassort.", []),
    # "auxiliaire de vie": "auxiliaire" in the title, "vie" in the description.
    "nursery": ("Auxiliaire de puériculture", "J1304", "Actes de la vie quotidienne.", []),
    "home": ("Assistant de vie dépendance", "K1302", "Aide aux personnes âgées.", []),
    # "routier": a sector in a title, the trade itself, its synonym's.
    "agency": ("Responsable d'agence transport routier", "N4201", "Gestion.", []),
    "long": ("Routier international", "N4101", "Tournées longues.", []),
    "truck": ("Conducteur de poids lourd", "N4101", "Livraisons.", []),
    "mechanic": ("Mécanicien", "I1604", "Véhicules du transport routier.", []),
    "bus": ("Conducteur de bus", "N4103", "Poids lourd.", []),
}
TIERS = {
    "mise en rayon": [{"shelves"}, {"seller"}],
    "auxiliaire de vie": [{"home"}, {"nursery"}],
    "routier": [{"long"}, {"truck", "agency"}, {"mechanic"}, {"bus"}],
}


async def _tiered(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    ids = {}
    for key, (title, code, description, skills) in TIERED.items():
        offer = await f.offer(
            session,
            booth_=booth,
            title=title,
            rome_code=code,
            description=description,
            skills=skills,
        )
        ids[offer.id] = key
    await db.commit(session)
    return edition, ids


async def test_a_title_is_better_evidence_than_words_scattered_in_the_text(session):  # type: ignore[no-untyped-def]
    """The query's own words in a title starting with the first (its trade) come first, then
    its words elsewhere in a title or a synonym's phrase in a title, then its words found
    anywhere (the skills, the description), then the synonyms' other matches, on every
    ranking path: the exact one, each tier's newest scored (`Query.rank_bound`), page by
    page."""
    edition, ids = await _tiered(session)
    for q, tiers in TIERS.items():
        for bound in (0, 1):
            query = search.Query(q=q, rank_bound=bound)
            page = await search_terms.find(session, edition_id=edition.id, query=query)
            found = [ids[h.offer.id] for h in page.hits]
            assert [set(found[n : n + len(t)]) for n, t in _starts(tiers)] == tiers, (q, bound)
            for n, key in enumerate(found, 1):  # one a page: the same order, page by page
                one = search.Query(q=q, rank_bound=bound, per_page=1, page=n)
                page = await search_terms.find(session, edition_id=edition.id, query=one)
                assert [ids[h.offer.id] for h in page.hits] == [key], (q, bound, n)


async def test_a_page_of_words_scores_only_the_tiers_that_can_reach_it(session, monkeypatch):  # type: ignore[no-untyped-def]
    """SQLite's best-first page (fair.search.best) scores the matches of the tiers up to the
    one its last best match is in (fair.search.match.sqlite_best's `cut`), the worse tiers'
    neither scored nor read: the same page, page by page, as the filtered search that ranks
    every match (a contract every offer has). With the index's best `per_page` read, page n
    needs n matches: the cut moves down the tiers, page by page."""
    monkeypatch.setattr(best, "BEST_FACTOR", 1)  # the index's best `per_page` read, no more
    monkeypatch.setattr(best, "BEST_MORE", 0)
    edition, ids = await _tiered(session)
    scored: list[str] = []

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "bm25(" in statement:
            scored.append(statement)

    engine = session.bind.sync_engine
    with listening(engine, "before_cursor_execute", seen):
        cut = []
        for q, tiers in TIERS.items():
            for n in range(1, sum(map(len, tiers)) + 1):
                scored.clear()
                query = search.Query(q=q, per_page=1, page=n, rank_bound=0)  # exact
                page = await search_terms.find(session, edition_id=edition.id, query=query)
                every = replace(query, contract="cdi")  # ranked in full (not best-first)
                again = await search_terms.find(session, edition_id=edition.id, query=every)
                assert [h.offer.id for h in page.hits] == [h.offer.id for h in again.hits]
                cut.append("+rowid IN" in scored[0] if scored else None)
    if session.bind.dialect.name == "sqlite":  # every page but the last of "routier", whose
        # match only a synonym's phrase in a text finds (the last tier)
        assert cut == [True] * 8 + [False]
    else:
        assert cut == [None] * 9


def _starts(tiers: list[set[str]]) -> list[tuple[int, set[str]]]:
    """Each tier with its first place in a page."""
    found, n = [], 0
    for tier in tiers:
        found.append((n, tier))
        n += len(tier)
    return found
