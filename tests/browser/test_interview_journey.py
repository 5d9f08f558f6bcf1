"""A scheduled interview from end to end, through the pages, in Chromium with fake devices.

A recruiter (desktop) and a candidate (a 360 px phone), each in their own browser context: the
recruiter publishes availability starting in a few seconds and proposes an interview from a
shortlisted application; the candidate books the first slot by video with an accommodation
need; both go from the interview page to its room, check their devices and join, the recruiter
lets the candidate in, video flows both ways (getStats: framesDecoded goes up on each side),
the recruiter hangs up and records the interview as held, hired; the candidate's application
follows. axe-core checks the candidate's interviews page and the booth's interviews page.

The live server runs on the real clock. Booking needs a slot that has not started, recording
one that has: the availability is published from a time a few seconds ahead (the time field
takes seconds), so the slot starts while the two are in the room, or a few seconds after.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fair import applications, clock, i18n
from fair.enums import ApplicationStatus, InterviewOutcome, Role
from fair.models import InterviewRules, InterviewSlot
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    follow,
    log_in,
    tr,
)
from tests.browser.rooms import PCS_SCRIPT, assert_video_flows, check_devices, frames_decoded

PARIS = ZoneInfo("Europe/Paris")
PHONE = {"width": 360, "height": 740}
CANDIDATE, RECRUITER = "Awa Diallo", "Rémi Recruteur"
# From publishing the slots to the first one's start: enough to propose and book it.
LEAD = timedelta(seconds=10)
LENGTH = timedelta(minutes=20)
NEED = "Sous-titrage, s'il vous plaît : je suis malentendante."


def _seed(live_server: LiveServer) -> dict[str, Any]:
    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title="Forum des entretiens")
        # The journey books a slot seconds ahead: this fair asks no minimum notice.
        session.add(
            InterviewRules(
                edition_id=edition.id,
                max_per_booth=1,
                max_total=5,
                release_at=None,
                cancel_cutoff_minutes=120,
                offer_minutes=60,
                min_notice_minutes=0,
            )
        )
        recruiter = await f.user(session, Role.RECRUITER, name=RECRUITER)
        booth, _ = await f.booth(session, edition_=edition, recruiter=recruiter)
        offer = await f.offer(session, booth_=booth)
        candidate = await f.candidate(session, name=CANDIDATE)
        application = await f.application(session, offer_=offer, candidate_=candidate)
        await applications.set_status(
            session, application, ApplicationStatus.SHORTLISTED, by=recruiter
        )
        return {
            "booth_id": booth.id,
            "recruiter_id": recruiter.id,
            "recruiter": recruiter.email,
            "candidate": candidate.email,
            "application_id": application.id,
            "employer": booth.employer.name,
        }

    return live_server.seed(make)


def _seed_slot(live_server: LiveServer, seeded: dict[str, Any], start: datetime) -> None:
    """Last resort, near midnight only: no 20-minute slot fits before the day ends, so the
    publishing form cannot make one; the slot is written directly."""

    async def make(session):  # type: ignore[no-untyped-def]
        session.add(
            InterviewSlot(
                booth_id=seeded["booth_id"],
                staff_id=seeded["recruiter_id"],
                starts_at=start,
                ends_at=start + LENGTH,
                modes="video phone chat",
                created_at=clock.now(),
            )
        )

    live_server.seed(make)


def _page(new_context: Any, email: str, **options: Any) -> Any:
    """A logged-in page whose context records its peer connections (for the room) and lets
    axe in (bypass_csp: the pages' own scripts need no exception)."""
    context = new_context(bypass_csp=True, **options)
    context.add_init_script(PCS_SCRIPT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.js_errors = errors
    log_in(page, email, f.PASSWORD)
    return page


def _no_axe_violations(page: Any, axe_source: str, where: str) -> None:
    violations = axe_violations(page, axe_source)
    assert violations == [], describe_violations(where, violations)


def _required(label: str) -> str:
    """A required field's full label ("De (obligatoire)"), to tell "De" from "Détails"."""
    return f"{tr(label)} ({tr('required')})"


def _status(page: Any, message: str, **params: Any) -> None:
    page.get_by_role("status").filter(has_text=tr(message, **params)).wait_for()


def test_propose_book_meet_and_record(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    seeded = _seed(live_server)
    booth_path = f"/recruiter/booths/{seeded['booth_id']}/interviews"
    application_path = f"/recruiter/applications/{seeded['application_id']}"
    recruiter = _page(new_context, seeded["recruiter"])
    candidate = _page(new_context, seeded["candidate"], viewport=PHONE)

    # The recruiter publishes an hour of 20-minute slots, the first starting in a few seconds.
    start = (datetime.now(PARIS) + LEAD).replace(microsecond=0) + timedelta(seconds=1)
    until = min(start + timedelta(hours=1), start.replace(hour=23, minute=59, second=59))
    recruiter.goto(booth_path)
    if until - start >= LENGTH:
        recruiter.get_by_label(tr("Live day")).select_option(start.date().isoformat())
        recruiter.get_by_label(_required("From"), exact=True).fill(start.strftime("%H:%M:%S"))
        recruiter.get_by_label(_required("Until"), exact=True).fill(until.strftime("%H:%M:%S"))
        recruiter.get_by_label(tr("Length of an interview (minutes)")).fill("20")
        recruiter.get_by_label(tr("Break between interviews (minutes)")).fill("10")
        assert recruiter.get_by_role("checkbox", name=tr("Video"), exact=True).is_checked()
        follow(recruiter, recruiter.get_by_role("button", name=tr("Publish the slots")))
        slots = recruiter.locator("#agenda li[data-slot-id]")
        published = i18n.ngettext(
            "%(num)s slot published.", "%(num)s slots published.", slots.count(), "fr"
        )
        recruiter.get_by_role("status").filter(has_text=published).wait_for()
    else:
        _seed_slot(live_server, seeded, start)
        recruiter.reload()
    first = recruiter.locator("#agenda li[data-slot-id]").first
    assert first.locator("strong").inner_text().startswith(start.strftime("%H:%M"))
    assert tr("Free") in first.inner_text()

    # It proposes an interview from the shortlisted application.
    recruiter.goto(application_path)
    follow(recruiter, recruiter.get_by_role("button", name=tr("Propose an interview")))
    _status(recruiter, "The interview is proposed: the candidate can book one of your free slots.")

    # The candidate, on a phone, books the first slot by video with an accommodation need.
    candidate.goto("/me/interviews")
    card = candidate.get_by_role("article", name=seeded["employer"])
    slot = card.get_by_role("group", name=tr("Choose a time slot")).get_by_role("radio").first
    slot.check()
    assert (
        candidate.locator(f'label[for="{slot.get_attribute("id")}"]')
        .inner_text()
        .startswith(start.strftime("%H:%M"))
    )
    card.get_by_role("group", name=tr("How would you like to hold the interview?")).get_by_role(
        "radio", name=tr("Video"), exact=True
    ).check()
    card.get_by_label(tr("Accommodation need (optional)")).fill(NEED)
    width = candidate.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"/me/interviews scrolls sideways on a phone: {width}px"
    _no_axe_violations(candidate, axe_source, "/me/interviews with a proposal to book")
    late = datetime.now(PARIS) - start
    assert late < timedelta(seconds=-1), f"booking {late} after the slot's start: raise LEAD"
    follow(candidate, card.get_by_role("button", name=tr("Book this interview")))
    _status(candidate, "Your interview is booked. You will receive a confirmation by e-mail.")
    listed = candidate.locator("#interviews [data-interview-id]")
    assert listed.count() == 1
    for text in (seeded["employer"], tr("Booked"), tr("Video"), NEED, start.strftime("%H:%M")):
        assert text in listed.inner_text(), text
    interview_id = int(listed.get_attribute("data-interview-id"))
    candidate.goto("/me/applications")
    status = candidate.locator(f'[data-application-id="{seeded["application_id"]}"] [data-status]')
    assert status.get_attribute("data-status") == ApplicationStatus.INTERVIEW_SCHEDULED.value
    candidate.go_back()

    # The agenda shows the booking and the need; nothing to record before the start.
    recruiter.goto(booth_path)
    row = recruiter.locator("#agenda li[data-slot-id]").first
    assert tr("Booked by %(name)s", name=CANDIDATE) in row.inner_text()
    assert NEED in row.inner_text()
    assert row.get_by_role("button", name=tr("Held")).count() == 0

    # Both go from the interview page to its room, check their devices and join.
    follow(candidate, listed.get_by_role("link", name=tr("Interview page")))
    follow(candidate, candidate.get_by_role("link", name=tr("Enter the interview room")))
    recruiter.goto(application_path)
    follow(recruiter, recruiter.get_by_role("link", name=tr("See the interview")))
    assert NEED in recruiter.locator("main dl").inner_text()
    follow(recruiter, recruiter.get_by_role("link", name=tr("Enter the interview room")))
    room = f"/interviews/{interview_id}/room"
    for page in (candidate, recruiter):
        assert page.url.endswith(room), page.url
        page.wait_for_selector("#room[data-joined=yes]")
    check_devices(candidate, "Enter the waiting room")
    candidate.get_by_text(
        tr("You are in the waiting room: the recruiter will let you in.")
    ).first.wait_for()
    check_devices(recruiter, "Enter the room")
    waiting = tr("%(name)s is in the waiting room.", name=CANDIDATE)
    recruiter.locator("[data-peer]").filter(has_text=waiting).wait_for()
    assert frames_decoded(candidate) == frames_decoded(recruiter) == 0

    # The recruiter lets the candidate in: video flows both ways; then it hangs up.
    recruiter.get_by_role("button", name=tr("Let %(name)s in", name=CANDIDATE)).click()
    _status(candidate, "You are connected.")
    assert_video_flows(candidate)
    assert_video_flows(recruiter)
    recruiter.get_by_role("button", name=tr("Hang up"), exact=True).click()
    recruiter.get_by_role("button", name=tr("Join the call again"), exact=True).wait_for()
    _status(candidate, "%(name)s hung up.", name=RECRUITER)

    # Once the slot has started (a few seconds' wait at most, when the call was quick), the
    # recruiter records the interview as held, and hired, on the agenda.
    time.sleep(max(0.0, (start - datetime.now(PARIS)).total_seconds() + 0.5))
    recruiter.goto(booth_path)
    row = recruiter.locator("#agenda li[data-slot-id]").first
    row.get_by_label(tr("Next step for %(name)s", name=CANDIDATE)).select_option(
        InterviewOutcome.HIRED.value
    )
    _no_axe_violations(recruiter, axe_source, "the booth's interviews, an interview to record")
    follow(recruiter, row.get_by_role("button", name=tr("Held")))
    _status(recruiter, "The interview was recorded.")
    row = recruiter.locator("#agenda li[data-slot-id]").first
    assert tr("Held with %(name)s", name=CANDIDATE) in row.inner_text()
    assert tr("Hired") in row.inner_text()

    # The candidate's application followed: interviewed, then hired.
    candidate.goto("/me/applications")
    status = candidate.locator(f'[data-application-id="{seeded["application_id"]}"] [data-status]')
    assert status.get_attribute("data-status") == ApplicationStatus.HIRED.value
    assert status.inner_text() == tr("Hired")

    for page in (candidate, recruiter):
        assert page.js_errors == [], page.js_errors
