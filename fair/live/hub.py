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
  the first answer (which emptied the pool: `server.busy` to the rest). A channel that stops
  being public (a booth declined after its approval, and its talks) is forgotten at once: the
  change is published on the deployment's hidden channel, which every process follows here
  (a read under way then is not remembered). Pub/sub may lose it: the channel is then public
  here CACHE_SECONDS at most (the pages see the change at once).
* **Rounds**: one task re-checks the sockets' sessions and refreshes the open sockets register
  (fair.live.limits), one follows the sockets-closing notices. The sockets opened (closed) within
  OPENING_SECONDS are (un)registered together; these rounds and the refresh update the register
  one at a time, each with the sockets here when it starts: a socket's entry is never written
  after its leave took it off (two rounds' calls in flight at once could: a socket of a
  round's later chunk, closed meanwhile, was listed after it left, until STALE_SECONDS).
  Heartbeats are a timer per socket (a callback, not a task: `Connection`).

A `Hub` belongs to a broadcaster (one per app); the app's lifespan closes it (`close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import logging
import math
import time
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from fair import (
    admission,
    admission_gate,
    app_state,
    channels,
    clock,
    logs,
    tokens,
    user_sessions,
)
from fair.broadcast import Broadcaster
from fair.live import account_watch, admitted, limits
from fair.models import User, UserSession
from fair.together import read_patiently
from fair.ttl_cache import TTLCache

if TYPE_CHECKING:  # socket.py imports this module
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")

CACHE_SECONDS = 30.0
CACHE_SIZE = 100_000
READ_BATCH = 500  # sessions read at once
OPENING_SECONDS = 0.01  # sockets opened (closed) within this are (un)registered in one round trip
CHANGED_SECONDS = 2 * account_watch.RECHECK_SECONDS  # account changes remembered (`join`)
CHANGED_SIZE = 100_000  # at most


@dataclass(slots=True)
class Known:
    """A session found to hold: its user (detached; each socket gets a copy) and its id."""

    user: User
    session_id: int


class SessionCache:
    """Sessions by the digest of their cookie's key, the least recently used dropped first
    when full."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = CACHE_SIZE) -> None:
        self._known: TTLCache[str, Known] = TTLCache(
            seconds=seconds, size=size, on_drop=self._dropped
        )
        self._by_user: defaultdict[int, set[str]] = defaultdict(set)

    def get(self, digest: str) -> Known | None:
        return self._known.get(digest)

    def put(self, digest: str, user: User, session_id: int, *, left: float = math.inf) -> None:
        """Cache a session for `seconds`, or the `left` seconds it has before it expires."""
        self._known.put(digest, Known(user, session_id), seconds=left)
        self._by_user[user.id].add(digest)

    def forget_user(self, user_id: int) -> None:
        for digest in list(self._by_user.get(user_id, ())):
            self._known.pop(digest)

    def clear(self) -> None:
        self._known.clear()
        self._by_user.clear()

    def __len__(self) -> int:
        return len(self._known)

    def _dropped(self, digest: str, found: Known) -> None:
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
        self.public: TTLCache[str, bool] = TTLCache(seconds=CACHE_SECONDS, size=CACHE_SIZE)
        self.hidings = 0  # notices of channels hidden heard so far (`forget_public`)
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
        # One update of the open sockets register at a time (rounds of opened, closed and
        # refreshed sockets): a socket's entry is never written after it was taken off, as
        # the calls of two rounds in flight together could do (the open sockets register:
        # fair.live.limits; `_open_sockets`).
        self._registering = asyncio.Lock()
        # Account changes heard lately, by user id: the value of `changes` then (a socket
        # checked before that and joining after is re-checked); every change, once anything may
        # have been missed (a resync); and the highest forgotten (old, or past CHANGED_SIZE).
        self._changed: OrderedDict[int, tuple[int, float]] = OrderedDict()
        self._resynced = 0
        self._forgotten = 0
        self.admitted = admitted.Keeper()  # the admission line's side of the sockets
        self._due: set[int] = set()  # users whose sockets here are to be re-checked
        self._due_all = False  # every socket here is
        self._rechecking = False  # a task re-checks them
        self._line: tuple[object, admission.Line] | None = None  # (Redis client, its line)

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
            # The connects of a moment, not only those of this turn of the loop: a read costs
            # four round trips to the database (ping, begin, select, rollback) however many it
            # reads.
            await asyncio.sleep(OPENING_SECONDS)
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
            found = await read_patiently(
                state.read_sessions,
                lambda session: user_sessions.find_many(session, digests),
                what="live: sockets' sessions",
            )
        return found

    def line(self) -> admission.Line:
        """The deployment's admission line (`admission_gate.line_of`), made once for the
        broadcaster's client, not once a connect (each makes three scripts, a SHA1 each)."""
        client = self.broadcast.client()
        if self._line is None or self._line[0] is not client:
            self._line = (client, admission_gate.line_of(client, self.broadcast.namespace))
        return self._line[1]

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
        hidings = self.hidings
        try:
            public = await read()
        finally:
            del self._checking[channel]
        if public and hidings == self.hidings:  # else perhaps read before a change it missed
            self.remember_public(channel)
        return public

    def visible_to_all(self, channel: str) -> bool:
        """Whether `channel` was found visible to everyone less than CACHE_SECONDS ago."""
        return self.public.get(channel) is not None

    def forget_public(self, frame: str) -> None:
        """Channels hidden (a notice on the hidden channel: `channels.HIDDEN`), or anything
        (a resync: some may have been missed): no longer taken as public."""
        self.hidings += 1
        names = _field(frame, "channels")
        if not isinstance(names, list):
            self.public.clear()
            return
        for name in names:
            if isinstance(name, str):
                self.public.pop(name)

    def remember_public(self, channel: str) -> None:
        self.public.put(channel, True)

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
        async with self._registering:
            opening, self._opening = self._opening, []
            # Only those still here (`leave` took the others off `by_id`, and queued them to
            # be unregistered by a round that waits for this one).
            here = [c for c in opening if self.by_id.get(c.connection_id) is c]
            await limits.open_sockets(self.broadcast, here)

    async def _close_sockets(self) -> None:
        await asyncio.sleep(OPENING_SECONDS)
        async with self._registering:
            closing, self._closing = self._closing, []
            await limits.close_sockets(self.broadcast, closing)

    async def _refresh(self) -> None:
        async with self._registering:  # those here now, none unregistered meanwhile
            await limits.refresh(self.broadcast, list(self.by_id.values()))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` in the background, kept referenced until it ends; its log lines carry no
        socket's request id (the sockets of a moment share it)."""
        task = asyncio.create_task(work, context=_shared())
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    # The process-wide tasks ---------------------------------------------------------------

    def start(self, state: app_state.AppState) -> None:
        """Start following the accounts and sockets channels, and the rounds (once)."""
        if self._tasks:
            return
        self._state = state
        context = _shared()  # not the request id of the socket that starts them
        self._tasks = [
            asyncio.create_task(self._follow_accounts(), context=context),
            asyncio.create_task(self._follow_closing(), context=context.copy()),
            asyncio.create_task(self._rounds(), context=context.copy()),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._chores]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._chores, return_exceptions=True)
        self._tasks = []
        self.listening = False
        self.sessions.clear()

    async def _follow_accounts(self) -> None:
        async with (
            self.broadcast.listen(channels.ACCOUNTS, self._account_changed),
            self.broadcast.listen(channels.HIDDEN, self.forget_public),
        ):
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
            await self._refresh()
            await self.keep_admitted()
            if time.monotonic() - checked >= account_watch.RECHECK_SECONDS:
                checked = time.monotonic()
                await self._recheck([c for mine in self.watched.values() for c in mine])

    async def keep_admitted(self) -> None:
        """The admission line told of this process's open sockets (fair.live.admitted)."""
        if self._state is not None:
            await self.admitted.keep(self._state, self.broadcast, list(self.by_id.values()))

    async def _recheck(self, conns: list[Connection]) -> None:
        if conns and self._state is not None:
            await account_watch.recheck(self._state, conns)


def _shared() -> contextvars.Context:
    """The current context without a request id: for the work of every socket of a process."""
    context = contextvars.copy_context()
    context.run(logs.request_id.set, logs.NONE)
    return context


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
