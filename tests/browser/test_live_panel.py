"""The organisers' live panel in Chromium, on the dashboard: it changes, without a reload, when a
candidate joins a booth's queue in another browser context (issue 12 item 2), and axe finds
nothing serious on the page.

The live server runs the background loops, so the panel's round (every 3 s, fair.live_panel)
publishes the change; the edition of tests/factories.py is open all day today.
"""

from __future__ import annotations

from typing import Any

from fair.enums import Role
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in, tr


def _seed(live_server: LiveServer) -> dict[str, Any]:
    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER)
        edition = await f.edition(session, by=organiser, title="Forum du tableau en direct")
        booth, _recruiter = await f.booth(session, edition_=edition)
        candidate = await f.candidate(session, name="Dora Candidate")
        return {
            "slug": edition.slug,
            "edition_id": edition.id,
            "booth_id": booth.id,
            "organiser": organiser.email,
            "candidate": candidate.email,
        }

    return live_server.seed(make)


def test_the_panel_follows_a_queue_join_live(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    seeded = _seed(live_server)
    booth_id = seeded["booth_id"]
    organiser = new_context(bypass_csp=True).new_page()  # bypass: axe is injected below
    errors: list[str] = []
    organiser.on("pageerror", lambda error: errors.append(str(error)))
    log_in(organiser, seeded["organiser"], f.PASSWORD)
    # The dashboard includes the panel during live hours; its script reads the figures from the
    # live panel's page once subscribed.
    organiser.goto(f"/organiser/editions/{seeded['edition_id']}")
    organiser.locator("#live-panel[data-panel-live=on] [data-panel-booth]").wait_for()
    waiting = organiser.locator(f'[data-panel-booth="{booth_id}"] [data-cell="waiting"]')
    assert waiting.inner_text() == "0"
    assert organiser.locator('[data-panel-figure="candidates_online"]').inner_text() == "0"
    assert tr("Candidates online") in organiser.locator("#live-panel").inner_text()
    violations = axe_violations(organiser, axe_source)
    assert not violations, describe_violations("live panel", violations)
    organiser.evaluate("window.notReloaded = true")

    candidate = new_context().new_page()
    log_in(candidate, seeded["candidate"], f.PASSWORD)
    candidate.goto(f"/e/{seeded['slug']}/booths/{booth_id}")
    candidate.wait_for_selector("body[data-live=on]")
    candidate.get_by_role("button", name=tr("Join the queue"), exact=True).click()
    candidate.locator("[data-position]").filter(has_text="1").wait_for()

    waiting.filter(has_text="1").wait_for()  # within a round (3 s) of the join
    # (Candidates online are counted again every 30 s by the round: tests/test_live_panel.py.)
    figures = {
        name: organiser.locator(f'[data-panel-figure="{name}"]').inner_text()
        for name in ("waiting", "unstaffed", "staffed")
    }
    assert figures == {"waiting": "1", "unstaffed": "1", "staffed": "0"}
    wait = organiser.locator(f'[data-panel-booth="{booth_id}"] [data-cell="wait"]').inner_text()
    assert wait == tr("%(num)s min", num=0)
    assert organiser.evaluate("window.notReloaded") is True
    assert errors == []
