"""A booth conversation goes from written chat to video and back, in Chromium with fake camera and
microphone (issue 13 item 6): the recruiter at the desk calls the candidate from the queue, asks
for video; the candidate accepts; both check their devices and join; video frames are decoded on
both sides (RTCPeerConnection.getStats, recorded by tests/browser/rooms.py's PCS_SCRIPT), and again
after the candidate reloads the page; the candidate hangs up and both are back to written chat,
which stayed open all along. Then by phone: the recruiter asks, the candidate accepts, and the
candidate's number shows to the recruiter only, only while they talk by phone, until the
conversation ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from fair import candidates, settings
from fair.enums import Role
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    log_in,
    tr,
)
from tests.browser.rooms import DIRECTIONS, PCS_SCRIPT, assert_video_flows

PHONE = {"width": 360, "height": 740}
NUMBER = "06 12 34 56 78"  # the candidate's, in their profile


def _seed(live_server: LiveServer) -> dict[str, Any]:
    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER)
        edition = await f.edition(session, by=organiser)
        booth, recruiter = await f.booth(session, edition_=edition)
        candidate = await f.candidate(session, name="Awa Diallo")
        await candidates.set_phone(session, candidate, phone=NUMBER)
        colleague = await f.colleague(session, booth_=booth, owner=recruiter)
        return {
            "slug": edition.slug,
            "booth_id": booth.id,
            "recruiter": recruiter.email,
            "candidate": candidate.email,
            "colleague": colleague.email,
        }

    return live_server.seed(make)


def _page(new_context: Any, email: str, path: str, locale: str = "fr", **options: Any) -> Any:
    context = new_context(lang=locale, **options)
    context.add_init_script(PCS_SCRIPT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    log_in(page, email, f.PASSWORD, locale)
    page.goto(path)
    page.wait_for_selector("body[data-live=on]")
    return page


def _check_devices(page: Any, locale: str) -> None:
    page.get_by_role(
        "button", name=tr("Check my camera and microphone", locale), exact=True
    ).click()
    page.locator("#call").get_by_role("status").filter(
        has_text=tr("Your camera and microphone work.", locale)
    ).wait_for()
    page.get_by_role("button", name=tr("Join the video call", locale), exact=True).click()


def _mode(page: Any) -> str:
    return str(page.locator("[data-call-state]").get_attribute("data-mode"))


def test_from_the_queue_to_video_back_to_text_then_phone(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    seeded = _seed(live_server)
    booth_id = seeded["booth_id"]
    # The recruiter in English on a phone in dark mode, the candidate in French on a desktop.
    desk_path = f"/recruiter/booths/{booth_id}/desk"
    recruiter = _page(
        new_context,
        seeded["recruiter"],
        desk_path,
        "en",
        viewport=PHONE,
        color_scheme="dark",
        bypass_csp=True,
    )
    # bypass_csp: only so that axe can be injected (the page's own scripts need no exception).
    booth_path = f"/e/{seeded['slug']}/booths/{booth_id}"
    candidate = _page(new_context, seeded["candidate"], booth_path, bypass_csp=True)

    # Queue, call, answer: a written conversation.
    candidate.get_by_role("button", name=tr("Join the queue"), exact=True).click()
    recruiter.locator('[data-count="waiting"]').filter(has_text="1").wait_for()
    recruiter.locator(".queue-list").get_by_text("Awa Diallo").wait_for()  # who waits
    recruiter.get_by_role("button", name=tr("Call the next candidate", "en"), exact=True).click()
    candidate.get_by_role("button", name=tr("Answer"), exact=True).click()
    recruiter.locator("[data-call-state]").wait_for()
    assert _mode(recruiter) == "chat" and recruiter.locator("#call").is_hidden()

    # The recruiter asks for video; nothing starts until the candidate accepts.
    recruiter.get_by_role("button", name=tr("Ask for a video call", "en"), exact=True).click()
    employer = candidate.locator("[data-call-state]").get_attribute("data-other-name")
    asks = tr("%(name)s asks to talk %(way)s. Do you agree?", name=employer, way=tr("by video"))
    candidate.get_by_role("alert").filter(has_text=asks).wait_for()
    assert candidate.locator("#call").is_hidden()
    candidate.get_by_role("button", name=tr("Accept the video call"), exact=True).click()
    for page in (candidate, recruiter):
        page.locator('[data-call-state][data-mode="video"]').wait_for()
        page.locator("#call").wait_for(state="visible")

    # Both check their devices and join: video decoded on both sides.
    _check_devices(candidate, "fr")
    _check_devices(recruiter, "en")
    for page, locale in ((candidate, "fr"), (recruiter, "en")):
        page.locator("#call").get_by_role("status").filter(
            has_text=tr("You are connected.", locale)
        ).wait_for()
    assert_video_flows(candidate)
    assert_video_flows(recruiter)
    for page in (candidate, recruiter):
        violations = axe_violations(page, axe_source)
        assert violations == [], describe_violations("a booth conversation by video", violations)
    bar = recruiter.locator("[data-call-bar]").bounding_box()
    assert bar is not None and bar["y"] + bar["height"] <= PHONE["height"] + 1  # in sight
    width = recruiter.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the desk scrolls sideways on a phone: {width}px"
    # The written chat stays beside it.
    recruiter.get_by_label(tr("Your message", "en")).fill("Vous m'entendez bien ?")
    recruiter.get_by_role("button", name=tr("Send", "en"), exact=True).click()
    candidate.get_by_role("log").get_by_text("Vous m'entendez bien ?", exact=True).wait_for()

    # A reload of the candidate's page during the call brings the video back by itself.
    candidate.reload()
    candidate.wait_for_selector("body[data-live=on]")
    candidate.locator("#call").get_by_role("status").filter(
        has_text=tr("You are connected.")
    ).wait_for()
    assert_video_flows(candidate)
    assert_video_flows(recruiter)

    # The candidate hangs up: both are back to written chat, the call closed.
    candidate.locator("#call").get_by_role("button", name=tr("Hang up"), exact=True).click()
    for page in (candidate, recruiter):
        page.locator('[data-call-state][data-mode="chat"]').wait_for()
        page.locator("#call").wait_for(state="hidden")
    open_calls = """() => window.__roomPeerConnections
        .filter((pc) => pc.connectionState !== "closed").length"""
    candidate.wait_for_function(f"({open_calls})() === 0")
    recruiter.wait_for_function(f"({open_calls})() === 0")
    said = recruiter.locator("[data-mode-now]").inner_text()
    assert said == tr("You are talking in writing.", "en")
    assert NUMBER not in recruiter.content()  # in their profile, not shown in writing

    # By phone: the recruiter asks, the candidate accepts; the candidate's number shows to the
    # recruiter (not to a colleague at the same booth) until the conversation ends.
    recruiter.get_by_role("button", name=tr("Ask for a phone call", "en"), exact=True).click()
    asks = tr("%(name)s asks to talk %(way)s. Do you agree?", name=employer, way=tr("by phone"))
    candidate.get_by_role("alert").filter(has_text=asks).wait_for()
    assert NUMBER not in recruiter.content()  # asked, not accepted
    candidate.get_by_role("button", name=tr("Accept the phone call"), exact=True).click()
    for page in (candidate, recruiter):
        page.locator('[data-call-state][data-mode="phone"]').wait_for()
    shown = recruiter.locator("a[data-phone-number]")
    assert (shown.inner_text(), shown.get_attribute("href")) == (NUMBER, "tel:0612345678")
    assert candidate.get_by_label(tr("Your phone number")).input_value() == NUMBER
    assert candidate.locator("#call").is_hidden() and recruiter.locator("#call").is_hidden()
    # The candidate gives another number: the recruiter's page shows it at once.
    candidate.get_by_label(tr("Your phone number")).fill("07 98 76 54 32")
    candidate.get_by_role("button", name=tr("Confirm this number"), exact=True).click()
    recruiter.locator("a[data-phone-number]").filter(has_text="07 98 76 54 32").wait_for()
    colleague = _page(new_context, seeded["colleague"], desk_path, "en")
    assert "07 98 76 54 32" not in colleague.content() and NUMBER not in colleague.content()
    recruiter.get_by_role("button", name=tr("End the conversation", "en"), exact=True).click()
    recruiter.get_by_role("button", name=tr("Call the next candidate", "en"), exact=True).wait_for()
    assert recruiter.locator("[data-phone-number]").count() == 0
    recruiter.reload()
    recruiter.wait_for_selector("body[data-live=on]")
    assert "07 98 76 54 32" not in recruiter.content()
    for page in (candidate, recruiter, colleague):
        assert page.js_errors == [], page.js_errors


@pytest.fixture
def relay_forced(live_server: LiveServer) -> Iterator[None]:
    settings.override(replace(live_server.conf, interview_relay=True))
    yield
    settings.override(live_server.conf)


def test_the_call_goes_through_the_relay_when_told(
    live_server: LiveServer, new_context: Any, relay_forced: None
) -> None:
    """With FAIR_INTERVIEW_RELAY, the video goes through the server: each page's connections
    only send or only receive, and each decodes the other's picture. The candidate asks for
    video this time, and the recruiter accepts."""
    seeded = _seed(live_server)
    booth_id = seeded["booth_id"]
    recruiter = _page(new_context, seeded["recruiter"], f"/recruiter/booths/{booth_id}/desk")
    candidate = _page(new_context, seeded["candidate"], f"/e/{seeded['slug']}/booths/{booth_id}")
    candidate.get_by_role("button", name=tr("Join the queue"), exact=True).click()
    recruiter.locator('[data-count="waiting"]').filter(has_text="1").wait_for()
    recruiter.get_by_role("button", name=tr("Call the next candidate"), exact=True).click()
    candidate.get_by_role("button", name=tr("Answer"), exact=True).click()
    candidate.get_by_role("button", name=tr("Ask for a video call"), exact=True).click()
    recruiter.get_by_role("button", name=tr("Accept the video call"), exact=True).click()
    for page in (candidate, recruiter):
        page.locator("#call").wait_for(state="visible")
        _check_devices(page, "fr")
    for page in (candidate, recruiter):
        page.locator("#call[data-relay=yes]").wait_for()
        assert_video_flows(page)
        assert page.evaluate(DIRECTIONS) == [[False, True], [True, False]]
        assert page.js_errors == [], page.js_errors
