"""A process hears what it publishes at once, with Redis as with memory:// (fair.broadcast):
the request after a log-out, served by the same process, must not find the session still kept
while the echo is on its way through Redis (test_gate_sessionless's revoked session was served
the candidate's page once in CI at 29de519). Real Redis, nothing mocked."""

from __future__ import annotations

import asyncio
import secrets

from fair.broadcast import ORIGIN_SIZE, Broadcaster

URL = "redis://127.0.0.1:6379/0"


async def _settled() -> None:
    """Long enough for a Redis round trip and the readers' delivery on loopback."""
    await asyncio.sleep(0.3)


async def test_a_process_hears_its_own_message_before_publish_returns_and_once() -> None:
    namespace = f"test-origin-{secrets.token_hex(4)}"
    here, there = Broadcaster(URL, namespace=namespace), Broadcaster(URL, namespace=namespace)
    await here.connect()
    await there.connect()
    heard_here: list[str] = []
    heard_there: list[str] = []
    try:
        async with (
            here.listen("accounts", heard_here.append),
            there.listen("accounts", heard_there.append),
        ):
            await here.publish("accounts", '{"user_id": 5}')
            assert heard_here == ['{"user_id": 5}']  # before any turn of the reader
            await _settled()
            assert heard_here == ['{"user_id": 5}']  # its echo through Redis skipped
            assert heard_there == ['{"user_id": 5}']  # the other process, through Redis, once
            await there.publish("accounts", "[1]")
            await _settled()
            assert heard_here == ['{"user_id": 5}', "[1]"]
            assert heard_there == ['{"user_id": 5}', "[1]"]
    finally:
        await here.disconnect()
        await there.disconnect()


async def test_an_unmarked_message_is_delivered_whole() -> None:
    """A frame published in Redis without a process's mark (another version of fair) is heard
    as it is; one that merely starts like a mark is not cut."""
    namespace = f"test-origin-{secrets.token_hex(4)}"
    here = Broadcaster(URL, namespace=namespace)
    await here.connect()
    heard: list[str] = []
    try:
        async with here.listen("accounts", heard.append):
            client = here.client()
            assert client is not None
            almost = "0" * (ORIGIN_SIZE - 1) + "x rest"
            for frame in ('["event","accounts",{}]', almost, here.origin):
                await client.publish(f"{namespace}:accounts", frame)
            await _settled()
            assert heard == ['["event","accounts",{}]', almost, here.origin]
    finally:
        await here.disconnect()
