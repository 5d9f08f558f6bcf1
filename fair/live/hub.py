"""What the /live sockets of one process share, so that each socket costs little to open and
to hold (issue 17): the cached session check, the cached visibility of public channels, and
the few process-wide tasks that used to run once per socket.

* **Sessions** (`authenticate`): a socket's cookie is checked against the database once (the
  connects of a moment together, READ_BATCH sessions a read: a surge takes one connection of
  the pool, not all of them), then its session is kept in the process for CACHE_SECONDS (at
  most CACHE_SIZE sessions). A
  revocation (log-out, "log out everywhere", password reset, deactivation, any change of
  rights: fair.user_sessions.signal) is published on the deployment's accounts channel, which
  every process follows here: it drops the user's sessions from its cache at once, and its
  sockets of that user re-check theirs (fair.live.account_watch). Pub/sub may lose a message:
  a revoked session is refused at the latest CACHE_SECONDS later, and open sockets are
  re-checked every account_watch.RECHECK_SECONDS (one read per 500 sockets, not one each).
  Nothing is cached until the accounts channel is followed. A change is applied to the cache
  as soon as it is heard (a sink, not a queue: none waits behind a re-check, none is dropped
  from a full queue), the re-checks run in the background; a socket whose session was checked
  before a change of its account but that joins after it is re-checked at once (`join`).
* **Public channels** (`public`): an edition's, booth's or webconference's channel that
  everyone may follow (the pages show it to visitors) is remembered for CACHE_SECONDS, and the
  sockets asking at the same moment wait for one read, so that thousands of sockets
  subscribing to the hall's channel at opening read the database once, not once each until
  the first answer (which emptied the pool: `server.busy` to the rest).
* **Rounds**: one task re-checks the sockets' sessions and refreshes the open sockets register
  (fair.live.limits), one follows the sockets-closing notices. Heartbeats are a timer per
  socket (a callback, not a task: `Connection`).

A `Hub` belongs to a broadcaster (one per app); the app's lifespan closes it (`close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import time
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from fair import admission, admission_gate, app_state, channels, clock, tokens, user_sessions
from fair.broadcast import Broadcaster
from fair.live import account_watch, limits
from fair.models import User, UserSession

if TYPE_CHECKING:  # socket.py imports this module
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")

CACHE_SECONDS = 30.0
CACHE_SIZE = 100_000
READ_BATCH = 500  # sessions read at once
OPENING_SECONDS = 0.01  # sockets opened (closed) within this are (un)registered in one round trip
CHANGED_SECONDS = 2 * account_watch.RECHECK_SECONDS  # account changes remembered (`join`)
CHANGED_SIZE = 100_000  # at most
CLOSE_LAPSED = 1013  # "try again later": a candidate's admission lapsed (`keep_admitted`)


@dataclass(slots=True)
class Known:
    """A session found to hold: its user (detached; each socket gets a copy) and its id."""

    user: User
    session_id: int
    expires: float


class SessionCache:
    """Sessions by the digest of their cookie's key, the oldest dropped first when full."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = CACHE_SIZE) -> None:
        self.seconds, self.size = seconds, size
        self._known: OrderedDict[str, Known] = OrderedDict()
        self._by_user: defaultdict[int, set[str]] = defaultdict(set)

    def get(self, digest: str) -> Known | None:
        found = self._known.get(digest)
        if found is not None and found.expires <= time.monotonic():
            self._drop(digest)
            return None
        return found

    def put(self, digest: str, user: User, session_id: int, *, left: float = math.inf) -> None:
        """Cache a session for `seconds`, or the `left` seconds it has before it expires."""
        self._drop(digest)
        until = time.monotonic() + min(self.seconds, left)
        self._known[digest] = Known(user, session_id, until)
        self._by_user[user.id].add(digest)
        while len(self._known) > self.size:
            self._drop(next(iter(self._known)))

    def forget_user(self, user_id: int) -> None:
        for digest in list(self._by_user.get(user_id, ())):
            self._drop(digest)

    def clear(self) -> None:
        self._known.clear()
        self._by_user.clear()

    def __len__(self) -> int:
        return len(self._known)

    def _drop(self, digest: str) -> None:
        found = self._known.pop(digest, None)
        if found is None:
            return
        mine = self._by_user.get(found.user.id)
        if mine is not None:
            mine.discard(digest)
            if not mine:
                del self._by_user[found.user.id]


def copy_user(user: User) -> User:
    """A detached copy of `user`: sockets never share one ORM instance, which a command's
    session could otherwise attach while another socket's command uses it. Built from the
    loaded columns without the constructor's attribute events (12 us, not 37)."""
    fresh = _USER_CLASS.new_instance()
    fresh.__dict__.update({key: user.__dict__[key] for key in _USER_COLUMNS})
    make_transient_to_detached(fresh)
    return fresh


_USER_CLASS = inspect(User).class_manager
_USER_COLUMNS = [attr.key for attr in inspect(User).column_attrs]


class Hub:
    """The sockets of one process and what they share (the module's docstring)."""

    def __init__(self, broadcast: Broadcaster) -> None:
        self.broadcast = broadcast
        self.sessions = SessionCache()
        self.public: OrderedDict[str, float] = OrderedDict()  # channel: until when
        self._checking: dict[str, asyncio.Task[bool]] = {}  # public channels being read
        self.watched: defaultdict[int, set[Connection]] = defaultdict(set)  # by user id
        self.by_id: dict[str, Connection] = {}  # by connection id
        self.listening = False  # the accounts channel is followed: the cache may be used
        self.changes = 0  # account changes heard so far
        self._state: app_state.AppState | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._chores: set[asyncio.Task[Any]] = set()
        self._lookups: defaultdict[str, list[asyncio.Future[tuple[User, int] | None]]] = (
            defaultdict(list)
        )  # sessions to read, by digest: the connects waiting for each
        self._reading = False  # a task reads them
        self._opening: list[Connection] = []  # sockets opened since the last registration
        self._closing: list[Connection] = []  # and closed
        # Account changes heard lately, by user id: the value of `changes` then (a socket
        # checked before that and joining after is re-checked); every change, once anything may
        # have been missed (a resync); and the highest forgotten (old, or past CHANGED_SIZE).
        self._changed: OrderedDict[int, tuple[int, float]] = OrderedDict()
        self._resynced = 0
        self._forgotten = 0
        self._due: set[int] = set()  # users whose sockets here are to be re-checked
        self._due_all = False  # every socket here is
        self._rechecking = False  # a task re-checks them

    # Sessions -----------------------------------------------------------------------------

    async def authenticate(
        self, state: app_state.AppState, cookie: dict[str, Any]
    ) -> tuple[User, int] | None:
        """The user of the session cookie and their session's id, if it holds: from the
        cache, else one read (then cached)."""
        self.start(state)
        key = cookie.get("sid")
        if not isinstance(key, str) or not key:
            return None
        digest = tokens.digest(key)
        known = self.sessions.get(digest)
        if known is not None:
            return copy_user(known.user), known.session_id
        found = await self._look_up(state, digest)
        if found is None:
            cookie.pop("sid", None)
        return found

    async def _look_up(self, state: app_state.AppState, digest: str) -> tuple[User, int] | None:
        """Wait for the session's read: one read for the sockets of a moment (a surge of
        connects takes one database connection, not one each from a pool they would empty)."""
        waiting: asyncio.Future[tuple[User, int] | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._lookups[digest].append(waiting)
        if not self._reading:
            self._reading = True
            self.spawn(self._read_sessions(state))
        return await waiting

    async def _read_sessions(self, state: app_state.AppState) -> None:
        try:
            while self._lookups:
                batch = dict(itertools.islice(self._lookups.items(), READ_BATCH))
                for digest in batch:
                    del self._lookups[digest]
                try:
                    found = await self._read(state, list(batch))
                except Exception as exc:  # each connect answers it (the database unreachable)
                    for waiting in itertools.chain.from_iterable(batch.values()):
                        if not waiting.done():
                            waiting.set_exception(exc)
                    continue
                for digest, waiters in batch.items():
                    self._settle(digest, waiters, found.get(digest))
        finally:
            self._reading = False

    def _settle(
        self,
        digest: str,
        waiters: list[asyncio.Future[tuple[User, int] | None]],
        found: tuple[User, UserSession] | None,
    ) -> None:
        """Answer the connects waiting for this session (each its own copy of the user), and
        cache it."""
        if found is None:
            for waiting in waiters:
                if not waiting.done():  # its connect may have given up
                    waiting.set_result(None)
            return
        user, record = found
        if self.listening:
            left = user_sessions.seconds_left(record, clock.now())
            self.sessions.put(digest, copy_user(user), record.id, left=left)
        for i, waiting in enumerate(waiters):  # the user as read for the first, then copies
            if not waiting.done():
                waiting.set_result((user if i == 0 else copy_user(user), record.id))

    async def _read(
        self, state: app_state.AppState, digests: list[str]
    ) -> dict[str, tuple[User, UserSession]]:
        changes = -1
        while changes != self.changes:  # an account changed during the read: read again
            changes = self.changes
            async with state.read_sessions() as session:
                found = await user_sessions.find_many(session, digests)
        return found

    # Public channels ----------------------------------------------------------------------

    async def everyone_sees(self, channel: str, read: Callable[[], Awaitable[bool]]) -> bool:
        """Whether everyone may follow `channel`: remembered for CACHE_SECONDS when so, else
        `read`; the sockets asking while it reads wait for its answer (one read for all)."""
        if self.visible_to_all(channel):
            return True
        reading = self._checking.get(channel)
        if reading is None:
            reading = asyncio.create_task(self._read_public(channel, read))
            self._checking[channel] = reading
        # Shielded: a socket that leaves meanwhile does not cancel the others' answer.
        return await asyncio.shield(reading)

    async def _read_public(self, channel: str, read: Callable[[], Awaitable[bool]]) -> bool:
        try:
            public = await read()
        finally:
            del self._checking[channel]
        if public:
            self.remember_public(channel)
        return public

    def visible_to_all(self, channel: str) -> bool:
        """Whether `channel` was found visible to everyone less than CACHE_SECONDS ago."""
        until = self.public.get(channel)
        if until is None:
            return False
        if until <= time.monotonic():
            del self.public[channel]
            return False
        return True

    def remember_public(self, channel: str) -> None:
        self.public[channel] = time.monotonic() + CACHE_SECONDS
        self.public.move_to_end(channel)
        while len(self.public) > CACHE_SIZE:
            self.public.popitem(last=False)

    # Sockets ------------------------------------------------------------------------------

    def join(self, conn: Connection, checked: int | None = None) -> None:
        """Follow `conn`; `checked`: the value of `changes` before its session was checked
        (its account changed since: re-checked at once, the re-check of that change having
        missed it)."""
        self.by_id[conn.connection_id] = conn
        if conn.user is not None and conn.session_id is not None:
            self.watched[conn.user.id].add(conn)
            if checked is not None and self._changed_since(conn.user.id, checked):
                self._recheck_soon(conn.user.id)
            if not self._opening:  # the first of a moment: register those of this moment
                self.spawn(self._open_sockets())
            self._opening.append(conn)

    def leave(self, conn: Connection) -> None:
        self.by_id.pop(conn.connection_id, None)
        if conn.user is None:
            return
        if not self._closing:  # the first of a moment: unregister those of this moment
            self.spawn(self._close_sockets())
        self._closing.append(conn)
        mine = self.watched.get(conn.user.id)
        if mine is not None and conn in mine:
            mine.discard(conn)
            if not mine:
                del self.watched[conn.user.id]

    async def _open_sockets(self) -> None:
        await asyncio.sleep(OPENING_SECONDS)
        opening, self._opening = self._opening, []
        await limits.open_sockets(self.broadcast, [c for c in opening if not c.ended.done()])

    async def _close_sockets(self) -> None:
        await asyncio.sleep(OPENING_SECONDS)
        closing, self._closing = self._closing, []
        await limits.close_sockets(self.broadcast, closing)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` in the background, kept referenced until it ends."""
        task = asyncio.create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    # The process-wide tasks ---------------------------------------------------------------

    def start(self, state: app_state.AppState) -> None:
        """Start following the accounts and sockets channels, and the rounds (once)."""
        if self._tasks:
            return
        self._state = state
        self._tasks = [
            asyncio.create_task(self._follow_accounts()),
            asyncio.create_task(self._follow_closing()),
            asyncio.create_task(self._rounds()),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._chores]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._chores, return_exceptions=True)
        self._tasks = []
        self.listening = False
        self.sessions.clear()

    async def _follow_accounts(self) -> None:
        async with self.broadcast.listen(channels.ACCOUNTS, self._account_changed):
            self.listening = True
            try:
                await asyncio.Event().wait()  # until stopped
            finally:
                self.listening = False

    def _account_changed(self, frame: str) -> None:
        """A change heard (in the broadcaster's reading task: never waits): the cache forgets
        at once, the sockets are re-checked in the background."""
        self.changes += 1
        user_id = _field(frame, "user_id")
        if not isinstance(user_id, int):  # a resync: anything may have been missed
            self.sessions.clear()
            self.public.clear()
            self._resynced = self.changes
            self._due_all = True
        else:
            self.sessions.forget_user(user_id)
            self._remember_change(user_id)
            if user_id in self.watched:
                self._due.add(user_id)
        self._start_rechecks()

    def _remember_change(self, user_id: int) -> None:
        now = time.monotonic()
        self._changed[user_id] = (self.changes, now)
        self._changed.move_to_end(user_id)
        while self._changed:
            first = next(iter(self._changed.values()))
            if len(self._changed) <= CHANGED_SIZE and first[1] > now - CHANGED_SECONDS:
                break
            self._forgotten = max(self._forgotten, self._changed.popitem(last=False)[1][0])

    def _changed_since(self, user_id: int, checked: int) -> bool:
        found = self._changed.get(user_id)
        return max(self._resynced, self._forgotten, found[0] if found else 0) > checked

    def _recheck_soon(self, user_id: int) -> None:
        self._due.add(user_id)
        self._start_rechecks()

    def _start_rechecks(self) -> None:
        if not self._rechecking and self._state is not None:
            self._rechecking = True
            self.spawn(self._run_rechecks())

    async def _run_rechecks(self) -> None:
        """Re-check the sockets of the accounts changed, those that change meanwhile next."""
        try:
            while self._due or self._due_all:
                if self._due_all:
                    conns = [c for mine in self.watched.values() for c in mine]
                else:
                    conns = [c for u in self._due for c in self.watched.get(u, ())]
                self._due, self._due_all = set(), False
                await self._recheck(conns)
        finally:
            self._rechecking = False

    async def _follow_closing(self) -> None:
        async with self.broadcast.subscribe(channels.SOCKETS) as queue:
            while True:
                ids = _field(await queue.get(), "close")
                for id_ in ids if isinstance(ids, list) else []:
                    conn = self.by_id.get(str(id_))
                    if conn is not None:
                        conn.end(limits.CLOSE_TOO_MANY)

    async def _rounds(self) -> None:
        """Every REFRESH_SECONDS, refresh the register; every RECHECK_SECONDS, re-check."""
        checked = time.monotonic()
        while True:
            await asyncio.sleep(limits.REFRESH_SECONDS)
            await limits.refresh(self.broadcast, list(self.by_id.values()))
            await self.keep_admitted()
            if time.monotonic() - checked >= account_watch.RECHECK_SECONDS:
                checked = time.monotonic()
                await self._recheck([c for mine in self.watched.values() for c in mine])

    async def keep_admitted(self) -> None:
        """An open socket is an active candidate: the line is told so (one batch an armed
        edition), and a socket whose place lapsed or went to the next in line is closed with
        "try again later" (the reconnect, then the candidate's pages, wait in line). Sockets
        opened while the gate was not engaged (`Connection.uncounted`) are counted in first,
        with one read of whose registrations they are: they are in, whatever the gate is now
        (closing them all as it engages would bring them back at once, at the worst moment);
        whether that engages the gate is then known in this process at once.
        With the line or the database out of reach, nobody is closed (fail open, as pages do)."""
        live = [c for c in self.by_id.values() if c.user is not None and not c.ended.done()]
        uncounted = [c for c in live if c.uncounted]
        if not any(c.admission is not None for c in live) and not uncounted:
            return
        if self._state is None:
            return
        now = clock.now()
        line = admission_gate.line_of(self.broadcast.client(), self.broadcast.namespace)
        try:
            async with self._state.read_sessions() as session:
                gates = {g.edition_id: g for g in await admission_gate.armed(session, now)}
                users = {c.user.id for c in uncounted if c.user is not None}
                found = await admission_gate.registered(session, users, list(gates.values()))
            await self._count_in(line, uncounted, found, now)
            by_edition: defaultdict[int, list[Connection]] = defaultdict(list)
            for conn in live:
                if conn.admission is not None:
                    by_edition[conn.admission].append(conn)
            for edition_id, conns in by_edition.items():
                gate = gates.get(edition_id)
                if gate is None:  # no longer armed: nothing to keep
                    continue
                users = {c.user.id for c in conns if c.user is not None}
                gone = await line.keep(edition_id, users, now=now.timestamp(), idle=gate.caps.idle)
                for conn in conns:
                    if conn.user is not None and conn.user.id in gone:
                        conn.end(CLOSE_LAPSED)
        except Exception as exc:  # the round goes on
            log.warning("live: admission places not kept this round: %r", exc)

    async def _count_in(
        self,
        line: admission.Line,
        conns: list[Connection],
        found: dict[int, admission_gate.Gate],
        now: datetime,
    ) -> None:
        """The uncounted sockets' candidates active in the armed edition they are registered
        to (one batch an edition); then kept as any socket let in."""
        by_edition: defaultdict[int, set[int]] = defaultdict(set)
        for conn in conns:
            if conn.user is not None and conn.user.id in found:
                by_edition[found[conn.user.id].edition_id].add(conn.user.id)
        gates = {g.edition_id: g for g in found.values()}
        for edition_id, users in by_edition.items():
            await line.count_in(edition_id, users, now=now.timestamp())
            # Known here at once: the next sockets may have to wait
            await admission_gate.pressure(line, gates[edition_id], now)
        for conn in conns:  # counted (or registered to none of the armed editions)
            gate = found.get(conn.user.id) if conn.user is not None else None
            conn.admission = gate.edition_id if gate is not None else None
            conn.uncounted = False

    async def _recheck(self, conns: list[Connection]) -> None:
        if conns and self._state is not None:
            await account_watch.recheck(self._state, conns)


def _field(frame: str, name: str) -> Any:
    """`name` from an event frame's payload (`["event", channel, {...}]`) or a notice's
    object; None when the frame has none (a resync)."""
    with contextlib.suppress(ValueError, TypeError, AttributeError, IndexError, KeyError):
        data = json.loads(frame)
        return (data[2] if isinstance(data, list) else data).get(name)
    return None


_hubs: weakref.WeakKeyDictionary[Broadcaster, Hub] = weakref.WeakKeyDictionary()


def of(broadcast: Broadcaster) -> Hub:
    """The hub of this broadcaster's app (one per app in the process)."""
    found = _hubs.get(broadcast)
    if found is None:
        found = _hubs[broadcast] = Hub(broadcast)
    return found


async def close(broadcast: Broadcaster) -> None:
    """Stop the hub of this broadcaster, if it was started (the app's lifespan, at the end)."""
    found = _hubs.pop(broadcast, None)
    if found is not None:
        await found.stop()
