"""The edition as one row in France Travail's events shape (a superset of what MEE, France
Travail's event tool, exports per event)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import disclosure, editions
from fair.enums import BoothStatus, EditionStatus
from fair.exports.kinds import Batches, Row
from fair.exports.reading import local, shown
from fair.models import (
    Application,
    Booth,
    EditionCandidate,
    Employer,
    LiveDay,
    Offer,
)

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


async def event_rows(
    session: AsyncSession, *, edition_ids: Sequence[int], link: Callable[[str], str], hidden: str
) -> Batches:
    """One row per edition (`EVENT_COLUMNS`), a batch each; `link(slug)` is an edition's public
    page, `hidden` the mark of a hidden figure. MEE's organising body has no field in fair (the
    edition's territory and partners say it)."""
    for edition_id in edition_ids:
        yield [await event_row(session, edition_id, link=link, hidden=hidden)]


async def event_row(
    session: AsyncSession, edition_id: int, *, link: Callable[[str], str], hidden: str
) -> Row:
    """The edition's row in France Travail's events shape."""
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
    return (
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
        link(edition.slug),
    )
