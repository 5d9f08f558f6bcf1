"""The organiser's insight into an edition: the candidates' funnel, for the edition and per booth.

The steps, in order (`STEPS`), each counted in distinct candidates:

- registered: a row of edition_candidates (fair.participants): the candidate took a first step.
- active: an active day (fair.activity: a public booth or offer page opened while logged in).
- applied: at least one application. Withdrawn ones count: the candidate did apply.
- shortlisted: at least one application that is, or once was, shortlisted or further on
  (`FROM_SHORTLIST`): its current status, or its history (application_events), so that an
  application shortlisted and then not retained, or withdrawn, still counts.
- interview_booked: at least one interview whose booking stands or took place (status booked,
  held or no-show). Cancelled and declined interviews do not count: the row of a cancelled
  one does not say whether the booking had been confirmed (a recruiter's booking waiting for
  the candidate, or a slot offered from the waiting list, are cancelled the same way), and a
  cancellation sends the application back to "interview proposed" to be booked again; counting
  them would make the held and no-show rates about meetings that were called off.
- held: at least one interview held. no_show: booked, but only no-shows (no interview held).
  Held, no-show and "not held yet" (booked, not recorded yet) split the booked step.
- retained: an application whose status is "hired": the recruiter's decision in the fair.
- hired: a confirmed return to work (fair.outcomes.returned_to_work: a recruiter's confirmed
  hire, or the candidate's report of a job at one of the edition's booths). Under a filter
  on booths or offers, and in a booth's funnel, a return to work counts for a candidate the
  matching booths retained: fair.outcomes names candidates, not the booth of their job.

The steps are nested: a candidate at a step counts at every step before it (a retained
candidate counts as applied, shortlisted, booked and held even if the pipeline was moved by
hand after an interview held outside the platform: the application went through
"interviewed" to be hired). `candidate_steps` is the one definition; the funnel, the booths'
funnels, the CSV export (fair.exports) and the benchmark all read it.

Filters. Registration and activity are edition-wide: fair.activity does not keep which booth
or offer a candidate looked at (its docstring says why), so a filter on booths or offers
restricts only the steps from "applied" on (to the matching applications and the interviews
they led to); the page shows the matching pages' views beside the funnel instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fair import activity, disclosure, geo, outcomes
from fair.enums import ApplicationStatus, InterviewStatus
from fair.models import (
    Application,
    ApplicationEvent,
    Booth,
    EditionCandidate,
    Employer,
    Interview,
    InterviewInvitation,
    Offer,
    PageView,
)

# A statement of several integer columns.
Rows = Select[*tuple[Any, ...]]

STEPS = (
    "registered",
    "active",
    "applied",
    "shortlisted",
    "interview_booked",
    "held",
    "no_show",
    "retained",
    "hired",
)
# The nested steps, each included in the one before it; no_show is beside held, not after it.
CHAIN = (
    "registered",
    "active",
    "applied",
    "shortlisted",
    "interview_booked",
    "held",
    "retained",
    "hired",
)
# The booked step's outcome: a partition of interview_booked.
SPLIT = ("held", "no_show", "not_held_yet")
# A booth's funnel starts at "applied": registration and activity are not per booth.
BOOTH_STEPS = tuple(s for s in STEPS if s not in ("registered", "active"))

A = ApplicationStatus
FROM_SHORTLIST = tuple(
    s.value
    for s in (
        A.SHORTLISTED,
        A.INTERVIEW_PROPOSED,
        A.INTERVIEW_SCHEDULED,
        A.INTERVIEWED,
        A.NO_SHOW,
        A.HIRED,
    )
)
BOOKED = tuple(
    s.value for s in (InterviewStatus.BOOKED, InterviewStatus.HELD, InterviewStatus.NO_SHOW)
)


@dataclass(frozen=True)
class Filters:
    """What the funnel is restricted to; every field None means the whole edition.

    `sector` is the employer's NAF division (two digits, e.g. "43": specialised construction
    work), the level fair.rome labels; `commune` is an offer's commune as stored (its label);
    `epci` the SIREN of the EPCI of the offer's commune (fair.geo).
    """

    booth_id: int | None = None
    offer_id: int | None = None
    sector: str | None = None
    rome_domain: str | None = None
    contract: str | None = None
    commune: str | None = None
    epci: str | None = None

    @property
    def on_offers(self) -> bool:
        """Whether any filter restricts the offers (and so the steps from "applied" on)."""
        return any(getattr(self, f.name) is not None for f in fields(self))

    def without_booth(self) -> Filters:
        return self._without("booth_id")

    def without_sector(self) -> Filters:
        return self._without("sector")

    def _without(self, name: str) -> Filters:
        return Filters(**{f.name: getattr(self, f.name) for f in fields(self) if f.name != name})


def _offer_conditions(edition_id: int, filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions on Offer for the filters that are about the offer itself or its employer."""
    found: list[ColumnElement[bool]] = []
    if filters.rome_domain is not None:
        found.append(Offer.rome_domain == filters.rome_domain)
    if filters.contract is not None:
        found.append(Offer.contract == filters.contract)
    if filters.commune is not None:
        found.append(Offer.commune == filters.commune)
    if filters.epci is not None:
        labels = sorted({c.label for c in geo.in_epci(filters.epci)})
        found.append(Offer.commune.in_(labels) if labels else false())
    if filters.sector is not None:
        in_sector = (
            select(Booth.id)
            .join(Employer, Employer.id == Booth.employer_id)
            .where(
                Booth.edition_id == edition_id,
                _division(Employer.naf_code) == filters.sector,
            )
        )
        found.append(Offer.booth_id.in_(in_sector))
    return found


def _application_conditions(edition_id: int, filters: Filters) -> list[ColumnElement[bool]]:
    """Which applications of the edition the filters keep."""
    found: list[ColumnElement[bool]] = [Application.edition_id == edition_id]
    if filters.booth_id is not None:
        found.append(Application.booth_id == filters.booth_id)
    if filters.offer_id is not None:
        found.append(Application.offer_id == filters.offer_id)
    on_offer = _offer_conditions(edition_id, filters)
    if on_offer:
        matching = select(Offer.id).where(Offer.edition_id == edition_id, *on_offer)
        found.append(Application.offer_id.in_(matching))
    return found


def _interview_conditions(edition_id: int, filters: Filters) -> list[ColumnElement[bool]]:
    """Which interviews of the edition the filters keep: those of the kept applications."""
    found: list[ColumnElement[bool]] = [Interview.status.in_(BOOKED)]
    booths = select(Booth.id).where(Booth.edition_id == edition_id)
    if filters.booth_id is not None:
        found.append(Interview.booth_id == filters.booth_id)
    else:
        found.append(Interview.booth_id.in_(booths))
    if filters.offer_id is not None or _offer_conditions(edition_id, filters):
        kept = (
            select(InterviewInvitation.id)
            .join(Application, Application.id == InterviewInvitation.application_id)
            .where(*_application_conditions(edition_id, filters))
        )
        found.append(Interview.invitation_id.in_(kept))
    return found


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.max(case((condition, 1), else_=0))


def _shortlisted() -> ColumnElement[bool]:
    """An application shortlisted or further on now, or at some point of its history."""
    # An IN over the events (not a correlated EXISTS): PostgreSQL hashes it once, and plans
    # it at its real cost (the EXISTS made it estimate one probe per row, past the JIT's
    # threshold: 150 ms of compilation for a 40,000-application edition).
    history = Application.id.in_(
        select(ApplicationEvent.application_id).where(
            ApplicationEvent.to_status.in_(FROM_SHORTLIST)
        )
    )
    return or_(Application.status.in_(FROM_SHORTLIST), history)


def _applications(edition_id: int, filters: Filters, *, per_booth: bool) -> Rows:
    keys = [Application.candidate_id.label("user_id")]
    if per_booth:
        keys.append(Application.booth_id.label("booth_id"))
    return (
        select(
            *keys,
            _flag(_shortlisted()).label("shortlisted"),
            _flag(Application.status == A.HIRED.value).label("retained"),
        )
        .where(*_application_conditions(edition_id, filters))
        .group_by(*keys)
    )


def _interviews(edition_id: int, filters: Filters, *, per_booth: bool) -> Rows:
    keys = [Interview.candidate_id.label("user_id")]
    if per_booth:
        keys.append(Interview.booth_id.label("booth_id"))
    return (
        select(
            *keys,
            _flag(Interview.status == InterviewStatus.HELD.value).label("held"),
            _flag(Interview.status == InterviewStatus.NO_SHOW.value).label("no_show"),
        )
        .where(*_interview_conditions(edition_id, filters))
        .group_by(*keys)
    )


def _active(
    edition_id: int, filters: Filters, active_day: ColumnElement[bool], back: ColumnElement[bool]
) -> ColumnElement[bool]:
    """Active in the edition, whatever the filters: an active day, or (when filters restrict
    the later steps) a step taken anywhere in the edition, which unfiltered nesting implies."""
    if not filters.on_offers:
        return active_day
    anywhere = select(Application.candidate_id).where(Application.edition_id == edition_id)
    return or_(active_day, EditionCandidate.user_id.in_(anywhere), back)


def _back(edition_id: int, user_id: Any) -> ColumnElement[bool]:
    """Back at work (fair.outcomes). An IN, each occurrence materialised once (a few hundred
    ids), rather than an outer join: without statistics SQLite scans a joined union for every
    row (24 million comparisons for a 40,000-application edition)."""
    return user_id.in_(outcomes.returned_to_work(edition_id))  # type: ignore[no-any-return]


@dataclass
class _Reached:
    """What each source says of a candidate before nesting (SQL conditions)."""

    active: ColumnElement[bool]
    applied: ColumnElement[bool]
    shortlisted: ColumnElement[bool]
    booked: ColumnElement[bool]
    held: ColumnElement[bool]
    no_show: ColumnElement[bool]
    retained: ColumnElement[bool]
    hired: ColumnElement[bool] = field(default_factory=false)


def _nested(raw: _Reached) -> dict[str, ColumnElement[bool]]:
    """Each step's condition, a later step implying the earlier ones (module docstring)."""
    hired = raw.hired
    retained = or_(raw.retained, hired)
    held = or_(raw.held, retained)
    no_show = and_(raw.no_show, not_(held))
    booked = or_(raw.booked, held, no_show)
    shortlisted = or_(raw.shortlisted, booked)
    applied = or_(raw.applied, shortlisted)
    active = or_(raw.active, applied)
    return {
        "registered": literal(True),
        "active": active,
        "applied": applied,
        "shortlisted": shortlisted,
        "interview_booked": booked,
        "held": held,
        "no_show": no_show,
        "retained": retained,
        "hired": hired,
    }


def _as_int(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def candidate_steps(edition_id: int, filters: Filters | None = None) -> Rows:
    """One row per registered candidate of the edition: `user_id`, then one column per step of
    `STEPS` holding 1 if the candidate reached it (under `filters`), else 0."""
    filters = filters or Filters()
    applied = _applications(edition_id, filters, per_booth=False).subquery("applied")
    met = _interviews(edition_id, filters, per_booth=False).subquery("met")
    active = activity.active_ids(edition_id).subquery("active")
    at_work = _back(edition_id, EditionCandidate.user_id)
    raw = _Reached(
        active=_active(edition_id, filters, active.c.user_id.isnot(None), at_work),
        applied=applied.c.user_id.isnot(None),
        shortlisted=applied.c.shortlisted == 1,
        booked=met.c.user_id.isnot(None),
        held=met.c.held == 1,
        no_show=met.c.no_show == 1,
        retained=applied.c.retained == 1,
        # Under filters, back at work counts for a candidate retained there (module docstring).
        hired=and_(at_work, applied.c.retained == 1) if filters.on_offers else at_work,
    )
    steps = _nested(raw)
    user_id = EditionCandidate.user_id
    return (
        select(user_id.label("user_id"), *(_as_int(steps[s]).label(s) for s in STEPS))
        .select_from(EditionCandidate)
        .outerjoin(active, active.c.user_id == user_id)
        .outerjoin(applied, applied.c.user_id == user_id)
        .outerjoin(met, met.c.user_id == user_id)
        .where(EditionCandidate.edition_id == edition_id)
    )


def booth_steps(edition_id: int, filters: Filters | None = None) -> Rows:
    """One row per candidate and booth where they applied (under `filters`): `booth_id`,
    `user_id`, then one column per step of `BOOTH_STEPS` (1 or 0), as `candidate_steps`
    defines them, restricted to that booth's applications and interviews."""
    filters = filters or Filters()
    applied = _applications(edition_id, filters, per_booth=True).subquery("applied")
    met = _interviews(edition_id, filters, per_booth=True).subquery("met")
    raw = _Reached(
        active=literal(True),
        applied=literal(True),
        shortlisted=applied.c.shortlisted == 1,
        booked=met.c.user_id.isnot(None),
        held=met.c.held == 1,
        no_show=met.c.no_show == 1,
        retained=applied.c.retained == 1,
        hired=and_(_back(edition_id, applied.c.user_id), applied.c.retained == 1),
    )
    steps = _nested(raw)
    joined = and_(met.c.user_id == applied.c.user_id, met.c.booth_id == applied.c.booth_id)
    return select(
        applied.c.booth_id, applied.c.user_id, *(_as_int(steps[s]).label(s) for s in BOOTH_STEPS)
    ).select_from(applied.outerjoin(met, joined))


# Figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    """A funnel's counts and what a page may show of them.

    `counts` holds every step of `STEPS` present (a booth's funnel has no registered and active
    steps) and "not_held_yet" (booked, not held, not a no-show); `figures` the same, protected
    (fair.disclosure). Rates come from shown figures only (`rate`).
    """

    counts: dict[str, int]
    figures: dict[str, disclosure.Figure]

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(s for s in STEPS if s in self.counts)

    def rate(self, step: str) -> float | None:
        """The share of the step before `step` that reached it (held, no-show and "not held yet"
        of the booked step; retained of the held step), or None if either figure is hidden."""
        before = PREVIOUS.get(step)
        if before is None or before not in self.figures:
            return None
        top, bottom = self.figures[step], self.figures[before]
        if not (top.shown and bottom.shown) or bottom.value == 0:
            return None
        return top.value / bottom.value

    @property
    def split(self) -> tuple[disclosure.Figure, ...]:
        return tuple(self.figures[s] for s in SPLIT)


PREVIOUS = {
    "active": "registered",
    "applied": "active",
    "shortlisted": "applied",
    "interview_booked": "shortlisted",
    "held": "interview_booked",
    "no_show": "interview_booked",
    "not_held_yet": "interview_booked",
    "retained": "held",
    "hired": "retained",
}


def _with_rest(counts: dict[str, int]) -> dict[str, int]:
    rest = counts["interview_booked"] - counts["held"] - counts["no_show"]
    return {**counts, "not_held_yet": rest}


async def funnel(session: AsyncSession, edition_id: int, filters: Filters | None = None) -> Funnel:
    """The edition's funnel under `filters`: one aggregate query over `candidate_steps`."""
    rows = candidate_steps(edition_id, filters).subquery("steps")
    found = (
        await session.execute(select(*(func.coalesce(func.sum(rows.c[s]), 0) for s in STEPS)))
    ).one()
    counts = _with_rest({s: int(n) for s, n in zip(STEPS, found, strict=True)})
    return Funnel(counts, protect(counts))


def protect(counts: dict[str, int], hidden: Sequence[str] = ()) -> dict[str, disclosure.Figure]:
    """The funnel's figures a page may show.

    The chain of nested steps is not a partition: a later step is a part of the one before it,
    never the difference of two shown figures. Primary suppression alone is enough for it: a
    step below 5 makes every later step below 5 too (hidden), and an earlier shown step only
    says the hidden one is at most that figure, which is no news. The booked step's outcome
    (held, no-show, not held yet) is a partition of a shown total: `disclosure.listing`, with
    its secondary suppression. A held figure hidden that way could still be pinned by the chain
    (retained ≤ held ≤ booked): when the nearest shown figures before and after a hidden step
    of the chain are equal, the hidden one equals them, so the later one is hidden too, until
    no hidden step lies between two equal shown ones. `hidden` names figures hidden already
    for another table's sake (the booths' table); they stay hidden and are protected the same.
    """
    shown = {s: not disclosure.small(n) and s not in hidden for s, n in counts.items()}
    while True:
        before = dict(shown)
        _protect_split(counts, shown)
        _protect_chain(counts, shown)
        if shown == before:
            return {s: disclosure.Figure(n, shown[s]) for s, n in counts.items()}


def _protect_split(counts: dict[str, int], shown: dict[str, bool]) -> None:
    values = [counts[s] for s in SPLIT]
    hidden = [i for i, s in enumerate(SPLIT) if not shown[s]]
    split = disclosure.listing(values, hidden=hidden, total_hidden=not shown["interview_booked"])
    for name, figure in zip(SPLIT, split.cells, strict=True):
        shown[name] = shown[name] and figure.shown
    shown["interview_booked"] = shown["interview_booked"] and split.total.shown


def _protect_chain(counts: dict[str, int], shown: dict[str, bool]) -> None:
    chain = [s for s in CHAIN if s in counts]
    for i, step in enumerate(chain):
        if shown[step]:
            continue
        above = next((s for s in reversed(chain[:i]) if shown[s]), None)
        below = next((s for s in chain[i + 1 :] if shown[s]), None)
        if above is not None and below is not None and counts[above] == counts[below]:
            shown[below] = False


# Per booth -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoothFunnel:
    booth_id: int
    employer: str
    funnel: Funnel
    views: activity.Views


async def booth_funnels(
    session: AsyncSession, edition_id: int, filters: Filters | None = None, *, views: bool = True
) -> list[BoothFunnel]:
    """Every booth's funnel (approved, or with applications), by employer name: one grouped
    query for the steps, one for the booths, and one for the page views unless `views` is
    false (it reads every count of the edition: the dashboard leaves it to the activity page).

    The booth filter is ignored: the table always has every booth, so that a booth's figures
    are protected the same way wherever they are shown (the dashboard filtered by booth and
    the recruiter's page take their row from here). See `protect_table` for the suppression.
    """
    filters = (filters or Filters()).without_booth()
    rows = booth_steps(edition_id, filters).subquery("steps")
    sums = [func.sum(rows.c[s]) for s in BOOTH_STEPS]
    grouped = await session.execute(select(rows.c.booth_id, *sums).group_by(rows.c.booth_id))
    per_booth = {
        b: {s: int(n) for s, n in zip(BOOTH_STEPS, found, strict=True)} for b, *found in grouped
    }
    booths = await session.execute(
        select(Booth.id, Booth.status, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id)
        .order_by(Employer.name, Booth.id)
    )
    kept = [(b, name) for b, status, name in booths if status == "approved" or b in per_booth]
    zero = dict.fromkeys(BOOTH_STEPS, 0)
    counts = [_with_rest(per_booth.get(b, zero)) for b, _name in kept]
    figures = protect_table(counts)
    seen = await activity.views_per_booth(session, edition_id) if views else {}
    return [
        BoothFunnel(b, name, Funnel(c, f), seen.get(b, activity.Views()))
        for (b, name), c, f in zip(kept, counts, figures, strict=True)
    ]


def protect_table(rows: list[dict[str, int]]) -> list[dict[str, disclosure.Figure]]:
    """The booths' table's figures a page may show.

    Each row is a funnel, protected as `protect` says. A column is not a partition of the
    edition's figure shown beside it: that one counts distinct candidates, and a candidate who
    applied at two booths is in two cells, so a column adds up to the edition's figure or
    more, and `disclosure.grid` (whose totals are the sums of the cells) does not apply. What a
    reader can work out from the edition's figure is less than from the column's sum (knowing
    the sum tells exactly what the edition's figure only bounds from below), so each column is
    protected as a listing of the booths' cells with their sum as its total: no hidden cell can
    be worked out even by a reader who knew the sum. Rows and columns are protected in turn
    until neither hides anything more.
    """
    if not rows:
        return []
    hidden: list[set[str]] = [set() for _ in rows]
    while True:
        figures = [protect(row, sorted(h)) for row, h in zip(rows, hidden, strict=True)]
        for i, row in enumerate(figures):
            hidden[i] |= {s for s, f in row.items() if not f.shown}
        grown = False
        for step in rows[0]:
            column = [row[step] for row in rows]
            already = [i for i, h in enumerate(hidden) if step in h]
            listed = disclosure.listing(column, hidden=already)
            for i, cell in enumerate(listed.cells):
                if not cell.shown and step not in hidden[i]:
                    hidden[i].add(step)
                    grown = True
        if not grown:
            return figures


# The dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """What the organiser's dashboard shows for some filters.

    `funnel`: the edition's (under a booth filter, registration and activity from the edition
    and the later steps from that booth's row of `booths`, so that the booth's figures are the
    same, and protected the same, wherever they are shown). `views`: under filters, the
    matching pages' views (page views are not people: not suppressed); None without filters.
    """

    funnel: Funnel
    booths: list[BoothFunnel]
    views: activity.Views | None


async def dashboard(session: AsyncSession, edition_id: int, filters: Filters) -> Dashboard:
    """The funnel, the booths' funnels and, under filters, the matching pages' views: three
    queries, four with filters."""
    booths = await booth_funnels(session, edition_id, filters, views=False)
    found = await funnel(session, edition_id, filters)
    if filters.booth_id is not None:
        row = next((b.funnel for b in booths if b.booth_id == filters.booth_id), None)
        if row is not None:
            figures = {**found.figures, **row.figures}
            found = Funnel(found.counts, figures)
    views = await page_views(session, edition_id, filters) if filters.on_offers else None
    return Dashboard(found, booths, views)


async def page_views(session: AsyncSession, edition_id: int, filters: Filters) -> activity.Views:
    """The views of the pages the filters match, in one query: under a filter about offers
    (offer, ROME domain, contract, commune, EPCI), the matching offers' pages only; else the
    pages of the matching booths (a booth, a sector's booths, every booth) and of their offers.
    Read through the indexes on offer_id and booth_id, but for every booth."""
    about_offers = filters.offer_id is not None or any(
        getattr(filters, name) is not None
        for name in ("rome_domain", "contract", "commune", "epci")
    )
    booths = select(Booth.id).where(Booth.edition_id == edition_id)
    if filters.booth_id is not None:
        booths = booths.where(Booth.id == filters.booth_id)
    if filters.sector is not None:
        booths = booths.join(Employer, Employer.id == Booth.employer_id).where(
            _division(Employer.naf_code) == filters.sector
        )
    if about_offers:
        matching = select(Offer.id).where(
            Offer.edition_id == edition_id,
            Offer.booth_id.in_(booths),
            *_offer_conditions(edition_id, filters.without_sector()),
            *([Offer.id == filters.offer_id] if filters.offer_id is not None else []),
        )
        total = await session.scalar(
            select(func.coalesce(func.sum(PageView.views), 0)).where(
                PageView.offer_id.in_(matching)
            )
        )
        return activity.Views(offers=int(total or 0))
    where = (
        PageView.booth_id.in_(booths) if filters.on_offers else PageView.edition_id == edition_id
    )
    on_booth = func.sum(PageView.views).filter(PageView.offer_id.is_(None))
    on_offers = func.sum(PageView.views).filter(PageView.offer_id.isnot(None))
    found = await session.execute(
        select(func.coalesce(on_booth, 0), func.coalesce(on_offers, 0)).where(where)
    )
    booth_views, offer_views = found.one()
    return activity.Views(booth=int(booth_views), offers=int(offer_views))


def _division(naf: Any) -> ColumnElement[str]:
    """A NAF code's division: its first two digits ("43.21A" → "43")."""
    return func.substr(naf, 1, 2)


async def choices(session: AsyncSession, edition_id: int) -> Choices:
    """What the filters may choose among in an edition: its booths, offers, sectors (NAF
    divisions of its employers), ROME domains, contracts, communes and EPCIs of its offers."""
    booths = (
        await session.execute(
            select(Booth.id, Employer.name, Employer.naf_code)
            .join(Employer, Employer.id == Booth.employer_id)
            .where(Booth.edition_id == edition_id)
            .order_by(Employer.name, Booth.id)
        )
    ).all()
    offers_ = (
        await session.execute(
            select(
                Offer.id,
                Offer.title,
                Offer.rome_domain,
                Offer.contract,
                Offer.commune,
                Offer.postcode,
            )
            .where(Offer.edition_id == edition_id)
            .order_by(Offer.title, Offer.id)
        )
    ).all()
    places = {(o.commune, o.postcode) for o in offers_}
    epcis = {e for e in (geo.epci_of(c, p) for c, p in places) if e is not None}
    return Choices(
        booths=[(b.id, b.name) for b in booths],
        offers=[(o.id, o.title) for o in offers_],
        sectors=sorted({b.naf_code[:2] for b in booths}),
        rome_domains=sorted({o.rome_domain for o in offers_}),
        contracts=sorted({o.contract for o in offers_}),
        communes=sorted({o.commune for o in offers_}),
        epcis=sorted(epcis, key=lambda e: e.name),
    )


@dataclass(frozen=True)
class Choices:
    booths: list[tuple[int, str]]
    offers: list[tuple[int, str]]
    sectors: list[str]
    rome_domains: list[str]
    contracts: list[str]
    communes: list[str]
    epcis: list[geo.Epci]
