"""What the organiser's dashboard gathers: the funnel, the booths' funnels, the matching pages'
views, and what the filters may choose among."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fair import activity, geo
from fair.insight.figures import BoothFunnel, Funnel, booth_funnels, funnel
from fair.insight.steps import Filters, division, offer_conditions
from fair.models import (
    Booth,
    Employer,
    Offer,
    PageView,
)


@dataclass(frozen=True)
class Dashboard:
    """What the organiser's dashboard shows for some filters.

    `funnel`: the edition's (under a booth filter, registration and activity from the edition
    and the later steps from that booth's row of `booths`, so that the booth's figures are the
    same, and protected the same, wherever they are shown). `views`: under filters, the
    matching pages' views (page views are not people: not suppressed); None without filters.
    """

    funnel: Funnel
    booths: list[BoothFunnel]
    views: activity.Views | None


async def dashboard(
    session: AsyncSession, edition_id: int, filters: Filters, *, spare: AsyncSession | None = None
) -> Dashboard:
    """The funnel, the booths' funnels and, under filters, the matching pages' views: three
    queries, four with filters. Given a `spare` session (another connection), the funnel is
    read on it while the booths' table is read on `session`: two statements of comparable
    cost at once (each reads a statement's own snapshot on PostgreSQL either way: READ
    COMMITTED)."""
    if spare is None:
        booths = await booth_funnels(session, edition_id, filters, views=False)
        found = await funnel(session, edition_id, filters)
    else:
        async with asyncio.TaskGroup() as group:
            read_booths = group.create_task(
                booth_funnels(session, edition_id, filters, views=False)
            )
            read_funnel = group.create_task(funnel(spare, edition_id, filters))
        booths, found = read_booths.result(), read_funnel.result()
    if filters.booth_id is not None:
        row = next((b.funnel for b in booths if b.booth_id == filters.booth_id), None)
        if row is not None:
            figures = {**found.figures, **row.figures}
            found = Funnel(found.counts, figures)
    views = await page_views(session, edition_id, filters) if filters.on_offers else None
    return Dashboard(found, booths, views)


async def page_views(session: AsyncSession, edition_id: int, filters: Filters) -> activity.Views:
    """The views of the pages the filters match, in one query: under a filter about offers
    (offer, ROME domain, contract, commune, EPCI), the matching offers' pages only; else the
    pages of the matching booths (a booth, a sector's booths, every booth) and of their offers.
    Read through the indexes on offer_id and booth_id, but for every booth."""
    about_offers = filters.offer_id is not None or any(
        getattr(filters, name) is not None
        for name in ("rome_domain", "contract", "commune", "epci")
    )
    booths = select(Booth.id).where(Booth.edition_id == edition_id)
    if filters.booth_id is not None:
        booths = booths.where(Booth.id == filters.booth_id)
    if filters.sector is not None:
        booths = booths.join(Employer, Employer.id == Booth.employer_id).where(
            division(Employer.naf_code) == filters.sector
        )
    if about_offers:
        matching = select(Offer.id).where(
            Offer.edition_id == edition_id,
            Offer.booth_id.in_(booths),
            *offer_conditions(edition_id, filters.without_sector()),
            *([Offer.id == filters.offer_id] if filters.offer_id is not None else []),
        )
        total = await session.scalar(
            select(func.coalesce(func.sum(PageView.views), 0)).where(
                PageView.offer_id.in_(matching)
            )
        )
        return activity.Views(offers=int(total or 0))
    where = (
        PageView.booth_id.in_(booths) if filters.on_offers else PageView.edition_id == edition_id
    )
    on_booth = func.sum(PageView.views).filter(PageView.offer_id.is_(None))
    on_offers = func.sum(PageView.views).filter(PageView.offer_id.isnot(None))
    found = await session.execute(
        select(func.coalesce(on_booth, 0), func.coalesce(on_offers, 0)).where(where)
    )
    booth_views, offer_views = found.one()
    return activity.Views(booth=int(booth_views), offers=int(offer_views))


async def choices(session: AsyncSession, edition_id: int) -> Choices:
    """What the filters may choose among in an edition: its booths, offers, sectors (NAF
    divisions of its employers), ROME domains, contracts, communes and EPCIs of its offers."""
    booths = (
        await session.execute(
            select(Booth.id, Employer.name, Employer.naf_code)
            .join(Employer, Employer.id == Booth.employer_id)
            .where(Booth.edition_id == edition_id)
            .order_by(Employer.name, Booth.id)
        )
    ).all()
    offers_ = (
        await session.execute(
            select(
                Offer.id,
                Offer.title,
                Offer.rome_domain,
                Offer.contract,
                Offer.commune,
                Offer.postcode,
            )
            .where(Offer.edition_id == edition_id)
            .order_by(Offer.title, Offer.id)
        )
    ).all()
    places = {(o.commune, o.postcode) for o in offers_}
    epcis = {e for e in (geo.epci_of(c, p) for c, p in places) if e is not None}
    return Choices(
        booths=[(b.id, b.name) for b in booths],
        offers=[(o.id, o.title) for o in offers_],
        sectors=sorted({b.naf_code[:2] for b in booths}),
        rome_domains=sorted({o.rome_domain for o in offers_}),
        contracts=sorted({o.contract for o in offers_}),
        communes=sorted({o.commune for o in offers_}),
        epcis=sorted(epcis, key=lambda e: e.name),
    )


@dataclass(frozen=True)
class Choices:
    booths: list[tuple[int, str]]
    offers: list[tuple[int, str]]
    sectors: list[str]
    rome_domains: list[str]
    contracts: list[str]
    communes: list[str]
    epcis: list[geo.Epci]
