"""Job offers published in booths."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import (
    clock,
    geo,
    offers_version,  # noqa: F401 (installs its listeners: see its docstring)
    rome,
    search,
    webhooks,
)
from fair.enums import BoothStatus, Contract, Experience, WorkingTime
from fair.errors import Conflict, Invalid, NotFound
from fair.models import Booth, Edition, Offer

MAX_SKILLS = 30


@dataclass
class OfferInput:
    title: str
    description: str
    rome_code: str
    contract: str
    working_time: str
    commune: str
    postcode: str
    experience: str
    remote: bool = False
    positions: int = 1
    salary: str = ""
    qualification: str = ""
    skills: list[str] = field(default_factory=list)
    starts_on: date | None = None  # the day the position is to be filled; None: at once
    insertion_clause: bool = False
    open_seniors: bool = False
    open_under26: bool = False
    open_disabled: bool = False
    no_diploma: bool = False
    # Imported offers bring their own coordinates and ROME label.
    latitude: float | None = None
    longitude: float | None = None
    rome_label: str = ""
    external_id: str = ""


def check(
    data: OfferInput, *, today: date | None = None, kept: date | None = None
) -> tuple[str, float, float]:
    """Validate; returns the ROME label and the coordinates of the place of work.

    A start date before `today` (the day in the edition's time zone) is refused, unless it is
    `kept`, the date the offer being edited already had: an old offer stays editable."""
    errors: dict[str, str] = {}
    job = rome.job(data.rome_code)
    if not data.title.strip() or len(data.title) > 200:
        errors["title"] = "Enter the job title (200 characters at most)."
    if not data.description.strip() or len(data.description) > 20000:
        errors["description"] = "Describe the job (20,000 characters at most)."
    if job is None and not (rome.CODE_RE.match(data.rome_code) and data.rome_label):
        errors["rome_code"] = "Choose a job from the ROME list, such as F1603."
    if data.contract not in {c.value for c in Contract}:
        errors["contract"] = "Choose a contract type."
    if data.working_time not in {w.value for w in WorkingTime}:
        errors["working_time"] = "Choose full time or part time."
    if data.experience not in {e.value for e in Experience}:
        errors["experience"] = "Choose the experience needed."
    if not 1 <= data.positions <= 1000:
        errors["positions"] = "Enter a number of positions between 1 and 1,000."
    if len(data.salary) > 200 or len(data.qualification) > 200:
        errors["salary"] = "Keep the salary and qualification under 200 characters."
    if len(data.skills) > MAX_SKILLS or any(len(s) > 100 for s in data.skills):
        errors["skills"] = "List at most 30 skills of 100 characters each."
    start = data.starts_on
    if today is not None and start is not None and start < today and start != kept:
        errors["starts_on"] = (
            "Choose a start date from today on, or leave it empty for “as soon as possible”."
        )
    latitude, longitude = data.latitude, data.longitude
    params: dict[str, str] = {}
    if latitude is None or longitude is None:
        place = _place(data, errors, params)
        if place is not None:
            latitude, longitude = place.latitude, place.longitude
    if not errors and not (len(data.postcode.strip()) == 5 and data.postcode.strip().isdigit()):
        errors["postcode"] = "Enter a five-digit postcode."
    if errors:
        raise Invalid(
            "Some fields need correcting.", code="offer.invalid", fields=errors, params=params
        )
    assert latitude is not None and longitude is not None
    label = job.label if job else data.rome_label
    return label, latitude, longitude


def _place(data: OfferInput, errors: dict[str, str], params: dict[str, str]) -> geo.Commune | None:
    """The commune of work (a name, a label such as "Gignac (34150)", or a postcode), its
    postcode filled in when left empty; records the field's error otherwise."""
    found = geo.lookup(
        geo.resolve(data.commune, data.postcode),
        data.commune,
        unknown="Unknown commune: choose one from the list.",
    )
    place, postcode = found.commune, data.postcode.strip()
    if place is None:
        errors["commune"] = found.error
        params.update(found.params)
    elif postcode and postcode not in place.postcodes:
        errors["postcode"] = "%(postcode)s is not a postcode of %(commune)s: %(postcodes)s."
        params.update(postcode=postcode, commune=place.name, postcodes=", ".join(place.postcodes))
    else:
        data.commune, data.postcode = place.name, postcode or place.postcode
    return place


async def create(session: AsyncSession, *, booth: Booth, data: OfferInput) -> Offer:
    """Publish an offer in `booth` (the caller has checked the user belongs to it)."""
    if booth.status == BoothStatus.DECLINED.value:
        raise Conflict("A declined booth cannot publish offers.", code="offer.booth_declined")
    now = clock.now()
    today = await _today(session, booth.edition_id)
    offer = Offer(
        booth_id=booth.id,
        edition_id=booth.edition_id,
        created_at=now,
        updated_at=now,
        published=True,
    )
    _apply(offer, data, *check(data, today=today))
    session.add(offer)
    await session.flush()
    await webhooks.offer_event(session, offer)
    return offer


async def update(session: AsyncSession, offer: Offer, *, data: OfferInput) -> None:
    today = await _today(session, offer.edition_id)
    _apply(offer, data, *check(data, today=today, kept=offer.starts_on))
    offer.updated_at = clock.now()
    await session.flush()


async def set_published(session: AsyncSession, offer: Offer, published: bool) -> None:
    """Publish or close an offer; a change is told to webhooks (offer.published / closed)."""
    changed = offer.published != published
    offer.published = published
    offer.updated_at = clock.now()
    await session.flush()
    if changed:
        await webhooks.offer_event(session, offer)


async def _today(session: AsyncSession, edition_id: int) -> date:
    """Today in the edition's time zone: the first start date an offer may give."""
    edition = await session.get(Edition, edition_id)
    zone = edition.timezone if edition is not None else "Europe/Paris"
    return clock.now().astimezone(ZoneInfo(zone)).date()


def _apply(offer: Offer, data: OfferInput, label: str, latitude: float, longitude: float) -> None:
    offer.title = data.title.strip()
    offer.description = data.description.strip()
    offer.rome_code = data.rome_code.strip().upper()
    offer.rome_label = label
    offer.rome_domain = offer.rome_code[0]
    offer.contract = data.contract
    offer.working_time = data.working_time
    offer.commune = data.commune.strip()
    offer.postcode = data.postcode.strip()
    offer.latitude, offer.longitude = latitude, longitude
    offer.remote = data.remote
    offer.positions = data.positions
    offer.salary = data.salary.strip()
    offer.experience = data.experience
    offer.qualification = data.qualification.strip()
    offer.skills = [s.strip() for s in data.skills if s.strip()]
    offer.starts_on = data.starts_on
    offer.insertion_clause = data.insertion_clause
    offer.open_seniors = data.open_seniors
    offer.open_under26 = data.open_under26
    offer.open_disabled = data.open_disabled
    offer.no_diploma = data.no_diploma
    offer.external_id = data.external_id
    offer.title_stems = search.stems(offer.title)
    offer.search_stems = search.stems(
        " ".join([offer.rome_label, offer.description, " ".join(offer.skills), offer.commune])
    )


async def get(session: AsyncSession, offer_id: int) -> Offer:
    offer = await session.scalar(
        select(Offer)
        .where(Offer.id == offer_id)
        .options(selectinload(Offer.booth).selectinload(Booth.employer))
    )
    if offer is None:
        raise NotFound("This offer does not exist.")
    return offer


async def get_public(session: AsyncSession, offer_id: int) -> Offer:
    """An offer candidates may see: published, in an approved booth of a published edition."""
    offer = await get(session, offer_id)
    edition = await session.get(Edition, offer.edition_id)
    if (
        not offer.published
        or offer.booth.status != BoothStatus.APPROVED.value
        or edition is None
        or edition.published_at is None
    ):
        raise NotFound("This offer does not exist.")
    return offer


async def of_booth(
    session: AsyncSession, booth: Booth, *, published_only: bool = False
) -> list[Offer]:
    query = select(Offer).where(Offer.booth_id == booth.id).order_by(Offer.created_at.desc())
    if published_only:
        query = query.where(Offer.published.is_(True))
    return list(await session.scalars(query))


async def published_in_edition(session: AsyncSession, edition_id: int) -> list[Offer]:
    """Published offers of an edition's approved booths, with booth and employer loaded."""
    query = (
        select(Offer)
        .join(Booth, Booth.id == Offer.booth_id)
        .where(
            Offer.edition_id == edition_id,
            Offer.published.is_(True),
            Booth.status == BoothStatus.APPROVED.value,
        )
        .options(selectinload(Offer.booth).selectinload(Booth.employer))
        .order_by(Offer.id)
    )
    return list(await session.scalars(query))


async def titles(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """The titles of the offers `ids`, in one query (tables of figures per offer)."""
    rows = await session.execute(select(Offer.id, Offer.title).where(Offer.id.in_(ids)))
    return {offer_id: title for offer_id, title in rows}


async def count_in_edition(session: AsyncSession, edition_id: int) -> int:
    query = select(func.count(Offer.id)).where(
        Offer.edition_id == edition_id, Offer.published.is_(True)
    )
    return int(await session.scalar(query) or 0)


@dataclass(frozen=True)
class EpciFigures:
    """An EPCI's share of an edition's offers; `epci` None gathers the communes in no EPCI
    (four islands) and those no longer found (an offer imported with a former name)."""

    epci: geo.Epci | None
    offers: int
    positions: int


async def per_epci(session: AsyncSession, *, edition_id: int) -> list[EpciFigures]:
    """The published offers of an edition's approved booths, and their positions, per EPCI of
    the place of work: the most offers first. One grouped query; the commune of each distinct
    (name, postcode) is looked up in the commune list."""
    rows = await session.execute(
        select(Offer.commune, Offer.postcode, func.count(Offer.id), func.sum(Offer.positions))
        .join(Booth, Booth.id == Offer.booth_id)
        .where(
            Offer.edition_id == edition_id,
            Offer.published.is_(True),
            Booth.status == BoothStatus.APPROVED.value,
        )
        .group_by(Offer.commune, Offer.postcode)
    )
    totals: dict[geo.Epci | None, tuple[int, int]] = {}
    for commune, postcode, count, positions in rows:
        epci = geo.epci_of(commune, postcode)
        offers_, seats = totals.get(epci, (0, 0))
        totals[epci] = (offers_ + int(count), seats + int(positions or 0))
    figures = [EpciFigures(epci, n, seats) for epci, (n, seats) in totals.items()]
    return sorted(figures, key=lambda f: (-f.offers, f.epci is None, f.epci.name if f.epci else ""))
