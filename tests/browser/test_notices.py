"""The header's "Notices" link in Chromium: its unread count, shown and spoken, follows the
user's socket (a recruiter's decision adds one, reading them in another tab clears it)."""

from __future__ import annotations

from typing import Any

from fair import notices
from fair.enums import NoticeKind, Role
from tests import factories as f
from tests.browser.conftest import LiveServer, follow, log_in, tr


def _seed(live_server: LiveServer) -> dict[str, Any]:
    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, by=await f.user(session, Role.ORGANISER))
        booth, recruiter = await f.booth(session, edition_=edition)
        offer = await f.offer(session, booth_=booth)
        candidate = await f.candidate(session, name="Nina Badge")
        application = await f.application(session, offer_=offer, candidate_=candidate)
        for _n in range(2):
            await notices.add(
                session, user_id=candidate.id, kind=NoticeKind.QUEUE_SKIPPED, params={}
            )
        return {
            "candidate": candidate.email,
            "recruiter": recruiter.email,
            "application_id": application.id,
        }

    return live_server.seed(make)


def test_the_unread_count_follows_live(live_server: LiveServer, new_context) -> None:  # type: ignore[no-untyped-def]
    seeded = _seed(live_server)
    candidate = new_context(lang="fr").new_page()
    errors: list[str] = []
    candidate.on("pageerror", lambda error: errors.append(str(error)))
    log_in(candidate, seeded["candidate"], f.PASSWORD)
    candidate.goto("/me/applications")
    candidate.wait_for_selector("body[data-live=on]")
    nav = candidate.get_by_role("navigation", name=tr("Main menu"))
    link = nav.get_by_role("link", name=f"{tr('Notices')} (2 non lues)", exact=True)
    assert link.is_visible()
    assert link.locator(".badge").inner_text() == "2"

    recruiter = new_context(lang="fr").new_page()
    log_in(recruiter, seeded["recruiter"], f.PASSWORD)
    recruiter.goto(f"/recruiter/applications/{seeded['application_id']}")
    recruiter.get_by_label(tr("New status")).select_option("in_review")
    follow(recruiter, recruiter.get_by_role("button", name=tr("Save the status")))

    three = nav.get_by_role("link", name=f"{tr('Notices')} (3 non lues)", exact=True)
    three.wait_for()
    assert three.locator(".badge").inner_text() == "3"

    reader = candidate.context.new_page()
    reader.goto("/me/notices")
    follow(reader, reader.get_by_role("button", name=tr("Mark all as read")))

    nav.get_by_role("link", name=tr("Notices"), exact=True).wait_for()
    anchor = nav.locator("a[data-notices]")
    assert anchor.locator("[data-unread]").get_attribute("data-unread") == "0"
    assert not anchor.locator(".badge").is_visible()
    assert errors == []
