"""A seeded fair for the public API's tests (tests/test_api*.py) and a client that walks a list
to its last page: what every API test module needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, employers, interviews, offers, webconferences
from fair.enums import BoothStatus, Role
from fair.models import Booth, Edition, Offer, User, Webconference
from tests import factories as f


@dataclass
class Seed:
    """A published, live edition (at f.NOON) with three approved booths and one pending, their
    offers (one unpublished, one in the pending booth), the programme (an organisers' talk, an
    approved booth's, a pending booth's), four free slots at the first booth; and a draft
    edition."""

    edition: Edition
    draft: Edition
    booths: list[Booth]  # approved, by id
    pending: Booth
    recruiters: list[User]
    offers: list[Offer]  # published in approved booths, by id
    hidden: list[Offer]  # unpublished, or in the pending booth
    talks: list[Webconference]  # public, by start
    hidden_talks: list[Webconference] = field(default_factory=list)


async def _booth(session: AsyncSession, edition: Edition, admin: User | None) -> tuple[Booth, User]:
    """A booth (approved by `admin`, else requested) and its recruiter."""
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    booth, _ = await f.booth(session, edition_=edition, recruiter=recruiter, approve=False)
    if admin is not None:
        await employers.set_status(session, booth, BoothStatus.APPROVED, by=admin)
    return await employers.get_booth(session, booth.id), recruiter


async def seed(session: AsyncSession) -> Seed:
    clock.set_now(f.NOON)
    # Accounts that never log in: no password to hash (the seed stays fast).
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    edition = await f.edition(session, by=organiser)
    draft = await f.edition(session, by=organiser, publish=False, title="Brouillon")
    approved = [await _booth(session, edition, admin) for _ in range(3)]
    pending, pending_recruiter = await _booth(session, edition, None)
    booths = [b for b, _ in approved]
    shown = [
        await f.offer(session, booth_=booths[0], title="Électricien du bâtiment (H/F)"),
        await f.offer(session, booth_=booths[0], title="Plombier chauffagiste", contract="cdd"),
        await f.offer(session, booth_=booths[1], title="Électriciens de maintenance"),
        await f.offer(session, booth_=booths[1], title="Secrétaire médicale", open_seniors=True),
        await f.offer(session, booth_=booths[2], title="Aide-soignant", contract="cdd"),
    ]
    withdrawn = await f.offer(session, booth_=booths[2], title="Poste retiré")
    await offers.set_published(session, withdrawn, False)
    elsewhere = await f.offer(session, booth_=pending, title="Électricien en attente")
    first = await webconferences.schedule(
        session,
        by=organiser,
        edition=edition,
        data=f.talk([organiser], title="Ouverture", starts_at=f.day_at(f.TOMORROW, 9)),
    )
    booth_talk = await webconferences.schedule(
        session,
        by=approved[1][1],
        edition=edition,
        booth=booths[1],
        data=f.talk([approved[1][1]], title="Nos métiers"),
    )
    await employers.set_status(session, pending, BoothStatus.APPROVED, by=admin)
    hidden_talk = await webconferences.schedule(
        session,
        by=pending_recruiter,
        edition=edition,
        booth=pending,
        data=f.talk(
            [pending_recruiter],
            title="Stand refusé",
            starts_at=f.day_at(f.TOMORROW, 14),
            ends_at=f.day_at(f.TOMORROW, 15),
        ),
    )
    await employers.set_status(
        session, pending, BoothStatus.DECLINED, by=admin, reason="Hors territoire"
    )
    await interviews.publish_availability(
        session, by=approved[0][1], booth=booths[0], data=f.availability(approved[0][1])
    )
    await db.commit(session)
    return Seed(
        edition=edition,
        draft=draft,
        booths=booths,
        pending=pending,
        recruiters=[r for _, r in approved],
        offers=shown,
        hidden=[withdrawn, elsewhere],
        talks=[first, booth_talk],
        hidden_talks=[hidden_talk],
    )


async def walk(client: httpx.AsyncClient, url: str) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, following `next` to the last page; and how many pages it took."""
    items: list[dict[str, Any]] = []
    pages = 0
    following: str | None = url
    while following:
        response = await client.get(following)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["data"]
        following = body["next"]
        pages += 1
    return items, pages
