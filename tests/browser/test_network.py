"""Browser: the network of territories' pages, in French, axe-clean. An organiser registers a
partner instance from the keyboard on a phone-sized screen and copies the key issued to it; a
candidate finds a partner's offer in the search, marked with its territory, ticks the consent
that names what is sent, and sees the application on its way in their applications."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import network, network_sync
from fair.enums import Role
from fair.models import Edition, NetworkOffer, User
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    follow,
    log_in,
    tr,
)
from tests.partner_keys import key


async def _network(session: AsyncSession) -> tuple[User, User, Edition, int, str]:
    """Our edition with one partner ("Montluçon") holding one offer, a candidate with a CV,
    and a key of another edition to register as a second partner."""
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser, title="Forum du réseau")
    origin = await f.edition(session, title="Forum de Montluçon")
    _k, first = await key(session, origin, *network.SCOPES)
    _k, second = await key(session, origin, *network.SCOPES)
    partner, _issued = await network.register(
        session,
        edition=edition,
        base_url="http://127.0.0.1:9",
        territory="Montluçon",
        key=first,
        by=organiser,
    )
    now = datetime.now(UTC)
    item = network_sync.FeedItem(
        id=41,
        deleted=False,
        updated_at=now,
        url="http://127.0.0.1:9/offers/41",
        title="Électricien de maintenance",
        description="Maintenance des installations.",
        employer="Usine du Cher",
        rome_code="I1309",
        contract="cdi",
        working_time="full_time",
        commune="Montluçon",
        postcode="03100",
        latitude=46.34,
        longitude=2.6,
        created_at=now,
    )
    page = network_sync.FeedPage(territory="Montluçon", items=[item], cursor="c", more=False)
    await network_sync.apply_page(session, partner, page)
    held = await session.scalar(NetworkOffer.__table__.select().with_only_columns(NetworkOffer.id))
    candidate = await f.candidate(session, name="Léa Martin")
    return organiser, candidate, edition, int(held or 0), second


def test_partners_page_and_a_network_application(
    live_server: LiveServer, new_context: Any, axe_source: str
) -> None:
    organiser, candidate, edition, offer_id, second = live_server.seed(_network)
    context = new_context(lang="fr", bypass_csp=True, viewport={"width": 360, "height": 740})
    page = context.new_page()
    log_in(page, organiser.email, f.PASSWORD)
    page.goto(f"/organiser/editions/{edition.id}")
    follow(page, page.get_by_role("link", name=tr("Network of territories"), exact=True))
    assert "Montluçon" in page.locator("main").inner_text()
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("partners page", violations)

    page.locator("#f-territory").focus()
    page.keyboard.type("Vichy Communauté")
    page.get_by_label(tr("Address of the instance")).focus()
    page.keyboard.type("http://127.0.0.1:8")
    page.get_by_label(tr("The key it gave you")).focus()
    page.keyboard.type(second)
    page.get_by_role("button", name=tr("Register the partner")).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    issued = page.get_by_label(tr("The key for the partner")).input_value()
    assert issued.startswith("fair_") and len(issued) == 46
    assert second not in page.content()
    assert "Vichy Communauté" in page.locator("main").inner_text()
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations("partners page with a new key", violations)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width} px)"

    other = new_context(lang="fr", bypass_csp=True).new_page()
    log_in(other, candidate.email, f.PASSWORD)
    other.goto(f"/e/{edition.slug}/offers?q=electricien")
    mark = tr("Network offer · %(territory)s", territory="Montluçon")
    card = other.locator("li.network-offer")
    assert mark in card.inner_text()
    follow(other, card.get_by_role("link", name="Électricien de maintenance"))
    assert other.url.endswith(f"/network/offers/{offer_id}")
    violations = axe_violations(other, axe_source)
    assert not violations, describe_violations("network offer page", violations)
    consent = tr(
        "I agree that my name, my e-mail address, my message and my CV are sent to "
        "%(territory)s's instance, where the employer's recruiters will read them and answer "
        "there.",
        territory="Montluçon",
    )
    other.get_by_label(consent).focus()
    other.keyboard.press("Space")
    other.get_by_role("button", name=tr("Send my application")).focus()
    with other.expect_navigation():
        other.keyboard.press("Enter")
    assert other.url.endswith("/me/applications")
    text = other.locator("main").inner_text()
    assert tr("Applications to network offers") in text
    assert tr("On its way to the partner") in text
    violations = axe_violations(other, axe_source)
    assert not violations, describe_violations("applications with a network one", violations)
