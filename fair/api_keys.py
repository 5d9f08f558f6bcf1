"""Partners' API keys: created by an edition's organisers, shown once, kept hashed, checked on
every API request (`authenticate`), counted per minute, revoked; the uses that read personal
data are audited (`record_use`, listed by `uses`).

A key reads "fair_<prefix>_<secret>": 8 and 32 letters and digits from `secrets` (the secret
holds about 190 random bits). The prefix is stored as it is and finds the row; the secret only
as its SHA-256, compared in constant time. A slow password hash (argon2) is there to make
guessing a *human-chosen* password expensive after a database leak; a 190-bit random secret
cannot be guessed whatever the hash costs, so one SHA-256 (a microsecond, no thread needed)
protects it as well and keeps every API request cheap.

Scopes (fair.enums.ApiScope): reading public data, reading the edition's aggregated figures,
writing a booth's offers, reading a booth's applications; the last two act on the key's booth
only. A key acts on its edition only. The edition's organisers create keys of any scope; a
booth's recruiters create their booth's own (`create_for_booth`: the booth scopes only).

`last_used_at` is written at most once a minute per key (`stale`, `touch`): `authenticate`
only reads, so an API read stays a read transaction; the boundary writes the touch (and the
audit of a personal read) in a write unit of work of its own.

Rate limit: `PER_MINUTE` requests per key and clock minute (fair.rate_limits), 429 with the
seconds to wait (`retry_after`, the Retry-After header). In-process by default; pass the
broadcaster's Redis client (`redis=`) to share the count between processes.
"""

from __future__ import annotations

import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, parse, tokens
from fair.enums import ApiScope
from fair.errors import Forbidden, Invalid, NotFound, TooMany, Unauthenticated
from fair.models import ApiKey, ApiKeyUse, Booth, Edition, Employer, NetworkPartner, User
from fair.rate_limits import MemoryLimiter, RedisLimiter

PREFIX = "fair_"
PREFIX_LENGTH = 8
SECRET_LENGTH = 32
NETWORK_ONLY = "The network scopes are given by registering a partner instance (the network page)."
ALPHABET = string.ascii_letters + string.digits
PER_MINUTE = 120
TOUCH_EVERY = timedelta(minutes=1)
USES_PAGE = 50
LIMITER = MemoryLimiter()  # this process's counts (fair.rate_limits)


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def scopes_of(key: ApiKey) -> list[ApiScope]:
    return [ApiScope(s) for s in key.scopes if s in ApiScope._value2member_map_]


# Creating, listing, revoking -------------------------------------------------------------------


async def create(
    session: AsyncSession,
    *,
    edition: Edition,
    name: str,
    scopes: list[ApiScope],
    booth_id: int | None,
    by: User,
    network: bool = False,
) -> tuple[ApiKey, str]:
    """A new key of `edition` and its full text, to show once (it is not kept). Booth scopes
    need a booth of the edition; the other scopes take none. The network scopes only with
    `network` (fair.network issues them to a partner it registers; `authenticate` lets them
    act only for an active partner's key). The caller checked that `by` may."""
    name = _name(name)
    if not scopes:
        raise Invalid("Choose at least one scope.", fields={"scopes": "Choose at least one scope."})
    if not network and any(s.for_network for s in scopes):
        raise Forbidden(NETWORK_ONLY, code="api.network_scope")
    booth = await _booth(session, edition, booth_id, needed=any(s.for_booth for s in scopes))
    prefix, secret = _random(PREFIX_LENGTH), _random(SECRET_LENGTH)
    key = ApiKey(
        edition_id=edition.id,
        booth_id=booth.id if booth else None,
        name=name,
        prefix=prefix,
        secret_hash=tokens.digest(secret),
        scopes=sorted({s.value for s in scopes}),
        created_by_id=by.id,
        created_at=clock.now(),
    )
    session.add(key)
    await session.flush()
    return key, f"{PREFIX}{prefix}_{secret}"


async def create_for_booth(
    session: AsyncSession, *, booth: Booth, name: str, scopes: list[ApiScope], by: User
) -> tuple[ApiKey, str]:
    """A booth's own key, made by one of its recruiters (the caller checked that `by` is): its
    scopes only those acting on the booth (offers, applications), never the edition's."""
    if any(not s.for_booth for s in scopes):
        raise Forbidden("A booth's key may only write its offers or read its applications.")
    edition = await session.get(Edition, booth.edition_id)
    assert edition is not None  # a booth's edition is never deleted before it
    return await create(
        session, edition=edition, name=name, scopes=scopes, booth_id=booth.id, by=by
    )


def _name(text: str) -> str:
    name = parse.line(text)
    if not name or len(name) > 120:
        message = "Give the key a name of at most 120 characters (who uses it, for what)."
        raise Invalid(message, fields={"name": message})
    return name


async def _booth(
    session: AsyncSession, edition: Edition, booth_id: int | None, *, needed: bool
) -> Booth | None:
    if not needed:
        return None
    booth = await session.get(Booth, booth_id) if booth_id else None
    if booth is None or booth.edition_id != edition.id:
        message = "Choose the booth this key acts for."
        raise Invalid(message, fields={"booth": message})
    return booth


@dataclass(frozen=True)
class Listed:
    key: ApiKey
    employer: str  # the booth's employer, "" for a key without a booth


async def listing(
    session: AsyncSession, edition_id: int, *, booth_id: int | None = None
) -> list[Listed]:
    """The edition's keys (those of `booth_id` only, if given), newest first, with their booth's
    employer."""
    statement = (
        select(ApiKey, Employer.name)
        .outerjoin(Booth, Booth.id == ApiKey.booth_id)
        .outerjoin(Employer, Employer.id == Booth.employer_id)
        .where(ApiKey.edition_id == edition_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    if booth_id is not None:
        statement = statement.where(ApiKey.booth_id == booth_id)
    rows = await session.execute(statement)
    return [Listed(key, employer or "") for key, employer in rows.all()]


async def get(
    session: AsyncSession, key_id: int, *, edition_id: int, booth_id: int | None = None
) -> ApiKey:
    """The key of the edition (and of `booth_id`, if given); else NotFound."""
    key = await session.get(ApiKey, key_id)
    if key is None or key.edition_id != edition_id or booth_id not in (None, key.booth_id):
        raise NotFound("This API key does not exist.")
    return key


async def revoke(session: AsyncSession, key: ApiKey) -> None:
    """The key stops working at once (401 on its next request); revoking twice changes nothing."""
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        await session.flush()


# Checking a request ----------------------------------------------------------------------------


def _parts(raw_key: str) -> tuple[str, str] | None:
    if not raw_key.startswith(PREFIX):
        return None
    prefix, sep, secret = raw_key[len(PREFIX) :].partition("_")
    if not sep or len(prefix) != PREFIX_LENGTH or len(secret) != SECRET_LENGTH:
        return None
    return prefix, secret


async def authenticate(
    session: AsyncSession,
    raw_key: str,
    *,
    scope: str,
    edition_id: int | None = None,
    redis: Redis | None = None,
    namespace: str = "fair",
) -> ApiKey:
    """The key `raw_key` if it may act with `scope` (on `edition_id`, when given).

    401 `api.key_invalid`: not a key, unknown, or revoked. 429 `api.rate_limited` with
    `retry_after`: past `PER_MINUTE` requests this minute. 403 `api.scope_missing`: a key of
    another edition, or without the scope. Reads only (see `touch`)."""
    parts = _parts(raw_key)
    key = await session.scalar(select(ApiKey).where(ApiKey.prefix == parts[0])) if parts else None
    if (
        key is None
        or parts is None
        or not hmac.compare_digest(key.secret_hash, tokens.digest(parts[1]))
        or key.revoked_at is not None
    ):
        raise Unauthenticated("This API key is not valid.", code="api.key_invalid")
    await _count(key, redis=redis, namespace=namespace)
    if scope not in key.scopes or (edition_id is not None and edition_id != key.edition_id):
        raise Forbidden("This API key may not do this.", code="api.scope_missing")
    if ApiScope(scope).for_network and not await _partners_key(session, key):
        raise Forbidden("This API key may not do this.", code="api.scope_missing")
    return key


async def _partners_key(session: AsyncSession, key: ApiKey) -> bool:
    """Whether `key` is the one issued to an active partner of the network (its scopes alone
    are not enough: a key made otherwise, or a disabled partner's, acts for no instance)."""
    found = await session.scalar(
        select(NetworkPartner.id)
        .where(NetworkPartner.our_key_id == key.id, NetworkPartner.active.is_(True))
        .limit(1)
    )
    return found is not None


async def _count(key: ApiKey, *, redis: Redis | None, namespace: str) -> None:
    limiter = RedisLimiter(redis, namespace=namespace, fallback=LIMITER) if redis else LIMITER
    # By prefix (random): ids repeat across databases, the count must not.
    wait = await limiter.hit(key.prefix, per_minute=PER_MINUTE)
    if wait:
        raise TooMany(
            "Too many requests with this API key: at most %(limit)s a minute. Wait "
            "%(retry_after)s seconds.",
            code="api.rate_limited",
            params={"limit": PER_MINUTE, "retry_after": wait},
        )


def require_booth(key: ApiKey, booth_id: int) -> None:
    """A booth scope acts on the key's booth only."""
    if key.booth_id != booth_id:
        raise Forbidden("This API key may not do this.", code="api.scope_missing")


def stale(key: ApiKey, now: datetime | None = None) -> bool:
    """Whether `last_used_at` is due to be written (a minute after the last write)."""
    last = key.last_used_at
    return last is None or (now or clock.now()) - last >= TOUCH_EVERY


async def touch(session: AsyncSession, key_id: int) -> None:
    """Write that the key was used now (callers write it only when `stale`)."""
    await session.execute(
        update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=clock.now())
    )


# The audit of personal data -------------------------------------------------------------------


async def record_use(
    session: AsyncSession, key: ApiKey, *, what: str, rows: int, booth_id: int | None = None
) -> None:
    """Write that `key` read or wrote personal data (`what`, `rows` of it), in the unit of work
    that answers, before the data leaves."""
    session.add(
        ApiKeyUse(
            edition_id=key.edition_id,
            api_key_id=key.id,
            booth_id=booth_id if booth_id is not None else key.booth_id,
            what=what,
            rows=rows,
            created_at=clock.now(),
        )
    )
    await session.flush()


@dataclass(frozen=True)
class Use:
    at: datetime
    key: str
    employer: str
    what: str
    rows: int


async def uses(
    session: AsyncSession, edition_id: int, *, booth_id: int | None = None, limit: int = USES_PAGE
) -> list[Use]:
    """The edition's (or `booth_id`'s) latest audited uses of keys, newest first."""
    statement = (
        select(ApiKeyUse, ApiKey.name, Employer.name)
        .join(ApiKey, ApiKey.id == ApiKeyUse.api_key_id)
        .outerjoin(Booth, Booth.id == ApiKeyUse.booth_id)
        .outerjoin(Employer, Employer.id == Booth.employer_id)
        .where(ApiKeyUse.edition_id == edition_id)
        .order_by(ApiKeyUse.created_at.desc(), ApiKeyUse.id.desc())
        .limit(limit)
    )
    if booth_id is not None:
        statement = statement.where(ApiKeyUse.booth_id == booth_id)
    rows = await session.execute(statement)
    return [Use(u.created_at, name, emp or "", u.what, u.rows) for u, name, emp in rows.all()]
