"""Logged-in browsers, kept on the server so that logging out really ends them.

The session cookie (signed by Starlette) holds a random key; the `user_sessions` table holds its
hash, the user, when it started and was last seen, a short user-agent summary and when it was
revoked. Every request finds its user with one indexed read (`find`, joined with users). Log-out
revokes one session; "log out everywhere", a password reset and deactivation revoke them all.

Each revocation queues an event on the deployment's accounts channel (fair.channels.ACCOUNTS):
every process drops the user's sessions from its socket cache, and the user's /live sockets
re-check their own session and close when it no longer holds (fair.live.hub).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, events, tokens
from fair.models import User, UserSession

# A session unused this long is over, whatever its cookie says.
IDLE_LIFETIME = timedelta(days=14)
# last_seen_at is written at most this often per session (one write, not one per request).
TOUCH_EVERY = timedelta(minutes=5)
REVOKED_EVENT = "account.sessions"


async def start(session: AsyncSession, user: User, *, user_agent: str = "") -> str:
    """A new session for `user`; returns the key for the cookie (only its hash is stored)."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        UserSession(
            key_hash=tokens.digest(key),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            user_agent=summarize(user_agent),
        )
    )
    await session.flush()
    return key


def seconds_left(record: UserSession, now: datetime) -> float:
    """Seconds before `record`, if no longer used, is over (idle too long): at least, since
    last_seen_at is written only every TOUCH_EVERY."""
    return (record.last_seen_at + IDLE_LIFETIME - now).total_seconds()


def _holds() -> tuple[ColumnElement[bool], ...]:
    """What a session that holds must be: not revoked, not idle too long, its user active
    (to be joined with users)."""
    return (
        UserSession.revoked_at.is_(None),
        UserSession.last_seen_at >= clock.now() - IDLE_LIFETIME,
        User.is_active.is_(True),
    )


def _with_user() -> Select[User, UserSession]:
    joined = select(User, UserSession).select_from(UserSession)
    return joined.join(User, User.id == UserSession.user_id).where(*_holds())


async def find(
    session: AsyncSession, key: str, *, also: Sequence[ColumnElement[Any]] = ()
) -> tuple[User, UserSession, tuple[Any, ...]] | None:
    """The active user and their live session for a cookie's `key`, and the values of the
    columns `also` (of the user: `User.id` in them is theirs), in one indexed read."""
    found = _with_user().add_columns(*also).where(UserSession.key_hash == tokens.digest(key))
    row = (await session.execute(found)).first()
    return (row[0], row[1], tuple(row[2:])) if row is not None else None


async def find_many(
    session: AsyncSession, key_hashes: Collection[str]
) -> dict[str, tuple[User, UserSession]]:
    """`find` for many cookies at once, by the digests of their keys (one read)."""
    if not key_hashes:
        return {}
    rows = await session.execute(_with_user().where(UserSession.key_hash.in_(key_hashes)))
    return {record.key_hash: (user, record) for user, record in rows}


async def session_record(
    session: AsyncSession, cookie: dict[str, Any], *, also: Sequence[ColumnElement[Any]] = ()
) -> tuple[User, UserSession, tuple[Any, ...]] | None:
    """The active user, the live server-side session the cookie's key names, and the values
    of the columns `also` (of the user: `User.id` in them is theirs) in the same read (every
    page's header: fair.web.auth).

    A cookie whose session was revoked (log-out, "log out everywhere", reset) or expired
    loses its key."""
    key = cookie.get("sid")
    if not isinstance(key, str) or not key:
        return None
    found = await find(session, key, also=also)
    if found is None:
        cookie.pop("sid", None)
    return found


async def session_user(session: AsyncSession, cookie: dict[str, Any]) -> User | None:
    """The active user of the session cookie, if its server-side session still holds.

    Used by pages (fair.web.auth) and by the live socket alike."""
    found = await session_record(session, cookie)
    return found[0] if found is not None else None


def stale(record: UserSession) -> bool:
    """Whether `last_seen_at` is old enough to be written again."""
    return seen_long_ago(record.last_seen_at)


def seen_long_ago(last_seen_at: datetime) -> bool:
    """Whether a session last seen at `last_seen_at` is to be touched again."""
    return last_seen_at < clock.now() - TOUCH_EVERY


async def touch(session: AsyncSession, session_id: int) -> None:
    await session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=clock.now())
    )


async def revoke(session: AsyncSession, key: str) -> None:
    """End the session of this cookie key (log-out); the user's sockets re-check."""
    record = await session.scalar(
        select(UserSession).where(UserSession.key_hash == tokens.digest(key))
    )
    if record is None or record.revoked_at is not None:
        return
    record.revoked_at = clock.now()
    await session.flush()
    signal(session, record.user_id)


async def revoke_all(session: AsyncSession, user_id: int) -> None:
    """End every session of the user ("log out everywhere", password reset, deactivation)."""
    await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    signal(session, user_id)


def signal(session: AsyncSession, user_id: int) -> None:
    """Tell the user's sockets (after commit) that their account changed: they re-check.

    Also for any change of what the account may do (its role, deactivation)."""
    payload = {"user_id": user_id}
    events.emit(session, channel=channels.ACCOUNTS, event=REVOKED_EVENT, payload=payload)


async def holding(
    session: AsyncSession, session_ids: Collection[int]
) -> dict[int, tuple[str, datetime]]:
    """Of `session_ids`, the sessions that still hold (as `find` judges them): id to the
    user's role and the session's `last_seen_at` (one read)."""
    if not session_ids:
        return {}
    rows = await session.execute(
        select(UserSession.id, User.role, UserSession.last_seen_at)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id.in_(session_ids), *_holds())
    )
    return {id_: (role, seen) for id_, role, seen in rows}


async def touch_many(session: AsyncSession, session_ids: Collection[int]) -> None:
    """`touch` for several sessions at once."""
    await session.execute(
        update(UserSession).where(UserSession.id.in_(session_ids)).values(last_seen_at=clock.now())
    )


async def active(session: AsyncSession, user_id: int) -> list[UserSession]:
    """The user's live sessions, most recently seen first."""
    rows = await session.scalars(
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.last_seen_at >= clock.now() - IDLE_LIFETIME,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(rows)


_BROWSERS = [
    ("Edge", re.compile(r"Edg/")),
    ("Opera", re.compile(r"OPR/")),
    ("Firefox", re.compile(r"Firefox/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Safari", re.compile(r"Safari/")),
]
_SYSTEMS = [
    ("Android", re.compile(r"Android")),
    ("iPhone", re.compile(r"iPhone|iPad")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux")),
]


def summarize(user_agent: str) -> str:
    """A summary like "Firefox · Windows", enough to recognise one's own devices; never the
    raw header (empty when neither is recognised: the page says "Unknown browser")."""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), "")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), "")
    return " · ".join(part for part in (browser, system) if part)
