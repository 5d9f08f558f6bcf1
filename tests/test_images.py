"""Uploaded images: checked by content and size, resized to fixed sizes in WebP and PNG/JPEG
(off the event loop). Serving them: tests/test_web_images.py."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from fair import images
from fair.errors import Invalid, TooLarge
from tests import factories as f
from tests.pictures import opened, picture


def shapes(prepared: images.Prepared) -> list[tuple[int, str, tuple[str | None, tuple[int, int]]]]:
    return [(v.width, v.format, opened(v.data)) for v in prepared.variants]


async def test_a_logo_gets_each_size_in_webp_and_png() -> None:
    prepared = await images.prepare(picture((600, 300)), images.LOGO, field="logo")
    assert prepared.content_type == "image/png"
    assert shapes(prepared) == [
        (96, "webp", ("WEBP", (96, 48))),
        (96, "png", ("PNG", (96, 48))),
        (192, "webp", ("WEBP", (192, 96))),
        (192, "png", ("PNG", (192, 96))),
    ]


async def test_a_photo_banner_falls_back_to_jpeg_and_is_never_enlarged() -> None:
    prepared = await images.prepare(picture((1000, 250), fmt="JPEG"), images.BANNER, field="b")
    assert shapes(prepared) == [
        (720, "webp", ("WEBP", (720, 180))),
        (720, "jpeg", ("JPEG", (720, 180))),
        (1440, "webp", ("WEBP", (1000, 250))),
        (1440, "jpeg", ("JPEG", (1000, 250))),
    ]


async def test_transparency_keeps_a_png_fallback_and_webp_is_smaller() -> None:
    data = picture((800, 800), fmt="WEBP", mode="RGBA")
    prepared = await images.prepare(data, images.LOGO, field="logo")
    assert [(v.width, v.format) for v in prepared.variants] == [
        (96, "webp"),
        (96, "png"),
        (192, "webp"),
        (192, "png"),
    ]
    with Image.open(io.BytesIO(prepared.variants[1].data)) as png:
        assert png.mode == "RGBA"
    sizes = {(v.width, v.format): len(v.data) for v in prepared.variants}
    assert sizes[(192, "webp")] < sizes[(192, "png")]


async def test_bad_content_and_oversize_are_refused() -> None:
    with pytest.raises(Invalid) as not_image:
        await images.prepare(b"%PDF-1.4 not an image", images.LOGO, field="logo")
    assert (not_image.value.code, not_image.value.fields) == (
        "upload.not_image",
        {"logo": "This file is not an image. Please choose a PNG, JPEG, WebP or GIF file."},
    )
    with pytest.raises(TooLarge) as too_large:
        await images.prepare(b"\x89PNG" + b"0" * (1024 * 1024), images.LOGO, field="logo")
    assert (too_large.value.code, too_large.value.params) == ("upload.too_large", {"max": 1})
    # A header claiming 8,000 x 8,000 pixels (64 million) is refused before decoding.
    with pytest.raises(Invalid) as bomb:
        await images.prepare(f.png_header(8000, 8000), images.BANNER, field="banner")
    assert (bomb.value.code, bomb.value.fields) == (
        "upload.image_dimensions",
        {"banner": "This image is too large: %(max)s pixels wide and high at most."},
    )


async def test_resizing_runs_off_the_event_loop() -> None:
    """A 1 ms timer keeps firing while a large photo is resized (it would fire once if the
    resizing held the event loop from start to end)."""
    data = picture((3000, 2000), fmt="JPEG")
    task = asyncio.ensure_future(images.prepare(data, images.BANNER, field="banner"))
    ticks = 0
    while not task.done():
        await asyncio.sleep(0.001)
        ticks += 1
    await task
    assert ticks >= 5
