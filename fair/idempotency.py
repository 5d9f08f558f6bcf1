"""Idempotency keys of the API's writes: a partner retrying a write (a timeout, a lost answer)
sends the same `Idempotency-Key` header and gets the answer of the first try, not a second
write. The key is the partner's (scoped to its API key), kept a day (`KEPT`).

`claim` runs first in the write's transaction: it inserts the key with the request's
fingerprint (method, path and body), or finds it. Found with the same fingerprint, the stored
answer is replayed (`Claim.replay`); with another fingerprint the request is refused (422
`api.idempotency_mismatch`: the key was used for another request). Two tries at once: the
second one's insert waits on the unique key until the first commits (PostgreSQL), then is
refused (409 `api.idempotency_busy`, to retry); on SQLite write transactions run one after the
other, so the second one finds the answer. `store` writes the answer in the same transaction
as the write itself: both commit, or neither.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.errors import Conflict, Invalid
from fair.models import ApiIdempotency

KEPT = timedelta(hours=24)
MAX_KEY = 255


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


@dataclass(frozen=True)
class Claim:
    row: ApiIdempotency
    replay: str | None  # the stored answer's body, when this is a retry


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise Invalid(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
            code="api.idempotency_key",
        )


async def claim(session: AsyncSession, *, api_key_id: int, key: str, request: str) -> Claim:
    """The key's row for this request (new, or the stored answer to replay); see the module."""
    _check_key(key)
    now = clock.now()
    await session.execute(delete(ApiIdempotency).where(ApiIdempotency.created_at < now - KEPT))
    found = await session.scalar(
        select(ApiIdempotency).where(
            ApiIdempotency.api_key_id == api_key_id, ApiIdempotency.key == key
        )
    )
    if found is not None:
        if found.request_hash != request:
            raise Invalid(
                "This Idempotency-Key was used for another request: use a new key for a new "
                "request.",
                code="api.idempotency_mismatch",
            )
        return Claim(found, found.body)
    row = ApiIdempotency(
        api_key_id=api_key_id, key=key, request_hash=request, status=0, body="", created_at=now
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "A request with this Idempotency-Key is being processed: try again in a moment.",
            code="api.idempotency_busy",
        ) from exc
    return Claim(row, None)


async def store(session: AsyncSession, claim: Claim, *, status: int, body: str) -> None:
    """Keep the answer with the key, in the write's own transaction."""
    claim.row.status = status
    claim.row.body = body
    await session.flush()
