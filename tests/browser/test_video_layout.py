"""The video call's layout (templates/rooms/_video.html, static/room.css) measured in Chromium:
in a call, at 1280x800 and at 360x640 portrait, the control bar is on screen without scrolling,
one's own image is smaller than the other person's and sits in a corner of it, the bar's buttons
have names and pressed states, and axe finds nothing serious. The presenters' stage: the presenter
large, the questions beside it (wide) or below it (narrow).
"""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    tr,
)
from tests.browser.rooms import check_devices, room_page, seed_interview

SIZES = [{"width": 1280, "height": 800}, {"width": 360, "height": 640}]

BOXES = """() => {
  const box = (s) => { const r = document.querySelector(s).getBoundingClientRect();
    return {x: r.x, y: r.y, w: r.width, h: r.height, bottom: r.bottom, right: r.right}; };
  return {bar: box('[data-call-bar]'), remote: box('[data-remote]'), self: box('[data-self]'),
          scrollY: window.scrollY, pageWidth: document.documentElement.scrollWidth};
}"""


def test_call_layout_at_both_widths(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    seeded = seed_interview(live_server)
    path = f"/interviews/{seeded['interview_id']}/room"
    candidate = room_page(new_context, seeded["candidate"], path, bypass_csp=True)
    recruiter = room_page(new_context, seeded["recruiter"], path)
    check_devices(recruiter, "Enter the room")
    check_devices(candidate, "Enter the waiting room")
    recruiter.get_by_role("button", name=tr("Let %(name)s in", name="Awa Diallo")).click()
    candidate.get_by_role("status").filter(has_text=tr("You are connected.")).wait_for()
    candidate.locator("[data-remote]").wait_for()

    for size in SIZES:
        candidate.set_viewport_size(size)
        candidate.evaluate("() => window.scrollTo(0, 0)")
        boxes = candidate.evaluate(BOXES)
        where = f"at {size['width']}x{size['height']}: {boxes}"
        bar, remote, own = boxes["bar"], boxes["remote"], boxes["self"]
        assert boxes["pageWidth"] <= size["width"], where
        # The bar is on screen, whole, without scrolling.
        assert 0 <= bar["y"] and bar["bottom"] <= size["height"], where
        assert bar["h"] < size["height"] / 4, where
        # One's own image: much smaller than the other person's, in its bottom right corner.
        assert own["w"] * own["h"] < remote["w"] * remote["h"] / 4, where
        assert remote["right"] - 20 <= own["right"] <= remote["right"], where
        assert remote["bottom"] - 20 <= own["bottom"] <= remote["bottom"], where
        # The other person's image is large and mostly above the bar.
        assert remote["w"] >= size["width"] * 0.8 or remote["w"] >= 800, where
        assert remote["y"] < bar["y"], where
        violations = axe_violations(candidate, axe_source)
        assert violations == [], describe_violations(f"the call {where}", violations)

    # The bar: named toggle buttons, usable from the keyboard.
    bar = candidate.get_by_role("group", name=tr("How you talk"))
    names = [
        (b.get_attribute("aria-label") or b.inner_text().strip(), b.get_attribute("aria-pressed"))
        for b in bar.get_by_role("button").all()
    ]
    assert names == [
        (tr("Microphone off"), "false"),
        (tr("Camera off"), "false"),
        (tr("Video"), "true"),
        (tr("Phone"), "false"),
        (tr("Written chat"), "false"),
        (tr("Hang up"), None),
    ]
    camera = bar.get_by_role("button", name=tr("Camera off"), exact=True)
    camera.focus()
    candidate.keyboard.press("Enter")
    assert camera.get_attribute("aria-pressed") == "true"
    enabled = candidate.evaluate(
        "() => document.querySelector('[data-local-video]').srcObject.getVideoTracks()"
        ".map(t => t.enabled)"
    )
    assert enabled == [False]
    candidate.keyboard.press("Space")
    assert camera.get_attribute("aria-pressed") == "false"
    assert candidate.js_errors == [] and recruiter.js_errors == []
