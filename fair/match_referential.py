"""What matching reads of the imported ROME 4.0 referential (fair.rome_referential), held in
memory by each process: the parent of every code (close jobs: the same parent) and the training
link of every skill that has one (by folded label). Empty without an imported referential.

The tables change only when an operator imports a referential, so a process reads them once
and then only when they changed: `rome_versions` holds a token that triggers change on every
write to `rome_codes` or `rome_skills`, whoever makes it (migration 0038). Callers put
`token_column()` in a query they make anyway and pass what it read to `fresh`, which reads the
referential again when the token is not the one it was read at: no extra round trip while
nothing changes, and never an answer from a referential older than the caller's transaction
sees (beyond that one query, which the caller runs again: fair.match_offers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import matching, search
from fair.models import RomeCode, RomeSkill, RomeVersion


@dataclass(frozen=True)
class Held:
    """The referential as read at `token` (None: no write since the tables were created)."""

    token: str | None = None
    referential: matching.Referential = matching.NO_REFERENTIAL
    children: dict[str, frozenset[str]] = field(default_factory=dict)  # parent -> codes

    def siblings(self, codes: Iterable[str]) -> frozenset[str]:
        """The codes sharing a parent with one of `codes` (themselves included)."""
        parents = self.referential.parents
        found: set[str] = set()
        for code in codes:
            if code in parents:
                found |= self.children[parents[code]]
        return frozenset(found)


_held: dict[str, Held] = {}  # by database URL: a process may use several databases (tests)


def _key(session: AsyncSession) -> str:
    return str(session.get_bind().engine.url)


def token_column() -> Any:
    """The referential's current token, as a column to add to a query."""
    return select(RomeVersion.token).where(RomeVersion.id == 1).scalar_subquery()


def cached(session: AsyncSession) -> Held | None:
    """What this process holds for the session's database (no query), None before any read."""
    return _held.get(_key(session))


async def read(session: AsyncSession) -> Held:
    """Read the referential (three queries) and hold it for the session's database."""
    token = await session.scalar(select(RomeVersion.token).where(RomeVersion.id == 1))
    rows = (await session.execute(select(RomeCode.code, RomeCode.parent))).all()
    parents = {str(code): str(parent) for code, parent in rows}
    links = await session.execute(
        select(RomeSkill.label, RomeSkill.training_url).where(RomeSkill.training_url != "")
    )
    trainings = {search.fold(label).strip(): str(url) for label, url in links}
    children: defaultdict[str, set[str]] = defaultdict(set)
    for code, parent in parents.items():
        children[parent].add(code)
    held = Held(
        token,
        matching.Referential(parents, trainings),
        {parent: frozenset(codes) for parent, codes in children.items()},
    )
    _held[_key(session)] = held
    return held


async def current(session: AsyncSession) -> Held:
    """The held referential, read first if this process holds none for this database. The
    caller checks its token with `fresh` (or reads it again with `read`)."""
    return cached(session) or await read(session)


async def checked(session: AsyncSession) -> Held:
    """The referential as the session's transaction sees it: one small query for its token,
    and the tables read again only when the token is not the held one."""
    token = await session.scalar(select(token_column()))
    held = cached(session)
    return held if held is not None and fresh(held, token) else await read(session)


def fresh(held: Held, token: str | None) -> bool:
    """Whether `held` was read at `token` (what `token_column` gave in the caller's query)."""
    return held.token == token


def forget() -> None:
    """Drop what this process holds (the next use reads the tables again)."""
    _held.clear()
