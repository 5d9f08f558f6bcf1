"""Uploaded images in a few fixed sizes: WebP, with a PNG or JPEG fallback, served in their place.

An upload is checked by content and size (fair.files), then each size of its kind's `Preset` is
derived once, at upload, in two formats: WebP, and PNG (images with transparency, drawings) or
JPEG (photos) for a browser without WebP. The original is kept as a `StoredFile`; the variants
are `ImageVariant` rows. Decoding and encoding take tens to hundreds of milliseconds of CPU:
they run in a worker thread (`prepare`), never on the event loop.

Use from another module (a recruiter's photo, a logo):

    prepared = await images.prepare(data, images.LOGO, field="logo")  # Invalid / TooLarge
    stored = await images.store(session, owner_id=user.id, filename=name, prepared=prepared)

then link `url('image', file_id=stored.id, width=96)` (fair.web.images): the browser gets the
WebP when its Accept header names it, the fallback otherwise; `.webp`, `.png` or `.jpeg` after
the width asks for one format (a <picture>'s sources). A stored file never changes (a new upload
is a new file), so its URLs are cached for a year as immutable. An image stored before its
variants existed (employer logos uploaded before migration 0017) is resized when asked for.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import files, settings
from fair.enums import FileKind
from fair.errors import FairError, Invalid
from fair.models import ImageVariant, StoredFile

# Past this many pixels an image is refused before it is decoded (a PNG of 40 million pixels
# takes 160 MB once decoded); a 24-megapixel phone photo passes.
MAX_PIXELS = 40_000_000
WEBP = "webp"
CONTENT_TYPES = {"webp": "image/webp", "png": "image/png", "jpeg": "image/jpeg"}


@dataclass(frozen=True)
class Preset:
    """The sizes of one kind of image: `widths` in pixels; a `square` image fits a width x
    width box (logos, photos), any other is as wide as the width, its height following."""

    kind: FileKind
    widths: tuple[int, ...]
    square: bool = True
    max_bytes: int | None = None  # None: settings.max_logo_bytes

    def limit(self) -> int:
        return self.max_bytes or settings.get().max_logo_bytes


LOGO = Preset(FileKind.LOGO, (96, 192))
BANNER = Preset(FileKind.BANNER, (720, 1440), square=False, max_bytes=4 * 1024 * 1024)
PHOTO = Preset(FileKind.PHOTO, (64, 128))  # a recruiter's photo (fair.recruiter_profiles)
PRESETS: dict[str, Preset] = {p.kind.value: p for p in (LOGO, BANNER, PHOTO)}


@dataclass(frozen=True)
class Variant:
    width: int  # the preset's width it stands for (the image is never enlarged)
    height: int
    format: str  # "webp", "png" or "jpeg"
    data: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


@dataclass(frozen=True)
class Prepared:
    """A checked upload and its variants, ready to store."""

    preset: Preset
    data: bytes
    content_type: str
    variants: tuple[Variant, ...]


async def prepare(data: bytes, preset: Preset, *, field: str) -> Prepared:
    """Check `data` (an image of a known type within the preset's size, not a decompression
    bomb: Invalid or TooLarge naming `field`) and derive its variants, in a worker thread."""
    return await asyncio.to_thread(_prepare, data, preset, field)


def _prepare(data: bytes, preset: Preset, field: str) -> Prepared:
    content_type = files.check_image_now(data, field=field, limit=preset.limit())
    return Prepared(preset, data, content_type, derive(data, preset, field=field))


def derive(data: bytes, preset: Preset, *, field: str = "image") -> tuple[Variant, ...]:
    """Every width of `preset` in WebP and in the fallback format (CPU-bound: call it in a
    thread). The first frame of an animation; rotated as its EXIF orientation says."""
    with Image.open(io.BytesIO(data)) as opened:
        if opened.width * opened.height > MAX_PIXELS:
            error = "This image is too large: %(max)s pixels wide and high at most."
            raise Invalid(
                error,
                code="upload.image_dimensions",
                params={"max": files.MAX_IMAGE_SIDE},
                fields={field: error},
            )
        opened.seek(0)
        largest = max(preset.widths)
        opened.draft("RGB", _box(preset, largest, opened.size))  # JPEG: decode at a lower scale
        image = ImageOps.exif_transpose(opened)
        fallback = "png" if _transparent(image) or opened.format in ("PNG", "GIF") else "jpeg"
        image = image.convert("RGBA" if fallback == "png" else "RGB")
    found = []
    for width in preset.widths:
        resized = image.copy()
        resized.thumbnail(_box(preset, width, image.size), Image.Resampling.LANCZOS)
        for fmt in (WEBP, fallback):
            found.append(Variant(width, resized.height, fmt, _encode(resized, fmt)))
    return tuple(found)


def _box(preset: Preset, width: int, size: tuple[int, int]) -> tuple[int, int]:
    """The largest size the image may take at `width`: a square, or the width and any height."""
    return (width, width) if preset.square else (width, max(1, size[1] * width // size[0]))


def _transparent(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == WEBP:
        image.save(out, "WEBP", quality=82, method=4)
    elif fmt == "png":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()


async def store(
    session: AsyncSession, *, owner_id: int, filename: str, prepared: Prepared
) -> StoredFile:
    """The original as a StoredFile of the preset's kind, and its variants beside it."""
    stored = await files.store(
        session,
        owner_id=owner_id,
        kind=prepared.preset.kind,
        filename=filename,
        data=prepared.data,
        content_type=prepared.content_type,
    )
    session.add_all(_row(stored.id, v) for v in prepared.variants)
    await session.flush()
    return stored


def _row(file_id: int, variant: Variant) -> ImageVariant:
    return ImageVariant(
        file_id=file_id,
        width=variant.width,
        height=variant.height,
        format=variant.format,
        content_type=variant.content_type,
        data=variant.data,
    )


@dataclass(frozen=True)
class Served:
    content_type: str
    data: bytes


async def served(
    session: AsyncSession,
    file_id: int,
    width: int,
    *,
    formats: tuple[str, ...],
    kind: FileKind | None = None,
) -> Served | None:
    """The variant of an image at `width` in the first of `formats` it has (the fallback
    format when none is named: `formats` empty); None when it is no image of a preset with
    that width (or not of `kind`, when given). An image stored before its variants is resized
    now (in a thread), not saved: reading a page writes nothing."""
    stored_kind = await session.scalar(select(StoredFile.kind).where(StoredFile.id == file_id))
    preset = PRESETS.get(stored_kind or "")
    if preset is None or width not in preset.widths or kind not in (None, preset.kind):
        return None
    rows = list(
        await session.scalars(
            select(ImageVariant).where(ImageVariant.file_id == file_id, ImageVariant.width == width)
        )
    )
    if not rows:
        original = await files.get(session, file_id)
        try:
            derived = await asyncio.to_thread(derive, original.data, preset)
        except (FairError, OSError, ValueError):  # checked at upload: a damaged row
            return None
        rows = [_row(file_id, v) for v in derived if v.width == width]
    return _pick(rows, formats)


def _pick(rows: list[ImageVariant], formats: tuple[str, ...]) -> Served | None:
    by_format = {row.format: row for row in rows}
    for fmt in formats:
        if fmt in by_format:
            return Served(by_format[fmt].content_type, by_format[fmt].data)
    if formats:
        return None
    fallback = next((row for row in rows if row.format != WEBP), None)
    return Served(fallback.content_type, fallback.data) if fallback else None
