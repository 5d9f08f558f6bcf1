"""fair.landing: the phase and countdown of an edition, its key figures checked against counts
made here from every row, the talks and booths the landing page lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, employers, landing, offers, webconferences
from fair.enums import BoothStatus, Role
from fair.models import Booth, Employer, Offer
from tests import factories as f
from tests.factories import NOON, TOMORROW, day_at
from tests.landing_setup import booth_of, staffed, talk

T0 = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def test_the_countdown_counts_whole_days_then_hours_then_minutes_rounded_up() -> None:
    cases = {
        timedelta(days=3, hours=23): ("days", 3),
        timedelta(days=1): ("days", 1),
        timedelta(hours=23, minutes=59): ("hours", 23),
        timedelta(hours=1): ("hours", 1),
        timedelta(minutes=59, seconds=1): ("minutes", 60),
        timedelta(minutes=5): ("minutes", 5),
        timedelta(seconds=1): ("minutes", 1),
        timedelta(0): ("minutes", 1),
    }
    found = {left: landing.countdown(T0 + left, T0) for left in cases}
    assert {left: (c.unit, c.count) for left, c in found.items()} == cases


def test_partners_are_read_one_per_line_or_separated_by_commas() -> None:
    text = "France Travail, Mission locale\n\nCap emploi ; Département de l'Hérault\nFrance Travail"
    assert landing.partner_names(text) == [
        "France Travail",
        "Mission locale",
        "Cap emploi",
        "Département de l'Hérault",
    ]
    assert landing.partner_names("  ") == []


async def test_the_phase_and_the_next_opening_follow_the_live_days(session: AsyncSession) -> None:
    clock.set_now(NOON)
    edition = await f.edition(
        session,
        live_first_day=date(2026, 3, 12),
        live_last_day=date(2026, 3, 13),
        opens=time(9, 0),
        closes=time(18, 0),
    )
    paris = {
        "before": day_at(date(2026, 3, 11), 12),
        "open": day_at(date(2026, 3, 12), 9),
        "paused": day_at(date(2026, 3, 12), 18),
        "paused_after": day_at(date(2026, 3, 13), 19),
        "closed": NOON + timedelta(days=8),
    }
    found = {
        name: (landing.phase(edition, now), landing.next_opening(edition, now))
        for name, now in paris.items()
    }
    assert found == {
        "before": ("before", day_at(date(2026, 3, 12), 9)),
        "open": ("open", day_at(date(2026, 3, 13), 9)),
        "paused": ("paused", day_at(date(2026, 3, 13), 9)),
        "paused_after": ("paused", None),  # applications stay open until 17 March
        "closed": ("closed", None),
    }


async def test_the_figures_are_those_the_public_sees(session: AsyncSession, fetch) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session)
    other = await f.edition(session, title="Autre forum")
    sectors = ["10.71C", "45.20A", "43.21A", "43.22A", "86.10Z"]
    for n, naf in enumerate(sectors):
        booth, _recruiter = await booth_of(session, edition, f"Employeur {n}", naf=naf)
        for k in range(n):
            offer = await f.offer(session, booth_=booth, title=f"Offre {n}.{k}")
            if k == 1:
                await offers.set_published(session, offer, False)
    for status, naf in ((BoothStatus.REQUESTED, "01.11Z"), (BoothStatus.DECLINED, "62.01Z")):
        hidden, _recruiter = await booth_of(
            session, edition, f"Pas approuvé {naf}", naf=naf, status=BoothStatus.REQUESTED
        )
        await f.offer(session, booth_=hidden)  # offered while its booth was asked for
        if status == BoothStatus.DECLINED:
            admin = await f.user(session, Role.ADMIN, can_log_in=False)
            await employers.set_status(session, hidden, status, by=admin, reason="Hors territoire.")
    elsewhere, _recruiter = await booth_of(session, other, "Ailleurs", naf="55.10Z")
    await f.offer(session, booth_=elsewhere)
    await db.commit(session)

    # Counted here from every row, in Python.
    booths = {b.id: b for b in await fetch.scalars(select(Booth))}
    naf_of = {e.id: e.naf_code for e in await fetch.scalars(select(Employer))}
    shown = [b for b in booths.values() if b.edition_id == edition.id and b.status == "approved"]
    published = [
        o
        for o in await fetch.scalars(select(Offer))
        if o.edition_id == edition.id and o.published and booths[o.booth_id].status == "approved"
    ]
    expected = landing.Figures(
        offers=len(published),
        employers=len(shown),
        sectors=len({naf_of[b.employer_id][:2] for b in shown}),
    )
    assert expected == landing.Figures(offers=7, employers=5, sectors=4)  # 43.21A and 43.22A: one
    assert await landing.figures(session, edition.id) == expected


async def test_talks_and_booths_listed_are_the_public_ones(session: AsyncSession) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    durand, durand_staff = await booth_of(session, edition, "Boulangerie Durand")
    waiting, waiting_staff = await booth_of(
        session, edition, "En attente", status=BoothStatus.REQUESTED
    )
    on_stage = await talk(
        session,
        edition,
        durand,
        durand_staff,
        "Sur scène",
        NOON - timedelta(minutes=10),
        on_stage=True,
    )
    later = [
        await talk(
            session, edition, durand, durand_staff, f"Plus tard {n}", day_at(TOMORROW, 9 + n)
        )
        for n in range(6)
    ]
    cancelled = await talk(session, edition, durand, durand_staff, "Annulée", day_at(TOMORROW, 8))
    await webconferences.cancel(session, by=durand_staff, webconference=cancelled)
    # A talk whose hour passed without being started is over; a requested booth's is not shown.
    await talk(session, edition, durand, durand_staff, "Passée", NOON - timedelta(hours=2))
    await staffed(session, durand, durand_staff, waiting=1)
    await staffed(session, waiting, waiting_staff)
    await session.flush()

    shown = await landing.of_edition(session, edition)
    assert shown.phase == "open"
    assert [t.id for t in shown.live_talks] == [on_stage.id]
    assert [(t.title, t.employer) for t in shown.next_talks] == [
        (w.title, "Boulangerie Durand") for w in later[: landing.NEXT_TALKS]
    ]
    assert shown.staffed == [landing.StaffedBooth(durand.id, "Boulangerie Durand", 1)]
