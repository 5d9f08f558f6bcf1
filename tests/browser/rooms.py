"""The interview room as the browser tests drive it (tests/browser/test_room.py,
test_room_relay.py, test_interview_journey.py): PCS_SCRIPT records the page's
RTCPeerConnections, so the stats read (`frames_decoded`, `assert_video_flows`) are those of the
real call; `seed_interview` books an interview starting in two minutes, `room_page` opens its
room logged in, `check_devices` checks the fake camera and microphone and enters.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fair import clock
from tests import factories as f
from tests.browser.conftest import LiveServer, log_in, tr

# Runs before the page's scripts on every load: keep a list of the page's peer connections.
PCS_SCRIPT = """
(() => {
  const Native = window.RTCPeerConnection;
  const made = [];
  function Recorded(...args) { const pc = new Native(...args); made.push(pc); return pc; }
  Recorded.prototype = Native.prototype;
  window.RTCPeerConnection = Recorded;
  Object.defineProperty(window, "__roomPeerConnections", { value: made });
})();
"""
FRAMES_DECODED = """async () => {
  let total = 0;
  for (const pc of window.__roomPeerConnections) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") total += s.framesDecoded || 0;
    });
  }
  return total;
}"""


def frames_decoded(page: Any) -> int:
    return int(page.evaluate(FRAMES_DECODED))


def assert_video_flows(page: Any, timeout: float = 15.0) -> None:
    """framesDecoded of the page's open connections is above zero, then goes up."""
    deadline = time.monotonic() + timeout
    first = frames_decoded(page)
    while first == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        first = frames_decoded(page)
    assert first > 0, "no video frame decoded"
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if frames_decoded(page) > first:
            return
    raise AssertionError(f"framesDecoded stayed at {first}")


def seed_interview(live_server: LiveServer, **kw: Any) -> dict[str, Any]:
    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session)
        booth, recruiter = await f.booth(session, edition_=edition)
        candidate = await f.candidate(session, name="Awa Diallo")
        interview = await f.interview(
            session,
            booth_=booth,
            recruiter=recruiter,
            candidate_=candidate,
            **{"starts_at": clock.now() + timedelta(minutes=2), **kw},
        )
        return {
            "interview_id": interview.id,
            "recruiter": recruiter.email,
            "candidate": candidate.email,
        }

    return live_server.seed(make)


def room_page(new_context: Any, email: str, path: str, **options: Any) -> Any:
    context = new_context(**options)
    context.add_init_script(PCS_SCRIPT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    log_in(page, email, f.PASSWORD)
    page.goto(path)
    page.wait_for_selector("#room[data-joined=yes]")
    return page


def check_devices(page: Any, enter: str) -> None:
    page.get_by_role("button", name=tr("Check my camera and microphone"), exact=True).click()
    page.get_by_role("status").filter(has_text=tr("Your camera and microphone work.")).wait_for()
    page.get_by_role("button", name=tr(enter), exact=True).click()


# The video directions each open peer connection decodes and encodes (relay tests).
DIRECTIONS = """async () => {
  const found = [];
  for (const pc of window.__roomPeerConnections) {
    if (pc.connectionState === "closed") continue;
    let inbound = false, outbound = false;
    (await pc.getStats()).forEach((s) => {
      if (s.kind !== "video") return;
      if (s.type === "inbound-rtp" && s.framesDecoded > 0) inbound = true;
      if (s.type === "outbound-rtp" && s.framesEncoded > 0) outbound = true;
    });
    found.push([inbound, outbound]);
  }
  return found.sort();
}"""
