"""Outgoing e-mail through a transactional outbox.

`queue` writes the message in the caller's transaction; after the commit the outbox is delivered
through SMTP when SMTP_HOST is set, and otherwise written to the log (the demo's admin reads the
outbox page). A rolled-back change therefore never sends mail.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import weakref
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import calendar, clock, db, settings
from fair.models import OutboxMail

log = logging.getLogger("fair.mail")
# One event per event loop: an asyncio.Event belongs to the first loop that waits on it.
_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
    weakref.WeakKeyDictionary()
)


def _wakeup() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    event = _wakeups.get(loop)
    if event is None:
        event = _wakeups[loop] = asyncio.Event()
    return event


async def queue(
    session: AsyncSession, *, to: str, subject: str, body: str, calendar: str | None = None
) -> OutboxMail:
    """Queue a message; it leaves only after the transaction commits.

    `calendar` is an iCalendar text (fair.calendar), sent as a text/calendar part with its
    METHOD, so mail clients offer to add, update or remove the event.
    """
    message = OutboxMail(
        to_addr=to, subject=subject, body=body, calendar=calendar, created_at=clock.now()
    )
    session.add(message)
    await session.flush()
    db.after_commit(session, _wake)
    return message


async def _wake() -> None:
    _wakeup().set()


async def deliver_pending(maker: async_sessionmaker[AsyncSession], *, limit: int = 50) -> int:
    """Send what the outbox holds; returns how many messages left. Failures are retried later."""
    async with maker() as session:
        pending = (
            await session.scalars(
                select(OutboxMail)
                .where(OutboxMail.sent_at.is_(None), OutboxMail.attempts < 5)
                .order_by(OutboxMail.id)
                .limit(limit)
                # Two senders (a worker and a web process misconfigured to run one too) never
                # take the same message on PostgreSQL; SQLite has one writer anyway.
                .with_for_update(skip_locked=True)
            )
        ).all()
        sent = 0
        for message in pending:
            message.attempts += 1
            try:
                await asyncio.to_thread(_send, message)
            except (OSError, smtplib.SMTPException) as exc:
                message.last_error = str(exc)[:1000]
                log.warning("mail to %s failed: %s", message.to_addr, exc)
                continue
            message.sent_at = clock.now()
            sent += 1
        await session.commit()
    return sent


def _send(message: OutboxMail) -> None:
    conf = settings.get()
    if not conf.smtp_host:
        log.info("mail to %s: %s\n%s", message.to_addr, message.subject, message.body)
        return
    email = EmailMessage()
    email["From"] = conf.mail_from
    email["To"] = message.to_addr
    email["Subject"] = message.subject
    # A stable id: if a crash between the SMTP send and the commit makes us send it again,
    # mail servers and clients see the same message.
    domain = conf.mail_from.rpartition("@")[2].strip("> ") or "fair.invalid"
    email["Message-ID"] = f"<outbox-{message.id}-{message.created_at:%Y%m%d%H%M%S}@{domain}>"
    email.set_content(message.body)
    if message.calendar:
        method = calendar.method_of(message.calendar) or "PUBLISH"
        email.add_alternative(message.calendar, subtype="calendar", params={"method": method})
        email.add_attachment(
            message.calendar.encode(),
            maintype="application",
            subtype="ics",
            filename="invitation.ics",
        )
    with smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=20) as smtp:
        if conf.smtp_starttls:
            smtp.starttls()
        if conf.smtp_user:
            smtp.login(conf.smtp_user, conf.smtp_password)
        smtp.send_message(email)


async def run_sender(maker: async_sessionmaker[AsyncSession], *, interval: float = 30.0) -> None:
    """Deliver the outbox whenever a commit queued mail, and every `interval` seconds."""
    wakeup = _wakeup()
    while True:
        try:
            await asyncio.wait_for(wakeup.wait(), timeout=interval)
        except TimeoutError:
            pass
        wakeup.clear()
        try:
            await deliver_pending(maker)
        except Exception:  # keep the sender alive; the next round retries
            log.exception("outbox delivery failed")


async def recent(session: AsyncSession, *, limit: int = 100) -> list[OutboxMail]:
    rows = await session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit))
    return list(rows)
