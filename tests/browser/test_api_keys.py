"""Browser: an organiser creates a partner's API key from the keyboard on a phone-sized screen,
in French, copies it from the one page that shows it, sees it open the API, then revokes it and
sees the API refuse it. The page is axe-clean before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair.enums import Role
from fair.models import Booth, Edition, User
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    follow,
    log_in,
    tr,
)


async def _fair(session: AsyncSession) -> tuple[User, Edition, Booth]:
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser, title="Forum des partenaires")
    booth, _recruiter = await f.booth(session, edition_=edition)
    return organiser, edition, booth


def test_create_use_and_revoke_a_key(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    organiser, edition, booth = live_server.seed(_fair)
    context = new_context(lang="fr", bypass_csp=True, viewport={"width": 360, "height": 740})
    page = context.new_page()
    log_in(page, organiser.email, f.PASSWORD)
    page.goto(f"/organiser/editions/{edition.id}")
    follow(page, page.get_by_role("link", name=tr("API keys"), exact=True))
    assert page.get_by_role("heading", level=1).inner_text().startswith(tr("API keys"))
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("API keys page", violations)

    page.get_by_label(tr("Name")).focus()
    page.keyboard.type("Logiciel de recrutement")
    page.get_by_label(tr("Read the booth's applications (ATS)")).focus()
    page.keyboard.press("Space")
    page.get_by_label(tr("Booth"), exact=True).select_option(str(booth.id))
    page.get_by_role("button", name=tr("Create the key")).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    warning = tr("Copy this key now: it will not be shown again")
    assert warning in page.locator("main").inner_text()
    raw = page.get_by_label(tr("The new key")).input_value()
    assert raw.startswith("fair_") and len(raw) == 46
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("API keys page with a new key", violations)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width} px)"

    api = f"/api/v1/editions/{edition.id}/booths/{booth.id}/applications"
    headers = {"Authorization": f"Bearer {raw}"}
    assert page.request.get(api, headers=headers).status == 200

    page.goto(f"/organiser/editions/{edition.id}/api-keys")
    assert raw not in page.content()  # shown once
    revoke = tr("Revoke the key %(name)s", name="Logiciel de recrutement")
    follow(page, page.get_by_role("button", name=revoke))
    revoked = tr(
        "The key %(name)s is revoked: it no longer opens the API.", name="Logiciel de recrutement"
    )
    assert revoked in page.locator("body").inner_text()
    refused = page.request.get(api, headers=headers)
    assert (refused.status, refused.json()["error"]["code"]) == (401, "api.key_invalid")
