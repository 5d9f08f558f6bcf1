"""Assembly only: routes, middleware, exception handlers, and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles

from fair import db, settings, worker
from fair.errors import FairError
from fair.live import socket
from fair.live.broadcast import Broadcaster
from fair.media.host import Host
from fair.media.remote import RemoteStages
from fair.web import (
    accounts,
    admin,
    candidate,
    chat,
    desk,
    errors,
    interviews,
    organiser,
    public,
    recordings,
    recruiter,
    rooms,
    stage,
    webconferences,
)
from fair.web.middleware import Locale, SecurityHeaders

log = logging.getLogger("fair")


def create_app(conf: settings.Settings | None = None) -> Starlette:
    conf = conf or settings.get()
    settings.override(conf)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = db.create_engine(conf.database_url)
        app.state.engine = engine
        app.state.read_sessions = db.sessionmaker(engine)
        app.state.write_sessions = db.sessionmaker(engine, write=True)
        app.state.broadcast = Broadcaster(conf.broadcast_url)
        if conf.media_url:  # media rooms in `fair media` processes, reached through Redis
            app.state.media_host = None
            app.state.stages = RemoteStages(conf)
        else:  # media rooms in this process
            app.state.media_host = Host(app.state.broadcast)
            app.state.stages = app.state.media_host.stages
        try:
            await app.state.broadcast.connect()  # BroadcastError: Redis unreachable at start-up
            if conf.media_url:
                await app.state.stages.connect()  # MediaError: likewise
        except BaseException:
            await app.state.broadcast.disconnect()
            await engine.dispose()
            raise
        # The embedded default runs the background loops here; scaled out, `fair worker` does.
        tasks = worker.start(app.state, engine) if conf.background_tasks else []
        try:
            yield
        finally:
            await worker.stop(tasks)
            await (app.state.media_host or app.state.stages).close()
            await app.state.broadcast.disconnect()
            await engine.dispose()

    routes = [
        *public.routes,
        *accounts.routes,
        *candidate.routes,
        *recruiter.routes,
        *desk.routes,
        *interviews.routes,
        *chat.routes,
        *rooms.routes,
        *webconferences.routes,
        *recordings.routes,
        *stage.routes,
        *organiser.routes,
        *admin.routes,
        WebSocketRoute("/live", socket.endpoint, name="live"),
        Mount("/static", StaticFiles(directory=conf.static_dir), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(Locale),
        Middleware(
            SessionMiddleware,
            secret_key=conf.secret_key,
            session_cookie="fair_session",
            max_age=14 * 24 * 3600,
            same_site="lax",
            https_only=conf.secure_cookies,
        ),
    ]
    handlers = {
        FairError: errors.fair_error,
        HTTPException: errors.http_error,
        Exception: errors.server_error,
    }
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=handlers,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
