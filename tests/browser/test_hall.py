"""The booth hall in Chromium: at 360x640 in French, the filters folded so that the booths start
on the first screen, then opened and used from the keyboard alone (their values in the URL, their
count on the fold), a lazy logo, a card turning "staffed" live when a recruiter opens
their desk, no sideways scroll and nothing serious for axe; at 1280 px in English and dark
mode, a second page keeps its filters. axe is injected: the contexts bypass the CSP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from fair import files
from fair.enums import FileKind
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in
from tests.hall_setup import hall_booth as _booth

OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
FIRST_CARD_JS = "() => document.querySelector('.hall-card').getBoundingClientRect().top"
NAMES_JS = "() => [...document.querySelectorAll('.hall-card h3')].map(e => e.textContent.trim())"


@dataclass(frozen=True)
class Site:
    slug: str
    staffed_booth: int
    recruiter_email: str


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> Site:
    """A live edition of 26 booths: one whose recruiter can log in, a bakery with a logo, and
    24 more in the same sector as the first."""

    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title="Forum du hall")
        booth, recruiter = await f.booth(session, edition_=edition)
        bakery = await _booth(session, edition, "Boulangerie Beta", "10.71C", "Lattes")
        logo = await files.store(
            session,
            owner_id=recruiter.id,
            kind=FileKind.LOGO,
            filename="logo.png",
            data=f.png_bytes(),
            content_type="image/png",
        )
        bakery.employer.logo_file_id = logo.id
        for n in range(24):
            await _booth(session, edition, f"Zulu {n:02d}", "43.22A", "Montpellier")
        return Site(edition.slug, booth.id, recruiter.email)

    return live_server.seed(make)


def query_of(page: Any) -> list[tuple[str, str]]:
    """The page's query string, blank values left out."""
    return parse_qsl(urlsplit(page.url).query)


def test_hall_at_360_from_the_keyboard_and_live(
    site: Site, new_context: Any, axe_source: str
) -> None:
    visitor = new_context(bypass_csp=True, lang="fr", viewport={"width": 360, "height": 640})
    page = visitor.new_page()
    page.goto(f"/e/{site.slug}/booths")
    page.wait_for_selector("body[data-live=on]")  # following the edition's channel
    assert len(page.evaluate(NAMES_JS)) == 24
    # The filters folded under their summary: the first booth's card starts on the first screen.
    summary = page.locator(".filters-fold > summary")
    assert summary.inner_text() == "Filtres"
    assert page.get_by_label("Nom de l'employeur").is_visible() is False
    assert page.evaluate(FIRST_CARD_JS) < 640 - 100
    assert "Page 1 sur 2" in page.locator("main").inner_text()
    assert page.evaluate(OVERFLOW_JS) <= 0
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("hall, 360 px, fr", violations)

    # A recruiter opens their desk: the booth's card says so, without reloading.
    card = f'[data-booth-id="{site.staffed_booth}"] [data-staffing]'
    assert page.locator(card).get_attribute("data-staffing") == "unstaffed"
    recruiter = new_context().new_page()
    log_in(recruiter, site.recruiter_email, f.PASSWORD)
    recruiter.goto(f"/recruiter/booths/{site.staffed_booth}/desk")
    page.wait_for_selector(f'{card}[data-staffing="staffed"]')
    assert page.locator(card).inner_text() == "Recruteur présent"
    recruiter.close()

    # The keyboard alone: the filters opened, a name, Enter; then a contract type under "More
    # filters". The summary counts the filters in use.
    summary.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "f-q"
    assert page.get_by_label("Nom de l'employeur").is_visible()
    page.keyboard.type("boul")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.evaluate(NAMES_JS) == ["Boulangerie Beta"]
    assert summary.inner_text() == "Filtres (1)"
    summary.focus()
    page.keyboard.press("Enter")
    logo = page.locator(".hall-card img.hall-logo")
    assert logo.get_attribute("loading") == "lazy"
    page.wait_for_function("() => document.querySelector('.hall-card img').naturalWidth > 0")
    page.get_by_label("Nom de l'employeur").focus()
    for _ in range(4):  # sector, commune, distance, then "More filters"
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "c-cdi"
    page.keyboard.press("Space")
    for _ in range(12):  # to the submit button
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.type") == "submit":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert query_of(page) == [("q", "boul"), ("radius_km", "0"), ("contract", "cdi")]
    assert summary.inner_text() == "Filtres (2)"
    assert page.evaluate(NAMES_JS) == []
    assert "Aucun stand ne correspond à ces filtres." in page.locator("main").inner_text()


def test_hall_second_page_at_1280_in_english_dark(
    site: Site, new_context: Any, axe_source: str
) -> None:
    context = new_context(bypass_csp=True, lang="en", color_scheme="dark")
    page = context.new_page()
    page.goto(f"/e/{site.slug}/booths?sector=43")
    assert "25 booths" in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="Next page").click()
    assert query_of(page) == [("sector", "43"), ("page", "2")]
    assert page.evaluate(NAMES_JS) == ["Zulu 23"]
    assert page.get_by_label("Sector").input_value() == "43"
    # Wide, the filters are shown without their summary, closed as the disclosure may be.
    assert page.get_by_label("Sector").is_visible()
    assert page.locator(".filters-fold > summary").is_visible() is False
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("hall, 1280 px, en, dark", violations)
