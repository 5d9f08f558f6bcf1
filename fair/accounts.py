"""Accounts: sign-up, authentication, password reset, organisers created by an admin."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, mail, settings, tokens
from fair.enums import Role
from fair.errors import Conflict, FairError, Forbidden, Invalid
from fair.i18n import gettext as _
from fair.models import LoginFailure, PasswordReset, User

MIN_PASSWORD = 10
UNUSABLE_PASSWORD = "!unusable"
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 10
MAX_FAILURES_PER_IP = 100
RESET_LIFETIME = timedelta(hours=2)
WELCOME_LIFETIME = timedelta(days=7)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    email = normalize_email(email)
    if len(email) > 254 or not EMAIL_RE.match(email):
        message = "Enter a valid e-mail address, such as name@example.fr."
        raise Invalid(message, code="account.bad_email", fields={"email": message})
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > 200:
        message = "The password needs at least %(min)s characters."
        raise Invalid(
            message,
            code="account.weak_password",
            params={"min": MIN_PASSWORD},
            fields={"password": message},
        )


async def by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str | None,
    role: Role,
    locale: str = "fr",
) -> User:
    """Create an account; without a password the user sets one through an e-mailed link."""
    email = check_email(email)
    name = name.strip()
    if not name or len(name) > 120:
        message = "Enter your name (120 characters at most)."
        raise Invalid(message, code="account.bad_name", fields={"name": message})
    if password is not None:
        check_password(password)
    if await by_email(session, email) is not None:
        message = "An account already uses this e-mail address. Log in or reset your password."
        raise Conflict(message, code="account.email_taken", fields={"email": message})
    user = User(
        email=email,
        name=name,
        # Without a password, a hash no password can match ("!" is not an argon2 prefix):
        # the user chooses one through the e-mailed link.
        password_hash=hash_password(password) if password is not None else UNUSABLE_PASSWORD,
        role=role.value,
        locale=locale if locale in ("fr", "en") else "fr",
        auth_version=secrets.token_hex(8),
        is_active=True,
        created_at=clock.now(),
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, *, email: str, password: str, ip: str = "") -> User:
    """The user with these credentials; refused while too many recent attempts failed.

    The caller records a failure with `record_failure` in a transaction of its own, since the
    request's own transaction is rolled back with the error.
    """
    await check_throttle(session, email=email, ip=ip)
    user = await by_email(session, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user = None
    if user is None or not user.is_active:
        raise Invalid("Wrong e-mail address or password.", status=400, code="auth.invalid")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


async def check_throttle(session: AsyncSession, *, email: str, ip: str) -> None:
    since = clock.now() - THROTTLE_WINDOW
    per_email = await session.scalar(
        select(func.count()).where(
            LoginFailure.email == normalize_email(email), LoginFailure.created_at >= since
        )
    )
    per_ip = (
        await session.scalar(
            select(func.count()).where(LoginFailure.ip == ip, LoginFailure.created_at >= since)
        )
        if ip
        else 0
    )
    if (per_email or 0) >= MAX_FAILURES_PER_EMAIL or (per_ip or 0) >= MAX_FAILURES_PER_IP:
        raise FairError(
            "Too many failed attempts. Wait 15 minutes, or reset your password.",
            status=429,
            code="auth.throttled",
        )


async def record_failure(session: AsyncSession, *, email: str, ip: str) -> None:
    """Remember a failed log-in; failures older than a day are dropped at the same time."""
    now = clock.now()
    await session.execute(
        delete(LoginFailure).where(LoginFailure.created_at < now - timedelta(days=1))
    )
    session.add(LoginFailure(email=normalize_email(email)[:254], ip=ip[:45], created_at=now))
    await session.flush()


async def create_organiser(session: AsyncSession, *, by: User, email: str, name: str) -> User:
    """An admin creates an organiser, who receives a link to choose a password."""
    if by.role != Role.ADMIN:
        raise Forbidden("Only an administrator can create organisers.")
    user = await create_user(session, email=email, name=name, password=None, role=Role.ORGANISER)
    await send_password_link(session, user, welcome=True)
    return user


async def send_password_link(session: AsyncSession, user: User, *, welcome: bool = False) -> None:
    raw, digest = tokens.new_token()
    lifetime = WELCOME_LIFETIME if welcome else RESET_LIFETIME
    session.add(
        PasswordReset(user_id=user.id, token_hash=digest, expires_at=clock.now() + lifetime)
    )
    await session.flush()
    link = f"{settings.get().base_url}/reset/{raw}"
    if welcome:
        subject = _("Your fair account", user.locale)
        body = _(
            "Hello %(name)s,\n\nAn account was created for you on fair. Choose your password "
            "with this link (valid 7 days):\n%(link)s\n",
            user.locale,
            name=user.name,
            link=link,
        )
    else:
        subject = _("Reset your fair password", user.locale)
        body = _(
            "Hello %(name)s,\n\nTo choose a new password, open this link (valid 2 hours):\n"
            "%(link)s\n\nIf you did not ask for it, ignore this message.\n",
            user.locale,
            name=user.name,
            link=link,
        )
    await mail.queue(session, to=user.email, subject=subject, body=body)


async def request_password_reset(session: AsyncSession, *, email: str) -> None:
    """Mail a reset link if the account exists; say nothing either way (no enumeration)."""
    user = await by_email(session, email)
    if user is not None and user.is_active:
        await send_password_link(session, user)


async def reset_password(session: AsyncSession, *, token: str, password: str) -> User:
    reset = await session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == tokens.digest(token))
    )
    if reset is None or reset.used_at is not None or reset.expires_at < clock.now():
        raise Invalid(
            "This link has expired or was already used. Ask for a new one.",
            code="auth.reset_expired",
        )
    check_password(password)
    user = await session.get(User, reset.user_id)
    assert user is not None
    reset.used_at = clock.now()
    user.password_hash = hash_password(password)
    user.auth_version = secrets.token_hex(8)
    await session.flush()
    return user


async def set_locale(session: AsyncSession, user: User, locale: str) -> None:
    if locale in ("fr", "en"):
        user.locale = locale


async def count_by_role(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(User.role, func.count()).group_by(User.role))
    return {role: count for role, count in rows.all()}
