"""Employers, their recruiters, and their booths in editions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy import update as update_rows
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import (
    accounts,
    channels,
    clock,
    editions,
    events,
    geo,
    mail,
    notices,
    permissions,
    settings,
    tokens,
    webhooks,
)
from fair.enums import BOOTH_TRANSITIONS, BoothStatus, CompanySize, NoticeKind, Role
from fair.errors import Conflict, Forbidden, Invalid, NotFound
from fair.i18n import gettext as _
from fair.models import (
    Booth,
    Edition,
    Employer,
    EmployerMember,
    Invitation,
    Offer,
    User,
    Webconference,
)
from fair.rome import normalize_naf, sector_of

INVITATION_LIFETIME = timedelta(days=14)
URL_RE = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
# La Poste's establishments share one SIREN and follow a different check (digit sum % 5).
LA_POSTE_SIREN = "356000000"


def siret_valid(siret: str) -> bool:
    """Fourteen digits passing the Luhn check (or La Poste's rule)."""
    if not re.fullmatch(r"[0-9]{14}", siret):
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != "35600000000048":
        return sum(int(c) for c in siret) % 5 == 0
    total = 0
    for index, char in enumerate(reversed(siret)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


@dataclass
class EmployerInput:
    name: str
    siret: str
    naf_code: str
    size: str
    commune: str
    website: str
    description: str
    video_url: str


def check(data: EmployerInput) -> tuple[str, str]:
    """Validate; returns the normalised SIRET and NAF code."""
    errors: dict[str, str] = {}
    siret = re.sub(r"\s", "", data.siret)
    naf = normalize_naf(data.naf_code)
    if not data.name.strip() or len(data.name) > 200:
        errors["name"] = "Enter the employer's name (200 characters at most)."
    if not siret_valid(siret):
        errors["siret"] = "This SIRET number is not valid: 14 digits with a correct check digit."
    if naf is None:
        errors["naf_code"] = "Enter a NAF code such as 43.21A."
    if data.size not in {s.value for s in CompanySize}:
        errors["size"] = "Choose the company size."
    params: dict[str, str] = {}
    if not data.commune.strip() or len(data.commune) > 120:
        errors["commune"] = "Enter the commune."
    else:
        place = geo.lookup(geo.resolve(data.commune), data.commune)
        if place.commune is None:
            errors["commune"] = place.error
            params.update(place.params)
        else:
            data.commune = place.commune.label  # the name, with its postcode for a homonym
    for field in ("website", "video_url"):
        value = getattr(data, field).strip()
        if value and (not URL_RE.match(value) or len(value) > 300):
            errors[field] = "Enter a full web address starting with https://"
    if errors:
        raise Invalid(
            "Some fields need correcting.", code="employer.invalid", fields=errors, params=params
        )
    assert naf is not None
    return siret, naf


async def register(session: AsyncSession, *, by: User, data: EmployerInput) -> Employer:
    """A recruiter registers an employer and becomes its owner."""
    if by.role != Role.RECRUITER:
        raise Forbidden("Only recruiters can register an employer.")
    siret, naf = check(data)
    if await session.scalar(select(Employer.id).where(Employer.siret == siret)) is not None:
        message = "An employer with this SIRET is already registered: ask its owner to invite you."
        raise Conflict(message, code="employer.siret_taken", fields={"siret": message})
    employer = Employer(created_at=clock.now(), created_by_id=by.id)
    _apply(employer, data, siret, naf)
    session.add(employer)
    await session.flush()
    session.add(EmployerMember(employer_id=employer.id, user_id=by.id, is_owner=True))
    await session.flush()
    return employer


async def update(session: AsyncSession, employer: Employer, *, data: EmployerInput) -> None:
    siret, naf = check(data)
    other = await session.scalar(
        select(Employer.id).where(Employer.siret == siret, Employer.id != employer.id)
    )
    if other is not None:
        message = "Another employer already uses this SIRET."
        raise Conflict(message, code="employer.siret_taken", fields={"siret": message})
    _apply(employer, data, siret, naf)
    if session.is_modified(employer):
        # Its booths show its name, sector and commune: they changed too (the API's
        # updated_since). Not when saved unchanged: nothing is written then.
        await session.execute(
            update_rows(Booth)
            .where(Booth.employer_id == employer.id)
            .values(updated_at=clock.now())
        )
    await session.flush()


def _apply(employer: Employer, data: EmployerInput, siret: str, naf: str) -> None:
    employer.name = data.name.strip()
    employer.siret = siret
    employer.naf_code = naf
    employer.sector = sector_of(naf)
    employer.size = data.size
    employer.commune = data.commune.strip()
    employer.website = data.website.strip()
    employer.description = data.description.strip()
    employer.video_url = data.video_url.strip()


async def get(session: AsyncSession, employer_id: int) -> Employer:
    employer = await session.get(Employer, employer_id)
    if employer is None:
        raise NotFound("This employer does not exist.")
    return employer


async def of_user(session: AsyncSession, user: User) -> list[Employer]:
    rows = await session.scalars(
        select(Employer).join(EmployerMember).where(EmployerMember.user_id == user.id)
    )
    return list(rows)


async def members(session: AsyncSession, employer: Employer) -> list[tuple[User, bool]]:
    rows = await session.execute(
        select(User, EmployerMember.is_owner)
        .join(EmployerMember, EmployerMember.user_id == User.id)
        .where(EmployerMember.employer_id == employer.id)
        .order_by(User.name)
    )
    return [(user, owner) for user, owner in rows.all()]


# Booths ---------------------------------------------------------------------------------------


async def request_booth(
    session: AsyncSession, *, by: User, employer: Employer, edition: Edition
) -> Booth:
    """Ask for a booth in an edition (again, after a decline)."""
    await permissions.require_member(session, by, employer.id)
    if not editions.visible(edition) or edition.archived_at is not None:
        raise Conflict("This edition does not accept booth requests.", code="booth.closed")
    booth = await session.scalar(
        select(Booth).where(Booth.edition_id == edition.id, Booth.employer_id == employer.id)
    )
    if booth is None:
        booth = Booth(
            edition_id=edition.id,
            employer_id=employer.id,
            status=BoothStatus.REQUESTED.value,
            requested_at=clock.now(),
        )
        session.add(booth)
        await session.flush()
        return booth
    await set_status(session, booth, BoothStatus.REQUESTED, by=by)
    booth.requested_at = clock.now()
    return booth


async def set_status(
    session: AsyncSession, booth: Booth, new: BoothStatus, *, by: User, reason: str = ""
) -> None:
    """The one place a booth's status changes.

    Checks the transition, records who decided and why, and on a decision tells the booth's
    recruiters by in-app notice and e-mail (sent after commit). A booth approved before and
    not now is hidden from the public: the live sockets' processes are told (after commit) to
    stop taking its channels as public (`hidden`).
    """
    current = BoothStatus(booth.status)
    if new not in BOOTH_TRANSITIONS[current]:
        raise Conflict(
            "This booth is already “%(status)s”.",
            code="booth.bad_transition",
            params={"status": current.label},
        )
    if new == BoothStatus.DECLINED and not reason.strip():
        message = "Give the employer a reason for declining."
        raise Invalid(message, code="booth.reason_required", fields={"reason": message})
    if current == BoothStatus.APPROVED:
        await hidden(session, booth)
    booth.status = new.value
    if new == BoothStatus.REQUESTED:
        return
    booth.decline_reason = reason.strip() if new == BoothStatus.DECLINED else ""
    booth.decided_at = clock.now()
    booth.decided_by_id = by.id
    await session.flush()
    if new == BoothStatus.APPROVED:
        await webhooks.booth_event(session, booth)
    await _tell_booth_decision(session, booth, new)


async def hidden(session: AsyncSession, booth: Booth) -> None:
    """Tell every process (after commit) that the booth's channel and its talks' are no longer
    visible to everyone (fair.live.hub forgets them as public)."""
    talks = await session.scalars(
        select(Webconference.id).where(Webconference.booth_id == booth.id)
    )
    names = [channels.booth(booth.id), *(channels.webconference(t) for t in talks)]
    events.emit(session, channel=channels.HIDDEN, event="hidden", payload={"channels": names})


async def _tell_booth_decision(session: AsyncSession, booth: Booth, new: BoothStatus) -> None:
    employer = await get(session, booth.employer_id)
    edition = await editions.get(session, booth.edition_id)
    link = f"/recruiter/booths/{booth.id}"
    for user, _owner in await members(session, employer):
        params = {"status": new.value, "edition": edition.title, "reason": booth.decline_reason}
        await notices.add(
            session, user_id=user.id, kind=NoticeKind.BOOTH_DECISION, params=params, link=link
        )
        if new == BoothStatus.APPROVED:
            body = _(
                "Your booth for %(employer)s in %(edition)s was approved.\n%(link)s\n",
                user.locale,
                employer=employer.name,
                edition=edition.title,
                link=settings.get().base_url + link,
            )
        else:
            body = _(
                "Your booth request for %(employer)s in %(edition)s was declined.\n"
                "Reason: %(reason)s\n",
                user.locale,
                employer=employer.name,
                edition=edition.title,
                reason=booth.decline_reason,
            )
        subject = _("Your booth in %(edition)s", user.locale, edition=edition.title)
        await mail.queue(session, to=user.email, subject=subject, body=body)


async def get_booth(session: AsyncSession, booth_id: int) -> Booth:
    booth = await session.scalar(
        select(Booth)
        .where(Booth.id == booth_id)
        .options(selectinload(Booth.employer), selectinload(Booth.edition))
    )
    if booth is None:
        raise NotFound("This booth does not exist.")
    return booth


def is_public(booth: Booth) -> bool:
    """Whether the public sees the booth, on its pages and through the socket: approved, in a
    published edition (`booth.edition` loaded, as `get_booth` does)."""
    return booth.status == BoothStatus.APPROVED and editions.visible(booth.edition)


async def public_booth(session: AsyncSession, booth_id: int) -> Booth:
    """The booth, if the public sees it (`is_public`); else, as if it did not exist, NotFound."""
    booth = await get_booth(session, booth_id)
    if not is_public(booth):
        raise NotFound("This booth does not exist.")
    return booth


async def booths_of_edition(
    session: AsyncSession, edition: Edition, *, status: BoothStatus | None = None
) -> list[Booth]:
    query = (
        select(Booth)
        .where(Booth.edition_id == edition.id)
        .options(selectinload(Booth.employer))
        .order_by(Booth.requested_at)
    )
    if status is not None:
        query = query.where(Booth.status == status.value)
    return list(await session.scalars(query))


async def approved_page(
    session: AsyncSession,
    *,
    edition_id: int,
    after: int | None,
    limit: int,
    updated_since: datetime | None = None,
) -> list[Booth]:
    """An edition's approved booths with their employers, by id, from just after `after`,
    `limit` at most, changed at or after `updated_since`: the public API's list (fair.api)."""
    query = select(Booth).where(
        Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value
    )
    if after is not None:
        query = query.where(Booth.id > after)
    if updated_since is not None:
        query = query.where(Booth.updated_at >= updated_since)
    rows = await session.scalars(
        query.options(selectinload(Booth.employer)).order_by(Booth.id).limit(limit)
    )
    return list(rows)


async def booths_of_user(session: AsyncSession, user: User) -> list[Booth]:
    rows = await session.scalars(
        select(Booth)
        .join(EmployerMember, EmployerMember.employer_id == Booth.employer_id)
        .where(EmployerMember.user_id == user.id)
        .options(selectinload(Booth.employer), selectinload(Booth.edition))
        .order_by(Booth.requested_at.desc())
    )
    return list(rows)


async def hall(session: AsyncSession, edition: Edition) -> list[tuple[Booth, int]]:
    """Approved booths of an edition with their published offer counts, by employer name."""
    counts = (
        select(Offer.booth_id, func.count(Offer.id).label("n"))
        .where(Offer.edition_id == edition.id, Offer.published.is_(True))
        .group_by(Offer.booth_id)
        .subquery()
    )
    rows = await session.execute(
        select(Booth, func.coalesce(counts.c.n, 0))
        .join(Employer, Employer.id == Booth.employer_id)
        .outerjoin(counts, counts.c.booth_id == Booth.id)
        .where(Booth.edition_id == edition.id, Booth.status == BoothStatus.APPROVED.value)
        .options(selectinload(Booth.employer))
        .order_by(Employer.name)
    )
    return [(booth, int(n)) for booth, n in rows.all()]


# Invitations ----------------------------------------------------------------------------------


async def invite(session: AsyncSession, *, by: User, employer: Employer, email: str) -> str:
    """The owner invites a colleague by e-mail; returns the raw link token (also mailed)."""
    await permissions.require_member(session, by, employer.id, owner=True)
    email = accounts.check_email(email)
    raw, digest = tokens.new_token()
    session.add(
        Invitation(
            employer_id=employer.id,
            email=email,
            token_hash=digest,
            invited_by_id=by.id,
            created_at=clock.now(),
            expires_at=clock.now() + INVITATION_LIFETIME,
        )
    )
    await session.flush()
    link = f"{settings.get().base_url}/invitations/{raw}"
    body = _(
        "%(name)s invites you to recruit for %(employer)s on fair.\n"
        "Open this link to join (valid 14 days):\n%(link)s\n",
        by.locale,
        name=by.name,
        employer=employer.name,
        link=link,
    )
    subject = _("Join %(employer)s on fair", by.locale, employer=employer.name)
    await mail.queue(session, to=email, subject=subject, body=body)
    return raw


async def invitation(session: AsyncSession, token: str) -> Invitation:
    found = await session.scalar(
        select(Invitation).where(Invitation.token_hash == tokens.digest(token))
    )
    if found is None or found.accepted_at is not None or found.expires_at < clock.now():
        raise NotFound(
            "This invitation has expired or was already used. Ask for a new one.",
            code="invitation.expired",
        )
    return found


async def accept_invitation(session: AsyncSession, *, token: str, user: User) -> Employer:
    """Join the employer with an invitation link; only the account of the invited address may
    (a link forwarded to, or seen by, anyone else joins nothing)."""
    found = await invitation(session, token)
    if accounts.normalize_email(user.email) != accounts.normalize_email(found.email):
        raise Forbidden(
            "This invitation was sent to another e-mail address. Log in with the account of "
            "that address, or ask the employer to invite yours.",
            code="invitation.other_address",
        )
    if user.role != Role.RECRUITER:
        raise Forbidden(
            "Invitations are for recruiter accounts. Log out and create one with this link."
        )
    found.accepted_at = clock.now()
    if not await permissions.is_member(session, user, found.employer_id):
        session.add(EmployerMember(employer_id=found.employer_id, user_id=user.id, is_owner=False))
    await session.flush()
    return await get(session, found.employer_id)
