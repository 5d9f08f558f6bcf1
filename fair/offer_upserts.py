"""A partner's offers for one booth, created or updated in France Travail's shape (Offres
d'emploi v2, read by fair.francetravail.to_input), each answered on its own: a refused offer
says why and does not stop the others.

An offer is matched by its `id` (the partner's own, kept as the offer's `external_id`, at most
40 characters) within the booth: found, it is updated; else created and published. An offer
without an `id` is refused (it could not be updated later), and so is an `id` given twice in
one request. Offers of the booth the request does not name are left as they are (closing one
is not an upsert).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import francetravail, offers, parse
from fair.errors import FairError, Invalid
from fair.i18n import gettext
from fair.models import Booth, Offer

MAX_OFFERS = 500
Outcome = Literal["created", "updated", "refused"]


@dataclass(frozen=True)
class Result:
    """What became of the request's offer number `index` (from 0)."""

    index: int
    id: str
    outcome: Outcome
    offer_id: int | None = None
    code: str = ""
    message: str = ""
    fields: dict[str, str] = field(default_factory=dict)


async def upsert(session: AsyncSession, *, booth: Booth, items: list[Any]) -> list[Result]:
    """Create or update each offer of `items` in `booth`; one Result per item, in order."""
    if len(items) > MAX_OFFERS:
        raise Invalid(
            "At most %(max)s offers per request.",
            code="import.too_many",
            params={"max": MAX_OFFERS},
        )
    # As francetravail.to_input reads them.
    ids = [parse.line(str(i.get("id", "")))[:40] for i in items if isinstance(i, dict)]
    wanted = Offer.external_id.in_([i for i in ids if i])
    rows = await session.scalars(select(Offer).where(Offer.booth_id == booth.id, wanted))
    existing = {offer.external_id: offer for offer in rows}
    seen: set[str] = set()
    results = []
    for index, item in enumerate(items):
        try:
            results.append(await _one(session, booth, index, item, existing, seen))
        except FairError as error:
            given = str(item.get("id", "")) if isinstance(item, dict) else ""
            results.append(_refused(index, given[:40], error))
    return results


async def _one(
    session: AsyncSession,
    booth: Booth,
    index: int,
    item: Any,
    existing: dict[str, Offer],
    seen: set[str],
) -> Result:
    if not isinstance(item, dict):
        raise Invalid("Each offer is a JSON object.", code="import.bad_offer")
    data = francetravail.to_input(item)
    if not data.external_id:
        raise Invalid(
            "Give each offer its id (yours, at most 40 characters): it is how a later request "
            "updates it.",
            code="import.no_id",
            fields={"id": "This field is required."},
        )
    if data.external_id in seen:
        raise Invalid("This id is given twice in the request.", code="import.same_id")
    seen.add(data.external_id)
    offer = existing.get(data.external_id)
    if offer is None:
        offer = await offers.create(session, booth=booth, data=data)
        existing[data.external_id] = offer
        return Result(index, data.external_id, "created", offer.id)
    await offers.update(session, offer, data=data)
    return Result(index, data.external_id, "updated", offer.id)


def _refused(index: int, given: str, error: FairError) -> Result:
    return Result(
        index,
        given,
        "refused",
        code=error.code,
        message=gettext(error.message, **error.params),
        fields={name: gettext(text) for name, text in error.fields.items()},
    )
