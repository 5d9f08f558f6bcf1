"""Passwords: argon2 off the event loop (a burst of log-ins leaves pages and sockets
answering), and the list of refused common passwords."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets

from fair import db, passwords, settings
from fair.enums import Role
from tests import factories as f
from tests.conftest import csrf
from tests.live_server import Server

LOGINS = 20


def test_common_passwords_are_refused_with_variants() -> None:
    assert len(passwords.common()) >= 300
    for weak in ("azerty", "motdepasse", "soleil", "Soleil2024!", " AZERTYUIOP ", "1234567890"):
        assert passwords.is_common(weak), weak
    for fine in ("correct horse battery", "un mot de passe sûr", "demo-fair-2026"):
        assert not passwords.is_common(fine), fine


async def test_production_parameters_hash_here() -> None:
    """The suite elsewhere hashes cheaply (tests/conftest.py REAL_HASHES); this module, and every
    process that never calls cheap_for_tests, with argon2id m=64 MiB, t=3, p=4."""
    stored = await passwords.hash(f.PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    assert passwords.DUMMY_HASH.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await passwords.verify(stored, f.PASSWORD) is True
    assert passwords.needs_rehash(stored) is False
    passwords.cheap_for_tests(True)
    try:
        cheap = await passwords.hash(f.PASSWORD)
        assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$"), cheap
    finally:
        passwords.cheap_for_tests(False)
    # A cheap hash still verifies, and is upgraded at the next log-in (fair.accounts).
    assert await passwords.verify(cheap, f.PASSWORD) is True
    assert passwords.needs_rehash(cheap) is True


async def test_a_socket_answers_promptly_during_a_burst_of_logins(server: Server) -> None:
    """20 log-ins at once on a real server: its event loop stays free, so a socket's ping is
    answered in a fraction of one hash's time (hashing on the loop would hold it for about a
    hash per log-in)."""
    settings.override(server.conf)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            users = [await f.user(session, Role.CANDIDATE) for _ in range(4)]
            await session.commit()
    finally:
        await engine.dispose()
    started = time.perf_counter()
    for _ in range(3):
        passwords._hasher.hash(f.PASSWORD)
    one_hash = (time.perf_counter() - started) / 3

    clients = [httpx.AsyncClient(base_url=server.url, timeout=120) for _ in range(LOGINS)]
    tokens = [await csrf(client) for client in clients]
    rtts: list[float] = []
    done = asyncio.Event()

    async def ping(ws: Any) -> None:
        n = 0
        while not done.is_set():
            n += 1
            before = time.perf_counter()
            await ws.send(json.dumps(["ping", n, {}]))
            while (frame := json.loads(await ws.recv()))[0] == "event":  # a heartbeat
                pass
            assert frame == ["success", n, {}]
            rtts.append(time.perf_counter() - before)
            await asyncio.sleep(0.07)  # under the socket's command rate limit

    async def log_in(n: int) -> int:
        data = {"csrf_token": tokens[n], "email": users[n % 4].email, "password": f.PASSWORD}
        return (await clients[n].post("/login", data=data)).status_code

    try:
        async with websockets.connect(server.ws, origin=server.url) as ws:
            pinger = asyncio.create_task(ping(ws))
            await asyncio.sleep(0.05)
            statuses = await asyncio.gather(*(log_in(n) for n in range(LOGINS)))
            done.set()
            await pinger
    finally:
        for client in clients:
            await client.aclose()
    assert statuses == [303] * LOGINS
    worst = max(rtts)
    print(
        f"one hash {one_hash * 1000:.0f} ms; ping worst {worst * 1000:.0f} ms, "
        f"median {sorted(rtts)[len(rtts) // 2] * 1000:.0f} ms over {len(rtts)} pings"
    )
    # On the loop, one log-in alone holds it for a whole hash, and 20 for about 20 of them
    # back to back: ping after ping (one every 70 ms or so) would wait for a hash. Off the loop
    # they wait for scheduling only, a few ms; one stall of 100-160 ms (not a hash: it happens
    # once per run at most) was seen on a loaded machine, so one slow ping is let through.
    slow = [rtt for rtt in rtts if rtt >= max(one_hash / 2, 0.03)]
    assert len(slow) <= 1, slow
