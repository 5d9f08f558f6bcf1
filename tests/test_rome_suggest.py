"""ROME suggestion (fair.rome_suggest, fair.rome_text), the referential's import
(fair.rome_referential, `fair rome import`) and the API's ROMEO-shaped answer, on small data
built here (the held-out set of ../shared/eval/rome is for bench/matching.py only)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
from sqlalchemy import select

from fair import (
    clock,
    db,
    network,
    network_sync,
    rome,
    rome_referential,
    rome_suggest,
    rome_text,
    settings,
)
from fair.enums import Role
from fair.models import RomeAppellation, RomeCode, RomeCodeSkill, RomeSkill
from fair.search import stemming
from tests import factories, partner_keys
from tests.statements import cold, listening

APPELLATIONS = [
    ("N1101", "Cariste", "38634"),
    ("N1101", "Conducteur / Conductrice de chariot élévateur", "11111"),
    ("J1501", "Aide-soignant / Aide-soignante", "10501"),
    ("K1302", "Veilleur / Veilleuse de nuit", "12000"),
    ("N4101", "Chauffeur / Chauffeuse poids lourd", "13001"),
]
CODES = {
    "N1101": "Conducteur / Conductrice d'engins de déplacement des charges",
    "J1501": "Aide-soignant / Aide-soignante",
    "K1302": "Assistant / Assistante de vie aux familles",
    "N4101": "Conducteur / Conductrice de transport de marchandises sur longue distance",
}


@pytest.fixture(autouse=True)
def fresh_index() -> None:
    rome_suggest.invalidate()  # each test's database is new: no index of another one


# --- Pure functions (no database) -------------------------------------------------------------


def test_gender_forms_come_from_the_referential() -> None:
    label = "Ouvrier forestier / Ouvrière forestière de scierie"
    assert rome_text.masculine_form(label) == "Ouvrier forestier de scierie"
    assert rome_text.gender_pairs(label) == [
        ("ouvriere", "ouvrier"),
        ("forestiere", "forestier"),
    ]
    assert rome_text.masculine_form("Cariste") == "Cariste"


def test_titles_are_normalised() -> None:
    analyser = rome_suggest.build(appellations=APPELLATIONS, code_labels=CODES).analyser
    assert analyser.words("Cariste H/F CACES 3") == ["cariste", "caces", "cariste"]
    assert analyser.words("Aide-soignante de nuit (F/H) CDI temps plein") == ["aide", "soignant"]
    assert analyser.words("aide-soignant(e)") == ["aide", "soignant"]
    assert analyser.words("Chauffeuse PL - URGENT") == ["chauffeur", "conducteur", "poids", "lourd"]
    assert analyser.words("Conductrice permis C") == ["conducteur", "chauffeur", "permisc"]
    assert analyser.words("Œnologue") == ["oenologue"]


def test_suggestions_in_romeo_shape() -> None:
    index = rome_suggest.build(appellations=APPELLATIONS, code_labels=CODES)
    assert [s.romeo() for s in index.search("cariste H/F CACES 3")] == [
        {
            "codeRome": "N1101",
            "libelleRome": CODES["N1101"],
            "codeAppellation": "38634",
            "libelleAppellation": "Cariste",
            "scorePrediction": 1.0,
        }
    ]
    found = index.search("Conductrice de chariot (H/F) - URGENT", limit=2)
    assert [(s.code_rome, s.code_appellation) for s in found] == [
        ("N1101", "11111"),
        ("N4101", "13001"),
    ]
    assert found[0].score > found[1].score and round(found[0].score + found[1].score, 2) == 1.0
    assert index.search("CDI H/F temps plein") == []


def test_without_a_referential_the_shipped_labels_and_coded_offers_serve() -> None:
    index = rome_suggest.build(appellations=[], offers=[("N1103", "Picker logistique (H/F)", 4)])
    assert [s.romeo() for s in index.search("Électricien bâtiment", limit=1)] == [
        {
            "codeRome": "F1602",
            "libelleRome": "Électricien / Électricienne du bâtiment",
            "codeAppellation": "",
            "libelleAppellation": "Électricien / Électricienne du bâtiment",
            "scorePrediction": 1.0,
        }
    ]
    # "picker" is in no ROME label: only the coded offer's title teaches it.
    assert [(s.code_rome, s.code_appellation) for s in index.search("picker", limit=3)] == [
        ("N1103", "")
    ]


# --- The import and the index from the database (both backends) ------------------------------


def _official_files(directory: Path) -> None:
    """A small referential in the official files' own layout (v4.60 headers)."""
    (directory / "unix_referentiel_appellation_v460_utf8.csv").write_text(
        '"code_ogr","libelle_appellation_long","libelle_appellation_court","code_rome",'
        '"classification","code_rome_parent","peu_usite"\n'
        '"38634","Cariste","Cariste","N1101","SYNONYME","N1101","N"\n'
        '"10501","Aide-soignant / Aide-soignante","Aide-soignant","J1501","PRINCIPALE",'
        '"J1501","N"\n'
        '"10502","Aide-soignant / Aide-soignante en EHPAD","Aide-soignant","J1524","SYNONYME",'
        '"J1501","N"\n',
        encoding="utf-8",
    )
    (directory / "unix_referentiel_code_rome_v460_utf8.csv").write_text(
        '"code_rome","code_fiche_metier","code_ogr","libelle_rome","code_rome_parent"\n'
        '"N1101","1","1","Conducteur / Conductrice d\'engins de déplacement des charges","N1101"\n'
        '"J1501","2","2","Aide-soignant / Aide-soignante","J1501"\n'
        '"J1524","3","3","Aide-soignant / Aide-soignante en gériatrie","J1501"\n',
        encoding="utf-8",
    )
    (directory / "unix_referentiel_competence_v460_utf8.csv").write_text(
        '"code_ogr","nature","libelle_competence","url_formation"\n'
        '"100001","Compétence","Conduire un chariot élévateur","https://example.org/caces"\n'
        '"100002","Compétence","Réaliser des soins d\'hygiène",""\n',
        encoding="utf-8",
    )
    (directory / "unix_referentiel_savoir_v460_utf8.csv").write_text(
        '"code_ogr_savoir","libelle_savoir","categorie_savoir"\n'
        '"200001","Gestes et postures de manutention","Techniques"\n',
        encoding="utf-8",
    )
    (directory / "unix_coherence_item_v460_utf8.csv").write_text(
        '"code_rome","code_ogr","coeur_metier"\n'
        '"N1101","100001","O"\n"N1101","200001",""\n"J1501","100002","O"\n'
        '"N9999","100001","O"\n',  # a code outside the referential: ignored
        encoding="utf-8",
    )


async def test_import_is_idempotent_and_feeds_the_api(app, session, client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _official_files(tmp_path)
    for _ in range(2):  # twice: the same tables
        counts = await rome_referential.import_directory(session, tmp_path)
        await db.commit(session)
    assert counts == rome_referential.Counts(codes=3, appellations=3, skills=3, links=3)
    assert [tuple(r) for r in await session.execute(select(RomeCode.code, RomeCode.parent))] == [
        ("J1501", "J1501"),
        ("J1524", "J1501"),
        ("N1101", "N1101"),
    ]
    appellations = await session.execute(
        select(RomeAppellation.code_ogr, RomeAppellation.code, RomeAppellation.stems).order_by(
            RomeAppellation.code_ogr
        )
    )
    assert [tuple(r) for r in appellations] == [
        ("10501", "J1501", "aid soign"),
        ("10502", "J1524", "aid soign ehpad"),
        ("38634", "N1101", "carist"),
    ]
    skills = await session.execute(
        select(RomeSkill.code_ogr, RomeSkill.kind, RomeSkill.training_url).order_by(
            RomeSkill.code_ogr
        )
    )
    assert [tuple(r) for r in skills] == [
        ("100001", "competence", "https://example.org/caces"),
        ("100002", "competence", ""),
        ("200001", "savoir", ""),
    ]
    links = await session.execute(
        select(RomeCodeSkill.code, RomeSkill.code_ogr, RomeCodeSkill.core)
        .join(RomeSkill)
        .order_by(RomeCodeSkill.code, RomeSkill.code_ogr)
    )
    assert [tuple(r) for r in links] == [
        ("J1501", "100002", True),
        ("N1101", "100001", True),
        ("N1101", "200001", False),
    ]
    response = await client.get("/api/v1/rome/suggest", params={"q": "Cariste H/F CACES 3"})
    assert response.status_code == 200
    assert response.json() == {
        "intitule": "Cariste H/F CACES 3",
        "metiersRome": [
            {
                "codeRome": "N1101",
                "libelleRome": "Conducteur / Conductrice d'engins de déplacement des charges",
                "codeAppellation": "38634",
                "libelleAppellation": "Cariste",
                "scorePrediction": 1.0,
            }
        ],
    }
    refused = await client.get("/api/v1/rome/suggest", params={"q": "x", "limit": "0"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "input.invalid"


async def test_a_directory_without_usable_appellations_is_refused(session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(rome_referential.Invalid) as refused:
        await rome_referential.import_directory(session, tmp_path)
    assert refused.value.code == "rome.no_appellations"
    (tmp_path / "unix_referentiel_appellation_v460_utf8.csv").write_bytes(b"\xff\xfe\x00latin")
    with pytest.raises(rome_referential.Invalid) as refused:
        await rome_referential.import_directory(session, tmp_path)
    assert (refused.value.code, refused.value.params) == (
        "rome.bad_file",
        {"file": "unix_referentiel_appellation_v460_utf8.csv"},
    )


async def test_imported_referential_and_coded_offers(session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _official_files(tmp_path)
    await rome_referential.import_directory(session, tmp_path)
    edition = await factories.edition(session)
    booth, _ = await factories.booth(session, edition_=edition)
    for _ in range(2):
        await factories.offer(
            session, booth_=booth, title="Picker logistique (H/F)", rome_code="N1103"
        )
    await db.commit(session)
    found = {
        q: [s.code_rome for s in await rome_suggest.suggest(session, q, limit=1)]
        for q in ("Cariste H/F CACES 3", "aide soignante de nuit", "Picker H/F")
    }
    assert found == {
        "Cariste H/F CACES 3": ["N1101"],
        "aide soignante de nuit": ["J1501"],  # the name itself, not J1524's "… en EHPAD"
        "Picker H/F": ["N1103"],  # a code of the shipped list, learned from the offers
    }


async def test_the_index_follows_changes_made_by_other_processes(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(rome_suggest, "CHECK_SECONDS", 0.0)
    statements: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    def signatures() -> list[str]:
        return [s for s in statements if "max(" in s.lower()]

    async def codes(text: str) -> list[str]:
        """The codes a request gets: it runs no signature, the check it starts runs them."""
        statements.clear()
        found = [s.code_rome for s in await rome_suggest.suggest(session, text, limit=1)]
        assert signatures() == []
        await rome_suggest.settled()
        assert signatures()
        return found

    with listening(session.get_bind(), "before_cursor_execute", count, background=True):
        found = await rome_suggest.suggest(session, "picker", limit=1)
        assert found == [] and signatures()  # the first build, on the request
        edition = await factories.edition(session)
        booth, _ = await factories.booth(session, edition_=edition)
        await factories.offer(session, booth_=booth, title="Picker (H/F)", rome_code="N1103")
        await db.commit(session)
        assert await codes("picker") == []  # checked in the background
        assert await codes("picker") == []  # new coded offers wait LEARN_SECONDS
        monkeypatch.setattr(rome_suggest, "LEARN_SECONDS", 0.0)
        assert await codes("picker") == []  # served the index there is while it is rebuilt
        assert await codes("picker") == ["N1103"]
        # Another process's import (no invalidate() here): seen after the next check.
        session.add(RomeCode(code="A1413", label="Brasseur / Brasseuse de bière", parent="A1413"))
        await session.flush()
        session.add(
            RomeAppellation(code="A1413", label="Zythologue", code_ogr="1", stems="zythologu")
        )
        await db.commit(session)
        assert await codes("zythologue") == []
        assert await codes("zythologue") == ["A1413"]


async def test_a_check_without_the_database_logs_one_line_and_the_next_one_runs(
    conf: settings.Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background check finds every connection taken (a pool of one, held by the request
    that started it: "server.busy", the database briefly unavailable): one warning line, no
    traceback, the index in use kept; the next check runs and reads the tables again."""
    monkeypatch.setattr(rome_suggest, "CHECK_SECONDS", 0.0)
    caplog.set_level(logging.WARNING)
    statements: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.create_engine(conf.database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        with listening(engine, "before_cursor_execute", count, background=True):
            async with db.sessionmaker(engine)() as session:
                title = "Électricien bâtiment"  # a shipped label (no referential imported here)
                built = [s.code_rome for s in await rome_suggest.suggest(session, title, limit=1)]
                assert built == ["F1602"]  # the first build, on the request
                statements.clear()
                # The session keeps the one connection (its transaction): the check waits in vain.
                again = await rome_suggest.suggest(session, title, limit=1)
                await rome_suggest.settled()
                assert [s.code_rome for s in again] == built and statements == []
            lines = [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records]
            assert len(lines) == 1, lines
            level, message, exc_info = lines[0]
            assert (level, exc_info) == ("WARNING", None)
            assert message.startswith("ROME index check: database unavailable (server.busy)")
            async with db.sessionmaker(engine)() as session:
                found = await rome_suggest.suggest(session, title, limit=1)
                await rome_suggest.settled()
                assert [s.code_rome for s in found] == built
            assert [s for s in statements if "max(" in s.lower()]  # checked this time
            assert len(caplog.records) == 1

    finally:
        await engine.dispose()


async def test_a_check_during_a_counted_request_is_not_counted(app, client, session) -> None:  # type: ignore[no-untyped-def]
    """The check of the tables (a task with a session of its own, started by whichever search
    comes CHECK_SECONDS after the last, whatever the test) runs during a request whose
    statements a test counts: its statements are told apart (fair.db `background`) and the
    tests' one way of listening (tests/statements.py `listening`) leaves them out."""
    edition = await factories.edition(session)
    booth, _ = await factories.booth(session, edition_=edition)
    await factories.offer(session, booth_=booth, title="Cariste (H/F)", rome_code="N1101")
    await db.commit(session)
    page = f"/e/{edition.slug}/offers?q=cariste"
    assert (await client.get(page)).status_code == 200  # the index built, on the request
    await rome_suggest.settled()
    checks: list[str] = []

    def task(conn, *_args) -> None:  # type: ignore[no-untyped-def]
        if name := db.background_task(conn):
            checks.append(name)

    async def counted(*, check: bool) -> list[str]:
        if check:  # the last check long ago: this request starts one
            for cache in rome_suggest._caches.values():
                cache.checked = -math.inf
        with listening(app.state.engine, "before_cursor_execute", task, background=True):
            with cold(app, every=True) as seen:
                assert (await client.get(page)).status_code == 200
                await rome_suggest.settled()  # the check's statements ran meanwhile
        return seen

    quiet = await counted(check=False)
    assert checks == []
    assert await counted(check=True) == quiet
    assert checks and set(checks) == {rome_suggest.CHECK}


async def test_invalidate_rebuilds_on_the_next_request(session) -> None:  # type: ignore[no-untyped-def]
    assert [s.code_rome for s in await rome_suggest.suggest(session, "zythologue")] == []
    session.add(RomeCode(code="A1413", label="Brasseur / Brasseuse de bière", parent="A1413"))
    await session.flush()
    session.add(RomeAppellation(code="A1413", label="Zythologue", code_ogr="1", stems="zythologu"))
    await db.commit(session)
    rome_suggest.invalidate()  # what the import does in its process
    found = await rome_suggest.suggest(session, "zythologue", limit=1)
    assert [s.code_rome for s in found] == ["A1413"]


# --- The mechanisms of the suggestion, one test each (small data built here) ---------------


def test_offer_noise_is_dropped_and_certifications_kept() -> None:
    analyser = rome_text.Analyser()
    assert analyser.words("Vendeur H/F - 1 800 € brut/mois, bac+2, 35h, CDD renfort été") == [
        "vendeur"
    ]
    assert analyser.words("Cariste CACES R489 cat 3 et 5 (F/H/X)") == [
        "cariste",
        "caces",
        "cariste",
    ]
    assert analyser.words("Chauffeur SPL permis CE FIMO") == [
        "chauffeur",
        "conducteur",
        "super",
        "poids",
        "lourd",
        "permisce",
        "fimo",
        "conducteur",
    ]


def test_feminine_endings_are_the_search_s() -> None:
    """A feminine the referential gives no pair for is read as its known masculine through the
    search's table of endings (fair.search.stemming.FEMININE, plural or not): one table, so
    "employées" is read as "employé" as the search reads it (its "-ée" was missing here)."""
    analyser = rome_text.Analyser(known={"conducteur", "employe", "sportif"})
    read = [analyser.masculine(w) for w in ("conductrices", "employees", "employee", "sportives")]
    assert read == ["conducteur", "employe", "employe", "sportif"]
    assert analyser.masculine("vendeuses") == "vendeuses"  # no known masculine: as written
    assert [stemming.masculine(w) for w in ("conductrices", "employees", "sportives")] == [
        "conducteur", "employe", "sportif"
    ]  # fmt: skip


def test_abbreviations_come_from_the_maintained_file() -> None:
    table = rome_text.abbreviations()
    assert table["atsem"] == ("agent", "specialise", "ecoles", "maternelles")
    assert table["ash"] == ("agent", "service", "hospitalier")
    assert all(short == short.lower() and words for short, words in table.items())
    analyser = rome_text.Analyser()
    assert analyser.words("ATSEM") == ["agent", "specialise", "ecoles", "maternelles"]
    index = rome_suggest.build(
        appellations=[
            ("K2104", "Agent / Agente de service hospitalier", "1"),
            ("K2204", "Agent / Agente de service", "2"),
        ]
    )
    assert [s.code_rome for s in index.search("ASH en EHPAD (H/F)", limit=1)] == ["K2104"]


def test_an_unknown_word_is_read_as_the_nearest_known_one() -> None:
    index = rome_suggest.build(
        appellations=[
            ("I1304", "Électromécanicien / Électromécanicienne de maintenance", "1"),
            ("I1310", "Mécanicien / Mécanicienne de maintenance", "2"),
        ]
    )
    # 28 trigrams shared of 33 and 33: Dice 0.848, the weight of the word read.
    assert index.query("electromecanicen") == [("electromecanicien", 56 / 66)]
    assert [s.code_rome for s in index.search("électromécanicen", limit=1)] == ["I1304"]
    # Too far from every known word, or too short: left as it is (and matches nothing).
    assert index.query("zythologue") == [("zythologu", 1.0)]
    assert index.search("gueret") == []


def test_a_code_scores_the_evidence_of_all_its_names(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Each code's best name has two of the query's three words; only H3302's names and label
    # together have all three.
    appellations = [
        ("H2102", "Opérateur / Opératrice de conditionnement", "1"),
        ("H3302", "Opérateur / Opératrice de production", "2"),
    ]
    labels = {
        "H2102": "Opérateur / Opératrice de conditionnement",
        "H3302": "Opérateur / Opératrice de production et de conditionnement",
    }

    def first() -> str:
        index = rome_suggest.build(appellations=appellations, code_labels=labels)
        return index.search("opérateur conditionnement production", limit=1)[0].code_rome

    assert first() == "H3302"
    monkeypatch.setattr(rome_suggest, "CODE_WEIGHT", 0.0)
    assert first() == "H2102"  # the best single name alone (the adjacent pair decides)


def test_a_title_coded_before_gives_its_codes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    appellations = [
        ("N1105", "Agent / Agente de quai", "1"),
        ("N1103", "Préparateur / Préparatrice de commandes", "2"),
    ]
    offers = [("N1103", "AGENT DE QUAI H/F", 3), ("N1105", "Agent de quai (F/H)", 1)]
    index = rome_suggest.build(appellations=appellations, offers=offers)
    found = index.search("agent de quai - CDI", limit=2)
    assert [s.code_rome for s in found] == ["N1103", "N1105"]
    assert (found[0].code_appellation, found[0].label_appellation) == ("2", appellations[1][1])
    monkeypatch.setattr(rome_suggest, "MEMORY", 0.0)
    index = rome_suggest.build(appellations=appellations, offers=offers)
    assert [s.code_rome for s in index.search("agent de quai", limit=2)] == ["N1105", "N1103"]
    # A code that is in no referential is not learned.
    index = rome_suggest.build(appellations=appellations, offers=[("Z9999", "Picker", 5)])
    assert index.search("picker") == []


async def test_offers_of_the_network_are_learned_too(session) -> None:  # type: ignore[no-untyped-def]
    ours, origin = await factories.edition(session), await factories.edition(session)
    _key, issued = await partner_keys.key(session, origin, *network.SCOPES)
    organiser = await factories.user(session, Role.ORGANISER, can_log_in=False)
    partner, _ = await network.register(
        session,
        edition=ours,
        base_url="https://emploi.example.fr",
        territory="Lozère",
        key=issued,
        by=organiser,
    )
    now = clock.now()
    page = network_sync.FeedPage(
        items=[
            network_sync.FeedItem(id=n, deleted=False, updated_at=now, title=title, rome_code=code)
            for n, (title, code) in enumerate(
                [("Picker (H/F)", "N1103"), ("Picker H/F", "N1103"), ("Zythologue", "Q0000")]
            )
        ],
        cursor="c",
        more=False,
    )
    await network_sync.apply_page(session, partner, page)
    await db.commit(session)
    found = await rome_suggest.suggest(session, "picker", limit=1)
    assert [(s.code_rome, s.label_rome) for s in found] == [
        ("N1103", rome.job("N1103").label)  # type: ignore[union-attr]
    ]
    assert await rome_suggest.suggest(session, "zythologue") == []  # not a ROME code: unlearned


def test_a_title_that_is_an_official_name_gives_its_code(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # G1801 has more names with the same words; the title is G1803's name, noise aside.
    appellations = [
        ("G1803", "Chef de rang", "1"),
        ("G1801", "Serveur / Serveuse chef de rang", "2"),
        ("G1801", "Chef de rang en restauration", "3"),
        ("G1801", "Chef de rang serveur", "4"),
        ("G1801", "Chef de rang en hôtellerie", "5"),
    ]

    def ranked() -> list[tuple[str, str]]:
        index = rome_suggest.build(appellations=appellations)
        return [(s.code_rome, s.code_appellation) for s in index.search("Chef de rang H/F")]

    monkeypatch.setattr(rome_suggest, "CONTAIN_BONUS", 0.0)  # which also favours G1803
    assert ranked() == [("G1803", "1"), ("G1801", "3")]
    monkeypatch.setattr(rome_suggest, "MEMORY", 0.0)
    assert ranked() == [("G1801", "3"), ("G1803", "1")]


def test_a_whole_name_inside_the_title_counts(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    appellations = [
        ("N1105", "Agent / Agente de quai", "1"),
        ("N1103", "Manutentionnaire de quai en entrepôt", "2"),
        ("K2204", "Agent / Agente de service", "3"),
    ]

    def first() -> str:
        index = rome_suggest.build(appellations=appellations)
        return index.search("Agent de quai entrepôt", limit=1)[0].code_rome

    assert first() == "N1105"  # "agent de quai" is all in the title; the other name is not
    monkeypatch.setattr(rome_suggest, "CONTAIN_BONUS", 0.0)
    assert first() == "N1103"


def test_folding_and_what_an_analyser_remembers() -> None:
    assert rome_text.fold("Éducateur Spécialisé – 1 800 € (Œuvre, ﬁlière, x²)") == (
        "educateur specialise – 1 800 € (oeuvre, filiere, x2)"
    )
    analyser = rome_text.Analyser()
    assert analyser.words("Conductrice") == ["conductrice"]  # no pair known yet
    analyser.learn(["Conducteur / Conductrice de bus"])  # what was read before is forgotten
    assert analyser.words("Conductrice") == ["conducteur", "chauffeur"]
