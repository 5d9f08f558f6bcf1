"""The admission waiting page in Chromium at 360 px: axe-clean in French and English."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from fair import admission_gate, participants
from fair.models import Edition
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, log_in, tr


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_waiting_page_at_360px(
    live_server: LiveServer, new_context: Any, axe_source: str, lang: str
) -> None:
    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title=f"Forum complet {lang}", admission_active_cap=1)
        people = [await f.candidate(session) for _ in range(2)]
        for person in people:
            await participants.register(session, edition_id=edition.id, user=person)
        return edition.id, edition.slug, [p.email for p in people]

    edition_id, slug, emails = live_server.seed(make)
    admission_gate.forget()
    try:
        pages = []
        for email in emails:
            context = new_context(
                lang=lang, viewport={"width": 360, "height": 740}, bypass_csp=True
            )
            page = context.new_page()
            log_in(page, email, f.PASSWORD, lang)
            page.goto(f"/e/{slug}/my-fair")
            pages.append(page)
        waiting = pages[1]
        assert waiting.url.endswith(f"/e/{slug}/waiting?next=/e/{slug}/my-fair")
        status = waiting.get_by_role("status")
        expected = tr("You are number %(num)s in line, out of %(waiting)s.", lang, num=1, waiting=1)
        assert expected in status.inner_text()
        scroll = waiting.evaluate("document.documentElement.scrollWidth")
        assert scroll <= 360
        violations = axe_violations(waiting, axe_source)
        assert not violations, describe_violations(f"waiting page ({lang})", violations)
    finally:
        # The live server is shared: the gate goes off for the browser tests that follow.
        async def lift(session):  # type: ignore[no-untyped-def]
            await session.execute(
                update(Edition).where(Edition.id == edition_id).values(admission_active_cap=0)
            )

        live_server.seed(lift)
        admission_gate.forget()
