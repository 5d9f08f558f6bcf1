"""The demo edition's branding and its recruiters' photos, drawn at seed time.

fair.demo calls `dress` once the fair is built: the edition gets the colour of
fair/data/demo.toml [edition.brand], a logo (its initials on that colour), a banner (a soft
gradient of that colour under the edition's name) and its partners' logos (their names as
wordmarks, each in its colour), through fair.branding as the organiser's Branding page sets
them; each recruiter gets a job title and, for a photo, their initials in a circle, through
fair.recruiter_profiles as their profile page does. Nothing is downloaded and no picture shows a
real person. Drawing (Pillow) runs in a worker thread, like fair.images' resizing.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.ext.asyncio import AsyncSession

from fair import branding, images, recruiter_profiles
from fair.models import Edition, User

# Fonts: DejaVu Sans Bold when the system has it (Debian's fonts-dejavu), else Pillow's own.
FONT = "DejaVuSans-Bold.ttf"
# Words an edition's initials skip ("Rencontres pour l'emploi" -> "RE").
SMALL_WORDS = {"de", "des", "du", "la", "le", "les", "et", "en", "à", "au", "aux", "pour", "sur"}
LOGO_SIZE = 384  # drawn large: fair.images derives the 96 and 192 px sizes
BANNER_SIZE = (1440, 360)  # the banner's 4:1 (fair.css .edition-banner) at its largest size
WORDMARK_SIZE = (384, 192)  # 2:1: 96 x 48 at 1x, as the 48 px high partners' row shows it
AVATAR_SIZE = 256


async def dress(
    session: AsyncSession,
    *,
    edition: Edition,
    organiser: User,
    recruiters: list[User],
    brand: dict[str, Any],
    people: dict[str, Any],
) -> None:
    """Brand `edition` (colour, logo, banner, partners) as `organiser` and give each recruiter
    a job title and a drawn photo: `brand` and `people` are demo.toml's [edition.brand] and
    [recruiters]."""
    colour: str = brand["colour"]
    logo = await _drawn(images.LOGO, "logo", draw_logo, initials(edition.title), colour)
    banner = await _drawn(images.BANNER, "banner", draw_banner, edition.title, colour)
    await branding.update(
        session,
        edition,
        by=organiser,
        data=branding.BrandInput(colour=colour, logo=logo, banner=banner),
    )
    for partner in brand["partners"]:
        name, link = partner["name"], partner["link"]
        wordmark = await _drawn(images.LOGO, "logo", draw_wordmark, name, partner["colour"])
        await branding.add_partner(
            session, edition, by=organiser, name=name, link=link, logo=wordmark
        )
    for n, user in enumerate(recruiters):
        await _profile(session, user, n, people["job_titles"], people["avatar_colours"])


async def _profile(
    session: AsyncSession, user: User, n: int, titles: list[str], colours: list[str]
) -> None:
    avatar = await asyncio.to_thread(draw_avatar, initials(user.name), colours[n % len(colours)])
    await recruiter_profiles.update(
        session,
        user,
        job_title=titles[n % len(titles)],
        photo=recruiter_profiles.Photo("avatar.png", avatar, agreed=True),
    )


async def _drawn(
    preset: images.Preset, field: str, draw: Callable[[str, str], bytes], text: str, colour: str
) -> images.Prepared:
    """`draw(text, colour)` in a worker thread, then checked and resized by fair.images."""
    data = await asyncio.to_thread(draw, text, colour)
    return await images.prepare(data, preset, field=field)


def initials(name: str) -> str:
    """The first letters of a name's first two words that are not small words, upper case:
    'Rencontres pour l'emploi 2026' -> 'RE', 'Karim Benali' -> 'KB'."""
    words = [w.split("'")[-1] for w in name.split()]
    kept = [w for w in words if w and w[0].isalpha() and w.lower() not in SMALL_WORDS]
    return "".join(w[0] for w in kept[:2]).upper()


# Drawing (CPU-bound: call these in a thread) ---------------------------------------------------


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default(size)


def _rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _centred(draw: ImageDraw.ImageDraw, box: tuple[int, int], text: str, size: int) -> None:
    """`text` in white, centred in a box of `box` size at the origin."""
    draw.text((box[0] / 2, box[1] / 2), text, font=_font(size), fill="white", anchor="mm")


def draw_logo(text: str, colour: str) -> bytes:
    """`text` (initials) in white on a rounded square of `colour`, transparent corners."""
    image = Image.new("RGBA", (LOGO_SIZE, LOGO_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, LOGO_SIZE - 1, LOGO_SIZE - 1), radius=72, fill=colour)
    _centred(draw, (LOGO_SIZE, LOGO_SIZE), text, 170)
    return _png(image)


def draw_avatar(text: str, colour: str) -> bytes:
    """`text` (initials) in white in a disc of `colour`, transparent around it."""
    image = Image.new("RGBA", (AVATAR_SIZE, AVATAR_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, AVATAR_SIZE - 1, AVATAR_SIZE - 1), fill=colour)
    _centred(draw, (AVATAR_SIZE, AVATAR_SIZE), text, 100)
    return _png(image)


def draw_banner(title: str, colour: str) -> bytes:
    """A soft diagonal gradient from `colour` to a lighter tint of it, two faint discs on the
    right, and `title` in white on the left (a JPEG: a photo-like picture)."""
    width, height = BANNER_SIZE
    dark = _rgb(colour)
    light = _rgb(branding.with_lightness(colour, 0.45))
    ramp = Image.linear_gradient("L").rotate(90).resize((width, height))  # 0 left to 255 right
    image = Image.composite(
        Image.new("RGB", BANNER_SIZE, light), Image.new("RGB", BANNER_SIZE, dark), ramp
    )
    veil = Image.new("RGBA", BANNER_SIZE, (0, 0, 0, 0))
    shapes = ImageDraw.Draw(veil)
    shapes.ellipse((width - 520, -160, width + 120, 480), fill=(255, 255, 255, 34))
    shapes.ellipse((width - 330, 150, width + 10, 490), fill=(255, 255, 255, 28))
    image = Image.alpha_composite(image.convert("RGBA"), veil).convert("RGB")
    draw = ImageDraw.Draw(image)
    size = _fitting(title, width * 0.62, 84)
    draw.text((96, height / 2), title, font=_font(size), fill="white", anchor="lm")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, optimize=True, progressive=True)
    return out.getvalue()


def draw_wordmark(name: str, colour: str) -> bytes:
    """`name` on one or two lines in `colour`, beside a bar of it, on a white card with rounded
    corners (readable on the light and the dark pages alike)."""
    width, height = WORDMARK_SIZE
    image = Image.new("RGBA", WORDMARK_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=24, fill="white")
    draw.rounded_rectangle((16, 32, 30, height - 32), radius=7, fill=colour)
    lines = _lines(name)
    left = 46
    size = min(_fitting(line, width - left - 14, 68) for line in lines)
    font = _font(size)
    step = size * 1.12
    top = height / 2 - step * (len(lines) - 1) / 2
    for n, line in enumerate(lines):
        draw.text((left, top + n * step), line, font=font, fill=colour, anchor="lm")
    return _png(image)


def _lines(name: str) -> list[str]:
    """One line for a short name, else two balanced at a space."""
    words = name.split()
    if len(name) <= 12 or len(words) == 1:
        return [name]
    cuts = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    first, second = min(cuts, key=lambda pair: abs(len(pair[0]) - len(pair[1])))
    return [first, second]


def _fitting(text: str, room: float, largest: int) -> int:
    """The largest font size up to `largest` at which `text` is at most `room` pixels wide."""
    size = largest
    while size > 8 and _font(size).getlength(text) > room:
        size -= 2
    return size
