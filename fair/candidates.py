"""Candidate profiles, CVs, and the self-declared priority-public attributes (kept apart)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, files
from fair.enums import FileKind, Role
from fair.errors import Forbidden, Invalid
from fair.models import Application, CandidateProfile, PriorityDeclaration, StoredFile, User

PHONE_RE = re.compile(r"^\+?[0-9][0-9 .-]{7,18}[0-9]$")
PRIORITY_FIELDS = (
    "senior",
    "under_26",
    "disabled_worker",
    "priority_neighbourhood",
    "rural_area",
    "low_qualified",
    "long_term_unemployed",
)
# Aggregates under this size are shown as "fewer than" so nobody can be singled out.
SMALL_COUNT = 5


@dataclass
class ProfileInput:
    name: str
    phone: str
    commune: str
    wanted_jobs: str


def _require_candidate(user: User) -> None:
    if user.role != Role.CANDIDATE:
        raise Forbidden("This page is for candidates.")


async def profile(session: AsyncSession, user: User) -> CandidateProfile:
    """The candidate's profile: an empty, unsaved one until first saved (reads never write)."""
    _require_candidate(user)
    found = await session.get(CandidateProfile, user.id)
    if found is None:
        found = CandidateProfile(
            user_id=user.id,
            phone="",
            commune="",
            wanted_jobs="",
            cv_file_id=None,
            updated_at=clock.now(),
        )
    return found


async def _saved_profile(session: AsyncSession, user: User) -> CandidateProfile:
    found = await profile(session, user)
    if found not in session:
        session.add(found)
        await session.flush()
    return found


async def update(session: AsyncSession, user: User, *, data: ProfileInput) -> CandidateProfile:
    errors: dict[str, str] = {}
    if not data.name.strip() or len(data.name) > 120:
        errors["name"] = "Enter your name (120 characters at most)."
    if data.phone.strip() and not PHONE_RE.match(data.phone.strip()):
        errors["phone"] = "Enter a phone number such as 06 12 34 56 78."
    if len(data.commune) > 120:
        errors["commune"] = "Enter the commune (120 characters at most)."
    if len(data.wanted_jobs) > 2000:
        errors["wanted_jobs"] = "Describe the jobs you want in 2,000 characters at most."
    if errors:
        raise Invalid("Some fields need correcting.", code="profile.invalid", fields=errors)
    found = await _saved_profile(session, user)
    user.name = data.name.strip()
    found.phone = data.phone.strip()
    found.commune = data.commune.strip()
    found.wanted_jobs = data.wanted_jobs.strip()
    found.updated_at = clock.now()
    await session.flush()
    return found


async def set_phone(session: AsyncSession, user: User, *, phone: str) -> CandidateProfile:
    """Set the number recruiters may call (the interview room asks for it in phone mode)."""
    phone = phone.strip()
    if not PHONE_RE.match(phone):
        text = "Enter a phone number such as 06 12 34 56 78."
        raise Invalid(text, code="profile.invalid", fields={"phone": text})
    found = await _saved_profile(session, user)
    found.phone = phone
    found.updated_at = clock.now()
    await session.flush()
    return found


async def set_cv(session: AsyncSession, user: User, *, filename: str, data: bytes) -> StoredFile:
    """Check the PDF (content and size) and make it the profile's CV."""
    _require_candidate(user)
    await files.check_pdf(data)
    stored = await files.store(
        session,
        owner_id=user.id,
        kind=FileKind.CV,
        filename=filename,
        data=data,
        content_type="application/pdf",
    )
    found = await _saved_profile(session, user)
    found.cv_file_id = stored.id
    found.updated_at = clock.now()
    await session.flush()
    return stored


async def declaration(session: AsyncSession, user: User) -> PriorityDeclaration | None:
    return await session.get(PriorityDeclaration, user.id)


async def declare(
    session: AsyncSession, user: User, *, consent: bool, attributes: set[str]
) -> PriorityDeclaration | None:
    """Store the attributes with the candidate's explicit consent; without it, erase them.

    Consent is dated when the answers are first given or changed: the same answers saved again
    keep their row and its date.
    """
    _require_candidate(user)
    if not attributes <= set(PRIORITY_FIELDS):
        raise Invalid("Unknown attribute.", code="profile.invalid")
    if not consent and attributes:
        message = "Tick the consent box to record these answers, or untick them."
        raise Invalid(message, code="profile.consent_required", fields={"consent": message})
    found = await session.get(PriorityDeclaration, user.id)
    if not consent:
        if found is not None:
            await session.delete(found)
            await session.flush()
        return None
    if found is None:
        found = PriorityDeclaration(user_id=user.id, consented_at=clock.now())
        session.add(found)
    elif {name for name in PRIORITY_FIELDS if getattr(found, name)} != attributes:
        found.consented_at = clock.now()
    for name in PRIORITY_FIELDS:
        setattr(found, name, name in attributes)
    await session.flush()
    return found


async def priority_aggregates(session: AsyncSession, edition_id: int) -> dict[str, int | None]:
    """How many distinct applicants of an edition declared each attribute.

    None stands for "fewer than SMALL_COUNT", so no count can point at a person.
    """
    applicants = (
        select(Application.candidate_id)
        .where(Application.edition_id == edition_id)
        .distinct()
        .subquery()
    )
    columns = [
        func.coalesce(func.sum(cast(getattr(PriorityDeclaration, name), Integer)), 0)
        for name in PRIORITY_FIELDS
    ]
    row = (
        await session.execute(
            select(func.count(), *columns)
            .select_from(PriorityDeclaration)
            .where(PriorityDeclaration.user_id.in_(select(applicants.c.candidate_id)))
        )
    ).one()
    result: dict[str, int | None] = {"declared": int(row[0])}
    for name, value in zip(PRIORITY_FIELDS, row[1:], strict=True):
        result[name] = int(value) if int(value) >= SMALL_COUNT else None
    if result["declared"] is not None and int(row[0]) < SMALL_COUNT:
        result["declared"] = None
    return result
