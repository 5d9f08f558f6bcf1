"""Applications put forward by a counsellor's structure (fair.counsellors.put_forward): the
recruiter reads "put forward by <structure>" with the counsellor's note, and each later status
of the application flows back to the counsellor (`status_changed`, called by
`applications.set_status`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, mail, notices, settings
from fair.enums import ApplicationStatus, NoticeKind
from fair.i18n import gettext as _
from fair.models import (
    Application,
    ApplicationEndorsement,
    Booth,
    Employer,
    Offer,
    Structure,
    User,
)

MAX_NOTE = 2000


@dataclass(frozen=True)
class Shown:
    """What the recruiter reads about an application put forward."""

    structure: str
    counsellor: str
    note: str


async def record(
    session: AsyncSession,
    *,
    application: Application,
    structure: Structure,
    counsellor: User,
    note: str,
) -> ApplicationEndorsement:
    endorsement = ApplicationEndorsement(
        application_id=application.id,
        structure_id=structure.id,
        counsellor_id=counsellor.id,
        note=note.strip(),
        created_at=clock.now(),
    )
    session.add(endorsement)
    await session.flush()
    return endorsement


async def of_applications(session: AsyncSession, ids: list[int]) -> dict[int, Shown]:
    """The endorsements of these applications, by application id (one query)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            ApplicationEndorsement.application_id,
            Structure.name,
            User.name,
            ApplicationEndorsement.note,
        )
        .join(Structure, Structure.id == ApplicationEndorsement.structure_id)
        .outerjoin(User, User.id == ApplicationEndorsement.counsellor_id)
        .where(ApplicationEndorsement.application_id.in_(ids))
    )
    return {a: Shown(structure=s, counsellor=c or "", note=n) for a, s, c, n in rows.all()}


async def status_changed(
    session: AsyncSession, application: Application, new: ApplicationStatus
) -> None:
    """Tell the counsellor who put the application forward of its new status: a notice and a
    mail (none when the application was not put forward, or its counsellor's account is
    gone)."""
    endorsement = await session.get(ApplicationEndorsement, application.id)
    if endorsement is None or endorsement.counsellor_id is None:
        return
    row = (
        await session.execute(
            select(User, Offer.title, Employer.name)
            .select_from(Application)
            .join(User, User.id == endorsement.counsellor_id)
            .join(Offer, Offer.id == Application.offer_id)
            .join(Booth, Booth.id == Application.booth_id)
            .join(Employer, Employer.id == Booth.employer_id)
            .where(Application.id == application.id)
        )
    ).one()
    counsellor, offer, employer = row[0], row[1], row[2]
    candidate = await session.scalar(select(User.name).where(User.id == application.candidate_id))
    params = {"candidate": candidate, "offer": offer, "employer": employer, "status": new.value}
    await notices.add(
        session,
        user_id=counsellor.id,
        kind=NoticeKind.PUT_FORWARD_STATUS,
        params=params,
        link=f"/counsellor/candidates/{application.candidate_id}",
    )
    locale = counsellor.locale or "fr"
    names = {"candidate": candidate, "offer": offer, "employer": employer}
    body = _(
        "Hello %(name)s,\n\nThe application of %(candidate)s that you put forward to "
        "“%(offer)s” at %(employer)s is now: %(status)s.\n\nFollow it on your counsellor "
        "page: %(link)s\n",
        locale,
        name=counsellor.name,
        status=_(new.label, locale),
        link=f"{settings.get().base_url}/counsellor/candidates/{application.candidate_id}",
        **names,
    )
    subject = _("%(candidate)s's application to “%(offer)s”", locale, **names)
    await mail.queue(session, to=counsellor.email, subject=subject, body=body)
