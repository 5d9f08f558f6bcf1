"""Interview calls through the server's media relay, in Chromium with fake devices: forced by
the setting (FAIR_INTERVIEW_RELAY), and as the fallback when the direct connection cannot be
made (here: each page drops the other's ICE candidates, so no direct path is ever found).

Both pages' remote video must decode frames, on connections that only receive (the relay's),
not on a direct one, which would send and receive; a reload resumes the call through the relay.
The set-up is tests/browser/test_room.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from fair import channels, settings
from fair.events import Event
from tests.browser.conftest import LiveServer, tr
from tests.browser.rooms import (
    DIRECTIONS,
    assert_video_flows,
    check_devices,
    room_page,
    seed_interview,
)

# For each open connection of the page: does it receive video, does it send video?
# The browser cannot reach the other browser: every trickled candidate is dropped.
NO_DIRECT_PATH = """
(() => {
  RTCPeerConnection.prototype.addIceCandidate = function () { return Promise.resolve(); };
})();
"""


@pytest.fixture
def relay_forced(live_server: LiveServer) -> Iterator[None]:
    settings.override(replace(live_server.conf, interview_relay=True))
    yield
    settings.override(live_server.conf)


def relayed_call(live_server: LiveServer, new_context: Any, init: str = "") -> tuple[Any, Any, int]:
    """The candidate's and the recruiter's pages in a call through the relay, video flowing
    both ways; the interview's id."""
    seeded = seed_interview(live_server)
    path = f"/interviews/{seeded['interview_id']}/room"
    pages = []
    for who in ("candidate", "recruiter"):
        page = room_page(new_context, seeded[who], path)
        if init:
            page.context.add_init_script(init)
            page.reload()
            page.wait_for_selector("#room[data-joined=yes]")
        pages.append(page)
    candidate, recruiter = pages
    check_devices(candidate, "Enter the waiting room")
    check_devices(recruiter, "Enter the room")
    recruiter.get_by_role("button", name=tr("Let %(name)s in", name="Awa Diallo")).click()
    for page in pages:
        page.wait_for_selector("#room[data-relay=yes]", timeout=30_000)
        page.get_by_role("status").filter(has_text=tr("You are connected.")).wait_for(
            timeout=30_000
        )
        assert page.get_by_text(tr("The call goes through our server.")).is_visible()
    for page in pages:
        assert_video_flows(page)
        # One connection sends our camera, the other receives theirs: nothing goes direct.
        assert page.evaluate(DIRECTIONS) == [[False, True], [True, False]]
    return candidate, recruiter, int(seeded["interview_id"])


def call_through_the_relay(live_server: LiveServer, new_context: Any, init: str = "") -> None:
    candidate, recruiter, _iid = relayed_call(live_server, new_context, init)
    pages = [candidate, recruiter]
    # A reload resumes the call through the relay at once (the tab remembers it), both ways.
    candidate.reload()
    candidate.wait_for_selector("#room[data-relay=yes]")
    for page in pages:
        page.get_by_role("status").filter(has_text=tr("You are connected.")).wait_for()
    for page in pages:
        assert_video_flows(page)
    candidate.get_by_role("button", name=tr("Hang up"), exact=True).click()
    recruiter.get_by_role("status").filter(
        has_text=tr("%(name)s hung up.", name="Awa Diallo")
    ).wait_for()
    for page in pages:
        assert page.js_errors == [], page.js_errors


def test_the_setting_sends_the_call_through_the_relay(
    live_server: LiveServer, new_context: Any, relay_forced: None
) -> None:
    call_through_the_relay(live_server, new_context)


def test_without_a_direct_path_the_call_falls_back_to_the_relay(
    live_server: LiveServer, new_context: Any
) -> None:
    call_through_the_relay(live_server, new_context, init=NO_DIRECT_PATH)


def test_a_moved_room_publishes_and_watches_again(
    live_server: LiveServer, new_context: Any, relay_forced: None
) -> None:
    """`room.relay` `moved`: a web process found the media process holding the interview's
    room dead and pinned it to another (fair.media.remote); both pages publish and watch again
    at once, on new connections, not once the old ones fail. Here the room stays in the live
    server's process: the pages' answer is tested (the death itself: test_media_process.py)."""
    candidate, recruiter, iid = relayed_call(live_server, new_context)
    pages = [candidate, recruiter]
    made = [page.evaluate("() => window.__roomPeerConnections.length") for page in pages]
    moved = {"interview_id": iid, "state": "moved"}
    live_server.publish(Event(channels.room(iid), "room.relay", moved))
    for page, before in zip(pages, made, strict=True):
        page.wait_for_function(
            f"() => window.__roomPeerConnections.length >= {before + 2}", timeout=5000
        )
    for page in pages:
        assert_video_flows(page)
        assert page.evaluate(DIRECTIONS) == [[False, True], [True, False]]
        assert page.js_errors == [], page.js_errors
