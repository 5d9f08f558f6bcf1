"""The demo's counsellors and CV pool (fair.demo builds it, after this year's edition).

A mission locale admitted to this year's edition, whose counsellor follows two candidates: the
demo candidate, who accepted her offer, and a person without e-mail whose account she made with
them (consent ticked on her screen, a printed one-time code, a CV). An approved temporary-work
agency admitted to the edition, whose counsellor may search the CV pool. Three pool profiles, one
at each level: the demo candidate (this edition's recruiters), a second candidate (the
territory's partners and agencies) and a third (the whole network).

Both counsellors log in with the demo's password; its hash is copied from the demo accounts
(no argon2 here: seeding stays fast).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fair import candidates, counsellors, cv_pool, structures
from fair.enums import PoolLevel, StructureKind
from fair.models import Edition, Structure, User

COUNSELLOR = "conseillere@demo.fair"
AGENCY = "agence@demo.fair"
DEPARTEMENT = "34"
# The person met at the mission locale, who has no e-mail address.
IN_PERSON = "Bernard Vidal"
POOL_MONTHS = 6


@dataclass(frozen=True)
class Seeded:
    counsellor: User
    agency: User
    in_person: User


async def seed(
    session: AsyncSession,
    *,
    edition: Edition,
    organiser: User,
    candidate: User,
    others: list[User],
    password_hash: str,
    cv: bytes,
) -> Seeded:
    """Build it (flushes, never commits); `others`: two more candidates of the edition."""
    mission = await _structure(session, organiser, edition, "Mission locale Garrigues et Lez")
    counsellor = await _counsellor(
        session, organiser, mission, COUNSELLOR, "Nadia Chevalier", password_hash
    )
    asked = await counsellors.invite(
        session, by=counsellor, structure=mission, email=candidate.email
    )
    await counsellors.consent(
        session,
        candidate=candidate,
        accompaniment_id=asked.id,
        version=counsellors.CONSENT_VERSION,
        agreed=True,
    )
    made = await counsellors.create_person(
        session, by=counsellor, structure=mission, name=IN_PERSON, consent=True
    )
    await candidates.set_cv(session, made.candidate, filename="cv.pdf", data=cv)
    agency = await _structure(
        session, organiser, edition, "Garrigues Intérim", kind=StructureKind.TEMPORARY_WORK
    )
    agent = await _counsellor(session, organiser, agency, AGENCY, "Hugo Lambert", password_hash)
    levels = zip([candidate, *others[:2]], PoolLevel, strict=True)
    for person, level in levels:
        edition_id = None if level == PoolLevel.NETWORK else edition.id
        await cv_pool.give(session, person, level=level, months=POOL_MONTHS, edition_id=edition_id)
    return Seeded(counsellor, agent, made.candidate)


async def _structure(
    session: AsyncSession,
    organiser: User,
    edition: Edition,
    name: str,
    *,
    kind: StructureKind = StructureKind.MISSION_LOCALE,
) -> Structure:
    data = structures.StructureInput(name=name, kind=kind.value, departement=DEPARTEMENT)
    return await structures.create(session, by=organiser, data=data, edition_id=edition.id)


async def _counsellor(
    session: AsyncSession,
    organiser: User,
    structure: Structure,
    email: str,
    name: str,
    password_hash: str,
) -> User:
    user = await structures.add_counsellor(
        session, by=organiser, structure=structure, email=email, name=name
    )
    user.password_hash = password_hash
    await session.flush()
    return user
