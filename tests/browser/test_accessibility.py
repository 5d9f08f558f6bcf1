"""axe-core on the main pages, in French and in English, and the skip link from the keyboard.

axe is injected into the page, which the strict Content-Security-Policy forbids: the contexts
that run it bypass the CSP (the keyboard check does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fair import candidates, clock, cv_pool, job_search, webconferences
from fair.enums import PoolLevel, WebconferenceAccess
from fair.models import CvText
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    log_in,
    tr,
)

LANGS = ["fr", "en"]


@dataclass(frozen=True)
class Site:
    slug: str
    booth_id: int
    offer_id: int
    other_offer_id: int
    application_id: int
    candidate_email: str
    recruiter_email: str
    webconference_id: int
    pool_ref: str


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> Site:
    """A published edition with an approved booth, two offers, one application and a booth's
    webconference tomorrow."""

    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title="Forum accessibilité")
        booth, recruiter = await f.booth(session, edition_=edition)
        tomorrow = (clock.now().astimezone(f.PARIS) + timedelta(days=1)).date()
        webconference = await webconferences.schedule(
            session,
            by=recruiter,
            edition=edition,
            booth=booth,
            data=webconferences.WebconferenceInput(
                title="Nos métiers",
                description="Présentation de l'entreprise.",
                starts_at=f.day_at(tomorrow, 10),
                ends_at=f.day_at(tomorrow, 11),
                capacity=50,
                access=WebconferenceAccess.REGISTERED,
                presenter_ids=[recruiter.id],
            ),
        )
        offer = await f.offer(session, booth_=booth)
        other = await f.offer(
            session,
            booth_=booth,
            title="Aide-soignant (H/F)",
            rome_code="J1501",
            description="Soins d'hygiène et de confort auprès des patients.",
            skills=["Soins d'hygiène"],
        )
        candidate = await f.candidate(session, name="Camille Candidate")
        await candidates.update(
            session, candidate, data=candidates.ProfileInput("Camille Candidate", "", "Lattes", "")
        )
        wanted = job_search.Wanted(targets=(job_search.Target("J1501", "Aide-soignant"),))
        await job_search.update(session, candidate, wanted=wanted)
        application = await f.application(session, offer_=offer, candidate_=candidate)
        await cv_pool.give(
            session, candidate, level=PoolLevel.EDITION, months=6, edition_id=edition.id
        )
        pool_ref = await session.scalar(select(CvText.ref).where(CvText.user_id == candidate.id))
        return Site(
            slug=edition.slug,
            booth_id=booth.id,
            offer_id=offer.id,
            other_offer_id=other.id,
            application_id=application.id,
            candidate_email=candidate.email,
            recruiter_email=recruiter.email,
            webconference_id=webconference.id,
            pool_ref=str(pool_ref),
        )

    return live_server.seed(make)


def _pages(site: Site, who: str, lang: str) -> list[tuple[str, str]]:
    """(path, a text the page must show) for each page that `who` checks."""
    if who == "anonymous":
        return [
            ("/", tr("Online job fairs", lang)),
            (f"/e/{site.slug}/booths/{site.booth_id}", "Entreprise"),
            (f"/offers/{site.offer_id}", tr("Log in to apply", lang)),
            (f"/e/{site.slug}/offers?q=%C3%A9lectricien", "Électricien du bâtiment (H/F)"),
            (f"/e/{site.slug}/programme", tr("Coming up", lang)),
            (f"/webconferences/{site.webconference_id}", tr("Log in to register", lang)),
            ("/widget", tr("Put the fair on your site", lang)),
            ("/privacy", tr("Who sees what", lang)),
        ]
    if who == "candidate":
        return [
            ("/me/applications", tr("Withdraw my application", lang)),
            ("/me/profile", tr("Answer the optional questions", lang)),
            ("/me/profile/support", tr("Save my answers", lang)),
            (f"/offers/{site.other_offer_id}", tr("Send my application", lang)),
            (f"/e/{site.slug}/booths/{site.booth_id}", tr("Join the queue", lang)),
            (f"/e/{site.slug}/programme", tr("Register me", lang)),
            ("/account/data", tr("Download my data", lang)),
            ("/account/delete", tr("Delete my account for good", lang)),
            ("/me/pool", tr("Leave the CV pool now", lang)),
            ("/me/offers-for-you", "Aide-soignant (H/F)"),
        ]
    return [
        (f"/recruiter/booths/{site.booth_id}/applications", "Camille Candidate"),
        (f"/recruiter/applications/{site.application_id}", tr("Save the status", lang)),
        (f"/recruiter/booths/{site.booth_id}/desk", tr("Call the next candidate", lang)),
        (f"/recruiter/booths/{site.booth_id}/webconferences", tr("Schedule a webconference", lang)),
        ("/pool", tr("Profile %(ref)s", lang, ref=site.pool_ref)),
        (f"/pool/profiles/{site.pool_ref}", tr("Ask for contact", lang)),
        (f"/recruiter/offers/{site.offer_id}/candidates", "Camille Candidate"),
    ]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("who", ["anonymous", "candidate", "recruiter"])
def test_no_serious_violation(
    who: str, lang: str, site: Site, new_context: Any, axe_source: str
) -> None:
    page = new_context(bypass_csp=True, lang=lang).new_page()
    if who == "candidate":
        log_in(page, site.candidate_email, f.PASSWORD, lang)
    elif who == "recruiter":
        log_in(page, site.recruiter_email, f.PASSWORD, lang)
    found: list[str] = []
    for path, expected in _pages(site, who, lang):
        response = page.goto(path)
        assert response is not None and response.status == 200, (
            f"{path}: {response and response.status}"
        )
        assert page.locator("html").get_attribute("lang") == lang, path
        assert expected in page.locator("main").inner_text(), f"{path} does not show {expected!r}"
        violations = axe_violations(page, axe_source)
        if violations:
            found.append(describe_violations(f"{path} ({lang}, {who})", violations))
    assert not found, "axe found serious or critical violations:\n" + "\n".join(found)


def test_skip_link_is_the_first_tab_stop_and_focuses_main(site: Site, new_context: Any) -> None:
    page = new_context().new_page()
    page.goto(f"/offers/{site.offer_id}")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => { const e = document.activeElement;
                   return {tag: e.tagName, href: e.getAttribute('href'),
                           text: e.textContent.trim()}; }"""
    )
    assert focused == {"tag": "A", "href": "#main", "text": tr("Skip to content")}
    box = page.locator("a[href='#main']").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, (
        f"the focused skip link is off screen: {box}"
    )
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'main'")
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
    # The next Tab continues inside the main content, not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")
