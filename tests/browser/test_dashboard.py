"""The organiser's dashboard in Chromium, in French: at 1280 and 360 px wide it shows the
funnel and the booths' table without a sideways scroll of the page, and axe finds nothing
serious (axe is injected, so the context bypasses the CSP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from fair import clock
from tests import factories as f
from tests import funnel_journeys
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in, tr


@dataclass(frozen=True)
class Seeded:
    edition_id: int
    organiser_email: str
    registered: int


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Seeded:
    """The journeys of tests/funnel_journeys.py (built at noon the day before the clock's)."""

    async def make(session):  # type: ignore[no-untyped-def]
        built = await funnel_journeys.build(session)
        registered = built.expected()["registered"]
        return Seeded(built.edition.id, built.organiser.email, registered)

    try:
        return live_server.seed(make)
    finally:
        clock.set_now(None)


@pytest.mark.parametrize("width", [1280, 360])
def test_the_dashboard_in_french_fits_and_is_axe_clean(
    width: int, seeded: Seeded, new_context: Any, axe_source: str
) -> None:
    page = new_context(
        bypass_csp=True, lang="fr", viewport={"width": width, "height": 800}
    ).new_page()
    log_in(page, seeded.organiser_email, f.PASSWORD)
    response = page.goto(f"/organiser/editions/{seeded.edition_id}")
    assert response is not None and response.status == 200
    main = page.locator("main")
    assert main.get_by_role("heading", level=1).inner_text().startswith(tr("Dashboard"))
    funnel = main.get_by_role("region", name=tr("From registration to a job"))
    first = funnel.get_by_role("row").nth(1)
    assert first.inner_text().split("\t")[:2] == [
        tr("Registered candidates"),
        str(seeded.registered),
    ]
    assert main.get_by_role("img").count() == 1  # the bars, named by their title
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations(f"dashboard at {width} px", violations)
