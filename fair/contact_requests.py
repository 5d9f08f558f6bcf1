"""Contact requests: a recruiter or a temporary-work agency found a profile in the CV pool and
asks the candidate for contact (fair.cv_pool). The candidate accepts or declines from their
pool page; until they accept, the organisation sees no name, no contact detail, no CV.

`ask` and `answer` own a request's status (enums.CONTACT_TRANSITIONS). Side effects: `ask`
adds a notice for the candidate and mails them (fair.pool_mail.requested); `answer` adds a
notice for the requester and mails them (fair.pool_mail.answered). Accepting opens the
candidate's contact details and CV to the requester's whole organisation (the employer or the
agency), while the profile stays in the pool for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, cv_pool, db, notices, pool_mail
from fair.enums import CONTACT_TRANSITIONS, ContactStatus
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.models import ContactRequest, CvText, NetworkContactIn, User

MAX_MESSAGE = 2000
DECLINED_WINDOW = timedelta(days=90)  # no new request through a partner's key
# PostgreSQL advisory lock namespace (fair.db.serialise): one partner key's requests in turn.
PARTNER_LOCK = 5_105


def _message(message: str) -> str:
    message = message.strip()
    if not message or len(message) > MAX_MESSAGE:
        text = "Write a message of 2,000 characters at most: who you are and why you call."
        raise Invalid(text, code="contact.invalid", fields={"message": text})
    return message


async def _organisation_requests(
    session: AsyncSession, viewer: cv_pool.Viewer, candidate_id: int
) -> list[ContactRequest]:
    sent = _sent_by(viewer)
    if sent is None:
        return []
    rows = await session.scalars(
        select(ContactRequest).where(ContactRequest.candidate_id == candidate_id, sent)
    )
    return list(rows)


def _sent_by(viewer: cv_pool.Viewer) -> ColumnElement[bool] | None:
    """Requests sent by one of the viewer's employers or structures; None when they have none."""
    org = []
    if viewer.employer_ids:
        org.append(ContactRequest.employer_id.in_(viewer.employer_ids))
    if viewer.structure_ids:
        org.append(ContactRequest.structure_id.in_(viewer.structure_ids))
    return or_(*org) if org else None


async def ask(
    session: AsyncSession, *, viewer: cv_pool.Viewer, requester: User, ref: str, message: str
) -> ContactRequest:
    """Ask the candidate of profile `ref` (visible to `viewer`) for contact, on behalf of the
    viewer's organisation (their first employer, or their agency).

    Refuses: `contact.invalid` (an empty or too long message), `contact.already_requested`
    (an open request of the organisation), `contact.already_accepted`, `contact.declined` (the
    candidate declined the organisation under the same consent); NotFound for a hidden profile.
    """
    if viewer.user_id is None or viewer.user_id != requester.id:
        raise Forbidden("Only a recruiter or an agency of this platform may ask for contact.")
    text = _message(message)
    candidate_id, consent = await cv_pool.visible_consent(session, viewer, ref)
    _refuse_again(await _organisation_requests(session, viewer, candidate_id), consent.id)
    request = ContactRequest(
        candidate_id=candidate_id,
        requester_id=requester.id,
        employer_id=viewer.employer_ids[0] if viewer.employer_ids else None,
        structure_id=None if viewer.employer_ids else viewer.structure_ids[0],
        organisation=viewer.organisation[:200],
        consent_id=consent.id,
        message=text,
        status=ContactStatus.REQUESTED.value,
        active_key=1,
        created_at=clock.now(),
    )
    await _open(session, request)
    return request


async def ask_from_partner(
    session: AsyncSession,
    *,
    viewer: cv_pool.Viewer,
    api_key_id: int,
    organisation_key: str,
    requester: str,
    reference: int,
    ref: str,
    message: str,
) -> ContactRequest:
    """`ask`, for an organisation of a partner instance of the network (fair.network_pool): the
    partner's key `api_key_id`, the organisation as the partner names it (`organisation_key`),
    the person asking (`requester`, a name: they have no account here) and the partner's id for
    the request (`reference`: the same reference again gives the same request back). The same
    refusals; the organisation's earlier requests are those of the same key and
    `organisation_key`. The candidate is told and answers as for any request; the answer, and
    the contact details once accepted, go back by the partner's pull
    (fair.network_pool.changes_for). Also refused: a known `reference` with another profile
    or organisation (`contact.reference_taken`), and any request of the key to a candidate who
    declined one of its requests within DECLINED_WINDOW (`contact.declined`). One key's
    requests are written one at a time (a retry racing its first try then finds it)."""
    await db.serialise(session, PARTNER_LOCK, api_key_id)
    known = (
        await session.execute(
            select(ContactRequest, NetworkContactIn.organisation_key)
            .join(NetworkContactIn, NetworkContactIn.contact_request_id == ContactRequest.id)
            .where(
                NetworkContactIn.api_key_id == api_key_id, NetworkContactIn.reference == reference
            )
        )
    ).first()
    if known is not None:
        return await _same_request(session, known[0], known[1], organisation_key, ref)
    text = _message(message)
    candidate_id, consent = await cv_pool.visible_consent(session, viewer, ref)
    earlier = await session.scalars(
        select(ContactRequest)
        .join(NetworkContactIn, NetworkContactIn.contact_request_id == ContactRequest.id)
        .where(
            ContactRequest.candidate_id == candidate_id,
            NetworkContactIn.api_key_id == api_key_id,
            NetworkContactIn.organisation_key == organisation_key,
        )
    )
    _refuse_again(list(earlier), consent.id)
    await _refuse_declined_key(session, api_key_id, candidate_id)
    request = ContactRequest(
        candidate_id=candidate_id,
        requester_id=None,
        employer_id=None,
        structure_id=None,
        organisation=viewer.organisation[:200],
        consent_id=consent.id,
        message=text,
        status=ContactStatus.REQUESTED.value,
        active_key=1,
        created_at=clock.now(),
    )
    await _open(session, request)
    session.add(
        NetworkContactIn(
            contact_request_id=request.id,
            api_key_id=api_key_id,
            organisation_key=organisation_key,
            requester=requester[:120],
            reference=reference,
            created_at=request.created_at,
        )
    )
    await session.flush()
    return request


async def _same_request(
    session: AsyncSession, known: ContactRequest, known_key: str, organisation_key: str, ref: str
) -> ContactRequest:
    """The request a partner's reference already names, if this is the same request again (a
    retry whose answer was lost): same profile, same organisation. Another request under a
    known reference is refused (409 `contact.reference_taken`): answering it with the known
    request would send one candidate's answer, and contact details, for another's."""
    candidate_id = await session.scalar(select(CvText.user_id).where(CvText.ref == ref))
    if known_key != organisation_key or candidate_id != known.candidate_id:
        raise Conflict(
            "This reference names another request already.", code="contact.reference_taken"
        )
    return known


async def _refuse_declined_key(session: AsyncSession, api_key_id: int, candidate_id: int) -> None:
    """A candidate who declined a request that came with a partner's key hears from no
    organisation of that key for DECLINED_WINDOW: the organisation a partner names is its
    word alone, a new name must not get round the candidate's no."""
    declined = await session.scalar(
        select(ContactRequest.id)
        .join(NetworkContactIn, NetworkContactIn.contact_request_id == ContactRequest.id)
        .where(
            ContactRequest.candidate_id == candidate_id,
            NetworkContactIn.api_key_id == api_key_id,
            ContactRequest.status == ContactStatus.DECLINED.value,
            ContactRequest.answered_at > clock.now() - DECLINED_WINDOW,
        )
        .limit(1)
    )
    if declined is not None:
        raise Conflict(
            "This candidate declined your organisation's request.", code="contact.declined"
        )


def _refuse_again(earlier: list[ContactRequest], consent_id: int) -> None:
    """The organisation's earlier requests to the candidate allow no new one."""
    for found in earlier:
        if found.status == ContactStatus.REQUESTED:
            raise Conflict(
                "Your organisation already asked this candidate; wait for their answer.",
                code="contact.already_requested",
            )
        if found.status == ContactStatus.ACCEPTED:
            raise Conflict(
                "This candidate already accepted your organisation's request.",
                code="contact.already_accepted",
            )
        if found.consent_id == consent_id:
            raise Conflict(
                "This candidate declined your organisation's request.", code="contact.declined"
            )


async def _open(session: AsyncSession, request: ContactRequest) -> None:
    """Write a new request and tell the candidate (a notice and a mail)."""
    session.add(request)
    await session.flush()
    candidate = await session.get(User, request.candidate_id)
    assert candidate is not None
    await notices.add(
        session,
        user_id=request.candidate_id,
        kind="contact_request",
        params={"organisation": request.organisation},
        link=pool_mail.POOL_PATH + "#contacts",
    )
    await pool_mail.requested(session, request, candidate)


async def of_candidate(session: AsyncSession, candidate_id: int) -> list[ContactRequest]:
    """The candidate's requests, open ones first, then newest first."""
    rows = await session.scalars(
        select(ContactRequest)
        .where(ContactRequest.candidate_id == candidate_id)
        .order_by(ContactRequest.active_key.is_(None), ContactRequest.id.desc())
    )
    return list(rows)


@dataclass(frozen=True)
class Sent:
    request: ContactRequest
    ref: str  # the profile's pseudonym


async def of_viewer(session: AsyncSession, viewer: cv_pool.Viewer) -> list[Sent]:
    """The requests of the viewer's organisation, newest first, with the profiles' refs."""
    sent = _sent_by(viewer)
    if sent is None:
        return []
    rows = await session.execute(
        select(ContactRequest, CvText.ref)
        .join(CvText, CvText.user_id == ContactRequest.candidate_id)
        .where(sent)
        .order_by(ContactRequest.id.desc())
        .limit(200)
    )
    return [Sent(request, ref) for request, ref in rows.all()]


async def answer(
    session: AsyncSession, user: User, *, request_id: int, accept: bool
) -> ContactRequest:
    """The candidate accepts or declines a request addressed to them (NotYours otherwise;
    `contact.answered` if it was answered already). Tells the requester."""
    request = await session.get(ContactRequest, request_id)
    if request is None or request.candidate_id != user.id:
        raise NotYours("This request does not exist.")
    new = ContactStatus.ACCEPTED if accept else ContactStatus.DECLINED
    if new not in CONTACT_TRANSITIONS[ContactStatus(request.status)]:
        raise Conflict("You already answered this request.", code="contact.answered")
    request.status = new.value
    request.active_key = None
    request.answered_at = clock.now()
    await session.flush()
    requester = await session.get(User, request.requester_id) if request.requester_id else None
    if requester is not None:
        await notices.add(
            session,
            user_id=requester.id,
            kind="contact_answer",
            params={"status": new.value},
            link="/pool/requests",
        )
        await pool_mail.answered(session, request, requester)
    return request
