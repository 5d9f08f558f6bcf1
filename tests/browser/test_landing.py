"""The edition's landing page and the accessibility statement in Chromium: axe finds nothing
serious or critical at 360 and 1280 px in French and English (before the live days, open now,
and the statement), the page never scrolls sideways, and static/countdown.js keeps the
countdown's sentence current (the clock moved forward with Playwright's fake timers).

axe is injected, so those contexts bypass the CSP; the countdown's context keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from fair import clock, i18n, landing
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, tr
from tests.landing_setup import booth_of, staffed, talk

# The elements wider than the viewport (the page would scroll sideways).
WIDE = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(e => e.tagName + '.' + e.className).slice(0, 5)"""


@dataclass(frozen=True)
class Site:
    before: str  # the slug of an edition whose live days begin in three days, at 09:00
    opens_at: datetime
    live: str  # the slug of an edition open now (all day), a talk on stage, a booth staffed
    live_now: bool  # whether it is open at seeding time (not in the minute 23:59 in Paris)


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> Site:
    async def make(session):  # type: ignore[no-untyped-def]
        now = clock.now()
        first = (now.astimezone(f.PARIS) + timedelta(days=3)).date()
        before = await f.edition(
            session,
            title="Forum à venir",
            live_first_day=first,
            live_last_day=first + timedelta(days=1),
            opens=time(9, 0),
            closes=time(18, 0),
        )
        booth, recruiter = await booth_of(session, before, "Boulangerie Durand")
        await f.offer(session, booth_=booth)
        await talk(session, before, booth, recruiter, "Nos métiers", f.day_at(first, 10))
        live = await f.edition(session, title="Forum en direct")
        live_now = landing.phase(live, now) == landing.OPEN
        booth, recruiter = await booth_of(session, live, "Garage du Lez")
        await f.offer(session, booth_=booth)
        if live_now:
            await staffed(session, booth, recruiter, waiting=1)
        return Site(before.slug, f.day_at(first, 9), live.slug, live_now)

    return live_server.seed(make)


# French on a phone, English on a computer (tests/browser/test_design_pages.py sweeps the
# landing page in French at both widths too): two quick passes instead of four.
@pytest.mark.parametrize(("lang", "width"), [("fr", 360), ("en", 1280)])
def test_no_serious_violation_nor_sideways_scroll(
    lang: str, width: int, site: Site, new_context: Any, axe_source: str
) -> None:
    found: list[str] = []
    viewport = {"width": width, "height": 800}
    page = new_context(bypass_csp=True, lang=lang, viewport=viewport).new_page()
    pages = [
        (f"/e/{site.before}", tr("How it works", lang)),
        (f"/e/{site.live}", tr("Booths staffed now" if site.live_now else "Dates", lang)),
        ("/accessibility", tr("Known limitations", lang)),
    ]
    for path, expected in pages:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert expected in page.locator("main").inner_text(), f"{path}: no {expected!r}"
        where = f"{path} ({lang}, {width} px)"
        violations = axe_violations(page, axe_source)
        if violations:
            found.append(describe_violations(where, violations))
        wider = page.evaluate(WIDE)
        if wider:
            found.append(f"{where} scrolls sideways: {wider}")
    footer = page.locator("footer").get_by_role(
        "link", name=tr("Accessibility: non-compliant (not audited yet)", lang)
    )
    assert footer.get_attribute("href") == "/accessibility"
    assert not found, "\n".join(found)


def test_the_countdown_follows_the_clock_and_says_when_the_fair_opens(
    site: Site, new_context: Any
) -> None:
    page = new_context(viewport={"width": 360, "height": 800}).new_page()
    page.clock.install()  # fake timers from the real time: the page's clock is moved below
    page.goto(f"/e/{site.before}")
    sentence = page.locator("[data-countdown]")
    assert sentence.get_attribute("aria-live") == "polite"
    left = site.opens_at - clock.now()
    days = landing.countdown(site.opens_at, clock.now()).count  # over two days: days counted
    served = i18n.ngettext("Opens in %(num)s day", "Opens in %(num)s days", days, "fr")
    assert sentence.inner_text() == served  # countdown.js agrees with the server
    reload = page.get_by_role("link", name=tr("See what is live now"))
    assert reload.is_hidden()
    # Five and a half hours before the opening: hours are counted, written by countdown.js.
    page.clock.fast_forward(int((left - timedelta(hours=5, minutes=30)).total_seconds() * 1000))
    page.clock.run_for(6000)
    assert sentence.inner_text() == "Ouvre dans 5 heures"
    page.clock.fast_forward(int(timedelta(hours=5, minutes=20).total_seconds() * 1000))
    page.clock.run_for(6000)
    assert sentence.inner_text() == "Ouvre dans 10 minutes"
    page.clock.fast_forward(int(timedelta(minutes=10).total_seconds() * 1000))
    page.clock.run_for(6000)
    assert sentence.inner_text() == tr("The fair is open now.")
    assert reload.is_visible()
