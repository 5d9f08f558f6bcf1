"""Who the admission gate (fair.admission) holds, and the signed cookie of those let in.

Never held: anyone but a candidate (recruiters, organisers, administrators, counsellors), and
a candidate with an interview starting within `INTERVIEW_SOON` (or under way): `exempt`.

Let in, a candidate gets a cookie `COOKIE` signed with SECRET_KEY: "<edition>.<user>.<time>",
valid `idle` seconds after that time and renewed (with the line told, `Line.touch`) once it is
`RENEW` seconds old on a request of theirs; so an active candidate stays in, and the cookie of
one who left expires with their place. Checking it needs neither the database nor Redis: with
Redis down, people let in stay in (fail open), while new arrivals get a 503 (the cap cannot
be kept without the shared count, and letting everyone in is what brings a surge down).

Which editions are *armed* now (a cap, a live day within 15 minutes or open) is read from the
database at most every `CACHE_SECONDS` per process (`armed`), not on every request. An armed
edition's gate is *engaged* only under pressure (fair.admission.pressed: someone waiting, or a
cap nearly used; before opening, early arrivals enough to press a cap, the places then drawn
at opening): that is
read from the line at most every `CACHE_SECONDS` per process and edition too, and learnt at once
from each arrival of this process (`engaged`). While it is not engaged nobody is held, no
socket reads the line or the database on connect, and public pages are not cached; candidates
still take their place on their first gated page (let in at once, with the cookie) and their
sockets are counted by the hub's round (fair.live.hub), so that the count that engages it is
right.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import weakref
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from fair import admission, edition_keys, settings
from fair.enums import InterviewStatus, Role
from fair.models import Edition, EditionCandidate, Interview, LiveDay, User
from fair.together import read_patiently
from fair.ttl_cache import TTLCache

log = logging.getLogger("fair.admission")

COOKIE = "fair_admission"
RENEW = 60.0  # seconds: a cookie older than this is renewed on the next request


def renew_after(idle: float) -> float:
    """Seconds after which a cookie valid `idle` seconds is renewed on a request: RENEW, or half
    the idle when that is shorter (at FAIR_ADMISSION_IDLE_MINUTES=1 a cookie renewed from 60 s
    was never renewed: it lapsed at 60 s, and an active candidate with only pages open lost
    their place every minute)."""
    return min(RENEW, idle / 2)


CACHE_SECONDS = 5.0
INTERVIEW_SOON = timedelta(minutes=30)
# seconds a candidate's `exempt` read is kept for the waiting page's status (`exempt_known`):
# one read a minute per candidate held, not one per ask; an interview booked meanwhile lets
# them in that much later at most (of the 30 minutes' notice INTERVIEW_SOON gives)
EXEMPT_SECONDS = 60.0
LOCAL = admission.MemoryLine()  # the embedded default's line (this process)


@dataclass(frozen=True)
class Gate:
    """An edition gated now: its caps and the opening of the live day."""

    edition_id: int
    slug: str
    caps: admission.Caps
    opens: datetime


# The lines made, by Redis client and namespace: one RedisLine for each (making one registers
# its three scripts, a SHA1 of each), not one per request.
_lines: weakref.WeakKeyDictionary[Redis, dict[str, admission.RedisLine]] = (
    weakref.WeakKeyDictionary()
)


def line_of(redis: Redis | None, namespace: str) -> admission.Line:
    """The deployment's line in Redis when BROADCAST_URL is redis://, else this process's."""
    if redis is None:
        return LOCAL
    lines = _lines.setdefault(redis, {})
    found = lines.get(namespace)
    if found is None:
        found = lines[namespace] = admission.RedisLine(redis, namespace=namespace)
    return found


def draw(edition_id: int, user_id: int, opens: datetime) -> float:
    """The place drawn before this opening, in [0, 1): ahead of every later arrival's. The
    same for one person each time they ask (keyed with SECRET_KEY, unguessable by anyone
    else): one who lets their place go and comes back, to try for a better draw, gets the
    same one."""
    message = f"{edition_id}.{user_id}.{int(opens.timestamp())}".encode()
    key = f"fair.admission.draw:{settings.get().secret_key}".encode()
    found = hmac.digest(key, message, "sha256")
    return (int.from_bytes(found[:8], "big") >> 12) / 2**52


async def take_place(
    line: admission.Line, gate: Gate, user_id: int, now: datetime
) -> admission.Place:
    """`user_id` let in through `gate`, or their place in its line (Line.arrive)."""
    return await line.arrive(
        gate.edition_id,
        user_id,
        now=now.timestamp(),
        opens=gate.opens.timestamp(),
        caps=gate.caps,
        draw=draw(gate.edition_id, user_id, gate.opens),
    )


# The cookie --------------------------------------------------------------------------------------


def _signer() -> Signer:
    return Signer(settings.get().secret_key, salt="fair.admission")


def token(edition_id: int, user_id: int, now: datetime) -> str:
    return _signer().sign(f"{edition_id}.{user_id}.{int(now.timestamp())}").decode()


def read_token(raw: str | None, *, user_id: int, idle: float, now: datetime) -> tuple[int, float]:
    """The edition and age in seconds of a valid cookie of `user_id`, else (0, inf)."""
    nothing = (0, float("inf"))
    if not raw or len(raw) > 200:
        return nothing
    try:
        value = _signer().unsign(raw.encode("latin-1", "replace")).decode()
    except (BadSignature, UnicodeDecodeError):
        return nothing
    parts = value.split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return nothing
    edition_id, user, issued = (int(p) for p in parts)
    age = now.timestamp() - issued
    if user != user_id or not -RENEW <= age < idle:
        return nothing
    return edition_id, age


def admitted_to(raw: str | None, user_id: int, gates: list[Gate], now: datetime) -> int | None:
    """The edition gated now that `raw`, a valid cookie of `user_id`, lets them in to."""
    edition_id, age = read_token(raw, user_id=user_id, idle=float("inf"), now=now)
    found = any(g.edition_id == edition_id and age < g.caps.idle for g in gates)
    return edition_id if found else None


# Who is held ----------------------------------------------------------------------------------


async def exempt(session: AsyncSession, user: User, now: datetime) -> bool:
    """Never held: staff, and candidates with an interview within 30 minutes or under way.
    A candidate's answer is kept for `exempt_known`."""
    if user.role != Role.CANDIDATE:
        return True
    soon = await session.scalar(select(Interview.id).where(*_soon(now, [user.id])).limit(1))
    _exempt.put(user.id, soon is not None, now=now.timestamp())
    return soon is not None


def exempt_known(user_id: int, now: datetime) -> bool | None:
    """`exempt` of this candidate as read less than EXEMPT_SECONDS ago (fair.clock's time);
    None when it must be read. Only the waiting page's status asks it (fair.web.admission):
    a page or a socket reads it afresh."""
    return _exempt.get(user_id, now=now.timestamp())


async def exempt_among(
    session: AsyncSession, user_ids: Collection[int], now: datetime, *, keep: bool = False
) -> set[int]:
    """Those of the candidates `user_ids` who are `exempt` now (one read for them all); with
    `keep`, each one's answer kept for `exempt_known` as `exempt` keeps it."""
    if not user_ids:
        return set()
    found = set(await session.scalars(select(Interview.candidate_id).where(*_soon(now, user_ids))))
    if keep:
        for user_id in user_ids:
            _exempt.put(user_id, user_id in found, now=now.timestamp())
    return found


def _soon(now: datetime, user_ids: Collection[int]) -> list[ColumnElement[bool]]:
    """An interview of one of `user_ids` starting within INTERVIEW_SOON, or under way."""
    return [
        Interview.candidate_id.in_(list(user_ids)),
        Interview.status.in_([InterviewStatus.BOOKED.value, InterviewStatus.PENDING.value]),
        Interview.starts_at <= now + INTERVIEW_SOON,
        Interview.ends_at > now,
    ]


@dataclass(frozen=True)
class _Candidate:
    """What the gate needs of an edition, read once per `CACHE_SECONDS` (plain values: ORM
    objects expire with the session that loaded them)."""

    edition_id: int
    slug: str
    caps: admission.Caps
    days: tuple[tuple[datetime, datetime], ...]


_cache: tuple[datetime, list[_Candidate]] | None = None
# One read at a time per event loop: the requests and sockets arriving while it runs wait for
# it and take its answer (at an opening, thousands at once each read it and emptied the pool).
_reading: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
_pressing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _lock(
    locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock],
) -> asyncio.Lock:
    """This event loop's lock in `locks`."""
    loop = asyncio.get_running_loop()
    lock = locks.get(loop)
    if lock is None:
        lock = locks[loop] = asyncio.Lock()
    return lock


# edition -> (when read, engaged): the gate's pressure as this process last learnt it
_engaged: dict[int, tuple[datetime, bool]] = {}
# candidate -> exempt, as read by `exempt` (fair.clock's time): `exempt_known`
_exempt: TTLCache[int, bool] = TTLCache(seconds=EXEMPT_SECONDS, size=100_000)


def forget() -> None:
    """Read the editions and their pressure afresh on the next request (an organiser changed
    the caps; tests: with the editions of things remembered, fair.edition_keys)."""
    global _cache
    _cache = None
    _engaged.clear()
    _exempt.clear()
    edition_keys.forget()


def _cached(now: datetime) -> list[_Candidate] | None:
    if _cache is not None and timedelta(0) <= now - _cache[0] < timedelta(seconds=CACHE_SECONDS):
        return _cache[1]
    return None


async def _candidates(session: AsyncSession, now: datetime) -> list[_Candidate]:
    """Published editions with a live day around today, cached; read by one caller at a time."""
    found = _cached(now)
    if found is not None:
        return found
    async with _lock(_reading):
        found = _cached(now)  # read meanwhile by the caller that held the lock
        return found if found is not None else await _read_candidates(session, now)


async def _read_candidates(session: AsyncSession, now: datetime) -> list[_Candidate]:
    global _cache
    days = (now - timedelta(days=1)).date(), (now + timedelta(days=1)).date()
    around = select(LiveDay.edition_id).where(LiveDay.day.between(*days))
    found = await session.scalars(
        select(Edition)
        .where(
            Edition.published_at.is_not(None),
            Edition.archived_at.is_(None),
            Edition.id.in_(around),
        )
        .options(selectinload(Edition.live_days))
        .order_by(Edition.id)
    )
    editions = [_Candidate(e.id, e.slug, admission.caps_of(e), admission.windows(e)) for e in found]
    _cache = (now, editions)
    return editions


async def armed(session: AsyncSession, now: datetime) -> list[Gate]:
    """The editions whose gate is armed now (a cap, and a live day opening within 15 minutes
    or open), engaged or not."""
    return _armed(await _candidates(session, now), now)


async def armed_now(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[Gate]:
    """`armed`, on a session of `sessions` of its own when the editions are to be read again
    (one caller at a time reads, the others take its answer: no connection for them). A read
    made for the asks of a moment (the held status's, the open pages' while the pool is short):
    it waits for the pool as the others do (fair.together `read_patiently`)."""
    found = armed_cached(now)
    if found is not None:
        return found
    return await read_patiently(  # takes a connection only if it reads
        sessions, lambda session: armed(session, now), what="admission: armed editions"
    )


def armed_cached(now: datetime) -> list[Gate] | None:
    """`armed` as this process read it less than CACHE_SECONDS ago (no session needed: a
    socket's connect opens none then), None when it must be read again."""
    found = _cached(now)
    return None if found is None else _armed(found, now)


def _armed(editions: list[_Candidate], now: datetime) -> list[Gate]:
    gates = []
    for edition in editions:
        opens = admission.opening(edition.days, now)
        if opens is not None and edition.caps.any:
            gates.append(Gate(edition.edition_id, edition.slug, edition.caps, opens))
    return gates


def note(gate: Gate, place: admission.Place, now: datetime) -> None:
    """What an arrival of this process told of the gate's pressure: known at once here."""
    _engaged[gate.edition_id] = (now, place.engaged)


def _known(edition_id: int, now: datetime) -> bool | None:
    found = _engaged.get(edition_id)
    if found is not None and timedelta(0) <= now - found[0] < timedelta(seconds=CACHE_SECONDS):
        return found[1]
    return None


async def engaged(line: admission.Line, gate: Gate, now: datetime) -> bool:
    """Whether `gate` holds people now: under pressure (fair.admission.pressed; before
    opening, early arrivals enough to press a cap), as this process learnt it within
    `CACHE_SECONDS`; read from the line by one caller at a time. With the line out of reach,
    the last state known (engaged when none: the cap cannot be kept without it)."""
    found = _known(gate.edition_id, now)
    if found is not None:
        return found
    async with _lock(_pressing):
        found = _known(gate.edition_id, now)  # read meanwhile by the caller that held the lock
        return found if found is not None else await pressure(line, gate, now)


async def pressure(line: admission.Line, gate: Gate, now: datetime) -> bool:
    """Whether `gate` is under pressure, read from the line now and kept (`engaged`)."""
    try:
        on = await line.pressure(
            gate.edition_id, now=now.timestamp(), opens=gate.opens.timestamp(), caps=gate.caps
        )
    except (RedisError, OSError) as exc:
        log.warning("admission: the line's pressure is out of reach: %r", exc)
        last = _engaged.get(gate.edition_id)
        on = last[1] if last is not None else True
    _engaged[gate.edition_id] = (now, on)
    return on


async def gate_of(
    session: AsyncSession, gates: list[Gate], kind: str, value: object
) -> Gate | None:
    """The gate among `gates` of the edition that `value`, a path parameter or socket payload
    field of `kind` (fair.edition_keys.KINDS), names; None when it names none of theirs. A
    slug is matched without a read."""
    if kind == "slug":
        return next((g for g in gates if g.slug == value), None)
    edition_id = await edition_keys.edition_of(session, kind, value)
    return next((g for g in gates if g.edition_id == edition_id), None)


async def let_in_to(
    line: admission.Line, gates: list[Gate], user_ids: set[int], now: datetime
) -> dict[int, int]:
    """Those of `user_ids` the line counts as let in to one of `gates` now (a page of theirs
    there, another device's cookie), each with the first such edition: their socket is kept
    active there (`Line.keep`; nothing else changes). One call a gate, while users are left."""
    found: dict[int, int] = {}
    for gate in gates:
        left = user_ids - found.keys()
        if not left:
            break
        stamp = now.timestamp()
        gone = await line.keep(gate.edition_id, left, now=stamp, idle=gate.caps.idle)
        found |= dict.fromkeys(left - gone, gate.edition_id)
    return found


async def judge(
    session: AsyncSession, line: admission.Line, user: User, gates: list[Gate], now: datetime
) -> tuple[Gate, bool] | None:
    """The armed gate that judges `user`, a candidate without a valid cookie of one, where
    nothing names an edition (their own pages, fair.web.gate; their socket, fair.live.socket):
    the first of `gates` they are registered to (False: its line decides, `take_place`),
    unless the line lets them in to another of `gates` already (True: a page of theirs there,
    another device's cookie; kept active there, `let_in_to`); None when they are registered to
    none. One read of their registrations, and a call to the line for each other armed
    edition until found (none with one edition armed); the line out of reach, the first (whose
    line answers for that)."""
    first = await first_registered(session, user, gates)
    return None if first is None else await judge_from(line, user, gates, first, now)


async def first_registered(session: AsyncSession, user: User, gates: list[Gate]) -> Gate | None:
    """The first of `gates` `user` is registered to (`judge`'s read), None when none: a caller
    that must not hold its connection across the line's calls (fair.live.socket) reads it,
    closes its session, then asks `judge_from`."""
    registered = set(
        await session.scalars(
            select(EditionCandidate.edition_id).where(
                EditionCandidate.user_id == user.id,
                EditionCandidate.edition_id.in_([g.edition_id for g in gates]),
            )
        )
    )
    return next((g for g in gates if g.edition_id in registered), None)


async def judge_from(
    line: admission.Line, user: User, gates: list[Gate], first: Gate, now: datetime
) -> tuple[Gate, bool]:
    """`judge` once `first_registered` found `first`: the line's calls, no database read."""
    others = [g for g in gates if g.edition_id != first.edition_id]
    try:
        found = await let_in_to(line, others, {user.id}, now)
    except (RedisError, OSError) as exc:
        log.warning("admission: the line is out of reach: %r", exc)
        found = {}
    if user.id in found:
        return next(g for g in others if g.edition_id == found[user.id]), True
    return first, False
