"""Reading rows for an export: in chunks from a server-side cursor, moments as wall-clock
times, figures about people as a page shows them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import disclosure
from fair.exports.kinds import CHUNK, Cell


async def stream(
    session: AsyncSession, statement: Select[*tuple[Any, ...]], *, chunk: int = CHUNK
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The statement's rows, `chunk` at a time, from a server-side cursor."""
    result = await session.stream(statement.execution_options(yield_per=chunk))
    async for partition in result.partitions(chunk):
        yield [tuple(row) for row in partition]


def local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored moment as the edition's wall-clock time, to the minute (spreadsheets have no
    time zones)."""
    if moment is None:
        return None
    return moment.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def shown(figure: disclosure.Figure, hidden: str) -> Cell:
    """A figure about people as a cell: its value, or the mark of a hidden one."""
    return figure.value if figure.shown else hidden
