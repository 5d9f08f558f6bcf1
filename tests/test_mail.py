"""The outbox is delivered through a real SMTP server on loopback, and retried on failure."""

from __future__ import annotations

import email
import socket
from dataclasses import replace

from aiosmtpd.controller import Controller
from sqlalchemy import select

from fair import accounts, db, mail, settings
from fair.enums import Role
from fair.models import OutboxMail
from tests import factories as f


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_outbox_goes_through_smtp_and_is_retried(app, session, fetch):  # type: ignore[no-untyped-def]
    user = await f.user(session, Role.CANDIDATE, email="lea@example.fr", name="Léa")
    await accounts.request_password_reset(session, email=user.email)
    await db.commit(session)
    port = free_port()
    settings.override(replace(settings.get(), smtp_host="127.0.0.1", smtp_port=port))

    # Nobody listens yet: the message stays queued with the error recorded.
    assert await mail.deliver_pending(app.state.write_sessions) == 0
    queued = await fetch.scalar(select(OutboxMail))
    assert (queued.sent_at, queued.attempts, bool(queued.last_error)) == (None, 1, True)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await mail.deliver_pending(app.state.write_sessions) == 1
        assert await mail.deliver_pending(app.state.write_sessions) == 0  # never twice
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
    assert sent.sent_at is not None and sent.attempts == 2
