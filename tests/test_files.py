"""Uploaded files are checked off the event loop: a slow PDF never stalls other people."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine
from typing import Any

import pytest
from pypdf import PdfWriter

from fair import files
from fair.errors import Invalid


def many_pages(n: int) -> bytes:
    writer = PdfWriter()
    for _ in range(n):
        writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def ticks_during(work: Coroutine[Any, Any, object]) -> int:
    """How many times a 1 ms timer fired while `work` ran: once when `work` ran on the event
    loop (it then held the loop from its start to its end), many times when it ran elsewhere."""
    task = asyncio.ensure_future(work)
    ticks = 0
    while not task.done():
        await asyncio.sleep(0.001)
        ticks += 1
    await task
    return ticks


async def test_a_slow_pdf_is_parsed_without_stalling_the_loop() -> None:
    data = many_pages(6000)  # under the 5 MB limit; pypdf takes a good part of a second
    assert await ticks_during(files.check_pdf(data)) >= 10


async def test_checks_still_refuse_what_they_refused() -> None:
    with pytest.raises(Invalid) as not_pdf:
        await files.check_pdf(b"GIF89a not a pdf")
    assert not_pdf.value.code == "upload.not_pdf"
    with pytest.raises(Invalid) as not_image:
        await files.check_image(b"%PDF-1.4 not an image")
    assert not_image.value.code == "upload.not_image"
