"""Interview mails through a real SMTP server on loopback, with the invitations they carry.

The worker's round (fair.worker.interview_round) sends the reminders; the outbox delivers
everything through aiosmtpd, and the tests parse the text/calendar parts they receive.
"""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage as Message

import httpx
from aiosmtpd.controller import Controller
from icalendar import Calendar

from fair import clock, db, interviews, mail, settings, worker
from fair.enums import InterviewMode
from tests import factories as f
from tests.factories import NOON
from tests.server_processes import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def take(self) -> list[Message]:
        taken, self.messages = self.messages, []
        return taken


def invitation_of(message: Message) -> Calendar:
    """The text/calendar part (with its METHOD parameter) of a received message."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    part = parts[0]
    cal = Calendar.from_ical(part.get_payload(decode=True))
    assert part.get_param("method") == str(cal["method"])
    attachments = [p for p in message.walk() if p.get_filename() == "invitation.ics"]
    assert len(attachments) == 1
    return cal


def event_of(cal: Calendar):  # type: ignore[no-untyped-def]
    return next(iter(cal.walk("VEVENT")))


async def test_invitations_changes_and_reminders_arrive_once(app, session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    interview = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[0], mode=InterviewMode.VIDEO
    )
    await db.commit(session)
    port = free_port()
    settings.override(replace(settings.get(), smtp_host="127.0.0.1", smtp_port=port))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await mail.deliver_pending(app.state.write_sessions)
        booked = {m["To"]: m for m in inbox.take() if "/interviews/" in str(m)}
        assert set(booked) == {candidate.email, recruiter.email}
        request = invitation_of(booked[candidate.email])
        assert str(request["method"]) == "REQUEST"
        event = event_of(request)
        uid = str(event["uid"])
        assert uid == interview.uid and int(event["sequence"]) == 0
        assert event["dtstart"].dt == datetime(2026, 3, 11, 9, 0, tzinfo=f.PARIS)
        assert str(event["status"]) == "CONFIRMED"
        assert f"/interviews/{interview.id}" in str(event["description"])

        # Moved by the recruiter: same UID, SEQUENCE 1, the new time.
        async with app.state.write_sessions() as writer:
            found = await interviews.get(writer, interview.id)
            slot = await interviews.get_slot(writer, slots[2].id)
            who = await writer.get(type(recruiter), recruiter.id)
            await interviews.reschedule(writer, by=who, interview=found, slot=slot, reason="Agenda")
            await db.commit(writer)
        await mail.deliver_pending(app.state.write_sessions)
        moved = {m["To"]: m for m in inbox.take()}
        event = event_of(invitation_of(moved[candidate.email]))
        assert (str(event["uid"]), int(event["sequence"])) == (uid, 1)
        assert event["dtstart"].dt == datetime(2026, 3, 11, 10, 0, tzinfo=f.PARIS)

        # Reminders: the worker's rounds, then a "restart" (a fresh round): nothing twice.
        starts = slots[2].starts_at
        for moment, expected in (
            (starts - timedelta(hours=30), 0),
            (starts - timedelta(hours=20), 1),
            (starts - timedelta(hours=19), 0),
            (starts - timedelta(minutes=50), 1),
            (starts - timedelta(minutes=40), 0),
        ):
            clock.set_now(moment)
            assert await worker.interview_round(app.state) == expected, moment
            assert await worker.interview_round(app.state) == 0
            await mail.deliver_pending(app.state.write_sessions)
        reminders = inbox.take()
        assert sorted(m["To"] for m in reminders) == sorted([candidate.email, recruiter.email] * 2)
        for message in reminders:
            event = event_of(invitation_of(message))
            assert (str(event["uid"]), int(event["sequence"])) == (uid, 1)

        # Cancelled by the candidate: METHOD CANCEL, SEQUENCE 2.
        clock.set_now(NOON)
        async with app.state.write_sessions() as writer:
            found = await interviews.get(writer, interview.id)
            who = await writer.get(type(candidate), candidate.id)
            await interviews.cancel(writer, by=who, interview=found, reason="Un imprévu")
            await db.commit(writer)
        await mail.deliver_pending(app.state.write_sessions)
        cancelled = {m["To"]: m for m in inbox.take()}
        cal = invitation_of(cancelled[recruiter.email])
        assert str(cal["method"]) == "CANCEL"
        event = event_of(cal)
        assert (str(event["uid"]), int(event["sequence"]), str(event["status"])) == (
            uid,
            2,
            "CANCELLED",
        )
        assert "Un imprévu" in cancelled[recruiter.email].get_body(("plain",)).get_content()
        assert await mail.deliver_pending(app.state.write_sessions) == 0
    finally:
        controller.stop()


async def test_calendar_feed_over_http(app, session, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    interview = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[1], mode=InterviewMode.PHONE
    )
    token = await interviews.feed_token(session, candidate)
    await db.commit(session)
    response = await client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    assert [str(e["uid"]) for e in cal.walk("VEVENT")] == [interview.uid]
    assert (await client.get(f"/calendar/{'x' * len(token)}.ics")).status_code == 404
