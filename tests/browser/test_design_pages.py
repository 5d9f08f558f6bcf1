"""The browser sweep of issue 13 ("How it is checked"): the pages the issue touched, in French
and English, at 1280 and 360 px, in light and dark mode (prefers-color-scheme emulated), with
axe finding nothing serious or critical, no sideways scroll of the page and no script error.

One browser; one context per person and sweep (the log-in reused from a first log-in, so argon2
runs once per person). Every page at both widths in French and light mode, and in dark mode at
360 px (the same page reloaded in the other scheme, with motion reduced so that no colour is
caught mid-transition, and axe runs its colour rules again);
English in dark mode on a subset, every rule. axe is injected, so the contexts bypass the CSP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fair import branding, clock, cv_pool, images
from fair.enums import PoolLevel, Role
from fair.models import CvText
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in
from tests.browser.pictures import banner_jpeg, logo_png

PEOPLE = ("candidate", "recruiter", "organiser")
COLOUR_RULES = ["color-contrast", "link-in-text-block"]  # axe's rules that read colours
ALL = frozenset(
    {
        *("landing", "hall", "booth", "offer", "accessibility", "privacy", "my_data"),
        *("room", "my_fair", "desk", "dashboard", "branding", "my_pool", "pool", "pool_profile"),
    }
)
# English shows the same markup with other words: the pages richest in text and live labels.
ENGLISH = frozenset({"landing", "hall", "booth", "my_fair", "desk"})
# The public pages of an edition in its organiser's colour (with logo, banner and partners).
BRANDED = frozenset({"branded_landing", "branded_hall", "branded_booth", "branded_offer"})
# A colour that reads only with black text (3.7:1 with white, 5.7:1 with black): the hardest
# kind for a design that puts white on its primary colour.
BRAND_COLOUR = "#e4572e"


@dataclass(frozen=True)
class Sweep:
    lang: str
    width: int
    schemes: tuple[str, ...]  # prefers-color-scheme, in order, on each page loaded
    pages: frozenset[str]
    name: str

    def __str__(self) -> str:
        return f"{self.name}-{self.lang}-{self.width}-{'+'.join(self.schemes)}"


SWEEPS = [
    Sweep("fr", 1280, ("light",), ALL, "all"),
    Sweep("fr", 360, ("light", "dark"), ALL, "all"),
    Sweep("en", 1280, ("dark",), ENGLISH, "some"),
    Sweep("fr", 360, ("light", "dark"), BRANDED, "branded"),
    Sweep("en", 1280, ("light",), BRANDED, "branded"),
]


@dataclass(frozen=True)
class Site:
    paths: dict[str, tuple[str | None, str]]  # page -> (who opens it, path)
    emails: dict[str, str]  # person -> e-mail


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> Site:
    """An edition open now with two booths, offers, an interview in two minutes (its room
    open), the candidate's application, and its organiser; and another edition of theirs in
    BRAND_COLOUR with a logo, a banner photo and two partners, one booth and its offer."""

    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER)
        edition = await f.edition(session, by=organiser, title="Forum de l'emploi du bassin")
        booth, recruiter = await f.booth(session, edition_=edition)
        offer = await f.offer(session, booth_=booth)
        await f.offer(session, booth_=booth, title="Aide-soignant (H/F)", rome_code="J1501")
        await f.booth(session, edition_=edition)
        candidate = await f.candidate(session, name="Awa Diallo")
        interview = await f.interview(
            session,
            booth_=booth,
            recruiter=recruiter,
            candidate_=candidate,
            starts_at=clock.now() + timedelta(minutes=2),
        )
        await cv_pool.give(
            session, candidate, level=PoolLevel.EDITION, months=6, edition_id=edition.id
        )
        ref = await session.scalar(select(CvText.ref).where(CvText.user_id == candidate.id))
        slug = edition.slug
        paths: dict[str, tuple[str | None, str]] = {
            "landing": (None, f"/e/{slug}"),
            "hall": (None, f"/e/{slug}/booths"),
            "booth": (None, f"/e/{slug}/booths/{booth.id}"),
            "offer": (None, f"/offers/{offer.id}"),
            "accessibility": (None, "/accessibility"),
            "privacy": (None, "/privacy"),
            "my_data": ("candidate", "/account/data"),
            "my_fair": ("candidate", f"/e/{slug}/my-fair"),
            "room": ("candidate", f"/interviews/{interview.id}/room"),
            "desk": ("recruiter", f"/recruiter/booths/{booth.id}/desk"),
            "dashboard": ("organiser", f"/organiser/editions/{edition.id}"),
            "my_pool": ("candidate", "/me/pool"),
            "pool": ("recruiter", "/pool?contract=cdi"),
            "pool_profile": ("recruiter", f"/pool/profiles/{ref}"),
            **await _branded(session, organiser),
        }
        emails = {
            "candidate": candidate.email,
            "recruiter": recruiter.email,
            "organiser": organiser.email,
        }
        return Site(paths=paths, emails=emails)

    return live_server.seed(make)


async def _branded(session, organiser):  # type: ignore[no-untyped-def]
    """The branded edition's pages, and the organiser's branding page of it."""
    edition = await f.edition(session, by=organiser, title="Salon de l'emploi en couleurs")
    logo = await images.prepare(logo_png(), images.LOGO, field="logo")
    banner = await images.prepare(banner_jpeg(), images.BANNER, field="banner")
    brand = branding.BrandInput(colour=BRAND_COLOUR, logo=logo, banner=banner)
    await branding.update(session, edition, by=organiser, data=brand)
    for name in ("France Travail", "Région"):
        await branding.add_partner(
            session, edition, by=organiser, name=name, link="https://example.fr", logo=logo
        )
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    slug = edition.slug
    return {
        "branded_landing": (None, f"/e/{slug}"),
        "branded_hall": (None, f"/e/{slug}/booths"),
        "branded_booth": (None, f"/e/{slug}/booths/{booth.id}"),
        "branded_offer": (None, f"/offers/{offer.id}"),
        "branding": ("organiser", f"/organiser/editions/{edition.id}/branding"),
    }


@pytest.fixture(scope="module")
def logged_in(site: Site, browser: Any, live_server: LiveServer) -> dict[str, Any]:
    """Each person's storage state after one log-in through the form."""
    states = {}
    for who in PEOPLE:
        context = browser.new_context(base_url=live_server.url)
        log_in(context.new_page(), site.emails[who], f.PASSWORD)
        states[who] = context.storage_state()
        context.close()
    return states


OVERFLOW_JS = """() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width + 1)
        .slice(0, 5).map(e => e.outerHTML.slice(0, 160));
}"""


def check_page(page: Any, path: str, sweep: Sweep, axe_source: str) -> list[str]:
    """What is wrong with `path` in `page`, in each colour scheme of the sweep: its status,
    language, the edition's colours linked (branded pages), axe's serious and critical
    violations, a sideways scroll."""
    page.emulate_media(color_scheme=sweep.schemes[0])
    response = page.goto(path)
    if response is None or response.status != 200:
        return [f"{path} ({sweep}): answered {response and response.status}"]
    page.wait_for_load_state("networkidle")
    problems = []
    if page.locator("html").get_attribute("lang") != sweep.lang:
        problems.append(f"{path} ({sweep}): html lang is not {sweep.lang}")
    if sweep.pages == BRANDED and page.locator("link[href*='/brand.css']").count() != 1:
        problems.append(f"{path} ({sweep}): the edition's stylesheet is not linked")
    for n, scheme in enumerate(sweep.schemes):
        where = f"{path} ({sweep.lang}, {sweep.width} px, {scheme})"
        if n:
            # Loaded afresh in the scheme: switched under a loaded page, axe once read a text
            # in the light scheme's colour on the dark scheme's background.
            page.emulate_media(color_scheme=scheme)
            page.reload(wait_until="networkidle")
        # The same page in another scheme differs by its colours only: their rules suffice.
        violations = axe_violations(page, axe_source, COLOUR_RULES if n else None)
        if violations:
            problems.append(describe_violations(where, violations))
    wider = page.evaluate(OVERFLOW_JS)
    if wider:
        problems.append(
            f"{path} ({sweep}): the page scrolls sideways; wider than the viewport:\n    "
            + "\n    ".join(wider)
        )
    return problems


@pytest.mark.parametrize("sweep", SWEEPS, ids=str)
def test_pages_of_issue_13(
    sweep: Sweep, site: Site, logged_in: dict[str, Any], new_context: Any, axe_source: str
) -> None:
    problems: list[str] = []
    errors: list[str] = []
    for who in (None, *PEOPLE):
        paths = [
            path
            for name, (opener, path) in site.paths.items()
            if opener == who and name in sweep.pages
        ]
        if not paths:
            continue
        context = new_context(
            lang=sweep.lang,
            viewport={"width": sweep.width, "height": 800},
            reduced_motion="reduce",
            bypass_csp=True,
            storage_state=logged_in[who] if who else None,
        )
        page = context.new_page()
        page.on("pageerror", lambda error, page=page: errors.append(f"{page.url}: {error}"))
        for path in paths:
            problems += check_page(page, path, sweep, axe_source)
        context.close()
    assert not errors, f"script errors ({sweep}): {errors}"
    assert not problems, "\n".join(problems)
