"""Uploaded files: checked by content and size, then stored in the database."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import warnings

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, settings
from fair.enums import FileKind
from fair.errors import Invalid, NotFound, TooLarge
from fair.models import StoredFile

# A logo is shown a few hundred pixels wide; its header may claim no more than this per side.
MAX_IMAGE_SIDE = 8000
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


async def check_pdf(data: bytes, *, field: str = "cv") -> None:
    """Refuse anything that is not a readable PDF of at most MAX_CV_BYTES.

    Parsing a PDF takes seconds for some files (2.5 s for 20,000 blank pages in 2.5 MB): it runs
    in a worker thread, never on the event loop.
    """
    await asyncio.to_thread(_check_pdf, data, field)


def _check_pdf(data: bytes, field: str) -> None:
    limit = settings.get().max_cv_bytes
    if len(data) > limit:
        raise TooLarge(
            "The file is too large: %(max)s MB at most.",
            params={"max": limit // (1024 * 1024)},
            fields={field: "The file is too large: %(max)s MB at most."},
        )
    error = "This file is not a PDF document. Please choose a PDF file."
    if not data.startswith(b"%PDF-"):
        raise Invalid(error, code="upload.not_pdf", fields={field: error})
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) < 1:
            raise Invalid(error, code="upload.not_pdf", fields={field: error})
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Invalid(error, code="upload.not_pdf", fields={field: error}) from exc


async def check_image(data: bytes, *, field: str = "logo") -> str:
    """Refuse anything that is not a PNG, JPEG, WebP or GIF image within MAX_LOGO_BYTES.

    Its type: verifying the image runs in a worker thread, never on the event loop.
    """
    return await asyncio.to_thread(check_image_now, data, field=field)


def check_image_now(data: bytes, *, field: str = "logo", limit: int | None = None) -> str:
    """check_image in the calling thread (fair.images calls it from its worker thread), with
    `limit` bytes at most (default: MAX_LOGO_BYTES)."""
    limit = limit or settings.get().max_logo_bytes
    if len(data) > limit:
        raise TooLarge(
            "The image is too large: %(max)s MB at most.",
            params={"max": limit // (1024 * 1024)},
            fields={field: "The image is too large: %(max)s MB at most."},
        )
    error = "This file is not an image. Please choose a PNG, JPEG, WebP or GIF file."
    try:
        # Image.open reads the header only: the size is known before any pixel is decoded, and
        # verify() checks the chunks without decoding them either. Pillow's own bomb check
        # (a warning past MAX_IMAGE_PIXELS, an error past twice that) is a refusal here too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
                    raise _too_many_pixels(field)
                image.verify()
                kind = image.format
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(field) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Invalid(error, code="upload.not_image", fields={field: error}) from exc
    if kind not in IMAGE_TYPES:
        raise Invalid(error, code="upload.not_image", fields={field: error})
    return IMAGE_TYPES[kind]


def _too_many_pixels(field: str) -> Invalid:
    """An image whose header claims absurd dimensions (a decompression bomb)."""
    error = "This image is too large: %(max)s pixels wide and high at most."
    return Invalid(
        error, code="upload.image_dimensions", params={"max": MAX_IMAGE_SIDE}, fields={field: error}
    )


def safe_filename(name: str, default: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
    return cleaned.strip("._")[:100] or default


async def store(
    session: AsyncSession,
    *,
    owner_id: int,
    kind: FileKind,
    filename: str,
    data: bytes,
    content_type: str,
) -> StoredFile:
    stored = StoredFile(
        owner_id=owner_id,
        kind=kind.value,
        content_type=content_type,
        filename=safe_filename(filename, f"{kind.value}.bin"),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=clock.now(),
    )
    session.add(stored)
    await session.flush()
    return stored


async def get(session: AsyncSession, file_id: int) -> StoredFile:
    stored = await session.get(StoredFile, file_id)
    if stored is None:
        raise NotFound("This file does not exist.")
    return stored
