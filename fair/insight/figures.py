"""The funnel's counts, and the figures a page may show of them (fair.disclosure): the
edition's funnel and every booth's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fair import activity, disclosure
from fair.insight import progress
from fair.insight.steps import (
    BOOTH_STEPS,
    CHAIN,
    SPLIT,
    STEPS,
    Filters,
    booth_steps,
    candidate_steps,
)
from fair.models import (
    Booth,
    Employer,
)


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
    """The edition's funnel under `filters`: one aggregate query, over the kept steps without
    filters (fair.insight.progress), else over `candidate_steps`."""
    if filters is None or not filters.on_offers:
        counts = _with_rest(await progress.totals(session, edition_id))
        return Funnel(counts, protect(counts))
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
    per_booth = await _per_booth(session, edition_id, (filters or Filters()).without_booth())
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


async def _per_booth(
    session: AsyncSession, edition_id: int, filters: Filters
) -> dict[int, dict[str, int]]:
    """Per booth, the counts of `BOOTH_STEPS`: from the kept steps without filters
    (fair.insight.progress), else one grouped query over `booth_steps`."""
    if not filters.on_offers:
        return await progress.booth_totals(session, edition_id)
    rows = booth_steps(edition_id, filters).subquery("steps")
    sums = [func.sum(rows.c[s]) for s in BOOTH_STEPS]
    grouped = await session.execute(select(rows.c.booth_id, *sums).group_by(rows.c.booth_id))
    return {
        b: {s: int(n) for s, n in zip(BOOTH_STEPS, found, strict=True)} for b, *found in grouped
    }


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
