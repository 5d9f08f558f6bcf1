"""Interview rooms (fair.interviews.rooms and its page) on SQLite and PostgreSQL: who may enter
and when, entry tokens, admission, modes, the phone number, chat, ICE servers (fair.ice)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, db, employers, events, ice, settings
from fair.enums import InterviewMode, InterviewStatus, Role
from fair.errors import FairError
from fair.interviews import rooms
from fair.models import CandidateProfile, Interview, RoomMessage, User
from tests import factories as f
from tests.conftest import csrf, login
from tests.factories import NOON

START = datetime(2026, 3, 10, 14, 0, tzinfo=f.PARIS)  # 13:00 UTC; the room opens at 13:50 Paris


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


@dataclass
class Room:
    interview: Interview
    candidate: User
    recruiter: User
    colleague: User
    stranger: User


async def booked(session: AsyncSession, **kw: object) -> Room:
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    candidate = await f.candidate(session, name="Awa Diallo")
    interview = await f.interview(
        session,
        booth_=booth,
        recruiter=recruiter,
        candidate_=candidate,
        starts_at=START,
        **kw,  # type: ignore[arg-type]
    )
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    stranger = await f.candidate(session)
    events.take(session)
    return Room(interview, candidate, recruiter, colleague, stranger)


def at(minutes: float) -> datetime:
    """`minutes` after the interview's start (negative: before)."""
    return START + timedelta(minutes=minutes)


async def error_of(awaitable) -> tuple[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    with pytest.raises(FairError) as raised:
        await awaitable
    return raised.value.code, raised.value.params


def queued(session: AsyncSession) -> list[tuple[str, str, dict[str, object]]]:
    return [(e.channel, e.event, e.payload) for e in events.take(session)]


# Entering --------------------------------------------------------------------------------------


async def test_only_the_two_people_enter_and_only_around_the_slot(session: AsyncSession) -> None:
    room = await booked(session)
    iid = room.interview.id

    async def enter(user: User, minutes: float):  # type: ignore[no-untyped-def]
        return await rooms.enter(session, user=user, interview_id=iid, now=at(minutes))

    assert await error_of(enter(room.candidate, -10.01)) == (
        "room.not_open",
        {"time": "10/03/2026 13:50"},
    )
    assert (await enter(room.candidate, -10)).id == iid
    assert (await enter(room.recruiter, 29.99)).id == iid  # 15-minute slot + 15 minutes
    assert await error_of(enter(room.recruiter, 30)) == ("room.closed", {})
    # Not even a colleague of the same employer, nor another candidate.
    for outsider in (room.colleague, room.stranger):
        assert await error_of(enter(outsider, 1)) == ("room.not_found", {})
    assert await error_of(rooms.enter(session, user=room.candidate, interview_id=iid + 99)) == (
        "room.not_found",
        {},
    )
    assert [rooms.state(room.interview, at(m)) for m in (-11, -5, 20, 31)] == [
        rooms.NOT_OPEN,
        rooms.OPEN,
        rooms.OPEN,
        rooms.CLOSED,
    ]
    room.interview.status = InterviewStatus.CANCELLED.value
    await session.flush()
    assert rooms.state(room.interview, at(1)) == rooms.NOT_BOOKED
    assert await error_of(enter(room.candidate, 1)) == ("room.closed", {})


async def test_entry_token_is_personal_and_useless_after_the_slot(session: AsyncSession) -> None:
    room = await booked(session)
    interview = room.interview
    token = rooms.entry_token(interview, room.candidate.id)
    closes = int(rooms.closes_at(interview).timestamp())
    assert token.split(".")[0] == str(closes)

    rooms.check_token(interview, user_id=room.candidate.id, token=token, now=at(-10))
    rooms.check_token(interview, user_id=room.candidate.id, token=token, now=at(29.99))

    def refused(user_id: int, token: str, minutes: float, target: Interview = interview) -> str:
        with pytest.raises(FairError) as raised:
            rooms.check_token(target, user_id=user_id, token=token, now=at(minutes))
        return raised.value.code

    assert refused(room.candidate.id, token, 30) == "room.closed"  # expired with the room
    assert refused(room.recruiter.id, token, 1) == "room.bad_token"  # someone else's
    other = await f.interview(
        session,
        booth_=await employers.get_booth(session, interview.booth_id),
        recruiter=room.recruiter,
        candidate_=room.candidate,
        starts_at=START + timedelta(hours=1),
    )
    assert refused(room.candidate.id, token, 1, other) == "room.bad_token"  # another room
    later = f"{closes + 3600}.{token.split('.')[1]}"
    assert refused(room.candidate.id, later, 1) == "room.bad_token"  # a longer life, forged
    for garbage in ("", ".", "abc", f"{closes}.", f"{closes}.xyz", "1e9.abc"):
        assert refused(room.candidate.id, garbage, 1) == "room.bad_token"
    interview.room_secret = "a new booking secret"
    assert refused(room.candidate.id, token, 1) == "room.bad_token"


# State changes ---------------------------------------------------------------------------------


async def test_only_the_recruiter_admits_once(session: AsyncSession, fetch) -> None:  # type: ignore[no-untyped-def]
    room = await booked(session)
    iid = room.interview.id
    assert await error_of(
        rooms.admit(session, user=room.candidate, interview_id=iid, now=at(-5))
    ) == ("room.forbidden", {})
    assert await error_of(
        rooms.admit(session, user=room.colleague, interview_id=iid, now=at(-5))
    ) == ("room.not_found", {})
    assert await error_of(
        rooms.admit(session, user=room.recruiter, interview_id=iid, now=at(-11))
    ) == ("room.not_open", {"time": "10/03/2026 13:50"})
    assert queued(session) == []

    admitted = await rooms.admit(session, user=room.recruiter, interview_id=iid, now=at(-5))
    again = await rooms.admit(session, user=room.recruiter, interview_id=iid, now=at(2))
    assert admitted.admitted_at == again.admitted_at == at(-5)
    event = (
        channels.room(iid),
        "room.admitted",
        {"interview_id": iid, "admitted_at": "2026-03-10T12:55:00+00:00"},
    )
    assert queued(session) == [event, event]
    await db.commit(session)
    stored = await fetch.get(Interview, iid)
    assert stored.admitted_at == at(-5)


async def test_either_person_switches_the_mode(session: AsyncSession) -> None:
    room = await booked(session)
    iid = room.interview.id
    changed = await rooms.switch_mode(
        session, user=room.candidate, interview_id=iid, mode=InterviewMode.PHONE, now=at(1)
    )
    assert (changed.mode, changed.updated_at.isoformat()) == ("phone", "2026-03-10T13:01:00+00:00")
    await rooms.switch_mode(
        session, user=room.candidate, interview_id=iid, mode=InterviewMode.PHONE, now=at(2)
    )
    await rooms.switch_mode(
        session, user=room.recruiter, interview_id=iid, mode=InterviewMode.CHAT, now=at(3)
    )
    assert queued(session) == [
        (
            channels.room(iid),
            "room.mode",
            {"interview_id": iid, "mode": "phone", "by": "candidate"},
        ),
        (channels.room(iid), "room.mode", {"interview_id": iid, "mode": "chat", "by": "recruiter"}),
    ]
    assert await error_of(
        rooms.switch_mode(
            session, user=room.colleague, interview_id=iid, mode=InterviewMode.VIDEO, now=at(4)
        )
    ) == ("room.not_found", {})
    assert await error_of(
        rooms.switch_mode(
            session, user=room.candidate, interview_id=iid, mode=InterviewMode.VIDEO, now=at(30)
        )
    ) == ("room.closed", {})
    assert room.interview.mode == "chat"


async def test_phone_number_for_the_recruiter_during_the_slot_only(session: AsyncSession) -> None:
    room = await booked(session, mode="phone")
    iid = room.interview.id

    async def number(user: User, minutes: float) -> str:
        return await rooms.phone_number(session, user=user, interview_id=iid, now=at(minutes))

    assert await number(room.recruiter, 0) == ""  # no number given yet
    saved = await rooms.set_phone(
        session, user=room.candidate, interview_id=iid, phone=" 06 12 34 56 78 ", now=at(-8)
    )
    assert saved == "06 12 34 56 78"
    assert queued(session) == [(channels.room(iid), "room.phone", {"interview_id": iid})]
    profile = await session.get(CandidateProfile, room.candidate.id)
    assert profile is not None and profile.phone == "06 12 34 56 78"

    assert [await number(room.recruiter, m) for m in (0, 14.99)] == ["06 12 34 56 78"] * 2
    for minutes in (-0.01, -9, 15, 20):  # the room is open, the slot is not on
        assert await error_of(number(room.recruiter, minutes)) == ("room.phone_hidden", {})
    assert await error_of(number(room.candidate, 1)) == ("room.forbidden", {})
    assert await error_of(number(room.colleague, 1)) == ("room.not_found", {})
    assert await error_of(
        rooms.set_phone(
            session, user=room.recruiter, interview_id=iid, phone="0612345678", now=at(1)
        )
    ) == ("room.forbidden", {})
    assert await error_of(
        rooms.set_phone(session, user=room.candidate, interview_id=iid, phone="call me", now=at(1))
    ) == ("profile.invalid", {})


async def test_chat_messages_are_stored_as_text(session: AsyncSession, fetch) -> None:  # type: ignore[no-untyped-def]
    room = await booked(session, mode="chat")
    iid = room.interview.id
    clock.set_now(at(1))
    first = await rooms.send_message(
        session, user=room.candidate, interview_id=iid, body="  <b>Bonjour</b>  "
    )
    clock.set_now(at(2))
    second = await rooms.send_message(session, user=room.recruiter, interview_id=iid, body="Oui")
    assert queued(session) == [
        (
            channels.room(iid),
            "room.message",
            {
                "interview_id": iid,
                "message_id": first.id,
                "sender_id": room.candidate.id,
                "body": "<b>Bonjour</b>",
                "created_at": "2026-03-10T13:01:00+00:00",
            },
        ),
        (
            channels.room(iid),
            "room.message",
            {
                "interview_id": iid,
                "message_id": second.id,
                "sender_id": room.recruiter.id,
                "body": "Oui",
                "created_at": "2026-03-10T13:02:00+00:00",
            },
        ),
    ]
    for body in ("   ", "x" * 2001):
        assert await error_of(
            rooms.send_message(session, user=room.candidate, interview_id=iid, body=body)
        ) == ("room.invalid", {})
    assert await error_of(
        rooms.send_message(session, user=room.colleague, interview_id=iid, body="Hello")
    ) == ("room.not_found", {})
    await db.commit(session)
    stored = await fetch.scalars(select(RoomMessage).order_by(RoomMessage.id))
    assert [(m.sender_id, m.body) for m in stored] == [
        (room.candidate.id, "<b>Bonjour</b>"),
        (room.recruiter.id, "Oui"),
    ]


# ICE servers -----------------------------------------------------------------------------------


def test_turn_credentials_in_coturns_rest_style() -> None:
    # Computed independently: printf '1767225600:42' | openssl dgst -sha1 \
    #   -hmac coturn-shared-secret -binary | base64
    assert ice.turn_credentials("coturn-shared-secret", user_id=42, expires=1767225600) == (
        "1767225600:42",
        "eOPd4mwwObDfJ6/x34RfuISucAY=",
    )


def test_ice_servers_from_settings(conf: settings.Settings) -> None:
    assert ice.servers(user_id=42) == []  # no STUN, no TURN by default
    env = {
        "FAIR_STUN_URLS": "stun:stun1.example.org:3478  stun:stun2.example.org",
        "FAIR_TURN_URLS": "turn:turn.example.org:3478?transport=udp turns:turn.example.org:5349",
        "FAIR_TURN_SECRET": "coturn-shared-secret",
        "FAIR_TURN_TTL": "600",
    }
    loaded = settings.load(env)
    assert (loaded.stun_urls, loaded.turn_ttl) == (
        ("stun:stun1.example.org:3478", "stun:stun2.example.org"),
        600,
    )
    settings.override(replace(conf, **{k: getattr(loaded, k) for k in TURN_FIELDS}))
    now = datetime.fromtimestamp(1767225000, tz=clock.now().tzinfo)
    assert ice.servers(user_id=42, now=now) == [
        {"urls": ["stun:stun1.example.org:3478", "stun:stun2.example.org"]},
        {
            "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
            "username": "1767225600:42",
            "credential": "eOPd4mwwObDfJ6/x34RfuISucAY=",
        },
    ]


TURN_FIELDS = ("stun_urls", "turn_urls", "turn_secret", "turn_ttl")


def test_bad_ice_settings_are_refused() -> None:
    cases = [
        ({"FAIR_STUN_URLS": "http://stun.example.org"}, "FAIR_STUN_URLS must be"),
        ({"FAIR_TURN_URLS": "stun:turn.example.org"}, "FAIR_TURN_URLS must be"),
        ({"FAIR_TURN_URLS": "turn:turn.example.org"}, "FAIR_TURN_SECRET must be set"),
        ({"FAIR_TURN_TTL": "0"}, "FAIR_TURN_TTL must be a positive"),
        ({"FAIR_TURN_TTL": "soon"}, "FAIR_TURN_TTL must be an integer"),
    ]
    for env, message in cases:
        with pytest.raises(settings.SettingsError, match=message):
            settings.load(env)


# The page --------------------------------------------------------------------------------------


async def test_room_page_for_its_two_people_only(app, session, client, make_client) -> None:  # type: ignore[no-untyped-def]
    room = await booked(session)
    await db.commit(session)
    iid = room.interview.id
    path = f"/interviews/{iid}/room"

    clock.set_now(at(-12))
    await login(client, room.candidate.email, f.PASSWORD)
    early = await client.get(path)
    assert early.status_code == 200
    assert 'data-state="not_open"' in early.text and "data-token" not in early.text
    assert 'data-opens-at="2026-03-10T12:50:00+00:00"' in early.text

    clock.set_now(at(-5))
    page = await client.get(path)
    assert page.status_code == 200
    token = rooms.entry_token(room.interview, room.candidate.id)
    assert f'data-token="{token}"' in page.text
    assert 'data-role="candidate"' in page.text and 'data-admitted="no"' in page.text
    room_js = app.state.assets.url("room.js")
    assert page.text.count(f'<script src="{room_js}" defer></script>') == 1

    recruiter = make_client()
    await login(recruiter, room.recruiter.email, f.PASSWORD)
    theirs = await recruiter.get(path)
    assert 'data-role="recruiter"' in theirs.text
    assert f'data-token="{rooms.entry_token(room.interview, room.recruiter.id)}"' in theirs.text

    colleague = make_client()
    await login(colleague, room.colleague.email, f.PASSWORD)
    refused = await colleague.get(path, headers={"accept": "application/json"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "room.not_found")

    clock.set_now(at(31))
    over = await client.get(path)
    assert over.status_code == 200 and "data-token" not in over.text
    assert 'role="alert"' in over.text and "room.js" not in over.text


async def test_forms_work_without_javascript(session, client, fetch) -> None:  # type: ignore[no-untyped-def]
    room = await booked(session)
    await db.commit(session)
    iid = room.interview.id
    path = f"/interviews/{iid}/room"
    clock.set_now(at(1))
    await login(client, room.candidate.email, f.PASSWORD)
    token = await csrf(client, path)

    sent = await client.post(
        f"{path}/messages", data={"csrf_token": token, "body": "<script>alert(1)</script>"}
    )
    assert (sent.status_code, sent.headers["location"]) == (303, f"{path}#chat-panel")
    switched = await client.post(f"{path}/mode", data={"csrf_token": token, "mode": "chat"})
    assert (switched.status_code, switched.headers["location"]) == (303, path)
    bad = await client.post(
        f"{path}/mode",
        data={"csrf_token": token, "mode": "fax"},
        headers={"accept": "application/json"},
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "room.invalid")
    phoned = await client.post(f"{path}/phone", data={"csrf_token": token, "phone": "0612345678"})
    assert (phoned.status_code, phoned.headers["location"]) == (303, f"{path}#phone-panel")

    stored = await fetch.get(Interview, iid)
    assert stored.mode == "chat"
    profile = await fetch.get(CandidateProfile, room.candidate.id)
    assert profile.phone == "0612345678"
    page = await client.get(path)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert 'aria-pressed="true">' in page.text and 'data-mode="chat"' in page.text


async def test_a_recruiter_who_is_not_assigned_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    """An admin or any other recruiter is refused too: the room has two people only."""
    room = await booked(session)
    admin = await f.user(session, Role.ADMIN)
    other = await f.user(session, Role.RECRUITER)
    for user in (admin, other):
        assert await error_of(
            rooms.visit(session, user=user, interview_id=room.interview.id, now=at(1))
        ) == ("room.not_found", {})
