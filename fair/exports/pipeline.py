"""A booth's applications as an export, for its recruiters (personal data)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair.enums import ApplicationStatus
from fair.exports.kinds import CHUNK, Batches
from fair.exports.reading import local, stream
from fair.i18n import N_, gettext
from fair.models import (
    Application,
    Offer,
    User,
)
from fair.personal_data import shown

# Applications of a booth


def application_header(locale: str) -> list[str]:
    names = [
        N_("Candidate"),
        N_("E-mail"),
        N_("Offer"),
        N_("Status"),
        N_("Applied at"),
        N_("Status changed at"),
    ]
    return [gettext(name, locale) for name in names]


async def application_rows(
    session: AsyncSession, *, booth_id: int, zone: ZoneInfo, locale: str, chunk: int = CHUNK
) -> Batches:
    """The booth's applications, oldest first (the pipeline's order)."""
    statement = (
        select(
            User.name,
            User.email,
            Offer.title,
            Application.status,
            Application.created_at,
            Application.status_changed_at,
        )
        .join(User, User.id == Application.candidate_id)
        .join(Offer, Offer.id == Application.offer_id)
        .where(Application.booth_id == booth_id)
        .order_by(Application.created_at, Application.id)
    )
    labels = {s.value: gettext(s.label, locale) for s in ApplicationStatus}
    async for batch in stream(session, statement, chunk=chunk):
        yield [
            (
                shown(name, locale),
                shown(email, locale),
                title,
                labels[status],
                local(applied, zone),
                local(changed, zone),
            )
            for name, email, title, status, applied, changed in batch
        ]
