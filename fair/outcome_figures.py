"""The figures of an edition's outcomes for its organisers: returns to work per booth (grouped
by sector) and per priority public, beside the in-fair statuses, the follow-ups' response rates
and the jobs found elsewhere (fair.outcomes says what counts).

Every count of people goes through fair.disclosure, and a figure the dashboard shows too is
taken from it (fair.insight), with its suppression: two pages hiding the same count in two
different ways would let a reader take the figures one page shows to find those the other
hides. So:

- The edition's candidates who applied, were retained and are back at work are the funnel's
  steps "applied", "retained" and "hired" (`insight.funnel`); each booth's retained and back
  at work are its row of the dashboard's table of booths (`insight.booth_funnels`, protected
  as one table: a booth's "hired" counts the candidates back at work whom that booth
  retained). Booths are grouped under their sector (the employer's NAF division) with a link
  to the dashboard filtered on it, which shows that sector's funnel: a sector's sums are not
  printed here, since a sum of booths beside the booths would give back the one hidden booth
  of a sector.
- Found a job elsewhere is on this page only and stands alone (`single`): it is no part of a
  total shown anywhere.
- A response rate splits the people asked into those who answered and those who did not, with
  its total: a `listing` of the two (so the non-answers are never worked out as the total minus
  a shown count), and a rate only when both are shown. The candidates' total is the funnel's
  "applied", hidden whenever the funnel hides it.
- Per priority public, each count stands alone (`single`), as on the responses page: the
  publics overlap, and neither the answer "no" nor "prefer not to say" is ever shown.
- The answers by follow-up stage are a `listing` over the stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ScalarSelect, Select, case, exists, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from fair import candidates, disclosure, insight, outcomes
from fair.disclosure import Figure, Listing
from fair.enums import Qualification
from fair.models import (
    Application,
    Booth,
    Edition,
    Employer,
    HireConfirmation,
    JobReport,
    PriorityDeclaration,
)

# The priority publics, in the order of the responses page (fair.candidates).
PUBLICS = (
    "under_26",
    "senior",
    "priority_neighbourhood",
    "rural_area",
    "rsa_beneficiary",
    "disabled_worker",
    "long_term_unemployed",
    "low_qualified",
)


@dataclass(frozen=True)
class Rate:
    """People asked, split into those who answered and those who did not."""

    split: Listing  # cells: answered, not answered; total: asked

    @property
    def percent(self) -> int | None:
        answered, unanswered = self.split.cells
        if not (answered.shown and unanswered.shown) or not self.split.total.value:
            return None
        return round(100 * answered.value / self.split.total.value)


@dataclass(frozen=True)
class BoothRow:
    booth_id: int
    employer: str
    retained: Figure
    returned: Figure


@dataclass(frozen=True)
class SectorRows:
    division: str  # the NAF division, the dashboard's sector filter
    sector: str  # its label
    booths: tuple[BoothRow, ...]


@dataclass(frozen=True)
class PublicRow:
    key: str
    retained: Figure
    returned: Figure
    elsewhere: Figure


@dataclass(frozen=True)
class Summary:
    """What the dashboard's summary shows (templates/organiser/_outcomes_summary.html)."""

    applicants: Figure
    retained: Figure
    returned: Figure
    elsewhere: Figure
    recruiters: Rate  # retained applications the recruiters answered about
    candidates: Rate  # applicants who answered


@dataclass(frozen=True)
class Outcomes:
    summary: Summary
    sectors: tuple[SectorRows, ...]
    publics: tuple[PublicRow, ...]
    by_stage: dict[int, tuple[Figure, Figure]]  # stage: recruiters' answers, candidates'


def _rate(answered: int, asked: int, *, total_hidden: bool = False) -> Rate:
    split = disclosure.listing([answered, asked - answered], total_hidden=total_hidden)
    return Rate(split)


async def summary(
    session: AsyncSession, edition_id: int, funnel: insight.Funnel | None = None
) -> Summary:
    """The edition's outcomes in a few figures (the dashboard passes the funnel it read): the
    funnel's steps, then two queries, one pass over the edition's retained applications and
    one for the answers."""
    funnel = funnel or await insight.funnel(session, edition_id)
    answered = exists().where(HireConfirmation.application_id == Application.id)
    kept, answered_applications = (
        await session.execute(
            select(func.count(), func.count(case((answered, 1)))).where(
                Application.edition_id == edition_id, outcomes.retained_condition()
            )
        )
    ).one()
    # IN, not a correlated EXISTS: SQLite then reads the applicants once (into a temporary
    # index) rather than the edition's applications once per report.
    applied = select(Application.candidate_id).where(Application.edition_id == edition_id)
    reports = select(JobReport.user_id).where(
        JobReport.edition_id == edition_id, JobReport.user_id.in_(applied)
    )
    elsewhere, reported = (
        await session.execute(
            select(_counted(outcomes.found_elsewhere(edition_id)), _counted(reports))
        )
    ).one()
    applicants = funnel.figures["applied"]
    return Summary(
        applicants=applicants,
        retained=funnel.figures["retained"],
        returned=funnel.figures["hired"],
        elsewhere=disclosure.single(int(elsewhere)),
        recruiters=_rate(int(answered_applications), int(kept)),
        candidates=_rate(int(reported), applicants.value, total_hidden=not applicants.shown),
    )


def _counted(ids: Select[int]) -> ScalarSelect[int]:
    return select(func.count()).select_from(ids.subquery()).scalar_subquery()


async def sectors(session: AsyncSession, edition_id: int) -> tuple[SectorRows, ...]:
    """The dashboard's rows of booths (retained, back at work), grouped by sector."""
    rows = await insight.booth_funnels(session, edition_id, views=False)
    found = await session.execute(
        select(Booth.id, func.substr(Employer.naf_code, 1, 2), Employer.sector)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id)
    )
    division_of = {booth_id: (division, label) for booth_id, division, label in found.all()}
    grouped: dict[tuple[str, str], list[BoothRow]] = {}
    for row in rows:
        division, label = division_of[row.booth_id]
        figures = row.funnel.figures
        booth = BoothRow(row.booth_id, row.employer, figures["retained"], figures["hired"])
        grouped.setdefault((label or division, division), []).append(booth)
    return tuple(
        SectorRows(division, label, tuple(booths))
        for (label, division), booths in sorted(grouped.items())
    )


async def publics(session: AsyncSession, edition: Edition) -> tuple[PublicRow, ...]:
    """Per priority public (self-declared answers), the retained candidates, those back at
    work from the fair and those who found a job elsewhere; each count on its own. Retained as
    the funnel counts it: a candidate back at work from the fair was retained too."""
    retained = union(outcomes.retained(edition.id), outcomes.returned_to_work(edition.id))
    columns = {
        "retained": select(retained.subquery().c[0]),
        "returned": outcomes.returned_to_work(edition.id),
        "elsewhere": outcomes.found_elsewhere(edition.id),
    }
    counted = {name: await _publics(session, edition, ids) for name, ids in columns.items()}
    return tuple(
        PublicRow(
            key,
            disclosure.single(counted["retained"][key]),
            disclosure.single(counted["returned"][key]),
            disclosure.single(counted["elsewhere"][key]),
        )
        for key in PUBLICS
    )


async def _publics(session: AsyncSession, edition: Edition, ids: Select[int]) -> dict[str, int]:
    """How many of the people `ids` gave each priority answer (as fair.candidates counts
    applicants: ages reached in the year applications opened)."""
    year = edition.applications_open_at.year
    birth = PriorityDeclaration.birth_year
    low = [q.value for q in Qualification if q.low]
    conditions = {
        **{name: getattr(PriorityDeclaration, name).is_(True) for name in candidates.YES_NO},
        "low_qualified": PriorityDeclaration.qualification.in_(low),
        "under_26": birth > year - 26,
        "senior": birth <= year - 50,
    }
    keys = list(conditions)
    row = (
        await session.execute(
            select(*[func.count(case((conditions[k], 1))) for k in keys]).where(
                PriorityDeclaration.user_id.in_(ids)
            )
        )
    ).one()
    return dict(zip(keys, (int(v) for v in row), strict=True))


async def answers_by_stage(
    session: AsyncSession, edition_id: int
) -> dict[int, tuple[Figure, Figure]]:
    """Per follow-up stage, the recruiters' answers (about applications) and the candidates'
    reports last given at that stage; a listing each over the stages."""
    hires = dict(
        (
            await session.execute(
                select(HireConfirmation.stage, func.count())
                .where(HireConfirmation.edition_id == edition_id)
                .group_by(HireConfirmation.stage)
            )
        ).all()
    )
    reports = dict(
        (
            await session.execute(
                select(JobReport.stage, func.count())
                .where(JobReport.edition_id == edition_id)
                .group_by(JobReport.stage)
            )
        ).all()
    )
    by_hires = disclosure.listing([int(hires.get(s, 0)) for s in outcomes.STAGES])
    by_reports = disclosure.listing([int(reports.get(s, 0)) for s in outcomes.STAGES])
    return {
        stage: (by_hires.cells[i], by_reports.cells[i]) for i, stage in enumerate(outcomes.STAGES)
    }


async def of_edition(session: AsyncSession, edition: Edition) -> Outcomes:
    """Everything the organiser's outcomes page shows."""
    return Outcomes(
        summary=await summary(session, edition.id),
        sectors=await sectors(session, edition.id),
        publics=await publics(session, edition),
        by_stage=await answers_by_stage(session, edition.id),
    )
