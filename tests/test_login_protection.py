"""Login protection (fair.throttle, README "Login protection"): progressive delays, never a
lock-out of a correct password; the client address behind trusted proxies only; password
resets rate limited, a new one voiding older links. The clock is set, never slept."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from fair import accounts, clock, db, settings
from fair.enums import Role
from fair.models import LoginFailure, OutboxMail
from tests import factories as f
from tests.conftest import csrf

PEER = "127.0.0.1"  # httpx's ASGI transport's client address


async def attempt(client, email: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    token = await csrf(client)
    return await client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password},
        headers=headers,
    )


def advance(seconds: float) -> None:
    clock.set_now(clock.now() + timedelta(seconds=seconds))


async def record(app, count: int, *, email: str = "", ip: str = PEER) -> None:  # type: ignore[no-untyped-def]
    """`count` failures, through the domain function the login page uses."""
    async with db.unit_of_work(app.state.write_sessions) as session:
        for n in range(count):
            await accounts.record_failure(session, email=email or f"guess{n}@example.fr", ip=ip)


async def test_ten_wrong_passwords_delay_the_owner_briefly(client, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE, email="owner@example.fr")
    await db.commit(session)
    clock.set_now(clock.now())
    waits = []
    for _ in range(10):
        wrong = await attempt(client, user.email, "not my password")
        waits.append(int(wrong.headers["retry-after"]) if wrong.status_code == 429 else 0)
        if waits[-1]:
            advance(waits[-1] - 1)
            assert (await attempt(client, user.email, "x")).headers["retry-after"] == "1"
            advance(1)
            wrong = await attempt(client, user.email, "not my password")
        assert wrong.status_code == 400
    # Free for three mistakes, then 1, 2, 4 … seconds (this account from this address).
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64]
    right = await attempt(client, user.email, f.PASSWORD)
    assert (right.status_code, right.headers["retry-after"]) == (429, "128")
    assert len(await fetch.scalars(select(LoginFailure))) == 10  # refusals are not failures


async def test_the_owner_logs_in_once_the_delay_has_passed(client, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE, email="owner@example.fr")
    await db.commit(session)
    clock.set_now(clock.now())
    await record(client._transport.app, 10, email=user.email)  # type: ignore[attr-defined]
    refused = await attempt(client, user.email, f.PASSWORD)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "128")
    assert "Trop de tentatives échouées. Attendez 128 secondes avant de réessayer" in refused.text
    advance(127)
    assert (await attempt(client, user.email, f.PASSWORD)).headers["retry-after"] == "1"
    advance(1)
    welcome = await attempt(client, user.email, f.PASSWORD)
    assert welcome.status_code == 303
    # The success forgets this address's failures on the account.
    assert await fetch.scalars(select(LoginFailure)) == []


async def test_a_guesser_elsewhere_delays_the_owner_a_minute_at_most(client, session, app):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE, email="owner@example.fr")
    await db.commit(session)
    clock.set_now(clock.now())
    for n in range(50):
        await record(app, 1, email=user.email, ip=f"203.0.113.{n}")
    refused = await attempt(client, user.email, f.PASSWORD)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "60")
    advance(60)
    assert (await attempt(client, user.email, f.PASSWORD)).status_code == 303


async def test_a_busy_shared_address_locks_nobody_out(client, make_client, session, app):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE, email="visitor@example.fr")
    await db.commit(session)
    clock.set_now(clock.now())
    # 99 failures on other accounts from the job centre's one address: no delay for others.
    await record(app, 99)
    assert (await attempt(client, user.email, f.PASSWORD)).status_code == 303
    # Far more: a short wait (30 seconds at most), then the right password works.
    await record(app, 200)
    later = make_client()
    refused = await attempt(later, user.email, f.PASSWORD)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "30")
    advance(30)
    assert (await attempt(later, user.email, f.PASSWORD)).status_code == 303


async def test_forwarded_for_counts_only_from_a_trusted_proxy(client, session, fetch, conf):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE, email="owner@example.fr")
    await db.commit(session)
    spoofed = {"x-forwarded-for": "198.51.100.7"}
    await attempt(client, user.email, "wrong password", **spoofed)
    settings.override(replace(conf, trusted_proxies=("127.0.0.0/8",)))
    try:
        await attempt(client, user.email, "wrong password", **spoofed)
        # Hops appended by trusted proxies are skipped; what a client wrote before is not read.
        chained = {"x-forwarded-for": "10.9.9.9, 198.51.100.8, 127.0.0.2"}
        await attempt(client, user.email, "wrong password", **chained)
    finally:
        settings.override(conf)
    ips = await fetch.scalars(select(LoginFailure.ip).order_by(LoginFailure.id))
    assert ips == [PEER, "198.51.100.7", "198.51.100.8"]


def test_trusted_proxies_setting() -> None:
    loaded = settings.load({"FAIR_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ::1"})
    assert loaded.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    try:
        settings.load({"FAIR_TRUSTED_PROXIES": "proxy.local"})
    except settings.SettingsError as error:
        assert "FAIR_TRUSTED_PROXIES" in str(error)
    else:
        raise AssertionError("a host name was accepted")


async def test_resets_are_rate_limited_and_void_older_links(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE, email="owner@example.fr")
    await db.commit(session)
    clock.set_now(clock.now())
    token = await csrf(client, "/reset")

    async def ask(email: str, browser=client):  # type: ignore[no-untyped-def]
        return await browser.post("/reset", data={"csrf_token": token, "email": email})

    for _ in range(3):
        assert (await ask("owner@example.fr")).status_code == 200
        advance(60)
    refused = await ask("Owner@example.fr")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, str(3600 - 180))
    assert "Trop de demandes de nouveau mot de passe. Attendez 57 minutes" in refused.text
    # An unknown address is limited the same way (the answer reveals nothing).
    for _ in range(3):
        assert (await ask("nobody@example.fr")).status_code == 200
    assert (await ask("nobody@example.fr")).status_code == 429

    mails = await fetch.scalars(
        select(OutboxMail.body).where(OutboxMail.to_addr == user.email).order_by(OutboxMail.id)
    )
    links = [re.search(r"/reset/[\w-]+", body).group(0) for body in mails]  # type: ignore[union-attr]
    assert len(links) == 3
    # Only the newest link works.
    for link in links[:2]:
        old = await client.post(link, data={"csrf_token": token, "password": "une phrase neuve"})
        assert old.status_code == 422
    new = await client.post(links[2], data={"csrf_token": token, "password": "une phrase neuve"})
    assert new.status_code == 303

    # Twenty requests an hour from one client address, whatever the addresses typed.
    advance(3601)
    other = make_client()
    token = await csrf(other, "/reset")
    for n in range(20):
        assert (await ask(f"someone{n}@example.fr", other)).status_code == 200
    assert (await ask("someone-else@example.fr", other)).status_code == 429


async def test_signups_mail_an_address_thrice_an_hour(client, session, fetch):  # type: ignore[no-untyped-def]
    await f.user(session, Role.CANDIDATE, email="taken@example.fr")
    await db.commit(session)
    clock.set_now(clock.now())
    token = await csrf(client, "/signup")
    form = {"csrf_token": token, "role": "candidate", "name": "X", "password": "long enough pass"}
    answers = {}
    for email in ("taken@example.fr", "new@example.fr"):
        answers[email] = [
            (await client.post("/signup", data={**form, "email": email})).status_code
            for _ in range(4)
        ]
    # The same for an address with an account and one without: nothing is revealed.
    assert answers == {"taken@example.fr": [303] * 3 + [429], "new@example.fr": [303] * 3 + [429]}
    mails = await fetch.scalars(select(OutboxMail.to_addr).order_by(OutboxMail.id))
    assert mails == ["taken@example.fr"] * 3 + ["new@example.fr"] * 3
    # A reset counts against the same mailbox's budget.
    token = await csrf(client, "/reset")
    refused = await client.post("/reset", data={"csrf_token": token, "email": "taken@example.fr"})
    assert refused.status_code == 429
