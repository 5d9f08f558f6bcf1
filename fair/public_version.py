"""What an edition's landing page and booth hall show, as one token read in one statement.

The offers version (fair.offers_version) covers the edition's own row, its offers, booths and
employers; what it does not cover and these pages show changes all day: the booths staffed now
(fair.presence: a row per recruiter's socket), the queues' lengths (fair.queues), the talks on
the programme (on stage now, next), the branding (colours, logo, banner, partners). The token
puts the offers version beside a fingerprint of each of those, so that fair.web.browsing can
keep a page rendered once and serve it again for as long as the token is the same: a staffed
booth, a candidate joining or leaving a queue, a talk started, edited or ended, a partner
added, are each seen at the next request, in every process (the database is the only source).

The fingerprints are counts, sums and maxima of ids and timestamps: a row added has a new
(larger) id, a row removed lowers a count, a waiting candidate moving from one booth to another
changes the sum of their booths' ids, a talk's edit moves its `updated_at` and a change of
status moves the sums of ids by status. What the page shows because of the time of day alone
(the countdown, whether the fair is open now) is not in the token: the cache's seconds bound it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair.enums import QueueStatus, WebconferenceStatus
from fair.models import (
    Booth,
    BoothPresence,
    Edition,
    EditionBrand,
    EditionPartner,
    OffersVersion,
    QueueEntry,
    Webconference,
)


def _one(query: Select[Any]) -> ColumnElement[Any]:
    return query.scalar_subquery()


def _build() -> Select[Any]:
    """The statement, built once: SQLAlchemy then works its cache key out once, not per request."""
    edition = select(Edition.id).where(Edition.slug == bindparam("slug")).scalar_subquery()
    booths = select(Booth.id).where(Booth.edition_id == edition)
    present = BoothPresence.booth_id.in_(booths)
    waiting = (
        QueueEntry.booth_id.in_(booths)
        & (QueueEntry.active_key == 1)
        & (QueueEntry.status == QueueStatus.WAITING.value)
    )
    talks = Webconference.edition_id == edition
    live = Webconference.status == WebconferenceStatus.LIVE.value
    partners = EditionPartner.edition_id == edition
    return select(
        edition,
        _one(select(OffersVersion.version).where(OffersVersion.edition_id == edition)),
        _one(select(OffersVersion.started_at).where(OffersVersion.edition_id == edition)),
        _one(select(func.count()).where(present)),
        _one(select(func.max(BoothPresence.id)).where(present)),
        _one(select(func.count()).where(waiting)),
        _one(select(func.max(QueueEntry.id)).where(waiting)),
        _one(select(func.sum(QueueEntry.booth_id)).where(waiting)),
        _one(select(func.count()).where(talks)),
        _one(select(func.max(Webconference.updated_at)).where(talks)),
        _one(select(func.sum(case((live, Webconference.id), else_=0))).where(talks)),
        _one(select(func.count(Webconference.started_at)).where(talks)),
        _one(select(func.count(Webconference.ended_at)).where(talks)),
        _one(select(EditionBrand.colour).where(EditionBrand.edition_id == edition)),
        _one(select(EditionBrand.text_colour).where(EditionBrand.edition_id == edition)),
        _one(select(EditionBrand.logo_file_id).where(EditionBrand.edition_id == edition)),
        _one(select(EditionBrand.banner_file_id).where(EditionBrand.edition_id == edition)),
        _one(select(func.count()).where(partners)),
        _one(select(func.max(EditionPartner.id)).where(partners)),
        _one(select(func.sum(EditionPartner.id * EditionPartner.position)).where(partners)),
    )


STATEMENT = _build()


async def current(session: AsyncSession, slug: str) -> tuple[int, str] | None:
    """The edition's id and the token of what its landing page and hall show; None when no
    edition has this slug or it has no offers version yet (fair.offers_version.current)."""
    row: Any = (await session.execute(STATEMENT, {"slug": slug})).one()
    if row[0] is None or row[1] is None:
        return None
    return int(row[0]), "|".join("" if v is None else str(v) for v in row[1:])
