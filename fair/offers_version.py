"""A counter per edition raised by every committed change of what its offers and booths answer
(the public API's offers and booths, the offers feeds, the widget): the cheap part of their
ETags, read in one primary-key lookup before any list query runs (fair.api.core).

What raises it, so that no write path can forget: any flush writing an Offer, a Booth, an
Employer (its name, logo… are shown with its booths' offers, in every edition it has a booth
in), an Edition, its LiveDays or its EditionBrand (what fair.editions keeps of an edition
for its pages, under this version), or a NetworkOffer (a partner's offer its search shows,
fair.network_sync) through the ORM (new, changed or deleted rows; an unchanged save raises
nothing); and any INSERT, UPDATE or DELETE statement on those tables run through a session
(`session.execute(update(Booth)…)`, the bulk inserts of the benchmark): its editions are read
with the statement's own WHERE just before it runs. The editions so marked have their counter
raised once, just before the transaction commits (SQLAlchemy `before_commit`, in the same
transaction: readers never see the change without the new counter), in edition order (no
deadlock between two writers on PostgreSQL), by one upsert each. A rollback forgets the marks.

Statements run on a bare connection (migrations) raise nothing: they are not the app's writes.
The listeners are installed when this module is imported: by fair.offers, fair.employers and
fair.editions, which every process that writes those rows imports.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState, ORMExecuteState, Session

from fair import clock
from fair.models import (
    Booth,
    Edition,
    EditionBrand,
    Employer,
    LiveDay,
    NetworkOffer,
    Offer,
    OffersVersion,
)

KEY = "fair.offers_version"  # session.info: the edition ids to raise at commit
WATCHED = (Offer, Booth, Employer, Edition, NetworkOffer, LiveDay, EditionBrand)
OF_EDITION = (Offer, Booth, NetworkOffer, LiveDay, EditionBrand)  # rows with an edition_id


async def current(session: AsyncSession, edition_id: int) -> str | None:
    """The edition's version as a token ("<started>.<counter>"), None when it has none yet
    (an edition made before this table, or by a bare statement)."""
    row = (
        await session.execute(
            select(OffersVersion.version, OffersVersion.started_at).where(
                OffersVersion.edition_id == edition_id
            )
        )
    ).first()
    return None if row is None else token(row[0], row[1])


async def of_offer(session: AsyncSession, offer_id: int) -> str | None:
    """The version of the edition the offer belongs to (None: no such offer, or no version)."""
    row = (
        await session.execute(
            select(OffersVersion.version, OffersVersion.started_at)
            .join(Offer, Offer.edition_id == OffersVersion.edition_id)
            .where(Offer.id == offer_id)
        )
    ).first()
    return None if row is None else token(row[0], row[1])


def token(version: int, started_at: datetime) -> str:
    """The version as `current` gives it, from its row's two columns."""
    return f"{started_at.timestamp():.6f}.{version}"


def mark(session: Any, edition_ids: Iterable[int | None]) -> None:
    """Raise these editions' versions when `session` (sync or async) commits."""
    found = {e for e in edition_ids if e is not None}
    if found:
        session.info.setdefault(KEY, set()).update(found)


# Marking: ORM flushes -----------------------------------------------------------------------


@event.listens_for(Session, "before_flush")
def _flushing(session: Session, _context: Any, _instances: Any) -> None:
    """Mark the editions of the watched rows this flush writes. Before it: a deleted
    employer's booths are still there to say which editions showed it."""
    editions: set[int | None] = set()
    employers: set[int] = set()
    changed = (t for t in session.dirty if _changed(t))
    for thing in (*session.new, *changed, *session.deleted):
        if isinstance(thing, OF_EDITION):
            editions.update(_values(thing, "edition_id"))
        elif isinstance(thing, Edition):
            editions.update(_values(thing, "id"))
        elif isinstance(thing, Employer) and thing.id is not None:
            employers.add(thing.id)
    if employers:
        with session.no_autoflush:
            rows = session.execute(
                select(Booth.edition_id).where(Booth.employer_id.in_(employers)).distinct()
            )
            editions.update(rows.scalars())
    mark(session, editions)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    """A new edition has its id only now: its series starts at its first commit."""
    mark(session, (e.id for e in session.new if isinstance(e, Edition)))


def _changed(thing: object) -> bool:
    if not isinstance(thing, WATCHED):
        return False
    state: InstanceState[Any] = inspect(thing)
    return any(attr.history.has_changes() for attr in state.attrs)


def _values(thing: object, name: str) -> set[int | None]:
    """The attribute's value now and before this flush (an offer moved to another edition
    changes both); read from the database when expired (a deleted row loaded long ago)."""
    state: InstanceState[Any] = inspect(thing)
    history = state.attrs[name].history
    found = {*history.added, *history.unchanged, *history.deleted}
    if not found and state.session is not None and state.identity is not None:
        model: Any = type(thing)
        key = state.mapper.primary_key[0]  # an EditionBrand's is its edition_id
        query = select(getattr(model, name)).where(key == state.identity[0])
        with state.session.no_autoflush:
            found.add(state.session.scalar(query))
    return found


# Marking: statements run through a session ----------------------------------------------------


@event.listens_for(Session, "do_orm_execute")
def _statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if not isinstance(table, Table) or table.name not in _TABLES:
        return
    if state.is_insert:
        rows = state.parameters if isinstance(state.parameters, list) else [state.parameters]
        column = "id" if table.name == "editions" else "edition_id"
        mark(state.session, (r.get(column) for r in [*rows, _inserted(state.statement)] if r))
        return
    where = state.statement.whereclause  # type: ignore[attr-defined]
    query = _TABLES[table.name]
    if where is not None:
        query = query.where(where)
    with state.session.no_autoflush:
        mark(state.session, state.session.execute(query.distinct()).scalars())


def _inserted(statement: Any) -> dict[str, Any]:
    """The values an `insert(...).values(...)` carries in itself (SQLAlchemy keeps them in
    `_values`, by column: bound parameters for literal values)."""
    given = getattr(statement, "_values", None) or {}
    return {
        getattr(column, "key", str(column)): getattr(value, "value", None)
        for column, value in given.items()
    }


_TABLES: dict[str, Any] = {
    "offers": select(Offer.edition_id),
    "network_offers": select(NetworkOffer.edition_id),
    "booths": select(Booth.edition_id),
    "editions": select(Edition.id),
    "live_days": select(LiveDay.edition_id),
    "edition_brands": select(EditionBrand.edition_id),
    "employers": select(Booth.edition_id).join(Employer, Employer.id == Booth.employer_id),
}


# Raising, at commit ---------------------------------------------------------------------------


@event.listens_for(Session, "before_commit")
def _raise(session: Session) -> None:
    """Raise the marked editions' counters, in the committing transaction (a savepoint's
    release waits for it). The flush first: it may mark more."""
    if session.in_nested_transaction():
        return
    session.flush()
    marked: set[int] = session.info.pop(KEY, set())
    if not marked:
        return
    dialect = session.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = clock.now()
    existing = set(session.execute(select(Edition.id).where(Edition.id.in_(marked))).scalars())
    for edition_id in sorted(existing):  # a deleted edition's row went with it
        insert = build(OffersVersion).values(edition_id=edition_id, version=1, started_at=now)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=[OffersVersion.edition_id],
                set_={"version": OffersVersion.version + 1},
            )
        )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(KEY, None)
