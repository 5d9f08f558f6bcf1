"""The public read endpoints: editions, booths, offers, webconferences and interview
availability, each calling the domain functions the pages call. Lists go by id (the
programme by start time, then id), continued by an opaque cursor after the last row shown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from fair import editions, employers, interviews, offers, offers_version, parse, search
from fair.api import schemas
from fair.api.core import Call, Endpoint, endpoint
from fair.api.params import Id, ListParams, Page, PageParams, Params, Position, Text, page
from fair.enums import Contract, WorkingTime
from fair.errors import Invalid
from fair.search import terms as search_terms
from fair.webconferences import listing

NOT_FOUND = (400, 404)


class EditionParams(Params):
    edition_id: Id = Field(description="The edition's id.")


class EditionListParams(ListParams):
    edition_id: Id = Field(description="The edition's id.")


class EditionPageParams(PageParams):
    edition_id: Id = Field(description="The edition's id.")


class OfferParams(Params):
    offer_id: Id = Field(description="The offer's id.")


class OfferListParams(EditionListParams):
    """The search page's filters (fair.search checks them as it does for the page)."""

    q: Text = Field("", description="Words searched in French, accents and plurals ignored.")
    domain: str = Field(
        "", max_length=1, description="A ROME job domain, a letter A-N.", pattern="^[A-N]?$"
    )
    contract: Annotated[
        str, Field(json_schema_extra={"enum": ["", *(c.value for c in Contract)]})
    ] = Field("", description="A contract type.")
    working_time: Annotated[
        str, Field(json_schema_extra={"enum": ["", *(w.value for w in WorkingTime)]})
    ] = Field("", description="Full or part time.")
    commune: Text = Field(
        "",
        description="A commune's name, postcode or INSEE code: distances are measured from it.",
    )
    radius_km: Annotated[int, Field(json_schema_extra={"enum": [0, *search.RADII]})] = Field(
        0, description="Offers within this distance of `commune` (0: anywhere)."
    )
    remote: bool = Field(False, description="Only offers with remote work.")
    publics: list[Annotated[str, Field(json_schema_extra={"enum": sorted(search.PUBLICS)})]] = (
        Field(
            default_factory=list,
            max_length=len(search.PUBLICS),
            description="Offers open to any of these publics (repeat the parameter).",
        )
    )

    def query(self) -> search.Query:
        return search.Query(
            q=self.q,
            domain=self.domain,
            contract=self.contract,
            working_time=self.working_time,
            commune=self.commune,
            radius_km=self.radius_km,
            remote=self.remote,
            publics=set(self.publics),
        )


async def _edition_version(call: Call[EditionListParams]) -> str | None:
    """An edition's offers and booths change only with its offers version."""
    return await offers_version.current(call.session, call.params.edition_id)


async def _offer_version(call: Call[OfferParams]) -> str | None:
    return await offers_version.of_offer(call.session, call.params.offer_id)


def _after(params: PageParams) -> int | None:
    return params.cursor.id if params.cursor else None


def _by_id(row: object) -> Position:
    row_id = getattr(row, "id")  # noqa: B009 (editions, booths, hits' offers: all have an id)
    return Position(row_id, row_id)


@endpoint(
    "GET",
    "/editions",
    params=ListParams,
    response=Page[schemas.Edition],
    summary="Published editions",
    tags=("editions",),
    errors=(400,),
)
async def list_editions(call: Call[ListParams]) -> Page[schemas.Edition]:
    """The published editions, archived ones included, by id."""
    p = call.params
    rows = await editions.published_page(
        call.session, after=_after(p), limit=p.limit + 1, updated_since=p.updated_since
    )
    data, following = page(
        call,
        rows,
        limit=p.limit,
        position=_by_id,
        item=lambda e: schemas.Edition.of(call.request, e),
    )
    return Page[schemas.Edition](data=data, next=following)


@endpoint(
    "GET",
    "/editions/{edition_id}",
    params=EditionParams,
    response=schemas.Edition,
    summary="A published edition",
    tags=("editions",),
    errors=NOT_FOUND,
)
async def get_edition(call: Call[EditionParams]) -> schemas.Edition:
    edition = await editions.public(call.session, call.params.edition_id)
    return schemas.Edition.of(call.request, edition)


@endpoint(
    "GET",
    "/editions/{edition_id}/booths",
    params=EditionListParams,
    response=Page[schemas.Booth],
    summary="An edition's approved booths",
    tags=("booths",),
    errors=NOT_FOUND,
    version=_edition_version,
)
async def list_booths(call: Call[EditionListParams]) -> Page[schemas.Booth]:
    """The employers' booths the organisers approved, by id."""
    p = call.params
    edition = await editions.public(call.session, p.edition_id)
    rows = await employers.approved_page(
        call.session,
        edition_id=edition.id,
        after=_after(p),
        limit=p.limit + 1,
        updated_since=p.updated_since,
    )
    data, following = page(
        call,
        rows,
        limit=p.limit,
        position=_by_id,
        item=lambda b: schemas.Booth.of(call.request, b, edition),
    )
    return Page[schemas.Booth](data=data, next=following)


@endpoint(
    "GET",
    "/editions/{edition_id}/offers",
    params=OfferListParams,
    response=Page[schemas.Offer],
    summary="An edition's published offers, searched and filtered",
    tags=("offers",),
    errors=NOT_FOUND,
    version=_edition_version,
)
async def list_offers(call: Call[OfferListParams]) -> Page[schemas.Offer]:
    """The offers the edition's search page finds with the same words (their synonyms, the
    same jobs, a misspelt word respelt: fair.search.terms) and filters (a refused filter
    answers 400 `search.invalid` with a message per field), by id."""
    p = call.params
    edition = await editions.public(call.session, p.edition_id)
    hits = await search_terms.listing(
        call.session,
        edition_id=edition.id,
        query=p.query(),
        after=_after(p),
        limit=p.limit + 1,
        updated_since=p.updated_since,
    )
    data, following = page(
        call,
        hits,
        limit=p.limit,
        position=lambda hit: Position(hit.offer.id, hit.offer.id),
        item=lambda hit: schemas.Offer.of(call.request, hit),
    )
    return Page[schemas.Offer](data=data, next=following)


@endpoint(
    "GET",
    "/offers/{offer_id}",
    params=OfferParams,
    response=schemas.Offer,
    summary="A published offer",
    tags=("offers",),
    errors=NOT_FOUND,
    version=_offer_version,
)
async def get_offer(call: Call[OfferParams]) -> schemas.Offer:
    offer = await offers.get_public(call.session, call.params.offer_id)
    hit = search.Hit(offer=offer, employer=offer.booth.employer.name, distance_km=None)
    return schemas.Offer.of(call.request, hit)


def _starts_after(p: PageParams) -> tuple[datetime, int] | None:
    """The programme's cursor: the last talk's start (ISO 8601) and id."""
    if p.cursor is None:
        return None
    try:
        return parse.instant(str(p.cursor.key)), p.cursor.id
    except Invalid:
        message = "This cursor is not valid."
        raise Invalid(message, code="input.invalid", fields={"cursor": message}) from None


@endpoint(
    "GET",
    "/editions/{edition_id}/webconferences",
    params=EditionListParams,
    response=Page[schemas.Webconference],
    summary="An edition's programme of webconferences",
    tags=("webconferences",),
    errors=NOT_FOUND,
)
async def list_webconferences(call: Call[EditionListParams]) -> Page[schemas.Webconference]:
    """The talks of the organisers and of approved booths, by start time, with their state
    now (cancelled ones too) and their seats."""
    p = call.params
    edition = await editions.public(call.session, p.edition_id)
    found = await listing.public_page(
        call.session,
        edition,
        after=_starts_after(p),
        limit=p.limit + 1,
        updated_since=p.updated_since,
    )
    data, following = page(
        call,
        found,
        limit=p.limit,
        position=lambda i: Position(i.webconference.starts_at.isoformat(), i.webconference.id),
        item=lambda i: schemas.Webconference.of(call.request, i),
    )
    return Page[schemas.Webconference](data=data, next=following)


@endpoint(
    "GET",
    "/editions/{edition_id}/availability",
    params=EditionPageParams,
    response=Page[schemas.Availability],
    summary="Free interview slots per booth",
    tags=("interviews",),
    errors=NOT_FOUND,
)
async def list_availability(call: Call[EditionPageParams]) -> Page[schemas.Availability]:
    """For each approved booth (by id), how many interview slots candidates can book now and
    when the soonest starts; no one's name."""
    p = call.params
    edition = await editions.public(call.session, p.edition_id)
    booths = await employers.approved_page(
        call.session,
        edition_id=edition.id,
        after=_after(p),
        limit=p.limit + 1,
    )
    counts = await interviews.free_counts(
        call.session, edition_id=edition.id, booth_ids=[b.id for b in booths[: p.limit]]
    )
    data, following = page(
        call,
        booths,
        limit=p.limit,
        position=_by_id,
        item=lambda b: schemas.Availability.of(counts[b.id]),
    )
    return Page[schemas.Availability](data=data, next=following)


ENDPOINTS: list[Endpoint] = [
    list_editions,
    get_edition,
    list_booths,
    list_offers,
    get_offer,
    list_webconferences,
    list_availability,
]
