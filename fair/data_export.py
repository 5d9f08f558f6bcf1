"""Download all my data: a ZIP holding `data.json` (every row about the person in the tables
fair.personal_data declares, secrets left out), their files (CVs, photos) under `files/`, and a
`LISEZMOI.txt`/`README.txt` saying what is what.

The archive is streamed: the rows are read table by table in a read session of its own and the
files one at a time, and each part is compressed in a thread (never on the event loop), so a
download holds at most one file in memory. Downloads are recorded (`record`) and limited to
`PER_DAY` a day per account.
"""

from __future__ import annotations

import asyncio
import json
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, personal_data
from fair.i18n import gettext as _
from fair.models import Base, DataExport, StoredFile, User
from fair.throttle import Throttled

PER_DAY = 5
FORMAT = "fair-personal-data"
VERSION = 1

Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def record(session: AsyncSession, user: User) -> None:
    """Count a download; refused (Throttled) past PER_DAY in the last 24 hours."""
    now = clock.now()
    since = now - timedelta(days=1)
    recent = list(
        await session.scalars(
            select(DataExport.created_at)
            .where(DataExport.user_id == user.id, DataExport.created_at > since)
            .order_by(DataExport.created_at)
        )
    )
    if len(recent) >= PER_DAY:
        wait = recent[-PER_DAY] + timedelta(days=1) - now
        raise Throttled(
            "You have downloaded your data several times today: try again in %(minutes)s minutes.",
            retry_after=max(1, int(wait.total_seconds())),
        )
    session.add(DataExport(user_id=user.id, created_at=now))
    await session.flush()


async def last(session: AsyncSession, user: User) -> datetime | None:
    """When the person last downloaded their data."""
    found: datetime | None = await session.scalar(
        select(func.max(DataExport.created_at)).where(DataExport.user_id == user.id)
    )
    return found


def filename(user: User) -> str:
    return f"fair-data-{user.id}-{clock.now():%Y%m%d}.zip"


# Reading ---------------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, str) and personal_data.is_placeholder_address(value):
        return None  # no e-mail: the stored placeholder is nobody's address
    return value


async def rows(session: AsyncSession, declared: personal_data.Table, user: User) -> list[Any]:
    """The rows of one declared table about `user`, as JSON values, in primary-key order."""
    table = Base.metadata.tables[declared.name]
    columns = [c for c in table.columns if c.name not in declared.secret]
    condition = personal_data.rows_of(declared, user_id=user.id, email=user.email)
    found = await session.execute(
        select(*columns).where(condition).order_by(*table.primary_key.columns)
    )
    return [{c.name: _value(v) for c, v in zip(columns, row, strict=True)} for row in found]


async def files(session: AsyncSession, user: User) -> list[dict[str, Any]]:
    """The person's files, described as `data.json` lists them (path in the archive)."""
    kinds = personal_data.BY_NAME["stored_files"].only["kind"]
    found = await session.execute(
        select(
            StoredFile.id,
            StoredFile.kind,
            StoredFile.filename,
            StoredFile.content_type,
            StoredFile.size,
            StoredFile.sha256,
        )
        .where(StoredFile.owner_id == user.id, StoredFile.kind.in_(kinds))
        .order_by(StoredFile.id)
    )
    return [
        {
            "path": f"files/{id_}-{name}",
            "id": id_,
            "kind": kind,
            "filename": name,
            "content_type": content_type,
            "size": size,
            "sha256": sha256,
        }
        for id_, kind, name, content_type, size, sha256 in found
    ]


# Writing ---------------------------------------------------------------------------------------


class _Sink:
    """A write-only stream collecting what zipfile writes, taken out in chunks (not seekable:
    zipfile then writes each entry's sizes after its data)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _json(value: Any, indent: int) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
    return text.replace("\n", "\n" + " " * indent)


async def archive(sessions: Sessions, user_id: int, locale: str) -> AsyncIterator[bytes]:
    """The ZIP's bytes, in chunks, read in a session of its own."""
    sink = _Sink()
    zipped = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)  # type: ignore[call-overload]
    async with sessions() as session:
        user = await session.get(User, user_id)
        assert user is not None
        listed = await files(session, user)
        entry = zipped.open("data.json", "w")
        head = {"format": FORMAT, "version": VERSION, "exported_at": clock.now().isoformat()}
        opening = _json(head, 0)[:-2] + ',\n  "files": ' + _json(listed, 2) + ',\n  "tables": {'
        await asyncio.to_thread(entry.write, opening.encode())
        first = True
        for declared in personal_data.TABLES:
            if not declared.about_people:
                continue
            found = await rows(session, declared, user)
            if not found:
                continue
            part = ("" if first else ",") + f"\n    {json.dumps(declared.name)}: "
            first = False
            await asyncio.to_thread(entry.write, (part + _json(found, 4)).encode())
            yield sink.take()
        await asyncio.to_thread(entry.write, b"\n  }\n}\n")
        await asyncio.to_thread(entry.close)
        for described in listed:
            data = await session.scalar(
                select(StoredFile.data).where(StoredFile.id == described["id"])
            )
            await asyncio.to_thread(_store, zipped, described["path"], data or b"")
            yield sink.take()
    readme = _("README.txt", locale)
    await asyncio.to_thread(zipped.writestr, readme, _readme(locale).encode())
    await asyncio.to_thread(zipped.close)
    yield sink.take()


def _store(zipped: zipfile.ZipFile, path: str, data: bytes) -> None:
    # PDFs and images are compressed already.
    zipped.writestr(path, data, compress_type=zipfile.ZIP_STORED)


def _readme(locale: str) -> str:
    return _(
        "Your data on fair\n\n"
        "data.json holds every row about you, table by table (each table's name is the one in "
        "fair's database): your account, your profile, your applications with their statuses "
        "and messages, your interviews, your conversations and messages, your talks and "
        "questions, your answers to surveys, your notices, your sessions, the mails sent to "
        "you. Passwords, secret links and tokens are left out. Dates are in UTC.\n\n"
        'files/ holds your files (CVs, photos), listed under "files" in data.json.\n',
        locale,
    )
