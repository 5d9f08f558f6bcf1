"""Activity: views of the public booth and offer pages per day, and the candidates active in an
edition, counted in the app (no third-party analytics) for the organiser's dashboard.

What is kept, and why no more. `page_views` holds one count per page and day (the day in the
edition's time zone): nothing about who viewed it. `active_days` holds, for a registered
candidate who opened a public booth or offer page of an edition, the days they did so: the
dashboard's funnel step "registered → active during the edition" needs to know *which*
candidates were active (to follow them to "applied", and to split the step by priority public),
and its timeline needs how many were active *each day*. A first and last active day per
candidate would answer the first but not the second (active on days 1 and 3: and on day 2?);
a row per day with no time, no page, no address and no browser is the least that answers both.
No IP address and no user agent is stored anywhere; a candidate's rows go with their account.
Being active is edition-wide on purpose: which booths a candidate looked at is not kept, so a
funnel filtered by booth or offer shows that booth's or offer's page views, not its visitors.

Who counts. A GET of a public booth or offer page that the public may see (an unpublished
booth or offer answers 404 before anything is counted), by an anonymous visitor or a candidate.
Staff accounts (recruiters, organisers, administrators) are never counted: they include the
booth's own recruiters and the edition's organisers, and their views say nothing of the
candidates' interest. Bots are recognised by a simple user-agent rule (`is_bot`), and
browsers' prefetches are not views.

Once per page, day and browser session. A view is counted once per page per day per browser
session: the boundary passes an opaque identity of the browser (the account once logged in,
else the session's random secret), which the tally hashes with a key of its own drawn at
start-up and keeps only in memory, in two bounded generations (when the newer one is full the
older is forgotten, so a visitor seen long ago may be counted again: an overcount bounded by
the memory, never unbounded memory). Several web processes each keep their own, so a
browser whose requests reach two processes may count once in each.

No write on the request's path. A page view only increments this process's `Tally` in memory
(no I/O, the request's read session is untouched); a round (`fair/worker.py`, in every web
process whatever FAIR_BACKGROUND_TASKS says, and once more at shutdown) takes the tally and
writes it with `save` in a unit of work of its own: an upsert adding to the day's row on both
databases. Several web processes each write their own tally: the sums add up. The tally is
bounded: when a new page's count or a new active candidate would pass its limit, the view is
dropped (counted in `Tally.dropped`, logged by the round) and the round is woken at once to
write and empty it; views of pages already in the tally still add to their count. A process
killed without stopping loses the views of its last round (30 seconds at most).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, distinct, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from fair import clock, participants
from fair.enums import Role
from fair.models import ActiveDay, Booth, Edition, Offer, PageView, User
from fair.tally import ActiveKey, PageKey, Taken, Tally

# Lower-case fragments of the user agents of crawlers, link previews, monitors and scripts.
BOT_MARKS = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "preview",
    "headless",
    "lighthouse",
    "monitor",
    "facebookexternalhit",
    "curl/",
    "wget/",
    "python",
    "httpx",
    "go-http-client",
    "java/",
    "okhttp",
    "node-fetch",
    "axios/",
)


def is_bot(user_agent: str) -> bool:
    """Whether a user agent is a robot's: empty, or naming a crawler, a preview or a script.
    Cubot phones (cheap Android phones: "CUBOT X30") are people, not "…bot"s."""
    agent = user_agent.lower().replace("cubot", "")
    return not agent.strip() or any(mark in agent for mark in BOT_MARKS)


def local_day(edition: Edition, moment: datetime | None = None) -> date:
    """The day `moment` (now by default) falls on in the edition's time zone."""
    return (moment or clock.now()).astimezone(ZoneInfo(edition.timezone)).date()


def counts(user: User | None, *, user_agent: str, prefetch: bool) -> bool:
    """Whether a view of a public page by `user` (None: anonymous) counts: not a bot's, not a
    prefetch, not a staff account's (module docstring)."""
    if prefetch or is_bot(user_agent):
        return False
    return user is None or user.role == Role.CANDIDATE


def viewed(
    tally: Tally,
    *,
    edition: Edition,
    booth_id: int,
    offer_id: int | None = None,
    user: User | None,
    browser: str | None,
    user_agent: str,
    prefetch: bool = False,
) -> bool:
    """Tally a view of a public booth page (`offer_id` None) or offer page, in memory only;
    whether it was counted. A candidate viewing it is noted active in the edition that day."""
    if not counts(user, user_agent=user_agent, prefetch=prefetch):
        return False
    key = (edition.id, booth_id, offer_id, local_day(edition))
    candidate_id = user.id if user is not None else None
    return tally.view(key, browser=browser, candidate_id=candidate_id)


async def save(session: AsyncSession, taken: Taken) -> int:
    """Add the taken counts to the day's rows and record the active days (one upsert each, on
    SQLite and PostgreSQL); rows whose booth, offer or candidate is gone are skipped. Returns
    how many rows were written."""
    views = await _existing_pages(session, taken.views)
    active = await _existing_candidates(session, taken.active)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    booth_rows = [_row(key, n) for key, n in sorted(views.items(), key=_order) if key[2] is None]
    offer_rows = [
        _row(key, n) for key, n in sorted(views.items(), key=_order) if key[2] is not None
    ]
    for rows, columns, where in (
        (booth_rows, ["booth_id", "day"], PageView.offer_id.is_(None)),
        (offer_rows, ["offer_id", "day"], PageView.offer_id.isnot(None)),
    ):
        if rows:
            statement = insert(PageView)
            upsert = statement.on_conflict_do_update(
                index_elements=columns,
                index_where=where,
                set_={"views": PageView.views + statement.excluded.views},
            )
            await session.execute(upsert, rows)
    if active:
        rows = [{"edition_id": e, "user_id": u, "day": d} for e, u, d in sorted(active)]
        await session.execute(insert(ActiveDay).on_conflict_do_nothing(), rows)
        # Active only as a candidate (fair.activity.counts): registered to the edition too.
        await participants.register_many(session, {(e, u) for e, u, _ in active})
        await participants.mark_active(session, {(e, u) for e, u, _ in active})
    return len(booth_rows) + len(offer_rows) + len(active)


def _order(item: tuple[PageKey, int]) -> tuple[int, int, int, date]:
    # The same order in every process: two processes' upserts never wait on each other crosswise.
    edition_id, booth_id, offer_id, day = item[0]
    return edition_id, booth_id, offer_id or 0, day


def _row(key: PageKey, views: int) -> dict[str, object]:
    edition_id, booth_id, offer_id, day = key
    return {
        "edition_id": edition_id,
        "booth_id": booth_id,
        "offer_id": offer_id,
        "day": day,
        "views": views,
    }


async def _existing_pages(session: AsyncSession, views: dict[PageKey, int]) -> dict[PageKey, int]:
    """The counts whose booth and offer still exist (a deleted one would fail the whole round)."""
    booths = await _ids(session, Booth.id, {k[1] for k in views})
    offers = await _ids(session, Offer.id, {k[2] for k in views if k[2] is not None})
    return {k: n for k, n in views.items() if k[1] in booths and (k[2] is None or k[2] in offers)}


async def _existing_candidates(session: AsyncSession, active: set[ActiveKey]) -> set[ActiveKey]:
    users = await _ids(session, User.id, {k[1] for k in active})
    editions = await _ids(session, Edition.id, {k[0] for k in active})
    return {k for k in active if k[1] in users and k[0] in editions}


async def _ids(
    session: AsyncSession, column: InstrumentedAttribute[int], wanted: Iterable[int]
) -> set[int]:
    ids, found = sorted(set(wanted)), set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found |= set(await session.scalars(select(column).where(column.in_(chunk))))
    return found


# Figures for the dashboard (fair.insight gathers them; pages check fair.permissions first).


PageId = tuple[int, int | None]  # (booth id, offer id), None for the booth's own page


@dataclass(frozen=True)
class Views:
    """Views of a booth's own page and of its offers' pages (or of all booths', summed)."""

    booth: int = 0
    offers: int = 0

    @property
    def total(self) -> int:
        return self.booth + self.offers


@dataclass(frozen=True)
class DailyViews:
    """One stored count: a booth's page (`offer_id` None) or an offer's page, on one day."""

    day: date
    booth_id: int
    offer_id: int | None
    views: int


async def daily_views(
    session: AsyncSession, edition_id: int, *, booth_id: int | None = None
) -> list[DailyViews]:
    """Every page's count per day in the edition (or one booth's), by day, booth, offer."""
    query = select(PageView.day, PageView.booth_id, PageView.offer_id, PageView.views).where(
        PageView.edition_id == edition_id
    )
    if booth_id is not None:
        query = query.where(PageView.booth_id == booth_id)
    rows = await session.execute(query)
    found = [DailyViews(day, booth, offer, n) for day, booth, offer, n in rows]
    return sorted(found, key=lambda v: (v.day, v.booth_id, v.offer_id or 0))


async def views_per_day(
    session: AsyncSession, edition_id: int, *, booth_id: int | None = None
) -> dict[date, Views]:
    """Per day, the views of booth pages and of offer pages in the edition (or one booth's)."""
    query = select(PageView.day, *_sums()).where(PageView.edition_id == edition_id)
    if booth_id is not None:
        query = query.where(PageView.booth_id == booth_id)
    rows = await session.execute(query.group_by(PageView.day).order_by(PageView.day))
    return {day: Views(int(booth), int(offers)) for day, booth, offers in rows}


async def views_per_booth(session: AsyncSession, edition_id: int) -> dict[int, Views]:
    """Per booth of the edition with any view: views of its page and of its offers' pages."""
    query = select(PageView.booth_id, *_sums()).where(PageView.edition_id == edition_id)
    rows = await session.execute(query.group_by(PageView.booth_id))
    return {booth_id: Views(int(booth), int(offers)) for booth_id, booth, offers in rows}


async def views_per_offer(
    session: AsyncSession, edition_id: int, *, booth_id: int | None = None
) -> dict[int, int]:
    """Per offer of the edition (or of one booth) with any view: its page's views."""
    query = select(PageView.offer_id, func.sum(PageView.views)).where(
        PageView.edition_id == edition_id, PageView.offer_id.isnot(None)
    )
    if booth_id is not None:
        query = query.where(PageView.booth_id == booth_id)
    rows = await session.execute(query.group_by(PageView.offer_id))
    return {offer_id: int(n) for offer_id, n in rows if offer_id is not None}


async def views_per_page(session: AsyncSession, edition_id: int) -> dict[PageId, int]:
    """Per page of the edition with any view, (booth id, offer id or None for the booth's own
    page): its views. One grouped read for a page that shows the views per booth and per
    offer, instead of one of each."""
    query = select(PageView.booth_id, PageView.offer_id, func.sum(PageView.views)).where(
        PageView.edition_id == edition_id
    )
    rows = await session.execute(query.group_by(PageView.booth_id, PageView.offer_id))
    return {(booth_id, offer_id): int(n) for booth_id, offer_id, n in rows}


def _sums() -> tuple[ColumnElement[int], ColumnElement[int]]:
    """The views of booth pages and the views of offer pages, summed over a group."""
    on_booth = func.sum(PageView.views).filter(PageView.offer_id.is_(None))
    on_offers = func.sum(PageView.views).filter(PageView.offer_id.isnot(None))
    return func.coalesce(on_booth, 0), func.coalesce(on_offers, 0)


def active_ids(edition_id: int, users: Sequence[int] | None = None) -> Select[int]:
    """The ids of the edition's active candidates (among `users`, if given), each once: a
    statement for fair.insight's funnel to join with its other steps and filters."""
    found = select(ActiveDay.user_id).where(ActiveDay.edition_id == edition_id)
    if users is not None:
        found = found.where(ActiveDay.user_id.in_(users))
    return found.distinct()


async def active_candidates(session: AsyncSession, edition_id: int) -> int:
    """How many candidates were active in the edition, on any day."""
    query = select(func.count(distinct(ActiveDay.user_id))).where(
        ActiveDay.edition_id == edition_id
    )
    return int(await session.scalar(query) or 0)


async def active_per_day(session: AsyncSession, edition_id: int) -> dict[date, int]:
    """Per day (in the edition's time zone), how many candidates were active in the edition."""
    rows = await session.execute(
        select(ActiveDay.day, func.count(ActiveDay.user_id))
        .where(ActiveDay.edition_id == edition_id)
        .group_by(ActiveDay.day)
        .order_by(ActiveDay.day)
    )
    return {day: int(n) for day, n in rows}
