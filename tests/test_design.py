"""The design system's rules (docs/DESIGN.md): every text/background pair of colour tokens reads at
4.5:1 or more in light and dark mode, templates carry no style of their own, and the classes the
templates of the design system's area use exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fair import settings

CSS = settings.ROOT / "static" / "fair.css"
TEMPLATES = settings.ROOT / "templates"
STATIC = settings.ROOT / "static"

BACKGROUNDS = ("bg", "surface", "soft")
# (text, background) pairs of tokens that fair.css puts together, in both modes.
PAIRS = [
    *[
        (text, bg)
        for text in ("ink", "muted", "brand-text", "ok", "err", "warn")
        for bg in BACKGROUNDS
    ],
    ("ink", "brand-soft"),
    ("brand-text", "brand-soft"),
    ("ok", "ok-soft"),
    ("err", "err-soft"),
    ("warn", "warn-soft"),
    ("ink", "ok-soft"),
    ("ink", "err-soft"),
    ("ink", "warn-soft"),
    ("brand-ink", "brand"),
    ("brand-ink", "brand-strong"),
    ("brand", "brand-ink"),  # the header's unread badge
    ("danger-ink", "danger"),
    ("bg", "ink"),  # a danger button hovered
]


def _block(css: str, start: int) -> str:
    """The declarations of the `{ … }` block opening at or after `start` (no nesting inside)."""
    opened = css.index("{", start)
    return css[opened + 1 : css.index("}", opened)]


def _colours(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", block))


def tokens() -> tuple[dict[str, str], dict[str, str]]:
    """The colour tokens of fair.css's first :root block, and the same with the dark-mode block's
    redefinitions applied."""
    css = re.sub(r"/\*.*?\*/", "", CSS.read_text(encoding="utf-8"), flags=re.S)
    light = _colours(_block(css, css.index(":root")))
    dark_at = css.index("@media (prefers-color-scheme: dark)")
    dark = {**light, **_colours(_block(css, css.index(":root", dark_at)))}
    return light, dark


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_text_token_reads_on_its_backgrounds(mode: str) -> None:
    light, dark = tokens()
    colours = light if mode == "light" else dark
    assert len(colours) >= 20, colours  # the blocks were found
    low = {
        f"--{text} on --{bg}": round(contrast(colours[text], colours[bg]), 2)
        for text, bg in PAIRS
        if contrast(colours[text], colours[bg]) < 4.5
    }
    assert low == {}


def test_dark_mode_redefines_the_page_colours() -> None:
    light, dark = tokens()
    changed = {name for name in light if light[name] != dark[name]}
    assert {"bg", "surface", "soft", "ink", "muted", "brand-text", "ok", "err", "warn"} <= changed


def test_templates_have_no_style_of_their_own() -> None:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<style\b|\sstyle\s*=", text, re.I):
            line = text[: match.start()].count("\n") + 1
            found.append(f"{path.relative_to(TEMPLATES)}:{line}")
    assert found == []


# Templates whose owners write their own component blocks (issue 13): checked by them.
OTHERS = (
    "public/",
    "rooms/",
    "live/",
    "recruiter/desk.html",
    "recruiter/profile.html",
    "webconferences/stage.html",
    "organiser/branding.html",
    "candidate/my_fair.html",
)


# Hooks of the stage's player (webconferences/_player.html), styled with the stage.
HOOKS = {"stage-watch"}


def _defined_classes() -> set[str]:
    """Class names that a stylesheet styles or a script looks for."""
    names: set[str] = set(HOOKS)
    for path in STATIC.glob("*.css"):
        css = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
        names |= set(re.findall(r"\.(-?[A-Za-z_][\w-]*)", css))
    for path in STATIC.glob("*.js"):
        names |= set(re.findall(r"[\w-]+", path.read_text(encoding="utf-8")))
    return names


def _used_classes(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    used: set[str] = set()
    for match in re.finditer(r'\sclass="([^"]*)"', text):
        # Parts computed by Jinja ({{ … }}, {% … %}) are statuses and the like: not checked.
        literal = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", match.group(1))
        used |= {name for name in literal.split() if not name.endswith("-")}
    return used


def test_classes_of_the_templates_exist() -> None:
    defined = _defined_classes()
    missing = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name.startswith(OTHERS):
            continue
        unknown = _used_classes(path) - defined
        if unknown:
            missing[name] = sorted(unknown)
    assert missing == {}


STACKED = re.compile(
    r"\{% call tables\.scroll\([^)]*stack=true[^)]*\) %\}(.*?)\{% endcall %\}", re.S
)


def test_stacked_tables_label_every_cell() -> None:
    """A table in tables.scroll(..., stack=true) names its column in every body cell."""
    unlabelled = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in STACKED.finditer(text):
            body = re.search(r"<tbody>(.*?)</tbody>", match.group(1), re.S)
            cells = re.findall(r"<t[dh]\b[^>]*>", body.group(1) if body else "")
            unlabelled += [f"{path.name}: {cell}" for cell in cells if "data-label=" not in cell]
    assert unlabelled == []
    assert "stack=true" in (TEMPLATES / "styleguide.html").read_text()  # not vacuous
