"""The organiser's funnel (fair.insight): each step counted against the journeys the test built
(tests/funnel_journeys.py), with filters, per booth, and the figures a page may show."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, insight
from tests import funnel_journeys


@pytest.fixture(autouse=True)
def _clock(conf) -> None:  # type: ignore[no-untyped-def]
    yield
    clock.set_now(None)


COUNTED = (*insight.STEPS, "not_held_yet")


def as_dict(expected: object) -> dict[str, int]:
    return {step: expected[step] for step in COUNTED}  # type: ignore[index]


async def test_each_step_counts_the_candidates_who_reached_it(session: AsyncSession) -> None:
    built = await funnel_journeys.build(session)
    found = await insight.funnel(session, built.edition.id)
    expected = as_dict(built.expected())
    assert found.counts == expected
    # 18 registered: 15 through booth A (2 registered only, 1 active only), 3 at booth B.
    assert expected == {
        "registered": 18,
        "active": 16,
        "applied": 15,
        "shortlisted": 13,
        "interview_booked": 7,
        "held": 5,
        "no_show": 1,
        "retained": 3,
        "hired": 1,
        "not_held_yet": 1,
    }
    # One row per registered candidate, with the steps of their journeys.
    rows = (await session.execute(insight.candidate_steps(built.edition.id))).mappings().all()
    by_user = {row["user_id"]: {s for s in insight.STEPS if row[s]} for row in rows}
    expected: dict[int, set[str]] = {}
    for user_id, _booth, journey in built.journeys:
        expected.setdefault(user_id, set()).update(
            funnel_journeys.JOURNEYS[journey] - {"not_held_yet"}
        )
    assert by_user == expected


async def test_filters_restrict_the_steps_from_applied_on(session: AsyncSession) -> None:
    built = await funnel_journeys.build(session)
    edition = built.edition.id
    booth_b = built.booths["B"].id
    only_b = as_dict(built.expected(booths=["B"]))
    for filters in (
        insight.Filters(booth_id=booth_b),
        insight.Filters(offer_id=built.offers["B"].id),
        insight.Filters(sector="56"),
        insight.Filters(contract="cdd"),
        insight.Filters(commune="Lunel"),
        insight.Filters(epci="243400520"),  # CA Lunel Agglo
    ):
        assert (await insight.funnel(session, edition, filters)).counts == only_b, filters
    assert only_b["registered"] == 18 and only_b["applied"] == 4
    assert only_b["shortlisted"] == 3
    only_a = as_dict(built.expected(booths=["A"]))
    for filters in (
        insight.Filters(contract="cdi"),
        insight.Filters(sector="43"),
        insight.Filters(epci="243400017"),  # Montpellier Méditerranée Métropole
    ):
        assert (await insight.funnel(session, edition, filters)).counts == only_a, filters
    nothing = insight.Filters(rome_domain="Z")
    counts = (await insight.funnel(session, edition, nothing)).counts
    assert counts == {**dict.fromkeys(COUNTED, 0), "registered": 18, "active": 16}


async def test_hidden_below_five_and_rates_from_shown_figures(session: AsyncSession) -> None:
    built = await funnel_journeys.build(session)
    await _booths(session, built)
    found = await insight.funnel(session, built.edition.id)
    shown = {s: f.value if f.shown else None for s, f in found.figures.items()}
    # Held (5) is shown: no-show and "not held yet" (1 each) hide each other.
    assert shown == {
        "registered": 18,
        "active": 16,
        "applied": 15,
        "shortlisted": 13,
        "interview_booked": 7,
        "held": 5,
        "no_show": None,
        "retained": None,
        "hired": None,
        "not_held_yet": None,
    }
    assert found.rate("active") == 16 / 18
    assert found.rate("held") == 5 / 7
    assert found.rate("no_show") is None and found.rate("retained") is None
    b = await insight.funnel(session, built.edition.id, insight.Filters(contract="cdd"))
    assert [b.figures[s].shown for s in ("applied", "shortlisted")] == [False, False]
    assert b.rate("applied") is None


def test_a_hidden_held_figure_pins_retained_when_equal_to_booked() -> None:
    counts = {
        "registered": 40,
        "active": 30,
        "applied": 20,
        "shortlisted": 12,
        "interview_booked": 8,
        "held": 8,
        "no_show": 0,
        "not_held_yet": 0,
        "retained": 8,
        "hired": 6,
    }
    shown = {s: f.shown for s, f in insight.protect(counts).items()}
    # No-show and "not held yet" are zeros: held is hidden beside them, else they would be
    # booked minus held; retained (8) equals booked, so it would give held back: hidden; and
    # hired (6) no longer pins anything.
    assert [s for s, ok in shown.items() if not ok] == [
        "held",
        "no_show",
        "not_held_yet",
        "retained",
    ]


async def _booths(session: AsyncSession, built: funnel_journeys.Built) -> None:
    """Every booth has its funnel."""
    rows = await insight.booth_funnels(session, built.edition.id)
    assert sorted(r.booth_id for r in rows) == sorted(b.id for b in built.booths.values())
    by_id = {r.booth_id: r for r in rows}
    for name, booth in built.booths.items():
        expected = built.expected(per_booth=name)
        counts = by_id[booth.id].funnel.counts
        assert counts == {s: expected[s] for s in counts}, name
    a, b = by_id[built.booths["A"].id].funnel, by_id[built.booths["B"].id].funnel
    assert (a.counts["applied"], b.counts["applied"]) == (12, 4)
    # B's column cells are all below 5: hidden; A's applied (12) then stands alone hidden in
    # its column next to B's, and is hidden too (with the column's sum it would give B's).
    assert not b.figures["applied"].shown and not b.figures["shortlisted"].shown
    assert not a.figures["applied"].shown
