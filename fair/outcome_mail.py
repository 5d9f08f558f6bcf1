"""What recruiters and candidates hear of the follow-ups after an edition (J+30, J+90, J+180),
each in their own language (User.locale).

The booth's recruiters: one mail per booth and follow-up, saying how many candidates they
retained await their answer (hired or not, the contract, its length), with the link to the
booth's follow-up page. The candidates who applied: one mail per follow-up asking whether they
found a job, with the link to their answer page.

fair.follow_ups decides who and when (the worker's `follow_ups.step`, in the transaction that
records the mailing); this module says it. Every mail ends with the transactional footer of
fair.mail: who sent it and why; these are service messages about an edition the person took
part in, so there is no unsubscribing from them, as from the other mails of fair.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fair import mail, settings
from fair.i18n import day, ngettext
from fair.i18n import gettext as _
from fair.models import Edition, User

Message = tuple[str, str, str]  # to, subject, body (fair.mail.queue_many)


def _ended(edition: Edition, end: datetime, locale: str) -> str:
    date = day(end.astimezone(ZoneInfo(edition.timezone)).date(), "long", locale)
    return _("%(edition)s ended on %(date)s.", locale, edition=edition.title, date=date)


def to_recruiter(
    recruiter: User, *, edition: Edition, end: datetime, employer: str, booth_id: int, count: int
) -> Message:
    """The follow-up of one booth, for one of its recruiters: `count` candidates to confirm."""
    locale = recruiter.locale or "fr"
    link = f"{settings.get().base_url}/recruiter/booths/{booth_id}/follow-up"
    lines = [
        _ended(edition, end, locale),
        ngettext(
            "%(num)s candidate you retained at your booth awaits your answer: were they hired, "
            "with which contract and for how long?",
            "%(num)s candidates you retained at your booth await your answer: were they hired, "
            "with which contract and for how long?",
            count,
            locale,
        ),
        _(
            "One click per candidate; a job of at least one month counts as a return to work, "
            "as France Travail counts it.",
            locale,
        ),
        "",
        _("Answer here: %(link)s", locale, link=link),
    ]
    why = _(
        "You receive this message because you are a member of %(employer)s, which had a booth "
        "in %(edition)s. It is sent 30, 90 and 180 days after the edition.",
        locale,
        employer=employer,
        edition=edition.title,
    )
    body = mail.letter(locale, recruiter.name, lines, sender=edition.title, why=why)
    subject = ngettext(
        "%(edition)s: %(num)s hire to confirm",
        "%(edition)s: %(num)s hires to confirm",
        count,
        locale,
        edition=edition.title,
    )
    return recruiter.email, subject, body


def to_candidate(candidate: User, *, edition: Edition, end: datetime) -> Message:
    """The follow-up for a candidate who applied: did you find a job?"""
    locale = candidate.locale or "fr"
    link = f"{settings.get().base_url}/me/editions/{edition.id}/job"
    lines = [
        _ended(edition, end, locale),
        _(
            "Have you found a job since, with one of its employers or another one? Tell us in "
            "one click: your answer helps the organisers see what the fair brings.",
            locale,
        ),
        "",
        _("Answer here: %(link)s", locale, link=link),
        _("You may change your answer later.", locale),
    ]
    why = _(
        "You receive this message because you applied to offers of %(edition)s. It is sent "
        "30, 90 and 180 days after the edition.",
        locale,
        edition=edition.title,
    )
    body = mail.letter(locale, candidate.name, lines, sender=edition.title, why=why)
    subject = _("%(edition)s: have you found a job?", locale, edition=edition.title)
    return candidate.email, subject, body
