"""An edition's branding: its primary colour, logo, banner and partners' logos.

The primary colour fills the header and the primary buttons with white or black text on it: it is
accepted when the text reaches 4.5:1 on it (WCAG 2 relative luminance): the text the organiser
chose, or else whichever of white and black reads best (one of them always does), which is
recorded. A refused colour comes back with the nearest accessible shade (same hue and
saturation, the closest lightness that passes). From it `look` derives the design tokens of
docs/DESIGN.md ("Branding") that the edition's stylesheet sets (fair.web.branding).
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy import inspect as orm_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.base import NO_VALUE

from fair import images
from fair.employers import URL_RE
from fair.errors import Invalid, NotFound
from fair.models import Edition, EditionBrand, EditionPartner, User

MIN_CONTRAST = 4.5
WHITE, BLACK = "#ffffff", "#000000"
HEX = re.compile(r"^#?([0-9a-f]{6})$")
MAX_PARTNERS = 40
# The page's backgrounds the brand is read on as text (fair.css, light and dark), and the text
# colour read on the soft tint.
LIGHT_PAGE = ("#ffffff", "#f2f5f9")
DARK_PAGE = ("#121417", "#1b1e23", "#242830")
LIGHT_INK, DARK_INK = "#1b1b1b", "#ececec"


# Colours ---------------------------------------------------------------------------------------


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _hex(r: float, g: float, b: float) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in (r, g, b))


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio, from 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(colour: str) -> str | None:
    """White or black, whichever reads best on `colour`; None when neither reaches 4.5:1."""
    best = max((WHITE, BLACK), key=lambda text: contrast(colour, text))
    return best if contrast(colour, best) >= MIN_CONTRAST else None


def with_lightness(colour: str, lightness: float) -> str:
    """`colour` with its hue and saturation (HLS) at another lightness, 0 to 1."""
    hue, _lightness, saturation = colorsys.rgb_to_hls(*_rgb(colour))
    return _hex(*colorsys.hls_to_rgb(hue, max(0.0, min(1.0, lightness)), saturation))


def _lightness(colour: str) -> float:
    return colorsys.rgb_to_hls(*_rgb(colour))[1]


def _shift(colour: str, darker: bool, passes: Callable[[str], bool]) -> str:
    """The first shade of `colour`, darker or lighter by steps of 1/500 of lightness, that
    `passes`; black or white at the end. `passes` only tests contrasts against white or light
    backgrounds (darker) or black or dark ones (lighter): moving the lightness one way only
    raises them (at a fixed hue and saturation each channel moves the same way), so the first
    passing step is found by bisection."""
    start = _lightness(colour)

    def shade(step: int) -> str:
        return with_lightness(colour, start - step / 500 if darker else start + step / 500)

    low, high = 1, 500
    if not passes(shade(high)):
        return BLACK if darker else WHITE
    while low < high:
        middle = (low + high) // 2
        if passes(shade(middle)):
            high = middle
        else:
            low = middle + 1
    return shade(low)


def nearest_accessible(colour: str, text: str | None = None) -> str:
    """The shade of `colour` closest in lightness that `text` (white or black) reads on at
    4.5:1: darker under white, lighter under black. Without `text`, whichever of the two needs
    the smaller change (darker on a tie); `colour` itself when it passes already."""
    if text is None and text_on(colour):
        return colour
    if text is not None and contrast(colour, text) >= MIN_CONTRAST:
        return colour
    darker = _shift(colour, True, lambda c: contrast(c, WHITE) >= MIN_CONTRAST)
    lighter = _shift(colour, False, lambda c: contrast(c, BLACK) >= MIN_CONTRAST)
    if text is not None:
        return darker if text == WHITE else lighter
    start = _lightness(colour)
    return min(
        (darker, lighter), key=lambda shade: (abs(_lightness(shade) - start), shade != darker)
    )


def check_colour(raw: str, *, text: str = "", field: str = "colour") -> tuple[str, str]:
    """The colour as #rrggbb (lower case) and the text colour to use on it, or Invalid naming
    `field` with the nearest accessible shade in its message.

    `text` "" (automatic): white or black, whichever reads best, accepted when it reaches
    4.5:1. Note that one of them always does (the better of the two contrasts is at least
    sqrt(21), 4.58:1): only a text colour the organiser imposes (WHITE or BLACK, their
    header's and buttons' text) can refuse a colour.
    """
    found = HEX.match(raw.strip().lower())
    if found is None:
        error = "Enter a colour as # followed by six hexadecimal digits, e.g. #0b4f9c."
        raise Invalid(error, code="branding.colour_format", fields={field: error})
    colour = "#" + found.group(1)
    chosen = text if text in (WHITE, BLACK) else text_on(colour)
    if chosen is None or contrast(colour, chosen) < MIN_CONTRAST:
        shade = nearest_accessible(colour, chosen)
        if _lightness(shade) < _lightness(colour):
            error = (
                "The text does not reach a 4.5:1 contrast on this colour. "
                "Choose a darker shade, e.g. %(shade)s."
            )
        else:
            error = (
                "The text does not reach a 4.5:1 contrast on this colour. "
                "Choose a lighter shade, e.g. %(shade)s."
            )
        raise Invalid(
            error, code="branding.contrast", params={"shade": shade}, fields={field: error}
        )
    return colour, chosen


# The tokens of an edition's stylesheet ---------------------------------------------------------


@dataclass(frozen=True)
class Look:
    """What the public pages of an edition wear: ids of its images and its colour tokens."""

    slug: str
    logo_file_id: int | None
    banner_file_id: int | None
    tokens: dict[str, str]  # light mode: --brand, --brand-strong, --brand-ink, ...
    dark_tokens: dict[str, str]  # dark mode: --brand-text, --brand-soft

    @property
    def version(self) -> str:
        """Names the stylesheet's content: its URL changes when the colour does."""
        text = repr(sorted(self.tokens.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def tokens(colour: str, ink: str) -> tuple[dict[str, str], dict[str, str]]:
    """The branding tokens of docs/DESIGN.md for a primary colour and the text on it."""
    start = _lightness(colour)
    strong = with_lightness(colour, start - 0.08 if ink == WHITE else start + 0.08)
    soft = with_lightness(colour, 0.95)
    text = _readable(colour, (*LIGHT_PAGE, soft), darker=True)
    dark_soft = with_lightness(colour, 0.14)
    dark_text = _readable(colour, (*DARK_PAGE, dark_soft), darker=False)
    light = {
        "--brand": colour,
        "--brand-strong": strong,
        "--brand-ink": ink,
        "--brand-text": text,
        "--brand-soft": soft if contrast(soft, LIGHT_INK) >= MIN_CONTRAST else "#ffffff",
    }
    dark = {"--brand-text": dark_text, "--brand-soft": dark_soft}
    return light, dark


def _readable(colour: str, backgrounds: tuple[str, ...], *, darker: bool) -> str:
    """`colour`, or the nearest shade of it in one direction, at 4.5:1 on every background."""

    def passes(shade: str) -> bool:
        return all(contrast(shade, bg) >= MIN_CONTRAST for bg in backgrounds)

    return colour if passes(colour) else _shift(colour, darker, passes)


def look(edition: object) -> Look | None:
    """The edition's branding as its public pages show it; None when it has none, or when its
    brand was not loaded with it (editions.get and editions.by_slug load it)."""
    if not isinstance(edition, Edition):
        return None
    loaded = orm_inspect(edition).attrs.brand.loaded_value
    if loaded is NO_VALUE or loaded is None:
        return None
    brand: EditionBrand = loaded
    light: dict[str, str] = {}
    dark: dict[str, str] = {}
    if brand.colour and brand.text_colour:
        light, dark = tokens(brand.colour, brand.text_colour)
    if not (light or brand.logo_file_id or brand.banner_file_id):
        return None
    return Look(edition.slug, brand.logo_file_id, brand.banner_file_id, light, dark)


def stylesheet(found: Look) -> str:
    """The edition's stylesheet: its tokens, loaded after fair.css (no other rule)."""
    if not found.tokens:
        return "/* This edition keeps fair's colours. */\n"

    def block(values: dict[str, str]) -> str:
        return ":root { " + " ".join(f"{k}: {v};" for k, v in values.items()) + " }"

    dark = block(found.dark_tokens)
    return f"{block(found.tokens)}\n@media (prefers-color-scheme: dark) {{ {dark} }}\n"


# Setting it ------------------------------------------------------------------------------------


@dataclass
class BrandInput:
    """What the organiser's form sends: a colour ("" for fair's own) and images, each one new
    (prepared by fair.images), kept (None) or removed."""

    colour: str
    text: str = ""  # "" automatic (white or black, whichever reads best), WHITE or BLACK
    logo: images.Prepared | None = None
    banner: images.Prepared | None = None
    remove_logo: bool = False
    remove_banner: bool = False


async def brand_of(session: AsyncSession, edition: Edition) -> EditionBrand:
    """The edition's brand row, made when it has none yet."""
    brand = await session.get(EditionBrand, edition.id)
    if brand is None:
        brand = EditionBrand(edition_id=edition.id)
        session.add(brand)
    return brand


async def update(session: AsyncSession, edition: Edition, *, by: User, data: BrandInput) -> None:
    """Set the edition's colour (checked: Invalid on the "colour" field) and images. A replaced
    or removed image's file stays stored: its URLs are immutable, cached by browsers."""
    colour, text = (
        check_colour(data.colour, text=data.text) if data.colour.strip() else (None, None)
    )
    if colour is None and data.logo is None and data.banner is None:
        if await session.get(EditionBrand, edition.id) is None:
            return  # nothing to set and nothing set before: no empty row
    brand = await brand_of(session, edition)
    brand.colour, brand.text_colour = colour, text
    if data.remove_logo:
        brand.logo_file_id = None
    if data.remove_banner:
        brand.banner_file_id = None
    if data.logo is not None:
        brand.logo_file_id = await _store(session, by, "logo", data.logo)
    if data.banner is not None:
        brand.banner_file_id = await _store(session, by, "banner", data.banner)
    await session.flush()


async def _store(session: AsyncSession, by: User, name: str, prepared: images.Prepared) -> int:
    stored = await images.store(session, owner_id=by.id, filename=name, prepared=prepared)
    return stored.id


# Partners --------------------------------------------------------------------------------------


async def partners(session: AsyncSession, edition_id: int) -> list[EditionPartner]:
    """The edition's partners in their order."""
    rows = await session.scalars(
        select(EditionPartner)
        .where(EditionPartner.edition_id == edition_id)
        .order_by(EditionPartner.position, EditionPartner.id)
    )
    return list(rows)


def check_partner(name: str, link: str) -> None:
    errors = {}
    if not name.strip():
        errors["partner_name"] = "This field is required."
    elif len(name) > 200:
        errors["partner_name"] = "This text is too long."
    if link and (not URL_RE.match(link) or len(link) > 300):
        errors["partner_link"] = "Enter a full web address starting with https://"
    if errors:
        raise Invalid("Some fields need correcting.", code="branding.partner", fields=errors)


async def add_partner(
    session: AsyncSession,
    edition: Edition,
    *,
    by: User,
    name: str,
    link: str,
    logo: images.Prepared,
) -> EditionPartner:
    """A partner at the end of the edition's list, with its logo (checked by the caller)."""
    check_partner(name, link)
    count = await session.scalar(
        select(func.count()).where(EditionPartner.edition_id == edition.id)
    )
    if (count or 0) >= MAX_PARTNERS:
        error = "An edition shows %(max)s partners at most."
        raise Invalid(error, code="branding.partners_full", params={"max": MAX_PARTNERS})
    last = await session.scalar(
        select(func.max(EditionPartner.position)).where(EditionPartner.edition_id == edition.id)
    )
    partner = EditionPartner(
        edition_id=edition.id,
        position=(last or 0) + 1,
        name=name.strip(),
        link=link.strip(),
        logo_file_id=await _store(session, by, "partner", logo),
    )
    session.add(partner)
    await session.flush()
    return partner


async def _partner(session: AsyncSession, edition: Edition, partner_id: int) -> EditionPartner:
    partner = await session.get(EditionPartner, partner_id)
    if partner is None or partner.edition_id != edition.id:
        raise NotFound("This partner does not exist.")
    return partner


async def move_partner(
    session: AsyncSession, edition: Edition, partner_id: int, *, earlier: bool
) -> None:
    """Swap the partner with the one before it (or after it); nothing at either end."""
    listed = await partners(session, edition.id)
    moved = await _partner(session, edition, partner_id)
    index = listed.index(moved)
    other = index - 1 if earlier else index + 1
    if not 0 <= other < len(listed):
        return
    listed[index], listed[other] = listed[other], listed[index]
    for position, partner in enumerate(listed, start=1):
        partner.position = position
    await session.flush()


async def remove_partner(session: AsyncSession, edition: Edition, partner_id: int) -> None:
    await session.delete(await _partner(session, edition, partner_id))
    await session.flush()
