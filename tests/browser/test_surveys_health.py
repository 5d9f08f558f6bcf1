"""Browser: a candidate answers the satisfaction survey on a phone (360 px) in French, by the
labels of its radio groups; the organiser's satisfaction and health pages are axe-clean."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, participants
from fair.enums import Role
from fair.models import Edition, User
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in, tr

PHONE = {"width": 360, "height": 740}


async def _fairs(session: AsyncSession) -> tuple[User, User, Edition, Edition]:
    organiser = await f.user(session, Role.ORGANISER)
    # Over three days ago: its survey is open. Another one to come, with a booth to prepare.
    past = await f.edition(
        session, by=organiser, title="Forum passé", now=clock.now() - timedelta(days=10)
    )
    person = await f.user(session, Role.CANDIDATE, name="Camille Sondée")
    await participants.register_many(session, [(past.id, person.id)])
    coming = await f.edition(session, by=organiser, title="Forum à venir")
    await f.booth(session, edition_=coming)
    return organiser, person, past, coming


def test_the_survey_on_a_phone_and_the_organisers_pages(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    organiser, person, past, coming = live_server.seed(_fairs)
    page = new_context(lang="fr", bypass_csp=True, viewport=PHONE).new_page()
    log_in(page, person.email, f.PASSWORD)
    page.goto(f"/e/{past.slug}/survey")
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("survey (fr, 360 px)", violations)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    overall = page.get_by_role(
        "group", name=tr("Overall, how satisfied are you with this edition?")
    )
    overall.get_by_label(tr("4 – good")).check()
    contacts = page.get_by_role("group", name=tr("How useful were your contacts with recruiters?"))
    contacts.get_by_label(tr("2 – poor")).check()
    page.get_by_role("group", name=tr("Would you recommend this edition to others?")).get_by_label(
        tr("Yes"), exact=True
    ).check()
    page.get_by_label(tr("Your comment (optional)")).fill("Bien organisé.")
    with page.expect_navigation():
        page.get_by_role("button", name=tr("Send my answer")).click()
    assert tr("Thank you: your answer is saved.") in page.locator("main").inner_text()
    assert overall.get_by_label(tr("4 – good")).is_checked()
    assert contacts.get_by_label(tr("2 – poor")).is_checked()

    staff = new_context(lang="fr", bypass_csp=True).new_page()
    log_in(staff, organiser.email, f.PASSWORD)
    for path, heading in (
        (f"/organiser/editions/{past.id}/satisfaction", tr("Satisfaction")),
        (f"/organiser/editions/{coming.id}/health", tr("Health checks")),
    ):
        staff.goto(path)
        assert staff.get_by_role("heading", level=1).inner_text().startswith(heading)
        violations = axe_violations(staff, axe_source)
        assert not violations, describe_violations(path, violations)
    assert staff.get_by_role("button", name=tr("Remind the recruiters concerned by mail")).count()
