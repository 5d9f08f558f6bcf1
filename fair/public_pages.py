"""The public pages a search engine is told about (the sitemap): published editions not
archived, their approved booths, the published offers of editions still listed
(`structured_data.listed`: a closed edition's offers drop out) and the talks not cancelled.
Each with when it last changed. Four queries, whatever the number of pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, editions, structured_data
from fair.enums import BoothStatus, WebconferenceStatus
from fair.models import Booth, Offer, Webconference


@dataclass
class PublicPages:
    editions: list[tuple[str, datetime]] = field(default_factory=list)  # slug, changed
    booths: list[tuple[str, int, datetime]] = field(default_factory=list)  # slug, id, changed
    offers: list[tuple[int, datetime]] = field(default_factory=list)
    webconferences: list[tuple[int, datetime]] = field(default_factory=list)


async def of_site(session: AsyncSession, now: datetime | None = None) -> PublicPages:
    now = now or clock.now()
    found = await editions.published(session)
    pages = PublicPages(editions=[(e.slug, e.published_at or e.created_at) for e in found])
    slugs = {e.id: e.slug for e in found}
    listed = [e.id for e in found if structured_data.listed(e, now)]
    if not found:
        return pages
    booths = await session.execute(
        select(Booth.id, Booth.edition_id, Booth.decided_at, Booth.requested_at)
        .where(Booth.edition_id.in_(slugs), Booth.status == BoothStatus.APPROVED.value)
        .order_by(Booth.id)
    )
    pages.booths = [(slugs[e], b, decided or asked) for b, e, decided, asked in booths]
    approved = {b for _, b, _ in pages.booths}
    if listed:
        offers = await session.execute(
            select(Offer.id, Offer.updated_at)
            .join(Booth, Booth.id == Offer.booth_id)
            .where(
                Offer.edition_id.in_(listed),
                Offer.published.is_(True),
                Booth.status == BoothStatus.APPROVED.value,
            )
            .order_by(Offer.id)
        )
        pages.offers = [(o, at) for o, at in offers]
    talks = await session.execute(
        select(Webconference.id, Webconference.booth_id, Webconference.updated_at)
        .where(
            Webconference.edition_id.in_(slugs),
            Webconference.status != WebconferenceStatus.CANCELLED.value,
        )
        .order_by(Webconference.id)
    )
    pages.webconferences = [(w, at) for w, b, at in talks if b is None or b in approved]
    return pages
