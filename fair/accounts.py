"""Accounts: sign-up, authentication, password reset, organisers created by an admin."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    clock,
    mail,
    passwords,
    permissions,
    settings,
    throttle,
    tokens,
    user_sessions,
)
from fair.enums import Role
from fair.errors import Conflict, Forbidden, Invalid
from fair.i18n import gettext as _
from fair.models import PasswordReset, User
from fair.rate_limits import Limiter, MemoryLimiter

MIN_PASSWORD = 10
UNUSABLE_PASSWORD = "!unusable"
RESET_LIFETIME = timedelta(hours=2)
WELCOME_LIFETIME = timedelta(days=7)
SIGNUP_LIFETIME = timedelta(days=2)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# An account without a mailbox (made by a counsellor for a person without e-mail) has an
# address in this reserved domain (RFC 2606): it logs in with the part before "@" (its login),
# and nothing is mailed to it (mail.has_mailbox).
NO_MAILBOX_DOMAIN = "sans-adresse.invalid"
# A printed one-time code: 12 characters without look-alikes (0/O, 1/I), about 60 bits.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LIFETIME = timedelta(days=30)


async def hash_password(password: str) -> str:
    """The argon2 hash, computed off the event loop (fair.passwords)."""
    return await passwords.hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def login_address(typed: str) -> str:
    """The address an account logs in with: a login without "@" is an account without a
    mailbox's."""
    typed = normalize_email(typed)
    return f"{typed}@{NO_MAILBOX_DOMAIN}" if typed and "@" not in typed else typed


def login_of(user: User) -> str:
    """What the user types to log in: their address, or the login of an account without one."""
    local, _at, domain = user.email.rpartition("@")
    return local if domain == NO_MAILBOX_DOMAIN else user.email


def has_mailbox(user: User) -> bool:
    return not user.email.endswith("@" + NO_MAILBOX_DOMAIN)


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
    if not password.strip():
        message = "The password cannot be only spaces."
        raise Invalid(message, code="account.blank_password", fields={"password": message})
    if passwords.is_common(password):
        message = (
            "This password is one of the most used, so it is the first one tried: choose "
            "another (a few words you will remember make a good one)."
        )
        raise Invalid(message, code="account.common_password", fields={"password": message})


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
    confirmed: bool = True,
) -> User:
    """Create an account; without a password the user sets one through an e-mailed link.

    `confirmed=False` (sign-up): the account cannot log in before its owner opened the link
    mailed to the address (`confirm_signup`, or a password reset)."""
    email, name = _check_new(email=email, name=name, password=password)
    if await by_email(session, email) is not None:
        message = "An account already uses this e-mail address. Log in or reset your password."
        raise Conflict(message, code="account.email_taken", fields={"email": message})
    now = clock.now()
    user = User(
        email=email,
        name=name,
        # Without a password, a hash no password can match ("!" is not an argon2 prefix):
        # the user chooses one through the e-mailed link.
        password_hash=await hash_password(password) if password is not None else UNUSABLE_PASSWORD,
        role=role.value,
        locale=locale if locale in ("fr", "en") else "fr",
        auth_version=secrets.token_hex(8),
        is_active=True,
        created_at=now,
        confirmed_at=now if confirmed else None,
    )
    session.add(user)
    await session.flush()
    return user


def _check_new(*, email: str, name: str, password: str | None) -> tuple[str, str]:
    email = check_email(email)
    name = name.strip()
    if not name or len(name) > 120:
        message = "Enter your name (120 characters at most)."
        raise Invalid(message, code="account.bad_name", fields={"name": message})
    if password is not None:
        check_password(password)
    return email, name


async def sign_up(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    locale: str = "fr",
    next_path: str = "",
    ip: str = "",
) -> None:
    """Sign-up, answered the same whether the address has an account or not (no enumeration).

    A new address gets an unconfirmed account and a link to confirm it (which logs in); an
    address already in use gets a mail telling its owner, and nothing else happens. Both paths
    hash the password, so they take the same time, and both count as a mail to that address
    (throttle.check_mail_request: Throttled).
    """
    email, name = _check_new(email=email, name=name, password=password)
    await throttle.check_mail_request(session, kind="signup", email=email, ip=ip)
    owner = await by_email(session, email)
    if owner is not None:
        await passwords.hash(password)
        await _tell_owner_of_signup(session, owner)
        return
    user = await create_user(
        session,
        email=email,
        name=name,
        password=password,
        role=role,
        locale=locale,
        confirmed=False,
    )
    await send_signup_link(session, user, next_path=next_path)


async def _tell_owner_of_signup(session: AsyncSession, owner: User) -> None:
    base = settings.get().base_url
    body = _(
        "Hello %(name)s,\n\nSomeone tried to create a fair account with your address. "
        "You already have one: log in at %(login)s\nIf you forgot your password, choose a new "
        "one at %(reset)s\n\nIf it was not you, ignore this message: nothing was changed.\n",
        owner.locale,
        name=owner.name,
        login=f"{base}/login",
        reset=f"{base}/reset",
    )
    subject = _("Your fair account", owner.locale)
    await mail.queue(session, to=owner.email, subject=subject, body=body)


async def send_signup_link(session: AsyncSession, user: User, *, next_path: str = "") -> None:
    raw = await _new_link(session, user, kind="signup", lifetime=SIGNUP_LIFETIME)
    link = f"{settings.get().base_url}/signup/confirm/{raw}"
    if next_path:
        link += f"?next={quote(next_path, safe='/')}"
    body = _(
        "Hello %(name)s,\n\nTo finish creating your fair account, confirm your address with "
        "this link (valid 2 days):\n%(link)s\n\nIf you did not ask for it, ignore this "
        "message.\n",
        user.locale,
        name=user.name,
        link=link,
    )
    subject = _("Confirm your fair account", user.locale)
    await mail.queue(session, to=user.email, subject=subject, body=body)


async def confirm_signup(session: AsyncSession, *, token: str) -> User:
    """The owner opened the sign-up link: the account is confirmed (the caller logs in)."""
    reset = await _valid_link(session, token, kinds=("signup",))
    user = await session.get(User, reset.user_id)
    assert user is not None
    reset.used_at = clock.now()
    if user.confirmed_at is None:
        user.confirmed_at = clock.now()
    await session.flush()
    return user


async def authenticate(session: AsyncSession, *, email: str, password: str, ip: str = "") -> User:
    """The user with these credentials; refused (throttle.Throttled) while the delay its recent
    failures impose runs (fair.throttle). Hashing runs off the event loop.

    The caller records a failure with `record_failure` in a transaction of its own, since the
    request's own transaction is rolled back with the error.
    """
    email = login_address(email)
    await throttle.check_login(session, email=email, ip=ip)
    user = await by_email(session, email)
    if not await passwords.verify(user.password_hash if user else passwords.DUMMY_HASH, password):
        user = None
    if user is None or not user.is_active or user.confirmed_at is None:
        raise Invalid(
            "Wrong e-mail address or password. A new account can log in once its address is "
            "confirmed with the link we mailed.",
            status=400,
            code="auth.invalid",
        )
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    await throttle.forget_failures(session, email=email, ip=ip)
    return user


async def record_failure(session: AsyncSession, *, email: str, ip: str) -> None:
    """Remember a failed log-in (fair.throttle counts them)."""
    await throttle.record_failure(session, email=login_address(email), ip=ip)


async def create_organiser(session: AsyncSession, *, by: User, email: str, name: str) -> User:
    """An admin creates an organiser, who receives a link to choose a password."""
    if not permissions.is_admin(by):
        raise Forbidden("Only an administrator can create organisers.")
    user = await create_user(session, email=email, name=name, password=None, role=Role.ORGANISER)
    await send_password_link(session, user, welcome=True)
    return user


async def _new_link(
    session: AsyncSession, user: User, *, kind: str, lifetime: timedelta, raw: str = ""
) -> str:
    """A new single-use link (or printed code: `raw`) for `user`; every older unused link of
    theirs stops working."""
    now = clock.now()
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    if raw:
        digest = tokens.digest(raw)
    else:
        raw, digest = tokens.new_token()
    session.add(
        PasswordReset(user_id=user.id, token_hash=digest, expires_at=now + lifetime, kind=kind)
    )
    await session.flush()
    return raw


async def _valid_link(
    session: AsyncSession, token: str, *, kinds: tuple[str, ...]
) -> PasswordReset:
    reset = await session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == tokens.digest(token))
    )
    if (
        reset is None
        or reset.kind not in kinds
        or reset.used_at is not None
        or reset.expires_at < clock.now()
    ):
        raise Invalid(
            "This link has expired or was already used. Ask for a new one.",
            code="auth.reset_expired",
        )
    return reset


async def send_password_link(
    session: AsyncSession, user: User, *, welcome: bool = False, introduction: str = ""
) -> None:
    """Mail a link to choose a password (a reset, or `welcome` for an account made for them,
    with an `introduction` saying who made it); older links of the user stop working."""
    lifetime = WELCOME_LIFETIME if welcome else RESET_LIFETIME
    raw = await _new_link(session, user, kind="welcome" if welcome else "reset", lifetime=lifetime)
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
        if introduction:
            body += "\n" + introduction + "\n"
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


async def request_password_reset(session: AsyncSession, *, email: str, ip: str = "") -> None:
    """Mail a reset link if the account exists; say nothing either way (no enumeration).

    Rate limited per typed address and per client address (throttle.check_mail_request),
    the same for unknown addresses."""
    email = normalize_email(email)[:254]
    await throttle.check_mail_request(session, kind="reset", email=email, ip=ip)
    user = await by_email(session, email)
    if user is not None and user.is_active:
        await send_password_link(session, user)


async def reset_password(
    session: AsyncSession,
    *,
    token: str,
    password: str,
    kinds: tuple[str, ...] = ("reset", "welcome"),
) -> User:
    """Set a new password from a mailed link (or a printed code: `kinds` ("code",)). Side
    effects: the address counts as confirmed, and every session of the user ends (their sockets
    close); the caller logs in afresh."""
    reset = await _valid_link(session, token, kinds=kinds)
    check_password(password)
    user = await session.get(User, reset.user_id)
    assert user is not None
    reset.used_at = clock.now()
    user.password_hash = await hash_password(password)
    user.auth_version = secrets.token_hex(8)
    if user.confirmed_at is None:
        user.confirmed_at = clock.now()
    await user_sessions.revoke_all(session, user.id)
    await session.flush()
    return user


async def deactivate(session: AsyncSession, user: User, *, by: User) -> None:
    """An administrator closes an account: it can no longer log in, its sessions end and its
    sockets close."""
    if not permissions.is_admin(by):
        raise Forbidden("Only an administrator can deactivate accounts.")
    if user.id == by.id:
        message = "You cannot deactivate your own account."
        raise Conflict(message, code="account.own", fields={"email": message})
    user.is_active = False
    await user_sessions.revoke_all(session, user.id)
    await session.flush()


async def set_locale(session: AsyncSession, user: User, locale: str) -> None:
    if locale in ("fr", "en"):
        user.locale = locale


async def count_by_role(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(User.role, func.count()).group_by(User.role))
    return {role: count for role, count in rows.all()}


async def create_without_mailbox(session: AsyncSession, *, name: str, locale: str = "fr") -> User:
    """A candidate's account for a person without an e-mail address: a login made from their
    name ("marie.dupont.4821"), no password and not confirmed until they use a printed code
    (`new_code`, `redeem_code`)."""
    _email, name = _check_new(email="x@example.fr", name=name, password=None)
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    stem = ".".join(re.findall(r"[a-z]+", plain))[:40] or "compte"
    while True:
        login = f"{stem}.{secrets.randbelow(9000) + 1000}"
        if await by_email(session, f"{login}@{NO_MAILBOX_DOMAIN}") is None:
            break
    return await create_user(
        session,
        email=f"{login}@{NO_MAILBOX_DOMAIN}",
        name=name,
        password=None,
        role=Role.CANDIDATE,
        locale=locale,
        confirmed=False,
    )


def normalize_code(code: str) -> str:
    return re.sub(r"[\s-]+", "", code).upper()


async def new_code(session: AsyncSession, user: User) -> str:
    """A printed one-time code ("ABCD-EFGH-JKLM") with which the person chooses a password and
    logs in, valid 30 days, single use; only its hash is stored, and older codes and links of
    theirs stop working."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    await _new_link(session, user, kind="code", lifetime=CODE_LIFETIME, raw=raw)
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


# Tries at /code per clock minute (fair.rate_limits): from one client address (a workshop's
# room behind one address redeems its codes at once), and on one code.
CODE_TRIES_PER_ADDRESS = 30
CODE_TRIES_PER_CODE = 5
CODE_TRIES = MemoryLimiter()  # this process's counts, when Redis is not there


async def count_code_try(limiter: Limiter, *, ip: str, code: str) -> None:
    """Count a try at redeeming a code; Throttled (429, Retry-After) past either bound. The
    code is counted by its digest (the counter's key names no usable code)."""
    waits = [await limiter.hit(f"code-ip:{ip}", per_minute=CODE_TRIES_PER_ADDRESS)]
    typed = normalize_code(code)[:40]
    if typed:
        key = "code:" + tokens.digest(typed)[:32]
        waits.append(await limiter.hit(key, per_minute=CODE_TRIES_PER_CODE))
    if max(waits):
        raise throttle.Throttled(
            "Too many tries with a code. Wait %(seconds)s seconds and try again.",
            retry_after=max(waits),
        )


async def redeem_code(session: AsyncSession, *, code: str, password: str) -> User:
    """The person typed their printed code and a password: as `reset_password` (the caller
    logs in)."""
    return await reset_password(
        session, token=normalize_code(code)[:40], password=password, kinds=("code",)
    )
