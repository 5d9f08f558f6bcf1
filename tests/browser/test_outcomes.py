"""Browser: after an edition, a recruiter confirms a hire in one click from their booth page's
task on a phone (360 px) in French, by the button's accessible name; the candidate answers
"have you found a job?" by the labels; the organiser's outcomes page; each page axe-clean."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.enums import Role
from fair.models import Booth, Edition, User
from tests import factories as f
from tests import outcome_setup as o
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    follow,
    log_in,
    tr,
)

PHONE = {"width": 360, "height": 740}


async def _ended_fair(session: AsyncSession) -> tuple[User, User, User, Edition, Booth]:
    """An edition that ended 40 days ago (applications made while it was open), its booth
    Alpha with a retained candidate; the clock put back as it was."""
    was = clock.frozen()
    clock.set_now(clock.now() - timedelta(days=60))
    try:
        organiser = await f.user(session, Role.ORGANISER)
        edition = await f.edition(session, by=organiser, title="Forum passé")
        alpha = await o.stand(session, edition, name="Alpha", can_log_in=True)
        candidate = await f.candidate(session, name="Camille Retenue")
        await o.apply(session, alpha, candidate, hired=True)
    finally:
        clock.set_now(was)
    return organiser, alpha.recruiter, candidate, edition, alpha.booth


def check_axe(page: Any, axe_source: str, where: str) -> None:
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations(where, violations)


def test_follow_up_pages(live_server: LiveServer, new_context: Any, axe_source: str) -> None:
    organiser, recruiter, candidate, edition, booth = live_server.seed(_ended_fair)

    page = new_context(lang="fr", bypass_csp=True, viewport=PHONE).new_page()
    log_in(page, recruiter.email, f.PASSWORD)
    page.goto(f"/recruiter/booths/{booth.id}")
    task = page.get_by_role("region", name=tr("To do: follow-up after the fair"))
    follow(page, task.get_by_role("link", name=tr("Confirm the hires")))
    check_axe(page, axe_source, "follow-up (fr, 360 px)")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    row = page.get_by_role("group", name="Camille Retenue — Électricien du bâtiment (H/F)")
    assert row.get_by_label(tr("Contract")).input_value() == "cdi"
    follow(page, row.get_by_role("button", name=f"{tr('Yes, hired')} — Camille Retenue"))
    assert tr("Your answer is saved.") in page.locator("main").inner_text()

    mine = new_context(lang="fr", bypass_csp=True, viewport=PHONE).new_page()
    log_in(mine, candidate.email, f.PASSWORD)
    mine.goto(f"/me/editions/{edition.id}/job")
    check_axe(mine, axe_source, "job report (fr, 360 px)")
    mine.get_by_label(tr("I found a job")).check()
    mine.get_by_label(tr("Employer"), exact=True).select_option(label="Alpha")
    mine.get_by_label(tr("Contract")).select_option("cdd")
    mine.get_by_label(tr("Length in months")).fill("6")
    follow(mine, mine.get_by_role("button", name=tr("Save my answer")))
    assert tr("Thank you: your answer is saved. You may change it at any time.") in (
        mine.locator("main").inner_text()
    )

    staff = new_context(lang="fr", bypass_csp=True).new_page()
    log_in(staff, organiser.email, f.PASSWORD)
    staff.goto(f"/organiser/editions/{edition.id}/outcomes")
    assert staff.get_by_role("heading", level=1).inner_text().startswith(tr("Outcomes"))
    check_axe(staff, axe_source, "outcomes (fr)")
