"""The offers of a page of results, read with their employers (and the partners' offers as
Offer copies the result cards show), and the page made of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo
from fair.models import Booth, Employer, NetworkOffer, NetworkPartner, Offer
from fair.search.match import Wider
from fair.search.query import Hit, Page, Query


async def read_hits(
    session: AsyncSession,
    ranked: list[tuple[int, float | None]],
    origin: geo.Origin | None = None,
    loaded: dict[int, tuple[Offer, str]] | None = None,
) -> list[Hit]:
    """The offers of `ranked` (id, distance) with their employers, in that order (those of
    `loaded` already read); a distance not given is measured from `origin`, if any (the same
    haversine as `km_from`)."""
    if not ranked:
        return []
    found: dict[int, tuple[Offer, str, NetworkOffer | None, str]] = {
        offer_id: (offer, name, None, "") for offer_id, (offer, name) in (loaded or {}).items()
    }
    local = [offer_id for offer_id, _ in ranked if offer_id > 0 and offer_id not in found]
    if local:
        rows = await session.execute(
            select(Offer, Employer.name)
            .join(Booth, Booth.id == Offer.booth_id)
            .join(Employer, Employer.id == Booth.employer_id)
            .where(Offer.id.in_(local))
        )
        found.update({offer.id: (offer, name, None, "") for offer, name in rows.all()})
    remote = [-offer_id for offer_id, _ in ranked if offer_id < 0]
    if remote:
        held_rows = await session.execute(
            select(NetworkOffer, NetworkPartner.territory)
            .join(NetworkPartner, NetworkPartner.id == NetworkOffer.partner_id)
            .where(NetworkOffer.id.in_(remote))
        )
        for held, territory in held_rows.all():
            found[-held.id] = (as_offer(held), held.employer, held, territory)
    hits = [
        Hit(found[i][0], found[i][1], distance, found[i][2], found[i][3])
        for i, distance in ranked
        if i in found
    ]
    if origin is not None:
        for hit in hits:
            if hit.distance_km is None:
                hit.distance_km = geo.distance_km(
                    origin.latitude, origin.longitude, hit.offer.latitude, hit.offer.longitude
                )
    return hits


def as_offer(held: NetworkOffer) -> Offer:
    """A partner's offer as an Offer the result cards can show (never added to the session)."""
    return Offer(
        title=held.title,
        description=held.description,
        rome_code=held.rome_code,
        rome_domain=held.rome_domain,
        contract=held.contract,
        working_time=held.working_time,
        commune=held.commune,
        postcode=held.postcode,
        latitude=held.latitude,
        longitude=held.longitude,
        remote=held.remote,
        positions=held.positions,
        salary=held.salary,
        starts_on=held.starts_on,
        created_at=held.created_at,
        updated_at=held.updated_at,
    )


def capped_page(
    hits: list[Hit],
    total: int,
    cap: int,
    query: Query,
    origin: geo.Origin | None,
    also: Wider,
) -> Page:
    """The page of `hits` for a count read up to `cap` (at `cap`: "more than cap - 1")."""
    return Page(
        hits=hits,
        total=min(total, cap - 1),
        page=query.page,
        per_page=query.per_page,
        origin=origin,
        capped=total >= cap,
        also=also,
    )
