"""CV text: extracted from a candidate's PDF and indexed for the CV pool's French search.

A candidate's `CvText` row holds what the pool searches: the text of their CV, the jobs they
want (their profile's) and their commune's centre. Its stems are indexed as the offers' are
(fair.search: an FTS5 table kept by triggers on SQLite, a generated tsvector under fair_french
on PostgreSQL; migration 0027), so that "électriciens" finds "Électricien".

Extraction uses pypdf in a worker thread, never on the event loop, and is bounded: the first
MAX_PAGES pages, MAX_CHARS characters, TIME_BUDGET seconds (checked between pages; the await
stops waiting at TIME_LIMIT whatever the thread does, and the text is then "unreadable"). The
upload accepts PDF only (fair.files.check_pdf), so there is no DOCX or ODT to read. A scan (no
text layer) gives an empty text: the profile is still found by its jobs and place.

`refresh` is called when the profile or its CV changes (fair.candidates) and extracts again
only when the CV file changed; the worker's `catch_up` extracts CVs stored before this existed,
outside any write transaction (`stale`, `extract`, then `store`).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
import time
from dataclasses import dataclass

from pypdf import PdfReader
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, geo
from fair.models import CandidateProfile, CvText, StoredFile
from fair.search import stems

log = logging.getLogger("fair.cv_text")
MAX_PAGES = 10
MAX_CHARS = 30_000
TIME_BUDGET = 5.0  # seconds of pages read, checked between pages
TIME_LIMIT = 10.0  # seconds the caller waits for the thread at most
OK, EMPTY, UNREADABLE, NONE = "ok", "empty", "unreadable", "none"
# Control characters but the line break and the tab (PostgreSQL text refuses NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True)
class Extracted:
    status: str  # OK, EMPTY or UNREADABLE
    pages: int  # pages in the document
    text: str


def clean(text: str) -> str:
    """Control characters dropped, runs of spaces made one, blank lines removed."""
    lines = (_SPACES.sub(" ", _CONTROL.sub("", line)).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def extract_now(data: bytes) -> Extracted:
    """The text of a PDF's first pages, in the calling thread (bounded as the module says)."""
    started = time.monotonic()
    parts: list[str] = []
    size = 0
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        count = len(reader.pages)
        for number in range(min(count, MAX_PAGES)):
            if time.monotonic() - started > TIME_BUDGET or size >= MAX_CHARS:
                break
            part = clean(reader.pages[number].extract_text() or "")
            parts.append(part)
            size += len(part) + 1
    # A malformed PDF may raise anything from deep in pypdf's parser (it passed the upload's
    # check, which reads only the page tree): the CV stays, its text is merely unread.
    except Exception:  # noqa: BLE001
        log.info("a CV's text could not be read", exc_info=True)
        return Extracted(UNREADABLE, 0, "")
    text = "\n".join(p for p in parts if p)[:MAX_CHARS]
    return Extracted(OK if text else EMPTY, count, text)


async def extract(data: bytes) -> Extracted:
    """`extract_now` in a worker thread, waited for TIME_LIMIT seconds at most."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(extract_now, data), TIME_LIMIT)
    except TimeoutError:
        log.warning("reading a CV's text took over %s s: left unread", TIME_LIMIT)
        return Extracted(UNREADABLE, 0, "")


def new_ref() -> str:
    """A pool profile's pseudonym: ten random hexadecimal digits, upper case (40 bits: no
    collision in practice among a pool's profiles; the unique constraint is the last guard)."""
    return secrets.token_hex(5).upper()


def _place(commune: str) -> geo.Commune | None:
    return geo.find(commune) if commune.strip() else None


async def _row(session: AsyncSession, user_id: int) -> CvText:
    row = await session.get(CvText, user_id)
    if row is None:
        row = CvText(
            user_id=user_id,
            ref=new_ref(),
            status=NONE,
            pages=0,
            content="",
            content_stems="",
            updated_at=clock.now(),
        )
        session.add(row)
    return row


async def refresh(session: AsyncSession, user_id: int) -> CvText:
    """Bring the candidate's row in step with their profile: jobs and place always, the CV's
    text when the CV changed (extracted in a thread). Called by fair.candidates."""
    profile = await session.get(CandidateProfile, user_id)
    row = await _row(session, user_id)
    jobs = profile.wanted_jobs if profile else ""
    place = _place(profile.commune) if profile else None
    row.jobs, row.jobs_stems = jobs, stems(jobs)
    row.commune_code = place.code if place else ""
    row.latitude = place.latitude if place else None
    row.longitude = place.longitude if place else None
    file_id = profile.cv_file_id if profile else None
    if file_id != row.file_id or (file_id is None and row.status != NONE):
        stored = await session.get(StoredFile, file_id) if file_id else None
        extracted = await extract(stored.data) if stored else None
        _set_text(row, file_id if stored else None, extracted)
    row.updated_at = clock.now()
    await session.flush()
    return row


def _set_text(row: CvText, file_id: int | None, extracted: Extracted | None) -> None:
    row.file_id = file_id
    row.status = extracted.status if extracted else NONE
    row.pages = extracted.pages if extracted else 0
    row.content = extracted.text if extracted else ""
    row.content_stems = stems(row.content)
    row.extracted_at = clock.now() if extracted else None


async def stale(session: AsyncSession, *, limit: int = 20) -> list[tuple[int, int]]:
    """(candidate, CV file) pairs whose text is missing or from another file: CVs stored
    before extraction existed, or whose extraction was interrupted."""
    rows = await session.execute(
        select(CandidateProfile.user_id, CandidateProfile.cv_file_id)
        .outerjoin(CvText, CvText.user_id == CandidateProfile.user_id)
        .where(
            CandidateProfile.cv_file_id.is_not(None),
            or_(
                CvText.user_id.is_(None),
                CvText.file_id.is_distinct_from(CandidateProfile.cv_file_id),
            ),
        )
        .order_by(CandidateProfile.user_id)
        .limit(limit)
    )
    return [(int(user_id), int(file_id or 0)) for user_id, file_id in rows.all()]


async def file_data(session: AsyncSession, file_id: int) -> bytes | None:
    return await session.scalar(select(StoredFile.data).where(StoredFile.id == file_id))


async def store(session: AsyncSession, *, user_id: int, file_id: int, extracted: Extracted) -> bool:
    """Record a text extracted outside the transaction, if the profile's CV is still that
    file; refresh the jobs and place with it. Whether it was recorded."""
    profile = await session.get(CandidateProfile, user_id)
    if profile is None or profile.cv_file_id != file_id:
        return False
    row = await _row(session, user_id)
    _set_text(row, file_id, extracted)
    await session.flush()
    await refresh(session, user_id)
    return True
