"""The unread count reaches the user's socket (tests/test_live.py's uvicorn server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fair import channels
from tests import factories as f
from tests.conftest import csrf, login
from tests.test_live import (  # noqa: F401  (fixtures: the server, its settings, its world)
    Server,
    World,
    _server_settings,
    connect,
    cookie_of,
    http,
    server,
    world,
)


async def test_the_count_reaches_the_socket(server: Server, world: World, http: Any) -> None:  # noqa: F811
    recruiter = http()
    await login(recruiter, world.recruiter.email, f.PASSWORD)
    candidate = http()
    cookie = await cookie_of(candidate, world.candidate)
    own = channels.user(world.candidate.id)
    page = f"/recruiter/applications/{world.application.id}"
    async with connect(server, cookie=cookie) as ws:
        await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
        assert json.loads(await asyncio.wait_for(ws.recv(), 2))[0] == "success"
        token = await csrf(recruiter, page)
        moved = await recruiter.post(
            f"{page}/status", data={"csrf_token": token, "status": "in_review"}
        )
        assert moved.status_code == 303
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 2)) for _ in "ab"]
        token = await csrf(candidate, "/me/notices")
        read = await candidate.post("/me/notices", data={"csrf_token": token})
        assert read.status_code == 303
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), 2)))
    assert [frame[2]["event"] for frame in frames] == [
        "application.status",
        "notices.unread",
        "notices.unread",
    ]
    assert [frame[2] for frame in frames[1:]] == [
        {"event": "notices.unread", "unread": 1},
        {"event": "notices.unread", "unread": 0},
    ]
