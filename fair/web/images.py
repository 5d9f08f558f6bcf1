"""Serving uploaded images in their fixed sizes (fair.images): WebP where the browser takes it.

`/files/images/{file_id}/{width}` answers by the Accept header (WebP when it names image/webp,
else the PNG or JPEG fallback; `Vary: Accept`); `/files/images/{file_id}/{width}.webp` (or
`.png`, `.jpeg`) one format, for a <picture>'s sources. A stored file never changes, so these
URLs are immutable: cached a year.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import app_state, images
from fair.enums import FileKind
from fair.errors import NotFound
from fair.web.auth import path_int

IMMUTABLE = "public, max-age=31536000, immutable"


def accepts_webp(request: Request) -> bool:
    return "image/webp" in request.headers.get("accept", "")


async def respond(
    request: Request, width: int, *, fmt: str = "", kind: FileKind | None = None
) -> Response:
    """The image of the path's file_id at `width`: in format `fmt`, or chosen by the Accept
    header when `fmt` is empty. Not a `page`: no session cookie is read, so no `Vary: Cookie`
    keeps a shared cache from keeping it."""
    formats = (fmt,) if fmt else (images.WEBP,) if accepts_webp(request) else ()
    async with app_state.of(request).read_sessions() as session:
        found = await images.served(
            session, path_int(request, "file_id"), width, formats=formats, kind=kind
        )
    if found is None:
        raise NotFound("This file does not exist.")
    headers = {"cache-control": IMMUTABLE, "x-content-type-options": "nosniff"}
    if not fmt:
        headers["vary"] = "Accept"
    return Response(found.data, media_type=found.content_type, headers=headers)


async def image(request: Request) -> Response:
    """One size of an image, in the format the browser's Accept header prefers."""
    return await respond(request, path_int(request, "width"))


async def image_in(request: Request) -> Response:
    """One size of an image in one format (`.webp`, `.png` or `.jpeg`)."""
    fmt = request.path_params["format"]
    if fmt not in images.CONTENT_TYPES:
        raise NotFound("This file does not exist.")
    return await respond(request, path_int(request, "width"), fmt=fmt)


async def logo(request: Request) -> Response:
    """An employer's logo at its largest fixed size (fair.images), WebP if the browser takes
    it: the URL the employer's pages have linked since before the fixed sizes."""
    return await respond(request, max(images.LOGO.widths), kind=FileKind.LOGO)


routes = [
    Route("/files/logos/{file_id:int}", logo, name="logo"),
    Route("/files/images/{file_id:int}/{width:int}", image, name="image"),
    Route("/files/images/{file_id:int}/{width:int}.{format}", image_in, name="image_in"),
]
