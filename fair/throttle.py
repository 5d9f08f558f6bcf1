"""Login protection: progressive delays after failed log-ins, and rate-limited password resets.

A failed log-in is remembered for an hour (the `login_failures` table). Before checking a
password, the attempt must wait after the last failure, for each rule whose count reached its
threshold in that hour, 2^(count − threshold) seconds, capped:

- this account from this address: from the 3rd failure, up to 15 minutes;
- this account from any address: from the 10th failure, up to 1 minute;
- this address for any account: from the 100th failure, up to 30 seconds.

So a guesser is slowed down hard, while nobody is ever blocked for good: the owner of an account
someone else is guessing waits a minute at most, and a job centre behind one address where 100
log-ins failed waits 30 seconds at most. A refused attempt is not a failure (it is not checked);
a success forgets the failures of that account from that address. README: "Login protection".

Requests that mail an address typed by anyone (password resets, sign-ups) are limited whether
the account exists or not (so the answer reveals nothing): at most 3 mails an hour to one
address, and from one client address 20 resets or 100 sign-ups an hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.errors import TooMany
from fair.models import LoginFailure, MailRequest

WINDOW = timedelta(hours=1)
MAILS_PER_EMAIL = 3
# Per client address and kind; sign-ups are higher: a job centre signs up a room at once.
PER_ADDRESS = {"reset": 20, "signup": 100}


@dataclass(frozen=True)
class Rule:
    threshold: int
    cap_seconds: int

    def wait(self, count: int) -> float:
        """Seconds to wait after the last failure, once `count` failures were seen."""
        if count < self.threshold:
            return 0.0
        return float(min(2 ** min(count - self.threshold, 30), self.cap_seconds))


ACCOUNT_AND_ADDRESS = Rule(threshold=3, cap_seconds=15 * 60)
ACCOUNT = Rule(threshold=10, cap_seconds=60)
ADDRESS = Rule(threshold=100, cap_seconds=30)


class Throttled(TooMany):
    """Too many attempts: `retry_after` whole seconds to wait (the Retry-After header)."""

    code = "auth.throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        params = {"seconds": retry_after, "minutes": math.ceil(retry_after / 60)}
        super().__init__(message, params=params)
        self.retry_after = retry_after


async def check_login(session: AsyncSession, *, email: str, ip: str) -> None:
    """Raise Throttled when this attempt comes before the delay its failures impose."""
    now = clock.now()
    since = now - WINDOW
    pair = LoginFailure.ip == ip
    by_email = (
        await session.execute(
            select(
                func.count(),
                func.max(LoginFailure.created_at),
                func.count(case((pair, 1))),
                func.max(case((pair, LoginFailure.created_at))),
            ).where(LoginFailure.email == email, LoginFailure.created_at >= since)
        )
    ).one()
    waits = [
        _until(by_email[1], ACCOUNT.wait(by_email[0]), now),
        _until(by_email[3], ACCOUNT_AND_ADDRESS.wait(by_email[2]), now),
    ]
    if ip:
        by_ip = (
            await session.execute(
                select(func.count(), func.max(LoginFailure.created_at)).where(
                    LoginFailure.ip == ip, LoginFailure.created_at >= since
                )
            )
        ).one()
        waits.append(_until(by_ip[1], ADDRESS.wait(by_ip[0]), now))
    remaining = max(waits)
    if remaining > 0:
        raise Throttled(
            "Too many failed attempts. Wait %(seconds)s seconds and try again, or reset your "
            "password.",
            retry_after=math.ceil(remaining),
        )


def _until(last: datetime | None, wait: float, now: datetime) -> float:
    if last is None or not wait:
        return 0.0
    if last.tzinfo is None:  # an aggregate skips the column type's conversion
        last = last.replace(tzinfo=now.tzinfo)
    return (last + timedelta(seconds=wait) - now).total_seconds()


async def record_failure(session: AsyncSession, *, email: str, ip: str) -> None:
    """Remember a failed log-in; failures older than a day are dropped at the same time."""
    now = clock.now()
    await session.execute(
        delete(LoginFailure).where(LoginFailure.created_at < now - timedelta(days=1))
    )
    session.add(LoginFailure(email=email[:254], ip=ip[:45], created_at=now))
    await session.flush()


async def forget_failures(session: AsyncSession, *, email: str, ip: str) -> None:
    """A successful log-in: this account's failures from this address no longer count."""
    await session.execute(
        delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.ip == ip)
    )


MESSAGES = {
    "reset": "Too many requests for a new password. Wait %(minutes)s minutes and try again.",
    "signup": "Too many sign-ups for this address or from your connection. Wait %(minutes)s "
    "minutes and try again.",
}


async def check_mail_request(session: AsyncSession, *, kind: str, email: str, ip: str) -> None:
    """Raise Throttled past the limits of requests that mail `email` (`kind`: "reset" or
    "signup"), else remember this one."""
    now = clock.now()
    since = now - WINDOW
    await session.execute(delete(MailRequest).where(MailRequest.created_at < since))
    limits = [(MailRequest.email == email, MAILS_PER_EMAIL)]
    if ip:
        by_ip = (MailRequest.ip == ip) & (MailRequest.kind == kind)
        limits.append((by_ip, PER_ADDRESS[kind]))
    frees: list[datetime] = []
    for condition, limit in limits:
        times = await session.scalars(
            select(MailRequest.created_at)
            .where(condition, MailRequest.created_at >= since)
            .order_by(MailRequest.created_at.desc())
            .limit(limit)
        )
        found = list(times)
        if len(found) >= limit:
            frees.append(found[-1] + WINDOW)  # when the oldest one counted leaves the hour
    if frees:
        remaining = (max(frees) - now).total_seconds()
        raise Throttled(MESSAGES[kind], retry_after=max(1, math.ceil(remaining)))
    session.add(MailRequest(kind=kind, email=email[:254], ip=ip[:45], created_at=now))
    await session.flush()
