"""Live events leave only after commit: the `page` unit of work publishes or drops them."""

from __future__ import annotations

import asyncio

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import channels, events
from fair.web.auth import database, page

CHANNEL = channels.user(999)


@page
async def _emits(request: Request) -> Response:
    events.emit(database(request), channel=CHANNEL, event="test.event", payload={"n": 1})
    return Response(status_code=int(request.query_params["status"]))


async def test_page_publishes_after_commit_and_drops_on_error(app) -> None:  # type: ignore[no-untyped-def]
    app.router.routes.append(Route("/_emits", _emits))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.state.broadcast.subscribe(CHANNEL) as queue,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        assert (await client.get("/_emits?status=422")).status_code == 422
        assert queue.empty()
        assert (await client.get("/_emits?status=200")).status_code == 200
        message = await asyncio.wait_for(queue.get(), 1)
    assert message == '["event","user:999",{"event":"test.event","n":1}]'
