"""Exports of an edition's data as CSV and XLSX, streamed in constant memory, and their audit.

What can be exported (`EXPORTS`):

- `candidate_funnel`: one row per registered candidate with the funnel steps reached
  (`insight.candidate_steps`, the one definition of the steps), the EPCI of residence and the
  age band. Personal data although pseudonymous: no name, no e-mail, no priority-public answer
  (those are health and social data, counted only in aggregates); each candidate is a
  pseudonym stable within the edition (an HMAC of the edition and the account), so two exports
  can be compared but not joined with another edition's. Organisers only, audited.
- `booth_funnel`: the dashboard's funnel per booth, its figures about people through
  fair.disclosure exactly as the page shows them. Not personal.
- `edition_events`: the edition as one row in France Travail's events shape (`EVENT_COLUMNS`,
  a superset of what MEE exports per event). Not personal.
- `booth_applications`: a booth's applications (candidate, e-mail, offer, status, dates) for
  the booth's recruiters. Personal, audited.

Rows are read in chunks (`CHUNK`) from a server-side cursor (`session.stream`): a source is an
async generator of batches and never holds more than one batch. The boundary opens its own read
session for the body, as the request's unit of work has ended by then; it checks the permission
and writes the audit record (`record`) in the request's unit of work, before streaming.

Formats:

- CSV: one flavour, for the people who open it: UTF-8 with a byte order mark, `;` between
  cells, CRLF line ends, quoted where needed. Excel in France opens it by double-click with
  its accents and columns right (it reads `,` files as one column); LibreOffice, pandas
  (`sep=";"`, `encoding="utf-8-sig"`) and Python's csv read it as well. XLSX is offered beside
  it for spreadsheets anyway.
- Formula injection: a text cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage
  return could be run as a formula by a spreadsheet (a candidate named `=HYPERLINK(...)`). In
  CSV such a cell gets a leading apostrophe (`'=…`), which spreadsheets show as text; numbers
  are written as numbers, so a count is never touched. In XLSX every text is written as a
  string cell (never `write()`, which would guess formulas), which a spreadsheet never runs:
  no apostrophe needed there.
- XLSX: XlsxWriter in `constant_memory` mode (each row flushed to disk as written) writes a
  temporary file in worker threads, batch by batch; the file is then streamed and deleted.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from sqlalchemy import Select, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, disclosure, editions, geo, insight, permissions, settings
from fair.enums import ApplicationStatus, BoothStatus, EditionStatus
from fair.errors import NotFound
from fair.i18n import N_, gettext
from fair.models import (
    Application,
    Booth,
    CandidateProfile,
    Edition,
    EditionCandidate,
    Employer,
    ExportRecord,
    LiveDay,
    Offer,
    PriorityDeclaration,
    User,
)

CHUNK = 1000
Cell = str | int | date | datetime | time | None
Row = tuple[Cell, ...]
Batch = list[Row]
Batches = AsyncIterator[Batch]
FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
RISKY = ("=", "+", "-", "@", "\t", "\r")
AUDIT_PAGE = 50


@dataclass(frozen=True)
class Export:
    """One kind of export: its name in the audit (`what`), its title (a msgid), and whether it
    holds personal data (then only those entitled get it, and each one is recorded)."""

    what: str
    title: str
    personal: bool


CANDIDATE_FUNNEL = Export("candidate_funnel", N_("Funnel per candidate"), personal=True)
EDITION_FUNNEL = Export("edition_funnel", N_("Funnel of the edition"), personal=False)
BOOTH_FUNNEL = Export("booth_funnel", N_("Funnel per booth"), personal=False)
EDITION_EVENTS = Export(
    "edition_events", N_("The edition in France Travail's events shape"), personal=False
)
BOOTH_APPLICATIONS = Export("booth_applications", N_("Applications of a booth"), personal=True)
EXPORTS = {
    e.what: e
    for e in (CANDIDATE_FUNNEL, EDITION_FUNNEL, BOOTH_FUNNEL, EDITION_EVENTS, BOOTH_APPLICATIONS)
}


def kind(what: str) -> Export:
    """The export called `what`; NotFound for any other name (it comes from a URL)."""
    found = EXPORTS.get(what)
    if found is None:
        raise NotFound("The page you asked for does not exist or was moved.")
    return found


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise NotFound("The page you asked for does not exist or was moved.")
    return name


# Permission and audit -------------------------------------------------------------------------


async def authorise_edition(
    session: AsyncSession, *, user: User, edition: Edition, export: Export, format: str
) -> ExportRecord | None:
    """Refuse anyone but the edition's organisers; record a personal export (`record`)."""
    await permissions.require_organiser(session, user, edition)
    if not export.personal:
        return None
    return await record(session, export=export, edition_id=edition.id, by=user, format=format)


async def authorise_booth(
    session: AsyncSession, *, user: User, booth: Booth, format: str
) -> ExportRecord:
    """Refuse anyone but the booth's recruiters (another booth's applications do not exist for
    them); record the export."""
    await permissions.require_application_recruiter(session, user, booth)
    return await record(
        session,
        export=BOOTH_APPLICATIONS,
        edition_id=booth.edition_id,
        booth_id=booth.id,
        by=user,
        format=format,
    )


async def record(
    session: AsyncSession,
    *,
    export: Export,
    edition_id: int,
    by: User,
    format: str,
    booth_id: int | None = None,
) -> ExportRecord:
    """Write who exported what, when, in which format: the one writer of ExportRecord. Called
    in the unit of work that checked the permission, so no export leaves unrecorded."""
    entry = ExportRecord(
        edition_id=edition_id,
        booth_id=booth_id,
        user_id=by.id,
        what=export.what,
        format=check_format(format),
        personal=export.personal,
        created_at=clock.now(),
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    who: str
    email: str
    what: str
    format: str
    employer: str


async def audit(
    session: AsyncSession, edition_id: int, *, page: int = 1, size: int = AUDIT_PAGE
) -> tuple[list[AuditLine], bool]:
    """One page of the edition's recorded exports, newest first, and whether more follow."""
    statement = (
        select(ExportRecord, User.name, User.email, Employer.name)
        .outerjoin(User, User.id == ExportRecord.user_id)
        .outerjoin(Booth, Booth.id == ExportRecord.booth_id)
        .outerjoin(Employer, Employer.id == Booth.employer_id)
        .where(ExportRecord.edition_id == edition_id)
        .order_by(ExportRecord.created_at.desc(), ExportRecord.id.desc())
        .limit(size + 1)
        .offset((max(page, 1) - 1) * size)
    )
    rows = (await session.execute(statement)).all()
    lines = [
        AuditLine(entry.created_at, name or "", email or "", entry.what, entry.format, emp or "")
        for entry, name, email, emp in rows[:size]
    ]
    return lines, len(rows) > size


# Row sources ----------------------------------------------------------------------------------


async def stream(
    session: AsyncSession, statement: Select[*tuple[Any, ...]], *, chunk: int = CHUNK
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The statement's rows, `chunk` at a time, from a server-side cursor."""
    result = await session.stream(statement.execution_options(yield_per=chunk))
    async for partition in result.partitions(chunk):
        yield [tuple(row) for row in partition]


def local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored moment as the edition's wall-clock time, to the minute (spreadsheets have no
    time zones)."""
    if moment is None:
        return None
    return moment.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def pseudonym(edition_id: int, user_id: int) -> str:
    """A candidate's stable name in one edition's exports; nobody without the server's secret
    key can tell the account, nor link it across editions."""
    return pseudonyms(edition_id)(user_id)


def pseudonyms(edition_id: int) -> Callable[[int], str]:
    """`pseudonym` for one edition, its key read once (called for every row of an export)."""
    key = settings.get().secret_key.encode()
    prefix = f"{edition_id}:"

    def name(user_id: int) -> str:
        digest = hmac.digest(key, f"{prefix}{user_id}".encode(), hashlib.sha256)
        return f"C-{digest.hex()[:12]}"

    return name


def age_band(birth_year: int | None, year: int) -> str:
    """The age band reached in `year` (as the priority figures count it), or '' if not told."""
    if birth_year is None:
        return ""
    age = year - birth_year
    return "<26" if age < 26 else "50+" if age >= 50 else "26-49"


def shown(figure: disclosure.Figure, hidden: str) -> Cell:
    """A figure about people as a cell: its value, or the mark of a hidden one."""
    return figure.value if figure.shown else hidden


# The funnels: per candidate, of the edition, per booth

STEP_LABELS = {
    "registered": N_("Registered"),
    "active": N_("Active"),
    "applied": N_("Applied"),
    "shortlisted": N_("Shortlisted"),
    "interview_booked": N_("Interview booked"),
    "held": N_("Interview held"),
    "no_show": N_("No-show"),
    "not_held_yet": N_("Interview not held yet"),
    "retained": N_("Retained"),
    "hired": N_("Returned to work"),
}


def candidate_header(locale: str) -> list[str]:
    first = [N_("Candidate (pseudonym)"), N_("Registered on")]
    last = [N_("EPCI of residence"), N_("Age band")]
    names = [*first, *(STEP_LABELS[s] for s in insight.STEPS), *last]
    return [gettext(name, locale) for name in names]


async def candidate_rows(
    session: AsyncSession,
    *,
    edition_id: int,
    filters: insight.Filters | None = None,
    chunk: int = CHUNK,
) -> Batches:
    """One row per registered candidate (`insight.candidate_steps`), by registration: the
    pseudonym, the day of registration, 1 or 0 per step, the EPCI of residence (from the
    profile's commune) and the age band (from the optional birth year)."""
    edition = await editions.get(session, edition_id)
    zone = ZoneInfo(edition.timezone)
    year = edition.applications_open_at.year
    steps = insight.candidate_steps(edition_id, filters).subquery("steps")
    registered = and_(
        EditionCandidate.edition_id == edition_id, EditionCandidate.user_id == steps.c.user_id
    )
    statement = (
        select(
            steps.c.user_id,
            EditionCandidate.registered_at,
            *(steps.c[s] for s in insight.STEPS),
            CandidateProfile.commune,
            PriorityDeclaration.birth_year,
        )
        .join(EditionCandidate, registered)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == steps.c.user_id)
        .outerjoin(PriorityDeclaration, PriorityDeclaration.user_id == steps.c.user_id)
        .order_by(EditionCandidate.registered_at, steps.c.user_id)
    )
    epcis: dict[str, str] = {}  # at most one entry per commune of France
    name = pseudonyms(edition_id)
    async for batch in stream(session, statement, chunk=chunk):
        yield [
            (
                name(user_id),
                registered_at.astimezone(zone).date(),
                *(int(n) for n in reached),
                _epci(epcis, commune or ""),
                age_band(birth_year, year),
            )
            for user_id, registered_at, *reached, commune, birth_year in batch
        ]


def _epci(known: dict[str, str], commune: str) -> str:
    if commune not in known:
        found = geo.epci_of(commune) if commune else None
        known[commune] = found.name if found else ""
    return known[commune]


EDITION_STEPS = (*insight.STEPS, "not_held_yet")


def edition_funnel_header(locale: str) -> list[str]:
    return [gettext(name, locale) for name in (N_("Step"), N_("Candidates"))]


async def edition_funnel_rows(
    session: AsyncSession,
    *,
    edition_id: int,
    hidden: str,
    locale: str,
    filters: insight.Filters | None = None,
) -> Batches:
    """The dashboard's funnel (`insight.dashboard`, so that under a booth filter its figures are
    the booth's row's, protected as there): a row per step, its figure as the page shows it
    (rates are left to the spreadsheet: they come from shown figures only)."""
    found = (await insight.dashboard(session, edition_id, filters or insight.Filters())).funnel
    yield [
        (gettext(STEP_LABELS[s], locale), shown(found.figures[s], hidden))
        for s in EDITION_STEPS
        if s in found.figures
    ]


BOOTH_COLUMNS = (*insight.BOOTH_STEPS, "not_held_yet")


def booth_funnel_header(locale: str) -> list[str]:
    views = [N_("Views of the booth's page"), N_("Views of its offers' pages")]
    names = [N_("Booth"), *(STEP_LABELS[s] for s in BOOTH_COLUMNS), *views]
    return [gettext(name, locale) for name in names]


async def booth_funnel_rows(
    session: AsyncSession,
    *,
    edition_id: int,
    hidden: str,
    filters: insight.Filters | None = None,
) -> Batches:
    """The dashboard's table of booths (`insight.booth_funnels`), each figure about people as
    the page shows it (hidden ones as `hidden`); page views are not people, shown as counted."""
    found = await insight.booth_funnels(session, edition_id, filters)
    yield [
        (
            booth.employer,
            *(shown(booth.funnel.figures[s], hidden) for s in BOOTH_COLUMNS),
            booth.views.booth,
            booth.views.offers,
        )
        for booth in found
    ]


# Applications of a booth


def application_header(locale: str) -> list[str]:
    names = [
        N_("Candidate"),
        N_("E-mail"),
        N_("Offer"),
        N_("Status"),
        N_("Applied at"),
        N_("Status changed at"),
    ]
    return [gettext(name, locale) for name in names]


async def application_rows(
    session: AsyncSession, *, booth_id: int, zone: ZoneInfo, locale: str, chunk: int = CHUNK
) -> Batches:
    """The booth's applications, oldest first (the pipeline's order)."""
    statement = (
        select(
            User.name,
            User.email,
            Offer.title,
            Application.status,
            Application.created_at,
            Application.status_changed_at,
        )
        .join(User, User.id == Application.candidate_id)
        .join(Offer, Offer.id == Application.offer_id)
        .where(Application.booth_id == booth_id)
        .order_by(Application.created_at, Application.id)
    )
    labels = {s.value: gettext(s.label, locale) for s in ApplicationStatus}
    async for batch in stream(session, statement, chunk=chunk):
        yield [
            (name, email, title, labels[status], local(applied, zone), local(changed, zone))
            for name, email, title, status, applied, changed in batch
        ]


# The edition in France Travail's events shape

# Column names as France Travail's events API and MEE write them (camelCase, French): the
# file is read by their tools and people, whatever the exporter's language.
EVENT_COLUMNS = (
    "identifiant",
    "titre",
    "typeEvenement",
    "modalite",
    "etat",
    "salonEnCours",
    "dateDebut",
    "dateFin",
    "heureDebut",
    "heureFin",
    "nombreJours",
    "dateDebutCandidature",
    "dateFinCandidature",
    "dateLimiteReponse",
    "territoire",
    "partenaires",
    "codesNAF",
    "codesROME",
    "nombreRecruteurs",
    "nombreOffres",
    "nombrePostes",
    "nombrePlaces",
    "nombreInscrits",
    "inscritsPresentiel",
    "inscritsDistance",
    "nombreCandidatures",
    "publicCible",
    "offresSeniors",
    "offresMoins26Ans",
    "offresTH",
    "offresSansDiplome",
    "urlSalonEnLigne",
)
EVENT_STATES = {
    EditionStatus.DRAFT: "Brouillon",
    EditionStatus.PUBLISHED: "Publié",
    EditionStatus.APPLICATIONS_OPEN: "Candidatures ouvertes",
    EditionStatus.LIVE: "En cours",
    EditionStatus.CLOSED: "Terminé",
    EditionStatus.ARCHIVED: "Archivé",
}
# The target publics an offer may be open to, as France Travail names them.
PUBLICS = (
    ("open_seniors", "Seniors"),
    ("open_under26", "Jeunes de moins de 26 ans"),
    ("open_disabled", "Travailleurs handicapés"),
    ("no_diploma", "Sans diplôme"),
)


@dataclass(frozen=True)
class EventFigures:
    """What the edition's row counts: booths and offers as they are, people through disclosure
    (each count stands alone). All registrants are online: fair has no on-site part, so the
    on-site count is a structural zero, not a count of people, and is written as 0.

    `seats` stays None: an online fair has no capacity (MEE's places)."""

    recruiters: int
    offers: int
    positions: int
    registrants: disclosure.Figure
    applications: disclosure.Figure
    naf_codes: list[str]
    rome_codes: list[str]
    open_to: dict[str, int]
    seats: int | None = None


async def event_figures(session: AsyncSession, edition_id: int) -> EventFigures:
    approved = select(Booth.id).where(
        Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value
    )
    listed = (
        Offer.edition_id == edition_id,
        Offer.published.is_(True),
        Offer.booth_id.in_(approved),
    )
    flags = [func.count().filter(getattr(Offer, flag).is_(True)) for flag, _label in PUBLICS]
    offers_row = (
        await session.execute(
            select(func.count(), func.sum(Offer.positions), *flags).where(*listed)
        )
    ).one()
    naf = select(Employer.naf_code).distinct().join(Booth, Booth.employer_id == Employer.id)
    rome = select(Offer.rome_code).distinct().where(*listed, Offer.rome_code != "")
    registrants = select(func.count()).where(EditionCandidate.edition_id == edition_id)
    applied = select(func.count(distinct(Application.candidate_id))).where(
        Application.edition_id == edition_id
    )
    return EventFigures(
        recruiters=int(
            await session.scalar(select(func.count()).select_from(approved.subquery())) or 0
        ),
        offers=int(offers_row[0]),
        positions=int(offers_row[1] or 0),
        registrants=disclosure.single(int(await session.scalar(registrants) or 0)),
        applications=disclosure.single(int(await session.scalar(applied) or 0)),
        naf_codes=sorted(await session.scalars(naf.where(Booth.id.in_(approved)))),
        rome_codes=sorted(await session.scalars(rome)),
        open_to={flag: int(n) for (flag, _label), n in zip(PUBLICS, offers_row[2:], strict=True)},
    )


async def event_rows(session: AsyncSession, *, edition_id: int, link: str, hidden: str) -> Batches:
    """The edition's one row (`EVENT_COLUMNS`); `link` is its public page, `hidden` the mark of
    a hidden figure. MEE's organising body has no field in fair (the edition's territory and
    partners say it)."""
    edition = await editions.get(session, edition_id)
    zone = ZoneInfo(edition.timezone)
    days = list(
        await session.scalars(
            select(LiveDay).where(LiveDay.edition_id == edition_id).order_by(LiveDay.day)
        )
    )
    figures = await event_figures(session, edition_id)
    status = editions.status_at(edition)
    publics = [label for flag, label in PUBLICS if figures.open_to[flag]]
    row: Row = (
        edition.slug,
        edition.title,
        "Salon en ligne",
        "À distance",
        EVENT_STATES[status],
        int(status == EditionStatus.LIVE),
        days[0].day if days else None,
        days[-1].day if days else None,
        days[0].opens if days else None,
        days[0].closes if days else None,
        len(days),
        local(edition.applications_open_at, zone),
        local(edition.applications_close_at, zone),
        local(edition.response_deadline, zone),
        edition.territory,
        " ; ".join(line.strip() for line in edition.partners.splitlines() if line.strip()),
        ", ".join(figures.naf_codes),
        ", ".join(figures.rome_codes),
        figures.recruiters,
        figures.offers,
        figures.positions,
        figures.seats,
        shown(figures.registrants, hidden),
        0,
        shown(figures.registrants, hidden),
        shown(figures.applications, hidden),
        ", ".join(publics),
        *(figures.open_to[flag] for flag, _label in PUBLICS),
        link,
    )
    yield [row]


# Formats --------------------------------------------------------------------------------------


def neutral(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (see the module's docstring)."""
    return "'" + value if value.startswith(RISKY) else value


def text(value: Cell) -> str:
    """A cell as CSV text: numbers as digits, moments as ISO (read as dates by spreadsheets)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return neutral(value)


def csv_lines(rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    # Whole numbers (most cells: the funnel's 1 and 0) are written by csv as they are.
    writer.writerows([c if type(c) is int else text(c) for c in row] for row in rows)
    return out.getvalue().encode()


async def csv_chunks(header: Sequence[str], batches: Batches) -> AsyncIterator[bytes]:
    """The CSV file, a chunk per batch, header first (after the byte order mark)."""
    yield b"\xef\xbb\xbf" + csv_lines([header])
    async for batch in batches:
        yield csv_lines(batch)


class Sheet:
    """An XLSX file written row by row on disk (XlsxWriter's constant_memory mode). Its methods
    block: call them in a thread (`xlsx_chunks`), one at a time."""

    def __init__(self, path: str, title: str) -> None:
        self.book = xlsxwriter.Workbook(path, {"constant_memory": True, "in_memory": False})
        self.sheet = self.book.add_worksheet(title[:31])
        self.bold = self.book.add_format({"bold": True})
        self.moment = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.day = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.clock = self.book.add_format({"num_format": "hh:mm"})
        self.next = 0

    def write(self, rows: Sequence[Sequence[Cell]], *, header: bool = False) -> None:
        for row in rows:
            for column, value in enumerate(row):
                self._cell(self.next, column, value, header)
            self.next += 1

    def _cell(self, r: int, c: int, value: Cell, header: bool) -> None:
        if value is None:
            return
        if isinstance(value, bool | int):
            self.sheet.write_number(r, c, int(value))
        elif isinstance(value, datetime):
            self.sheet.write_datetime(r, c, value, self.moment)
        elif isinstance(value, date):
            self.sheet.write_datetime(r, c, value, self.day)
        elif isinstance(value, time):
            self.sheet.write_datetime(r, c, value, self.clock)
        else:
            self.sheet.write_string(r, c, value, self.bold if header else None)

    def close(self) -> None:
        self.book.close()


async def xlsx_chunks(
    title: str, header: Sequence[str], batches: Batches, *, size: int = 64 * 1024
) -> AsyncIterator[bytes]:
    """The XLSX file: written in threads to a temporary file batch by batch, then read back in
    `size` pieces; the file is deleted however the stream ends (a client gone included)."""
    handle, path = tempfile.mkstemp(prefix="fair-export-", suffix=".xlsx")
    os.close(handle)
    try:
        sheet = await asyncio.to_thread(Sheet, path, title)
        await asyncio.to_thread(sheet.write, [header], header=True)
        async for batch in batches:
            await asyncio.to_thread(sheet.write, batch)
        await asyncio.to_thread(sheet.close)
        file = await asyncio.to_thread(open, path, "rb")
        try:
            while piece := await asyncio.to_thread(file.read, size):
                yield piece
        finally:
            await asyncio.to_thread(file.close)
    finally:
        await asyncio.to_thread(_remove, path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def encoder(format: str) -> Callable[[str, Sequence[str], Batches], AsyncIterator[bytes]]:
    """The chunks of a file in `format`, from a title, a header and the batches of rows."""
    if check_format(format) == "csv":
        return lambda _title, header, batches: csv_chunks(header, batches)
    return xlsx_chunks
