"""An API request whose pooled connection PostgreSQL ended before its first statement (fair.db
`lost_unused`) is answered again, once, on another connection (fair.api.core `_run`, through
fair.db `again`): it was the 503 "briefly unavailable". The key is counted in Redis only once
its look-up, the first statement, was answered: a request asked again is counted once, a
write written once. The connection is ended for real (tests/lost_connection.py)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from sqlalchemy import func, select

from fair import clock, db
from fair.app import create_app
from fair.enums import ApiScope
from fair.models import Offer
from tests import factories as f
from tests.lost_connection import ending
from tests.partner_keys import bearer, key

pytestmark = pytest.mark.postgresql_only

API = "/api/v1"
REDIS = "redis://127.0.0.1:6379/0"


@pytest_asyncio.fixture
async def shared(conf: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient, aioredis.Redis]]:
    """The app counting keys' requests in the real Redis (a namespace of its own), a client."""
    namespace = f"fair-test-{secrets.token_hex(4)}"
    web = create_app(replace(conf, broadcast_url=REDIS, broadcast_namespace=namespace))
    redis = aioredis.from_url(REDIS)
    transport = httpx.ASGITransport(app=web)
    try:
        async with (
            web.router.lifespan_context(web),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            yield web, client, redis
    finally:
        names = await redis.keys(f"{namespace}:*")
        if names:
            await redis.delete(*names)
        await redis.aclose()


async def counted(redis: aioredis.Redis, app: Any, prefix: str) -> int:
    """The key's requests counted in Redis this minute (fair.rate_limits.RedisLimiter)."""
    namespace = app.state.broadcast.namespace
    found = await redis.get(f"{namespace}:rate:{prefix}:{int(clock.now().timestamp() // 60)}")
    return int(found or 0)


async def test_a_read_is_asked_again_and_counted_once(shared: Any) -> None:
    """The key's look-up was lost: the request is asked again, its key counted once."""
    app, client, redis = shared
    async with app.state.write_sessions() as session:
        edition = await f.edition(session)
        made, raw = await key(session, edition, ApiScope.FIGURES)
        await db.commit(session)
    path = f"{API}/editions/{edition.id}/figures"
    with ending(app) as ended:
        answered = await client.get(path, headers=bearer(raw))
    assert (len(ended), answered.status_code) == (1, 200)
    assert answered.json()["edition_id"] == edition.id
    assert await counted(redis, app, made.prefix) == 1


async def test_a_public_read_is_asked_again(shared: Any) -> None:
    app, client, _ = shared
    async with app.state.write_sessions() as session:
        edition = await f.edition(session)
        await db.commit(session)
    with ending(app) as ended:
        answered = await client.get(f"{API}/editions/{edition.id}")
    assert (len(ended), answered.status_code) == (1, 200)
    assert answered.json()["id"] == edition.id


async def test_a_write_lost_before_its_handler_began_is_written_once(shared: Any) -> None:
    """A write whose key look-up was lost: nothing done, asked again, one offer written."""
    app, client, redis = shared
    async with app.state.write_sessions() as session:
        edition = await f.edition(session)
        booth, _ = await f.booth(session, edition_=edition)
        made, raw = await key(session, edition, ApiScope.OFFERS, booth=booth)
        await db.commit(session)
    offer = {
        "id": "ATS-1",
        "intitule": "Électricien (H/F)",
        "description": "Chantiers.",
        "romeCode": "F1602",
        "typeContrat": "CDI",
        "natureContrat": "Contrat travail",
        "lieuTravail": {"libelle": "34 - Montpellier", "codePostal": "34000"},
    }
    path = f"{API}/editions/{edition.id}/booths/{booth.id}/offers"
    with ending(app) as ended:
        sent = await client.post(path, json={"resultats": [offer]}, headers=bearer(raw))
    assert (len(ended), sent.status_code) == (1, 200), sent.text
    assert (sent.json()["created"], await counted(redis, app, made.prefix)) == (1, 1), sent.text
    async with app.state.read_sessions() as session:
        offers = await session.scalar(select(func.count()).select_from(Offer))
    assert offers == 1
