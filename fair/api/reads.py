"""The public read endpoints: editions, booths, offers, webconferences and interview
availability, each calling the domain functions the pages call."""

from __future__ import annotations

from fair import editions
from fair.api.core import Call, Endpoint, endpoint
from fair.api.params import Page, PageParams, Position, page
from fair.api.schemas import EditionOut
from fair.models import Edition


def _edition_url(call: Call[PageParams], edition: Edition) -> str:
    return str(call.request.url_for("edition", slug=edition.slug))


@endpoint(
    "GET",
    "/editions",
    params=PageParams,
    response=Page[EditionOut],
    summary="Published editions",
    tags=("editions",),
)
async def list_editions(call: Call[PageParams]) -> Page[EditionOut]:
    """The published editions, archived ones included, by id."""
    limit, after = call.params.limit, call.params.cursor
    rows = await editions.published_page(
        call.session, after=after.id if after else None, limit=limit + 1
    )
    data, following = page(
        call,
        rows,
        limit=limit,
        position=lambda e: Position(e.id, e.id),
        item=lambda e: EditionOut.of(e, _edition_url(call, e)),
    )
    return Page[EditionOut](data=data, next=following)


ENDPOINTS: list[Endpoint] = [list_editions]
