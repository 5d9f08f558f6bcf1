"""The offer search's suggestions as the person types (static/combobox.js over
/e/<slug>/offers/suggest), with the keyboard only, on a 360 px phone: the job field lists job
names, the commune field communes by name or postcode; Down and Enter choose one, which goes
into the field; Escape closes the list; Enter with no option chosen searches; axe-clean."""

from __future__ import annotations

from typing import Any

from fair import rome_suggest, search
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, tr

PHONE = {"width": 360, "height": 740}


def test_search_fields_suggest_with_the_keyboard(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session)
        booth, _recruiter = await f.booth(session, edition_=edition)
        await f.offer(session, booth_=booth, title="Chauffeur livreur", commune="Lattes",
                      postcode="34970", rome_code="N4105")  # fmt: skip
        return edition.slug

    slug = live_server.seed(make)
    rome_suggest.invalidate()  # the server runs in this process: an index of this database
    page = new_context(viewport=PHONE, bypass_csp=True).new_page()  # axe is injected
    page.goto(f"/e/{slug}/offers")

    job = page.get_by_role("combobox", name=tr("Job, skill or keyword"))
    job.press_sequentially("chauffeur liv", delay=20)
    jobs = page.locator(f"#{job.get_attribute('aria-controls')}")
    jobs.wait_for(state="visible")
    assert jobs.get_attribute("role") == "listbox"
    # The shipped ROME labels and the offer's title, each word begun as typed.
    texts = jobs.get_by_role("option").all_inner_texts()
    assert "Chauffeur livreur" in texts
    for shown in map(search.words, texts):
        assert shown[0] == "chauffeur" and any(w.startswith("liv") for w in shown), texts
    assert job.get_attribute("aria-expanded") == "true"
    violations = axe_violations(page, axe_source)
    assert violations == [], describe_violations("search with job suggestions", violations)
    wanted = texts.index("Chauffeur livreur")
    for _ in range(wanted + 1):
        job.press("ArrowDown")
    option = jobs.get_by_role("option").nth(wanted)
    assert job.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert option.get_attribute("aria-selected") == "true"
    job.press("Enter")
    assert job.input_value() == "Chauffeur livreur" and jobs.is_hidden()
    assert job.get_attribute("aria-expanded") == "false"
    assert page.url.endswith(f"/e/{slug}/offers")  # Enter chose; it did not submit the form

    commune = page.get_by_role("combobox", name=tr("Near the commune"))
    commune.focus()
    commune.press_sequentially("3497", delay=20)
    communes = page.locator(f"#{commune.get_attribute('aria-controls')}")
    communes.wait_for(state="visible")
    assert communes.get_by_role("option").all_inner_texts() == ["Lattes (34970)"]
    violations = axe_violations(page, axe_source)
    assert violations == [], describe_violations("search with commune suggestions", violations)
    commune.press("ArrowDown")
    commune.press("Enter")
    assert commune.input_value() == "Lattes" and communes.is_hidden()

    commune.press("ArrowDown")  # asks again, then Escape closes and keeps the choice
    communes.wait_for(state="visible")
    commune.press("Escape")
    assert communes.is_hidden() and commune.input_value() == "Lattes"

    # Enter with no option chosen submits the search, the fields as filled.
    commune.press("Enter")
    page.wait_for_url("**commune=Lattes**")
    assert "q=Chauffeur+livreur" in page.url
    assert page.locator("ul.cards h2").all_inner_texts() == ["Chauffeur livreur"]
