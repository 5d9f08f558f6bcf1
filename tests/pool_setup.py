"""The CV pool's test setting (tests/test_cv_pool*.py): PDFs with a text layer, and a small
world of editions, territories, recruiters and candidates built through the domain."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from fair import candidates, clock, demo_cv, participants
from fair.enums import Role, StructureKind
from fair.models import Edition, Structure, StructureEdition, StructureMember, User
from tests import factories as f


def text_pdf(*lines: str) -> bytes:
    """A one-page PDF whose text layer holds `lines` (Helvetica, WinAnsi: French accents)."""
    return demo_cv.text_pdf(lines)


async def pool_candidate(
    session: AsyncSession,
    *,
    lines: tuple[str, ...] = ("Électricien du bâtiment", "Habilitation électrique B1V"),
    commune: str = "Lattes",
    jobs: str = "Électricien",
    name: str = "",
    editions_: tuple[Edition, ...] = (),
    can_log_in: bool = False,
) -> User:
    """A candidate with a commune, jobs wanted and a CV with a text layer, taking part in
    `editions_`."""
    kw = {"name": name} if name else {}
    user = await f.user(session, Role.CANDIDATE, can_log_in=can_log_in, **kw)
    await candidates.update(
        session,
        user,
        data=candidates.ProfileInput(
            name=user.name, phone="06 12 34 56 78", commune=commune, wanted_jobs=jobs
        ),
    )
    await candidates.set_cv(session, user, filename="cv.pdf", data=text_pdf(*lines))
    for edition in editions_:
        await participants.register(session, edition_id=edition.id, user=user)
    return user


async def recruiter_at(
    session: AsyncSession, edition: Edition, *, approve: bool = True, can_log_in: bool = False
) -> User:
    """A recruiter whose employer has a booth in `edition` (approved unless `approve` is off)."""
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=can_log_in)
    await f.booth(session, edition_=edition, recruiter=recruiter, approve=approve)
    return recruiter


@dataclass
class World:
    """Montpellier's two editions (one territory, spelt differently), Lyon's, and an archived
    one of Montpellier; a recruiter of an approved booth in each, one awaiting approval in the
    first; a candidate taking part in the first three."""

    montpellier: Edition
    montpellier2: Edition
    lyon: Edition
    archived: Edition
    recruiters: dict[str, User] = field(default_factory=dict)
    candidate: User | None = None


async def world(session: AsyncSession) -> World:
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    mtp = await f.edition(session, by=organiser, title="Rencontres Montpellier")
    mtp2 = await f.edition(session, by=organiser, title="Forum saisonnier")
    lyon = await f.edition(session, by=organiser, title="Forum Lyon")
    old = await f.edition(session, by=organiser, title="Ancien forum")
    mtp.territory = "Montpellier Méditerranée Métropole"
    mtp2.territory = "  montpellier  mediterranee METROPOLE"
    lyon.territory = "Métropole de Lyon"
    old.territory = "Montpellier Méditerranée Métropole"
    await session.flush()
    made = World(mtp, mtp2, lyon, old)
    made.recruiters = {
        "montpellier": await recruiter_at(session, mtp),
        "montpellier2": await recruiter_at(session, mtp2),
        "lyon": await recruiter_at(session, lyon),
        "pending": await recruiter_at(session, mtp, approve=False),
        "archived": await recruiter_at(session, old),
    }
    old.archived_at = clock.now()
    await session.flush()
    made.candidate = await pool_candidate(session, editions_=(mtp, mtp2, lyon))
    return made


async def agency(
    session: AsyncSession,
    *,
    admitted: tuple[Edition, ...] = (),
    approved: bool = True,
    kind: StructureKind = StructureKind.TEMPORARY_WORK,
    can_log_in: bool = False,
) -> User:
    """A counsellor of a structure (a temporary-work agency by default), approved or not,
    admitted to `admitted` editions. Rows written directly: the structures' domain module
    (fair.structures) has no factory here yet."""
    now = clock.now()
    n = len(admitted)
    structure = Structure(
        name=f"Intérim {kind.value} {n}",
        kind=kind.value,
        departement="34",
        epci="",
        communes=[],
        approved_at=now if approved else None,
        created_at=now,
    )
    session.add(structure)
    await session.flush()
    member = await f.user(session, Role.COUNSELLOR, can_log_in=can_log_in)
    session.add(StructureMember(structure_id=structure.id, user_id=member.id, created_at=now))
    for edition in admitted:
        session.add(
            StructureEdition(structure_id=structure.id, edition_id=edition.id, admitted_at=now)
        )
    await session.flush()
    return member
