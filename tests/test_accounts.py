"""Accounts: argon2 hashes, log-in, password reset by e-mailed link, recruiter invitations."""

from __future__ import annotations

import re

from sqlalchemy import select

from fair import db
from fair.enums import Role
from fair.models import EmployerMember, OutboxMail, User
from tests import factories as f
from tests.conftest import csrf, login


async def test_hash_login_and_reset(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE, email="Ana@Example.fr")
    await db.commit(session)
    stored = await fetch.scalar(select(User).where(User.email == "ana@example.fr"))
    assert stored.password_hash.startswith("$argon2id$")

    token = await csrf(client)
    bad = await client.post(
        "/login", data={"csrf_token": token, "email": "ana@example.fr", "password": "nope"}
    )
    assert bad.status_code == 400 and 'value="ana@example.fr"' in bad.text
    await login(client, "ANA@example.fr", f.PASSWORD)
    assert "/me/applications" in (await client.get("/")).text

    other = make_client()
    token = await csrf(other, "/reset")
    await other.post("/reset", data={"csrf_token": token, "email": "ana@example.fr"})
    await other.post("/reset", data={"csrf_token": token, "email": "nobody@example.fr"})
    mails = await fetch.scalars(select(OutboxMail).where(OutboxMail.to_addr == "ana@example.fr"))
    assert len(mails) == 1
    link = re.search(r"/reset/[\w-]+", mails[0].body).group(0)
    assert (
        await other.post(link, data={"csrf_token": token, "password": "short"})
    ).status_code == 422
    done = await other.post(link, data={"csrf_token": token, "password": "a brand new secret"})
    assert done.status_code == 303
    # The reset logged out every other session, and the link cannot serve twice.
    assert "/me/applications" not in (await client.get("/")).text
    again = await other.post(
        link, data={"csrf_token": await csrf(other, "/"), "password": "another one again"}
    )
    assert again.status_code == 422
    fresh = make_client()
    await login(fresh, "ana@example.fr", "a brand new secret")
    assert user.id


async def test_recruiter_invitation(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    owner = await f.user(session, Role.RECRUITER)
    employer = await f.employer(session, by=owner)
    await db.commit(session)
    await login(client, owner.email, f.PASSWORD)
    token = await csrf(client, f"/recruiter/employers/{employer.id}")
    response = await client.post(
        f"/recruiter/employers/{employer.id}/invite",
        data={"csrf_token": token, "email": "colleague@example.fr"},
    )
    assert response.status_code == 303
    mail = await fetch.scalar(
        select(OutboxMail).where(OutboxMail.to_addr == "colleague@example.fr")
    )
    link = re.search(r"/invitations/[\w-]+", mail.body).group(0)

    colleague = make_client()
    token_c = await csrf(colleague, "/signup")
    await colleague.post(
        "/signup",
        data={
            "csrf_token": token_c,
            "role": "recruiter",
            "name": "Col",
            "email": "colleague@example.fr",
            "password": "long enough pass",
        },
    )
    page = await colleague.get(link)
    assert employer.name in page.text
    token_c = await csrf(colleague, link)
    assert (await colleague.post(link, data={"csrf_token": token_c})).status_code == 303
    members = await fetch.scalars(
        select(EmployerMember.is_owner).where(EmployerMember.employer_id == employer.id)
    )
    assert sorted(members) == [False, True]
    assert (await colleague.get(link)).status_code == 404  # used once


async def test_signup_refuses_taken_email_and_admin_role(client, session, fetch):  # type: ignore[no-untyped-def]
    await f.user(session, Role.CANDIDATE, email="taken@example.fr")
    await db.commit(session)
    token = await csrf(client, "/signup")
    taken = await client.post(
        "/signup",
        data={
            "csrf_token": token,
            "role": "candidate",
            "name": "X",
            "email": "taken@example.fr",
            "password": "long enough pass",
        },
    )
    assert taken.status_code == 409
    sneaky = await client.post(
        "/signup",
        data={
            "csrf_token": token,
            "role": "admin",
            "name": "X",
            "email": "new@example.fr",
            "password": "long enough pass",
        },
    )
    assert sneaky.status_code == 422
    assert await fetch.scalar(select(User).where(User.email == "new@example.fr")) is None


async def test_password_guessing_is_slowed_down(client, session, fetch):  # type: ignore[no-untyped-def]
    from fair import accounts
    from fair.models import LoginFailure

    await f.user(session, Role.CANDIDATE, email="target@example.fr")
    await db.commit(session)
    token = await csrf(client)
    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        bad = await client.post(
            "/login", data={"csrf_token": token, "email": "target@example.fr", "password": "guess"}
        )
        assert bad.status_code == 400
    # Even the right password is refused until the window has passed.
    blocked = await client.post(
        "/login", data={"csrf_token": token, "email": "target@example.fr", "password": f.PASSWORD}
    )
    assert blocked.status_code == 429
    assert "15 minutes" in blocked.text
    assert len(await fetch.scalars(select(LoginFailure))) == accounts.MAX_FAILURES_PER_EMAIL

    from datetime import timedelta

    from fair import clock

    clock.set_now(clock.now() + timedelta(minutes=16))
    await login(client, "target@example.fr", f.PASSWORD)
