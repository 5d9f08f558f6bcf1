"""What the offer search works out again and again, kept a short while per process: the
offers of a page of results and their count (fair.search), the facets' counts of a search
(fair.search.facets) and the spelling probe of a word (fair.search.terms.respell); and what
every page of an edition reads whatever its query (`of_edition`): the edition itself
(fair.editions.by_slug), whether its search shows the network's offers (fair.network).

Each answer is kept under the edition's offers version (fair.offers_version), read with the
request, so that a committed change of the edition's offers, booths or employers makes every
answer kept for it stale at once, in every process; `SECONDS` bounds what the version does not
cover (the vocabulary of the other editions' titles). The version is read once per
transaction, however many answers a page asks for. A session that has
written watched rows not yet committed (`offers_version.KEY` in its `info`) neither reads nor
keeps anything: what it sees is not what the version names. At most `SIZE` answers per kind,
the least recently used dropped first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from fair import offers_version
from fair.ttl_cache import TTLCache

SECONDS = 60.0
SIZE = 2000
T = TypeVar("T")


class Kept(TTLCache[Hashable, tuple[T]]):
    """Answers by key, `seconds` at most, `size` at most (least recently used dropped), each
    in a 1-tuple: an answer may be None. `of_edition`: what an edition's pages read whatever
    the query (not forgotten by `forget(answers_only=True)`)."""

    def __init__(
        self, *, seconds: float = SECONDS, size: int = SIZE, of_edition: bool = False
    ) -> None:
        super().__init__(seconds=seconds, size=size)
        self.of_edition = of_edition
        _ALL.append(self)


_ALL: list[Kept[Any]] = []


def forget(*, answers_only: bool = False) -> None:
    """Drop every answer kept (the tests: each starts its database, and the clock, again);
    `answers_only`: only what a search works out for its query, the editions' own kept
    (bench/search.py --cold: every query worked out, as a query not asked before is, on an
    edition that pages have read before)."""
    for kept in _ALL:
        if not (answers_only and kept.of_edition):
            kept.clear()


async def through(
    kept: Kept[T],
    session: AsyncSession,
    edition_id: int,
    key: Hashable,
    compute: Callable[[], Awaitable[T]],
) -> T:
    """The answer kept for `key` in the edition's current offers version, else `compute`'s
    (then kept). Nothing is kept when the edition has no version yet or the session wrote
    watched rows it has not committed."""
    found = await look_up(kept, session, edition_id, key)
    if found is not None:
        return found[0]
    answer = await compute()
    await keep(kept, session, edition_id, key, answer)
    return answer


async def look_up(
    kept: Kept[T], session: AsyncSession, edition_id: int, key: Hashable
) -> tuple[T] | None:
    """(answer,) when one is kept for `key` in the edition's current offers version (as
    `through`, for a caller that keeps less than it computes); else None."""
    version = await _version(session, edition_id)
    if version is None or _writing(session):
        return None
    return kept.get((edition_id, version, key))


async def keep(
    kept: Kept[T], session: AsyncSession, edition_id: int, key: Hashable, answer: T
) -> None:
    """Keep `answer` for `key` in the edition's current offers version (not when it has
    none, or the session wrote watched rows)."""
    version = await _version(session, edition_id)
    if version is not None and not _writing(session):
        kept.put((edition_id, version, key), (answer,))


VERSIONS = "fair.search.cache.versions"  # session.info: the versions read in this transaction


def note_version(session: AsyncSession, edition_id: int, version: str | None) -> None:
    """The edition's offers version (None: it has none), read just now with something else
    (fair.editions reads it with the edition's id by its slug): this transaction's answers
    need not read it again."""
    session.info.setdefault(VERSIONS, {}).setdefault(edition_id, version)


async def _version(session: AsyncSession, edition_id: int) -> str | None:
    """The edition's offers version, read once per transaction (a page asks several times)."""
    known: dict[int, str | None] = session.info.setdefault(VERSIONS, {})
    if edition_id not in known:
        known[edition_id] = await offers_version.current(session, edition_id)
    return known[edition_id]


def _writing(session: AsyncSession) -> bool:
    """Whether the session holds changes of its own: flushed (marked for a new version at
    commit) or not yet."""
    sync = session.sync_session
    return offers_version.KEY in sync.info or bool(sync.new or sync.dirty or sync.deleted)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _ended(session: Session) -> None:
    session.info.pop(VERSIONS, None)
