"""The interview room in Chromium with fake camera and microphone: a recruiter and a candidate
in two browser contexts check their devices, the candidate waits, the recruiter lets them in,
video flows both ways (RTCPeerConnection.getStats: framesDecoded goes up on each side), the
candidate reloads during the call and the video comes back, then the call moves to written
chat and ends.

The page's RTCPeerConnections are observed, not replaced: an init script records each one the
page creates (PCS_SCRIPT, tests/browser/rooms.py), so the stats read are those of the real call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fair import clock
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    log_in,
    tr,
)
from tests.browser.rooms import (
    assert_video_flows,
    check_devices,
    frames_decoded,
    room_page,
    seed_interview,
)


def test_video_call_admission_reload_and_chat(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    seeded = seed_interview(live_server)
    path = f"/interviews/{seeded['interview_id']}/room"
    # bypass_csp: only so that axe can be injected (the page's own scripts need no exception).
    candidate = room_page(new_context, seeded["candidate"], path, bypass_csp=True)
    recruiter = room_page(new_context, seeded["recruiter"], path)

    # Both check their devices; the candidate waits, the recruiter sees them waiting.
    check_devices(candidate, "Enter the waiting room")
    candidate.get_by_text(
        tr("You are in the waiting room: the recruiter will let you in.")
    ).first.wait_for()
    check_devices(recruiter, "Enter the room")
    waiting = tr("%(name)s is in the waiting room.", name="Awa Diallo")
    recruiter.locator("[data-peer]").filter(has_text=waiting).wait_for()
    assert frames_decoded(candidate) == frames_decoded(recruiter) == 0

    recruiter.get_by_role("button", name=tr("Let %(name)s in", name="Awa Diallo")).click()
    candidate.get_by_role("status").filter(has_text=tr("You are connected.")).wait_for()
    assert_video_flows(candidate)
    assert_video_flows(recruiter)
    violations = axe_violations(candidate, axe_source)
    assert violations == [], describe_violations("the room in a call", violations)

    # The controls are toggle buttons.
    mute = candidate.get_by_role("button", name=tr("Microphone off"), exact=True)
    mute.click()
    assert mute.get_attribute("aria-pressed") == "true"
    muted = candidate.evaluate(
        "() => document.querySelector('[data-local-video]').srcObject.getAudioTracks()"
        ".map(t => t.enabled)"
    )
    assert muted == [False]
    mute.click()
    assert mute.get_attribute("aria-pressed") == "false"

    # A reload of the candidate's page during the call brings the video back by itself.
    candidate.reload()
    candidate.wait_for_selector("#room[data-joined=yes]")
    candidate.get_by_role("status").filter(has_text=tr("You are connected.")).wait_for()
    assert_video_flows(candidate)
    assert_video_flows(recruiter)

    # Video fails? Move to written chat: both sides follow, the call stops.
    candidate.get_by_role("button", name=tr("Written chat"), exact=True).click()
    recruiter.get_by_role("status").filter(
        has_text=tr("The interview continues by written chat.")
    ).wait_for()
    assert recruiter.locator("#room").get_attribute("data-call") == "off"
    sneaky = "<img src=x onerror=alert(1)> Bonjour !"
    candidate.get_by_label(tr("Your message")).fill(sneaky)
    candidate.get_by_role("button", name=tr("Send"), exact=True).click()
    recruiter.get_by_role("log").get_by_text(sneaky, exact=True).wait_for()
    assert recruiter.locator("#chat-panel img").count() == 0

    # Back to video: the call resumes; then the candidate hangs up.
    recruiter.get_by_role("button", name=tr("Video"), exact=True).click()
    candidate.get_by_role("status").filter(has_text=tr("You are connected.")).wait_for()
    assert_video_flows(recruiter)
    candidate.get_by_role("button", name=tr("Hang up"), exact=True).click()
    candidate.get_by_role("button", name=tr("Join the call again"), exact=True).wait_for()
    recruiter.get_by_role("status").filter(
        has_text=tr("%(name)s hung up.", name="Awa Diallo")
    ).wait_for()

    for page in (candidate, recruiter):
        assert page.js_errors == [], page.js_errors


# The browser's own answer, as when a person refuses the prompt or has no camera: not our code.
REFUSE_SCRIPT = """
(() => {
  navigator.mediaDevices.getUserMedia = (wanted) => Promise.reject(
    new DOMException("refused", wanted.video ? "NotAllowedError" : "NotFoundError"));
})();
"""
NO_CAMERA_SCRIPT = """
(() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (wanted) => wanted.video
    ? Promise.reject(new DOMException("no camera", "NotFoundError")) : real(wanted);
})();
"""


def test_refused_devices_and_phone_mode(live_server: LiveServer, new_context: Any) -> None:
    seeded = seed_interview(live_server, starts_at=clock.now() - timedelta(minutes=1))
    path = f"/interviews/{seeded['interview_id']}/room"

    # Camera and microphone refused: say why, and offer ways forward.
    refused = new_context()
    refused.add_init_script(REFUSE_SCRIPT)
    candidate = refused.new_page()
    log_in(candidate, seeded["candidate"], f.PASSWORD)
    candidate.goto(path)
    candidate.wait_for_selector("#room[data-joined=yes]")
    candidate.get_by_role("button", name=tr("Check my camera and microphone"), exact=True).click()
    problem = candidate.locator("[data-device-problem]")
    problem.get_by_text(tr(DENIED)).wait_for()
    assert candidate.get_by_role("button", name=tr("Enter the waiting room")).is_hidden()
    for way in ("Try again", "Join without camera", "Phone", "Written chat"):
        assert candidate.get_by_role("button", name=tr(way), exact=True).is_visible(), way
    candidate.get_by_role("button", name=tr("Join without camera"), exact=True).click()
    candidate.get_by_role("button", name=tr("Enter the waiting room"), exact=True).click()
    candidate.get_by_text(
        tr("You are in the waiting room: the recruiter will let you in.")
    ).first.wait_for()

    # No camera at all: the microphone alone, said so.
    other = new_context()
    other.add_init_script(NO_CAMERA_SCRIPT)
    recruiter = other.new_page()
    log_in(recruiter, seeded["recruiter"], f.PASSWORD)
    recruiter.goto(path)
    recruiter.wait_for_selector("#room[data-joined=yes]")
    recruiter.get_by_role("button", name=tr("Check my camera and microphone"), exact=True).click()
    recruiter.get_by_role("status").filter(has_text=tr("You join without camera.")).wait_for()
    assert recruiter.locator("[data-device-problem]").is_hidden()

    # By phone: the candidate confirms a number, the recruiter sees it (the slot is on).
    candidate.get_by_role("button", name=tr("Phone"), exact=True).click()
    recruiter.get_by_role("status").filter(
        has_text=tr("The interview continues by phone.")
    ).wait_for()
    candidate.get_by_label(tr("Your phone number")).fill("06 12 34 56 78")
    candidate.get_by_role("button", name=tr("Confirm this number"), exact=True).click()
    candidate.get_by_role("status").filter(
        has_text=tr("Your number is saved: the recruiter will call you.")
    ).wait_for()
    link = recruiter.locator("[data-phone-number] a")
    link.wait_for()
    assert (link.inner_text(), link.get_attribute("href")) == ("06 12 34 56 78", "tel:0612345678")
    for page in (candidate, recruiter):
        assert page.locator("#video-panel").is_hidden()


DENIED = (
    "Your browser blocked the camera and microphone. Allow them (the camera icon in the address "
    "bar), then try again. You can also join without camera, or continue by phone or written chat."
)
