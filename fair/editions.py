"""Editions of a fair: their settings, live days, and a status that follows from the clock."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import bindparam, select
from sqlalchemy import inspect as orm_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from fair import (
    clock,
    offers_version,  # also installs its listeners: see its docstring
    permissions,
    timing,
)
from fair.enums import EditionStatus, Role
from fair.errors import Conflict, Forbidden, Invalid, NotFound
from fair.models import Edition, EditionOrganiser, LiveDay, OffersVersion, User
from fair.search import cache as search_cache

T = TypeVar("T")

MAX_LIVE_DAYS = 31
MAX_ADMISSION_CAP = 1_000_000


@dataclass
class EditionInput:
    """What an organiser sets; datetimes are aware, days and hours are in the edition's zone."""

    title: str
    territory: str
    partners: str
    description: str
    timezone: str
    applications_open_at: datetime
    applications_close_at: datetime
    response_deadline: datetime
    live_first_day: date
    live_last_day: date
    opens: time
    closes: time
    weekdays: frozenset[int]  # 0 = Monday
    # Admission control (fair.admission); None: the platform's defaults.
    admission_active_cap: int | None = None
    admission_arrivals_per_minute: int | None = None


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60] or "edition"


def check(data: EditionInput) -> None:
    """Refuse inconsistent settings, naming the field to fix."""
    errors: dict[str, str] = {}
    if not data.title.strip() or len(data.title) > 200:
        errors["title"] = "Enter a title (200 characters at most)."
    if not data.territory.strip() or len(data.territory) > 200:
        errors["territory"] = "Enter the territory (200 characters at most)."
    if data.timezone not in available_timezones():
        errors["timezone"] = "Choose a known time zone, such as Europe/Paris."
    if data.applications_close_at <= data.applications_open_at:
        errors["applications_close_at"] = "The application window must close after it opens."
    if data.live_last_day < data.live_first_day:
        errors["live_last_day"] = "The last live day cannot come before the first."
    elif (data.live_last_day - data.live_first_day).days >= MAX_LIVE_DAYS:
        errors["live_last_day"] = "An edition has at most 31 live days."
    if data.closes <= data.opens:
        errors["closes"] = "The daily closing time must come after the opening time."
    if not data.weekdays:
        errors["weekdays"] = "Choose at least one day of the week."
    if data.response_deadline < data.applications_open_at:
        errors["response_deadline"] = "The response deadline must come after applications open."
    for name in ("admission_active_cap", "admission_arrivals_per_minute"):
        cap = getattr(data, name)
        if cap is not None and not 1 <= cap <= MAX_ADMISSION_CAP:
            errors[name] = "Enter a whole number between 1 and 1,000,000, or leave it empty."
    if errors:
        raise Invalid("Some fields need correcting.", code="edition.invalid", fields=errors)
    if not _days(data):
        message = "No live day falls on the chosen days of the week."
        raise Invalid(message, code="edition.invalid", fields={"weekdays": message})


def _days(data: EditionInput) -> list[date]:
    span = (data.live_last_day - data.live_first_day).days + 1
    days = (data.live_first_day + timedelta(days=n) for n in range(span))
    return [d for d in days if d.weekday() in data.weekdays]


async def _unique_slug(session: AsyncSession, title: str, edition_id: int | None) -> str:
    base = slugify(title)
    slug, n = base, 1
    while True:
        found = await session.scalar(select(Edition.id).where(Edition.slug == slug))
        if found is None or found == edition_id:
            return slug
        n += 1
        slug = f"{base}-{n}"


async def create(session: AsyncSession, *, by: User, data: EditionInput) -> Edition:
    """An organiser (or admin) creates a draft edition and becomes one of its organisers."""
    if not permissions.has_role(by, Role.ORGANISER):
        raise Forbidden("Only organisers can create editions.")
    check(data)
    edition = Edition(
        slug=await _unique_slug(session, data.title, None),
        created_at=clock.now(),
        created_by_id=by.id,
        live_days=[],
    )
    _apply(edition, data)
    session.add(edition)
    await session.flush()
    session.add(EditionOrganiser(edition_id=edition.id, user_id=by.id))
    await session.flush()
    return edition


async def update(session: AsyncSession, edition: Edition, *, data: EditionInput) -> None:
    """Change an edition's settings; its live days become the new range's.

    A day in both the old and the new range keeps its row (its hours updated in place). Days
    no longer in the range are deleted and flushed before the new ones are inserted: a flush
    inserts before it deletes, and `UNIQUE (edition_id, day)` would refuse a day removed and
    added back in one flush.
    """
    check(data)
    await session.refresh(edition, ["live_days"])
    before = _day_hours(edition)
    _settings(edition, data)
    wanted = set(_days(data))
    kept = [d for d in edition.live_days if d.day in wanted]
    if len(kept) < len(edition.live_days):
        edition.live_days = kept
        await session.flush()
    for live_day in kept:
        live_day.opens, live_day.closes = data.opens, data.closes
    known = {d.day for d in kept}
    added = [LiveDay(day=d, opens=data.opens, closes=data.closes) for d in wanted - known]
    edition.live_days = sorted([*kept, *added], key=lambda d: d.day)
    if _day_hours(edition) != before:  # the row's own changes set it anyway (models)
        edition.updated_at = clock.now()
    await session.flush()


def _day_hours(edition: Edition) -> list[tuple[date, time, time]]:
    return sorted((d.day, d.opens, d.closes) for d in edition.live_days)


def _apply(edition: Edition, data: EditionInput) -> None:
    """A new edition's settings and live days."""
    _settings(edition, data)
    edition.live_days = [LiveDay(day=d, opens=data.opens, closes=data.closes) for d in _days(data)]


def _settings(edition: Edition, data: EditionInput) -> None:
    edition.title = data.title.strip()
    edition.territory = data.territory.strip()
    edition.partners = data.partners.strip()
    edition.description = data.description.strip()
    edition.timezone = data.timezone
    edition.applications_open_at = data.applications_open_at
    edition.applications_close_at = data.applications_close_at
    edition.response_deadline = data.response_deadline
    edition.admission_active_cap = data.admission_active_cap
    edition.admission_arrivals_per_minute = data.admission_arrivals_per_minute


def live_bounds(edition: Edition) -> tuple[datetime, datetime] | None:
    """When the first live day opens and the last closes (UTC)."""
    if not edition.live_days:
        return None
    zone = ZoneInfo(edition.timezone)
    first, last = edition.live_days[0], edition.live_days[-1]
    start = datetime.combine(first.day, first.opens, zone)
    end = datetime.combine(last.day, last.closes, zone)
    return start, end


def status_at(edition: Edition, now: datetime | None = None) -> EditionStatus:
    """Where the edition stands at `now`.

    The organiser publishes and archives; the clock does the rest.
    """
    now = now or clock.now()
    if edition.archived_at is not None:
        return EditionStatus.ARCHIVED
    if edition.published_at is None:
        return EditionStatus.DRAFT
    bounds = live_bounds(edition)
    ends = max(edition.applications_close_at, bounds[1] if bounds else now)
    if now >= ends:
        return EditionStatus.CLOSED
    if bounds and bounds[0] <= now:
        return EditionStatus.LIVE
    if edition.applications_open_at <= now < edition.applications_close_at:
        return EditionStatus.APPLICATIONS_OPEN
    return EditionStatus.PUBLISHED


def applications_open(edition: Edition, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return (
        edition.published_at is not None
        and edition.archived_at is None
        and edition.applications_open_at <= now < edition.applications_close_at
    )


def open_now(edition: Edition, now: datetime | None = None) -> bool:
    """Whether a live day's opening hours are running now."""
    now = now or clock.now()
    zone = ZoneInfo(edition.timezone)
    local = now.astimezone(zone)
    return any(
        d.day == local.date() and d.opens <= local.time().replace(tzinfo=None) < d.closes
        for d in edition.live_days
    )


def visible(edition: Edition) -> bool:
    return edition.published_at is not None


async def publish(session: AsyncSession, edition: Edition) -> None:
    if edition.published_at is not None:
        raise Conflict("This edition is already published.", code="edition.published")
    edition.published_at = clock.now()


async def archive(session: AsyncSession, edition: Edition) -> None:
    if status_at(edition) != EditionStatus.CLOSED:
        raise Conflict("Only a closed edition can be archived.", code="edition.not_closed")
    edition.archived_at = clock.now()


async def get(session: AsyncSession, edition_id: int) -> Edition:
    """The edition with its live days and branding, as kept (`_kept`): one primary-key read
    of its offers version while it is unchanged."""
    edition = await _kept(session, edition_id)
    if edition is None:
        raise NotFound("This edition does not exist.")
    return edition


async def public_id(session: AsyncSession, slug: str) -> int:
    """The id of the published edition at `slug` (NotFound otherwise), for an answer that
    needs no more of it (the search's suggestions)."""
    found = await session.scalar(
        select(Edition.id).where(Edition.slug == slug, Edition.published_at.is_not(None))
    )
    if found is None:
        raise NotFound("This edition does not exist.")
    return int(found)


async def by_slug(session: AsyncSession, slug: str, *, public: bool = True) -> Edition:
    """The edition at `slug`, with its live days and branding (every public page of an
    edition starts with it): its id and offers version in one small read, the rest as kept
    (`_kept`) while that version is the same."""
    with timing.span("edition"):  # on every page of an edition (fair.timing)
        row = (await session.execute(_BY_SLUG, {"slug": slug})).first()
        edition = None
        if row is not None:
            version = None if row[1] is None else offers_version.token(row[1], row[2])
            search_cache.note_version(session, row[0], version)  # the search's answers use it
            edition = await _kept(session, row[0])
    if edition is None or (public and edition.published_at is None):
        raise NotFound("This edition does not exist.")
    return edition


# An edition's id and offers version by its slug (the version's columns None when it has none).
_BY_SLUG = (
    select(Edition.id, OffersVersion.version, OffersVersion.started_at)
    .outerjoin(OffersVersion, OffersVersion.edition_id == Edition.id)
    .where(Edition.slug == bindparam("slug"))
)

# Editions as last read, with their live days and branding, under their offers version (which
# every write of an edition's row, its live days or its branding raises: fair.offers_version):
# an edition changed by any process is read afresh by the next page that asks for it.
_KEPT: search_cache.Kept[Edition] = search_cache.Kept(of_edition=True, size=500)


async def _kept(session: AsyncSession, edition_id: int) -> Edition | None:
    """The edition with its live days and branding (None: no such edition): a copy of the
    one kept under its current offers version, put in `session` as if read (no statement);
    else read, and a detached copy kept. Read each time when it has no version yet or the
    session has written editions, offers or booths it has not committed (fair.search.cache)."""
    # The database's in the key: ids and versions are a database's own (tests use several).
    key = str(session.get_bind().engine.url)
    found = await search_cache.look_up(_KEPT, session, edition_id, key)
    if found is not None:
        return await session.merge(found[0], load=False)
    # Read afresh even when the session holds it already (as loaded earlier, maybe long ago):
    # what is kept is what the database holds now.
    edition = await session.scalar(
        select(Edition)
        .where(Edition.id == edition_id)
        .options(selectinload(Edition.live_days), joinedload(Edition.brand))
        .execution_options(populate_existing=True)
    )
    if edition is not None:
        await search_cache.keep(_KEPT, session, edition_id, key, _detached(edition))
    return edition


def _detached(edition: Edition) -> Edition:
    """A copy of `edition`, its live days and its branding, in no session: what is kept is
    never an object some request's session holds (and may change)."""
    days = [_copy(day) for day in edition.live_days]
    brand = None if edition.brand is None else _copy(edition.brand)
    return _copy(edition, live_days=days, brand=brand)


def _copy(thing: T, **related: object) -> T:
    """A detached copy of a loaded row with these relationships, built from its loaded
    columns (as fair.live.hub.copy_user)."""
    mapper = orm_inspect(type(thing))
    fresh = mapper.class_manager.new_instance()
    loaded = thing.__dict__
    fresh.__dict__.update({a.key: loaded[a.key] for a in mapper.column_attrs if a.key in loaded})
    for name, value in related.items():  # a collection as the ORM's own (instrumented)
        set_committed_value(fresh, name, value)
    make_transient_to_detached(fresh)
    return fresh  # type: ignore[no-any-return]


async def published(session: AsyncSession) -> list[Edition]:
    rows = await session.scalars(
        select(Edition)
        .where(Edition.published_at.is_not(None), Edition.archived_at.is_(None))
        .options(selectinload(Edition.live_days))
        .order_by(Edition.applications_open_at.desc())
    )
    return list(rows)


async def published_page(
    session: AsyncSession,
    *,
    after: int | None,
    limit: int,
    updated_since: datetime | None = None,
) -> list[Edition]:
    """Published editions (archived ones too) by id, from just after `after`, `limit` at most,
    changed at or after `updated_since`: the public API's list (fair.api), continued by the
    last id it showed."""
    query = select(Edition).where(Edition.published_at.is_not(None))
    if after is not None:
        query = query.where(Edition.id > after)
    if updated_since is not None:
        query = query.where(Edition.updated_at >= updated_since)
    rows = await session.scalars(
        query.options(selectinload(Edition.live_days)).order_by(Edition.id).limit(limit)
    )
    return list(rows)


async def public(session: AsyncSession, edition_id: int) -> Edition:
    """The edition if it is published (archived ones too); else NotFound, as if it did not
    exist."""
    edition = await get(session, edition_id)
    if not visible(edition):
        raise NotFound("This edition does not exist.")
    return edition


def home_order(
    found: list[Edition], now: datetime | None = None
) -> list[tuple[Edition, EditionStatus]]:
    """Editions as the home page lists them, with their status: live ones first, then those
    to come by their first live day (or their opening), then past ones, the latest first."""
    now = now or clock.now()
    rows = [(edition, status_at(edition, now)) for edition in found]

    def key(row: tuple[Edition, EditionStatus]) -> tuple[int, float]:
        edition, status = row
        bounds = live_bounds(edition)
        start = bounds[0] if bounds else edition.applications_open_at
        if status == EditionStatus.LIVE:
            return (0, start.timestamp())
        if status == EditionStatus.CLOSED:
            end = bounds[1] if bounds else edition.applications_close_at
            return (2, -end.timestamp())
        return (1, start.timestamp())

    return sorted(rows, key=key)


async def organised_by(session: AsyncSession, user: User) -> list[Edition]:
    query = select(Edition).options(selectinload(Edition.live_days)).order_by(Edition.id.desc())
    if not permissions.is_admin(user):
        query = query.join(EditionOrganiser).where(EditionOrganiser.user_id == user.id)
    return list(await session.scalars(query))
