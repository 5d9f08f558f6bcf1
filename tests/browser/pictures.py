"""Images as people upload them, for the budget and design tests: a marketing department's logo
(a large PNG) and a banner photo (a large JPEG). Deterministic, drawn with Pillow."""

from __future__ import annotations

import io
import random


def logo_png(size: int = 1000, *, text: str = "ACME") -> bytes:
    """A 1000 px PNG of about 20 KB: a gradient, a disc and antialiased lettering."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for y in range(size):
        draw.line([(0, y), (size, y)], fill=(11 + y // 8, 79 + y // 10, 156 - y // 12))
    draw.ellipse((size // 8, size // 8, size * 7 // 8, size * 7 // 8), fill=(250, 250, 250))
    font = ImageFont.load_default(size // 6)
    draw.text((size // 6, size * 2 // 5), text, fill=(200, 60, 20), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def banner_jpeg(width: int = 2400, height: int = 800) -> bytes:
    """A 2400 x 800 photo-like JPEG of about 300 KB: soft colour fields and a camera's grain
    (its 720 px WebP weighs about 16 KB, its 1440 px one about 42 KB)."""
    from PIL import Image

    rnd = random.Random(13)
    cells = Image.new("RGB", (width // 40, height // 40))
    pixels = cells.load()
    assert pixels is not None
    for x in range(cells.width):
        for y in range(cells.height):
            pixels[x, y] = (rnd.randint(40, 220), rnd.randint(60, 200), rnd.randint(80, 230))
    photo = cells.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((width, height), 25).convert("RGB")
    out = io.BytesIO()
    Image.blend(photo, grain, 0.12).save(out, format="JPEG", quality=88)
    return out.getvalue()
