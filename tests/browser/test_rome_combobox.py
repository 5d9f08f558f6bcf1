"""The offer form's ROME suggestions (static/combobox.js over /api/v1/rome/suggest), with the
keyboard only, on a 360 px phone: typing the title lists ROME jobs, Down and Enter choose one,
which fills the ROME code and keeps the title as typed; Escape closes the list; axe-clean."""

from __future__ import annotations

from typing import Any

from fair import rome_suggest
from fair.enums import Role
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in, tr

PHONE = {"width": 360, "height": 740}


def test_title_suggests_rome_jobs_with_the_keyboard(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, by=await f.user(session, Role.ORGANISER))
        booth, recruiter = await f.booth(session, edition_=edition)
        return booth.id, recruiter.email

    booth_id, email = live_server.seed(make)
    rome_suggest.invalidate()  # the server runs in this process: an index of this database
    page = new_context(viewport=PHONE, bypass_csp=True).new_page()
    log_in(page, email, f.PASSWORD)
    page.goto(f"/recruiter/booths/{booth_id}/offers/new")
    title = page.get_by_role("combobox", name=tr("Job title"))
    title.press_sequentially("Électricien du bâtiment H/F", delay=10)
    listbox = page.get_by_role("listbox")
    listbox.wait_for(state="visible")
    options = listbox.get_by_role("option")
    first = options.first.inner_text()
    assert first == "Électricien / Électricienne du bâtiment (F1602)"
    assert title.get_attribute("aria-expanded") == "true"
    violations = axe_violations(page, axe_source)
    assert violations == [], describe_violations("offer form with suggestions", violations)

    title.press("ArrowDown")
    assert title.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    assert options.first.get_attribute("aria-selected") == "true"
    title.press("Enter")
    assert page.locator("#f-rome_code").input_value() == "F1602"
    assert title.input_value() == "Électricien du bâtiment H/F"
    assert title.get_attribute("aria-expanded") == "false"
    assert listbox.is_hidden()
    assert "/offers/new" in page.url  # Enter chose; it did not submit the form

    title.press("ArrowDown")  # asks again, then Escape closes
    listbox.wait_for(state="visible")
    title.press("Escape")
    assert listbox.is_hidden() and title.input_value() == "Électricien du bâtiment H/F"
