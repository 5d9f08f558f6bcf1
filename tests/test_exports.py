"""Exports (fair.exports): the rows of each export against what the test created, the CSV's
flavour and formula neutralisation, the XLSX written in constant memory and read back, chunked
reads, the audit record and list."""

from __future__ import annotations

import csv
import glob
import io
import os
import tempfile
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, candidates, clock, exports, insight, participants
from fair.enums import ApplicationStatus, Role
from fair.models import User
from tests import factories as f

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def staff(session: AsyncSession, role: Role) -> User:
    """An account that never logs in here (no password hashed: the tests stay fast)."""
    return await f.user(session, role, can_log_in=False)


async def new_edition(session: AsyncSession, **kw: object):  # type: ignore[no-untyped-def]
    return await f.edition(
        session, by=kw.pop("by", None) or await staff(session, Role.ORGANISER), **kw
    )


async def new_booth(session: AsyncSession, edition_, approve: bool = True):  # type: ignore[no-untyped-def]
    recruiter = await staff(session, Role.RECRUITER)
    return await f.booth(session, edition_=edition_, recruiter=recruiter, approve=approve)


async def collected(batches: exports.Batches) -> list[list[exports.Row]]:
    return [batch async for batch in batches]


def wall(moment: datetime) -> datetime:
    return moment.astimezone(PARIS).replace(tzinfo=None, second=0, microsecond=0)


# Rows -----------------------------------------------------------------------------------------


async def test_a_booths_applications_in_chunks_and_no_other_booths(session: AsyncSession) -> None:
    edition = await new_edition(session)
    booth, recruiter = await new_booth(session, edition)
    other, _ = await new_booth(session, edition)
    welder = await f.offer(session, booth_=booth, title="Soudeur (H/F)")
    cook = await f.offer(session, booth_=booth, title="=Cuisinier")
    made = []
    for n, offer in enumerate([welder, cook, welder]):
        clock.set_now(f.NOON + timedelta(minutes=n))
        made.append(await f.application(session, offer_=offer, can_log_in=False))
    await f.application(session, offer_=await f.offer(session, booth_=other), can_log_in=False)
    clock.set_now(f.NOON + timedelta(hours=1))
    await applications.set_status(session, made[1], ApplicationStatus.SHORTLISTED, by=recruiter)
    people = {a.id: await session.get(User, a.candidate_id) for a in made}
    titles = {welder.id: "Soudeur (H/F)", cook.id: "=Cuisinier"}
    expected = [
        (
            people[a.id].name,  # type: ignore[union-attr]
            people[a.id].email,  # type: ignore[union-attr]
            titles[a.offer_id],
            "Présélectionnée" if a is made[1] else "Envoyée",
            wall(a.created_at),
            wall(a.status_changed_at),
        )
        for a in made
    ]
    batches = await collected(
        exports.application_rows(session, booth_id=booth.id, zone=PARIS, locale="fr", chunk=2)
    )
    assert [len(b) for b in batches] == [2, 1]
    assert [row for batch in batches for row in batch] == expected


async def test_the_edition_row_in_france_travails_events_shape(session: AsyncSession) -> None:
    organiser = await staff(session, Role.ORGANISER)
    edition = await new_edition(
        session, by=organiser, partners="France Travail\nMission locale", closes=time(23, 59)
    )
    first, recruiter = await new_booth(session, edition)
    second, _ = await new_booth(session, edition)
    requested, _ = await new_booth(session, edition, approve=False)
    await f.offer(session, booth_=first, positions=3, open_seniors=True, rome_code="F1602")
    await f.offer(session, booth_=first, positions=2, no_diploma=True, rome_code="G1602")
    await f.offer(session, booth_=second, open_seniors=True, open_disabled=True, rome_code="F1602")
    await f.offer(session, booth_=requested, positions=9, open_under26=True, rome_code="K2204")
    people = [await f.candidate(session, can_log_in=False) for _ in range(6)]
    await participants.register_many(session, [(edition.id, p.id) for p in people])
    listed = await f.offer(session, booth_=second, rome_code="N4105")
    for person in people[:2]:
        await f.application(session, offer_=listed, candidate_=person)
    hidden = "masqué"
    batches = await collected(
        exports.event_rows(
            session,
            edition_ids=[edition.id],
            link=lambda slug: f"https://x/e/{slug}",
            hidden=hidden,
        )
    )
    assert len(batches) == 1 and len(batches[0]) == 1
    row = dict(zip(exports.EVENT_COLUMNS, batches[0][0], strict=True))
    noon = f.NOON.astimezone(PARIS)
    assert row == {
        "identifiant": edition.slug,
        "titre": edition.title,
        "typeEvenement": "Salon en ligne",
        "modalite": "À distance",
        "etat": "En cours",
        "salonEnCours": 1,
        "dateDebut": (noon - timedelta(days=1)).date(),
        "dateFin": (noon + timedelta(days=3)).date(),
        "heureDebut": time(0, 0),
        "heureFin": time(23, 59),
        "nombreJours": 5,
        "dateDebutCandidature": wall(noon - timedelta(days=7)),
        "dateFinCandidature": wall(noon + timedelta(days=7)),
        "dateLimiteReponse": wall(noon + timedelta(days=10)),
        "territoire": "Métropole test",
        "partenaires": "France Travail ; Mission locale",
        "codesNAF": "43.21A",
        "codesROME": "F1602, G1602, N4105",
        "nombreRecruteurs": 2,
        "nombreOffres": 4,
        "nombrePostes": 3 + 2 + 1 + 1,
        "nombrePlaces": None,
        "nombreInscrits": 6,
        "inscritsPresentiel": 0,
        "inscritsDistance": 6,
        "nombreCandidatures": hidden,  # 2 candidates applied: fewer than 5
        "publicCible": "Seniors, Travailleurs handicapés, Sans diplôme",
        "offresSeniors": 2,
        "offresMoins26Ans": 0,
        "offresTH": 1,
        "offresSansDiplome": 1,
        "urlSalonEnLigne": f"https://x/e/{edition.slug}",
    }


async def test_registrants_below_five_are_hidden_in_the_events_row(session: AsyncSession) -> None:
    edition = await new_edition(session)
    people = [await f.candidate(session, can_log_in=False) for _ in range(4)]
    await participants.register_many(session, [(edition.id, p.id) for p in people])
    figures = await exports.event_figures(session, edition.id)
    assert (figures.registrants.value, figures.registrants.shown) == (4, False)
    ((row,),) = await collected(
        exports.event_rows(session, edition_ids=[edition.id], link=str, hidden="h")
    )
    named = dict(zip(exports.EVENT_COLUMNS, row, strict=True))
    assert (named["nombreInscrits"], named["inscritsDistance"], named["nombreRecruteurs"]) == (
        "h",
        "h",
        0,
    )


async def test_the_funnel_per_candidate_pseudonymous_in_chunks(session: AsyncSession) -> None:
    edition = await new_edition(session)
    booth, recruiter = await new_booth(session, edition)
    offer = await f.offer(session, booth_=booth)
    only = await f.candidate(session, can_log_in=False)
    await candidates.update(session, only, data=candidates.ProfileInput(only.name, "", "Lunel", ""))
    await candidates.declare(
        session, only, consent=True, answers=candidates.PriorityAnswers(birth_year=1999)
    )
    await participants.register(session, edition_id=edition.id, user=only)
    clock.set_now(f.NOON + timedelta(days=1))
    kept = await f.application(session, offer_=offer, can_log_in=False)
    await applications.set_status(session, kept, ApplicationStatus.SHORTLISTED, by=recruiter)
    applied = await f.application(session, offer_=offer, can_log_in=False)
    elsewhere = await new_edition(session, title="Autre forum")
    await participants.register_many(session, [(elsewhere.id, only.id)])
    day, next_day = f.NOON.date(), (f.NOON + timedelta(days=1)).date()
    # registered, active, applied, shortlisted, booked, held, no-show, retained, hired
    expected = [
        (
            exports.pseudonym(edition.id, only.id),
            day,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            "CA Lunel Agglo",
            "26-49",
        ),
        (
            exports.pseudonym(edition.id, kept.candidate_id),
            next_day,
            1,
            1,
            1,
            1,
            0,
            0,
            0,
            0,
            0,
            "",
            "",
        ),
        (
            exports.pseudonym(edition.id, applied.candidate_id),
            next_day,
            1,
            1,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            "",
            "",
        ),
    ]
    batches = await collected(exports.candidate_rows(session, edition_id=edition.id, chunk=2))
    assert [len(b) for b in batches] == [2, 1]
    assert [row for batch in batches for row in batch] == expected
    header = exports.candidate_header("en")
    assert header[:4] == ["Candidate (pseudonym)", "Registered on", "Registered", "Active"]
    assert len(header) == len(expected[0]) and len(insight.STEPS) == 9
    # Stable in an edition, different in another, never the account's id.
    assert exports.pseudonym(edition.id, only.id) != exports.pseudonym(elsewhere.id, only.id)


async def test_the_editions_funnel_a_row_per_step(session: AsyncSession) -> None:
    edition = await new_edition(session)
    booth, _ = await new_booth(session, edition)
    offer = await f.offer(session, booth_=booth)
    for _n in range(5):
        await f.application(session, offer_=offer, can_log_in=False)
    idle = await f.user(session, can_log_in=False)
    await participants.register(session, edition_id=edition.id, user=idle)
    (rows,) = await collected(
        exports.edition_funnel_rows(session, edition_id=edition.id, hidden="h", locale="en")
    )
    # 6 registered, 5 active (applying counts), 5 applied, nobody further: every 0 is hidden,
    # and no hidden step lies between two equal shown ones (nothing more to hide).
    counts = {"registered": 6, "active": 5, "applied": 5}
    assert rows == [(exports.STEP_LABELS[s], counts.get(s, "h")) for s in exports.EDITION_STEPS]


async def test_the_booths_funnel_table_hides_as_the_dashboard(session: AsyncSession) -> None:
    edition = await new_edition(session)
    big, recruiter = await new_booth(session, edition)
    small, _ = await new_booth(session, edition)
    offer = await f.offer(session, booth_=big)
    made = [await f.application(session, offer_=offer, can_log_in=False) for _ in range(6)]
    for application in made[:5]:
        await applications.set_status(
            session, application, ApplicationStatus.SHORTLISTED, by=recruiter
        )
    await f.application(session, offer_=await f.offer(session, booth_=small), can_log_in=False)
    (rows,) = await collected(exports.booth_funnel_rows(session, edition_id=edition.id, hidden="h"))
    counts = {
        big.id: {**dict.fromkeys(exports.BOOTH_COLUMNS, 0), "applied": 6, "shortlisted": 5},
        small.id: {**dict.fromkeys(exports.BOOTH_COLUMNS, 0), "applied": 1},
    }
    # What the dashboard shows: the same counts, and each one shown or hidden as it says.
    page = {b.booth_id: b for b in await insight.booth_funnels(session, edition.id)}
    assert {b: {c: page[b].funnel.counts[c] for c in exports.BOOTH_COLUMNS} for b in page} == counts
    assert not page[small.id].funnel.figures["applied"].shown
    expected = [
        (
            page[b].employer,
            *(n if page[b].funnel.figures[c].shown else "h" for c, n in counts[b].items()),
            0,
            0,
        )
        for b in page
    ]
    assert rows == expected
    assert len(rows[0]) == len(exports.booth_funnel_header("en"))


# Formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+33 6 12", "'+33 6 12"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Zoé = cuisinière", "Zoé = cuisinière"),
        ("", ""),
    ],
)
def test_a_text_that_could_run_as_a_formula_gets_an_apostrophe(value: str, written: str) -> None:
    assert exports.neutral(value) == written


def test_csv_cells_numbers_untouched_moments_iso() -> None:
    line = exports.csv_lines(
        [(-3, 0, "=cmd|' /C calc'!A0", datetime(2026, 3, 10, 9, 5), date(2026, 3, 11), None)]
    )
    assert line == b"-3;0;'=cmd|' /C calc'!A0;2026-03-10 09:05;2026-03-11;\r\n"


async def test_the_csv_file_has_a_bom_semicolons_and_reads_back() -> None:
    async def batches() -> exports.Batches:
        yield [('Zoé; "la" cuisinière', 1)]
        yield [("@x", 2)]

    body = b"".join([c async for c in exports.csv_chunks(["Nom", "N"], batches())])
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["Nom", "N"], ['Zoé; "la" cuisinière', "1"], ["'@x", "2"]]


async def test_the_xlsx_file_reads_back_typed_and_its_temporary_file_is_gone() -> None:
    pattern = os.path.join(tempfile.gettempdir(), "fair-export-*.xlsx")
    before = set(glob.glob(pattern))

    async def batches() -> exports.Batches:
        yield [("=1+2", 5, datetime(2026, 3, 10, 9, 5)), ("-x", None, date(2026, 3, 11))]
        yield [("ok", 7, time(9, 30))]

    chunks = exports.xlsx_chunks("Candidatures", ["A", "B", "C"], batches(), size=1024)
    body = b"".join([c async for c in chunks])
    assert set(glob.glob(pattern)) == before
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None and sheet.title == "Candidatures"
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values == [
        ["A", "B", "C"],
        ["=1+2", 5, datetime(2026, 3, 10, 9, 5)],
        ["-x", None, datetime(2026, 3, 11)],
        ["ok", 7, time(9, 30)],
    ]
    # A text is a string cell, never a formula (openpyxl reads formulas as type "f").
    assert sheet["A2"].data_type == "s"


async def test_an_xlsx_stream_closed_early_leaves_no_file() -> None:
    pattern = os.path.join(tempfile.gettempdir(), "fair-export-*.xlsx")
    before = set(glob.glob(pattern))

    async def batches() -> exports.Batches:
        for n in range(50):
            yield [(f"row {n}", n)] * 200

    chunks = exports.xlsx_chunks("T", ["a", "b"], batches(), size=512)
    assert await anext(chunks)  # type: ignore[arg-type]
    await chunks.aclose()  # type: ignore[attr-defined]
    assert set(glob.glob(pattern)) == before


# Audit ----------------------------------------------------------------------------------------


async def test_records_are_listed_newest_first_a_page_at_a_time(session: AsyncSession) -> None:
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False, name="Orla")
    edition = await new_edition(session, by=organiser)
    other = await new_edition(session, title="Autre forum")
    booth, recruiter = await new_booth(session, edition)
    for n in range(3):
        clock.set_now(f.NOON + timedelta(minutes=n))
        await exports.record(
            session,
            export=exports.CANDIDATE_FUNNEL,
            edition_id=edition.id,
            by=organiser,
            format="csv",
        )
    clock.set_now(f.NOON + timedelta(minutes=5))
    await exports.authorise_booth(session, user=recruiter, booth=booth, format="xlsx")
    await exports.record(
        session, export=exports.CANDIDATE_FUNNEL, edition_id=other.id, by=organiser, format="csv"
    )
    lines, more = await exports.audit(session, edition.id, page=1, size=2)
    assert more
    assert [(x.at, x.who, x.what, x.format) for x in lines] == [
        (f.NOON + timedelta(minutes=5), recruiter.name, "booth_applications", "xlsx"),
        (f.NOON + timedelta(minutes=2), "Orla", "candidate_funnel", "csv"),
    ]
    assert lines[0].employer == booth.employer.name
    rest, more = await exports.audit(session, edition.id, page=2, size=2)
    assert not more
    assert [x.at for x in rest] == [f.NOON + timedelta(minutes=1), f.NOON]


async def test_only_personal_exports_are_recorded(session: AsyncSession) -> None:
    organiser = await staff(session, Role.ORGANISER)
    edition = await new_edition(session, by=organiser)
    found = await exports.authorise_edition(
        session, user=organiser, edition=edition, export=exports.EDITION_EVENTS, format="csv"
    )
    assert found is None
    found = await exports.authorise_edition(
        session, user=organiser, edition=edition, export=exports.CANDIDATE_FUNNEL, format="xlsx"
    )
    assert found is not None and (found.user_id, found.personal) == (organiser.id, True)
    lines, _ = await exports.audit(session, edition.id)
    assert [(x.what, x.format) for x in lines] == [("candidate_funnel", "xlsx")]
