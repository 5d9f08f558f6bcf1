"""The J+30 follow-up through a real SMTP server on loopback (aiosmtpd): the worker's round with
the clock moved, then the outbox delivered; each recruiter and each applicant receives one mail,
in their language, with the link to answer and the footer saying why; a second round sends
nothing."""

from __future__ import annotations

import email
from dataclasses import replace
from email import policy
from email.message import EmailMessage as Message

from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, mail, settings, worker
from fair.models import User
from tests import factories as f
from tests import outcome_setup as o
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


def body(message: Message) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_j30_follow_up_arrives_once(app, session: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session, title="Forum Lunel")
    a = await o.stand(session, edition, name="Alpha")
    kept = [await o.apply(session, a, hired=True) for _ in range(3)]
    english = await f.candidate(session, can_log_in=False, locale="en")
    await o.apply(session, a, english)
    await db.commit(session)
    applicants = {}
    for applied in [*kept, a.applications[-1]]:
        user = await session.get(User, applied.candidate_id)
        assert user is not None
        applicants[user.email] = user
    await db.commit(session)
    port = free_port()
    settings.override(replace(settings.get(), smtp_host="127.0.0.1", smtp_port=port))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await mail.deliver_pending(app.state.write_sessions, limit=500)
        inbox.take()  # the applications' own mails

        o.after_end(edition, 29, 23)
        assert await worker.follow_up_round(app.state) == 0
        o.after_end(edition, 30)
        assert await worker.follow_up_round(app.state) == 1 + len(applicants)
        assert await worker.follow_up_round(app.state) == 0
        await mail.deliver_pending(app.state.write_sessions)
        received = {m["To"]: m for m in inbox.take()}
        assert set(received) == {a.recruiter.email, *applicants}

        to_recruiter = received[a.recruiter.email]
        assert to_recruiter["Subject"] == "Forum Lunel : 3 embauches à confirmer"
        text = body(to_recruiter)
        assert "3 candidats retenus à votre stand attendent votre réponse" in text
        assert f"/recruiter/booths/{a.booth.id}/follow-up" in text
        assert "Vous recevez ce message parce que vous êtes membre de Alpha" in text

        to_english = received[english.email]
        assert to_english["Subject"] == "Forum Lunel: have you found a job?"
        text = body(to_english)
        assert f"Hello {english.name}," in text
        assert f"/me/editions/{edition.id}/job" in text
        assert "You receive this message because you applied to offers of Forum Lunel." in text
        french = next(m for to, m in received.items() if to in applicants and to != english.email)
        assert french["Subject"] == "Forum Lunel : avez-vous trouvé un emploi ?"

        # Nothing more until J+90, and nothing twice.
        o.after_end(edition, 60)
        assert await worker.follow_up_round(app.state) == 0
        assert await mail.deliver_pending(app.state.write_sessions) == 0
        assert inbox.take() == []
    finally:
        controller.stop()
