"""The organiser's activity and comparison pages in Chromium: their charts fit a 360 px screen
without a sideways scroll, their figures' tables open from the keyboard, and axe finds nothing
serious, in French and in English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from fair import activity, clock, participants
from fair.enums import InterviewStatus, Role
from fair.tally import Taken
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in, tr


@dataclass(frozen=True)
class Seeded:
    edition_id: int
    organiser_email: str


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Seeded:
    """An edition with page views over three days, six interviews and registrations, and an
    earlier edition of the same organiser."""

    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER)
        earlier = await f.edition(
            session, by=organiser, title="Forum 2025", now=clock.now() - timedelta(days=365)
        )
        edition = await f.edition(session, by=organiser, title="Forum 2026 de l'emploi")
        booth, recruiter = await f.booth(session, edition_=edition)
        offer = await f.offer(session, booth_=booth)
        today = activity.local_day(edition)
        views = {
            (edition.id, booth.id, None, today - timedelta(days=n)): 40 - 7 * n for n in range(5)
        }
        views[(edition.id, booth.id, offer.id, today)] = 25
        await activity.save(session, Taken(views=views))
        for n in range(6):
            await f.interview(
                session,
                booth_=booth,
                recruiter=recruiter,
                candidate_=await f.candidate(session, can_log_in=False),
                mode="video" if n < 5 else "phone",
                status=InterviewStatus.HELD,
                starts_at=clock.now() - timedelta(hours=n + 1),
            )
        people = await f.candidate_accounts(session, 12)
        for n, person in enumerate(people):
            for one in (earlier, edition):
                moment = one.applications_open_at + timedelta(days=n - 6)
                await participants.register(session, edition_id=one.id, user=person, at=moment)
        return Seeded(edition.id, organiser.email)

    return live_server.seed(make)


def _no_sideways_scroll(page: Any) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_charts_fit_a_phone_and_are_axe_clean(
    lang: str, seeded: Seeded, new_context: Any, axe_source: str
) -> None:
    found: list[str] = []
    for width in (360, 1280):
        context = new_context(bypass_csp=True, lang=lang, viewport={"width": width, "height": 800})
        page = context.new_page()
        log_in(page, seeded.organiser_email, f.PASSWORD, lang)
        for name, title in (("activity", "Activity"), ("compare", "Editions compared")):
            response = page.goto(f"/organiser/editions/{seeded.edition_id}/{name}")
            assert response is not None and response.status == 200
            assert tr(title, lang) in page.locator("h1").inner_text()
            drawings = page.locator("figure.chart svg[role=img]")
            assert drawings.count() >= 3
            box = drawings.first.bounding_box()
            assert box is not None and box["width"] <= width
            assert _no_sideways_scroll(page), f"{name} at {width} px scrolls sideways"
            violations = axe_violations(page, axe_source)
            if violations:
                found.append(describe_violations(f"{name} ({lang}, {width} px)", violations))
            if width == 360 and lang == "fr":
                page.screenshot(path=f"/tmp/h2-{name}-360.png", full_page=True)
    assert not found, "axe found serious or critical violations:\n" + "\n".join(found)


def test_a_charts_figures_open_from_the_keyboard(seeded: Seeded, new_context: Any) -> None:
    page = new_context(lang="en").new_page()
    log_in(page, seeded.organiser_email, f.PASSWORD, "en")
    page.goto(f"/organiser/editions/{seeded.edition_id}/activity")
    summary = page.locator("figure.chart details > summary").first
    table = page.locator("figure.chart details table").first
    assert not table.is_visible()
    summary.focus()
    page.keyboard.press("Enter")
    assert table.is_visible()
    assert table.locator("caption").inner_text() == "Page views per day"
