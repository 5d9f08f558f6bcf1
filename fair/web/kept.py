"""What a page answered without a database session knows (issue 17), per app: the version of
an edition's public pages and what a page kept for candidates shows of its viewer.

fair.web.browsing `shared` serves a logged-in candidate the edition's page or its hall from
the page kept for every candidate, before any connection is taken, whether the edition's gate
is engaged (fair.web.gate `decide`) or not (fair.web.auth: issue 17, each of these pages took a
unit of work at an opening without a gate). What it needs beyond the session (the live hub's
cache) is here:

* the edition's public version (fair.public_version), kept `VERSION_SECONDS` (put by each page
  rendered the page's way, else read for the asks of a moment together, fair.together): a
  booth staffed, a queue joined, a talk started show on those pages that much later at most
  (the hall's and the edition's sockets show them live meanwhile);
* the viewer's unread notices (the header's link) and whether they take part in the edition
  (the landing page), kept `VIEWER_SECONDS` when they do (a registration is never undone; one
  who does not take part is read each time), read for the viewers of a moment together (one
  connection for them all). A page rendered the page's way puts the count it read
  (`heard_unread`: reading one's notices shows at once on the next page); a notice added
  meanwhile by another process shows on a kept page `VIEWER_SECONDS` later at most, and at
  once on a page open with its socket (fair.notices emits `notices.unread`).

* whether a held candidate is exempt from the line (fair.admission_gate `exempt`: an
  interview soon), for the held status and the pages decided before a connection is taken
  (fair.web.gate `exempt_now`), read for the candidates of a moment together and kept
  admission_gate.EXEMPT_SECONDS there.

Times are fair.clock's (tests move it).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import admission_gate, app_state, clock, notices, participants, public_version
from fair.models import User
from fair.together import Together, read_patiently
from fair.ttl_cache import TTLCache

VERSION_SECONDS = 2.0
VIEWER_SECONDS = 10.0
VIEWERS = 100_000  # viewers kept, at most


def _now() -> float:
    return clock.now().timestamp()


@dataclass(frozen=True, slots=True)
class Viewer:
    """What a page kept for candidates shows of its viewer in an edition."""

    unread: int  # notices
    registered: bool  # takes part in the edition


@dataclass(frozen=True, slots=True)
class _Known:
    unread: int
    registered: frozenset[int]  # editions they take part in, among those read


class Kept:
    """One app's (the module's docstring)."""

    def __init__(self, state: app_state.AppState) -> None:
        self._state = weakref.ref(state)
        self._versions: TTLCache[str, tuple[int, str]] = TTLCache(
            seconds=VERSION_SECONDS, size=1_000, clock=_now
        )
        self._viewers: TTLCache[int, _Known] = TTLCache(
            seconds=VIEWER_SECONDS, size=VIEWERS, clock=_now
        )
        self.version_reads: Together[str, tuple[int, str]] = Together(self._read_versions)
        self.viewer_reads: Together[tuple[int, int], Viewer] = Together(self._read_viewers)
        self.exempt_reads: Together[int, bool] = Together(self._read_exempt)

    def forget(self) -> None:
        """Read the versions and the viewers afresh on the next request (tests counting
        statements from cold: tests/statements.py)."""
        self._versions.clear()
        self._viewers.clear()

    def _app(self) -> app_state.AppState:
        state = self._state()
        if state is None:  # pragma: no cover - the app is gone with its requests
            raise RuntimeError("the app's state is gone")
        return state

    # Versions ---------------------------------------------------------------------------------

    async def version(self, slug: str) -> tuple[int, str] | None:
        """The edition's id and public version (fair.public_version.current), as known within
        VERSION_SECONDS, else read; None when no edition has that slug or version."""
        found = self._versions.get(slug)
        return found if found is not None else await self.version_reads.get(slug)

    def put_version(self, slug: str, found: tuple[int, str]) -> None:
        """The version a page just read the page's way."""
        self._versions.put(slug, found)

    async def _read_versions(self, slugs: list[str]) -> dict[str, tuple[int, str]]:
        async def read(session: AsyncSession) -> dict[str, tuple[int, str]]:
            found: dict[str, tuple[int, str]] = {}
            for slug in slugs:
                version = await public_version.current(session, slug)
                if version is not None:
                    found[slug] = version
            return found

        found = await read_patiently(
            self._app().read_sessions, read, what="kept pages: editions' versions"
        )
        for slug, version in found.items():
            self._versions.put(slug, version)
        return found

    # Viewers ----------------------------------------------------------------------------------

    async def viewer(self, user_id: int, edition_id: int) -> Viewer:
        """The candidate's unread notices and registration to the edition, as known within
        VIEWER_SECONDS, else read with the other viewers of the moment. Only taking part is
        kept: one who does not is read each time (they may join on any page, in any process)."""
        known = self._viewers.get(user_id)
        if known is not None and edition_id in known.registered:  # never undone
            return Viewer(known.unread, True)
        # Not taking part, as last read: read again (they may have just joined, anywhere).
        found = await self.viewer_reads.get((user_id, edition_id))
        if found is None:  # pragma: no cover - the read answers every key asked
            raise LookupError(user_id)
        return found

    def heard_unread(self, user_id: int, unread: int) -> None:
        """The unread count a page of theirs just read: kept pages show it from now on."""
        known = self._viewers.get(user_id)
        if known is not None and known.unread != unread:
            self._viewers.put(user_id, replace(known, unread=unread))

    async def _read_viewers(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], Viewer]:
        users = sorted({user for user, _ in keys})
        editions = frozenset(edition for _, edition in keys)

        async def read(session: AsyncSession) -> tuple[dict[int, int], list[tuple[int, int]]]:
            counts = await session.execute(
                select(User.id, notices.unread_of(User.id)).where(User.id.in_(users))
            )
            unread = {user: int(count or 0) for user, count in counts}
            return unread, await participants.registered_among(session, users, editions)

        unread, pairs = await read_patiently(
            self._app().read_sessions, read, what="kept pages: viewers"
        )
        registered: defaultdict[int, set[int]] = defaultdict(set)
        for user, edition in pairs:
            registered[user].add(edition)
        for user in users:
            self._viewers.put(user, _Known(unread.get(user, 0), frozenset(registered[user])))
        return {
            (user, edition): Viewer(unread.get(user, 0), edition in registered[user])
            for user, edition in keys
        }

    # Exemptions ------------------------------------------------------------------------------

    async def exempt(self, user_id: int) -> bool:
        """Whether the candidate is exempt now (admission_gate `exempt`), read with the other
        candidates asked at the same moment, each answer kept for admission_gate
        `exempt_known`."""
        return bool(await self.exempt_reads.get(user_id))

    async def _read_exempt(self, users: list[int]) -> dict[int, bool]:
        now = clock.now()
        found = await read_patiently(
            self._app().read_sessions,
            lambda session: admission_gate.exempt_among(session, users, now, keep=True),
            what="held candidates' exemption",
        )
        return {user: user in found for user in users}


_kept: weakref.WeakKeyDictionary[app_state.AppState, Kept] = weakref.WeakKeyDictionary()


def of(state: app_state.AppState) -> Kept:
    """The app's."""
    found = _kept.get(state)
    if found is None:
        found = _kept[state] = Kept(state)
    return found
