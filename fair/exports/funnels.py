"""The funnels as exports: one row per registered candidate (pseudonymous), the edition's
funnel a row per step, and the dashboard's table of booths (fair.insight)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import editions, geo, insight, settings
from fair.exports.kinds import CHUNK, Batches
from fair.exports.reading import shown, stream
from fair.i18n import N_, gettext
from fair.models import (
    CandidateProfile,
    EditionCandidate,
    PriorityDeclaration,
)


def pseudonym(edition_id: int, user_id: int) -> str:
    """A candidate's stable name in one edition's exports; nobody without the server's secret
    key can tell the account, nor link it across editions."""
    return pseudonyms(edition_id)(user_id)


def pseudonyms(edition_id: int) -> Callable[[int], str]:
    """`pseudonym` for one edition, its key read once (called for every row of an export)."""
    key = settings.get().secret_key.encode()
    prefix = f"{edition_id}:"

    def name(user_id: int) -> str:
        digest = hmac.digest(key, f"{prefix}{user_id}".encode(), hashlib.sha256)
        return f"C-{digest.hex()[:12]}"

    return name


def age_band(birth_year: int | None, year: int) -> str:
    """The age band reached in `year` (as the priority figures count it), or '' if not told."""
    if birth_year is None:
        return ""
    age = year - birth_year
    return "<26" if age < 26 else "50+" if age >= 50 else "26-49"


# The funnels: per candidate, of the edition, per booth

STEP_LABELS = {
    "registered": N_("Registered"),
    "active": N_("Active"),
    "applied": N_("Applied"),
    "shortlisted": N_("Shortlisted"),
    "interview_booked": N_("Interview booked"),
    "held": N_("Interview held"),
    "no_show": N_("No-show"),
    "not_held_yet": N_("Interview not held yet"),
    "retained": N_("Retained"),
    "hired": N_("Returned to work"),
}


def candidate_header(locale: str) -> list[str]:
    first = [N_("Candidate (pseudonym)"), N_("Registered on")]
    last = [N_("EPCI of residence"), N_("Age band")]
    names = [*first, *(STEP_LABELS[s] for s in insight.STEPS), *last]
    return [gettext(name, locale) for name in names]


async def candidate_rows(
    session: AsyncSession,
    *,
    edition_id: int,
    filters: insight.Filters | None = None,
    chunk: int = CHUNK,
) -> Batches:
    """One row per registered candidate (`insight.candidate_steps`), by registration: the
    pseudonym, the day of registration, 1 or 0 per step, the EPCI of residence (from the
    profile's commune) and the age band (from the optional birth year)."""
    edition = await editions.get(session, edition_id)
    zone = ZoneInfo(edition.timezone)
    year = edition.applications_open_at.year
    steps = insight.candidate_steps(edition_id, filters).subquery("steps")
    registered = and_(
        EditionCandidate.edition_id == edition_id, EditionCandidate.user_id == steps.c.user_id
    )
    statement = (
        select(
            steps.c.user_id,
            EditionCandidate.registered_at,
            *(steps.c[s] for s in insight.STEPS),
            CandidateProfile.commune,
            PriorityDeclaration.birth_year,
        )
        .join(EditionCandidate, registered)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == steps.c.user_id)
        .outerjoin(PriorityDeclaration, PriorityDeclaration.user_id == steps.c.user_id)
        .order_by(EditionCandidate.registered_at, steps.c.user_id)
    )
    epcis: dict[str, str] = {}  # at most one entry per commune of France
    name = pseudonyms(edition_id)
    async for batch in stream(session, statement, chunk=chunk):
        yield [
            (
                name(user_id),
                registered_at.astimezone(zone).date(),
                *(int(n) for n in reached),
                _epci(epcis, commune or ""),
                age_band(birth_year, year),
            )
            for user_id, registered_at, *reached, commune, birth_year in batch
        ]


def _epci(known: dict[str, str], commune: str) -> str:
    if commune not in known:
        found = geo.epci_of(commune) if commune else None
        known[commune] = found.name if found else ""
    return known[commune]


EDITION_STEPS = (*insight.STEPS, "not_held_yet")


def edition_funnel_header(locale: str) -> list[str]:
    return [gettext(name, locale) for name in (N_("Step"), N_("Candidates"))]


async def edition_funnel_rows(
    session: AsyncSession,
    *,
    edition_id: int,
    hidden: str,
    locale: str,
    filters: insight.Filters | None = None,
) -> Batches:
    """The dashboard's funnel (`insight.dashboard`, so that under a booth filter its figures are
    the booth's row's, protected as there): a row per step, its figure as the page shows it
    (rates are left to the spreadsheet: they come from shown figures only)."""
    found = (await insight.dashboard(session, edition_id, filters or insight.Filters())).funnel
    yield [
        (gettext(STEP_LABELS[s], locale), shown(found.figures[s], hidden))
        for s in EDITION_STEPS
        if s in found.figures
    ]


BOOTH_COLUMNS = (*insight.BOOTH_STEPS, "not_held_yet")


def booth_funnel_header(locale: str) -> list[str]:
    views = [N_("Views of the booth's page"), N_("Views of its offers' pages")]
    names = [N_("Booth"), *(STEP_LABELS[s] for s in BOOTH_COLUMNS), *views]
    return [gettext(name, locale) for name in names]


async def booth_funnel_rows(
    session: AsyncSession,
    *,
    edition_id: int,
    hidden: str,
    filters: insight.Filters | None = None,
) -> Batches:
    """The dashboard's table of booths (`insight.booth_funnels`), each figure about people as
    the page shows it (hidden ones as `hidden`); page views are not people, shown as counted."""
    found = await insight.booth_funnels(session, edition_id, filters)
    yield [
        (
            booth.employer,
            *(shown(booth.funnel.figures[s], hidden) for s in BOOTH_COLUMNS),
            booth.views.booth,
            booth.views.offers,
        )
        for booth in found
    ]
