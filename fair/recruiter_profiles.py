"""Recruiters' public profile: what candidates see of the recruiters on duty at a booth.

A recruiter may give a job title ("Chargée de recrutement") and a photo; both are optional and
shown only on the pages of booths they staff right now (fair.presence). A photo is shown only
when its recruiter gave it, saying they agree that candidates see it; removing or replacing it
deletes the stored file and its sizes, so it is served no more. Photos are checked by content
and size and resized to fair.images.PHOTO's sizes (WebP and a fallback) in a worker thread,
never on the event loop, and served by fair.web.images.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, images, parse
from fair.enums import Role
from fair.errors import Forbidden, Invalid
from fair.models import BoothPresence, RecruiterProfile, StoredFile, User

MAX_JOB_TITLE = 120


@dataclass(frozen=True)
class OnDuty:
    """A recruiter staffing a booth now, as candidates see them."""

    user_id: int
    name: str
    job_title: str
    photo_file_id: int | None


@dataclass(frozen=True)
class Photo:
    """A photo the recruiter gives: its file name and bytes, and their agreement to show it."""

    filename: str
    data: bytes
    agreed: bool


def _require_recruiter(user: User) -> None:
    if user.role != Role.RECRUITER:
        raise Forbidden("This page is for recruiters.")


async def profile(session: AsyncSession, user: User) -> RecruiterProfile:
    """The recruiter's profile: an empty, unsaved one until first saved (reads never write)."""
    _require_recruiter(user)
    found = await session.get(RecruiterProfile, user.id)
    if found is None:
        found = RecruiterProfile(
            user_id=user.id, job_title="", photo_file_id=None, updated_at=clock.now()
        )
    return found


async def update(
    session: AsyncSession,
    user: User,
    *,
    job_title: str,
    photo: Photo | None = None,
    remove_photo: bool = False,
) -> RecruiterProfile:
    """Save the job title; store `photo` (checked) or remove the current one.

    A new photo needs the recruiter's agreement that candidates see it (`profile.photo_consent`
    otherwise). The photo it replaces, or the one removed, is deleted.
    """
    _require_recruiter(user)
    title = _job_title(job_title)
    if photo is None and not title and await session.get(RecruiterProfile, user.id) is None:
        return await profile(session, user)  # nothing given, nothing stored
    found = await _saved(session, user)
    found.job_title = title
    found.updated_at = clock.now()
    if photo is not None:
        stored = await _store_photo(session, user, photo)
        await _drop_photo(session, found)
        found.photo_file_id = stored.id
    elif remove_photo:
        await _drop_photo(session, found)
    await session.flush()
    return found


def _job_title(text: str) -> str:
    title = parse.line(text)
    if len(title) > MAX_JOB_TITLE:
        error = "%(max)s characters at most."
        raise Invalid(
            error,
            code="profile.job_title",
            params={"max": MAX_JOB_TITLE},
            fields={"job_title": error},
        )
    return title


async def _store_photo(session: AsyncSession, user: User, photo: Photo) -> StoredFile:
    if not photo.agreed:
        error = "Tick the box to agree that candidates see your photo, or choose no photo."
        raise Invalid(error, code="profile.photo_consent", fields={"photo_consent": error})
    prepared = await images.prepare(photo.data, images.PHOTO, field="photo")
    return await images.store(session, owner_id=user.id, filename=photo.filename, prepared=prepared)


async def _saved(session: AsyncSession, user: User) -> RecruiterProfile:
    found = await session.get(RecruiterProfile, user.id)
    if found is None:
        found = await profile(session, user)
        session.add(found)
    return found


async def _drop_photo(session: AsyncSession, found: RecruiterProfile) -> None:
    if found.photo_file_id is None:
        return
    old = await session.get(StoredFile, found.photo_file_id)
    found.photo_file_id = None
    if old is not None:
        await session.delete(old)


async def on_duty(session: AsyncSession, booth_id: int) -> list[OnDuty]:
    """The recruiters staffing the booth now (one statement), by name."""
    rows = await session.execute(
        select(User.id, User.name, RecruiterProfile.job_title, RecruiterProfile.photo_file_id)
        .join(BoothPresence, BoothPresence.user_id == User.id)
        .outerjoin(RecruiterProfile, RecruiterProfile.user_id == User.id)
        .where(BoothPresence.booth_id == booth_id, User.is_active.is_(True))
        .distinct()
        .order_by(User.name, User.id)
    )
    return [OnDuty(uid, name, title or "", photo) for uid, name, title, photo in rows.all()]
