"""The booth hall, live: a visitor's socket on the edition's channel hears a booth become
staffed and its queue grow (the minimal payloads static/live.js applies to the cards), and the
page read again (what live.js does after a reconnection) shows the same. Through a real
server (SQLite, memory broadcaster)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest
import websockets

from fair import channels, clock, db, settings
from tests import factories as f
from tests.live_server import LoggedIn, Server
from tests.sockets import Client, socket_of


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> Iterator[None]:
    settings.override(server.conf)
    clock.set_now(None)
    yield


def card(html: str, booth_id: int) -> str:
    found = re.search(
        rf'<li class="card hall-card" data-booth-id="{booth_id}">(.*?)</li>', html, re.S
    )
    assert found, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


async def test_the_hall_hears_staffing_and_queues(server: Server, logged_in: LoggedIn) -> None:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            other, _ = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session)
            await session.commit()
            slug, edition_id, booth_id, name = (
                edition.slug,
                edition.id,
                booth.id,
                booth.employer.name,
            )
    finally:
        await engine.dispose()
    hall = f"{server.url}/e/{slug}/booths"
    async with httpx.AsyncClient() as visitor:
        page = (await visitor.get(hall)).text
    assert f'data-edition-id="{edition_id}"' in page
    assert card(page, booth_id) == (
        f"{name[:1].upper()} {name} Travaux de construction spécialisés Montpellier 0 offre"
        " Aucun recruteur pour le moment En attente : 0"
    )

    async with websockets.connect(server.ws, origin=server.url) as ws:  # not logged in
        watcher = Client(ws)
        try:
            channel = channels.edition(edition_id)
            assert await watcher.ok("subscribe", {"channel": channel}) == {"channel": channel}
            async with socket_of(server, await logged_in(recruiter)) as desk:
                await desk.ok("booth.staff", {"booth_id": booth_id})
                assert await watcher.event() == {
                    "event": "booth.staffing",
                    "booth_id": booth_id,
                    "staffed": True,
                    "waiting": 0,
                }
                async with socket_of(server, await logged_in(candidate)) as them:
                    await them.ok("queue.join", {"booth_id": booth_id})
                    assert await watcher.event() == {
                        "event": "booth.waiting",
                        "booth_id": booth_id,
                        "waiting": 1,
                    }
                    await watcher.nothing(0.2)  # nothing about the other booth, nothing more
                    async with httpx.AsyncClient() as visitor:
                        page = (await visitor.get(hall)).text
                    assert re.findall(
                        rf'data-booth-id="{booth_id}">.*?<p class="staffing" data-staffing="(\w+)">'
                        r'([^<]*)</p>\s*<p class="meta" data-waiting="(\d+)">([^<]*)</p>',
                        page,
                        re.S,
                    )[0] == ("staffed", "Recruteur présent", "1", "En attente : 1")
                    assert f'data-booth-id="{other.id}"' in page
            async with asyncio.timeout(3):  # the recruiter's socket closed
                assert await watcher.event() == {
                    "event": "booth.staffing",
                    "booth_id": booth_id,
                    "staffed": False,
                    "waiting": 1,
                }
        finally:
            await watcher.close()
