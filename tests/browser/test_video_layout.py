"""The video call's layout (templates/rooms/_video.html, static/room.css) measured in Chromium:
in a call, at 1280x800 and at 360x640 portrait, the control bar is on screen without scrolling,
one's own image is smaller than the other person's and sits in a corner of it, the bar's buttons
have names and pressed states, and axe finds nothing serious. The presenters' stage: the presenter
large, the questions beside it (wide) or below it (narrow); a viewer's phone shows the talk's video
and its controls on the first screen.
"""

from __future__ import annotations

from typing import Any

from fair.enums import WebconferenceAccess
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    tr,
)
from tests.browser.rooms import check_devices, room_page, seed_interview
from tests.browser.stage_setup import FAKE_SCREEN
from tests.browser.stage_setup import open_page as stage_page
from tests.browser.stage_setup import seed_talk as stage_seed

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

    # In English and dark mode, on a phone: the call comes back after the reload, axe is content.
    candidate.context.add_cookies([{"name": "lang", "value": "en", "url": live_server.url}])
    candidate.emulate_media(color_scheme="dark", reduced_motion="reduce")
    candidate.reload()
    candidate.get_by_role("status").filter(has_text="You are connected.").wait_for()
    candidate.locator("[data-remote]").wait_for()
    assert candidate.get_by_role("group", name="How you talk").is_visible()
    violations = axe_violations(candidate, axe_source)
    assert violations == [], describe_violations("the call in English, dark", violations)
    assert candidate.js_errors == [] and recruiter.js_errors == []


STAGE_BOXES = """() => {
  const box = (s) => { const n = document.querySelector(s); if (!n) return null;
    const r = n.getBoundingClientRect();
    return {x: r.x, y: r.y, w: r.width, h: r.height, bottom: r.bottom, right: r.right}; };
  return {frame: box('[data-stage-frame]'), own: box('[data-stage-frame] .local'),
          bar: box('.stage-bar'), questions: box('[data-questions-panel]'),
          screen: box('[data-videos] [data-source=screen] video'),
          camera: box('[data-videos] [data-source=camera] video'),
          watch: box("[data-watch]"), controls: box('[data-watch] .controls'),
          pageWidth: document.documentElement.scrollWidth};
}"""


def test_stage_layout_at_both_widths(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    seeded = stage_seed(live_server, access=WebconferenceAccess.OPEN)
    wid = seeded["id"]
    presenter = stage_page(
        new_context, seeded["presenter"], f"/webconferences/{wid}/stage", bypass_csp=True
    )
    presenter.context.add_init_script(FAKE_SCREEN)
    presenter.reload()
    presenter.wait_for_selector("[data-stage][data-joined=yes]")
    status = presenter.locator("[data-stage-status]")
    presenter.get_by_role("button", name=tr("Turn on my camera and microphone")).click()
    status.filter(has_text=tr("Your camera and microphone reach the stage.")).wait_for()
    presenter.get_by_role("button", name=tr("Start the webconference")).click()
    presenter.get_by_role("button", name=tr("Share my screen")).click()
    status.filter(has_text=tr("Your screen is shared.")).wait_for()
    viewer = stage_page(
        new_context, seeded["viewers"][0], f"/webconferences/{wid}", bypass_csp=True
    )
    screen = tr("%(name)s: shared screen", name="Nadia Présente")
    viewer.locator("[data-videos] figure").filter(has_text=screen).wait_for()
    viewer.locator("[data-questions-panel]").wait_for()

    for size in SIZES:
        wide = size["width"] >= 1024
        for page in (presenter, viewer):
            page.set_viewport_size(size)
            page.evaluate("() => window.scrollTo(0, 0)")
        shown = presenter.evaluate(STAGE_BOXES)
        where = f"the stage at {size['width']}x{size['height']}: {shown}"
        frame, own, bar, questions = shown["frame"], shown["own"], shown["bar"], shown["questions"]
        assert shown["pageWidth"] <= size["width"], where
        # The screen fills the frame, the presenter's camera sits small in its corner.
        assert frame["w"] >= size["width"] * 0.5, where
        assert own["w"] * own["h"] < frame["w"] * frame["h"] / 4, where
        assert frame["right"] - 20 <= own["right"] <= frame["right"], where
        assert frame["bottom"] - 20 <= own["bottom"] <= frame["bottom"], where
        assert 0 <= bar["y"] and bar["bottom"] <= size["height"], where
        # The questions: beside when wide, below when narrow.
        if wide:
            assert questions["x"] >= frame["right"] and questions["y"] < frame["bottom"], where
        else:
            assert questions["y"] >= frame["bottom"], where
        violations = axe_violations(presenter, axe_source)
        assert violations == [], describe_violations(where, violations)

        watched = viewer.evaluate(STAGE_BOXES)
        where = f"the player at {size['width']}x{size['height']}: {watched}"
        screen_box, camera, questions = watched["screen"], watched["camera"], watched["questions"]
        assert watched["pageWidth"] <= size["width"], where
        # The shared screen large, the presenter's camera smaller, not over it.
        assert camera["w"] * camera["h"] < screen_box["w"] * screen_box["h"] / 4, where
        assert camera["x"] >= screen_box["right"] or camera["y"] >= screen_box["bottom"], where
        if wide:
            assert questions["x"] >= watched["watch"]["right"], where
            assert questions["y"] == watched["watch"]["y"], where
        else:
            assert questions["y"] >= watched["watch"]["bottom"], where
            # On a phone the video comes first, whole and nearly as wide as the screen, with its
            # controls in sight under it (after the compact menus, the title and the talk's state).
            controls = watched["controls"]
            assert 0 <= screen_box["y"] and screen_box["bottom"] <= controls["y"], where
            assert screen_box["w"] >= size["width"] * 0.9, where
            assert controls["bottom"] <= size["height"], where
        violations = axe_violations(viewer, axe_source)
        assert violations == [], describe_violations(where, violations)
    assert presenter.js_errors == [] and viewer.js_errors == []
