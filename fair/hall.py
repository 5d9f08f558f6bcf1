"""The booth hall: an edition's approved booths as cards, filtered and paged.

Filters (every one optional, all combined): the employer's name (`q`, a part of it, case
aside), its NAF division (`sector`), a place (`commune`, with `radius_km`: 0 means in the
commune itself), the contract types offered (`contracts`: at least one of them), offers open to
people without a diploma (`no_diploma`), a recruiter there now (`present`), free interview
slots (`slots`). The offer criteria (contracts, no diploma) hold for one same published offer.
A place matches a booth whose employer is there (or within the distance), or that has a
published offer there (or within the distance, measured on the offer's coordinates).

Statements, whatever the number of booths: the filter's choices (sectors: one), the rules of
interview booking (one, with `slots`), the employers' communes (one, with a distance), the page
of ids with the total (one; two more when asked for a page past the last), the cards (one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from fair import clock, geo, interviews, paging, rome, search
from fair.enums import BoothStatus, Contract, QueueStatus
from fair.errors import Invalid
from fair.models import (
    Booth,
    BoothPresence,
    Employer,
    Interview,
    InterviewSlot,
    Offer,
    QueueEntry,
)

PER_PAGE = 24
MAX_PAGE = 1000
RADII = (0, *search.RADII)  # 0: in the commune itself
MAX_NAME = 100
SECTOR_RE = re.compile(r"[0-9]{2}")


@dataclass
class Filters:
    q: str = ""
    sector: str = ""
    commune: str = ""
    radius_km: int = 0
    contracts: list[str] = field(default_factory=list)
    no_diploma: bool = False
    present: bool = False
    slots: bool = False
    page: int = 1
    per_page: int = PER_PAGE

    def active(self) -> int:
        """How many filters narrow the hall (the page number aside; a distance belongs to its
        commune, several contract types are one filter): the hall's "Filters (2)"."""
        values = (self.q, self.sector, self.commune, self.contracts)
        flags = (self.no_diploma, self.present, self.slots)
        return sum(1 for value in (*values, *flags) if value)

    def any(self) -> bool:
        """Whether any filter narrows the hall (the page number aside)."""
        return self.active() > 0


@dataclass(frozen=True)
class Card:
    """One booth as the hall shows it (its employer loaded)."""

    booth: Booth
    offers: int
    staffed: bool
    waiting: int

    @property
    def employer(self) -> Employer:
        return self.booth.employer

    @property
    def sector(self) -> str:
        """The NAF division's label as the reference list writes it now."""
        return rome.sector_of(self.employer.naf_code) or self.employer.sector


@dataclass
class Page(paging.Paged):
    cards: list[Card]
    total: int
    page: int
    per_page: int


def check(filters: Filters) -> geo.Commune | None:
    """Validate the filters (errors as English msgids per field); returns the place, if any."""
    errors: dict[str, str] = {}
    if len(filters.q) > MAX_NAME:
        errors["q"] = "Keep the name under 100 characters."
    if filters.sector and (
        not SECTOR_RE.fullmatch(filters.sector) or filters.sector not in rome.sectors()
    ):
        errors["sector"] = "Choose a sector from the list."
    place = geo.place(filters.commune, filters.radius_km, radii=RADII)
    errors.update(place.errors)  # in the form's order: the place after the sector
    params = dict(place.params)
    origin = place.origin if isinstance(place.origin, geo.Commune) else None  # no position here
    if not set(filters.contracts) <= {c.value for c in Contract}:
        errors["contracts"] = "Choose contract types from the list."
    if errors:
        raise Invalid(
            "Some filters need correcting.", code="hall.invalid", fields=errors, params=params
        )
    filters.page = paging.clamp(filters.page, MAX_PAGE)
    return origin


async def sectors(session: AsyncSession, edition_id: int) -> list[tuple[str, str]]:
    """The filter's choices: (division, label) of the hall's employers, by label."""
    division = func.substr(Employer.naf_code, 1, 2)
    codes = await session.scalars(
        select(division)
        .join(Booth, Booth.employer_id == Employer.id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
        .distinct()
    )
    labels = rome.sectors()
    return sorted(((c, labels[c]) for c in codes if c in labels), key=lambda pair: pair[1])


async def find(session: AsyncSession, *, edition_id: int, filters: Filters) -> Page:
    """One page of the edition's approved booths matching `filters`, by employer name.

    Raises Invalid (code hall.invalid, fields) on filters to correct. A page past the last
    one answers the last one.
    """
    origin = check(filters)
    matching = await _matching(session, edition_id, filters, origin)
    rows = await _page_ids(session, matching, filters)
    total = int(rows[0][1]) if rows else 0
    if not rows and filters.page > 1:
        total = int(
            await session.scalar(select(func.count()).select_from(matching.subquery())) or 0
        )
        filters.page = max(1, -(-total // filters.per_page))
        rows = await _page_ids(session, matching, filters) if total else []
    cards = await _cards(session, [row[0] for row in rows])
    return Page(cards=cards, total=total, page=filters.page, per_page=filters.per_page)


async def _page_ids(
    session: AsyncSession, matching: Select[int, str], filters: Filters
) -> list[tuple[int, int]]:
    ids = matching.subquery()
    rows = await session.execute(
        select(ids.c.id, func.count().over())
        .order_by(ids.c.name, ids.c.id)
        .offset((filters.page - 1) * filters.per_page)
        .limit(filters.per_page)
    )
    return [(int(i), int(n)) for i, n in rows.all()]


async def _matching(
    session: AsyncSession, edition_id: int, filters: Filters, origin: geo.Commune | None
) -> Select[int, str]:
    """Ids (and names in lower case, the order: the same on both databases) of the approved
    booths that pass every filter."""
    query: Select[int, str] = (
        select(Booth.id.label("id"), func.lower(Employer.name).label("name"))
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
    )
    if filters.q:
        query = query.where(Employer.name.icontains(filters.q, autoescape=True))
    if filters.sector:
        query = query.where(func.substr(Employer.naf_code, 1, 2) == filters.sector)
    offer_terms: list[ColumnElement[bool]] = []
    if filters.contracts:
        offer_terms.append(Offer.contract.in_(sorted(set(filters.contracts))))
    if filters.no_diploma:
        offer_terms.append(Offer.no_diploma.is_(True))
    if offer_terms:
        query = query.where(_has_offer(*offer_terms))
    if origin is not None:
        query = query.where(await _near(session, edition_id, origin, filters.radius_km))
    if filters.present:
        query = query.where(exists().where(BoothPresence.booth_id == Booth.id))
    if filters.slots:
        query = query.where(await _has_free_slot(session, edition_id))
    return query


def _has_offer(*terms: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(Offer.booth_id == Booth.id, Offer.published.is_(True), *terms)


async def _near(
    session: AsyncSession, edition_id: int, origin: geo.Commune, km: int
) -> ColumnElement[bool]:
    """The employer is there (or within `km`), or a published offer is."""
    if not km:
        offer_there = and_(Offer.commune == origin.name, Offer.postcode.in_(origin.postcodes))
        return or_(Employer.commune == origin.label, _has_offer(offer_there))
    # The hall's employers' communes (a few hundred rows at most), placed with fair.geo.
    labels = await session.scalars(
        select(Employer.commune)
        .join(Booth, Booth.employer_id == Employer.id)
        .where(Booth.edition_id == edition_id)
        .distinct()
    )
    close = sorted(
        label
        for label in labels
        if (place := geo.find(label)) is not None
        and geo.distance_km(origin.latitude, origin.longitude, place.latitude, place.longitude)
        <= km
    )
    return or_(Employer.commune.in_(close), _has_offer(search.near(origin, km)))


async def _has_free_slot(session: AsyncSession, edition_id: int) -> ColumnElement[bool]:
    """A slot candidates can book now (as interviews.free_slots reads them)."""
    rules = await interviews.booking_rules(session, edition_id)
    now = clock.now()
    if rules.release_at is not None and rules.release_at > now:
        return false()
    after = now + timedelta(minutes=rules.min_notice_minutes)  # interviews' minimum notice
    taken = exists().where(Interview.slot_id == InterviewSlot.id, Interview.active_key == 1)
    return exists().where(
        InterviewSlot.booth_id == Booth.id,
        InterviewSlot.withdrawn_at.is_(None),
        InterviewSlot.starts_at > after,
        ~taken,
    )


async def _cards(session: AsyncSession, ids: list[int]) -> list[Card]:
    """The cards of `ids`, in that order, in one statement."""
    if not ids:
        return []
    offers = (
        select(func.count(Offer.id))
        .where(Offer.booth_id == Booth.id, Offer.published.is_(True))
        .scalar_subquery()
    )
    staffed = exists().where(BoothPresence.booth_id == Booth.id)
    waiting = (
        select(func.count(QueueEntry.id))
        .where(
            QueueEntry.booth_id == Booth.id,
            QueueEntry.active_key == 1,
            QueueEntry.status == QueueStatus.WAITING.value,
        )
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Booth, offers, staffed, waiting)
        .join(Booth.employer)
        .options(contains_eager(Booth.employer))
        .where(Booth.id.in_(ids))
    )
    found = {
        booth.id: Card(booth, int(n), bool(present), int(queued))
        for booth, n, present, queued in rows.all()
    }
    return [found[i] for i in ids if i in found]
