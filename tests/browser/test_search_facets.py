"""The offer search on a phone (360 px): the filters with their counts, chosen with the keyboard
only, "around me" from the browser's position (asked on click), axe-clean; a visitor's link to
follow the search by e-mail comes back to the same search after logging in."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    follow,
    tr,
)

PHONE = {"width": 360, "height": 740}
# Montpellier's town hall, as a phone would give it (fair/data/communes.json.gz: 43.61, 3.88).
HERE = {"latitude": 43.6107713, "longitude": 3.8767193}


@pytest.fixture(scope="module")
def slug(live_server: LiveServer) -> str:
    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title="Forum des filtres")
        booth, _ = await f.booth(session, edition_=edition)
        await f.offer(
            session, booth_=booth, title="Électricien (H/F)", commune="Lattes", postcode="34970"
        )
        await f.offer(
            session,
            booth_=booth,
            title="Cariste",
            rome_code="N1101",
            contract="temporary",
            commune="Sète",
            postcode="34200",
            no_diploma=True,
        )
        await f.offer(
            session,
            booth_=booth,
            title="Aide-soignante",
            rome_code="J1501",
            contract="cdd",
            working_time="part_time",
            commune="Nîmes",
            postcode="30000",
            open_disabled=True,
        )
        return edition.slug

    return live_server.seed(make)


def _params(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def test_filters_with_counts_by_keyboard_and_axe_clean_on_a_phone(
    slug: str, new_context: Any, axe_source: str
) -> None:
    context = new_context(
        bypass_csp=True, lang="fr", viewport=PHONE, geolocation=HERE, permissions=[]
    )
    page = context.new_page()
    page.goto(f"/e/{slug}/offers")
    summary = page.get_by_text(tr("More filters"))
    summary.focus()
    page.keyboard.press("Enter")  # the folded filters open from the keyboard
    contracts = page.get_by_role("group", name=tr("Contract"))
    assert contracts.get_by_role("radio").count() == 4  # any, CDI, CDD, temporary
    cdd = page.get_by_role("radio", name="CDD 1 offre")
    assert cdd.is_visible()
    # The radio group from the keyboard: the checked "any", then arrows to "CDD", then submit.
    page.get_by_role("radio", name=f"{tr('All contracts')} 3 offres").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert cdd.is_checked()
    with page.expect_navigation():
        page.get_by_role("button", name=tr("Search"), exact=True).press("Enter")
    assert ("contract", "cdd") in _params(page.url)
    assert page.locator("main h2#results").inner_text() == "1 offre trouvée"
    # The counts follow: with the CDD chosen, one offer is open to disabled workers.
    assert (
        page.get_by_role("checkbox", name=f"{tr('Disabled workers (RQTH)')} 1 offre").count() == 1
    )
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at 360 px: {width}"
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("search with facets (360 px)", violations)


def test_around_me_asks_on_click_and_puts_the_rounded_position_in_the_url(
    slug: str, new_context: Any, axe_source: str
) -> None:
    context = new_context(
        bypass_csp=True, lang="fr", viewport=PHONE, geolocation=HERE, permissions=["geolocation"]
    )
    page = context.new_page()
    page.goto(f"/e/{slug}/offers?commune=Nulle-Part&radius_km=30")
    button = page.get_by_role("button", name=tr("Around me"))
    assert button.is_visible()
    page.get_by_label(tr("Within")).select_option("30")
    follow(page, button)
    assert ("near", "43.61,3.88") in _params(page.url)
    assert ("radius_km", "30") in _params(page.url)
    cards = page.locator("main .cards h2").all_inner_texts()
    assert sorted(cards) == ["Cariste", "Électricien (H/F)"]  # Nîmes is 46 km away
    assert tr("Distances from your position.") in page.locator("main").inner_text()
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("search around me (360 px)", violations)
    # A visitor's link to follow this search: log in, then back to the very same search.
    link = page.get_by_role(
        "link", name=tr("Log in to receive the new offers of this search by e-mail")
    )
    href = link.get_attribute("href") or ""
    back = dict(parse_qsl(urlsplit(href).query))["next"]  # the search's own URL, and #alert
    assert ("near", "43.61,3.88") in _params(back) and back.endswith("#alert")
