"""The figures of an edition's outcomes for its organisers: returns to work per booth, per
sector and per priority public, beside the in-fair statuses, the follow-ups' response rates and
the jobs found elsewhere (fair.outcomes says what counts).

Every count of people goes through fair.disclosure:

- The summary's counts stand alone (`single`): retained, back at work from the fair, found a
  job elsewhere are different questions about overlapping people, none a total of others.
- A response rate is a split of the people asked into those who answered and those who did
  not, with its total: a `listing` of the two (so the non-answers are never worked out as the
  total minus a shown count), and a rate only when both are shown.
- Per booth and sector, one table with the booths grouped under their sector (the employer's
  NAF division): sector figures are sums of their booths', so the two levels are protected as
  one hierarchy rather than as two separate listings (which would let a reader take a shown
  booth from its shown sector and find a hidden one). The sectors form a `listing` with the
  grand total; inside a shown sector its booths form a `listing` with the sector as total;
  every booth of a hidden sector is hidden (a hidden sector then keeps every way to move a
  person its listing found, through its booths). Each measure (retained, back at work) is
  protected on its own: they are not parts of one whole. A `grid` does not fit: a booth is in
  one sector only, and the grid's totals of columns would be meaningless. A candidate counts
  once at each booth that retained or hired them, so the table's total may exceed the
  summary's count of distinct people.
- Per priority public, each count stands alone (`single`), as on the responses page: the
  publics overlap, and neither the answer "no" nor "prefer not to say" is ever shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ScalarSelect, Select, and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import candidates, disclosure, outcomes
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
    sector: str
    retained: Figure
    returned: Figure
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
    retained_total: Figure
    returned_total: Figure
    publics: tuple[PublicRow, ...]
    by_stage: dict[int, tuple[Figure, Figure]]  # stage: recruiters' answers, candidates'


async def _count(session: AsyncSession, ids: Select[int]) -> int:
    found = ids.subquery()
    return int(await session.scalar(select(func.count()).select_from(found)) or 0)


def _rate(answered: int, asked: int) -> Rate:
    return Rate(disclosure.listing([answered, asked - answered]))


async def summary(session: AsyncSession, edition_id: int) -> Summary:
    """The edition's outcomes in a few figures, in two queries (the dashboard shows them): one
    pass over the edition's applications, then the answers."""
    retained = outcomes.retained_condition()
    answered = exists().where(HireConfirmation.application_id == Application.id)
    applicants, kept, kept_applications, answered_applications = (
        await session.execute(
            select(
                func.count(func.distinct(Application.candidate_id)),
                func.count(func.distinct(case((retained, Application.candidate_id)))),
                func.count(case((retained, 1))),
                func.count(case((and_(retained, answered), 1))),
            ).where(Application.edition_id == edition_id)
        )
    ).one()
    # IN, not a correlated EXISTS: SQLite then reads the applicants once (into a temporary
    # index) rather than the edition's applications once per report.
    applied = select(Application.candidate_id).where(Application.edition_id == edition_id)
    reports = select(JobReport.user_id).where(
        JobReport.edition_id == edition_id, JobReport.user_id.in_(applied)
    )
    returned, elsewhere, reported = (
        await session.execute(
            select(
                _counted(outcomes.returned_to_work(edition_id)),
                _counted(outcomes.found_elsewhere(edition_id)),
                _counted(reports),
            )
        )
    ).one()
    return Summary(
        applicants=disclosure.single(int(applicants)),
        retained=disclosure.single(int(kept)),
        returned=disclosure.single(int(returned)),
        elsewhere=disclosure.single(int(elsewhere)),
        recruiters=_rate(int(answered_applications), int(kept_applications)),
        candidates=_rate(int(reported), int(applicants)),
    )


def _counted(ids: Select[int]) -> ScalarSelect[int]:
    return select(func.count()).select_from(ids.subquery()).scalar_subquery()


async def _per_booth(session: AsyncSession, pairs: Select[int, int]) -> dict[int, int]:
    found = pairs.subquery()
    booth, candidate = found.c.booth_id, found.c.candidate_id
    rows = await session.execute(
        select(booth, func.count(func.distinct(candidate))).group_by(booth)
    )
    return {int(booth_id): int(n) for booth_id, n in rows.all()}


async def _booths(session: AsyncSession, edition_id: int) -> list[tuple[int, str, str, str]]:
    """(booth id, employer, NAF division, sector label) of the edition's booths that had
    applications, by sector then employer."""
    with_applications = select(Application.booth_id).where(Application.edition_id == edition_id)
    rows = await session.execute(
        select(Booth.id, Employer.name, func.substr(Employer.naf_code, 1, 2), Employer.sector)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id, Booth.id.in_(with_applications))
        .order_by(Employer.sector, Employer.name, Booth.id)
    )
    return [(int(b), name, division, sector) for b, name, division, sector in rows.all()]


def hierarchy(groups: list[list[int]]) -> tuple[Listing, list[Listing]]:
    """Protect counts of members grouped in categories, the categories' sums and the grand
    total: the categories as a listing; the members of a shown category as a listing with it
    as total; every member of a hidden one hidden."""
    top = disclosure.listing([sum(group) for group in groups])
    inner = []
    for group, figure in zip(groups, top.cells, strict=True):
        if figure.shown:
            protected = disclosure.listing(group)
            # A shown category holds 5 people or more: its members' listing never hides it.
            assert protected.total.shown
            inner.append(Listing(protected.cells, figure))
        else:
            inner.append(Listing(tuple(Figure(value, False) for value in group), figure))
    return top, inner


async def sectors(
    session: AsyncSession, edition_id: int
) -> tuple[tuple[SectorRows, ...], Figure, Figure]:
    """Per sector and booth, retained candidates and returns to work, with the two totals."""
    booths = await _booths(session, edition_id)
    retained_pairs = select(Application.booth_id, Application.candidate_id).where(
        Application.edition_id == edition_id, outcomes.retained_condition()
    )
    retained = await _per_booth(session, retained_pairs)
    returned = await _per_booth(session, outcomes.returns_by_booth(edition_id))
    grouped: dict[str, list[tuple[int, str]]] = {}
    labels: dict[str, str] = {}
    for booth_id, employer, division, label in booths:
        grouped.setdefault(division, []).append((booth_id, employer))
        labels[division] = label or division
    order = sorted(grouped, key=lambda d: (labels[d], d))
    if not order:
        empty = disclosure.single(0)
        return (), empty, empty
    members = [grouped[d] for d in order]
    top_r, inner_r = hierarchy([[retained.get(b, 0) for b, _ in m] for m in members])
    top_w, inner_w = hierarchy([[returned.get(b, 0) for b, _ in m] for m in members])
    rows = tuple(
        SectorRows(
            sector=labels[division],
            retained=top_r.cells[i],
            returned=top_w.cells[i],
            booths=tuple(
                BoothRow(b, employer, inner_r[i].cells[j], inner_w[i].cells[j])
                for j, (b, employer) in enumerate(members[i])
            ),
        )
        for i, division in enumerate(order)
    )
    return rows, top_r.total, top_w.total


async def publics(session: AsyncSession, edition: Edition) -> tuple[PublicRow, ...]:
    """Per priority public (self-declared answers), the retained candidates, those back at
    work from the fair and those who found a job elsewhere; each count on its own."""
    columns = {
        "retained": outcomes.retained(edition.id),
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
    rows, retained_total, returned_total = await sectors(session, edition.id)
    return Outcomes(
        summary=await summary(session, edition.id),
        sectors=rows,
        retained_total=retained_total,
        returned_total=returned_total,
        publics=await publics(session, edition),
        by_stage=await answers_by_stage(session, edition.id),
    )
