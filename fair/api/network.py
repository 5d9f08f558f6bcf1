"""The network of territories' endpoints (docs/NETWORK.md), for partner instances holding a
key with a network scope (fair.network issues them): the delta feed of the key's edition's
offers, applications sent for their candidates (signed: fair.network.verify), and the status
changes of those applications.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from fair import (
    api_keys,
    app_state,
    cv_pool,
    db,
    editions,
    network,
    network_applications,
    offer_feeds,
    offers_version,
    search,
)
from fair import network_pool as pool_across  # `network_pool` is the search's endpoint
from fair.api.core import Call, Endpoint, endpoint
from fair.api.params import Params, Text
from fair.enums import ApiScope, ApplicationStatus, ContactStatus, Contract, Transport
from fair.models import ApiKey

TAGS = ("network",)


class FeedParams(Params):
    cursor: str = Field(
        "", max_length=300, description="Where the previous pull stopped (its `cursor`)."
    )
    limit: int = Field(200, ge=1, le=offer_feeds.MAX_LIMIT, description="Items per page.")


class FeedItemOut(BaseModel):
    """An offer changed since the cursor: open (its fields) or gone (`deleted`, id only)."""

    id: int
    deleted: bool
    updated_at: datetime
    url: str | None = None
    title: str | None = None
    description: str | None = None
    employer: str | None = None
    rome_code: str | None = None
    contract: str | None = None
    working_time: str | None = None
    commune: str | None = None
    postcode: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    remote: bool | None = None
    positions: int | None = None
    salary: str | None = None
    starts_on: date | None = None  # null on an open offer: as soon as possible
    created_at: datetime | None = None


class FeedOut(BaseModel):
    territory: str = Field(description="The edition's territory.")
    items: list[FeedItemOut]
    cursor: str = Field(description="Where the next pull starts.")
    more: bool = Field(description="Whether the next pull has more already.")


async def _touch(call: Call[Any], key: ApiKey) -> None:
    """Write when the key was last used (once a minute), in a unit of work of its own: reads
    run on a read session."""
    if api_keys.stale(key):
        async with db.unit_of_work(app_state.of(call.request).write_sessions) as session:
            await api_keys.touch(session, key.id)


async def _feed_version(call: Call[FeedParams]) -> str | None:
    """What the feed's pages depend on: the edition's offers version (fair.offers_version),
    and whether it has closed (its offers turn into tombstones then, with no write)."""
    edition = await editions.get(call.session, call.key.edition_id)
    version = await offers_version.current(call.session, edition.id)
    if version is None:
        return None
    closed = offer_feeds.closed_at(edition) is not None
    return f"{edition.id}|{version}|{'closed' if closed else 'open'}"


@endpoint(
    "GET",
    "/network/offers",
    params=FeedParams,
    response=FeedOut,
    summary="The edition's offers for a partner instance (delta feed)",
    tags=TAGS,
    scope=ApiScope.NETWORK_OFFERS.value,
    version=_feed_version,
)
async def network_offers(call: Call[FeedParams]) -> FeedOut:
    """The open offers of the key's edition changed after `cursor`, oldest change first; an
    offer no longer open is a tombstone (`deleted`). Send the last answer's ETag in
    If-None-Match: 304 when nothing changed."""
    edition = await editions.get(call.session, call.key.edition_id)
    found = await offer_feeds.delta(
        call.session, edition, since=None, cursor=call.params.cursor, limit=call.params.limit
    )
    items = []
    for change in found.changes:
        offer = change.offer
        item = FeedItemOut(id=offer.id, deleted=change.deleted, updated_at=change.changed_at)
        if not change.deleted:
            item = FeedItemOut(
                id=offer.id,
                deleted=False,
                updated_at=change.changed_at,
                url=str(call.request.url_for("offer", offer_id=str(offer.id))),
                title=offer.title,
                description=offer.description,
                employer=offer.booth.employer.name,
                rome_code=offer.rome_code,
                contract=offer.contract,
                working_time=offer.working_time,
                commune=offer.commune,
                postcode=offer.postcode,
                latitude=offer.latitude,
                longitude=offer.longitude,
                remote=offer.remote,
                positions=offer.positions,
                salary=offer.salary,
                starts_on=offer.starts_on,
                created_at=offer.created_at,
            )
        items.append(item)
    await _touch(call, call.key)
    return FeedOut(territory=edition.territory, items=items, cursor=found.cursor, more=found.more)


async def _signed(call: Call[Any]) -> None:
    """The request's signature by its key (fair.network.verify), checked before its body is
    read: a request that is not the partner's is refused (401) whatever it carries."""
    signed = network.read_headers(dict(call.request.headers))
    await network.verify(call.session, call.key, signed, await call.request.body())


class AcceptedOut(BaseModel):
    id: int = Field(description="The application's id here.")
    reference: int = Field(description="Its id at the sending instance, as sent.")
    status: ApplicationStatus


class NoParams(Params):
    pass


@endpoint(
    "POST",
    "/network/applications",
    params=NoParams,
    response=AcceptedOut,
    body=network_applications.Incoming,
    summary="Send a candidate's application to one of the edition's offers (signed)",
    tags=TAGS,
    scope=ApiScope.NETWORK_APPLY.value,
    status=201,
    errors=(400, 404, 409, 413, 422),
    guard=_signed,
)
async def network_apply(call: Call[NoParams]) -> AcceptedOut:
    """Signed with the key (headers webhook-id, webhook-timestamp, webhook-signature: HMAC-
    SHA256 over "<id>.<timestamp>.<body>" keyed by the SHA-256 of the key's secret): a bad
    signature or a timestamp more than 5 minutes away is refused (401), an id already received
    too (409). The application is made at the offer's booth for the candidate (an account
    without a password here) with the CV sent; the same `reference` again gives it back."""
    assert isinstance(call.body, network_applications.Incoming)
    application = await network_applications.receive(call.session, key=call.key, data=call.body)
    await api_keys.record_use(
        call.session, call.key, what="network_application", rows=1, booth_id=application.booth_id
    )
    if api_keys.stale(call.key):
        await api_keys.touch(call.session, call.key.id)
    return AcceptedOut(
        id=application.id,
        reference=call.body.reference,
        status=ApplicationStatus(application.status),
    )


class StatusOut(BaseModel):
    id: int = Field(description="The application's id here.")
    reference: int = Field(description="Its id at the sending instance.")
    status: ApplicationStatus
    status_changed_at: datetime


class StatusesOut(BaseModel):
    items: list[StatusOut]
    cursor: str
    more: bool


@endpoint(
    "GET",
    "/network/applications",
    params=FeedParams,
    response=StatusesOut,
    summary="The status changes of the applications the partner sent",
    tags=TAGS,
    scope=ApiScope.NETWORK_APPLY.value,
)
async def network_statuses(call: Call[FeedParams]) -> StatusesOut:
    """The applications sent with this key, by when their status last changed, after
    `cursor`."""
    changes, cursor, more = await network_applications.changes_after(
        call.session, call.key, cursor=call.params.cursor, limit=call.params.limit
    )
    await _touch(call, call.key)
    items = [
        StatusOut(
            id=c.application_id,
            reference=c.reference,
            status=ApplicationStatus(c.status),
            status_changed_at=c.status_changed_at,
        )
        for c in changes
    ]
    return StatusesOut(items=items, cursor=cursor, more=more)


class PoolParams(Params):
    q: Text = Field("", description="Words searched in the CVs and the jobs wanted (French).")
    commune: Text = Field("", description="A commune's name or INSEE code.")
    radius_km: Annotated[int, Field(json_schema_extra={"enum": [0, *search.RADII]})] = Field(
        0, description="Profiles within this distance of `commune` (0: anywhere)."
    )
    rome: str = Field("", max_length=5, pattern="^([A-N][0-9]{4})?$", description="A job wanted.")
    contract: Contract | None = Field(None, description="A contract the candidate accepts.")
    available_by: date | None = Field(None, description="Available by this day.")
    transport: Transport | None = Field(None, description="The candidate's means of transport.")
    reachable: bool = Field(
        False, description="Only candidates who can travel as far as `commune` (with `commune`)."
    )
    page: int = Field(1, ge=1, le=50, description="The page of results.")


class PoolProfileOut(BaseModel):
    """A profile opened to the whole network, pseudonymous: no name, no contact."""

    ref: str = Field(description="The profile's reference on this instance.")
    jobs: str
    commune: str
    departement: str
    distance_km: float | None
    excerpt: str = Field(description="The CV's text, contact details masked.")
    until: datetime = Field(description="When the candidate's consent ends.")


class PoolOut(BaseModel):
    total: int
    page: int
    profiles: list[PoolProfileOut]


@endpoint(
    "GET",
    "/network/pool",
    params=PoolParams,
    response=PoolOut,
    summary="Search the CV pool's profiles opened to the network (pseudonymous)",
    tags=TAGS,
    scope=ApiScope.NETWORK_POOL.value,
)
async def network_pool(call: Call[PoolParams]) -> PoolOut:
    """Only the profiles whose candidates opened them to the whole network, while their consent
    lasts; pseudonymous (a reference, the jobs wanted, the commune, the CV's text with contact
    details masked). Each search is recorded in the edition's audit of keys' uses."""
    params = call.params
    query = cv_pool.PoolQuery(
        q=params.q,
        commune=params.commune,
        radius_km=params.radius_km,
        rome=params.rome,
        contract=params.contract.value if params.contract else "",
        available_by=params.available_by,
        transport=params.transport.value if params.transport else "",
        reachable=params.reachable,
        page=params.page,
    )
    found = await cv_pool.search(
        call.session, viewer=cv_pool.Viewer.partner(call.key.name), query=query
    )
    await _audit(call, call.key, rows=len(found.profiles))
    return PoolOut(
        total=found.total,
        page=found.page,
        profiles=[
            PoolProfileOut(
                ref=p.ref,
                jobs=p.jobs,
                commune=p.commune,
                departement=p.departement,
                distance_km=p.distance_km,
                excerpt=p.excerpt,
                until=p.ends_at,
            )
            for p in found.profiles
        ],
    )


async def _audit(call: Call[Any], key: ApiKey, *, rows: int) -> None:
    """Record the search of personal data (and touch the key), committed before answering."""
    async with db.unit_of_work(app_state.of(call.request).write_sessions) as session:
        if api_keys.stale(key):
            await api_keys.touch(session, key.id)
        await api_keys.record_use(session, key, what="network_pool", rows=rows)


class ProfileOut(BaseModel):
    """A profile opened to the whole network, whole but pseudonymous: no name, no contact."""

    ref: str
    jobs: str
    commune: str
    departement: str
    distance_km: float | None = None
    excerpt: str = Field(description="The CV's whole text, contact details masked.")
    until: datetime = Field(description="When the candidate's consent ends.")


@endpoint(
    "POST",
    "/network/pool/open",
    params=NoParams,
    response=ProfileOut,
    body=pool_across.OpenIn,
    summary="Open a profile of the CV pool for a partner's person (signed)",
    tags=TAGS,
    scope=ApiScope.NETWORK_POOL.value,
    guard=_signed,
)
async def network_pool_open(call: Call[NoParams]) -> ProfileOut:
    """Signed as applications are. The profile's whole pseudonymous text, while its candidate
    keeps it open to the whole network (404 otherwise); recorded in the candidate's access log
    with the person and organisation named in `viewer`, and the partner's key."""
    assert isinstance(call.body, pool_across.OpenIn)
    viewer = pool_across.partner_viewer(call.key, call.body.viewer)
    opened = await cv_pool.open_profile(call.session, viewer=viewer, ref=call.body.ref)
    profile = opened.profile
    await api_keys.record_use(call.session, call.key, what="network_pool_profile", rows=1)
    return ProfileOut(
        ref=profile.ref,
        jobs=profile.jobs,
        commune=profile.commune,
        departement=profile.departement,
        excerpt=profile.excerpt,
        until=profile.ends_at,
    )


class ContactAcceptedOut(BaseModel):
    id: int = Field(description="The contact request's id here.")
    reference: int = Field(description="Its id at the sending instance, as sent.")
    status: ContactStatus


@endpoint(
    "POST",
    "/network/contacts",
    params=NoParams,
    response=ContactAcceptedOut,
    body=pool_across.ContactIn,
    summary="Ask a pool candidate for contact, for a partner's organisation (signed)",
    tags=TAGS,
    scope=ApiScope.NETWORK_POOL.value,
    status=201,
    errors=(400, 404, 409, 422),
    guard=_signed,
)
async def network_contact(call: Call[NoParams]) -> ContactAcceptedOut:
    """Signed. The candidate is told and accepts or declines here, as for any request; their
    contact details go back only with an acceptance (`/network/contacts/changes`). Refused as
    locally: an open request of the same organisation, one accepted, one declined under the
    same consent (409); a profile not open to the network (404). The same `reference` again
    gives the same request back."""
    assert isinstance(call.body, pool_across.ContactIn)
    request = await pool_across.ask_for(call.session, call.key, call.body)
    await api_keys.record_use(call.session, call.key, what="network_contact", rows=1)
    return ContactAcceptedOut(
        id=request.id, reference=call.body.reference, status=ContactStatus(request.status)
    )


@endpoint(
    "POST",
    "/network/contacts/changes",
    params=NoParams,
    response=pool_across.ChangesOut,
    body=pool_across.ChangesIn,
    summary="The answers to the partner's contact requests (signed)",
    tags=TAGS,
    scope=ApiScope.NETWORK_POOL.value,
    guard=_signed,
)
async def network_contact_changes(call: Call[NoParams]) -> pool_across.ChangesOut:
    """Signed (the body carries the cursor). The requests sent with this key, by when their
    candidate answered, after `cursor`; an accepted one carries the contact details while the
    profile stays open to the network, each handing-over recorded in the candidate's access
    log."""
    assert isinstance(call.body, pool_across.ChangesIn)
    changes, cursor, more = await pool_across.changes_for(
        call.session, call.key, cursor=call.body.cursor, limit=call.body.limit
    )
    items = [
        pool_across.ChangeOut(
            id=c.request.id,
            reference=c.reference,
            status=ContactStatus(c.request.status),
            answered_at=c.request.answered_at,
            contact=c.contact,
        )
        for c in changes
        if c.request.answered_at is not None
    ]
    if api_keys.stale(call.key):
        await api_keys.touch(call.session, call.key.id)
    return pool_across.ChangesOut(items=items, cursor=cursor, more=more)


ENDPOINTS: list[Endpoint] = [
    network_offers,
    network_apply,
    network_statuses,
    network_pool,
    network_pool_open,
    network_contact,
    network_contact_changes,
]
