"""The design system's example page in Chromium: axe finds nothing serious in light and dark mode,
at 1280 and 360 px, in French and English; at 360 px nothing scrolls sideways and the stacked table
shows each cell with its column's label; the focus ring shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from fair import settings
from tests.browser.conftest import LiveServer, axe_violations, describe_violations, tr


@pytest.fixture
def styleguide_on(live_server: LiveServer) -> Iterator[None]:
    settings.override(replace(live_server.conf, styleguide=True))
    yield
    settings.override(live_server.conf)


@pytest.mark.parametrize(
    ("lang", "scheme", "width"),
    [("fr", "light", 1280), ("en", "dark", 360), ("fr", "dark", 1280), ("en", "light", 360)],
)
def test_styleguide_is_axe_clean(
    lang: str, scheme: str, width: int, styleguide_on: None, new_context: Any, axe_source: str
) -> None:
    context = new_context(
        bypass_csp=True,
        lang=lang,
        color_scheme=scheme,
        viewport={"width": width, "height": 800},
    )
    page = context.new_page()
    response = page.goto("/styleguide")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == tr("Design system", lang)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(18, 20, 23)" if scheme == "dark" else "rgb(255, 255, 255)")
    violations = axe_violations(page, axe_source)
    assert not violations, describe_violations(
        f"/styleguide ({lang}, {scheme}, {width})", violations
    )
    if width == 360:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        cell = page.locator(".table-wrap.stacks td").first
        assert cell.evaluate("c => getComputedStyle(c).display") == "block"
        label = cell.evaluate("c => getComputedStyle(c, '::before').content")
        assert label == f'"{tr("Offers", lang)}"'
    button = page.get_by_role("button", name=tr("Save as a draft", lang))
    button.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus from the keyboard: :focus-visible
    ring = button.evaluate(
        "b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth"
    )
    assert ring == "solid 3px"
