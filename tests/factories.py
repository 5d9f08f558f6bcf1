"""Small factories that build objects through the domain functions."""

from __future__ import annotations

import io
import itertools
import secrets
import struct
import uuid
import zlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accounts,
    applications,
    candidates,
    clock,
    editions,
    employers,
    interviews,
    offers,
    webconferences,
)
from fair.enums import (
    ApplicationStatus,
    BoothStatus,
    InterviewMode,
    InterviewStatus,
    InvitationStatus,
    Role,
    WebconferenceAccess,
)
from fair.models import (
    Application,
    Booth,
    Edition,
    Employer,
    Interview,
    InterviewInvitation,
    InterviewSlot,
    Offer,
    User,
)

PASSWORD = "correct horse battery"
PARIS = ZoneInfo("Europe/Paris")
# The moment most tests stand at (clock.set_now), and the day after it.
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=PARIS)
TOMORROW = date(2026, 3, 11)
_n = itertools.count(1)


def siret(n: int) -> str:
    """A valid SIRET (Luhn) built from `n`."""
    body = f"{n:013d}"
    for check in range(10):
        candidate = body + str(check)
        if employers.siret_valid(candidate):
            return candidate
    raise AssertionError("unreachable")


def pdf_bytes(text: str = "CV") -> bytes:
    """A real one-page PDF, written by pypdf."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), (11, 79, 156)).save(out, format="PNG")
    return out.getvalue()


async def user(
    session: AsyncSession, role: Role = Role.CANDIDATE, *, can_log_in: bool = True, **kw: str
) -> User:
    """An account with PASSWORD; `can_log_in=False` skips hashing (argon2 costs ~0.15 s here)."""
    n = next(_n)
    return await accounts.create_user(
        session,
        email=kw.get("email", f"{role.value}{n}@example.fr"),
        name=kw.get("name", f"{role.value.title()} {n}"),
        password=PASSWORD if can_log_in else None,
        role=role,
        locale=kw.get("locale", "fr"),
    )


def edition_input(now: datetime | None = None, **kw: object) -> editions.EditionInput:
    """An edition whose application window is open and whose live days include `now`."""
    now = (now or clock.now()).astimezone(PARIS)
    data = editions.EditionInput(
        title=str(kw.get("title", "Rencontres pour l'emploi")),
        territory="Métropole test",
        partners="France Travail",
        description="Un forum en ligne.",
        timezone="Europe/Paris",
        applications_open_at=now - timedelta(days=7),
        applications_close_at=now + timedelta(days=7),
        response_deadline=now + timedelta(days=10),
        live_first_day=(now - timedelta(days=1)).date(),
        live_last_day=(now + timedelta(days=3)).date(),
        opens=time(0, 0),
        closes=time.max,  # open around the clock: 23:59 left the minute 23:59 closed
        weekdays=frozenset(range(7)),
    )
    for key, value in kw.items():
        setattr(data, key, value)
    return data


async def edition(
    session: AsyncSession,
    *,
    by: User | None = None,
    publish: bool = True,
    now: datetime | None = None,
    **kw: object,
) -> Edition:
    by = by or await user(session, Role.ORGANISER)
    created = await editions.create(session, by=by, data=edition_input(now, **kw))
    if publish:
        await editions.publish(session, created)
    await session.flush()
    return await editions.get(session, created.id)


async def employer(session: AsyncSession, *, by: User | None = None, name: str = "") -> Employer:
    by = by or await user(session, Role.RECRUITER)
    n = next(_n)
    return await employers.register(
        session,
        by=by,
        data=employers.EmployerInput(
            name=name or f"Entreprise {n}",
            siret=siret(n),
            naf_code="43.21A",
            size="10-49",
            commune="Montpellier",
            website="https://example.fr",
            description="",
            video_url="",
        ),
    )


async def booth(
    session: AsyncSession, *, edition_: Edition, recruiter: User | None = None, approve: bool = True
) -> tuple[Booth, User]:
    recruiter = recruiter or await user(session, Role.RECRUITER)
    emp = await employer(session, by=recruiter)
    created = await employers.request_booth(session, by=recruiter, employer=emp, edition=edition_)
    if approve:
        admin = await user(session, Role.ADMIN)
        await employers.set_status(session, created, BoothStatus.APPROVED, by=admin)
    return await employers.get_booth(session, created.id), recruiter


def offer_input(**kw: object) -> offers.OfferInput:
    data = offers.OfferInput(
        title="Électricien du bâtiment (H/F)",
        description="Installation et maintenance électrique sur chantiers.",
        rome_code="F1602",
        contract="cdi",
        working_time="full_time",
        commune="Montpellier",
        postcode="34000",
        experience="beginner",
        skills=["Habilitation électrique"],
    )
    for key, value in kw.items():
        setattr(data, key, value)
    return data


async def offer(session: AsyncSession, *, booth_: Booth, **kw: object) -> Offer:
    return await offers.create(session, booth=booth_, data=offer_input(**kw))


async def candidate(session: AsyncSession, *, can_log_in: bool = True, **kw: str) -> User:
    created = await user(session, Role.CANDIDATE, can_log_in=can_log_in, **kw)
    await candidates.set_cv(session, created, filename="cv.pdf", data=pdf_bytes())
    return created


async def application(
    session: AsyncSession, *, offer_: Offer, candidate_: User | None = None, can_log_in: bool = True
) -> Application:
    candidate_ = candidate_ or await candidate(session, can_log_in=can_log_in)
    return await applications.apply(session, candidate=candidate_, offer=offer_, message="Bonjour")


def day_at(d: date, hour: int) -> datetime:
    return datetime.combine(d, time(hour), PARIS)


async def colleague(session: AsyncSession, *, booth_: Booth, owner: User) -> User:
    """Another recruiter of the booth's employer, invited by its owner."""
    created = await user(session, Role.RECRUITER)
    employer_ = await employers.get(session, booth_.employer_id)
    token = await employers.invite(session, by=owner, employer=employer_, email=created.email)
    await employers.accept_invitation(session, token=token, user=created)
    return created


async def interview(
    session: AsyncSession,
    *,
    booth_: Booth,
    recruiter: User,
    candidate_: User | None = None,
    starts_at: datetime | None = None,
    minutes: int = 15,
    mode: str = "video",
    status: InterviewStatus = InterviewStatus.BOOKED,
) -> Interview:
    """An interview built row by row (slot, invitation, booking), as fair.interviews.book does:
    by default booked with `recruiter` in 5 minutes, so its room is open now."""
    now = clock.now()
    starts_at = starts_at or now + timedelta(minutes=5)
    ends_at = starts_at + timedelta(minutes=minutes)
    applied = await application(
        session, offer_=await offer(session, booth_=booth_), candidate_=candidate_
    )
    slot = InterviewSlot(
        booth_id=booth_.id,
        staff_id=recruiter.id,
        starts_at=starts_at,
        ends_at=ends_at,
        modes="video phone chat",
        created_at=now,
    )
    invitation = InterviewInvitation(
        application_id=applied.id,
        booth_id=booth_.id,
        candidate_id=applied.candidate_id,
        invited_by_id=recruiter.id,
        status=InvitationStatus.OPEN.value,
        active_key=1,
        created_at=now,
    )
    session.add_all([slot, invitation])
    await session.flush()
    booked = Interview(
        uid=f"{uuid.uuid4()}@fair",
        sequence=0,
        slot_id=slot.id,
        invitation_id=invitation.id,
        booth_id=booth_.id,
        candidate_id=applied.candidate_id,
        recruiter_id=recruiter.id,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=mode,
        status=status.value,
        active_key=1 if status.active else None,
        booked_by_id=applied.candidate_id,
        created_at=now,
        updated_at=now,
        room_secret=secrets.token_urlsafe(32),
    )
    session.add(booked)
    await session.flush()
    return booked


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height, with one tiny compressed row of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# Webconferences ---------------------------------------------------------------------------------


def talk(presenters: list[User], **kw: object) -> webconferences.WebconferenceInput:
    """Tomorrow 10:00 to 11:00 in Paris, two seats, registered candidates only."""
    data = webconferences.WebconferenceInput(
        title="Réussir son entretien en visio",
        description="Conseils pratiques.",
        starts_at=day_at(TOMORROW, 10),
        ends_at=day_at(TOMORROW, 11),
        capacity=2,
        access=WebconferenceAccess.REGISTERED,
        presenter_ids=[p.id for p in presenters],
    )
    for key, value in kw.items():
        setattr(data, key, value)
    return data


async def candidate_accounts(
    session: AsyncSession, n: int, *, can_log_in: bool = False
) -> list[User]:
    """`n` candidate accounts without a CV (their password hashed only if `can_log_in`)."""
    return [await user(session, Role.CANDIDATE, can_log_in=can_log_in) for _ in range(n)]


# Interviews -------------------------------------------------------------------------------------


def availability(recruiter: User, **kw: object) -> interviews.AvailabilityInput:
    """Tomorrow 09:00 to 11:00 in Paris: four 20-minute slots, 10 minutes apart."""
    data = interviews.AvailabilityInput(
        day=TOMORROW,
        start=time(9, 0),
        end=time(11, 0),
        length_minutes=20,
        buffer_minutes=10,
        modes=frozenset({InterviewMode.VIDEO, InterviewMode.PHONE}),
        staff_id=recruiter.id,
    )
    for key, value in kw.items():
        setattr(data, key, value)
    return data


async def live_booth(session: AsyncSession) -> tuple[Edition, Booth, User]:
    """A booth of a live edition, and its recruiter."""
    edition_ = await edition(session)
    booth_, recruiter = await booth(session, edition_=edition_)
    return edition_, booth_, recruiter


async def shortlisted(session: AsyncSession, booth_: Booth, recruiter: User) -> Application:
    offer_ = await offer(session, booth_=booth_, title="Électricien du bâtiment (H/F)")
    applied = await application(session, offer_=offer_)
    await applications.set_status(session, applied, ApplicationStatus.SHORTLISTED, by=recruiter)
    return applied


async def invited(
    session: AsyncSession, booth_: Booth, recruiter: User
) -> tuple[InterviewInvitation, User]:
    applied = await shortlisted(session, booth_, recruiter)
    invitation = await interviews.invite(session, by=recruiter, application=applied)
    candidate_ = await session.get(User, applied.candidate_id)
    assert candidate_ is not None
    return invitation, candidate_


async def interview_setting(
    session: AsyncSession,
) -> tuple[Booth, User, list[InterviewSlot], InterviewInvitation, User]:
    """A live booth with six slots tomorrow morning (09:00 to 12:00, every mode) and one
    invited candidate (its offer with the default title)."""
    edition_ = await edition(session)
    booth_, recruiter = await booth(session, edition_=edition_)
    data = availability(recruiter, end=time(12, 0), modes=frozenset(InterviewMode))
    slots = await interviews.publish_availability(session, by=recruiter, booth=booth_, data=data)
    offer_ = await offer(session, booth_=booth_)
    applied = await application(session, offer_=offer_)
    await applications.set_status(session, applied, ApplicationStatus.SHORTLISTED, by=recruiter)
    invitation = await interviews.invite(session, by=recruiter, application=applied)
    candidate_ = await session.get(User, applied.candidate_id)
    assert candidate_ is not None
    return booth_, recruiter, slots, invitation, candidate_
