"""Edition branding, the colours: WCAG contrast, acceptance and refusal with the nearest
accessible shade, and the design tokens derived for the edition's stylesheet."""

from __future__ import annotations

import colorsys
import itertools

import pytest

from fair import branding
from fair.branding import BLACK, WHITE, contrast, luminance
from fair.errors import Invalid

# A grid of colours over the whole cube (8 levels per channel: 512 colours).
GRID = [
    "#" + "".join(f"{v:02x}" for v in rgb) for rgb in itertools.product(range(0, 256, 36), repeat=3)
]


def hls(colour: str) -> tuple[float, float, float]:
    return colorsys.rgb_to_hls(*(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)))


def lightness(colour: str) -> float:
    return hls(colour)[1]


def hue(colour: str) -> float:
    return hls(colour)[0]


def test_wcag_figures() -> None:
    assert (luminance(WHITE), luminance(BLACK)) == (1.0, 0.0)
    assert round(contrast(WHITE, BLACK), 2) == 21.0
    assert round(contrast("#0b4f9c", WHITE), 2) == 8.04  # fair's own blue
    assert round(contrast("#777777", WHITE), 2) == 4.48


def test_automatic_text_picks_what_reads_best_and_always_finds_one() -> None:
    assert branding.check_colour("#0B4F9C") == ("#0b4f9c", WHITE)
    assert branding.check_colour("ffcc00") == ("#ffcc00", BLACK)
    assert branding.check_colour("#777777") == ("#777777", BLACK)  # 4.48 white, 4.69 black
    # The better of white and black reaches at least sqrt(21) = 4.58:1 on any colour.
    for colour in GRID:
        accepted, text = branding.check_colour(colour)
        assert contrast(accepted, text) >= 4.5


def test_a_colour_under_white_text_is_refused_with_the_nearest_darker_shade() -> None:
    with pytest.raises(Invalid) as refused:
        branding.check_colour("#f39200", text=WHITE)
    error = refused.value
    assert (error.code, error.status, error.params) == (
        "branding.contrast",
        422,
        {"shade": "#ab6600"},
    )
    assert error.fields == {
        "colour": "The text does not reach a 4.5:1 contrast on this colour. "
        "Choose a darker shade, e.g. %(shade)s."
    }
    shade = error.params["shade"]
    assert contrast(shade, WHITE) >= 4.5
    assert branding.check_colour(shade, text=WHITE) == (shade, WHITE)
    # The closest: one step (1/500 of lightness) lighter no longer passes; same hue.
    assert contrast(branding.with_lightness(shade, lightness(shade) + 0.004), WHITE) < 4.5
    assert abs(hue(shade) - hue("#f39200")) < 0.005


def test_a_colour_under_black_text_is_refused_with_a_lighter_shade() -> None:
    with pytest.raises(Invalid) as refused:
        branding.check_colour("#0b4f9c", text=BLACK)
    shade = refused.value.params["shade"]
    assert refused.value.fields["colour"].endswith("Choose a lighter shade, e.g. %(shade)s.")
    assert contrast(shade, BLACK) >= 4.5 > contrast("#0b4f9c", BLACK)
    assert lightness(shade) > lightness("#0b4f9c")


def test_every_proposed_shade_passes_and_is_close() -> None:
    for colour, text in itertools.product(GRID, (WHITE, BLACK)):
        shade = branding.nearest_accessible(colour, text)
        assert contrast(shade, text) >= 4.5, (colour, text, shade)
        if contrast(colour, text) >= 4.5:
            assert shade == colour
        else:  # the step before it fails
            back = 0.004 if text == WHITE else -0.004
            nearer = branding.with_lightness(shade, lightness(shade) + back)
            assert contrast(nearer, text) < 4.5 or nearer == shade, (colour, text, shade)


@pytest.mark.parametrize("raw", ["", "blue", "#12345", "#1234567", "#gg0000", "rgb(0,0,0)"])
def test_a_colour_not_written_as_hex_is_refused(raw: str) -> None:
    with pytest.raises(Invalid) as refused:
        branding.check_colour(raw)
    assert refused.value.code == "branding.colour_format"


def test_tokens_meet_the_design_systems_pairs_for_any_accepted_colour() -> None:
    """docs/DESIGN.md: the pairs that must reach 4.5:1, with the edition's tokens."""
    for colour in GRID:
        accepted, ink = branding.check_colour(colour)
        light, dark = branding.tokens(accepted, ink)
        pairs = [
            (light["--brand-ink"], light["--brand"]),
            (light["--brand-ink"], light["--brand-strong"]),
            *((light["--brand-text"], bg) for bg in ("#ffffff", "#f2f5f9", light["--brand-soft"])),
            ("#1b1b1b", light["--brand-soft"]),
            *((dark["--brand-text"], bg) for bg in (*branding.DARK_PAGE, dark["--brand-soft"])),
            ("#ececec", dark["--brand-soft"]),
        ]
        low = [(a, b, round(contrast(a, b), 2)) for a, b in pairs if contrast(a, b) < 4.5]
        assert low == [], colour


def test_the_stylesheet_sets_the_tokens_in_both_modes() -> None:
    light, dark = branding.tokens("#0b4f9c", WHITE)
    look = branding.Look("forum", None, None, light, dark)
    assert branding.stylesheet(look) == (
        ":root { --brand: #0b4f9c; --brand-strong: #083c76; --brand-ink: #ffffff; "
        "--brand-text: #0b4f9c; --brand-soft: #e7f2fd; }\n"
        "@media (prefers-color-scheme: dark) { :root { --brand-text: #3a90f1; "
        "--brand-soft: #052243; } }\n"
    )
    assert len(look.version) == 12
    other = branding.Look("forum", None, None, *branding.tokens("#0b4f9d", WHITE))
    assert other.version != look.version
