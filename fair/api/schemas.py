"""The API's response models: what a partner reads, built from the domain's objects. Their
fields, types and descriptions are the OpenAPI document's schemas (fair/api/openapi.py).

No personal data: employers, offers, talks (their presenters' names, as the programme page
shows them) and counts of free interview slots, never who booked them."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request

from fair import editions, interviews, models, search, webconferences
from fair.enums import EditionStatus, WebconferenceAccess, WebconferenceStatus

Phase = Literal["scheduled", "soon", "live", "ended", "cancelled"]


HOUR = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _hour(moment: time) -> str:
    return moment.strftime("%H:%M")


class LiveDay(BaseModel):
    day: date
    # "HH:MM", a wall-clock time: JSON Schema's "time" format (RFC 3339) requires an offset,
    # which a local time of a day to come cannot honestly carry (summer time).
    opens: str = Field(pattern=HOUR, description="Local time (HH:MM) in the edition's time zone.")
    closes: str = Field(pattern=HOUR, description="Local time (HH:MM) in the edition's time zone.")


class Edition(BaseModel):
    """A published edition of a job fair."""

    id: int
    slug: str
    title: str
    territory: str
    description: str
    timezone: str = Field(description="The IANA time zone its live days are in.")
    status: EditionStatus
    applications_open_at: datetime
    applications_close_at: datetime
    live_days: list[LiveDay]
    url: str = Field(description="Its public page.")
    updated_at: datetime

    @classmethod
    def of(cls, request: Request, edition: models.Edition) -> Edition:
        return cls(
            id=edition.id,
            slug=edition.slug,
            title=edition.title,
            territory=edition.territory,
            description=edition.description,
            timezone=edition.timezone,
            status=editions.status_at(edition),
            applications_open_at=edition.applications_open_at,
            applications_close_at=edition.applications_close_at,
            live_days=[
                LiveDay(day=d.day, opens=_hour(d.opens), closes=_hour(d.closes))
                for d in edition.live_days
            ],
            url=str(request.url_for("edition", slug=edition.slug)),
            updated_at=edition.updated_at,
        )


class Employer(BaseModel):
    name: str
    sector: str
    size: str = Field(description="Its headcount band, e.g. 10-49.")
    commune: str
    website: str
    description: str
    logo: str | None = Field(description="The URL of its logo, if it gave one.")


class Booth(BaseModel):
    """An employer's approved booth in an edition."""

    id: int
    edition_id: int
    employer: Employer
    url: str = Field(description="Its public page.")
    updated_at: datetime

    @classmethod
    def of(cls, request: Request, booth: models.Booth, edition: models.Edition) -> Booth:
        employer = booth.employer
        logo = employer.logo_file_id
        return cls(
            id=booth.id,
            edition_id=booth.edition_id,
            employer=Employer(
                name=employer.name,
                sector=employer.sector,
                size=employer.size,
                commune=employer.commune,
                website=employer.website,
                description=employer.description,
                logo=str(request.url_for("logo", file_id=logo)) if logo else None,
            ),
            url=str(request.url_for("booth", slug=edition.slug, booth_id=booth.id)),
            updated_at=booth.updated_at,
        )


class Publics(BaseModel):
    """The publics an offer is open to (the search page's filters of the same names)."""

    seniors: bool
    under26: bool
    disabled: bool
    no_diploma: bool
    insertion: bool = Field(description="Under a social insertion clause.")


class Offer(BaseModel):
    """A published offer of an approved booth."""

    id: int
    edition_id: int
    booth_id: int
    employer: str = Field(description="The employer's name.")
    title: str
    description: str
    rome_code: str = Field(description="Its job in France Travail's ROME.")
    rome_label: str
    rome_domain: str = Field(description="The ROME's job domain, a letter A-N.")
    contract: str = Field(description="One of the `contract` filter's values.")
    working_time: str
    commune: str
    postcode: str
    latitude: float
    longitude: float
    remote: bool
    positions: int
    salary: str
    experience: str
    qualification: str
    skills: list[str]
    starts_on: date | None = Field(
        description="The day the position is to be filled; null: as soon as possible."
    )
    publics: Publics
    distance_km: float | None = Field(description="From the `commune` filter, when given.")
    url: str = Field(description="Its public page.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, request: Request, hit: search.Hit) -> Offer:
        offer = hit.offer
        return cls(
            id=offer.id,
            edition_id=offer.edition_id,
            booth_id=offer.booth_id,
            employer=hit.employer,
            title=offer.title,
            description=offer.description,
            rome_code=offer.rome_code,
            rome_label=offer.rome_label,
            rome_domain=offer.rome_domain,
            contract=offer.contract,
            working_time=offer.working_time,
            commune=offer.commune,
            postcode=offer.postcode,
            latitude=offer.latitude,
            longitude=offer.longitude,
            remote=offer.remote,
            positions=offer.positions,
            salary=offer.salary,
            experience=offer.experience,
            qualification=offer.qualification,
            skills=list(offer.skills),
            starts_on=offer.starts_on,
            publics=Publics(
                seniors=offer.open_seniors,
                under26=offer.open_under26,
                disabled=offer.open_disabled,
                no_diploma=offer.no_diploma,
                insertion=offer.insertion_clause,
            ),
            distance_km=None if hit.distance_km is None else round(hit.distance_km, 1),
            url=str(request.url_for("offer", offer_id=offer.id)),
            created_at=offer.created_at,
            updated_at=offer.updated_at,
        )


class Webconference(BaseModel):
    """A talk of an edition's programme, with its state now."""

    id: int
    edition_id: int
    booth_id: int | None = Field(description="The booth giving it; null for the organisers'.")
    employer: str = Field(description="The booth's employer; empty for the organisers'.")
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    status: WebconferenceStatus
    phase: Phase = Field(
        description="Its state now: soon (its time has come, not its presenter yet), live (on "
        "stage), ended, cancelled, or scheduled."
    )
    access: WebconferenceAccess
    capacity: int
    registered: int
    waiting: int = Field(description="Candidates on its waiting list.")
    seats_left: int
    presenters: list[str]
    url: str = Field(description="Its public page.")
    updated_at: datetime

    @classmethod
    def of(cls, request: Request, item: webconferences.Item) -> Webconference:
        talk = item.webconference
        phase: Phase = webconferences.phase(talk)  # type: ignore[assignment]
        return cls(
            id=talk.id,
            edition_id=talk.edition_id,
            booth_id=talk.booth_id,
            employer=item.employer,
            title=talk.title,
            description=talk.description,
            starts_at=talk.starts_at,
            ends_at=talk.ends_at,
            status=WebconferenceStatus(talk.status),
            phase=phase,
            access=WebconferenceAccess(talk.access),
            capacity=talk.capacity,
            registered=item.registered,
            waiting=item.waiting,
            seats_left=item.seats_left,
            presenters=item.presenters,
            url=str(request.url_for("webconference", webconference_id=talk.id)),
            updated_at=talk.updated_at,
        )


class Availability(BaseModel):
    """A booth's interview slots candidates can book now, counted."""

    booth_id: int
    free_slots: int
    next_slot_at: datetime | None = Field(description="When the soonest free slot starts.")

    @classmethod
    def of(cls, found: interviews.Availability) -> Availability:
        return cls(booth_id=found.booth_id, free_slots=found.free, next_slot_at=found.next_at)
