"""Outgoing e-mail through a transactional outbox.

`queue` writes the message in the caller's transaction; after the commit the outbox is delivered
through SMTP when SMTP_HOST is set, and otherwise written to the log (the demo's admin reads the
outbox page). A rolled-back change therefore never sends mail.

Each message is delivered on its own: it is claimed in a short transaction (its attempt counted and
held for a lease, FAIR_MAIL_SEND_LEASE: a sender killed mid-send leaves it to be sent again once
the lease is over), built and sent outside any transaction, and its outcome recorded in another, as
a compare-and-set (`_record`: a failure only while the lease is still the sender's, a send only if
none was recorded). Delivery is at least once, and twice only in one window: a sender killed after
the SMTP server accepted the message (its 250 reply to DATA) and before the outcome's commit, a few
milliseconds, sends it again after the lease, with the same Message-ID (`_build`), by which mail
servers and clients can tell it is the same message. A kill anywhere else in the exchange sends it
once (tests/test_fault_worker.py). One failure, whatever raised it (an address with a line break, a
refused recipient, a server down), stays with its row: retried after 1 min, 5 min, 30 min and 2 h,
then marked failed for the administrator, who can retry it (/admin/outbox). The others go out.
Header-bound text never reaches email.message with a line break: subjects are folded to one line,
addresses with one are refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import ColumnElement, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import calendar, clock, db, logs, metrics, outbox_sender, settings
from fair.errors import Conflict, NotFound
from fair.i18n import gettext as _
from fair.models import OutboxMail

log = logging.getLogger("fair.mail")
MAX_ATTEMPTS = 5
# The wait after the 1st, 2nd, 3rd and 4th failed attempt; the 5th failure gives up.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
SUBJECT_MAX = 250  # OutboxMail.subject
# The headers a queued mail may add (`queue`): the one-click stop (RFC 2369, RFC 8058).
EXTRA_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post"})
# Line breaks and every other control character (C0, DEL, NEL, the Unicode line separators).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
# The sender's wake-up, set after each commit that queued mail.
_wakeup = outbox_sender.Wakeup()


async def queue(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    body: str,
    calendar: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMail:
    """Queue a message; it leaves only after the transaction commits.

    `calendar` is an iCalendar text (fair.calendar), sent as a text/calendar part with its
    METHOD, so mail clients offer to add, update or remove the event. `headers` are extra
    headers, of EXTRA_HEADERS only (ValueError otherwise: a programming error).
    """
    unknown = set(headers or ()) - EXTRA_HEADERS
    if unknown:
        raise ValueError(f"headers not allowed in a queued mail: {sorted(unknown)}")
    message = OutboxMail(
        to_addr=to,
        subject=one_line(subject)[:SUBJECT_MAX],
        body=body,
        calendar=calendar,
        headers=json.dumps({k: one_line(v) for k, v in headers.items()}) if headers else None,
        created_at=clock.now(),
        request_id=logs.current(),
    )
    if not has_mailbox(to):  # returned unsaved: nobody to send it to
        return message
    session.add(message)
    await session.flush()
    # With the request's id (fair.logs): the sender's "mail N sent" line follows it.
    log.info("mail %s queued", message.id)
    db.after_commit(session, _wake)
    return message


async def queue_many(session: AsyncSession, messages: list[tuple[str, str, str]]) -> int:
    """Queue (to, subject, body) messages in one statement, as `queue` does each (a mailing to
    an edition's thousands of people: one flush per message would hold the write lock long)."""
    if not messages:
        return 0
    now = clock.now()
    rows = [
        {
            "to_addr": to,
            "subject": one_line(subject)[:SUBJECT_MAX],
            "body": body,
            "request_id": logs.current(),
        }
        for to, subject, body in messages
        if has_mailbox(to)
    ]
    if not rows:
        return 0
    # One executemany of plain rows on the session's connection (no ORM objects or bulk
    # persistence): tens of thousands of mails in a second or two on SQLite.
    connection = await session.connection()
    await connection.execute(insert(OutboxMail).values(created_at=now, attempts=0), rows)
    log.info("%s mails queued", len(rows))
    db.after_commit(session, _wake)
    return len(rows)


def has_mailbox(address: str) -> bool:
    """False for the addresses of the reserved .invalid domain (RFC 2606) that accounts without
    a mailbox carry (one a counsellor made for a person without e-mail, an erased one): what
    would be mailed to them is not queued (they read their notices in the site)."""
    return not address.lower().endswith(".invalid")


async def _wake() -> None:
    await _wakeup.wake()


def one_line(text: str) -> str:
    """Header-bound text on one line: control characters and runs of spaces become one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def footer(locale: str, *, sender: str, why: str) -> str:
    """The end of a transactional message: who sent it and why (no unsubscribing from these)."""
    return (
        "\n-- \n"
        + "\n".join(
            [
                _("Sent by %(sender)s through %(site)s.", locale, sender=sender, site=_site()),
                why,
                _("This is a service message about your account, not a newsletter.", locale),
            ]
        )
        + "\n"
    )


def letter(locale: str, name: str, lines: list[str], *, sender: str, why: str) -> str:
    """A transactional message's body: "Hello `name`,", a blank line, `lines`, then `footer`."""
    hello = _("Hello %(name)s,", locale, name=name)
    return "\n".join([hello, "", *lines]) + "\n" + footer(locale, sender=sender, why=why)


def _site() -> str:
    return settings.get().base_url


def _address(text: str) -> str:
    """An address for a header, refused when it holds a line break (header injection)."""
    if _CONTROL.search(text):
        raise ValueError(f"refused address with a line break or control character: {text!r}")
    return text.strip()


@dataclass(frozen=True)
class _Outgoing:
    """What the sender needs of a claimed row, read inside its transaction."""

    id: int
    attempt: int  # the claim's attempt number: its lease, compared before recording
    to_addr: str
    subject: str
    body: str
    calendar: str | None
    created_at: datetime
    headers: str | None = None
    request_id: str | None = None


def _due(now: datetime) -> ColumnElement[bool]:
    return (
        OutboxMail.sent_at.is_(None)
        & OutboxMail.failed_at.is_(None)
        & or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now)
    )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed attempts (the last delay beyond the table)."""
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


async def deliver_pending(maker: async_sessionmaker[AsyncSession], *, limit: int = 50) -> int:
    """Send up to `limit` due messages, each on its own; returns how many left."""
    sent = 0
    for _round in range(limit):
        outgoing = await _claim(maker)
        if outgoing is None:
            break
        sent += await _attempt(maker, outgoing)
    return sent


async def _claim(maker: async_sessionmaker[AsyncSession]) -> _Outgoing | None:
    """Take the oldest due message: count the attempt and schedule the next one, then commit.

    Two senders never take the same message (SKIP LOCKED on PostgreSQL, then its next attempt
    lies a lease ahead, FAIR_MAIL_SEND_LEASE); one that dies mid-send leaves it to be sent again
    once the lease is over. A failure recorded (`_record`) schedules the retry instead.
    """
    async with maker() as session:
        now = clock.now()
        while True:
            message = await session.scalar(
                select(OutboxMail)
                .where(_due(now))
                .order_by(OutboxMail.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if message is None:
                await session.commit()  # the interrupted ones given up below, if any
                return None
            if message.attempts < MAX_ATTEMPTS:
                break
            # Its last attempt was interrupted before its outcome was recorded.
            message.failed_at = now
            message.last_error = message.last_error or "interrupted"
        message.attempts += 1
        message.next_attempt_at = now + timedelta(seconds=settings.get().mail_send_lease)
        outgoing = _Outgoing(
            id=message.id,
            attempt=message.attempts,
            to_addr=message.to_addr,
            subject=message.subject,
            body=message.body,
            calendar=message.calendar,
            created_at=message.created_at,
            headers=message.headers,
            request_id=message.request_id,
        )
        await session.commit()
    return outgoing


async def _attempt(maker: async_sessionmaker[AsyncSession], outgoing: _Outgoing) -> int:
    """Build and send one message outside any transaction, then record how it went; its log
    lines carry the id of the request that queued it."""
    with logs.following(outgoing.request_id):
        return await _attempt_logged(maker, outgoing)


async def _attempt_logged(maker: async_sessionmaker[AsyncSession], outgoing: _Outgoing) -> int:
    try:
        await asyncio.to_thread(_send, outgoing)
    except Exception as exc:  # whatever it was, it belongs to this message alone
        log.warning("mail %s to %r failed: %r", outgoing.id, outgoing.to_addr, exc)
        await _record(maker, outgoing, error=f"{type(exc).__name__}: {exc}"[:1000])
        metrics.MAILS.labels("failed").inc()
        return 0
    await _record(maker, outgoing, error=None)
    metrics.MAILS.labels("sent").inc()
    log.info("mail %s sent", outgoing.id)
    return 1


async def _record(
    maker: async_sessionmaker[AsyncSession], outgoing: _Outgoing, *, error: str | None
) -> bool:
    """Record how the attempt went, each as one compare-and-set; whether it was recorded.

    A sender stuck past its lease may finish after another claimed the message. A send is
    recorded by the first sender that gets through (the mail left: nobody needs to send it
    again), never over one recorded already. A failure is recorded only while the lease is still
    this sender's (no later claim counted another attempt): else its retry time would replace
    the new holder's lease, and a third sender could take the message while it is being sent.
    """
    now = clock.now()
    unsent = (OutboxMail.id == outgoing.id) & OutboxMail.sent_at.is_(None)
    if error is None:
        change = update(OutboxMail).where(unsent)
        change = change.values(sent_at=now, next_attempt_at=None, failed_at=None)
    else:
        last = outgoing.attempt >= MAX_ATTEMPTS
        change = update(OutboxMail).where(unsent, OutboxMail.attempts == outgoing.attempt)
        change = change.values(
            last_error=error,
            next_attempt_at=None if last else now + retry_delay(outgoing.attempt),
            failed_at=now if last else None,
        )
    async with maker() as session:
        result = await session.execute(change.execution_options(synchronize_session=False))
        await session.commit()
    recorded = int(getattr(result, "rowcount", 0) or 0) == 1
    if not recorded:
        log.warning("mail %s: another sender recorded or holds it, outcome left", outgoing.id)
    return recorded


def _build(message: _Outgoing, conf: settings.Settings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = _address(conf.mail_from)
    email["To"] = _address(message.to_addr)
    email["Subject"] = one_line(message.subject)
    # A stable id: if a crash between the SMTP send and the commit makes us send it again,
    # mail servers and clients see the same message.
    domain = conf.mail_from.rpartition("@")[2].strip("> ") or "fair.invalid"
    email["Message-ID"] = f"<outbox-{message.id}-{message.created_at:%Y%m%d%H%M%S}@{domain}>"
    extra: dict[str, str] = json.loads(message.headers) if message.headers else {}
    for name, value in extra.items():
        if name in EXTRA_HEADERS:  # as `queue` allowed them, on one line
            email[name] = one_line(value)
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
    return email


def _send(message: _Outgoing) -> None:
    conf = settings.get()
    email = _build(message, conf)  # refused here alike with or without SMTP
    if not conf.smtp_host:
        log.info("mail to %s: %s\n%s", message.to_addr, email["Subject"], message.body)
        return
    with smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=20) as smtp:
        if conf.smtp_starttls:
            smtp.starttls()
        if conf.smtp_user:
            smtp.login(conf.smtp_user, conf.smtp_password)
        smtp.send_message(email)


async def run_sender(maker: async_sessionmaker[AsyncSession], *, interval: float = 30.0) -> None:
    """Deliver the outbox whenever a commit queued mail, and every `interval` seconds."""

    async def round_() -> bool:
        await deliver_pending(maker)
        return False  # it sent what was due, up to its limit: the next round takes the rest

    await outbox_sender.run(_wakeup, round_, interval=interval, log=log, what="outbox delivery")


async def recent(session: AsyncSession, *, limit: int = 100) -> list[OutboxMail]:
    rows = await session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit))
    return list(rows)


async def failed(session: AsyncSession, *, limit: int = 100) -> list[OutboxMail]:
    """Messages the sender gave up on, newest first (shown to the administrator)."""
    rows = await session.scalars(
        select(OutboxMail)
        .where(OutboxMail.failed_at.is_not(None), OutboxMail.sent_at.is_(None))
        .order_by(OutboxMail.id.desc())
        .limit(limit)
    )
    return list(rows)


async def retry(session: AsyncSession, message_id: int) -> OutboxMail:
    """An administrator sends a failed message again: MAX_ATTEMPTS new attempts from now."""
    message = await session.get(OutboxMail, message_id, with_for_update=True)
    if message is None:
        raise NotFound("This message does not exist.", code="mail.not_found")
    if message.sent_at is not None or message.failed_at is None:
        raise Conflict("Only a failed message can be retried.", code="mail.not_failed")
    message.failed_at = None
    message.attempts = 0
    message.next_attempt_at = None
    await session.flush()
    db.after_commit(session, _wake)
    return message
