"""200 candidates book one interview slot at the same moment, through two server processes.

Two uvicorn servers share one PostgreSQL database (and Redis); the 200 booking forms are
posted concurrently, alternately to each server. Exactly one booking is made; everyone else
gets 409 "slot taken" with the next free slots. Sessions are signed cookies made with the
servers' own secret (logging 200 people in would only measure argon2).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from base64 import urlsafe_b64encode
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from fair import applications, clock, db, interviews, settings, user_sessions
from fair.enums import ApplicationStatus, InterviewMode
from fair.models import Interview, User
from tests import factories as f
from tests.server_processes import (
    NEEDS_POSTGRESQL_AND_REDIS,
    SHARED_REDIS,
    servers,
    session_cookie,
)

pytestmark = NEEDS_POSTGRESQL_AND_REDIS

ATTEMPTS = 200


def masked(secret: str) -> str:
    """A CSRF token as a page shows it (web.auth.csrf_token: pad, then pad XOR secret)."""
    raw = secret.encode()
    pad = secrets.token_bytes(len(raw))
    return urlsafe_b64encode(pad + bytes(a ^ b for a, b in zip(pad, raw, strict=True))).decode()


async def test_two_hundred_bookings_of_one_slot_on_two_servers(
    database_url: str,
    tmp_path: Path,
) -> None:
    conf = settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)})
    settings.override(conf)
    clock.set_now(None)
    engine = db.create_engine(database_url)
    people: list[tuple[int, str, str]] = []
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session, title="Forum course")
            booth, recruiter = await f.booth(session, edition_=edition)
            tomorrow = (clock.now().astimezone(f.PARIS) + timedelta(days=1)).date()
            data = interviews.AvailabilityInput(
                day=tomorrow,
                start=f.day_at(tomorrow, 9).time(),
                end=f.day_at(tomorrow, 12).time(),
                length_minutes=30,
                buffer_minutes=0,
                modes=frozenset(InterviewMode),
                staff_id=recruiter.id,
            )
            slots = await interviews.publish_availability(
                session, by=recruiter, booth=booth, data=data
            )
            offer = await f.offer(session, booth_=booth)
            for _ in range(ATTEMPTS):
                application = await f.application(session, offer_=offer, can_log_in=False)
                await applications.set_status(
                    session, application, ApplicationStatus.SHORTLISTED, by=recruiter
                )
                invitation = await interviews.invite(session, by=recruiter, application=application)
                candidate = await session.get(User, application.candidate_id)
                assert candidate is not None
                key = await user_sessions.start(session, candidate)
                people.append((invitation.id, key, secrets.token_urlsafe(16)))
            await session.commit()
            target = slots[1]
            others = [s.starts_at.astimezone(f.PARIS).strftime("%H:%M") for s in slots[2:4]]

        # The pool waits as long as 200 simultaneous bookings need: this test is about who gets
        # the slot; the 2 s pool ceiling (503 + Retry-After) has its own tests (test_db_faults).
        # No admission caps: 200 candidates arriving at once without the admission cookie press
        # the default per-minute cap, and the gate sends those past it to the waiting line
        # (test_admission*), which is not what is tested here.
        uncapped = {"FAIR_ADMISSION_ACTIVE_CAP": "0", "FAIR_ADMISSION_ARRIVALS_PER_MINUTE": "0"}
        async with servers(
            database_url, SHARED_REDIS, 2, FAIR_DB_POOL_TIMEOUT="30", **uncapped
        ) as (one, two):

            async def attempt(i: int, invitation_id: int, key: str, csrf: str) -> httpx.Response:
                server = (one, two)[i % 2]
                cookie = session_cookie(conf.secret_key, key, csrf)
                async with httpx.AsyncClient(base_url=server.url) as client:
                    return await client.post(
                        f"/me/invitations/{invitation_id}/book",
                        data={"csrf_token": masked(csrf), "slot": str(target.id), "mode": "video"},
                        headers={"cookie": f"fair_session={cookie}; lang=en"},
                        timeout=120,
                    )

            responses = await asyncio.gather(
                *(attempt(i, inv, key, csrf) for i, (inv, key, csrf) in enumerate(people))
            )
        codes = [r.status_code for r in responses]
        assert codes.count(303) == 1, sorted(set(codes))
        assert codes.count(409) == ATTEMPTS - 1
        refused = next(r for r in responses if r.status_code == 409)
        text = re.sub(r"\s+", " ", refused.text)
        assert "This slot has just been taken" in text
        assert all(time in text for time in others), others  # the next free slots are offered
        async with db.sessionmaker(engine)() as session:
            booked = list(
                await session.scalars(
                    select(Interview).where(
                        Interview.slot_id == target.id, Interview.active_key == 1
                    )
                )
            )
        assert len(booked) == 1
    finally:
        await engine.dispose()
        settings.override(None)
