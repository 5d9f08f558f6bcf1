"""Candidate profiles, CVs, and the self-declared priority-public answers (kept apart)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, cv_text, files, geo, job_search
from fair.enums import FileKind, Qualification, Role
from fair.errors import Forbidden, Invalid
from fair.models import (
    Application,
    CandidateProfile,
    Edition,
    PriorityDeclaration,
    StoredFile,
    User,
)

PHONE_RE = re.compile(r"^\+?[0-9][0-9 .-]{7,18}[0-9]$")
# The yes/no questions of the optional priority-public answers (PriorityDeclaration columns).
YES_NO = (
    "priority_neighbourhood",
    "rural_area",
    "rsa_beneficiary",
    "disabled_worker",
    "long_term_unemployed",
)
# The years of birth a candidate may give: 15 to 100 years old this year.
YOUNGEST, OLDEST = 15, 100


@dataclass(frozen=True)
class PriorityAnswers:
    """A candidate's optional answers; None everywhere is 'prefer not to say'."""

    priority_neighbourhood: bool | None = None
    rural_area: bool | None = None
    rsa_beneficiary: bool | None = None
    disabled_worker: bool | None = None
    long_term_unemployed: bool | None = None
    qualification: Qualification | None = None
    birth_year: int | None = None

    def given(self) -> bool:
        return any(value is not None for value in vars(self).values())


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
    params: dict[str, str] = {}
    home: geo.Commune | None = None
    if len(data.commune) > 120:
        errors["commune"] = "Enter the commune (120 characters at most)."
    elif data.commune.strip():
        place = geo.lookup(geo.resolve(data.commune), data.commune)
        if place.commune is None:
            errors["commune"] = place.error
            params.update(place.params)
        else:
            home = place.commune
            data.commune = place.commune.label  # the name, with its postcode for a homonym
    if len(data.wanted_jobs) > 2000:
        errors["wanted_jobs"] = "Describe the jobs you want in 2,000 characters at most."
    if errors:
        raise Invalid(
            "Some fields need correcting.", code="profile.invalid", fields=errors, params=params
        )
    found = await _saved_profile(session, user)
    user.name = data.name.strip()
    found.phone = data.phone.strip()
    found.commune = data.commune.strip()
    found.wanted_jobs = data.wanted_jobs.strip()
    found.updated_at = clock.now()
    await session.flush()
    await job_search.moved_home(session, user.id, home)
    await cv_text.refresh(session, user.id)  # the CV pool's index: jobs and place
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
    """Check the PDF (content and size) and make it the profile's CV; its text is extracted
    and indexed for the CV pool (fair.cv_text)."""
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
    await cv_text.refresh(session, user.id)  # its text, extracted in a thread, for the CV pool
    return stored


async def declaration(session: AsyncSession, user: User) -> PriorityDeclaration | None:
    return await session.get(PriorityDeclaration, user.id)


def answers_of(found: PriorityDeclaration | None) -> PriorityAnswers:
    """The stored answers, or none given."""
    if found is None:
        return PriorityAnswers()
    return PriorityAnswers(
        **{name: getattr(found, name) for name in YES_NO},
        qualification=Qualification(found.qualification) if found.qualification else None,
        birth_year=found.birth_year,
    )


def _check_answers(answers: PriorityAnswers) -> None:
    year = clock.now().year
    lo, hi = year - OLDEST, year - YOUNGEST
    if answers.birth_year is not None and not lo <= answers.birth_year <= hi:
        message = "Enter the year of birth of someone aged 15 to 100, or leave it empty."
        raise Invalid(message, code="profile.birth_year", fields={"birth_year": message})


async def declare(
    session: AsyncSession, user: User, *, consent: bool, answers: PriorityAnswers
) -> PriorityDeclaration | None:
    """Store the candidate's own answers with their explicit consent; without it, erase them.

    Only the candidate declares for themselves (`user` is the one whose answers change).
    Consent is dated when the answers are first given or changed: the same answers saved again
    keep their row and its date.
    """
    _require_candidate(user)
    _check_answers(answers)
    if not consent and answers.given():
        message = "Tick the consent box to record these answers, or leave them unsaid."
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
    elif answers_of(found) != answers:
        found.consented_at = clock.now()
    for name in YES_NO:
        setattr(found, name, getattr(answers, name))
    found.qualification = answers.qualification.value if answers.qualification else None
    found.birth_year = answers.birth_year
    await session.flush()
    return found


async def priority_aggregates(session: AsyncSession, edition_id: int) -> dict[str, int]:
    """How many distinct applicants of an edition answered, and gave each answer.

    Plain counts: a page shows them through fair.disclosure, which hides the small ones. Ages
    are reached during the year of the edition's opening to applications.
    """
    edition = await session.get(Edition, edition_id)
    year = (edition.applications_open_at if edition else clock.now()).year
    applicants = select(Application.candidate_id).where(Application.edition_id == edition_id)
    declared = PriorityDeclaration.user_id.in_(applicants.distinct())
    qualification = PriorityDeclaration.qualification
    birth = PriorityDeclaration.birth_year
    low = [q.value for q in Qualification if q.low]
    counted = {
        **{name: getattr(PriorityDeclaration, name).is_(True) for name in YES_NO},
        "low_qualified": qualification.in_(low),
        "under_26": birth > year - 26,
        "senior": birth <= year - 50,
    }
    columns = [func.count(case((condition, 1))) for condition in counted.values()]
    row = (await session.execute(select(func.count(), *columns).where(declared))).one()
    return dict(zip(["declared", *counted], (int(value) for value in row), strict=True))
