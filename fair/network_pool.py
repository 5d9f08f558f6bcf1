"""The CV pool across the network of territories (docs/NETWORK.md, "The CV pool across the
network").

Here, at the requester's instance: the recruiters and agencies who may search the local pool
(fair.cv_pool.viewer_of, the same rule) search the profiles that a partner's candidates opened
to the whole network, through the partner's key we hold (`partners_for`, `search`), open one
(`open_profile`: signed, so that the partner records who opened it) and ask for contact
(`ask`: signed; recorded here as a `NetworkContact`). `contact_round` (a worker round) pulls
the answers, signed: the candidate's contact details come with an acceptance, never before.

There, at the profile's instance: `partner_viewer` is the pool's viewer a partner's person
is (level 3 profiles only, named in the candidate's access log as "Person (Organisation ·
the partner's key)"); fair.contact_requests.ask_from_partner records their request;
`changes_for` lists the answers to a partner's requests, with the contact details of those
accepted while the profile stays open to the network (each handing-over in the access log).

No transaction is open here while a request is in flight: the callers read what they need,
end their transaction, call, then write in a unit of work of their own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import (
    access_log,
    clock,
    contact_requests,
    cv_pool,
    db,
    i18n,
    network,
    network_applications,
    notices,
    partner_http,
)
from fair.enums import AccessKind, ContactStatus
from fair.errors import Conflict, FairError, Forbidden, Invalid, NotFound
from fair.models import (
    ApiKey,
    CandidateProfile,
    ContactRequest,
    Edition,
    NetworkContact,
    NetworkContactIn,
    NetworkPartner,
    PoolConsent,
    StructureEdition,
    User,
)
from fair.partner_http import Answer

log = logging.getLogger("fair.network")
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
PAGE = 200
RESEND = 50  # unsent requests sent again to a partner a round
REQUESTS_PATH = "/network/pool/requests"
GONE = "This profile is not in the CV pool, or no longer."


# What crosses ---------------------------------------------------------------------------------


class ViewerIn(BaseModel):
    """Who, at the partner instance, opens a profile or asks for contact."""

    person: str = Field(min_length=1, max_length=120, description="Their name.")
    organisation: str = Field(min_length=1, max_length=200, description="Their organisation.")
    organisation_key: str = Field(
        pattern=r"^(employer|structure):[0-9]{1,12}$",
        description="The organisation as the partner knows it (its requests are grouped so).",
    )


class OpenIn(BaseModel):
    ref: str = Field(pattern=r"^[0-9A-F]{10}$")
    viewer: ViewerIn


class ContactIn(BaseModel):
    reference: int = Field(ge=1, description="The request's id at the partner instance.")
    ref: str = Field(pattern=r"^[0-9A-F]{10}$")
    viewer: ViewerIn
    message: str = Field(min_length=1, max_length=2000)


class ChangesIn(BaseModel):
    cursor: str = Field("", max_length=300)
    limit: int = Field(PAGE, ge=1, le=PAGE)


class RemoteProfile(BaseModel):
    """A partner's pseudonymous profile, as its API answers it (fair.api.network)."""

    ref: str = Field(pattern=r"^[0-9A-F]{10}$")
    jobs: str = Field(max_length=2000)
    commune: str = Field(max_length=120)
    departement: str = Field(max_length=120)
    distance_km: float | None = None
    excerpt: str = Field(max_length=200_000)
    until: datetime


class RemotePage(BaseModel):
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    profiles: list[RemoteProfile] = Field(max_length=100)


class ContactOut(BaseModel):
    name: str = Field(max_length=120)
    email: str = Field(max_length=254)
    phone: str = Field(max_length=40)


class ChangeOut(BaseModel):
    id: int
    reference: int
    status: ContactStatus
    answered_at: datetime
    contact: ContactOut | None = Field(
        None, description="The candidate's contact details: only once they accepted."
    )


class ChangesOut(BaseModel):
    items: list[ChangeOut] = Field(max_length=PAGE)
    cursor: str = Field(max_length=300)
    more: bool


class Accepted(BaseModel):
    id: int
    reference: int
    status: ContactStatus


# Here: searching a partner's pool ----------------------------------------------------------------


async def partners_for(session: AsyncSession, viewer: cv_pool.Viewer) -> list[NetworkPartner]:
    """The active partners of the editions (not archived) where the viewer staffs an approved
    booth or where their agency is admitted; one per instance address."""
    editions = set(viewer.editions)
    if viewer.structure_ids:
        admitted = await session.scalars(
            select(StructureEdition.edition_id)
            .join(Edition, Edition.id == StructureEdition.edition_id)
            .where(
                StructureEdition.structure_id.in_(viewer.structure_ids),
                Edition.archived_at.is_(None),
            )
        )
        editions.update(admitted)
    if not editions:
        return []
    rows = await session.scalars(
        select(NetworkPartner)
        .where(NetworkPartner.edition_id.in_(sorted(editions)), NetworkPartner.active.is_(True))
        .order_by(NetworkPartner.territory, NetworkPartner.id)
    )
    seen: set[str] = set()
    found = []
    for partner in rows:
        if partner.base_url not in seen:
            seen.add(partner.base_url)
            found.append(partner)
    return found


async def partner_for(
    session: AsyncSession, viewer: cv_pool.Viewer, partner_id: int
) -> NetworkPartner:
    for partner in await partners_for(session, viewer):
        if partner.id == partner_id:
            return partner
    raise NotFound("This partner does not exist.")


def organisation_key(viewer: cv_pool.Viewer) -> str:
    """The viewer's organisation as it is sent (and as its requests are grouped here)."""
    if viewer.employer_ids:
        return f"employer:{viewer.employer_ids[0]}"
    return f"structure:{viewer.structure_ids[0]}"


def viewer_in(viewer: cv_pool.Viewer, person: str) -> ViewerIn:
    return ViewerIn(
        person=person[:120] or "—",
        organisation=viewer.organisation[:200] or "—",
        organisation_key=organisation_key(viewer),
    )


@dataclass(frozen=True)
class Target:
    """What a call to a partner needs, read before any request leaves."""

    partner_id: int
    base_url: str
    key: str
    territory: str


def target(partner: NetworkPartner) -> Target:
    return Target(partner.id, partner.base_url, network.their_key(partner), partner.territory)


def _unreachable() -> FairError:
    return FairError(
        "The partner instance did not answer as expected; try again in a moment.",
        status=502,
        code="network.unreachable",
    )


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"accept": "application/json", "accept-language": i18n.current_locale.get()} | (
        extra or {}
    )


# The partner's refusals we know (both sides run fair): shown in our reader's words.
KNOWN: dict[str, tuple[int, str]] = {
    "contact.already_requested": (
        409,
        "Your organisation already asked this candidate; wait for their answer.",
    ),
    "contact.already_accepted": (
        409,
        "This candidate already accepted your organisation's request.",
    ),
    "contact.declined": (409, "This candidate declined your organisation's request."),
    "contact.invalid": (
        422,
        "Write a message of 2,000 characters at most: who you are and why you call.",
    ),
}


def _refusal(response: Answer) -> FairError:
    """The partner's refusal as ours: a hidden profile is NotFound, a refusal we know keeps its
    code and reads in our words, the others are "refused"; a 5xx or an answer not in the
    API's shape is "did not answer"."""
    try:
        code = str(response.json()["error"]["code"])[:60]
    except (ValueError, KeyError, TypeError):
        return _unreachable()
    if response.status_code == 404:
        return NotFound(GONE)
    if code in KNOWN:
        status, message = KNOWN[code]
        if status == 409:
            return Conflict(message, code=code)
        return Invalid(message, code=code, fields={"message": message})
    if 400 <= response.status_code < 500:
        return Invalid("The partner instance refused this request.", code=code or "network.refused")
    return _unreachable()


async def _call(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> Answer:
    try:
        return await partner_http.fetch(client, method, url, **kw)
    except httpx.HTTPError as error:
        log.warning("calling %s failed: %s", url, error)
        raise _unreachable() from error


async def search(
    goal: Target,
    query: cv_pool.PoolQuery,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RemotePage:
    """One page of the partner's profiles opened to the network that match `query` (its
    `GET /api/v1/network/pool`, with our key)."""
    params = {
        "q": query.q,
        "commune": query.commune,
        "radius_km": str(query.radius_km),
        "rome": query.rome,
        "contract": query.contract,
        "available_by": query.available_by.isoformat() if query.available_by else "",
        "transport": query.transport,
        "reachable": "true" if query.reachable else "false",
        "page": str(query.page),
    }
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as client:
        response = await _call(
            client,
            "GET",
            f"{goal.base_url}/api/v1/network/pool",
            params={k: v for k, v in params.items() if v},
            headers=_headers({"authorization": f"Bearer {goal.key}"}),
        )
    if response.status_code != 200:
        raise _refusal(response)
    try:
        return RemotePage.model_validate_json(response.content)
    except ValidationError as error:
        raise _unreachable() from error


async def _signed_post(
    goal: Target, path: str, data: BaseModel, transport: httpx.AsyncBaseTransport | None
) -> Answer:
    body = json.dumps(data.model_dump(mode="json"), ensure_ascii=False).encode()
    headers = _headers(network.signature_headers(goal.key, body))
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as client:
        return await _call(client, "POST", f"{goal.base_url}{path}", content=body, headers=headers)


async def open_profile(
    goal: Target,
    viewer: ViewerIn,
    ref: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RemoteProfile:
    """The whole pseudonymous profile `ref` of the partner, opened in the viewer's name (the
    partner records it in the candidate's access log). NotFound when it is hidden now."""
    response = await _signed_post(
        goal, "/api/v1/network/pool/open", OpenIn(ref=ref, viewer=viewer), transport
    )
    if response.status_code != 200:
        raise _refusal(response)
    try:
        return RemoteProfile.model_validate_json(response.content)
    except ValidationError as error:
        raise _unreachable() from error


async def sent_for(
    session: AsyncSession, viewer: cv_pool.Viewer, *, partner_id: int | None = None
) -> list[NetworkContact]:
    """The network contact requests of the viewer's organisation, newest first."""
    statement = select(NetworkContact).where(
        NetworkContact.organisation_key == organisation_key(viewer)
    )
    if partner_id is not None:
        statement = statement.where(NetworkContact.partner_id == partner_id)
    rows = await session.scalars(statement.order_by(NetworkContact.id.desc()).limit(200))
    return list(rows)


async def ask(
    sessions: async_sessionmaker[AsyncSession],
    goal: Target,
    viewer: cv_pool.Viewer,
    requester: User,
    ref: str,
    message: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> NetworkContact:
    """Ask the candidate of the partner's profile `ref` for contact, for the viewer's
    organisation: recorded here (its id is the reference the partner keeps), sent signed.

    The partner's refusal (already asked, declined, hidden, a bad message) is raised and
    nothing stays here. When the partner's answer is unknown (no answer, a 5xx, an answer not
    in the API's shape) it may have kept the request: the row stays unsent, and is sent again
    with the same reference (by the next ask of the organisation for the profile, or the next
    `contact_round`) until the partner says yes or no; `network.pending` is raised. Ids are
    never reused (the table is AUTOINCREMENT on SQLite): a reference names one request for
    good. Call without a transaction open: each write is a unit of work of its own."""
    if viewer.user_id is None or viewer.user_id != requester.id:
        raise Forbidden("Only a recruiter or an agency of this platform may ask for contact.")
    text = message.strip()
    if not text or len(text) > 2000:
        error = "Write a message of 2,000 characters at most: who you are and why you call."
        raise Invalid(error, code="contact.invalid", fields={"message": error})
    try:  # checked before anything is written
        data = ContactIn(
            reference=1, ref=ref, viewer=viewer_in(viewer, requester.name), message=text
        )
    except ValidationError as error:
        raise NotFound(GONE) from error
    async with db.unit_of_work(sessions) as session:
        sent = await _unsent(session, goal.partner_id, data.viewer.organisation_key, ref)
        if sent is None:
            sent = NetworkContact(
                partner_id=goal.partner_id,
                requester_id=requester.id,
                organisation_key=data.viewer.organisation_key,
                organisation=viewer.organisation[:200],
                ref=ref,
                message=text,
                status=ContactStatus.REQUESTED.value,
                name="",
                email="",
                phone="",
                created_at=clock.now(),
            )
            session.add(sent)
            await session.flush()
        data = data.model_copy(update={"reference": sent.id, "message": sent.message})
    found = await _send(sessions, goal, data, transport)
    if found is None:
        raise FairError(
            "The partner instance did not answer as expected. Your request is kept and will be "
            "sent again in a moment.",
            status=502,
            code="network.pending",
        )
    return found


async def _unsent(
    session: AsyncSession, partner_id: int, organisation_key: str, ref: str
) -> NetworkContact | None:
    found: NetworkContact | None = await session.scalar(
        select(NetworkContact)
        .where(
            NetworkContact.partner_id == partner_id,
            NetworkContact.organisation_key == organisation_key,
            NetworkContact.ref == ref,
            NetworkContact.remote_id.is_(None),
        )
        .order_by(NetworkContact.id)
        .limit(1)
    )
    return found


async def _send(
    sessions: async_sessionmaker[AsyncSession],
    goal: Target,
    data: ContactIn,
    transport: httpx.AsyncBaseTransport | None,
) -> NetworkContact | None:
    """Send the request `data.reference` and write what the partner said: accepted (its id
    there, the row returned), refused for sure (the row deleted, the refusal raised), or
    unknown (the row kept unsent, None)."""
    error: FairError | None = None
    accepted: Accepted | None = None
    try:
        response = await _signed_post(goal, "/api/v1/network/contacts", data, transport)
        if response.status_code in (200, 201):
            accepted = Accepted.model_validate_json(response.content)
        elif partner_http.definite(response):
            error = _refusal(response)
    except FairError:
        pass  # no answer: unknown
    except ValidationError:
        log.warning("partner %s answered a contact request oddly", goal.partner_id)
    if accepted is not None and accepted.reference != data.reference:
        accepted = None  # not an answer to this request
    async with db.unit_of_work(sessions) as session:
        found = await session.get(NetworkContact, data.reference)
        if found is None:
            return None
        if error is not None:
            await session.delete(found)
        elif accepted is not None:
            found.remote_id = accepted.id
            await session.flush()
            session.expunge(found)  # returned as written, readable once the session is gone
    if error is not None:
        raise error
    return found if accepted is not None else None


async def _send_unsent(
    sessions: async_sessionmaker[AsyncSession],
    goal: Target,
    transport: httpx.AsyncBaseTransport | None,
) -> None:
    """Send again, with their references, the requests to the partner whose answer was
    unknown (a refusal now removes them, as when first asked)."""
    async with db.unit_of_work(sessions) as session:
        rows = (
            await session.execute(
                select(NetworkContact, User.name)
                .outerjoin(User, User.id == NetworkContact.requester_id)
                .where(
                    NetworkContact.partner_id == goal.partner_id,
                    NetworkContact.remote_id.is_(None),
                )
                .order_by(NetworkContact.id)
                .limit(RESEND)
            )
        ).all()
        pending = [
            ContactIn(
                reference=sent.id,
                ref=sent.ref,
                viewer=ViewerIn(
                    person=(name or "—")[:120],
                    organisation=sent.organisation or "—",
                    organisation_key=sent.organisation_key,
                ),
                message=sent.message,
            )
            for sent, name in rows
        ]
    for data in pending:
        try:
            await _send(sessions, goal, data, transport)
        except FairError as error:
            log.info(
                "partner %s refused contact request %s: %s",
                goal.partner_id,
                data.reference,
                error.code,
            )


async def contact_round(
    sessions: async_sessionmaker[AsyncSession], *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """Send again the requests whose answer was unknown, then pull the answers to our contact
    requests from each active partner we sent some to (signed, one page a partner a round);
    returns the requests answered here."""
    async with db.unit_of_work(sessions) as session:
        partners = await session.scalars(
            select(NetworkPartner).where(
                NetworkPartner.active.is_(True),
                NetworkPartner.id.in_(select(NetworkContact.partner_id)),
            )
        )
        pulls = []
        for partner in partners:
            try:
                pulls.append((target(partner), partner.contact_cursor))
            except Invalid:
                continue  # recorded by the offers' pull (fair.network_sync)
    answered = 0
    for goal, cursor in pulls:
        await _send_unsent(sessions, goal, transport)
        try:
            response = await _signed_post(
                goal,
                "/api/v1/network/contacts/changes",
                ChangesIn(cursor=cursor, limit=PAGE),
                transport,
            )
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            page = ChangesOut.model_validate_json(response.content)
        except (FairError, ValueError, ValidationError) as error:
            log.warning(
                "pulling contact answers from partner %s failed: %s", goal.partner_id, error
            )
            continue
        async with db.unit_of_work(sessions) as session:
            answered += await apply_changes(session, goal.partner_id, page)
    return answered


async def apply_changes(session: AsyncSession, partner_id: int, page: ChangesOut) -> int:
    """Write the partner's answers to our requests (the contact details with an acceptance),
    tell each requester, and save where the next pull starts."""
    answered = 0
    ours = await session.scalars(
        select(NetworkContact).where(
            NetworkContact.partner_id == partner_id,
            NetworkContact.id.in_(sorted({item.reference for item in page.items})),
        )
    )
    by_reference = {(c.id, c.remote_id): c for c in ours}
    for item in page.items:
        found = by_reference.get((item.reference, item.id))
        before = found.status if found is not None else None
        if found is None or not set_answer(found, item):
            continue
        answered += 1
        if found.requester_id is not None and found.status != before:  # an answer, not a clearing
            await notices.add(
                session,
                user_id=found.requester_id,
                kind="contact_answer",
                params={"status": item.status.value},
                link=REQUESTS_PATH,
            )
    partner = await session.get(NetworkPartner, partner_id)
    if partner is not None:
        partner.contact_cursor = page.cursor
    await session.flush()
    return answered


def set_answer(contact: NetworkContact, item: ChangeOut) -> bool:
    """The one writer of a network contact request's status here: the partner's answer, and
    the contact details that come with an acceptance, kept only while the partner gives them
    (an acceptance that comes again without them, the profile hidden there since, clears
    them); whether anything changed."""
    details = item.contact if item.status == ContactStatus.ACCEPTED else None
    given = (details.name, details.email, details.phone) if details else ("", "", "")
    if (
        contact.status == item.status.value
        and (contact.name, contact.email, contact.phone) == given
    ):
        return False
    contact.status = item.status.value
    contact.answered_at = item.answered_at
    contact.name, contact.email, contact.phone = given
    return True


# There: a partner's people in our pool ---------------------------------------------------------


def partner_viewer(key: ApiKey, given: ViewerIn) -> cv_pool.Viewer:
    """The pool's viewer a partner's person is: level 3 profiles only, named with their
    organisation and the partner's key as the candidate reads it in their access log."""
    organisation = f"{given.organisation} · {key.name}"
    return cv_pool.Viewer(
        user_id=None,
        name=f"{given.person} ({organisation})",
        network=True,
        organisation=organisation,
    )


async def ask_for(session: AsyncSession, key: ApiKey, data: ContactIn) -> ContactRequest:
    """Record a partner's contact request (fair.contact_requests.ask_from_partner)."""
    return await contact_requests.ask_from_partner(
        session,
        viewer=partner_viewer(key, data.viewer),
        api_key_id=key.id,
        organisation_key=data.viewer.organisation_key,
        requester=data.viewer.person,
        reference=data.reference,
        ref=data.ref,
        message=data.message,
    )


@dataclass(frozen=True)
class Change:
    request: ContactRequest
    reference: int
    contact: ContactOut | None


async def changes_for(
    session: AsyncSession, key: ApiKey, *, cursor: str, limit: int
) -> tuple[list[Change], str, bool]:
    """The answers to the contact requests `key`'s partner sent, by when they were answered,
    after `cursor`; with the next cursor and whether more follow. An accepted request carries
    the candidate's contact details while their profile stays open to the network (a
    withdrawal or an expiry hides them at once); each handing-over is recorded in the
    candidate's access log, naming the partner's person and organisation."""
    statement = (
        select(ContactRequest, NetworkContactIn)
        .join(NetworkContactIn, NetworkContactIn.contact_request_id == ContactRequest.id)
        .where(NetworkContactIn.api_key_id == key.id, ContactRequest.answered_at.is_not(None))
    )
    if cursor:
        at, after = network_applications.decode_cursor(cursor)
        statement = statement.where(
            or_(
                ContactRequest.answered_at > at,
                and_(ContactRequest.answered_at == at, ContactRequest.id > after),
            )
        )
    rows = (
        await session.execute(
            statement.order_by(ContactRequest.answered_at, ContactRequest.id).limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    opened = await _open_details(
        session,
        key,
        {r.candidate_id for r, _inbound in page if r.status == ContactStatus.ACCEPTED},
    )
    changes = []
    for request, inbound in page:
        contact = None
        if request.status == ContactStatus.ACCEPTED and request.candidate_id in opened:
            contact = await _hand_over(session, request, inbound, opened[request.candidate_id])
        changes.append(Change(request, inbound.reference, contact))
    last = changes[-1].request if changes else None
    following = (
        network_applications.encode_cursor(last.answered_at, last.id)
        if last is not None and last.answered_at is not None
        else cursor
    )
    return changes, following, len(rows) > limit


@dataclass(frozen=True)
class _Open:
    consent_id: int
    contact: ContactOut


async def _open_details(
    session: AsyncSession, key: ApiKey, candidate_ids: set[int]
) -> dict[int, _Open]:
    """The contact details of the candidates (active, their profile open to the network now)
    and the consent that opens each; in one query, whatever the page's size."""
    if not candidate_ids:
        return {}
    rows = await session.execute(
        select(PoolConsent.user_id, PoolConsent.id, User.name, User.email, CandidateProfile.phone)
        .join(User, User.id == PoolConsent.user_id)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == User.id)
        .where(
            PoolConsent.user_id.in_(sorted(candidate_ids)),
            User.is_active.is_(True),
            cv_pool.visible_to(cv_pool.Viewer.partner(key.name), clock.now()),
        )
        .order_by(PoolConsent.id)
    )
    found: dict[int, _Open] = {}
    for user_id, consent_id, name, email, phone in rows.all():
        contact = ContactOut(name=name[:120], email=email, phone=(phone or "")[:40])
        found.setdefault(user_id, _Open(consent_id, contact))
    return found


async def _hand_over(
    session: AsyncSession, request: ContactRequest, inbound: NetworkContactIn, opened: _Open
) -> ContactOut:
    """The accepted request's contact details, recorded in the candidate's access log."""
    await access_log.record(
        session,
        subject_id=request.candidate_id,
        viewer_id=None,
        viewer=f"{inbound.requester} ({request.organisation})",
        what=AccessKind.CONTACT_DETAILS,
        consent_id=opened.consent_id,
    )
    return opened.contact
