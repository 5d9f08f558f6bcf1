"""A small booth hall for the hall's tests (tests/test_hall.py, test_web_hall.py, the browser's
test_hall.py): five approved booths and a requested one, with offers, a recruiter there, a queue
and free interview slots."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fair import employers, interviews, offers, presence, queues
from fair.enums import BoothStatus, Role
from fair.models import Booth, Edition
from tests import factories as f

SIRETS = itertools.count(900_000)  # apart from the factories' numbers


@dataclass
class Hall:
    edition: Edition
    booths: dict[str, Booth]


async def hall_booth(
    session: AsyncSession, edition: Edition, name: str, naf: str, commune: str, approve: bool = True
) -> Booth:
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    employer = await employers.register(
        session,
        by=recruiter,
        data=employers.EmployerInput(
            name=name,
            siret=f.siret(next(SIRETS)),
            naf_code=naf,
            size="10-49",
            commune=commune,
            website="",
            description="",
            video_url="",
        ),
    )
    booth = await employers.request_booth(session, by=recruiter, employer=employer, edition=edition)
    if approve:
        admin = await f.user(session, Role.ADMIN, can_log_in=False)
        await employers.set_status(session, booth, BoothStatus.APPROVED, by=admin)
    return await employers.get_booth(session, booth.id)


async def make_hall(session: AsyncSession) -> Hall:
    """Five approved booths and a requested one, with offers, a recruiter there, a queue and
    free interview slots."""
    edition = await f.edition(session)
    made = {
        "Alpha Bâtiment": ("43.21A", "Montpellier"),
        "boulangerie Beta": ("10.71C", "Lattes"),
        "Clinique Gamma": ("86.10Z", "Sète"),
        "Delta Logistique": ("52.29A", "Montpellier"),
        "Foxtrot Services": ("43.22A", "Castelnau-le-Lez"),
    }
    booths = {
        name: await hall_booth(session, edition, name, *where) for name, where in made.items()
    }
    await hall_booth(session, edition, "Echo Conseil", "70.22Z", "Montpellier", approve=False)

    def at(commune: str, postcode: str) -> dict[str, str]:
        return {"commune": commune, "postcode": postcode}

    await f.offer(
        session, booth_=booths["Alpha Bâtiment"], contract="cdi", **at("Montpellier", "34000")
    )
    await f.offer(
        session,
        booth_=booths["boulangerie Beta"],
        contract="cdd",
        no_diploma=True,
        **at("Lattes", ""),
    )
    await f.offer(session, booth_=booths["Clinique Gamma"], contract="cdi", **at("Sète", ""))
    await f.offer(
        session,
        booth_=booths["Clinique Gamma"],
        contract="apprenticeship",
        no_diploma=True,
        **at("Sète", ""),
    )
    await f.offer(
        session, booth_=booths["Delta Logistique"], contract="apprenticeship", **at("Lunel", "")
    )
    hidden = await f.offer(
        session, booth_=booths["Foxtrot Services"], contract="cdi", no_diploma=True
    )
    await offers.set_published(session, hidden, False)

    delta = booths["Delta Logistique"]
    recruiter = await member_of(session, delta)
    await presence.staff(session, recruiter=recruiter, booth=delta, connection_id="delta")
    await interviews.publish_availability(
        session, by=recruiter, booth=delta, data=f.availability(recruiter)
    )
    for _ in range(2):
        await queues.join(
            session,
            candidate=await f.user(session, can_log_in=False),
            booth=booths["Foxtrot Services"],
        )
    return Hall(edition, booths)


async def member_of(session: AsyncSession, booth: Booth):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from fair.models import EmployerMember, User

    return await session.scalar(
        select(User)
        .join(EmployerMember, EmployerMember.user_id == User.id)
        .where(EmployerMember.employer_id == booth.employer_id)
    )
