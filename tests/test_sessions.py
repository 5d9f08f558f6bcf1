"""Server-side sessions: log-out really ends a session, "log out everywhere", expiry, the
last-seen time, and private pages kept out of caches."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from sqlalchemy import select

from fair import accounts, clock, db, user_sessions
from fair.enums import Role
from fair.models import User, UserSession
from tests import factories as f
from tests.conftest import csrf, login
from tests.statements import listening

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)


async def test_a_cookie_saved_before_log_out_opens_nothing(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE)
    await db.commit(session)
    await login(client, user.email, f.PASSWORD)
    saved = client.cookies["fair_session"]
    assert (await client.get("/me/profile")).status_code == 200
    token = await csrf(client, "/me/profile")
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303

    thief = make_client()
    thief.cookies.set("fair_session", saved)
    page = await thief.get("/me/profile")
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/me/profile")
    rows = await fetch.scalars(select(UserSession).where(UserSession.user_id == user.id))
    assert [row.revoked_at is not None for row in rows] == [True]


async def test_log_out_everywhere(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.RECRUITER)
    other = await f.user(session, Role.CANDIDATE)
    await db.commit(session)
    client.headers["user-agent"] = CHROME
    await login(client, user.email, f.PASSWORD)
    phone = make_client()
    phone.headers["user-agent"] = "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Firefox/121.0"
    await login(phone, user.email, f.PASSWORD)
    bystander = make_client()
    await login(bystander, other.email, f.PASSWORD)

    page = await client.get("/account/sessions")
    assert page.status_code == 200
    assert "Chrome · Windows <strong>(ce navigateur)</strong>" in page.text
    assert "Firefox · Android</td>" in page.text
    # Without its CSRF token the form is refused and nothing ends.
    forged = await client.post("/account/sessions/end-all", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert (await phone.get("/recruiter")).status_code == 200

    token = await csrf(client, "/account/sessions")
    done = await client.post("/account/sessions/end-all", data={"csrf_token": token})
    assert (done.status_code, done.headers["location"]) == (303, "/login")
    for browser in (client, phone):
        assert (await browser.get("/recruiter")).status_code == 303
    assert (await bystander.get("/me/profile")).status_code == 200
    live = await fetch.scalars(select(UserSession.user_id).where(UserSession.revoked_at.is_(None)))
    assert live == [other.id]


async def test_reset_and_deactivation_end_every_session(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE)
    admin = await f.user(session, Role.ADMIN)
    await db.commit(session)
    await login(client, user.email, f.PASSWORD)
    async with db.unit_of_work(client._transport.app.state.write_sessions) as s:  # type: ignore[attr-defined]
        target = await s.get(User, user.id)
        by = await s.get(User, admin.id)
        await accounts.deactivate(s, target, by=by)
    assert (await client.get("/me/profile")).status_code == 303
    refused = make_client()
    token = await csrf(refused)
    answer = await refused.post(
        "/login", data={"csrf_token": token, "email": user.email, "password": f.PASSWORD}
    )
    assert answer.status_code == 400


async def test_idle_sessions_end_and_last_seen_is_written_sparingly(client, session, fetch, app):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE)
    await db.commit(session)
    start = clock.now()
    clock.set_now(start)
    await login(client, user.email, f.PASSWORD)

    async def last_seen():  # type: ignore[no-untyped-def]
        return await fetch.scalar(select(UserSession.last_seen_at))

    clock.set_now(start + timedelta(minutes=3))
    assert (await client.get("/me/profile")).status_code == 200
    assert await last_seen() == start  # not written again within five minutes
    clock.set_now(start + timedelta(minutes=6))
    assert (await client.get("/me/profile")).status_code == 200
    assert await last_seen() == start + timedelta(minutes=6)
    # Fourteen days without a visit end it, whatever the cookie says.
    clock.set_now(start + timedelta(minutes=6, days=14, seconds=1))
    assert (await client.get("/me/profile")).status_code == 303


async def test_finding_the_user_is_one_read(client, session, app):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE)
    await db.commit(session)
    await login(client, user.email, f.PASSWORD)
    # The signed cookie's payload (itsdangerous: base64 JSON, then timestamp and signature).
    payload = client.cookies["fair_session"].split(".")[0]
    cookie = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert sorted(cookie) == ["csrf", "sid"]
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = app.state.engine.sync_engine
    async with app.state.read_sessions() as s:
        with listening(engine, "before_cursor_execute", count):
            found = await user_sessions.session_user(s, cookie)
    assert found is not None and found.id == user.id
    reads = [statement for statement in seen if statement != "BEGIN"]  # SQLite's own BEGIN
    assert len(reads) == 1, reads
    assert "JOIN users ON" in reads[0] and "user_sessions.key_hash = " in reads[0]


async def test_private_pages_are_not_stored(client, session):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE)
    await db.commit(session)
    public = await client.get("/")
    assert "no-store" not in public.headers.get("cache-control", "")
    await login(client, user.email, f.PASSWORD)
    for path, status in (("/", 200), ("/me/profile", 200), ("/offers/999999", 404)):
        response = await client.get(path)
        assert (response.status_code, response.headers["cache-control"]) == (status, "no-store")


async def test_an_administrator_deactivates_an_account(client, make_client, session, fetch):  # type: ignore[no-untyped-def]
    admin = await f.user(session, Role.ADMIN)
    user = await f.user(session, Role.RECRUITER, email="gone@example.fr")
    await db.commit(session)
    victim = make_client()
    await login(victim, user.email, f.PASSWORD)
    await login(client, admin.email, f.PASSWORD)
    token = await csrf(client, "/admin")
    own = await client.post(
        "/admin/accounts/deactivate", data={"csrf_token": token, "email": admin.email}
    )
    assert own.status_code == 409
    message = "Vous ne pouvez pas désactiver votre propre compte."
    assert f'href="#f-deactivate-email">{message}' in own.text
    unknown = await client.post(
        "/admin/accounts/deactivate", data={"csrf_token": token, "email": "nobody@example.fr"}
    )
    assert unknown.status_code == 404
    done = await client.post(
        "/admin/accounts/deactivate", data={"csrf_token": token, "email": "Gone@example.fr"}
    )
    assert (done.status_code, done.headers["location"]) == (303, "/admin")
    assert (await victim.get("/recruiter")).status_code == 303
    stored = await fetch.get(User, user.id)
    assert stored.is_active is False
    revoked = await fetch.scalars(
        select(UserSession.revoked_at.is_not(None)).where(UserSession.user_id == user.id)
    )
    assert revoked == [True]


def test_user_agents_are_summarised_never_stored_raw() -> None:
    from fair.user_sessions import summarize

    edge = CHROME + " Edg/120.0"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1"
    assert [summarize(ua) for ua in (CHROME, edge, iphone, "curl/8.4", "")] == [
        "Chrome · Windows",
        "Edge · Windows",
        "Safari · iPhone",
        "",
        "",
    ]
