"""Images for the tests of uploads (fair.images, fair.branding): detailed ones, read back."""

from __future__ import annotations

import io

from PIL import Image


def picture(size: tuple[int, int], *, fmt: str = "PNG", mode: str = "RGB") -> bytes:
    """An image with some detail (a flat one compresses to nothing)."""
    image = Image.new(mode, size, (11, 79, 156, 255) if mode == "RGBA" else (11, 79, 156))
    for x in range(0, size[0], 7):
        for y in range(0, size[1], 5):
            image.putpixel((x, y), (240, 200, 10, 128) if mode == "RGBA" else (240, 200, 10))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def opened(data: bytes) -> tuple[str | None, tuple[int, int]]:
    """An encoded image's format and size."""
    with Image.open(io.BytesIO(data)) as image:
        return image.format, image.size
