"""Operations (issue 17 item 5): `/healthz`, `/readyz` and `/metrics`, and each request's id and
metrics.

`Operations` is the outermost middleware. It answers the three endpoints itself, before any
other middleware: no session is read or written (no cookie set), no CSRF or rate limit applies,
no security-header or language work is done, and uvicorn's access log leaves them out
(fair.logs). Every other HTTP request gets its id (fair.logs.request_id, echoed in the answer's
X-Request-ID) and is counted: by method, route template and status, with its latency.

- `/healthz`: the process is alive (its event loop answers); no I/O at all.
- `/readyz`: the database answers, Redis too when BROADCAST_URL is Redis, and a `fair media`
  process is alive when FAIR_MEDIA_URL is set; each check within FAIR_READYZ_TIMEOUT seconds,
  all at once. 200 when all pass; 503 naming the failing ones otherwise, in JSON.
- `/metrics`: the Prometheus text (fair.metrics), for a request carrying FAIR_METRICS_TOKEN as
  a bearer token when that is set; without a token only for a request made on this host
  (a loopback peer, and no X-Forwarded-For, Forwarded or X-Real-IP: a request a local proxy
  relays is not local), and never without the token when FAIR_TRUSTED_PROXIES is set.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fair import admission, admission_gate, clock, db, logs, metrics, settings, timing
from fair.app_state import AppState

log = logging.getLogger("fair.web.ops")
Check = Callable[[AppState], Awaitable[None]]
LOOPBACK = {"127.0.0.1", "::1"}


async def _database(state: AppState) -> None:
    await db.ping(state.engine)


async def _redis(state: AppState) -> None:
    await state.broadcast.ping()


async def _media(state: AppState) -> None:
    if not await state.stages.alive():
        raise RuntimeError("no media process alive")


def checks(conf: settings.Settings) -> dict[str, Check]:
    """What /readyz checks with these settings."""
    found: dict[str, Check] = {"database": _database}
    if conf.broadcast_url.startswith(("redis://", "rediss://")):
        found["redis"] = _redis
    if conf.media_url:
        found["media"] = _media
    return found


async def _outcome(check: Check, state: AppState, seconds: float) -> str:
    try:
        await asyncio.wait_for(check(state), seconds)
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except Exception as exc:  # the failure is the answer; its class says which
        return f"failed: {type(exc).__name__}"
    return "ok"


async def healthz(scope: Scope) -> Response:
    return JSONResponse({"status": "alive"})


async def readyz(scope: Scope) -> Response:
    conf = settings.get()
    state = scope["app"].state
    found = checks(conf)
    outcomes = await asyncio.gather(
        *(_outcome(check, state, conf.readyz_timeout) for check in found.values())
    )
    results = dict(zip(found, outcomes, strict=True))
    failing = [name for name, outcome in results.items() if outcome != "ok"]
    if failing:
        log.warning("not ready: %s", results)
        body = {"status": "unavailable", "failing": failing, "checks": results}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready", "checks": results})


# The headers a proxy adds to say whom it relays (any one of them: not a request of this host).
FORWARDING = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def allowed(scope: Scope, token: str, *, proxied: bool = False) -> bool:
    """Whether this request may read /metrics (see the module's docstring). Behind a proxy
    (`proxied`: FAIR_TRUSTED_PROXIES set) only the token opens it: the proxy's own requests
    come from a local address, whatever headers it sends or forgets."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    if token:
        given = headers.get(b"authorization", b"").decode("latin-1")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    peer = (scope.get("client") or ("", 0))[0]
    return not proxied and peer in LOOPBACK and not any(h in headers for h in FORWARDING)


async def scrape(scope: Scope) -> Response:
    conf = settings.get()
    if not allowed(scope, conf.metrics_token, proxied=bool(conf.trusted_proxies)):
        error = {"code": "metrics.forbidden", "message": "Metrics are not public."}
        return JSONResponse({"error": error}, status_code=403)
    state: AppState = scope["app"].state
    try:
        async with state.read_sessions() as session:
            figures = await asyncio.wait_for(metrics.database_figures(session), conf.readyz_timeout)
            lines = await asyncio.wait_for(_admission(state, session), conf.readyz_timeout)
            figures.families += metrics.admission_families(lines)
    except Exception as exc:  # the process's own metrics are still worth serving
        log.warning("metrics: the database's figures are missing: %r", exc)
        figures = metrics.Figures([])
    return Response(metrics.exposition(figures), media_type=metrics.CONTENT_TYPE)


async def _admission(state: AppState, session: AsyncSession) -> list[metrics.AdmissionLine]:
    """The admission lines of the editions armed now (fair.admission), engaged or not; whether
    engaged is read as the gate reads it (admission_gate.pressure: what the next request of
    any process would learn), the wait as the last in line's page shows it (Line.last)."""
    now = clock.now()
    at = now.timestamp()
    line = admission_gate.line_of(state.broadcast.client(), state.broadcast.namespace)
    rows = []
    for gate in await admission_gate.armed(session, now):
        engaged = await admission_gate.pressure(line, gate, now)
        found = await line.figures(gate.edition_id, now=at, idle=gate.caps.idle)
        tokens = await line.tokens(gate.edition_id, now=at, caps=gate.caps)
        opens = gate.opens.timestamp()
        last = await line.last(gate.edition_id, now=at, opens=opens, caps=gate.caps)
        pace = admission.Place(
            False, found.waiting, found.waiting, False, found.admissions, found.span
        )
        rows.append(
            metrics.AdmissionLine(
                gate.edition_id,
                found.active,
                found.waiting,
                pace.rate,
                admission.line_wait(last, now=at, opens=opens),
                engaged,
                tokens,
                gate.caps.active,
                gate.caps.per_minute,
            )
        )
    return rows


ENDPOINTS: dict[str, Callable[[Scope], Awaitable[Response]]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": scrape,
}


def route_templates(routes: list[BaseRoute], prefix: str = "") -> dict[Any, str]:
    """Each endpoint's path template (a mounted app's, its mount path), the first one when an
    endpoint serves several."""
    found: dict[Any, str] = {}
    for route in routes:
        if isinstance(route, Mount):
            found.setdefault(route.app, prefix + route.path)
            found = {**route_templates(route.routes, prefix + route.path), **found}
        elif isinstance(route, Route | WebSocketRoute):
            found.setdefault(route.endpoint, prefix + route.path)
    return found


class Operations:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.templates: dict[Any, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = ENDPOINTS.get(scope["path"])
        if endpoint is not None:
            response = await endpoint(scope)
            await response(scope, receive, send)
            return
        await self._observed(scope, receive, send)

    async def _observed(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = logs.sane(given) or logs.new_id()
        token = logs.request_id.set(rid)
        spans = timing.begin()
        started = time.perf_counter()
        status = 500  # what the client gets when nothing was sent (the server's own answer)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Where its milliseconds went, so far (fair.timing): the standard header.
                took = timing.header((time.perf_counter() - started) * 1000)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", rid.encode()),
                    (b"server-timing", took),
                ]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = self._template(scope)
            metrics.REQUESTS.labels(scope["method"], route, str(status)).inc()
            metrics.LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
        # Reset only after a normal end: an unexpected error is logged by the app's handler of
        # them (Starlette's ServerErrorMiddleware), which sits outside every middleware, and
        # its line must carry the id too (the server's task for the request ends after it).
        logs.request_id.reset(token)
        timing.end(spans)

    def _template(self, scope: Scope) -> str:
        if self.templates is None:
            self.templates = route_templates(scope["app"].routes)
        return self.templates.get(scope.get("endpoint"), metrics.UNMATCHED)
