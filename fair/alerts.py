"""Mail alerts (issue 15 item 8): a candidate asks for the new offers matching their job search
(fair.match_offers), or a saved search of an edition (fair.search), in a daily digest.

`subscribe`, `stop` and `resume` own an alert's state. `send_due` (the worker's alert round)
takes the alerts whose day has come, finds for each the offers that appeared since it was set
up (created or changed since, or in an edition that opened its applications since), leaves out
those already mailed to this candidate by any alert (JobAlertOffer: never twice the same offer),
and queues one mail (fair.alert_mail) in the same transaction that records what it sent. Every
mail carries a signed link that stops its alert in one click without logging in (`token`,
fair.stop_links), also in its List-Unsubscribe headers.

An alert also mails the partners' offers the candidate would see: on the job search, those of
their "offers for you" (fair.match_offers with the network: fair.network.shown_partners, the
site's switch), the nearest first; on a saved search, those of the edition's search when it
shows them (fair.network.shows_network), the nearest to the search's place first; after this
instance's, marked with their territory, linked to their page here. A partner's offer is not
in this database's tables of offers, so what was sent is not recorded: a round takes those
created at their origin in its window, from `SYNC_LAG` before the previous round to `SYNC_LAG`
before this one. The windows of one alert follow each other without overlap (never twice the
same offer by one alert), and `SYNC_LAG` leaves the worker time to pull an offer before its
window closes (fair.network_sync).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import alert_mail, clock, editions, job_search, match_offers, network, search, stop_links
from fair.alert_mail import Found
from fair.enums import Role
from fair.errors import Conflict, Forbidden, NotFound
from fair.models import Booth, Edition, JobAlert, JobAlertOffer, NetworkOffer, Offer, User
from fair.search import params as search_params
from fair.search import terms as search_terms

EVERY = timedelta(days=1)
MAX_ACTIVE = 5
DIGEST_MAX = 10  # offers in one mail, the best first
MIN_SCORE = 50  # a profile alert mails offers matching at least this well
STEP = 50  # alerts handled in one transaction of the worker's round
# How long a partner's new offer may take to reach this instance (pull rounds of
# FAIR_NETWORK_SYNC_SECONDS, two minutes by default; a partner briefly down).
SYNC_LAG = timedelta(hours=1)


STOP = "job-alert-stop"  # the purpose of the alerts' stop links (fair.stop_links)


def token(alert_id: int) -> str:
    """The secret part of an alert's stop link: "<id>.<signature>"."""
    return stop_links.token(STOP, alert_id)


async def by_token(session: AsyncSession, raw: str) -> JobAlert:
    """The alert a stop link names; NotFound for a link that is not one of ours."""
    alert_id = stop_links.read(STOP, raw)
    found = None if alert_id is None else await session.get(JobAlert, alert_id)
    if found is None:
        raise NotFound("This link is not valid.", code="alert.bad_link")
    return found


def _require_candidate(user: User) -> None:
    if user.role != Role.CANDIDATE:
        raise Forbidden("This page is for candidates.")


async def get(session: AsyncSession, alert_id: int) -> JobAlert:
    found = await session.get(JobAlert, alert_id)
    if found is None:
        raise NotFound("This alert does not exist.")
    return found


async def mine(session: AsyncSession, user: User) -> list[JobAlert]:
    """The candidate's alerts that are on, oldest first."""
    rows = await session.scalars(
        select(JobAlert)
        .where(JobAlert.user_id == user.id, JobAlert.stopped_at.is_(None))
        .order_by(JobAlert.id)
    )
    return list(rows)


def saved_search(edition_id: int, query: search.Query) -> dict[str, str]:
    """What an alert keeps of a search: its edition and its parameters (fair.search.params:
    words, place, facets), as text."""
    return {"edition_id": str(edition_id), **search_params.kept(query)}


def query_of(kept: dict[str, str]) -> search.Query:
    """The search an alert keeps, newest first, a digest's worth."""
    query = search_params.from_kept(kept)
    query.sort, query.per_page = "recent", 50
    return query


async def subscribe(
    session: AsyncSession, user: User, *, kept: dict[str, str] | None = None
) -> JobAlert:
    """Mail the candidate, once a day, the new offers matching their job search (no `kept`) or
    a saved search (`saved_search`). Subscribing again to the same is the same alert. Refuses
    (409 `alert.no_job`) a profile alert before the job search names a job, an unknown edition
    or bad filters (`search.invalid`), and a sixth alert (409 `alert.too_many`). No mail now:
    the first digest comes a day later."""
    _require_candidate(user)
    kept = kept or {}
    if not kept and not (await job_search.of(session, user.id)).described():
        message = "Tell the job you are looking for in your profile first."
        raise Conflict(message, code="alert.no_job")
    if kept:
        if await session.get(Edition, int(kept["edition_id"])) is None:
            raise NotFound("This edition does not exist.")
        search.check(query_of(kept))
    active = await mine(session, user)
    for alert in active:
        if alert.search == kept:
            return alert
    if len(active) >= MAX_ACTIVE:
        raise Conflict("You have five alerts already: stop one first.", code="alert.too_many")
    now = clock.now()
    alert = JobAlert(
        user_id=user.id, search=kept, created_at=now, checked_until=now, next_run_at=now + EVERY
    )
    session.add(alert)
    await session.flush()
    return alert


async def stop(session: AsyncSession, alert: JobAlert) -> None:
    """Stop the alert (again: no change). No mail."""
    if alert.stopped_at is None:
        alert.stopped_at = clock.now()
        await session.flush()


async def resume(session: AsyncSession, alert: JobAlert) -> None:
    """Switch a stopped alert on again: offers from now on, the first digest a day later."""
    if alert.stopped_at is not None:
        now = clock.now()
        alert.stopped_at = None
        alert.checked_until = now
        alert.next_run_at = now + EVERY
        await session.flush()


async def send_due(session: AsyncSession, now: datetime | None = None) -> int:
    """Handle up to STEP alerts whose day has come (each taken with SKIP LOCKED, so two workers
    never mail one twice): queue a digest for those with new offers, record the offers sent,
    set the next day. Returns how many alerts were handled (the worker repeats while STEP)."""
    now = now or clock.now()
    due = list(
        await session.scalars(
            select(JobAlert)
            .where(JobAlert.stopped_at.is_(None), JobAlert.next_run_at <= now)
            .order_by(JobAlert.next_run_at, JobAlert.id)
            .limit(STEP)
            .with_for_update(skip_locked=True)
        )
    )
    sent: dict[int, set[int]] = {}
    for alert in due:
        previous = alert.next_run_at - EVERY  # the previous round (or the subscription)
        alert.next_run_at = now + EVERY
        user = await session.get(User, alert.user_id)
        if user is None or not user.is_active or user.role != Role.CANDIDATE:
            continue
        already = sent.setdefault(user.id, set())
        new = await _new_offers(session, alert, previous, now)
        found = [f for f in new if f.key not in already]
        if found:
            await _record(session, user.id, found, now)
            already.update(f.key for f in found)
            await alert_mail.digest(session, user, alert, found, token(alert.id))
    await session.flush()
    return len(due)


async def _record(session: AsyncSession, user_id: int, found: list[Found], now: datetime) -> None:
    for item in found:
        if isinstance(item.offer, Offer):  # a partner's: its round's window (module docstring)
            session.add(JobAlertOffer(user_id=user_id, offer_id=item.offer.id, sent_at=now))


def _new_since(since: datetime) -> Any:
    """Offers that appeared since `since`: created or changed, or their edition opened since."""
    opened = select(Edition.id).where(Edition.applications_open_at > since)
    return or_(Offer.created_at > since, Offer.updated_at > since, Offer.edition_id.in_(opened))


def _not_sent(user_id: int) -> Any:
    return Offer.id.not_in(select(JobAlertOffer.offer_id).where(JobAlertOffer.user_id == user_id))


async def _new_offers(
    session: AsyncSession, alert: JobAlert, previous: datetime, now: datetime
) -> list[Found]:
    if alert.search:
        return await _search_offers(session, alert, previous, now)
    wanted = await job_search.of(session, alert.user_id)
    if not wanted.described():
        return []
    conditions = (_new_since(alert.checked_until), _not_sent(alert.user_id))
    window = (
        NetworkOffer.created_at >= previous - SYNC_LAG,
        NetworkOffer.created_at < now - SYNC_LAG,
    )
    scored = await match_offers.best(
        session,
        wanted,
        now,
        *conditions,
        limit=DIGEST_MAX,
        network=network.site_shows(),
        network_where=window,
    )
    kept = [m for m in scored if m.match.score >= MIN_SCORE]
    here = [Found(m.offer, m.match) for m in kept if not m.network]
    # The partners' offers after this instance's, the nearest first when the home is known.
    partners = sorted((m for m in kept if m.network), key=_nearest)
    return here + [Found(m.offer, m.match, m.territory) for m in partners]


def _nearest(found: match_offers.OfferMatch) -> float:
    km = found.match.distance_km
    return km if km is not None else 0.0  # no home: sorted() keeps the best first


async def _search_offers(
    session: AsyncSession, alert: JobAlert, previous: datetime, now: datetime
) -> list[Found]:
    """The saved search's newest offers (first page, newest first) that are new and unsent,
    then the partners' offers it shows (fair.network.shows_network) created in the round's
    window, the nearest to the search's place first."""
    edition = await session.get(Edition, int(alert.search["edition_id"]))
    if edition is None or not editions.applications_open(edition, now):
        return []
    shown = await network.shows_network(session, edition.id)
    query = query_of(alert.search)
    page = await search_terms.find(session, edition_id=edition.id, query=query, network=shown)
    ids = [hit.offer.id for hit in page.hits if hit.network is None]
    fresh = await session.scalars(
        select(Offer)
        .where(Offer.id.in_(ids), _new_since(alert.checked_until), _not_sent(alert.user_id))
        .options(selectinload(Offer.booth).selectinload(Booth.employer))
        .order_by(Offer.created_at.desc(), Offer.id.desc())
        .limit(DIGEST_MAX)
    )
    here = [Found(offer) for offer in fresh]
    partners = [
        hit
        for hit in page.hits
        if hit.network is not None
        and previous - SYNC_LAG <= hit.network.created_at < now - SYNC_LAG
    ]
    partners.sort(key=lambda hit: hit.distance_km if hit.distance_km is not None else 0.0)
    theirs = [Found(hit.network, None, hit.territory) for hit in partners if hit.network]
    return (here + theirs)[:DIGEST_MAX]
