"""Administration pages: creating organisers, account counts, the outbox."""

from __future__ import annotations

import re

from sqlalchemy import select

from fair import db, mail
from fair.enums import Role
from fair.models import OutboxMail, User
from tests import factories as f
from tests.conftest import csrf
from tests.pages import as_user, text


async def read(app, query):  # type: ignore[no-untyped-def]
    """Rows through a fresh session, so the test sees what the request committed."""
    async with app.state.read_sessions() as s:
        return list((await s.scalars(query)).all())


async def post(client, path: str, data: dict, token: bool = True):  # type: ignore[no-untyped-def,type-arg]
    payload = dict(data)
    if token:
        payload["csrf_token"] = await csrf(client, "/login")
    return await client.post(path, data=payload)


async def test_admin_home_counts_accounts(client, session):
    await f.user(session, Role.CANDIDATE)
    await f.user(session, Role.CANDIDATE)
    await f.user(session, Role.RECRUITER)
    await as_user(client, session, Role.ADMIN)

    page = await client.get("/admin")

    assert page.status_code == 200
    shown = text(page.text)
    assert "Accounts Role Accounts Administrator 1 Organiser 0 Recruiter 1 Candidate 2" in shown
    assert '<label for="f-email">E-mail address' in page.text
    assert 'href="/admin/outbox"' in page.text
    token = await csrf(client, "/admin")
    # Log-out, language, new organiser, deactivation.
    found = re.findall(r'name="csrf_token" value="([^"]*)"', page.text)
    assert found == [found[0]] * 4 and found[0] not in ("", token)  # masked afresh per page


async def test_admin_creates_an_organiser(app, client, session):
    await as_user(client, session, Role.ADMIN)

    response = await post(
        client, "/admin/organisers", {"name": "Odile Martin", "email": " Odile@Example.fr "}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    [user] = await read(app, select(User).where(User.role == Role.ORGANISER))
    assert (user.email, user.name, user.is_active) == ("odile@example.fr", "Odile Martin", True)
    [sent] = await read(app, select(OutboxMail))
    assert sent.to_addr == "odile@example.fr"
    assert re.search(r"https?://[^/\s]+/reset/[A-Za-z0-9_-]+\n", sent.body), sent.body
    page = await client.get(response.headers["location"])
    shown = text(page.text)
    assert "The organiser account was created." in shown
    assert "Organiser 1" in shown


async def test_new_organiser_sets_a_password_and_logs_in(app, client, make_client, session):
    await as_user(client, session, Role.ADMIN)
    await post(client, "/admin/organisers", {"name": "Odile Martin", "email": "odile@example.fr"})
    [sent] = await read(app, select(OutboxMail))
    link = re.search(r"/reset/[A-Za-z0-9_-]+", sent.body)[0]  # type: ignore[index]

    organiser = make_client()
    organiser.cookies.set("lang", "en")
    response = await post(organiser, link, {"password": "a brand new password"})

    assert response.status_code == 303
    assert response.headers["location"] == "/organiser"
    assert "You do not organise any edition yet." in text((await organiser.get("/organiser")).text)


async def test_invalid_organiser_is_shown_again(app, client, session):
    await as_user(client, session, Role.ADMIN)

    response = await post(client, "/admin/organisers", {"name": "", "email": "odile@example.fr"})

    assert response.status_code == 422
    assert "There is a problem This field is required." in text(response.text)
    assert 'value="odile@example.fr"' in response.text
    assert await read(app, select(User).where(User.role == Role.ORGANISER)) == []
    assert await read(app, select(OutboxMail)) == []


async def test_taken_email_is_a_conflict(app, client, session):
    taken = await f.user(session, Role.CANDIDATE)
    await as_user(client, session, Role.ADMIN)

    response = await post(client, "/admin/organisers", {"name": "Odile", "email": taken.email})

    assert response.status_code == 409
    assert "An account already uses this e-mail address." in text(response.text)
    assert 'value="Odile"' in response.text
    assert await read(app, select(OutboxMail)) == []


async def test_outbox_shows_recent_mail_escaped(client, session):
    await mail.queue(
        session, to="a@example.fr", subject="Premier <message>", body="<script>x()</script>"
    )
    await mail.queue(session, to="b@example.fr", subject="Second", body="Ligne 1\nLigne 2")
    await as_user(client, session, Role.ADMIN)

    page = await client.get("/admin/outbox")

    assert page.status_code == 200
    assert "<script>x()" not in page.text
    assert "<pre>&lt;script&gt;x()&lt;/script&gt;</pre>" in page.text
    assert "<pre>Ligne 1\nLigne 2</pre>" in page.text
    assert re.findall(r'<h2 id="mail-\d+">([^<]+)</h2>', page.text) == [
        "Second",
        "Premier &lt;message&gt;",
    ]
    assert "To b@example.fr" in text(page.text)


async def test_non_admins_are_refused(app, make_client, session):
    await db.commit(session)
    for role in (Role.ORGANISER, Role.RECRUITER, Role.CANDIDATE):
        client = make_client()
        await as_user(client, session, role)
        for path in ("/admin", "/admin/outbox"):
            page = await client.get(path)
            assert page.status_code == 403, (role, path)
            assert "This page is for administrators." in text(page.text)
        response = await post(client, "/admin/organisers", {"name": "X", "email": "x@example.fr"})
        assert response.status_code == 403
    assert await read(app, select(User).where(User.email == "x@example.fr")) == []


async def test_anonymous_is_sent_to_log_in(client):
    response = await client.get("/admin")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin"


async def test_missing_csrf_token_is_refused(app, client, session):
    await as_user(client, session, Role.ADMIN)

    response = await post(
        client, "/admin/organisers", {"name": "X", "email": "x@example.fr"}, token=False
    )

    assert response.status_code == 403
    assert await read(app, select(User).where(User.role == Role.ORGANISER)) == []
