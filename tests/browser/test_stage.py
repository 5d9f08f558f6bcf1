"""A live webconference in Chromium with fake camera and microphone: a presenter publishes to
the server (aiortc, in the live server's process) from the green room and starts the talk;
three registered viewers receive it (RTCPeerConnection.getStats: framesDecoded goes up on each);
a question asked by one shows on every page, an upvote and the presenter's "answered" too; a
fourth viewer arriving late sees its first frame within 2 s; the presenter ends the talk and
every viewer's page says so.

The viewers' connections are read through `window.fairStage`, the handle static/stage.js keeps
(`pc`, and `firstFrameMs`: from the `stage.answer` reply to the first decoded frame).
"""

from __future__ import annotations

import time
from typing import Any

from fair import channels
from fair.enums import WebconferenceAccess
from fair.events import Event
from fair.i18n import ngettext
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, tr
from tests.browser.stage_setup import FAKE_SCREEN
from tests.browser.stage_setup import open_page as _page
from tests.browser.stage_setup import seed_talk as _seed

FRAMES_DECODED = """async () => {
  const pc = window.fairStage && window.fairStage.pc;
  if (!pc) return 0;
  let total = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") total += s.framesDecoded || 0;
  });
  return total;
}"""
QUESTION = "Quels horaires pour les postes en logistique ?"


def frames_decoded(page: Any) -> int:
    return int(page.evaluate(FRAMES_DECODED))


def assert_video_flows(page: Any, timeout: float = 10.0) -> None:
    """The viewer's connection decodes video, and more frames over time."""
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


def question(page: Any) -> Any:
    return page.locator("[data-questions-list] .question").filter(has_text=QUESTION)


def test_presenter_and_viewers_live_with_questions(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    seeded = _seed(live_server)
    wid = seeded["id"]
    # bypass_csp: only so that axe can be injected (the pages' own scripts need no exception).
    presenter = _page(
        new_context, seeded["presenter"], f"/webconferences/{wid}/stage", bypass_csp=True
    )
    status = presenter.locator("[data-stage-status]")
    caption = presenter.locator("[data-stage-caption]")

    # Three viewers wait: the talk starts soon.
    path = f"/webconferences/{wid}"
    viewers = [
        _page(new_context, email, path, bypass_csp=(n == 0))
        for n, email in enumerate(seeded["viewers"][:3])
    ]
    for viewer in viewers:
        assert viewer.locator("[data-stage-status]").inner_text() == tr(
            "The webconference has not started yet: it will show here when it does."
        )

    # The green room: the camera goes to the server before the talk starts.
    presenter.get_by_role("button", name=tr("Turn on my camera and microphone")).click()
    status.filter(has_text=tr("Your camera and microphone reach the stage.")).wait_for()
    violations = axe_violations(presenter, axe_source)
    assert violations == [], describe_violations("the green room", violations)
    presenter.get_by_role("button", name=tr("Start the webconference")).click()
    caption.filter(has_text=tr("Live: viewers see and hear you.")).wait_for()
    assert presenter.get_by_role("button", name=tr("End the webconference")).is_visible()

    # The viewers receive it: each decodes the presenter's video, more and more frames.
    for viewer in viewers:
        viewer.locator("[data-stage-status]").filter(
            has_text=tr("You are watching the webconference.")
        ).wait_for()
    for viewer in viewers:
        assert_video_flows(viewer)
        # Started early from the green room: live all the same.
        assert viewer.locator(".stage-state").inner_text() == tr("Live now.")
    watching = tr("People watching: %(num)s", num=3)
    presenter.locator("[data-viewer-count]").filter(has_text=watching).wait_for()
    violations = axe_violations(viewers[0], axe_source)
    assert violations == [], describe_violations("the player", violations)

    # A question from the first viewer shows on every page; the second one upvotes it.
    viewers[0].get_by_label(tr("Your question")).fill(QUESTION)
    viewers[0].get_by_role("button", name=tr("Ask"), exact=True).click()
    for page in (*viewers, presenter):
        question(page).wait_for()
    assert question(viewers[0]).get_by_role("button", name=tr("Upvote")).count() == 0
    question(viewers[1]).get_by_role("button", name=tr("Upvote")).click()
    one_vote = ngettext("%(num)s vote", "%(num)s votes", 1, "fr")
    for page in (viewers[2], presenter):
        question(page).filter(has_text=one_vote).wait_for()
    question(viewers[1]).locator("[data-vote][aria-pressed=true]").wait_for()

    # The presenter marks it answered: every viewer sees it so, without voting any more.
    question(presenter).get_by_role("button", name=tr("Mark as answered")).click()
    for viewer in viewers:
        question(viewer).filter(has_text=tr("Answered")).wait_for()
        assert question(viewer).get_by_role("button").count() == 0

    # A late viewer: the first frame within 2 s of its answer to the server's offer.
    late = _page(new_context, seeded["viewers"][3], path)
    late.wait_for_function("() => window.fairStage.firstFrameMs !== null", timeout=10_000)
    first_frame_ms = late.evaluate("() => window.fairStage.firstFrameMs")
    assert first_frame_ms < 2000, f"first frame after {first_frame_ms:.0f} ms"
    question(late).filter(has_text=tr("Answered")).wait_for()

    # The presenter ends the talk (after confirming): every viewer's page says so.
    presenter.get_by_role("button", name=tr("End the webconference")).click()
    presenter.get_by_role("button", name=tr("Yes, end it")).click()
    caption.filter(has_text=tr("This webconference has ended.")).wait_for()
    ended = tr("This webconference has ended.")
    for viewer in (*viewers, late):
        viewer.locator(".stage-state").filter(has_text=ended).wait_for()
        assert viewer.evaluate("() => window.fairStage.pc") is None
        assert viewer.get_by_label(tr("Your question")).is_hidden()

    for page in (presenter, *viewers, late):
        assert page.js_errors == [], page.js_errors


def test_a_moved_stage_publishes_and_watches_again(
    live_server: LiveServer, new_context: Any
) -> None:
    """`stage.moved`: a web process found the talk's media process dead and pinned its room to
    another (fair.media.remote); the presenter's page publishes again and the viewer's watches
    again at once, not once their connections fail. Here the room stays in the live server's
    process: the pages' answer to the event is what is tested (the death itself:
    tests/test_media_process.py)."""
    seeded = _seed(live_server, access=WebconferenceAccess.OPEN)
    wid = seeded["id"]
    presenter = _page(new_context, seeded["presenter"], f"/webconferences/{wid}/stage")
    status = presenter.locator("[data-stage-status]")
    presenter.get_by_role("button", name=tr("Turn on my camera and microphone")).click()
    published = status.filter(has_text=tr("Your camera and microphone reach the stage."))
    published.wait_for()
    presenter.get_by_role("button", name=tr("Start the webconference")).click()
    viewer = _page(new_context, seeded["viewers"][0], f"/webconferences/{wid}")
    assert_video_flows(viewer)
    presenter.evaluate("() => { window.fairStage.publisher.fairBefore = true; }")
    watches = viewer.evaluate("() => window.fairStage.watches")

    moved = Event(channels.webconference(wid), "stage.moved", {"webconference_id": wid})
    live_server.publish(moved)
    presenter.wait_for_function(
        "() => window.fairStage.publisher && !window.fairStage.publisher.fairBefore",
        timeout=3000,
    )
    published.wait_for()
    viewer.wait_for_function(f"() => window.fairStage.watches > {watches}", timeout=5000)
    assert_video_flows(viewer)
    for page in (presenter, viewer):
        assert page.js_errors == [], page.js_errors


# The browser's own screen picker cannot be driven headless: a canvas stands in for the screen.
AUDIO_PACKETS = """async () => {
  let total = 0;
  (await window.fairStage.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") total += s.packetsReceived || 0;
  });
  return total;
}"""
VIDEO_DIRECTIONS = """() => window.fairStage.pc.getTransceivers()
  .filter((t) => t.receiver.track.kind === "video").map((t) => t.currentDirection)"""


def test_screen_share_and_sound_only(live_server: LiveServer, new_context: Any) -> None:
    seeded = _seed(live_server, access=WebconferenceAccess.OPEN)
    wid = seeded["id"]
    presenter = _page(new_context, seeded["presenter"], f"/webconferences/{wid}/stage")
    presenter.context.add_init_script(FAKE_SCREEN)
    presenter.reload()
    presenter.wait_for_selector("[data-stage][data-joined=yes]")
    status = presenter.locator("[data-stage-status]")
    caption = presenter.locator("[data-stage-caption]")
    presenter.get_by_role("button", name=tr("Turn on my camera and microphone")).click()
    status.filter(has_text=tr("Your camera and microphone reach the stage.")).wait_for()
    presenter.get_by_role("button", name=tr("Start the webconference")).click()
    caption.filter(has_text=tr("Live: viewers see and hear you.")).wait_for()
    viewer = _page(new_context, seeded["viewers"][0], f"/webconferences/{wid}")
    assert_video_flows(viewer)
    figures = viewer.locator("[data-videos] figure")
    assert figures.all_inner_texts() == ["Nadia Présente"]

    # The screen comes as a second publication: the viewer asks for a new offer with both.
    share = presenter.get_by_role("button", name=tr("Share my screen"))
    share.click()
    status.filter(has_text=tr("Your screen is shared.")).wait_for()
    assert share.get_attribute("aria-pressed") == "true"
    screen = tr("%(name)s: shared screen", name="Nadia Présente")
    figures.filter(has_text=screen).wait_for()
    assert figures.all_inner_texts() == ["Nadia Présente", screen]
    assert_video_flows(viewer)

    # Sound only: the video is refused in the answer, the sound keeps coming.
    watches = viewer.evaluate("() => window.fairStage.watches")
    sound_only = viewer.get_by_role("button", name=tr("Sound only (saves data)"))
    sound_only.click()
    assert sound_only.get_attribute("aria-pressed") == "true"
    viewer.wait_for_function(f"() => window.fairStage.watches > {watches}")
    viewer.locator("[data-stage-status]").filter(
        has_text=tr("Sound only: the video is not sent to you, which saves data.")
    ).wait_for()
    assert viewer.evaluate(VIDEO_DIRECTIONS) == ["inactive", "inactive"]
    before = int(viewer.evaluate(AUDIO_PACKETS))
    viewer.wait_for_function(f"async () => ({AUDIO_PACKETS})().then((n) => n > {before} + 10)")
    assert frames_decoded(viewer) == 0
    assert viewer.locator("[data-videos] video:visible").count() == 0
    assert figures.filter(has_text=screen).is_hidden()  # a screen has no sound

    # The presenter stops sharing (the camera stays on stage); the viewer turns the video back
    # on: the camera alone.
    camera_pc = presenter.evaluate("() => window.fairStage.publisher.connectionState")
    share.click()
    status.filter(has_text=tr("Your screen is no longer shared.")).wait_for()
    assert presenter.evaluate("() => window.fairStage.publisher.connectionState") == camera_pc
    assert share.get_attribute("aria-pressed") == "false"
    figures.filter(has_text=screen).wait_for(state="detached")
    sound_only.click()
    assert_video_flows(viewer)
    assert viewer.evaluate(VIDEO_DIRECTIONS) == ["recvonly"]
    assert figures.all_inner_texts() == ["Nadia Présente"]

    # The presenter reloads the stage: the camera comes back by itself, the viewer sees it.
    watches = viewer.evaluate("() => window.fairStage.watches")
    presenter.reload()
    status.filter(has_text=tr("Your camera and microphone reach the stage.")).wait_for()
    viewer.wait_for_function(f"() => window.fairStage.watches > {watches}")
    assert_video_flows(viewer)
    for page in (presenter, viewer):
        assert page.js_errors == [], page.js_errors
