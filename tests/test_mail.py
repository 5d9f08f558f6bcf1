"""The outbox is delivered through a real SMTP server on loopback, and retried on failure.

Each message on its own: a poisoned one (a line break in a header) never holds the others back;
a failure is retried after 1, 5, 30 and 120 minutes, then given up and shown to the admin.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import select

from fair import accounts, clock, db, mail, settings
from fair.enums import Role
from fair.models import OutboxMail
from tests import factories as f
from tests.conftest import csrf
from tests.pages import as_user, text
from tests.server_processes import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        content = envelope.content
        self.messages.append(email.message_from_bytes(content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


async def test_outbox_goes_through_smtp_and_is_retried(app, session, fetch):  # type: ignore[no-untyped-def]
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock.set_now(start)
    user = await f.user(session, Role.CANDIDATE, email="lea@example.fr", name="Léa")
    await accounts.request_password_reset(session, email=user.email)
    await db.commit(session)
    port = free_port()
    settings.override(replace(settings.get(), smtp_host="127.0.0.1", smtp_port=port))

    # Nobody listens yet: the message stays queued with the error and its next attempt.
    assert await mail.deliver_pending(app.state.write_sessions) == 0
    queued = await fetch.scalar(select(OutboxMail))
    assert (queued.sent_at, queued.attempts, queued.next_attempt_at, queued.failed_at) == (
        None,
        1,
        start + timedelta(minutes=1),
        None,
    )
    assert queued.last_error.startswith("ConnectionRefusedError: ")

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        # The server is back, but the message waits for its time: no hammering.
        assert await mail.deliver_pending(app.state.write_sessions) == 0
        clock.set_now(start + timedelta(minutes=1))
        assert await mail.deliver_pending(app.state.write_sessions) == 1
        assert await mail.deliver_pending(app.state.write_sessions) == 0  # never twice
        clock.set_now(start + timedelta(days=1))
        assert await mail.deliver_pending(app.state.write_sessions) == 0
    finally:
        controller.stop()
    [message] = inbox.messages
    assert message["To"] == "lea@example.fr"
    assert (
        message["Subject"] == "Réinitialiser votre mot de passe fair"
        or "fair" in message["Subject"]
    )
    body = message.get_payload(decode=True).decode()
    assert "Léa" in body and "/reset/" in body
    sent = await fetch.scalar(select(OutboxMail))
    assert (sent.sent_at, sent.attempts, sent.next_attempt_at, sent.failed_at) == (
        start + timedelta(minutes=1),
        2,
        None,
        None,
    )


def row(to: str, subject: str, at: datetime) -> OutboxMail:
    """A message as the code before the fix stored it: nothing normalised."""
    return OutboxMail(to_addr=to, subject=subject, body="Bonjour.\n", created_at=at)


POISONED_TO = "max@example.fr\r\nBcc: spy@example.com"


async def test_a_poisoned_message_never_holds_the_others_back(app, session, fetch, client):  # type: ignore[no-untyped-def]
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock.set_now(start)
    session.add_all(
        [
            row("lea@example.fr", "Première", start),
            row("paul@example.fr", "Offre\r\nBcc: spy@example.com", start),
            row(POISONED_TO, "Adresse empoisonnée", start),
            row("ines@example.fr", "Dernière", start),
        ]
    )
    await db.commit(session)
    port = free_port()
    settings.override(replace(settings.get(), smtp_host="127.0.0.1", smtp_port=port))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await mail.deliver_pending(app.state.write_sessions) == 3
        # Each retry at its time: 1 min, then 5, 30 and 120 minutes after the previous one.
        schedule = []
        for _attempt in range(6):
            poisoned = await fetch.scalar(select(OutboxMail).where(OutboxMail.id == 3))
            schedule.append((poisoned.attempts, poisoned.next_attempt_at, poisoned.failed_at))
            assert await mail.deliver_pending(app.state.write_sessions) == 0  # not due yet
            clock.set_now(poisoned.next_attempt_at or clock.now() + timedelta(days=1))
            assert await mail.deliver_pending(app.state.write_sessions) == 0
    finally:
        controller.stop()

    # The good ones went out, once each, to their own recipients; the header stayed one line.
    assert [m["Subject"] for m in inbox.messages] == [
        "Première",
        "Offre Bcc: spy@example.com",
        "Dernière",
    ]
    assert inbox.recipients == [["lea@example.fr"], ["paul@example.fr"], ["ines@example.fr"]]
    minute = timedelta(minutes=1)
    given_up = start + minute * (1 + 5 + 30 + 120)
    assert schedule == [
        (1, start + minute, None),
        (2, start + minute * 6, None),
        (3, start + minute * 36, None),
        (4, start + minute * 156, None),
        (5, None, given_up),
        (5, None, given_up),  # given up: never tried again
    ]
    failed = await fetch.scalar(select(OutboxMail).where(OutboxMail.id == 3))
    error = "ValueError: refused address with a line break or control character: " + repr(
        POISONED_TO
    )
    assert (failed.sent_at, failed.last_error) == (None, error)
    unsent = await fetch.scalars(
        select(OutboxMail).where(OutboxMail.sent_at.is_(None)).order_by(OutboxMail.id)
    )
    assert [m.id for m in unsent] == [3]

    # The administrator sees it, with its error, and sends it again (a form with its token).
    await as_user(client, session, Role.ADMIN)
    page = await client.get("/admin/outbox")
    assert page.status_code == 200
    shown = text(page.text)
    assert (
        "Messages not delivered The platform gave up on these messages after 5 attempts. "
        "Correct the cause (the address, the mail server), then send them again. "
        f"Adresse empoisonnée To {POISONED_TO.replace(chr(13) + chr(10), ' ')} Queued "
    ) in shown
    assert f"Last error {error} Retry Adresse empoisonnée" in shown
    assert page.text.count("data-failed-mail=") == 1
    refused = await client.post("/admin/outbox/3/retry", data={"csrf_token": "nope"})
    assert refused.status_code == 403
    token = await csrf(client, "/admin")
    not_failed = await client.post("/admin/outbox/1/retry", data={"csrf_token": token})
    assert not_failed.status_code == 409
    retried = await client.post("/admin/outbox/3/retry", data={"csrf_token": token})
    assert (retried.status_code, retried.headers["location"]) == (303, "/admin/outbox")
    again = await fetch.scalar(select(OutboxMail).where(OutboxMail.id == 3))
    assert (again.attempts, again.next_attempt_at, again.failed_at) == (0, None, None)
    page = await client.get("/admin/outbox")
    assert "The message will be sent again in a moment." in text(page.text)
    assert "data-failed-mail=" not in page.text


async def test_queue_keeps_subjects_on_one_line(app, session, fetch):  # type: ignore[no-untyped-def]
    await mail.queue(
        session, to="lea@example.fr", subject="Offre\r\n  Bcc:\tspy\u2028" + "x" * 300, body=""
    )
    await db.commit(session)
    stored = await fetch.scalar(select(OutboxMail))
    assert stored.subject == ("Offre Bcc: spy " + "x" * 300)[:250]


async def test_a_sender_that_dies_mid_send_leaves_the_message_for_later(app, session, fetch):  # type: ignore[no-untyped-def]
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock.set_now(start)
    session.add(row("lea@example.fr", "Bonjour", start))
    await db.commit(session)
    port = free_port()
    settings.override(replace(settings.get(), smtp_host="127.0.0.1", smtp_port=port))

    # A sender claims the message, then its process dies before sending or recording anything.
    claimed = await mail._claim(app.state.write_sessions)
    assert claimed is not None and claimed.id == 1
    assert await mail.deliver_pending(app.state.write_sessions) == 0  # claimed: not taken twice

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.set_now(start + timedelta(minutes=1))
        assert await mail.deliver_pending(app.state.write_sessions) == 1
    finally:
        controller.stop()
    assert [m["Subject"] for m in inbox.messages] == ["Bonjour"]
    sent = await fetch.scalar(select(OutboxMail))
    assert (sent.attempts, sent.sent_at, sent.failed_at) == (2, start + timedelta(minutes=1), None)


async def test_two_senders_of_one_message_never_both_record(app, session, fetch):  # type: ignore[no-untyped-def]
    """A sender stuck past its lease, another claims the message: the first one's failure does
    not replace the second's lease (a third sender would then take it mid-send), and of their
    two sends only the first is recorded."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock.set_now(start)
    session.add(row("lea@example.fr", "Bonjour", start))
    await db.commit(session)
    port = free_port()
    conf = replace(settings.get(), smtp_host="127.0.0.1", smtp_port=port, mail_send_lease=600.0)
    settings.override(conf)
    maker = app.state.write_sessions
    first = await mail._claim(maker)  # held until 09:10
    clock.set_now(start + timedelta(seconds=601))  # the first still stuck, its lease over
    second = await mail._claim(maker)  # held until 09:20:01
    assert first is not None and second is not None
    assert (first.id, first.attempt, second.id, second.attempt) == (1, 1, 1, 2)

    # The first gives up (nobody listens): the second's lease stays.
    assert await mail._attempt(maker, first) == 0
    held = await fetch.scalar(select(OutboxMail))
    assert (held.attempts, held.next_attempt_at, held.last_error, held.failed_at) == (
        2,
        start + timedelta(seconds=1201),
        None,
        None,
    )
    clock.set_now(start + timedelta(seconds=901))  # the first's retry time, had it been recorded
    assert await mail._claim(maker) is None

    # Both get through: the second's send is recorded, the first's changes nothing.
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await mail._attempt(maker, second) == 1
        clock.set_now(start + timedelta(seconds=960))
        assert await mail._attempt(maker, first) == 1
    finally:
        controller.stop()
    ids = {m["Message-ID"] for m in inbox.messages}
    assert (len(inbox.messages), len(ids)) == (2, 1)  # at least once, the same message
    sent = await fetch.scalar(select(OutboxMail))
    assert (sent.attempts, sent.sent_at, sent.next_attempt_at, sent.last_error) == (
        2,
        start + timedelta(seconds=901),
        None,
        None,
    )


async def test_a_message_stuck_by_the_old_sender_is_shown_as_failed(app, session, fetch):  # type: ignore[no-untyped-def]
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock.set_now(start)
    stuck = row("lea@example.fr", "Bonjour", start)
    stuck.attempts, stuck.last_error = 5, "SMTPServerDisconnected: Connection unexpectedly closed"
    session.add(stuck)
    await db.commit(session)

    assert await mail.deliver_pending(app.state.write_sessions) == 0

    failed = await fetch.scalar(select(OutboxMail))
    assert (failed.attempts, failed.failed_at, failed.last_error) == (
        5,
        start,
        "SMTPServerDisconnected: Connection unexpectedly closed",
    )
