"""Browser: an organiser downloads the exports as XLSX from the exports page, in French; each
workbook opens with openpyxl and its figures match the page. The page is axe-clean."""

from __future__ import annotations

from typing import Any

import openpyxl
from sqlalchemy.ext.asyncio import AsyncSession

from fair import participants
from fair.enums import Role
from fair.models import Edition, User
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in, tr


async def _fair(session: AsyncSession) -> tuple[User, Edition]:
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser, title="Forum des exports")
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, positions=3, open_seniors=True)
    people = [await f.user(session, can_log_in=False) for _ in range(7)]
    await participants.register_many(session, [(edition.id, p.id) for p in people])
    await f.application(session, offer_=offer, can_log_in=False)
    return organiser, edition


def _download(page: Any, target: Any, path: Any) -> list[list[Any]]:
    with page.expect_download() as info:
        target.click()
    download = info.value
    download.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_xlsx_exports_match_the_page(
    live_server: LiveServer, new_context: Any, axe_source: str, tmp_path: Any
) -> None:
    organiser, edition = live_server.seed(_fair)
    page = new_context(lang="fr", bypass_csp=True).new_page()
    log_in(page, organiser.email, f.PASSWORD)
    page.goto(f"/organiser/editions/{edition.id}/exports")
    assert page.get_by_role("heading", level=1).inner_text().startswith(tr("Exports"))
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("exports page", violations)

    shown = {
        cell.get_attribute("data-column"): cell.inner_text().strip()
        for cell in page.locator("#event-figures dd").all()
    }
    events = tr("The edition in France Travail's events shape")
    header, row = _download(
        page, page.get_by_role("link", name=f"{events}, XLSX"), tmp_path / "events.xlsx"
    )
    named = dict(zip(header, row, strict=True))
    for column in ("nombreRecruteurs", "nombreOffres", "nombrePostes", "inscritsDistance"):
        assert str(named[column]) == shown[column], column
    assert (shown["nombrePostes"], shown["inscritsDistance"]) == ("3", "8")
    assert named["nombreCandidatures"] == shown["nombreCandidatures"] == tr("hidden")
    assert named["codesROME"] == shown["codesROME"] == "F1602"

    funnel = tr("Funnel per candidate")
    rows = _download(
        page, page.get_by_role("button", name=f"{funnel}, XLSX"), tmp_path / "funnel.xlsx"
    )
    assert rows[0][:2] == [tr("Candidate (pseudonym)"), tr("Registered on")]
    assert len(rows) - 1 == int(shown["inscritsDistance"])  # one row per registrant
    # The download is recorded: the audit list shows it after a reload.
    page.reload()
    audit = page.locator("section[aria-labelledby=audit-title] tbody tr")
    assert audit.count() == 1
    assert funnel in audit.first.inner_text() and "XLSX" in audit.first.inner_text()
