"""Form errors in sight, and pages that stay usable on a 360 px phone (Chromium).

After a refused submit the error summary at the top of the form has the focus, each of its
links leads to a field that exists on the page, and each error is shown once inline. On a
phone the live fair is the first thing under the header of the home page, and tables scroll
inside their own region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from fair import clock
from fair.enums import Role
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    follow,
    log_in,
    tr,
)

PHONE = {"width": 360, "height": 740}


@dataclass(frozen=True)
class Site:
    edition_id: int
    booth_id: int
    requested_booth_id: int
    recruiter_email: str
    organiser_email: str


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> Site:
    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER)
        edition = await f.edition(session, by=organiser, title="Forum des formulaires")
        booth, recruiter = await f.booth(session, edition_=edition)
        await f.offer(session, booth_=booth)
        requested, _other = await f.booth(session, edition_=edition, approve=False)
        # To come: its applications open later than the live ones', which used to list it first.
        await f.edition(session, title="Forum à venir", now=clock.now() + timedelta(days=40))
        return Site(edition.id, booth.id, requested.id, recruiter.email, organiser.email)

    return live_server.seed(make)


def summary_state(page: Any) -> dict[str, Any]:
    """Where the focus is, and what the error summary and the inline errors say."""
    return page.evaluate(
        """() => {
            const summary = document.querySelector('[data-error-summary]');
            const links = [...summary.querySelectorAll('a')].map(a => {
                const target = document.getElementById(a.getAttribute('href').slice(1));
                return {text: a.textContent.trim(), target: target && target.tagName};
            });
            return {
                focused: document.activeElement === summary,
                heading: summary.querySelector('h2').textContent.trim(),
                links: links,
                inline: [...document.querySelectorAll('.field-error')]
                    .map(e => e.textContent.trim()),
            };
        }"""
    )


def test_refused_offer_focuses_the_summary_whose_links_lead_to_the_fields(
    site: Site, new_context: Any
) -> None:
    page = new_context().new_page()
    log_in(page, site.recruiter_email, f.PASSWORD)
    page.goto(f"/recruiter/booths/{site.booth_id}/offers/new")
    page.get_by_label(tr("Job title"), exact=False).first.fill("Cariste")
    follow(page, page.get_by_role("button", name=tr("Publish the offer")))

    page.wait_for_function("() => document.activeElement.matches('[data-error-summary]')")
    state = summary_state(page)
    expected = [
        tr("Describe the job (20,000 characters at most)."),
        tr("Choose a job from the ROME list, such as F1603."),
        tr("Choose a contract type."),
        tr("Unknown commune: choose one from the list."),
    ]
    assert (state["focused"], state["heading"]) == (True, tr("There is a problem"))
    assert sorted(link["text"] for link in state["links"]) == sorted(expected)
    assert all(link["target"] in ("INPUT", "SELECT", "TEXTAREA") for link in state["links"])
    assert sorted(state["inline"]) == sorted(expected)  # each error once beside its field

    # A link of the summary moves the focus to its field.
    page.get_by_role("link", name=tr("Choose a contract type.")).click()
    assert page.evaluate("() => document.activeElement.id") == "f-contract"

    # A save that works says so: the message comes with the page, and static/toasts.js moves
    # it into the status region (empty at load) after loading, so screen readers announce it.
    page.goto("/recruiter/profile")
    follow(page, page.get_by_role("button", name=tr("Save my profile"), exact=True))
    saved = tr("Your profile is saved.")
    live = page.locator("[data-toasts-live]")
    live.locator("[data-toast]").wait_for()
    assert (live.get_attribute("role"), live.inner_text()) == ("status", saved)
    assert page.get_by_role("status").filter(has_text=saved).count() == 1
    assert page.locator("[data-toasts] > [data-toast]").count() == 0  # all moved in


def test_refused_booth_decline_focuses_the_summary(site: Site, new_context: Any) -> None:
    page = new_context(viewport=PHONE).new_page()
    log_in(page, site.organiser_email, f.PASSWORD)
    page.goto(f"/organiser/editions/{site.edition_id}/booths")
    reason = page.locator(f"#f-reason-{site.requested_booth_id}")
    reason.fill(" ")  # passes the browser's own check, not the server's
    decline = page.locator(f"#booth-{site.requested_booth_id}").get_by_role("button").nth(1)
    follow(page, decline)

    page.wait_for_function("() => document.activeElement.matches('[data-error-summary]')")
    state = summary_state(page)
    message = tr("Give the employer a reason for declining.")
    assert state["heading"] == tr("There is a problem")
    assert state["links"] == [{"text": message, "target": "TEXTAREA"}]
    assert state["inline"] == [message]
    page.get_by_role("link", name=message).click()
    assert page.evaluate("() => document.activeElement.id") == f"f-reason-{site.requested_booth_id}"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_organiser_and_recruiter_tables_at_360_px(
    site: Site, new_context: Any, axe_source: str, lang: str
) -> None:
    """Tables stay usable on a phone: no sideways page scroll, and axe has nothing serious
    (its scrollable-region-focusable rule was serious on the booth list)."""
    found: list[str] = []
    for email, paths in (
        (
            site.organiser_email,
            [
                f"/organiser/editions/{site.edition_id}/booths",
                f"/organiser/editions/{site.edition_id}/responses",
            ],
        ),
        (
            site.recruiter_email,
            [
                f"/recruiter/booths/{site.booth_id}",
                f"/recruiter/booths/{site.booth_id}/applications",
            ],
        ),
    ):
        page = new_context(viewport=PHONE, bypass_csp=True, lang=lang).new_page()
        log_in(page, email, f.PASSWORD, lang)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways: {width}px"
            violations = axe_violations(page, axe_source)
            if violations:
                found.append(describe_violations(f"{path} ({lang}, 360 px)", violations))
    assert not found, "\n".join(found)


def test_live_fair_is_first_under_the_header_on_a_phone(site: Site, new_context: Any) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto("/")
    first = page.locator("main .cards > li").first
    assert first.get_attribute("class") == "card live"
    assert tr("Live") in first.inner_text()
    # Only the page's title stands between the header and the live fair.
    before = page.evaluate(
        """() => { const card = document.querySelector('main .cards > li');
                   return [...document.querySelector('main').querySelectorAll('*')]
                       .filter(e => e.compareDocumentPosition(card)
                                    & Node.DOCUMENT_POSITION_FOLLOWING)
                       .filter(e => !e.contains(card)).map(e => e.tagName); }"""
    )
    assert before == ["H1"]
    header = page.locator("header.site").bounding_box()
    box = first.bounding_box()
    assert header is not None and box is not None
    assert box["y"] - (header["y"] + header["height"]) < 120, (header, box)
    assert box["y"] + 120 < PHONE["height"]  # its title and status show without scrolling
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
