"""Calls to partner instances of the network (fair.network_pool, fair.network_sync): what a
partner may answer, and how many calls a process makes at once.

- `fetch` reads a partner's answer as it streams and stops past MAX_ANSWER bytes (decoded: a
  compressed answer cannot expand past it either): a partner, or whoever answers at its
  address, cannot make this process hold an answer of any size. A longer answer is an
  `AnswerTooLarge`, an httpx.HTTPError as a failed call is.
- `Answer` is what was read: status, headers, body.
- `slot` bounds the calls that pages make at once (MAX_CALLS a process): past it, a page
  answers 503 with Retry-After (`network.busy`) rather than keep one more request waiting on a slow
  partner.
- `definite`: whether an answer says for sure that the partner did not act on the request (a
  4xx refusal other than 408 and 429); a timeout, a 5xx or an answer not in the API's shape
  leaves it unknown, and a request that carries a reference is then sent again with it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from fair.errors import FairError

MAX_ANSWER = 8 * 1024 * 1024  # a page of 20 profiles with long CVs is well under 1 MB
MAX_CALLS = 8  # a process's calls to partners from pages at once
RETRY_AFTER = 5


class AnswerTooLarge(httpx.HTTPError):
    """A partner's answer longer than MAX_ANSWER."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


async def fetch(
    client: httpx.AsyncClient, method: str, url: str, *, limit: int | None = None, **kw: Any
) -> Answer:
    """`client.request`, its body read up to `limit` bytes (MAX_ANSWER by default;
    AnswerTooLarge past it)."""
    limit = limit or MAX_ANSWER
    async with client.stream(method, url, **kw) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise AnswerTooLarge(f"answer of {declared} bytes, more than {limit}")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise AnswerTooLarge(f"answer longer than {limit} bytes")
            chunks.append(chunk)
    return Answer(response.status_code, response.headers, b"".join(chunks))


def definite(answer: Answer) -> bool:
    """Whether the partner refused for sure (it acted on nothing)."""
    return 400 <= answer.status_code < 500 and answer.status_code not in (408, 429)


_slots: list[tuple[asyncio.AbstractEventLoop, int, asyncio.Semaphore]] = []


def _semaphore() -> asyncio.Semaphore:
    """The running loop's semaphore of MAX_CALLS places (a new loop, or a new MAX_CALLS in
    tests, gets a new one)."""
    loop = asyncio.get_running_loop()
    if not _slots or _slots[0][0] is not loop or _slots[0][1] != MAX_CALLS:
        _slots[:] = [(loop, MAX_CALLS, asyncio.Semaphore(MAX_CALLS))]
    return _slots[0][2]


@asynccontextmanager
async def slot() -> AsyncIterator[None]:
    """One of the process's MAX_CALLS places for a page's call to a partner; `network.busy`
    (503) when they are all taken."""
    semaphore = _semaphore()
    if semaphore.locked():
        raise FairError(
            "Too many requests to partner instances are under way. Nothing was sent: please "
            "try again in a few seconds.",
            status=503,
            code="network.busy",
            params={"retry_after": RETRY_AFTER},
        )
    async with semaphore:
        yield
