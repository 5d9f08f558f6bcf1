"""A process hears what it publishes at once, with Redis as with memory:// (fair.broadcast):
the request after a log-out, served by the same process, must not find the session still kept
while the echo is on its way through Redis (test_gate_sessionless's revoked session was served
the candidate's page once in CI at 29de519). Real Redis, nothing mocked."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

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


@contextlib.asynccontextmanager
async def _slow_relay(delay: float) -> AsyncIterator[str]:
    """A TCP relay to the local Redis whose client-to-server bytes arrive `delay` seconds late:
    a Redis busy elsewhere, serving another connection's command before this one's."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, late: bool) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if late:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        writer.close()

    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 6379)
        writers.extend((writer, upstream_writer))
        with contextlib.suppress(asyncio.CancelledError):  # its end is no error to log
            await asyncio.gather(
                pipe(reader, upstream_writer, True), pipe(upstream_reader, writer, False)
            )

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.close()
        for writer in writers:
            writer.close()


async def test_a_subscription_is_followed_in_redis_once_listen_returns() -> None:
    """`listen` returns once Redis has confirmed the subscription: a worker asking PUBSUB NUMSUB
    right after a socket was told it follows the channel finds it followed (the worker's live
    panel round found nobody following once in CI at 29de519: the SUBSCRIBE had only been
    sent)."""
    namespace = f"test-origin-{secrets.token_hex(4)}"
    async with _slow_relay(0.3) as url:
        here = Broadcaster(url, namespace=namespace)
        await here.connect()
        other = aioredis.from_url(URL, decode_responses=True)
        try:
            async with here.listen("panel:1", lambda frame: None):
                counts = await other.pubsub_numsub(f"{namespace}:panel:1")
                assert counts == [(f"{namespace}:panel:1", 1)]
        finally:
            await other.aclose()
            await here.disconnect()
