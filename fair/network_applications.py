"""Applications across the network of territories (docs/NETWORK.md).

Here, at the candidate's instance: `queue` records the application to a partner's offer with
the candidate's consent (the wording they agreed to, and when); `send_round` (a worker round)
posts it, signed (fair.network), to the origin instance, which answers with its own
application's id; `status_round` pulls the origin's status changes of the applications we sent
(the candidate's instance pulls: the origin needs no address of ours and holds no key to us
for this). Both read the origin's answers through fair.partner_http (at most MAX_ANSWER bytes).
A refused application (a definite 4xx) fails at once, with the origin's reason; a timeout, a
5xx or an answer past the cap is retried with backoff for a day.

There, at the origin: `receive` creates a real application at the offer's booth through
`applications.apply` for a network candidate (an account without a password, known by the
partner's key and e-mail), with the CV sent; the booth's recruiters decide as for any
application (`applications.set_status`); `changes_after` lists those changes for the partner.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import (
    accounts,
    applications,
    candidates,
    clock,
    db,
    mail,
    network,
    offers,
    partner_http,
)
from fair.enums import ApplicationStatus, Role
from fair.errors import Conflict, Forbidden, Invalid, NotFound
from fair.i18n import N_
from fair.models import (
    ApiKey,
    Application,
    NetworkApplication,
    NetworkCandidate,
    NetworkInbound,
    NetworkOffer,
    NetworkPartner,
    StoredFile,
    User,
)
from fair.partner_http import Answer

log = logging.getLogger("fair.network")
QUEUED, SENT, FAILED = "queued", "sent", "failed"
BATCH = 20
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=30)
GIVE_UP = timedelta(hours=24)
STATUS_PAGE = 200
# PostgreSQL advisory lock namespace (fair.db.serialise): one partner key's applications in turn.
INBOUND_LOCK = 5_106
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
# What the candidate agrees to, shown beside the button and kept with the application.
CONSENT = N_(
    "I agree that my name, my e-mail address, my message and my CV are sent to %(territory)s's "
    "instance, where the employer's recruiters will read them and answer there."
)


# Here: the candidate applies -------------------------------------------------------------


async def queue(
    session: AsyncSession,
    *,
    candidate: User,
    offer: NetworkOffer,
    message: str,
    consented: bool,
    consent_text: str,
) -> NetworkApplication:
    """Record the candidate's application to a partner's offer, to be sent by `send_round`."""
    if candidate.role != Role.CANDIDATE:
        raise Forbidden("Only candidates can apply to offers.")
    if not consented:
        text = "Tick the box to agree that your application is sent to the partner."
        raise Invalid(text, code="network.consent_required", fields={"consent": text})
    if len(message) > applications.MAX_MESSAGE:
        text = "Your message is too long (5,000 characters at most)."
        raise Invalid(text, code="application.invalid", fields={"message": text})
    profile = await candidates.profile(session, candidate)
    if profile.cv_file_id is None:
        text = "Add your CV (a PDF) before applying."
        raise Invalid(text, code="application.cv_required", fields={"cv": text})
    partner = await session.get(NetworkPartner, offer.partner_id)
    if partner is None or not partner.active:
        raise NotFound("This offer does not exist.")
    now = clock.now()
    application = NetworkApplication(
        partner_id=partner.id,
        candidate_id=candidate.id,
        network_offer_id=offer.id,
        origin_offer_id=offer.origin_id,
        offer_title=offer.title,
        employer=offer.employer,
        territory=partner.territory,
        message=message.strip(),
        cv_file_id=profile.cv_file_id,
        consent=consent_text,
        consented_at=now,
        state=QUEUED,
        status=ApplicationStatus.SUBMITTED.value,
        attempts=0,
        last_error="",
        next_attempt_at=now,
        created_at=now,
        status_changed_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(application)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "You have already applied to this offer.", code="application.duplicate"
        ) from exc
    return application


async def of_offer_for(
    session: AsyncSession, user: User, offer: NetworkOffer
) -> NetworkApplication | None:
    found: NetworkApplication | None = await session.scalar(
        select(NetworkApplication).where(
            NetworkApplication.candidate_id == user.id,
            NetworkApplication.partner_id == offer.partner_id,
            NetworkApplication.origin_offer_id == offer.origin_id,
        )
    )
    return found


async def of_candidate(session: AsyncSession, user: User) -> list[NetworkApplication]:
    """The candidate's applications to partners' offers, newest first."""
    rows = await session.scalars(
        select(NetworkApplication)
        .where(NetworkApplication.candidate_id == user.id)
        .order_by(NetworkApplication.created_at.desc(), NetworkApplication.id.desc())
    )
    return list(rows)


@dataclass(frozen=True)
class Outgoing:
    application_id: int
    partner_id: int
    url: str
    key: str
    body: bytes


async def _claim(session: AsyncSession, now: datetime) -> list[Outgoing]:
    """The due applications, leased for LEASE (another worker skips them meanwhile)."""
    statement = (
        select(NetworkApplication, NetworkPartner)
        .join(NetworkPartner, NetworkPartner.id == NetworkApplication.partner_id)
        .where(
            NetworkApplication.state == QUEUED,
            or_(
                NetworkApplication.next_attempt_at.is_(None),
                NetworkApplication.next_attempt_at <= now,
            ),
        )
        .order_by(NetworkApplication.id)
        .limit(BATCH)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=NetworkApplication)
    claimed = []
    for application, partner in (await session.execute(statement)).all():
        application.next_attempt_at = now + LEASE
        try:
            key = network.their_key(partner)
        except Invalid as error:
            _fail(application, error.message)
            continue
        body = await _body(session, application)
        url = f"{partner.base_url}/api/v1/network/applications"
        claimed.append(Outgoing(application.id, partner.id, url, key, body))
    await session.flush()
    return claimed


async def _body(session: AsyncSession, application: NetworkApplication) -> bytes:
    candidate = await session.get(User, application.candidate_id)
    assert candidate is not None  # the application is deleted with its candidate
    cv = await session.get(StoredFile, application.cv_file_id) if application.cv_file_id else None
    data = {
        "reference": application.id,
        "offer_id": application.origin_offer_id,
        "candidate": _who(candidate),
        "message": application.message,
        "consent": {
            "wording": application.consent,
            "at": application.consented_at.isoformat(),
        },
        "cv": None
        if cv is None
        else {"filename": cv.filename, "data": base64.b64encode(cv.data).decode()},
    }
    return json.dumps(data, ensure_ascii=False).encode()


def _who(candidate: User) -> dict[str, str | None]:
    """The candidate as the origin is told: their name, their address, and `ref`, this
    instance's stable reference for them (by which the origin knows them again). An account
    without a mailbox or an erased one carries a placeholder of the reserved .invalid domain
    (fair.mail.has_mailbox): never sent, the address is null then."""
    email = candidate.email if mail.has_mailbox(candidate.email) else None
    return {"name": candidate.name, "email": email, "ref": str(candidate.id)}


async def send_round(
    sessions: async_sessionmaker[AsyncSession], *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """Send the due applications to their origin instances; returns how many were accepted."""
    async with db.unit_of_work(sessions) as session:
        claimed = await _claim(session, clock.now())
    accepted = 0
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as client:
        for outgoing in claimed:
            headers = network.signature_headers(outgoing.key, outgoing.body)
            try:
                answer: Answer | None = await partner_http.fetch(
                    client, "POST", outgoing.url, content=outgoing.body, headers=headers
                )
                error = ""
            except httpx.HTTPError as exc:
                answer, error = (
                    None,
                    "timeout" if isinstance(exc, httpx.TimeoutException) else str(exc),
                )
            async with db.unit_of_work(sessions) as session:
                accepted += await _record(session, outgoing.application_id, answer, error)
    return accepted


async def _record(
    session: AsyncSession, application_id: int, answer: Answer | None, error: str
) -> int:
    application = await session.get(NetworkApplication, application_id)
    if application is None:
        return 0
    application.attempts += 1
    now = clock.now()
    if answer is not None and answer.status_code in (200, 201):
        try:
            data = Accepted.model_validate_json(answer.content)
        except ValidationError:
            _retry(application, now, "unexpected answer")
            return 0
        application.state = SENT
        application.remote_id = data.id
        set_status(application, data.status, now)
        application.sent_at = now
        application.next_attempt_at = None
        application.last_error = ""
        return 1
    if answer is not None and partner_http.definite(answer):
        _fail(application, _reason(answer))
    else:
        _retry(application, now, error or (_reason(answer) if answer is not None else "error"))
    return 0


def set_status(sent: NetworkApplication, status: ApplicationStatus, at: datetime) -> None:
    """The one writer of an application's status here: the origin's, as it answered (when
    accepted, then on each pull); no mail: the origin tells the candidate itself."""
    sent.status = status.value
    sent.status_changed_at = at


def _reason(answer: Answer) -> str:
    try:
        error = answer.json()["error"]
        return f"HTTP {answer.status_code} {error['code']}: {error['message']}"[:500]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {answer.status_code}"


def _fail(application: NetworkApplication, reason: str) -> None:
    application.state = FAILED
    application.last_error = reason[:500]
    application.next_attempt_at = None


def _retry(application: NetworkApplication, now: datetime, reason: str) -> None:
    if now - application.created_at > GIVE_UP:
        _fail(application, reason)
        return
    delay = FIRST_RETRY * 2 ** min(application.attempts - 1, 12) * random.uniform(0.5, 1.0)
    application.last_error = reason[:500]
    application.next_attempt_at = now + min(delay, timedelta(hours=2))


class Accepted(BaseModel):
    id: int
    reference: int
    status: ApplicationStatus


class StatusItem(BaseModel):
    id: int
    reference: int
    status: ApplicationStatus
    status_changed_at: datetime


class StatusPage(BaseModel):
    items: list[StatusItem] = Field(max_length=1000)
    cursor: str = Field(max_length=300)
    more: bool


async def status_round(
    sessions: async_sessionmaker[AsyncSession], *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """Pull the status changes of the applications sent to each active partner (one page a
    partner a round); returns the applications whose status changed here."""
    async with db.unit_of_work(sessions) as session:
        rows = await session.scalars(
            select(NetworkPartner).where(
                NetworkPartner.active.is_(True),
                NetworkPartner.id.in_(
                    select(NetworkApplication.partner_id).where(NetworkApplication.state == SENT)
                ),
            )
        )
        pulls = []
        for partner in rows:
            try:
                pulls.append(
                    (
                        partner.id,
                        partner.base_url,
                        network.their_key(partner),
                        partner.status_cursor,
                    )
                )
            except Invalid:
                continue  # recorded by the offers' pull (fair.network_sync)
    changed = 0
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as client:
        for partner_id, base_url, key, cursor in pulls:
            params = {"limit": str(STATUS_PAGE)} | ({"cursor": cursor} if cursor else {})
            try:
                response = await partner_http.fetch(
                    client,
                    "GET",
                    f"{base_url}/api/v1/network/applications",
                    params=params,
                    headers={"authorization": f"Bearer {key}"},
                )
                if response.status_code != 200:
                    raise ValueError(f"HTTP {response.status_code}")
                page = StatusPage.model_validate_json(response.content)
            except (httpx.HTTPError, ValueError, ValidationError) as error:
                log.warning("pulling statuses from partner %s failed: %s", partner_id, error)
                continue
            async with db.unit_of_work(sessions) as session:
                changed += await apply_statuses(session, partner_id, page)
    return changed


async def apply_statuses(session: AsyncSession, partner_id: int, page: StatusPage) -> int:
    """Write the origin's statuses of our applications, and where the next pull starts."""
    changed = 0
    for item in page.items:
        application = await session.scalar(
            select(NetworkApplication).where(
                NetworkApplication.partner_id == partner_id,
                NetworkApplication.id == item.reference,
                NetworkApplication.remote_id == item.id,
            )
        )
        if application is not None and application.status != item.status.value:
            set_status(application, item.status, item.status_changed_at)
            changed += 1
    partner = await session.get(NetworkPartner, partner_id)
    if partner is not None:
        partner.status_cursor = page.cursor
    await session.flush()
    return changed


# There: the origin receives ------------------------------------------------------------------


class CandidateIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    email: str | None = Field(
        default=None,
        min_length=3,
        max_length=254,
        description="Null for a candidate without an e-mail address.",
    )
    ref: str = Field(
        default="",
        max_length=40,
        pattern=r"^[0-9A-Za-z_-]*$",
        description="The sending instance's stable reference for the candidate.",
    )


class ConsentIn(BaseModel):
    wording: str = Field(min_length=1, max_length=2000)
    at: datetime


class CvIn(BaseModel):
    filename: str = Field(max_length=200)
    data: str = Field(description="The PDF, in base64.")


class Incoming(BaseModel):
    """An application sent by a partner instance for one of its candidates."""

    reference: int = Field(ge=1, description="The application's id at the sending instance.")
    offer_id: int = Field(ge=1)
    candidate: CandidateIn
    message: str = Field(default="", max_length=applications.MAX_MESSAGE)
    consent: ConsentIn
    cv: CvIn | None = None


async def receive(session: AsyncSession, *, key: ApiKey, data: Incoming) -> Application:
    """Create the application at the offer's booth (an offer of the key's edition, open to
    applications) for the partner's candidate, with the CV sent. Sending the same `reference`
    again gives the same application (a retry whose answer was lost). One key's applications
    are written one at a time: a retry racing its first try then finds it, and two applications
    of one new candidate make one account."""
    await db.serialise(session, INBOUND_LOCK, key.id)
    known = await session.scalar(
        select(NetworkInbound.application_id).where(
            NetworkInbound.api_key_id == key.id, NetworkInbound.reference == data.reference
        )
    )
    if known is not None:
        return await applications.get(session, known)
    offer = await offers.get_public(session, data.offer_id)
    if offer.edition_id != key.edition_id:
        raise NotFound("This offer does not exist.")
    if data.cv is None:
        text = "Add your CV (a PDF) before applying."
        raise Invalid(text, code="application.cv_required", fields={"cv": text})
    try:
        pdf = base64.b64decode(data.cv.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(
            "This file is not a PDF document. Please choose a PDF file.",
            code="upload.not_pdf",
            fields={"cv": "This file is not a PDF document. Please choose a PDF file."},
        ) from exc
    candidate = await _candidate(session, key, data.candidate)
    await candidates.set_cv(session, candidate, filename=data.cv.filename, data=pdf)
    application = await applications.apply(
        session, candidate=candidate, offer=offer, message=data.message
    )
    session.add(
        NetworkInbound(
            application_id=application.id,
            api_key_id=key.id,
            reference=data.reference,
            created_at=clock.now(),
        )
    )
    await session.flush()
    return application


async def _candidate(session: AsyncSession, key: ApiKey, given: CandidateIn) -> User:
    """The partner's candidate here: found by the key and their e-mail (or, without one, the
    partner's reference for them), or a new account without a password. Its address is theirs
    unless an account here has it already (it is then never reused: a partner must not apply
    in a local account's name), then plus-addressed; without an address (a placeholder of the
    .invalid domain counts as none), an account without a mailbox."""
    email = accounts.check_email(given.email) if given.email else ""
    email = email if mail.has_mailbox(email) else ""
    known_as = email or (f"ref:{given.ref}" if given.ref else "")
    if known_as:
        found = await session.scalar(
            select(NetworkCandidate.user_id).where(
                NetworkCandidate.api_key_id == key.id, NetworkCandidate.email == known_as
            )
        )
        if found is not None:
            user = await session.get(User, found)
            assert user is not None  # deleted with its user
            return user
    if not email:
        user = await accounts.create_without_mailbox(session, name=given.name)
    else:
        address = email
        if await accounts.by_email(session, email) is not None:
            local, _, domain = email.partition("@")
            address = f"{local}+reseau{key.id}@{domain}"
        user = await accounts.create_user(
            session, email=address, name=given.name, password=None, role=Role.CANDIDATE
        )
    if known_as:
        session.add(
            NetworkCandidate(
                user_id=user.id, api_key_id=key.id, email=known_as, created_at=clock.now()
            )
        )
    await session.flush()
    return user


@dataclass(frozen=True)
class Change:
    application_id: int
    reference: int
    status: str
    status_changed_at: datetime


def encode_cursor(at: datetime, application_id: int) -> str:
    raw = f"{at.astimezone(UTC).isoformat()}|{application_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, number = raw.split("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or not number.isdigit() or len(number) > 18:
            raise ValueError(raw)
        return at, int(number)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Invalid(
            "This cursor is not valid.", code="input.invalid", fields={"cursor": "Not valid."}
        ) from exc


async def changes_after(
    session: AsyncSession, key: ApiKey, *, cursor: str, limit: int
) -> tuple[list[Change], str, bool]:
    """The statuses of the applications `key`'s partner sent, by when they last changed, after
    `cursor`; with the next cursor and whether more follow."""
    statement = (
        select(
            Application.id,
            NetworkInbound.reference,
            Application.status,
            Application.status_changed_at,
        )
        .join(NetworkInbound, NetworkInbound.application_id == Application.id)
        .where(NetworkInbound.api_key_id == key.id)
    )
    if cursor:
        at, after = decode_cursor(cursor)
        statement = statement.where(
            or_(
                Application.status_changed_at > at,
                and_(Application.status_changed_at == at, Application.id > after),
            )
        )
    rows = (
        await session.execute(
            statement.order_by(Application.status_changed_at, Application.id).limit(limit + 1)
        )
    ).all()
    changes = [Change(*row) for row in rows[:limit]]
    last = changes[-1] if changes else None
    following = encode_cursor(last.status_changed_at, last.application_id) if last else cursor
    return changes, following, len(rows) > limit
