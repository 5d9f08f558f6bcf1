"""Decide, roll back, then render (fair.web.auth.page and release, templating.Deferred), and a
clear 503 when every database connection is taken (fair.web.errors.busy)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import time
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import await_only
from starlette.requests import Request

from fair import clock, db, interviews
from fair.app import create_app
from fair.web.templating import Deferred, render
from tests.conftest import csrf
from tests.factories import NOON, availability, invited, live_booth
from tests.pages import person
from tests.statements import listening


class SlotLockProbe:
    """While the request reads the refused booking's page (its calendar_feeds query), try to
    take the slot's lock from another connection, without waiting: True if it could."""

    def __init__(self, url: str, slot_id: int) -> None:
        self.url, self.slot_id = url, slot_id
        self.results: list[bool] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "calendar_feeds" in statement:
            self.results.append(self.try_lock())

    def try_lock(self) -> bool:
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            other = sqlite3.connect(str(url.database), timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                return True
            except sqlite3.OperationalError:  # database is locked
                return False
            finally:
                other.close()
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return bool(await_only(self._pg_lock(dsn)))

    async def _pg_lock(self, dsn: str) -> bool:
        other = await asyncpg.connect(dsn)
        try:
            async with other.transaction():
                await other.fetch(
                    "SELECT id FROM interview_slots WHERE id = $1 FOR UPDATE NOWAIT", self.slot_id
                )
            return True
        except asyncpg.exceptions.LockNotAvailableError:
            return False
        finally:
            await other.close()


async def test_a_refused_booking_lets_go_of_the_slot_before_reading_its_page(
    app, session: AsyncSession, make_client, conf
) -> None:  # type: ignore[no-untyped-def]
    """Item 28: the taken slot's lock (FOR UPDATE; SQLite's write lock) is released before the
    'My interviews' page is read and rendered, so refusals are not served one at a time."""
    clock.set_now(NOON)
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter, end=time(12, 0))
    )
    first_invitation, first = await invited(session, booth, recruiter)
    second_invitation, second = await invited(session, booth, recruiter)
    await db.commit(session)
    one, two = await person(make_client, first), await person(make_client, second)
    token_one = await csrf(one, "/me/interviews")
    token_two = await csrf(two, "/me/interviews")
    response = await one.post(
        f"/me/invitations/{first_invitation.id}/book",
        data={"csrf_token": token_one, "slot": str(slots[0].id), "mode": "video"},
    )
    assert response.status_code == 303

    probe = SlotLockProbe(conf.database_url, slots[0].id)
    with listening(app.state.engine.sync_engine, "before_cursor_execute", probe):
        response = await two.post(
            f"/me/invitations/{second_invitation.id}/book",
            data={"csrf_token": token_two, "slot": str(slots[0].id), "mode": "video"},
        )
    assert response.status_code == 409
    assert "This slot has just been taken. Choose another one." in response.text
    assert probe.results == [True]


async def test_an_error_page_is_rendered_only_when_sent(app) -> None:  # type: ignore[no-untyped-def]
    """The page decorator rolls back between the handler's return and the response being
    sent: an error page's HTML is built then, not before."""
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "app": app}
    scope["session"] = {}
    request = Request(scope)
    request.state.user = None
    context = {"status": 409, "title": "Busy", "message": "Refused", "code": "x.y"}
    response = render(request, "errors/error.html", context, status=409)
    assert isinstance(response, Deferred)
    assert (response.body, response.headers["content-length"]) == (b"", "0")
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    await response(scope, receive, send)
    body = sent[1]["body"].decode()
    assert sent[0]["status"] == 409
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(sent[1]["body"])).encode()
    assert "Refused" in body and "<html" in body


async def test_every_connection_taken_answers_503_with_retry_after(conf) -> None:  # type: ignore[no-untyped-def]
    """Item 28: pool exhaustion is a clear, translated 503 with Retry-After, never a 500."""
    tiny = replace(conf, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2)
    application = create_app(tiny)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/")).status_code == 200
            async with application.state.engine.connect() as held:
                await held.execute(text("SELECT 1"))  # the only connection, kept
                french = await client.get("/")
                client.cookies.set("lang", "en")
                english = await client.get("/")
                api = await client.get("/", headers={"accept": "application/json"})
            assert (await client.get("/")).status_code == 200  # free again
    assert (french.status_code, french.headers["retry-after"]) == (503, "5")
    assert "La plateforme est très sollicitée" in french.text
    assert 'data-code="server.busy"' in french.text  # the page's code, for scripts (bench/surge.py)
    assert (english.status_code, english.headers["retry-after"]) == (503, "5")
    assert (
        "The platform is very busy right now and could not handle your request. Nothing was "
        "saved: please try again in a few seconds."
    ) in english.text
    assert (api.status_code, api.headers["retry-after"]) == (503, "5")
    assert api.json()["error"]["code"] == "server.busy"
