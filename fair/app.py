"""Assembly only: routes, middleware, exception handlers, and the lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, WebSocketRoute

from fair import api, db, geo, metrics, rome_suggest, settings, worker
from fair.app_state import AppState
from fair.broadcast import Broadcaster
from fair.errors import FairError
from fair.live import entry, socket
from fair.live import hub as live_hub
from fair.media.host import Host
from fair.media.remote import RemoteStages
from fair.page_cache import PageCache
from fair.search import terms as search_terms
from fair.tally import Tally
from fair.web import (
    accounts,
    activity,
    admin,
    admission,
    api_keys,
    branding,
    candidate,
    chat,
    compare,
    counsellor,
    dashboard,
    desk,
    embeds,
    errors,
    exports,
    feeds,
    health,
    images,
    interviews,
    landing,
    matches,
    my_fair,
    network,
    network_pool,
    ops,
    organiser,
    outcomes,
    panel,
    pool,
    privacy,
    public,
    recordings,
    recruiter,
    recruiter_profile,
    rooms,
    stage,
    structures,
    styleguide,
    surveys,
    webconferences,
    webhooks,
)
from fair.web.assets import Assets
from fair.web.middleware import BodyLimit, Locale, SecurityHeaders

log = logging.getLogger("fair")

# The garbage collector's thresholds while the app runs (Python's: 700, 10, 10). A young
# collection walks the containers made since the last one: at 20,000 of them it took 6 to 9 ms of
# CPU in a process serving searches (bench/search.py: one request in 28 paid it, and one in 280 a
# middle collection's 17 ms), at 2,000 0.4 ms (a middle one 2.5 ms), the same CPU in all. A full
# collection walks every object of the process but those start-up loaded (frozen by the lifespan:
# 300,000, which made it take 72 ms of CPU, 10 ms without them), 150 per open socket, and comes
# after 100 young ones, when the objects that survived since the last grew by a quarter (Python's
# rule): a surge of sockets (issue 17: 2,000 connecting to one server) makes it walk them a few
# times as they pile up, not the start-up's objects each time. Only cyclic garbage waits longer
# (reference counting frees the rest at once).
GC_THRESHOLDS = (2_000, 10, 10)


def create_app(conf: settings.Settings | None = None) -> Starlette:
    conf = conf or settings.get()
    settings.override(conf)

    state = AppState()  # typed app.state (fair.app_state)
    state.activity = Tally()  # page views counted in memory (fair.activity)
    state.pages = PageCache(seconds=conf.page_cache_seconds)  # fair.web.browsing

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        engine = db.configured_engine(conf)
        broadcast = Broadcaster(conf.broadcast_url, namespace=conf.broadcast_channel_namespace)
        state.set_up(engine, broadcast)
        media: Host | RemoteStages
        if conf.media_url:  # media rooms in `fair media` processes, reached through Redis
            media = state.stages = RemoteStages(conf, broadcast)
        else:  # media rooms in this process
            media = Host(broadcast)
            state.stages = media.stages
        try:
            await asyncio.to_thread(geo.load)  # 0.3 s of CPU, once: not on the event loop
            await asyncio.to_thread(search_terms.load)  # likewise, 0.25 s: the spelling's
            await broadcast.connect()  # BroadcastError: Redis unreachable at start-up
            if isinstance(media, RemoteStages):
                await media.connect()  # MediaError: likewise
        except BaseException:
            await broadcast.disconnect()
            await engine.dispose()
            raise
        # The embedded default runs the background loops here; scaled out, `fair worker` does.
        tasks = worker.start(state) if conf.background_tasks else []
        # Every web process writes its own page-view tally, and what is left when it stops.
        tasks.append(asyncio.create_task(worker.run_activity(state)))
        hub = live_hub.of(broadcast)
        hub.start(state)  # what the /live sockets share (fair.live.hub)
        state.sessions = hub  # its session cache, for pages too (fair.app_state.SessionCheck)
        thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        # What start-up loaded for good (the communes, the spelling's tables, the routes and
        # modules: 300,000 objects) out of the collector's walks: a full collection then
        # visits what requests made, not them (bench/search.py's p95).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # a test process starts many apps: what this one froze is walked again
            gc.set_threshold(*thresholds)
            await worker.stop(tasks)
            await live_hub.close(broadcast)
            await media.close()
            await broadcast.disconnect()
            await rome_suggest.settled()  # a check of the ROME index may be using the engine
            await engine.dispose()
            metrics.process_stopped()

    assets = Assets(conf.static_dir)
    routes = [
        # Reached through fair.live.entry.Shortcut, past the middleware; listed for url_for.
        WebSocketRoute("/live", socket.endpoint, name="live"),
        api.mount,  # /api/v1: the public JSON API, its own errors and OpenAPI document
        *images.routes,
        *landing.routes,
        *public.routes,
        *admission.routes,
        *feeds.routes,
        *branding.routes,
        *embeds.routes,
        *accounts.routes,
        *privacy.routes,
        *candidate.routes,
        *matches.routes,
        *pool.routes,
        *counsellor.routes,
        *structures.routes,
        *my_fair.routes,
        *recruiter.routes,
        *recruiter_profile.routes,
        *desk.routes,
        *interviews.routes,
        *chat.routes,
        *rooms.routes,
        *webconferences.routes,
        *webhooks.routes,
        *recordings.routes,
        *stage.routes,
        *organiser.routes,
        *dashboard.routes,
        *activity.routes,
        *compare.routes,
        *panel.routes,
        *surveys.routes,
        *health.routes,
        *api_keys.routes,
        *network.routes,
        *network_pool.routes,
        *exports.routes,
        *outcomes.routes,
        *admin.routes,
        *styleguide.routes,
        Mount("/static", assets, name="static"),
    ]
    # The pages' session cookie, which the sockets read too (fair.live.entry).
    cookie, max_age = "fair_session", 14 * 24 * 3600
    middleware = [
        # Outermost: a /live socket goes straight to its endpoint, with its session and language.
        Middleware(
            entry.Shortcut,
            path="/live",
            endpoint=socket.endpoint,
            secret_key=conf.secret_key,
            session_cookie=cookie,
            max_age=max_age,
        ),
        # Then /healthz, /readyz and /metrics answered before any session or header
        # work; every other request's id, count and latency (fair.web.ops).
        Middleware(ops.Operations),
        # Then the held status asked by the waiting page's script, answered past the rest
        # when it can (fair.web.admission: ~630 asks a second in a 10,000-candidate surge).
        Middleware(
            admission.Shortcut, secret_key=conf.secret_key, session_cookie=cookie, max_age=max_age
        ),
        Middleware(SecurityHeaders),
        # HTML, CSS, JS, JSON and CSV compressed; never partial (206) answers, video, images,
        # PDFs or XLSX files (zips already).
        Middleware(
            GZipMiddleware,
            compresslevel=6,
            exclude_content_types=(
                *DEFAULT_EXCLUDED_CONTENT_TYPES,
                "application/pdf",
                exports.XLSX,
            ),
        ),
        Middleware(Locale),
        Middleware(
            SessionMiddleware,
            secret_key=conf.secret_key,
            session_cookie=cookie,
            max_age=max_age,
            same_site="lax",
            https_only=conf.secure_cookies,
        ),
        Middleware(BodyLimit),  # inside the session: its 413 page knows who is asking
    ]
    handlers = {
        FairError: errors.fair_error,
        HTTPException: errors.http_error,
        PoolTimeout: errors.busy,  # every database connection taken: 503 with Retry-After
        db.Unreachable: errors.unavailable,  # PostgreSQL refused or silent: likewise
        DBAPIError: errors.database_error,  # a connection lost: likewise; else a 500
        TimeoutError: errors.database_error,  # PostgreSQL hung mid-statement: likewise; else 500
        Exception: errors.server_error,
    }
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state = state
    state.assets = assets  # templates' static() URLs (fair/web/templating.py)
    return app
