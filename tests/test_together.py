"""Reads shared by the asks of a moment (fair.together)."""

from __future__ import annotations

import asyncio

import pytest

from fair.together import Together


async def test_the_asks_of_a_moment_share_one_read_and_those_during_it_the_next() -> None:
    reads: list[list[int]] = []
    release = asyncio.Event()

    async def read(keys: list[int]) -> dict[int, str]:
        reads.append(keys)
        await release.wait()
        return {k: f"v{k}" for k in keys if k != 3}

    together = Together(read, batch=2)
    first = [asyncio.create_task(together.get(k)) for k in (1, 2, 1, 3)]
    await asyncio.sleep(0.05)  # the moment passed: the first read runs, of two keys at most
    later = asyncio.create_task(together.get(4))
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*first, later) == ["v1", "v2", "v1", None, "v4"]
    assert reads == [[1, 2], [3, 4]]
    assert together.reads == 2


async def test_a_failed_read_answers_each_ask_with_its_error_and_the_next_reads_again() -> None:
    calls = 0

    async def read(keys: list[int]) -> dict[int, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database unreachable")
        return {k: k for k in keys}

    together = Together(read)
    asks = [asyncio.create_task(together.get(k)) for k in (1, 2)]
    for ask in asks:
        with pytest.raises(ConnectionError):
            await ask
    assert await together.get(5) == 5
