"""Partner keys (fair.api_keys): created and shown once, stored hashed, found by prefix,
refused when unknown, revoked, of another edition or without the scope; counted per minute
(in memory and in the real Redis); last use written at most once a minute; audited uses."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import api_keys, clock
from fair.enums import ApiScope, Role
from fair.errors import FairError
from fair.models import ApiKey
from fair.rate_limits import MemoryLimiter, RedisLimiter
from tests import factories as f

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def _setup(session: AsyncSession):  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=organiser)
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    booth, _ = await f.booth(session, edition_=edition, recruiter=recruiter)
    return organiser, edition, booth


def _refusal(error: FairError) -> tuple[int, str, dict[str, object]]:
    return error.status, error.code, error.params


async def test_a_key_is_shown_once_and_stored_hashed(session: AsyncSession) -> None:
    organiser, edition, booth = await _setup(session)
    key, raw = await api_keys.create(
        session,
        edition=edition,
        name=" ATS  Flatchr ",
        scopes=[ApiScope.APPLICATIONS, ApiScope.OFFERS],
        booth_id=booth.id,
        by=organiser,
    )
    head, prefix, secret = raw.split("_")
    assert (head, len(prefix), len(secret)) == ("fair", 8, 32)
    assert set(prefix + secret) <= set(api_keys.ALPHABET)
    stored = await session.get(ApiKey, key.id)
    assert stored is not None
    assert (stored.name, stored.prefix, stored.secret_hash, stored.scopes, stored.booth_id) == (
        "ATS  Flatchr",
        prefix,
        hashlib.sha256(secret.encode()).hexdigest(),
        ["applications:read", "offers:write"],
        booth.id,
    )
    assert secret not in repr(stored.__dict__)
    found = await api_keys.authenticate(
        session, raw, scope=ApiScope.APPLICATIONS, edition_id=edition.id
    )
    assert found.id == key.id


async def test_creation_refusals(session: AsyncSession) -> None:
    organiser, edition, booth = await _setup(session)
    other = await f.edition(session, by=organiser)
    other_booth, _ = await f.booth(session, edition_=other)
    cases = [
        ("", [ApiScope.PUBLIC], None, "name"),
        ("x" * 121, [ApiScope.PUBLIC], None, "name"),
        ("Site", [], None, "scopes"),
        ("ATS", [ApiScope.APPLICATIONS], None, "booth"),
        ("ATS", [ApiScope.OFFERS], other_booth.id, "booth"),
    ]
    for name, scopes, booth_id, field in cases:
        with pytest.raises(FairError) as caught:
            await api_keys.create(
                session, edition=edition, name=name, scopes=scopes, booth_id=booth_id, by=organiser
            )
        assert (caught.value.status, list(caught.value.fields)) == (422, [field])
    # A key without a booth scope keeps no booth even if one was chosen.
    key, _ = await api_keys.create(
        session,
        edition=edition,
        name="Site de la ville",
        scopes=[ApiScope.PUBLIC, ApiScope.FIGURES],
        booth_id=booth.id,
        by=organiser,
    )
    assert (key.booth_id, key.scopes) == (None, ["figures:read", "public:read"])


async def test_refused_keys(session: AsyncSession) -> None:
    organiser, edition, booth = await _setup(session)
    key, raw = await api_keys.create(
        session,
        edition=edition,
        name="Figures",
        scopes=[ApiScope.FIGURES],
        booth_id=None,
        by=organiser,
    )
    _, prefix, secret = raw.split("_")
    invalid = (401, "api.key_invalid", {})
    for wrong in (
        "",
        "fair_",
        raw + "x",
        raw[:-1],
        f"fair_{prefix}_{secrets.token_hex(16)}",  # right prefix, wrong secret
        f"fair_{'A' * 8}_{secret}",  # unknown prefix
        f"nope_{prefix}_{secret}",
    ):
        with pytest.raises(FairError) as caught:
            await api_keys.authenticate(session, wrong, scope=ApiScope.FIGURES)
        assert _refusal(caught.value) == invalid, wrong
    missing = (403, "api.scope_missing", {})
    for scope, edition_id in (
        (ApiScope.APPLICATIONS, edition.id),
        (ApiScope.PUBLIC, None),
        (ApiScope.FIGURES, edition.id + 1),
    ):
        with pytest.raises(FairError) as caught:
            await api_keys.authenticate(session, raw, scope=scope, edition_id=edition_id)
        assert _refusal(caught.value) == missing
    booth_key, booth_raw = await api_keys.create(
        session,
        edition=edition,
        name="ATS",
        scopes=[ApiScope.APPLICATIONS],
        booth_id=booth.id,
        by=organiser,
    )
    api_keys.require_booth(booth_key, booth.id)
    with pytest.raises(FairError) as caught:
        api_keys.require_booth(booth_key, booth.id + 1)
    assert _refusal(caught.value) == missing
    await api_keys.revoke(session, key)
    revoked_at = key.revoked_at
    await api_keys.revoke(session, key)
    assert key.revoked_at == revoked_at == clock.now()
    with pytest.raises(FairError) as caught:
        await api_keys.authenticate(session, raw, scope=ApiScope.FIGURES)
    assert _refusal(caught.value) == invalid
    assert (await api_keys.authenticate(session, booth_raw, scope="applications:read")).id == (
        booth_key.id
    )


async def test_the_rate_limit_per_key_and_minute(session: AsyncSession) -> None:
    organiser, edition, _booth = await _setup(session)
    clock.set_now(f.NOON.replace(second=20))
    made = [
        await api_keys.create(
            session, edition=edition, name=n, scopes=[ApiScope.FIGURES], booth_id=None, by=organiser
        )
        for n in ("A", "B")
    ]
    (_, busy), (_, quiet) = made
    for _ in range(api_keys.PER_MINUTE):
        await api_keys.authenticate(session, busy, scope=ApiScope.FIGURES)
    with pytest.raises(FairError) as caught:
        await api_keys.authenticate(session, busy, scope=ApiScope.FIGURES)
    assert _refusal(caught.value) == (
        429,
        "api.rate_limited",
        {"limit": api_keys.PER_MINUTE, "retry_after": 40},
    )
    await api_keys.authenticate(session, quiet, scope=ApiScope.FIGURES)  # another key: allowed
    clock.set_now(f.NOON + timedelta(minutes=1))  # the next minute
    await api_keys.authenticate(session, busy, scope=ApiScope.FIGURES)


async def test_memory_limiter_stays_bounded() -> None:
    clock.set_now(f.NOON)
    limiter = MemoryLimiter(max_keys=3)
    assert [limiter.count(k, per_minute=1) for k in "abc"] == [0, 0, 0]
    assert limiter.count("a", per_minute=1) == 60
    clock.set_now(f.NOON + timedelta(minutes=1))
    assert limiter.count("d", per_minute=1) == 0  # the past minute's keys dropped
    assert limiter.counts == {"d": (limiter.counts["d"][0], 1)}
    clock.set_now(None)


async def test_redis_limiter_shares_the_count_between_processes() -> None:
    """Two limiters (two processes) on the real Redis count one key together; a Redis that
    does not answer falls back to the process's own count."""
    clock.set_now(f.NOON.replace(second=45))
    namespace = f"fair-test-{secrets.token_hex(4)}"
    one, two = aioredis.from_url(REDIS), aioredis.from_url(REDIS)
    try:
        first = RedisLimiter(one, namespace=namespace, fallback=MemoryLimiter())
        second = RedisLimiter(two, namespace=namespace, fallback=MemoryLimiter())
        waits = [await limiter.hit("k", per_minute=3) for limiter in (first, second) * 2]
        assert waits == [0, 0, 0, 15]
        names = [n.decode() for n in await one.keys(f"{namespace}:*")]
        index = int(f.NOON.replace(second=45).timestamp() // 60)
        assert names == [f"{namespace}:rate:k:{index}"]
        assert 60 < await one.ttl(names[0]) <= 120
        await one.delete(*names)
    finally:
        await one.aclose()
        await two.aclose()
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    fallback = MemoryLimiter()
    offline = RedisLimiter(dead, namespace=namespace, fallback=fallback)
    assert [await offline.hit("k", per_minute=1) for _ in range(2)] == [0, 15]
    await dead.aclose()
    clock.set_now(None)


async def test_last_use_written_once_a_minute_and_uses_audited(session: AsyncSession) -> None:
    organiser, edition, booth = await _setup(session)
    key, _raw = await api_keys.create(
        session,
        edition=edition,
        name="ATS",
        scopes=[ApiScope.APPLICATIONS],
        booth_id=booth.id,
        by=organiser,
    )
    assert api_keys.stale(key)
    await api_keys.touch(session, key.id)
    await session.refresh(key)
    assert key.last_used_at == f.NOON
    assert not api_keys.stale(key, f.NOON + timedelta(seconds=59))
    assert api_keys.stale(key, f.NOON + timedelta(seconds=60))
    await api_keys.record_use(session, key, what="booth_applications", rows=3)
    clock.set_now(f.NOON + timedelta(minutes=5))
    await api_keys.record_use(session, key, what="booth_applications", rows=0)
    found = await api_keys.uses(session, edition.id)
    employer = (await api_keys.listing(session, edition.id))[0].employer
    assert [(u.at, u.key, u.employer, u.what, u.rows) for u in found] == [
        (f.NOON + timedelta(minutes=5), "ATS", employer, "booth_applications", 0),
        (f.NOON, "ATS", employer, "booth_applications", 3),
    ]
    assert employer and employer.startswith("Entreprise")
    assert await session.scalar(select(ApiKey.id).where(ApiKey.prefix == key.prefix)) == key.id


async def test_a_booths_own_key(session: AsyncSession) -> None:
    _organiser, _edition, booth = await _setup(session)
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    key, _raw = await api_keys.create_for_booth(
        session, booth=booth, name="ATS", scopes=[ApiScope.OFFERS], by=recruiter
    )
    assert (key.edition_id, key.booth_id, key.scopes) == (
        booth.edition_id,
        booth.id,
        ["offers:write"],
    )
    for scope in (ApiScope.FIGURES, ApiScope.PUBLIC):
        with pytest.raises(FairError) as caught:
            await api_keys.create_for_booth(
                session, booth=booth, name="ATS", scopes=[ApiScope.OFFERS, scope], by=recruiter
            )
        assert (caught.value.status, caught.value.code) == (403, "fair.forbidden")
    listed = await api_keys.listing(session, booth.edition_id, booth_id=booth.id + 1)
    assert listed == []
    with pytest.raises(FairError) as caught:
        await api_keys.get(session, key.id, edition_id=booth.edition_id, booth_id=booth.id + 1)
    assert caught.value.status == 404
