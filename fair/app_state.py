"""The app's long-lived resources, typed: what the lifespan opens and closes, what every route,
socket and background loop reads.

Starlette keeps them on `app.state`, a `State` whose attributes are untyped. fair's app state is
an `AppState` (fair/app.py makes it one), which declares them; `of(request_or_websocket)` hands
a boundary that state, typed. The worker process has no app and no media rooms: it sets up
`Resources` (the engine, its sessions and the broadcaster), and the background loops take
those, so the same loops run inside the web process on its `AppState`.

Infrastructure, below the boundaries: web/, live/ and the worker read it; only app.py fills it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State
from starlette.requests import HTTPConnection

from fair import db
from fair.broadcast import Broadcaster
from fair.media_rooms import MediaRooms
from fair.models import User
from fair.page_cache import PageCache
from fair.tally import Tally


class SessionCheck(Protocol):
    """Who a session cookie belongs to, from the live hub's cache (fair.live.hub.Hub: one read
    for the asks and sockets of a moment, revocations heard at once): put here by fair/app.py so
    that a page (fair.web.admission's held status) uses it without importing the live boundary."""

    async def authenticate(
        self, state: AppState, cookie: dict[str, Any]
    ) -> tuple[User, int] | None: ...


class AssetUrls(Protocol):
    """The static files' URLs (fair.web.assets.Assets): `url("site.css")`."""

    def url(self, name: str) -> str: ...


# How many requests of a process may hold a second, spare read connection at once (fair.web.auth
# `spare_session`): fewer than the pool holds, so requests waiting for a spare one while holding
# their own can never take every connection and wait for each other.
SPARE_READS = 2


class Resources(State):
    """The database engine, its read and write sessions, and the broadcaster."""

    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    broadcast: Broadcaster
    spare_reads: asyncio.Semaphore

    def set_up(self, engine: AsyncEngine, broadcast: Broadcaster) -> None:
        """Use `engine` (its read and write sessions, fair.db) and `broadcast`."""
        self.engine = engine
        self.read_sessions = db.sessionmaker(engine)
        self.write_sessions = db.sessionmaker(engine, write=True)
        self.broadcast = broadcast
        self.spare_reads = asyncio.Semaphore(SPARE_READS)


class AppState(Resources):
    """The web app's state: the resources, its media rooms, its static files, this
    process's tally of page views not yet written (fair.activity) and its short cache of
    public pages (fair.web.browsing)."""

    stages: MediaRooms  # fair.media.stage.Stages, or fair.media.remote.RemoteStages
    assets: AssetUrls
    activity: Tally
    pages: PageCache
    sessions: SessionCheck  # the live hub's (fair/app.py)


def of(connection: HTTPConnection) -> AppState:
    """The state of the app serving this request or socket."""
    state = connection.app.state
    if not isinstance(state, AppState):  # only fair.app.create_app serves fair's routes
        raise TypeError(f"the app's state is a {type(state).__name__}, not an AppState")
    return state
