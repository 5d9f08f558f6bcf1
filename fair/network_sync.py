"""Pulling the partners' offers (a worker round, fair.worker): each active partner's delta feed
of open offers (`GET <base>/api/v1/network/offers`, fair.api.network) is read from where the
last pull stopped (its cursor), at most MAX_PAGES pages of PAGE_SIZE a round, with
If-None-Match on the first page (304: nothing new). Each page is written in a transaction of
its own (offers upserted, tombstones deleted, the cursor saved with them), so a pull cut short
resumes where it stopped. A failure (timeout, refused key, a page not in the expected shape)
is recorded on the partner (`last_error`, `failures`) and the next round retries.

No transaction is open while a request is in flight.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import httpx
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import (
    clock,
    db,
    network,
    offers_version,  # noqa: F401 (its listeners raise the version on a pull's writes)
    parse,
    partner_http,
    search,
)
from fair.enums import Contract, WorkingTime
from fair.errors import Invalid
from fair.models import NetworkOffer, NetworkPartner

log = logging.getLogger("fair.network")
PAGE_SIZE = 200
MAX_PAGES = 10
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_ERROR = 500
CONTRACTS = frozenset(c.value for c in Contract)
WORKING_TIMES = frozenset(w.value for w in WorkingTime)


class FeedItem(BaseModel):
    """One item of a partner's feed, as fair.api.network answers it (a tombstone's fields are
    null)."""

    id: int
    deleted: bool
    updated_at: datetime
    url: str | None = Field(default=None, max_length=500)
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    employer: str | None = Field(default=None, max_length=200)
    rome_code: str | None = Field(default=None, max_length=5)
    contract: str | None = Field(default=None, max_length=20)
    working_time: str | None = Field(default=None, max_length=20)
    commune: str | None = Field(default=None, max_length=120)
    postcode: str | None = Field(default=None, max_length=5)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    remote: bool | None = None
    positions: int | None = Field(default=None, ge=0, le=10_000)
    salary: str | None = Field(default=None, max_length=200)
    # Absent from older partners' feeds: as soon as possible.
    starts_on: date | None = None
    created_at: datetime | None = None

    @field_validator("starts_on", mode="before")
    @classmethod
    def _day(cls, value: object) -> date | None:
        """A day written YYYY-MM-DD in years 1900 .. 2100 (fair.parse.day), or null."""
        if value is None:
            return None
        try:
            return parse.day(value) if isinstance(value, str) else parse.day("")
        except parse.ParseError as error:
            raise ValueError(error.message) from None


class FeedPage(BaseModel):
    territory: str = ""
    items: list[FeedItem] = Field(max_length=1000)
    cursor: str = Field(max_length=300)
    more: bool


@dataclass(frozen=True)
class Pull:
    """What a round needs of a partner, read before any request leaves."""

    partner_id: int
    base_url: str
    key: str
    cursor: str
    etag: str


@dataclass
class Outcome:
    changed: int = 0
    removed: int = 0
    unchanged: bool = False
    error: str = ""


async def due(session: AsyncSession) -> list[Pull]:
    """The active partners to pull, with their keys opened (a key that cannot be opened is
    recorded as the partner's error)."""
    partners = await session.scalars(
        select(NetworkPartner).where(NetworkPartner.active.is_(True)).order_by(NetworkPartner.id)
    )
    pulls = []
    for partner in partners:
        try:
            key = network.their_key(partner)
        except Invalid as error:
            _failed(partner, error.message)
            continue
        pulls.append(Pull(partner.id, partner.base_url, key, partner.cursor, partner.etag))
    return pulls


async def run_round(
    sessions: async_sessionmaker[AsyncSession], *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """Pull every active partner's feed once; returns the offers changed or removed."""
    async with db.unit_of_work(sessions) as session:
        pulls = await due(session)
    total = 0
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as client:
        for pull in pulls:
            outcome = await pull_partner(sessions, client, pull)
            total += outcome.changed + outcome.removed
    return total


async def pull_partner(
    sessions: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, pull: Pull
) -> Outcome:
    """Read one partner's feed from its cursor, page by page, each written at once."""
    outcome = Outcome()
    cursor, etag = pull.cursor, pull.etag
    for number in range(MAX_PAGES):
        try:
            page, etag_now = await _fetch(client, pull, cursor, etag if number == 0 else "")
        except (httpx.HTTPError, ValueError, ValidationError) as error:
            outcome.error = _describe(error)
            break
        if page is None:
            outcome.unchanged = True
            break
        async with db.unit_of_work(sessions) as session:
            partner = await session.get(NetworkPartner, pull.partner_id, with_for_update=True)
            if partner is None or not partner.active:
                return outcome  # disabled meanwhile: its offers are gone, keep nothing
            changed, removed = await apply_page(session, partner, page)
            partner.cursor, partner.etag = page.cursor, etag_now
        outcome.changed += changed
        outcome.removed += removed
        cursor = page.cursor
        if not page.more:
            break
    await _record(sessions, pull.partner_id, outcome)
    return outcome


async def _fetch(
    client: httpx.AsyncClient, pull: Pull, cursor: str, etag: str
) -> tuple[FeedPage | None, str]:
    """One page of the feed and its ETag; None when unchanged (304)."""
    params = {"limit": str(PAGE_SIZE)} | ({"cursor": cursor} if cursor else {})
    headers = {"authorization": f"Bearer {pull.key}", "accept": "application/json"}
    if etag:
        headers["if-none-match"] = etag
    response = await partner_http.fetch(
        client, "GET", f"{pull.base_url}/api/v1/network/offers", params=params, headers=headers
    )
    if response.status_code == 304:
        return None, etag
    if response.status_code != 200:
        raise ValueError(_refusal(response))
    return FeedPage.model_validate_json(response.content), response.headers.get("etag", "")


def _refusal(response: partner_http.Answer) -> str:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = ""
    return f"HTTP {response.status_code}" + (f" ({code})" if code else "")


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, ValidationError):
        return "unexpected answer: " + str(error.errors(include_url=False)[0]["msg"])
    text = str(error) or type(error).__name__
    return text[:MAX_ERROR]


async def apply_page(
    session: AsyncSession, partner: NetworkPartner, page: FeedPage
) -> tuple[int, int]:
    """Upsert the page's open offers and delete its tombstones; returns (changed, removed)."""
    gone = [item.id for item in page.items if item.deleted]
    alive = {item.id: item for item in page.items if not item.deleted}
    removed = 0
    if gone:
        result = await session.execute(
            delete(NetworkOffer).where(
                NetworkOffer.partner_id == partner.id, NetworkOffer.origin_id.in_(gone)
            )
        )
        removed = int(getattr(result, "rowcount", 0) or 0)
    existing = {
        offer.origin_id: offer
        for offer in await session.scalars(
            select(NetworkOffer).where(
                NetworkOffer.partner_id == partner.id, NetworkOffer.origin_id.in_(list(alive))
            )
        )
    }
    now = clock.now()
    for origin_id, item in alive.items():
        offer = existing.get(origin_id)
        if offer is None:
            offer = NetworkOffer(partner_id=partner.id, edition_id=partner.edition_id)
            offer.origin_id = origin_id
            session.add(offer)
        _fill(offer, item, now)
    await session.flush()
    return len(alive), removed


def _fill(offer: NetworkOffer, item: FeedItem, now: datetime) -> None:
    # A link the candidate follows: a partner's web address only (never javascript: or data:).
    url = item.url or ""
    offer.url = url if url.startswith(("https://", "http://")) else ""
    offer.title = item.title or ""
    offer.description = item.description or ""
    offer.employer = item.employer or ""
    offer.commune = item.commune or ""
    offer.postcode = item.postcode or ""
    offer.latitude = item.latitude or 0.0
    offer.longitude = item.longitude or 0.0
    offer.remote = bool(item.remote)
    offer.positions = item.positions if item.positions is not None else 1
    offer.salary = item.salary or ""
    offer.starts_on = item.starts_on
    # Shown through their labels: a value this version does not know is left out.
    offer.contract = item.contract if item.contract in CONTRACTS else ""
    offer.working_time = item.working_time if item.working_time in WORKING_TIMES else ""
    code = item.rome_code or ""
    offer.rome_code = code
    offer.rome_domain = code[0] if code[:1].isalpha() and code[:1].isupper() else ""
    offer.title_stems = search.stems(offer.title)
    offer.search_stems = search.stems(f"{offer.employer} {offer.description}")
    offer.created_at = item.created_at or item.updated_at
    offer.updated_at = item.updated_at
    offer.synced_at = now


async def _record(
    sessions: async_sessionmaker[AsyncSession], partner_id: int, outcome: Outcome
) -> None:
    async with db.unit_of_work(sessions) as session:
        partner = await session.get(NetworkPartner, partner_id)
        if partner is None:
            return
        partner.last_sync_at = clock.now()
        if outcome.error:
            _failed(partner, outcome.error)
            log.warning("pulling partner %s failed: %s", partner_id, outcome.error)
            return
        partner.last_success_at = partner.last_sync_at
        partner.failures = 0
        partner.last_error = ""
        partner.last_result = (
            "unchanged"
            if outcome.unchanged and not (outcome.changed or outcome.removed)
            else f"{outcome.changed} {outcome.removed}"  # shown by fair.web.network
        )


def _failed(partner: NetworkPartner, error: str) -> None:
    partner.last_sync_at = clock.now()
    partner.last_error = error[:MAX_ERROR]
    partner.failures += 1
