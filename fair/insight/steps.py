"""The funnel's steps, defined once: `candidate_steps` (one row per registered candidate) and
`booth_steps` (one row per candidate and booth), under `Filters` (fair.insight's docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cache
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

from fair import activity, applications, geo, outcomes
from fair.enums import ApplicationStatus, InterviewStatus
from fair.models import (
    Application,
    Booth,
    EditionCandidate,
    Employer,
    Interview,
    InterviewInvitation,
    Offer,
)

# A statement of several integer columns.
Rows = Select[*tuple[Any, ...]]
# Some candidates' ids (fair.insight.progress refreshes a few), or None: all of them.
Users = Sequence[int] | None

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
FROM_SHORTLIST = tuple(sorted(s.value for s in applications.FROM_SHORTLIST))
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


def offer_conditions(edition_id: int, filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions on Offer for the filters that are about the offer itself or its employer."""
    found: list[ColumnElement[bool]] = []
    if filters.rome_domain is not None:
        found.append(Offer.rome_domain == filters.rome_domain)
    if filters.contract is not None:
        found.append(Offer.contract == filters.contract)
    if filters.commune is not None:
        found.append(Offer.commune == filters.commune)
    if filters.epci is not None:
        labels = _epci_labels(filters.epci)
        found.append(Offer.commune.in_(labels) if labels else false())
    if filters.sector is not None:
        in_sector = (
            select(Booth.id)
            .join(Employer, Employer.id == Booth.employer_id)
            .where(
                Booth.edition_id == edition_id,
                division(Employer.naf_code) == filters.sector,
            )
        )
        found.append(Offer.booth_id.in_(in_sector))
    return found


@cache
def _epci_labels(siren: str) -> tuple[str, ...]:
    """The labels of an EPCI's communes, as offers store them (the commune list never changes
    while the process runs; geo.in_epci reads all 35,000 communes)."""
    return tuple(sorted({c.label for c in geo.in_epci(siren)}))


def _application_conditions(
    edition_id: int, filters: Filters, users: Users = None
) -> list[ColumnElement[bool]]:
    """Which applications of the edition the filters keep (of `users` only, if given)."""
    found: list[ColumnElement[bool]] = [Application.edition_id == edition_id]
    if users is not None:
        found.append(Application.candidate_id.in_(users))
    if filters.booth_id is not None:
        found.append(Application.booth_id == filters.booth_id)
    if filters.offer_id is not None:
        found.append(Application.offer_id == filters.offer_id)
    on_offer = offer_conditions(edition_id, filters)
    if on_offer:
        matching = select(Offer.id).where(Offer.edition_id == edition_id, *on_offer)
        found.append(Application.offer_id.in_(matching))
    return found


def _interview_conditions(
    edition_id: int, filters: Filters, users: Users = None
) -> list[ColumnElement[bool]]:
    """Which interviews of the edition the filters keep: those of the kept applications (of
    `users` only, if given)."""
    found: list[ColumnElement[bool]] = [Interview.status.in_(BOOKED)]
    if users is not None:
        found.append(Interview.candidate_id.in_(users))
    booths = select(Booth.id).where(Booth.edition_id == edition_id)
    if filters.booth_id is not None:
        found.append(Interview.booth_id == filters.booth_id)
    else:
        found.append(Interview.booth_id.in_(booths))
    if filters.offer_id is not None or offer_conditions(edition_id, filters):
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
    """An application shortlisted or further on now, or at some point of its history: its
    `shortlisted_at`, set by applications.set_status (reading application_events instead cost
    a scan of every edition's history, 20 ms per statement for a 40,000-application edition);
    the current status too, for rows written without set_status (bulk loads)."""
    return or_(Application.status.in_(FROM_SHORTLIST), Application.shortlisted_at.isnot(None))


def _applications(edition_id: int, filters: Filters, users: Users, *, per_booth: bool) -> Rows:
    """Per candidate (and booth), whether an application was shortlisted, retained, and
    retained by a candidate back at work (`back`: the "hired" step wherever it is restricted
    to the candidates the applications retained; the test of fair.outcomes' ids is made here,
    once per retained application, rather than once per step that nests it)."""
    keys = [Application.candidate_id.label("user_id")]
    if per_booth:
        keys.append(Application.booth_id.label("booth_id"))
    hired = Application.status == A.HIRED.value
    return (
        select(
            *keys,
            _flag(_shortlisted()).label("shortlisted"),
            _flag(hired).label("retained"),
            _flag(and_(hired, _back(edition_id, Application.candidate_id))).label("back"),
        )
        .where(*_application_conditions(edition_id, filters, users))
        .group_by(*keys)
    )


def _interviews(edition_id: int, filters: Filters, users: Users, *, per_booth: bool) -> Rows:
    keys = [Interview.candidate_id.label("user_id")]
    if per_booth:
        keys.append(Interview.booth_id.label("booth_id"))
    return (
        select(
            *keys,
            _flag(Interview.status == InterviewStatus.HELD.value).label("held"),
            _flag(Interview.status == InterviewStatus.NO_SHOW.value).label("no_show"),
        )
        .where(*_interview_conditions(edition_id, filters, users))
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


def candidate_steps(
    edition_id: int, filters: Filters | None = None, *, users: Users = None
) -> Rows:
    """One row per registered candidate of the edition (of `users` only, if given): `user_id`,
    then one column per step of `STEPS` holding 1 if the candidate reached it (under
    `filters`), else 0."""
    reached = _reached(edition_id, filters or Filters(), users).subquery("reached")
    raw = _Reached(**{name: reached.c[name] == 1 for name in _RAW})
    steps = _nested(raw)
    return select(reached.c.user_id, *(_as_int(steps[s]).label(s) for s in STEPS))


# What each source says of a candidate, the columns of `_reached`.
_RAW = ("active", "applied", "shortlisted", "booked", "held", "no_show", "retained", "hired")


def _reached(edition_id: int, filters: Filters, users: Users) -> Rows:
    """One row per registered candidate: what each source says (1 or 0), before nesting.

    Nesting repeats a step's condition in every step before it; computed here once per
    candidate, the test of fair.outcomes' ids (back at work) is not repeated eight times per
    row (30 ms of a 36,000-candidate funnel on PostgreSQL). OFFSET 0 keeps both databases
    from merging this statement into the one that nests (PostgreSQL's pull-up, SQLite's
    flattening), which would copy the conditions back into every step.
    """
    applied = _applications(edition_id, filters, users, per_booth=False).subquery("applied")
    met = _interviews(edition_id, filters, users, per_booth=False).subquery("met")
    # An IN rather than an outer join to the distinct ids: SQLite then skips a join's
    # automatic index (8 ms of a 36,000-candidate funnel); PostgreSQL hashes either.
    active_day = EditionCandidate.user_id.in_(activity.active_ids(edition_id, users))
    at_work = _back(edition_id, EditionCandidate.user_id)
    raw = _Reached(
        active=_active(edition_id, filters, active_day, at_work),
        applied=applied.c.user_id.isnot(None),
        shortlisted=applied.c.shortlisted == 1,
        booked=met.c.user_id.isnot(None),
        held=met.c.held == 1,
        no_show=met.c.no_show == 1,
        retained=applied.c.retained == 1,
        # Under filters, back at work counts for a candidate retained there (module docstring).
        hired=applied.c.back == 1 if filters.on_offers else at_work,
    )
    user_id = EditionCandidate.user_id
    return (
        select(
            user_id.label("user_id"), *(_as_int(getattr(raw, name)).label(name) for name in _RAW)
        )
        .select_from(EditionCandidate)
        .outerjoin(applied, applied.c.user_id == user_id)
        .outerjoin(met, met.c.user_id == user_id)
        .where(EditionCandidate.edition_id == edition_id, *_among(EditionCandidate.user_id, users))
        .offset(0)
    )


def booth_steps(edition_id: int, filters: Filters | None = None, *, users: Users = None) -> Rows:
    """One row per candidate and booth where they applied (under `filters`; of `users` only, if
    given): `booth_id`, `user_id`, then one column per step of `BOOTH_STEPS` (1 or 0), as
    `candidate_steps` defines them, restricted to that booth's applications and interviews."""
    filters = filters or Filters()
    applied = _applications(edition_id, filters, users, per_booth=True).subquery("applied")
    met = _interviews(edition_id, filters, users, per_booth=True).subquery("met")
    raw = _Reached(
        active=literal(True),
        applied=literal(True),
        shortlisted=applied.c.shortlisted == 1,
        booked=met.c.user_id.isnot(None),
        held=met.c.held == 1,
        no_show=met.c.no_show == 1,
        retained=applied.c.retained == 1,
        hired=applied.c.back == 1,
    )
    steps = _nested(raw)
    joined = and_(met.c.user_id == applied.c.user_id, met.c.booth_id == applied.c.booth_id)
    return select(
        applied.c.booth_id, applied.c.user_id, *(_as_int(steps[s]).label(s) for s in BOOTH_STEPS)
    ).select_from(applied.outerjoin(met, joined))


def _among(column: Any, users: Users) -> list[ColumnElement[bool]]:
    return [] if users is None else [column.in_(users)]


def division(naf: Any) -> ColumnElement[str]:
    """A NAF code's division: its first two digits ("43.21A" → "43")."""
    return func.substr(naf, 1, 2)
