"""An edition in its organiser's colours (issue 13 item 2): its public pages wear the colour,
logo and banner, and stay accessible (axe: nothing serious or critical) at 360 and 1280 px, in
light and dark mode. A light brand (black text on it) is the harder case: every brand-coloured
text and fill moves away from fair's blue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from fair import branding, images
from fair.enums import Role
from tests import factories as f
from tests.browser.conftest import LiveServer, axe_violations, describe_violations
from tests.pictures import picture

COLOUR = "#ffcc00"  # a yellow: black text on it


@dataclass(frozen=True)
class Branded:
    slug: str
    booth_id: int
    logo_file_id: int


@pytest.fixture(scope="module")
def branded(live_server: LiveServer) -> Branded:
    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
        edition = await f.edition(session, by=organiser, title="Forum en couleurs")
        booth, _recruiter = await f.booth(session, edition_=edition)
        await f.offer(session, booth_=booth)
        logo = await images.prepare(picture((400, 200)), images.LOGO, field="logo")
        banner = await images.prepare(
            picture((1600, 400), fmt="JPEG"), images.BANNER, field="banner"
        )
        data = branding.BrandInput(colour=COLOUR, logo=logo, banner=banner)
        await branding.update(session, edition, by=organiser, data=data)
        brand = await branding.brand_of(session, edition)
        assert brand.logo_file_id is not None
        return Branded(edition.slug, booth.id, brand.logo_file_id)

    return live_server.seed(make)


def rgb(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (360, "light"), (360, "dark")])
def test_a_branded_edition_is_accessible(  # type: ignore[no-untyped-def]
    new_context, axe_source, branded: Branded, width: int, scheme: str
) -> None:
    context = new_context(
        lang="fr",
        viewport={"width": width, "height": 800},
        color_scheme=scheme,
        bypass_csp=True,
    )
    page = context.new_page()
    problems: list[str] = []
    for path in (f"/e/{branded.slug}", f"/e/{branded.slug}/booths"):
        page.goto(path)
        header: Any = page.evaluate(
            "() => { const s = getComputedStyle(document.querySelector('header.site'));"
            " return [s.backgroundColor, s.color]; }"
        )
        assert header == [rgb(COLOUR), "rgb(0, 0, 0)"], path
        logo = page.locator(".edition-logo img")
        assert logo.get_attribute("src") == f"/files/images/{branded.logo_file_id}/96"
        assert page.evaluate(
            "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
        ), path
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, path
        violations = axe_violations(page, axe_source)
        if violations:
            problems.append(describe_violations(f"{path} {width} {scheme}", violations))
    assert page.locator(".edition-banner").count() == 0  # the hall: no banner
    assert problems == []
