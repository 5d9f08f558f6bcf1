"""The embeddable widget on a partner's site (issue 14 item 8): a page served from another
origin on loopback puts the offer search there with static/embed.js; Chromium shows it in
the edition's colours, fitted to its height, accessible (axe on the framed document), with no
cookie; the same page served from an origin the organiser did not list gets no widget (the
frame is blocked by frame-ancestors). The organiser's page listing the site is accessible too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fair import branding, embeds
from fair.enums import Role
from tests import factories as f
from tests.browser.conftest import (
    LiveServer,
    axe_violations,
    describe_violations,
    log_in,
    tr,
)

COLOUR = "#1d6b35"


@dataclass(frozen=True)
class Fair:
    slug: str
    edition_id: int
    organiser: str  # their e-mail address


@contextmanager
def partner_site(pages: dict[str, str]) -> Iterator[str]:
    """A partner's site on a free loopback port, serving `pages["/"]` as it stands when asked
    (the page names fair's widget once the site's origin is listed); its origin."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = pages["/"].encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def partner_page(live: LiveServer, slug: str) -> str:
    widget = f"{live.url}/embed/e/{slug}/offers"
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Mairie</title></head>'
        "<body><main><h1>Emploi à la mairie</h1>"
        f'<script src="{live.url}/static/embed.js" data-fair-widget="{widget}"'
        ' data-fair-title="Offres du forum" async></script>'
        "</main></body></html>"
    )


def seed_fair(live: LiveServer, listed: list[str]) -> Fair:
    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER)
        edition = await f.edition(session, by=organiser, title="Forum de la mairie")
        booth, _recruiter = await f.booth(session, edition_=edition)
        await f.offer(session, booth_=booth, title="Cariste (H/F)", rome_code="N1101")
        await f.offer(session, booth_=booth, title="Électricien du bâtiment (H/F)")
        await branding.update(
            session, edition, by=organiser, data=branding.BrandInput(colour=COLOUR)
        )
        await embeds.replace(session, edition, listed)
        return Fair(edition.slug, edition.id, organiser.email)

    return live.seed(make)


def test_a_listed_site_shows_the_widget_and_another_cannot_frame_it(  # type: ignore[no-untyped-def]
    new_context, axe_source, live_server: LiveServer
) -> None:
    context = new_context(viewport={"width": 800, "height": 900})
    page = context.new_page()
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None)
    pages: dict[str, str] = {}
    with partner_site(pages) as listed_origin:
        fair = seed_fair(live_server, [listed_origin])
        pages["/"] = partner_page(live_server, fair.slug)
        page.goto(listed_origin)
        frame = page.frame_locator("iframe[title='Offres du forum']")
        titles = frame.locator("main .card h2 a")
        titles.first.wait_for()
        assert sorted(a.text_content() for a in titles.all()) == [
            "Cariste (H/F) " + tr("(opens in a new tab)"),
            "Électricien du bâtiment (H/F) " + tr("(opens in a new tab)"),
        ]
        assert {(a.get_attribute("target"), a.get_attribute("rel")) for a in titles.all()} == {
            ("_blank", "noopener")
        }
        header = frame.locator("header.site")
        assert header.evaluate("h => getComputedStyle(h).backgroundColor") == "rgb(29, 107, 53)"
        # The frame is fitted to the widget (static/embed.js, told by static/embed-frame.js).
        inner = frame.locator("html").evaluate("h => Math.ceil(h.getBoundingClientRect().height)")
        page.wait_for_function(
            "h => document.querySelector('iframe').height === String(h)", arg=inner
        )
        # The commune suggested as typed (static/combobox.js), chosen from the keyboard.
        commune = frame.get_by_role("combobox", name=tr("Near the commune"))
        commune.press_sequentially("3497", delay=20)
        frame.get_by_role("option", name="Lattes (34970)").wait_for()
        commune.press("ArrowDown")
        commune.press("Enter")
        assert commune.input_value() == "Lattes"
        commune.fill("")
        # A search from the keyboard, inside the frame.
        frame.get_by_role("combobox", name=tr("Job, skill or keyword")).fill("cariste")
        frame.get_by_role("combobox", name=tr("Job, skill or keyword")).press("Enter")
        frame.locator("#results").filter(has_text="1").wait_for()
        found = [a.text_content() for a in titles.all()]
        assert found == ["Cariste (H/F) " + tr("(opens in a new tab)")]
        assert context.cookies() == []

        widget = next(fr for fr in page.frames if "/embed/" in fr.url)
        widget.evaluate("() => {" + axe_source + "}")  # CSP does not bind DevTools' evaluation
        violations = axe_violations(widget, axe_source)
        assert not violations, describe_violations("the widget in its frame", violations)
        assert refusals == []

    # The same page on a site the organiser did not list: Chromium refuses to frame it.
    with partner_site(pages) as other_origin:
        page.goto(other_origin)
        page.wait_for_selector("iframe")
        page.wait_for_function("() => true")
        for _ in range(50):
            if refusals:
                break
            page.wait_for_timeout(100)
        assert len(refusals) == 1 and f"frame-ancestors {listed_origin}" in refusals[0], refusals
        assert page.frame_locator("iframe").locator("main").count() == 0
        (blocked,) = [fr for fr in page.frames if fr is not page.main_frame]
        assert blocked.url == "chrome-error://chromewebdata/"

    # The organiser's page listing the site, with the snippets to paste there.
    organiser = new_context(bypass_csp=True).new_page()
    log_in(organiser, fair.organiser, f.PASSWORD)
    organiser.goto(f"/organiser/editions/{fair.edition_id}/embed")
    assert organiser.get_by_label(tr("Sites, one a line")).input_value() == listed_origin
    violations = axe_violations(organiser, axe_source)
    assert not violations, describe_violations("the organiser's widget page", violations)
