"""Uploaded files are checked off the event loop: a slow PDF never stalls other people."""

from __future__ import annotations

import asyncio
import io
import time

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


async def longest_stall_during(work: asyncio.Future[object] | object) -> float:
    """The longest gap between two ticks of a 5 ms timer while `work` runs."""
    task = asyncio.ensure_future(work)  # type: ignore[arg-type]
    longest, last = 0.0, time.perf_counter()
    while not task.done():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    await task
    return longest


async def test_a_slow_pdf_is_parsed_without_stalling_the_loop() -> None:
    data = many_pages(6000)  # under the 5 MB limit; pypdf takes a good part of a second
    started = time.perf_counter()
    await files.check_pdf(data)
    alone = time.perf_counter() - started
    stall = await longest_stall_during(files.check_pdf(data))
    # On the loop, the whole parse is one stall; in a thread the timer keeps ticking.
    assert stall < max(alone / 3, 0.05), (stall, alone)


async def test_checks_still_refuse_what_they_refused() -> None:
    with pytest.raises(Invalid) as not_pdf:
        await files.check_pdf(b"GIF89a not a pdf")
    assert not_pdf.value.code == "upload.not_pdf"
    with pytest.raises(Invalid) as not_image:
        await files.check_image(b"%PDF-1.4 not an image")
    assert not_image.value.code == "upload.not_image"
