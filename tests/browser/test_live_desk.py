"""The live booth in Chromium: staffing on the hall, the drop-in queue, a text conversation.

Four people, each in their own browser context on the same live server: a recruiter at the
desk, two candidates at the booth (one on a phone), and a visitor watching the booth hall.
Everything after the first page loads arrives through the live socket, without a reload.
The recruiter's desk (what to do now, the queue as cards, the conversation with its mode) is
checked with axe in French and English at 1280 and 360 px.
"""

from __future__ import annotations

from typing import Any

from fair.enums import ApplicationStatus, Role
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    log_in,
    tr,
)

PHONE = {"width": 360, "height": 740}
SNEAKY = "<img src=x onerror=alert(1)> Bonjour, je suis électricienne."


def _seed(live_server: LiveServer) -> dict[str, Any]:
    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER)
        edition = await f.edition(session, by=organiser, title="Forum en direct")
        booth, recruiter = await f.booth(session, edition_=edition)
        offer = await f.offer(session, booth_=booth)
        first = await f.candidate(session, name="Awa Première")
        second = await f.candidate(session, name="Bruno Second")
        visitor = await f.candidate(session, name="Chloé Visiteuse")
        application = await f.application(session, offer_=offer, candidate_=first)
        return {
            "slug": edition.slug,
            "edition_id": edition.id,
            "organiser": organiser.email,
            "booth_id": booth.id,
            "recruiter": recruiter.email,
            "first": first.email,
            "second": second.email,
            "visitor": visitor.email,
            "application_id": application.id,
        }

    return live_server.seed(make)


def _page(new_context: Any, email: str, locale: str = "fr", **options: Any) -> Any:
    page = new_context(lang=locale, **options).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.js_errors = errors
    log_in(page, email, f.PASSWORD, locale)
    return page


def _check_desk(page: Any, axe_source: str, where: str) -> None:
    """Nothing serious for axe, and no sideways scroll, at 1280 then 360 px (back to 1280)."""
    for width in (1280, PHONE["width"]):
        page.set_viewport_size({"width": width, "height": PHONE["height"]})
        violations = axe_violations(page, axe_source)
        assert violations == [], describe_violations(f"{where} at {width} px", violations)
        scrolled = page.evaluate("() => document.documentElement.scrollWidth")
        assert scrolled <= width + 1, f"{where} scrolls sideways at {width} px: {scrolled}px"
    page.set_viewport_size({"width": 1280, "height": 900})


def _top(locator: Any) -> float:
    box = locator.bounding_box()
    assert box is not None
    return float(box["y"])


def _live(page: Any, path: str) -> None:
    """Open `path` and wait until its socket follows every channel the page names."""
    page.goto(path)
    page.wait_for_selector("body[data-live=on]")


def _staffing(hall: Any, booth_id: int) -> Any:
    return hall.locator(f'[data-booth-id="{booth_id}"] [data-staffing]')


def test_queue_call_and_conversation_live(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    seeded = _seed(live_server)
    booth_id = seeded["booth_id"]
    booth_path = f"/e/{seeded['slug']}/booths/{booth_id}"

    hall = _page(new_context, seeded["visitor"])
    _live(hall, f"/e/{seeded['slug']}/booths")
    assert _staffing(hall, booth_id).get_attribute("data-staffing") == "unstaffed"
    visitor = new_context().new_page()  # not logged in: the hall is live for visitors too
    _live(visitor, f"/e/{seeded['slug']}/booths")
    organiser = _page(new_context, seeded["organiser"])
    _live(organiser, f"/organiser/editions/{seeded['edition_id']}/booths")
    assert _staffing(organiser, booth_id).inner_text() == tr("No recruiter at the moment")

    # The recruiter opens the desk: the hall shows the booth staffed, without a reload.
    desk_path = f"/recruiter/booths/{booth_id}/desk"
    recruiter = _page(new_context, seeded["recruiter"], bypass_csp=True)  # bypass: axe only
    _live(recruiter, desk_path)
    presence = recruiter.locator("[data-presence]")
    presence.filter(
        has_text=tr("You are shown as present at the booth while this page is open.")
    ).wait_for()
    hall.locator(f'[data-booth-id="{booth_id}"] [data-staffing="staffed"]').wait_for()
    organiser.locator(f'[data-booth-id="{booth_id}"] [data-staffing="staffed"]').wait_for()
    visitor.locator(f'[data-booth-id="{booth_id}"] [data-staffing="staffed"]').wait_for()
    assert _staffing(organiser, booth_id).inner_text() == tr("Staffed now")

    # Two candidates join the queue; the second is number 2.
    first = _page(new_context, seeded["first"], viewport=PHONE)
    _live(first, booth_path)
    assert tr("A recruiter is at the booth now.") in first.locator("#desk").inner_text()
    first.get_by_role("button", name=tr("Join the queue"), exact=True).click()
    first.locator("[data-position]").filter(has_text="1").wait_for()
    second = _page(new_context, seeded["second"])
    _live(second, booth_path)
    second.get_by_role("button", name=tr("Join the queue"), exact=True).click()
    second.locator("[data-position]").filter(has_text="2").wait_for()
    assert tr("about %(num)s min", num=5) in second.locator("[data-estimate]").inner_text()
    recruiter.locator('[data-count="waiting"]').filter(has_text="2").wait_for()
    # The desk lists who waits as cards, in order, and says who is next, without a reload.
    names = recruiter.locator(".queue-list .queue-name")
    names.nth(1).wait_for()
    assert names.all_inner_texts() == ["Awa Première", "Bruno Second"]
    next_in_line = recruiter.locator("#desk-next .booth-next-what").inner_text()
    assert next_in_line.startswith(
        tr("Next in line: %(name)s, waiting since %(time)s.", name="Awa Première", time="")[:-1]
    )
    _check_desk(recruiter, axe_source, "the desk with a queue")
    organiser.locator(f'[data-booth-id="{booth_id}"] [data-waiting]').filter(
        has_text="2"
    ).wait_for()

    # The recruiter calls the next one: the first candidate is called, the second moves up.
    recruiter.get_by_role("button", name=tr("Call the next candidate"), exact=True).click()
    recruiter.get_by_text("Awa Première", exact=False).first.wait_for()
    first.get_by_role("alert").filter(
        has_text=tr("A recruiter is calling you! Answer before %(time)s.", time="")[:20]
    ).wait_for()
    second.locator("[data-position]").filter(has_text="1").wait_for()
    first.get_by_role("button", name=tr("Answer"), exact=True).click()

    # The desk: what to do now (end the conversation) at the top, then the conversation with
    # its mode as a badge, beside the one still waiting.
    recruiter.locator('[data-mode-badge="chat"]').wait_for()
    badge = recruiter.locator("[data-mode-badge] .badge").inner_text()
    assert badge == tr("Written chat")
    end = recruiter.get_by_role("button", name=tr("End the conversation"), exact=True)
    conversation = recruiter.locator(".desk-conversation")
    assert _top(end) < _top(conversation)
    # At 1280 px the queue stands beside the conversation (the layout changed without a reload).
    queue, card = recruiter.locator(".desk-queue").bounding_box(), conversation.bounding_box()
    assert queue is not None and card is not None and queue["x"] >= card["x"] + card["width"]
    assert recruiter.locator(".queue-list .queue-name").all_inner_texts() == ["Bruno Second"]
    _check_desk(recruiter, axe_source, "the desk in a conversation (French)")
    english = _page(new_context, seeded["recruiter"], "en", bypass_csp=True)
    _live(english, desk_path)
    assert english.locator("[data-mode-badge] .badge").inner_text() == "Written chat"
    english.get_by_role("button", name="End the conversation", exact=True).wait_for()
    _check_desk(english, axe_source, "the desk in a conversation (English)")
    assert english.js_errors == [], english.js_errors
    english.context.close()

    # They write to each other; text stays text.
    message_box = first.get_by_label(tr("Your message"))
    message_box.fill(SNEAKY)
    first.get_by_role("button", name=tr("Send"), exact=True).click()
    recruiter.get_by_role("log").get_by_text(SNEAKY, exact=True).wait_for()
    first.get_by_role("log").get_by_text(SNEAKY, exact=True).wait_for()
    assert message_box.input_value() == ""
    reply = "Merci ! Parlons de votre expérience sur chantier."
    recruiter.get_by_label(tr("Your message")).fill(reply)
    recruiter.get_by_role("button", name=tr("Send"), exact=True).click()
    first.get_by_role("log").get_by_text(reply, exact=True).wait_for()
    assert recruiter.locator("img").count() == 0 and first.locator("main img").count() == 0

    # The recruiter ends with an interview proposal: the candidate sees it at once.
    recruiter.get_by_label(tr("Next step")).select_option("interview_proposed")
    recruiter.get_by_role("button", name=tr("End the conversation"), exact=True).click()
    ended = tr("Your conversation with %(name)s has ended.", name="")[:20]
    first.locator("#desk").filter(has_text=ended).wait_for()
    recruiter.get_by_role("button", name=tr("Call the next candidate"), exact=True).wait_for()
    width = first.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the booth page scrolls sideways on a phone: {width}px"

    # The recruiter leaves: the booth shows unstaffed on the hall and on the booth page.
    recruiter.close()
    hall.locator(f'[data-booth-id="{booth_id}"] [data-staffing="unstaffed"]').wait_for()
    second.locator('#desk [data-staffed="no"]').wait_for()
    # Still waiting: no estimate while nobody staffs the booth, said without a reload.
    second.locator("#desk [data-unstaffed]").wait_for()
    assert second.locator("#desk [data-estimate]").count() == 0
    assert second.locator("[data-position]").inner_text() == "1"
    organiser.locator(f'[data-booth-id="{booth_id}"] [data-staffing="unstaffed"]').wait_for()
    visitor.locator(f'[data-booth-id="{booth_id}"] [data-staffing="unstaffed"]').wait_for()

    for page in (hall, organiser, first, second):
        assert page.js_errors == [], page.js_errors

    # The application moved in the pipeline (read through the candidate's page).
    first.goto("/me/applications")
    status = first.locator(f'[data-application-id="{seeded["application_id"]}"] [data-status]')
    assert status.get_attribute("data-status") == ApplicationStatus.INTERVIEW_PROPOSED.value
