"""The files: CSV (BOM, `;`, formulas neutralised) and XLSX (XlsxWriter in constant memory,
written in threads to a temporary file, then streamed and deleted); see the package's
docstring for why."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime, time

import xlsxwriter

from fair.exports.kinds import Batches, Cell, check_format

RISKY = ("=", "+", "-", "@", "\t", "\r")

# Formats --------------------------------------------------------------------------------------


def neutral(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (see the module's docstring)."""
    return "'" + value if value.startswith(RISKY) else value


def text(value: Cell) -> str:
    """A cell as CSV text: numbers as digits, moments as ISO (read as dates by spreadsheets)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return neutral(value)


def csv_lines(rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    # Whole numbers (most cells: the funnel's 1 and 0) are written by csv as they are.
    writer.writerows([c if type(c) is int else text(c) for c in row] for row in rows)
    return out.getvalue().encode()


async def csv_chunks(header: Sequence[str], batches: Batches) -> AsyncIterator[bytes]:
    """The CSV file, a chunk per batch, header first (after the byte order mark)."""
    yield b"\xef\xbb\xbf" + csv_lines([header])
    async for batch in batches:
        yield csv_lines(batch)


class Sheet:
    """An XLSX file written row by row on disk (XlsxWriter's constant_memory mode). Its methods
    block: call them in a thread (`xlsx_chunks`), one at a time."""

    def __init__(self, path: str, title: str) -> None:
        self.book = xlsxwriter.Workbook(path, {"constant_memory": True, "in_memory": False})
        self.sheet = self.book.add_worksheet(title[:31])
        self.bold = self.book.add_format({"bold": True})
        self.moment = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.day = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.clock = self.book.add_format({"num_format": "hh:mm"})
        self.next = 0

    def write(self, rows: Sequence[Sequence[Cell]], *, header: bool = False) -> None:
        for row in rows:
            for column, value in enumerate(row):
                self._cell(self.next, column, value, header)
            self.next += 1

    def _cell(self, r: int, c: int, value: Cell, header: bool) -> None:
        if value is None:
            return
        if isinstance(value, bool | int):
            self.sheet.write_number(r, c, int(value))
        elif isinstance(value, datetime):
            self.sheet.write_datetime(r, c, value, self.moment)
        elif isinstance(value, date):
            self.sheet.write_datetime(r, c, value, self.day)
        elif isinstance(value, time):
            self.sheet.write_datetime(r, c, value, self.clock)
        else:
            self.sheet.write_string(r, c, value, self.bold if header else None)

    def close(self) -> None:
        self.book.close()


async def xlsx_chunks(
    title: str, header: Sequence[str], batches: Batches, *, size: int = 64 * 1024
) -> AsyncIterator[bytes]:
    """The XLSX file: written in threads to a temporary file batch by batch, then read back in
    `size` pieces; the file is deleted however the stream ends (a client gone included)."""
    handle, path = tempfile.mkstemp(prefix="fair-export-", suffix=".xlsx")
    os.close(handle)
    try:
        sheet = await asyncio.to_thread(Sheet, path, title)
        await asyncio.to_thread(sheet.write, [header], header=True)
        async for batch in batches:
            await asyncio.to_thread(sheet.write, batch)
        await asyncio.to_thread(sheet.close)
        file = await asyncio.to_thread(open, path, "rb")
        try:
            while piece := await asyncio.to_thread(file.read, size):
                yield piece
        finally:
            await asyncio.to_thread(file.close)
    finally:
        await asyncio.to_thread(_remove, path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def encoder(format: str) -> Callable[[str, Sequence[str], Batches], AsyncIterator[bytes]]:
    """The chunks of a file in `format`, from a title, a header and the batches of rows."""
    if check_format(format) == "csv":
        return lambda _title, header, batches: csv_chunks(header, batches)
    return xlsx_chunks
