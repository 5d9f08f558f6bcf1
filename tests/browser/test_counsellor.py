"""A counsellor's journey in Chromium, on a 360 px screen: an account made for a person without
e-mail (its printed code logs the person in), their CV uploaded, their job search filled in,
the offers that match it with the reasons, one of them put forward; the recruiter reads who
vouched. axe on every counsellor page and on the candidate's "My counsellors"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fair import structures
from fair.enums import Role, StructureKind
from fair.models import User
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in, tr


@dataclass(frozen=True)
class Seeded:
    counsellor_email: str
    recruiter_email: str
    booth_id: int


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Seeded:
    """An edition taking applications with a booth and its offer for a cariste near Montluçon,
    a mission locale admitted for it and one counsellor."""

    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title="Forum de l'emploi de Montluçon")
        booth, recruiter = await f.booth(session, edition_=edition)
        await f.offer(
            session,
            booth_=booth,
            title="Cariste (H/F)",
            rome_code="N1101",
            commune="Montluçon",
            postcode="03100",
            skills=["CACES 3"],
        )
        organiser = await session.get(User, edition.created_by_id)
        structure = await structures.create(
            session,
            by=organiser,
            data=structures.StructureInput(
                name="Mission locale de Montluçon",
                kind=StructureKind.MISSION_LOCALE.value,
                departement="03",
            ),
            edition_id=edition.id,
        )
        counsellor = await f.user(session, Role.COUNSELLOR, name="Claire Conseil")
        await structures.add_counsellor(
            session, by=organiser, structure=structure, email=counsellor.email, name=""
        )
        return Seeded(counsellor.email, recruiter.email, booth.id)

    return live_server.seed(make)


def _fits(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= innerWidth + 1"))


def test_a_counsellor_makes_an_account_uploads_a_cv_and_puts_the_person_forward(
    seeded: Seeded, new_context: Any, axe_source: str, tmp_path: Path
) -> None:
    found: list[str] = []

    def check(page: Any, where: str) -> None:
        assert _fits(page), f"{where} scrolls sideways at 360 px"
        violations = axe_violations(page, axe_source)
        if violations:
            found.append(describe_violations(where, violations))

    phone = {"width": 360, "height": 740}
    page = new_context(bypass_csp=True, viewport=phone).new_page()
    log_in(page, seeded.counsellor_email, f.PASSWORD)
    assert page.url.endswith("/counsellor")
    check(page, "/counsellor")

    # An account made with a person who has no e-mail address: a printed code.
    with page.expect_navigation():  # checked once the next page is there, not mid-way
        page.get_by_role("link", name=tr("Create an account with a person")).click()
    check(page, "/counsellor/people/new")
    page.get_by_label(tr("Their first name and last name")).fill("Jeanne Martin")
    page.get_by_label(tr("I have read this text and I agree (ticked by the person)")).check()
    page.get_by_role("button", name=tr("Create the account")).click()
    login = page.locator("[data-login]").inner_text()
    code = page.locator("[data-code]").inner_text()
    assert re.fullmatch(r"jeanne\.martin\.\d{4}", login) and re.fullmatch(r"[A-Z2-9-]{14}", code)
    check(page, "the printed code")

    # The person logs in with it and reads who accompanies them.
    person = new_context(bypass_csp=True, viewport=phone).new_page()
    person.goto("/code")
    person.get_by_label(tr("My code")).fill(code)
    person.get_by_label(tr("My new password")).fill("un mot de passe sûr")
    person.get_by_label(tr("The same password again")).fill("un mot de passe sûr")
    person.get_by_role("button", name=tr("Save my password and log in")).click()
    person.wait_for_url("**/me/counsellors")
    assert "Claire Conseil · Mission locale de Montluçon" in person.locator("main").inner_text()
    check(person, "/me/counsellors")

    # The counsellor uploads the CV and fills in the job search with them.
    page.goto("/counsellor")
    with page.expect_navigation():  # checked once the next page is there, not mid-way
        page.get_by_role("link", name="Jeanne Martin").click()
    check(page, "the candidate's page")
    cv = tmp_path / "cv-jeanne.pdf"
    cv.write_bytes(f.pdf_bytes("CV de Jeanne Martin"))
    page.get_by_label(tr("Add or replace the CV (a PDF file)")).set_input_files(str(cv))
    page.get_by_role("button", name=tr("Save the CV")).click()
    page.get_by_text(tr("The CV is saved.")).wait_for()
    assert page.get_by_role("link", name=tr("See the CV")).is_visible()
    with page.expect_navigation():  # checked once the next page is there, not mid-way
        page.get_by_role("link", name=tr("Their profile and the job they look for")).click()
    check(page, "the candidate's profile")
    page.get_by_label(tr("Commune")).fill("Montluçon")
    page.get_by_label(tr("Job %(n)s", n=1)).fill("N1101")
    page.get_by_label(tr("How far from home can you work (km)?")).fill("15")
    page.get_by_role("button", name=tr("Save the profile")).click()
    page.get_by_text(tr("The profile is saved.")).wait_for()

    # The offers that match, with the reasons; one put forward with a note.
    page.get_by_role("link", name=tr("Offers for this person: put them forward")).click()
    suggested = page.locator("[data-suggestions] > li").first
    assert "Cariste (H/F)" in suggested.inner_text()
    reasons = suggested.locator("li.reason").all_inner_texts()
    assert len(reasons) >= 3 and any("CACES 3" in r for r in reasons), reasons
    check(page, "the offers for the candidate")
    suggested.locator("summary").click()
    suggested.get_by_label(tr("Your note for the recruiter (why this person fits)")).fill(
        "Très motivée, CACES 3 en cours de passage."
    )
    suggested.get_by_role("button", name=tr("Put forward")).click()
    page.get_by_text(
        tr("%(name)s is put forward on “%(offer)s”.", name="Jeanne Martin", offer="Cariste (H/F)")
    ).wait_for()
    row = page.locator("tr", has_text="Cariste (H/F)")
    assert tr("By %(structure)s", structure="Mission locale de Montluçon") in row.inner_text()

    # The recruiter reads who vouched for the application, and the note.
    recruiter = new_context(bypass_csp=True).new_page()
    log_in(recruiter, seeded.recruiter_email, f.PASSWORD)
    recruiter.goto(f"/recruiter/booths/{seeded.booth_id}/applications")
    vouched = tr("Put forward by %(structure)s", structure="Mission locale de Montluçon")
    listed = recruiter.locator("tr", has_text="Jeanne Martin").inner_text()
    assert vouched in listed and "Très motivée, CACES 3 en cours de passage." in listed
    recruiter.get_by_role("link", name="Jeanne Martin").click()
    main = recruiter.locator("main").inner_text()
    assert vouched in main and tr("Counsellor: %(name)s", name="Claire Conseil") in main
    assert not found, "axe found serious or critical violations:\n" + "\n".join(found)
