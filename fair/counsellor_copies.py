"""A candidate without a mailbox (an account a counsellor made for a person without e-mail,
fair.counsellors) reads their news in the site's notices only. When a mail for them is queued
about something they have to see (an application's outcome, fair.application_mail; a contact
request from the CV pool, fair.pool_mail), `tell` mails their counsellors that something awaits
them, in each counsellor's language: what kind of news, never its private content (a
recruiter's or an organisation's message), and the link to the candidate's page.

The counsellors told are those `fair.counsellors.require_followed` lets see the candidate: an
accompaniment in force by a counsellor still a member of its structure (fair.accompaniments,
the one rule). One mail per counsellor, candidate and subject in a transaction (several moves of one
application in one transaction tell once, as fair.application_mail mails once).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import accompaniments, accounts, mail, settings
from fair.i18n import N_
from fair.i18n import gettext as _
from fair.models import Accompaniment, Structure, StructureMember, User

# What awaits the candidate, as the counsellor reads it (the values of `tell`'s `what`).
APPLICATION = N_("news about their application to “%(offer)s” (%(employer)s)")
CONTACT = N_(
    "a request to contact them from an organisation that found their profile in the CV pool"
)
_TOLD = "counsellor_copies"


async def tell(session: AsyncSession, candidate: User, what: str, **params: str) -> int:
    """Mail the counsellors of `candidate`, if the candidate has no mailbox, that `what` (a
    msgid above, with `params`) awaits them; returns how many mails were queued."""
    if accounts.has_mailbox(candidate):
        return 0
    transaction = session.sync_session.get_transaction()
    owner, told = session.info.get(_TOLD, (None, set()))
    if owner is not transaction:
        told = set()
        session.info[_TOLD] = (transaction, told)
    queued = 0
    for counsellor, structure in await _counsellors(session, candidate.id):
        key = (counsellor.id, candidate.id, what, tuple(sorted(params.items())))
        if key not in told:
            told.add(key)
            said = _(what, counsellor.locale or "fr", **params)
            await _mail(session, counsellor, structure, candidate, said)
            queued += 1
    return queued


async def _counsellors(session: AsyncSession, candidate_id: int) -> list[tuple[User, str]]:
    """The counsellors who accompany the candidate now, each once, with a structure's name."""
    rows = await session.execute(
        select(User, Structure.name)
        .join(Accompaniment, Accompaniment.counsellor_id == User.id)
        .join(Structure, Structure.id == Accompaniment.structure_id)
        .join(StructureMember, accompaniments.member(User.id))
        .where(
            Accompaniment.candidate_id == candidate_id,
            *accompaniments.in_force(User.id),
            User.is_active.is_(True),
        )
        .order_by(User.id, Accompaniment.id)
    )
    seen: dict[int, tuple[User, str]] = {}
    for user, structure in rows.all():
        seen.setdefault(user.id, (user, structure))
    return list(seen.values())


async def _mail(
    session: AsyncSession, counsellor: User, structure: str, candidate: User, what: str
) -> None:
    locale = counsellor.locale or "fr"
    link = f"{settings.get().base_url}/counsellor/candidates/{candidate.id}"
    lines = [
        _(
            "%(candidate)s, whom you accompany, has no e-mail address: %(what)s awaits them "
            "in their notices on the site. Help them read it and answer.",
            locale,
            candidate=candidate.name,
            what=what,
        ),
        "",
        _("Their page: %(link)s", locale, link=link),
    ]
    why = _(
        "You receive this message because you accompany %(candidate)s, who has no e-mail address.",
        locale,
        candidate=candidate.name,
    )
    body = mail.letter(locale, counsellor.name, lines, sender=structure, why=why)
    subject = _("News for %(candidate)s", locale, candidate=candidate.name)
    await mail.queue(session, to=counsellor.email, subject=subject, body=body)
