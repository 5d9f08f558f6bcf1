"""Accounts: argon2 hashes, log-in, password reset by e-mailed link, recruiter invitations."""

from __future__ import annotations

import re

from sqlalchemy import select

from fair import db
from fair.enums import Role
from fair.models import EmployerMember, OutboxMail, User
from tests import factories as f
from tests.conftest import CSRF_RE, confirm_signup, csrf, login


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
    mails = await fetch.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == "ana@example.fr").order_by(OutboxMail.id)
    )
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

    # Another recruiter who got hold of the link is refused, and nothing joins.
    intruder = await f.user(session, Role.RECRUITER, email="intruder@example.fr")
    await db.commit(session)
    other = make_client()
    await login(other, intruder.email, f.PASSWORD)
    refused = await other.post(link, data={"csrf_token": await csrf(other, link)})
    assert refused.status_code == 403
    assert "Cette invitation a été envoyée à une autre adresse e-mail." in refused.text

    colleague = make_client()
    token_c = await csrf(colleague, "/signup")
    signed = await colleague.post(
        "/signup",
        data={
            "csrf_token": token_c,
            "role": "recruiter",
            "name": "Col",
            "email": "colleague@example.fr",
            "password": "long enough pass",
            "next": link,
        },
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/signup/sent")
    # The sign-up link carries the invitation back, and logs in.
    confirmed = await confirm_signup(colleague, fetch, "colleague@example.fr")
    assert (confirmed.status_code, confirmed.headers["location"]) == (303, link)
    page = await colleague.get(link)
    assert employer.name in page.text
    token_c = await csrf(colleague, link)
    assert (await colleague.post(link, data={"csrf_token": token_c})).status_code == 303
    members = await fetch.scalars(
        select(EmployerMember.user_id).where(EmployerMember.employer_id == employer.id)
    )
    colleague_user = await fetch.scalar(select(User).where(User.email == "colleague@example.fr"))
    assert sorted(members) == sorted([owner.id, colleague_user.id])
    assert (await colleague.get(link)).status_code == 404  # used once


SIGNUP = {"role": "candidate", "name": "X", "password": "long enough pass"}


async def test_signup_does_not_reveal_a_taken_address(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    await f.user(session, Role.CANDIDATE, email="taken@example.fr", name="Théo")
    await db.commit(session)
    token = await csrf(client, "/signup")
    new = await client.post(
        "/signup", data={"csrf_token": token, **SIGNUP, "email": "new@example.fr"}
    )
    other = make_client()
    token_o = await csrf(other, "/signup")
    taken = await other.post(
        "/signup", data={"csrf_token": token_o, **SIGNUP, "email": "Taken@example.fr"}
    )
    # Exactly the same answer: status, target, no cookie change.
    answers = [
        (r.status_code, r.headers["location"], r.headers.get("set-cookie")) for r in (new, taken)
    ]
    assert answers == [(303, "/signup/sent", None), (303, "/signup/sent", None)]
    pages = [(await c.get("/signup/sent")).text for c in (client, other)]
    assert [CSRF_RE.sub("", page) for page in pages] == [CSRF_RE.sub("", pages[0])] * 2
    assert "Consultez votre messagerie" in pages[0]
    # The new address is not logged in before it is confirmed; the owner of the taken one is
    # told by mail, and their account is untouched.
    assert "/me/applications" not in (await client.get("/")).text
    mails = await fetch.scalars(select(OutboxMail).order_by(OutboxMail.id))
    assert [(m.to_addr, m.subject) for m in mails] == [
        ("new@example.fr", "Confirmez votre compte fair"),
        ("taken@example.fr", "Votre compte fair"),
    ]
    assert "Quelqu’un a essayé de créer un compte fair avec votre adresse" in mails[1].body
    assert "/signup/confirm/" not in mails[1].body
    taken_users = await fetch.scalars(select(User.name).where(User.email == "taken@example.fr"))
    assert taken_users == ["Théo"]
    # An unconfirmed account cannot log in yet; the link confirms and logs in.
    token = await csrf(client)
    early = await client.post(
        "/login",
        data={"csrf_token": token, "email": "new@example.fr", "password": "long enough pass"},
    )
    assert early.status_code == 400
    done = await confirm_signup(client, fetch, "new@example.fr")
    assert (done.status_code, done.headers["location"]) == (303, "/")
    assert "/me/applications" in (await client.get("/")).text
    again = await confirm_signup(make_client(), fetch, "new@example.fr")
    assert again.status_code == 422  # the link serves once
    await login(make_client(), "new@example.fr", "long enough pass")


async def test_signup_refuses_weak_passwords_and_admin_role(client, session, fetch):  # type: ignore[no-untyped-def]
    token = await csrf(client, "/signup")
    refused = {}
    for password in ("            ", "motdepasse", "AZERTYUIOP", "azerty123456", "Soleil2024!!"):
        response = await client.post(
            "/signup",
            data={"csrf_token": token, **SIGNUP, "email": "new@example.fr", "password": password},
        )
        refused[password] = (response.status_code, response.text)
    assert refused["            "][0] == 422
    assert "Le mot de passe ne peut pas être fait que d’espaces." in refused["            "][1]
    for password in ("motdepasse", "AZERTYUIOP", "azerty123456", "Soleil2024!!"):
        assert refused[password][0] == 422, password
        assert "Ce mot de passe est l’un des plus utilisés" in refused[password][1], password
    sneaky = await client.post(
        "/signup",
        data={"csrf_token": token, **SIGNUP, "role": "admin", "email": "new@example.fr"},
    )
    assert sneaky.status_code == 422
    assert await fetch.scalar(select(User).where(User.email == "new@example.fr")) is None
    assert await fetch.scalars(select(OutboxMail)) == []
