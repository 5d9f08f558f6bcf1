"""What people hear of the CV pool by e-mail, each in their own language: the candidate, before
their consent ends (14 and 2 days before, with a link to renew and one that stops them in one
click, also in the List-Unsubscribe headers: `send_reminders`, run by the worker) and when an
organisation asks to contact them; the requester, when the candidate answers. Queued in the
transaction of the change (fair.mail.queue)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, counsellor_copies, cv_pool, mail, settings, stop_links
from fair.i18n import gettext as _
from fair.models import ContactRequest, User

PARIS = ZoneInfo("Europe/Paris")
POOL_PATH = "/me/pool"
STOP_PATH = "/pool/reminders/stop/"  # + the signed token (fair.web.pool)


def _why(locale: str) -> str:
    return _("You receive this message because your profile is in the CV pool.", locale)


async def send_reminders(session: AsyncSession) -> int:
    """Mail the candidates whose consent ends within 14 days (then within 2 days), once each,
    with a link to renew; returns the mails queued. The consent records the reminder in the
    same transaction, so a restart sends nothing twice."""
    now = clock.now()
    sent = 0
    for consent, days in await cv_pool.due_reminders(session, now):
        consent.reminded_days = days
        user = await session.get(User, consent.user_id)
        if user is None or not user.is_active:
            continue
        locale = user.locale
        day = format_date(consent.ends_at.astimezone(PARIS).date(), "long", locale=locale)
        link = settings.get().base_url + POOL_PATH
        lines = [
            _(
                "Your profile leaves the CV pool on %(day)s: recruiters will no longer find "
                "it. If you want to stay in the pool, renew your consent (up to 12 months): "
                "%(link)s",
                locale,
                day=day,
                link=link,
            ),
            _("If you do nothing, your profile leaves the pool on that day.", locale),
        ]
        stop = settings.get().base_url + STOP_PATH + cv_pool.reminders_stop_token(consent)
        body = mail.letter(locale, user.name, lines, sender=_site(locale), why=_why(locale))
        body += _(
            "Stop these reminders in one click, without logging in: %(link)s", locale, link=stop
        )
        body += "\n"
        subject = _("Your profile leaves the CV pool on %(day)s", locale, day=day)
        await mail.queue(
            session, to=user.email, subject=subject, body=body, headers=stop_links.headers(stop)
        )
        sent += 1
    await session.flush()
    return sent


def _site(locale: str) -> str:
    return _("the CV pool", locale)


async def requested(session: AsyncSession, request: ContactRequest, candidate: User) -> None:
    """Tell the candidate an organisation asks to contact them."""
    locale = candidate.locale
    link = settings.get().base_url + POOL_PATH + "#contacts"
    lines = [
        _(
            "%(organisation)s found your profile in the CV pool and would like to contact "
            "you. Their message:",
            locale,
            organisation=request.organisation,
        ),
        "",
        request.message,
        "",
        _(
            "They do not have your name, e-mail address, phone number or CV. Accept or "
            "decline: %(link)s",
            locale,
            link=link,
        ),
    ]
    body = mail.letter(locale, candidate.name, lines, sender=_site(locale), why=_why(locale))
    subject = _(
        "%(organisation)s would like to contact you", locale, organisation=request.organisation
    )
    await mail.queue(session, to=candidate.email, subject=subject, body=body)
    # Without a mailbox: their counsellors hear that a request awaits, not who asks or why.
    await counsellor_copies.tell(session, candidate, counsellor_copies.CONTACT)


async def answered(session: AsyncSession, request: ContactRequest, requester: User) -> None:
    """Tell the requester the candidate's answer (the profile's reference, no name)."""
    locale = requester.locale
    accepted = request.status == "accepted"
    link = settings.get().base_url + "/pool/requests"
    lead = (
        _(
            "The candidate accepted your contact request: their details are on your requests page:",
            locale,
        )
        if accepted
        else _("The candidate declined your contact request.", locale)
    )
    why = _(
        "You receive this message because you asked to contact a candidate of the CV pool.", locale
    )
    body = mail.letter(locale, requester.name, [lead, link], sender=_site(locale), why=why)
    subject = (
        _("Contact request accepted", locale) if accepted else _("Contact request declined", locale)
    )
    await mail.queue(session, to=requester.email, subject=subject, body=body)
