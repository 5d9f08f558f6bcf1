"""The booth page (its call to action, the recruiters on duty) and the candidate's "My fair" in
Chromium: axe finds nothing serious at 1280 and 360 px, nothing scrolls sideways, and "My fair"
follows the candidate's channel (a recruiter's decision shows up without reloading)."""

from __future__ import annotations

from typing import Any

from fair import presence, recruiter_profiles
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

OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
WIDTHS = ({"width": 1280, "height": 900}, {"width": 360, "height": 740})


def _seed(live_server: LiveServer) -> dict[str, Any]:
    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, by=await f.user(session, Role.ORGANISER))
        recruiter = await f.user(session, Role.RECRUITER, name="Zoé Martin")
        booth, _ = await f.booth(session, edition_=edition, recruiter=recruiter)
        offer = await f.offer(session, booth_=booth, title="Électricien du bâtiment (H/F)")
        colleague = await f.colleague(session, booth_=booth, owner=recruiter)
        await recruiter_profiles.update(
            session,
            recruiter,
            job_title="Chargée de recrutement",
            photo=recruiter_profiles.Photo("moi.png", f.png_bytes(), agreed=True),
        )
        await presence.staff(session, recruiter=recruiter, booth=booth, connection_id="seed-a")
        await presence.staff(session, recruiter=colleague, booth=booth, connection_id="seed-b")
        candidate = await f.candidate(session, name="Nina Durand")
        application = await f.application(session, offer_=offer, candidate_=candidate)
        return {
            "booth": f"/e/{edition.slug}/booths/{booth.id}",
            "my_fair": f"/e/{edition.slug}/my-fair",
            "candidate": candidate.email,
            "recruiter": recruiter.email,
            "application_id": application.id,
        }

    return live_server.seed(make)


def _clean(page: Any, source: str, where: str) -> None:
    violations = axe_violations(page, source)
    assert violations == [], describe_violations(where, violations)
    assert page.evaluate(OVERFLOW_JS) <= 0, where


def test_booth_page_and_my_fair_at_both_widths(  # type: ignore[no-untyped-def]
    live_server: LiveServer, new_context, axe_source
) -> None:
    seeded = _seed(live_server)
    page = new_context(bypass_csp=True, lang="fr").new_page()
    log_in(page, seeded["candidate"], f.PASSWORD)  # once: logging in costs a password hash
    for viewport in WIDTHS:
        page.set_viewport_size(viewport)
        page.goto(seeded["booth"])
        cta = page.locator("#next-step")
        assert cta.get_by_role("heading", name=tr("What happens next")).is_visible()
        assert page.locator("#on-duty li").count() == 2
        photo = page.locator("#on-duty img.avatar")
        # The resized WebP; loading="lazy": it may still be on its way after the load event.
        photo.scroll_into_view_if_needed()
        photo.evaluate("i => i.decode()")  # rejects if it cannot be fetched or decoded
        assert photo.evaluate("i => i.complete && i.naturalWidth") > 0
        _clean(page, axe_source, f"booth page at {viewport['width']} px")
        page.goto(seeded["my_fair"])
        assert page.get_by_role("heading", name=tr("My fair"), level=1).is_visible()
        _clean(page, axe_source, f"my fair at {viewport['width']} px")


def test_my_fair_follows_the_candidates_channel(live_server: LiveServer, new_context) -> None:  # type: ignore[no-untyped-def]
    seeded = _seed(live_server)
    candidate = new_context(lang="fr").new_page()
    errors: list[str] = []
    candidate.on("pageerror", lambda error: errors.append(str(error)))
    log_in(candidate, seeded["candidate"], f.PASSWORD)
    candidate.goto(seeded["my_fair"])
    candidate.wait_for_selector("body[data-live=on]")
    moved = candidate.locator(f'[data-application-id="{seeded["application_id"]}"]')
    assert moved.count() == 0

    recruiter = new_context(lang="fr").new_page()
    log_in(recruiter, seeded["recruiter"], f.PASSWORD)
    recruiter.goto(f"/recruiter/applications/{seeded['application_id']}")
    recruiter.get_by_label(tr("New status")).select_option("in_review")
    follow(recruiter, recruiter.get_by_role("button", name=tr("Save the status")))

    moved.wait_for()  # the page read again on application.status, without a reload
    assert moved.locator("[data-status]").get_attribute("data-status") == "in_review"
    assert "Électricien du bâtiment (H/F)" in moved.inner_text()
    assert errors == []
