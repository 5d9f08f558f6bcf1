"""A candidate's job search: the jobs they want (ROME codes), where they live and how far and by
what means they can travel, the contracts, working time and start they want, their skills.

Matching (fair.matching), alerts (fair.alerts), the CV pool's search and counsellors read it.
`update` is the one function that changes it; `moved_home` keeps the home's coordinates in step
with the profile's commune (fair.candidates calls it). Boundaries parse numbers and dates with
fair.parse (through web.forms) and hand typed values here, which checks the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, geo, parse, rome, search
from fair.enums import Contract, Role, Transport, WorkingTime
from fair.errors import Forbidden, Invalid
from fair.models import (
    CandidateProfile,
    JobSearchContract,
    JobSearchProfile,
    JobSearchTarget,
    User,
)

MAX_TARGETS = 5
MAX_SKILLS = 30
SKILL_LENGTH = 80
MAX_DISTANCE_KM = 300
# "Électricien (F1603)", "F1603 Électricien", "F1603": a code written with or without its name.
CODE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])([A-Na-n][0-9]{4})(?![0-9])")
SKILL_SPLIT = re.compile(r"[\n;,]+")


@dataclass(frozen=True)
class Target:
    """A job wanted: a ROME code and the name shown (the ROME label, or an appellation's)."""

    rome_code: str
    label: str
    appellation_code: str = ""


@dataclass(frozen=True)
class Wanted:
    """What a candidate looks for, as typed values (the boundary parsed them)."""

    targets: tuple[Target, ...] = ()
    max_distance_km: int | None = None
    transport: Transport | None = None
    contracts: frozenset[Contract] = frozenset()
    working_time: WorkingTime | None = None
    available_from: date | None = None
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobSearch:
    """A candidate's stored job search, read in one go (matching works on these)."""

    user_id: int
    targets: tuple[Target, ...] = ()
    commune_code: str = ""
    latitude: float | None = None
    longitude: float | None = None
    max_distance_km: int | None = None
    transport: Transport | None = None
    contracts: frozenset[Contract] = frozenset()
    working_time: WorkingTime | None = None
    available_from: date | None = None
    skills: tuple[str, ...] = ()
    skill_codes: tuple[str, ...] = field(default=())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.rome_code for t in self.targets)

    def described(self) -> bool:
        """Whether there is anything to match on (a job wanted at least)."""
        return bool(self.targets)


def target_from_text(text: str) -> Target | None:
    """The job a typed text names in the shipped ROME list: its code ("F1603", "Électricien
    (F1603)") or its exact name, accents and case aside; None when it names none."""
    found = CODE_IN_TEXT.search(text)
    if found:
        job = rome.job(found.group(1))
        return Target(job.code, job.label) if job else None
    key = _fold(text)
    for job in rome.jobs().values():
        if _fold(job.label) == key:
            return Target(job.code, job.label)
    return None


def _fold(text: str) -> str:
    """Accents, case, punctuation and spacing aside: "Électricien " is "electricien"."""
    return " ".join(search.words(text))


def skills_from_text(text: str) -> tuple[str, ...]:
    """Skills typed one a line or separated by commas or semicolons, trimmed, without repeats."""
    seen: dict[str, str] = {}
    for part in SKILL_SPLIT.split(text):
        skill = parse.line(part)
        if skill and _fold(skill) not in seen:
            seen[_fold(skill)] = skill
    return tuple(seen.values())


def _require_candidate(user: User) -> None:
    if user.role != Role.CANDIDATE:
        raise Forbidden("This page is for candidates.")


def _check(wanted: Wanted) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(wanted.targets) > MAX_TARGETS:
        errors["targets"] = "Choose five jobs at most."
    for target in wanted.targets:
        if rome.job(target.rome_code) is None or not 0 < len(target.label) <= 200:
            errors["targets"] = "Choose the jobs in the list of job names."
    if wanted.max_distance_km is not None and not 0 <= wanted.max_distance_km <= MAX_DISTANCE_KM:
        errors["max_distance_km"] = "Enter a distance between 0 and 300 km."
    if len(wanted.skills) > MAX_SKILLS:
        errors["skills"] = "List 30 skills at most."
    elif any(len(skill) > SKILL_LENGTH for skill in wanted.skills):
        errors["skills"] = "Write each skill in 80 characters at most."
    return errors


async def update(session: AsyncSession, user: User, *, wanted: Wanted) -> JobSearchProfile:
    """Replace the candidate's job search with `wanted` (targets and contracts in its order).

    Refuses with `job_search.invalid` (field errors) a job not in the ROME list, more than five
    jobs, a distance outside 0-300 km, more than 30 skills or one over 80 characters. The home
    coordinates are taken from the profile's commune as it is in the session. No mail, no event.
    """
    _require_candidate(user)
    errors = _check(wanted)
    if errors:
        raise Invalid("Some fields need correcting.", code="job_search.invalid", fields=errors)
    found = await _saved(session, user.id)
    found.max_distance_km = wanted.max_distance_km
    found.transport = wanted.transport.value if wanted.transport else ""
    found.working_time = wanted.working_time.value if wanted.working_time else ""
    found.available_from = wanted.available_from
    found.skills = list(wanted.skills)
    found.updated_at = clock.now()
    profile = await session.get(CandidateProfile, user.id)
    _place(found, geo.find(profile.commune) if profile and profile.commune else None)
    await _replace_children(session, user.id, wanted)
    await session.flush()
    return found


async def _replace_children(session: AsyncSession, user_id: int, wanted: Wanted) -> None:
    await session.execute(delete(JobSearchTarget).where(JobSearchTarget.user_id == user_id))
    await session.execute(delete(JobSearchContract).where(JobSearchContract.user_id == user_id))
    unique = {t.rome_code + "\0" + t.appellation_code + "\0" + t.label: t for t in wanted.targets}
    for position, target in enumerate(unique.values()):
        session.add(
            JobSearchTarget(
                user_id=user_id,
                position=position,
                rome_code=target.rome_code,
                appellation_code=target.appellation_code,
                label=target.label,
            )
        )
    for contract in sorted(wanted.contracts):
        session.add(JobSearchContract(user_id=user_id, contract=contract.value))


async def _saved(session: AsyncSession, user_id: int) -> JobSearchProfile:
    found = await session.get(JobSearchProfile, user_id)
    if found is None:
        found = JobSearchProfile(
            user_id=user_id,
            commune_code="",
            transport="",
            working_time="",
            skills=[],
            skill_codes=[],
            updated_at=clock.now(),
        )
        session.add(found)
    return found


def _place(found: JobSearchProfile, commune: geo.Commune | None) -> None:
    found.commune_code = commune.code if commune else ""
    found.latitude = commune.latitude if commune else None
    found.longitude = commune.longitude if commune else None


async def moved_home(session: AsyncSession, user_id: int, commune: geo.Commune | None) -> None:
    """The profile's commune changed: move the job search's home with it (if there is one)."""
    found = await session.get(JobSearchProfile, user_id)
    if found is not None:
        _place(found, commune)
        await session.flush()


async def of(session: AsyncSession, user_id: int) -> JobSearch:
    """The candidate's job search (an empty one when they never described it), in one query:
    the account joined to its profile, targets and contracts (at most 5 × 6 rows)."""
    rows = await session.execute(
        select(
            *PROFILE_COLUMNS,
            JobSearchTarget.position,
            JobSearchTarget.rome_code,
            JobSearchTarget.label,
            JobSearchTarget.appellation_code,
            JobSearchContract.contract,
        )
        .select_from(User)
        .outerjoin(JobSearchProfile, JobSearchProfile.user_id == User.id)
        .outerjoin(JobSearchTarget, JobSearchTarget.user_id == User.id)
        .outerjoin(JobSearchContract, JobSearchContract.user_id == User.id)
        .where(User.id == user_id)
    )
    profile = None
    targets: dict[int, Target] = {}
    contracts: set[Contract] = set()
    for row in rows:
        if row.user_id is not None:
            profile = row
        if row.position is not None:
            targets[row.position] = Target(row.rome_code, row.label, row.appellation_code)
        if row.contract is not None:
            contracts.add(Contract(row.contract))
    return _search(user_id, profile, [targets[p] for p in sorted(targets)], contracts)


async def of_many(session: AsyncSession, user_ids: list[int]) -> dict[int, JobSearch]:
    """Several candidates' job searches in three queries of plain columns (an empty one for
    each without): matching reads hundreds at a time."""
    if not user_ids:
        return {}
    profiles = {
        row.user_id: row
        for row in await session.execute(
            select(*PROFILE_COLUMNS).where(JobSearchProfile.user_id.in_(user_ids))
        )
    }
    targets: dict[int, list[Target]] = {}
    for user_id, code, label, appellation in await session.execute(
        select(
            JobSearchTarget.user_id,
            JobSearchTarget.rome_code,
            JobSearchTarget.label,
            JobSearchTarget.appellation_code,
        )
        .where(JobSearchTarget.user_id.in_(user_ids))
        .order_by(JobSearchTarget.user_id, JobSearchTarget.position)
    ):
        targets.setdefault(user_id, []).append(Target(code, label, appellation))
    contracts: dict[int, set[Contract]] = {}
    for user_id, contract in await session.execute(
        select(JobSearchContract.user_id, JobSearchContract.contract).where(
            JobSearchContract.user_id.in_(user_ids)
        )
    ):
        contracts.setdefault(user_id, set()).add(Contract(contract))
    return {
        user_id: _search(
            user_id, profiles.get(user_id), targets.get(user_id, []), contracts.get(user_id, set())
        )
        for user_id in user_ids
    }


PROFILE_COLUMNS = (
    JobSearchProfile.user_id,
    JobSearchProfile.commune_code,
    JobSearchProfile.latitude,
    JobSearchProfile.longitude,
    JobSearchProfile.max_distance_km,
    JobSearchProfile.transport,
    JobSearchProfile.working_time,
    JobSearchProfile.available_from,
    JobSearchProfile.skills,
    JobSearchProfile.skill_codes,
)


def _search(user_id: int, row: Any, targets: list[Target], contracts: set[Contract]) -> JobSearch:
    if row is None:
        return JobSearch(user_id=user_id, targets=tuple(targets), contracts=frozenset(contracts))
    return JobSearch(
        user_id=user_id,
        targets=tuple(targets),
        commune_code=row.commune_code,
        latitude=row.latitude,
        longitude=row.longitude,
        max_distance_km=row.max_distance_km,
        transport=Transport(row.transport) if row.transport else None,
        contracts=frozenset(contracts),
        working_time=WorkingTime(row.working_time) if row.working_time else None,
        available_from=row.available_from,
        skills=tuple(row.skills),
        skill_codes=tuple(row.skill_codes),
    )
