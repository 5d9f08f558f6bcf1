"""Partners' offers for tests: `partner` registers an instance through fair.network, `held`
stores one of its offers as fair.network_sync does, `network_application` records that a
candidate applied to one (as fair.network_applications.queue, without the CV it asks)."""

from __future__ import annotations

from fair import clock, geo, network
from fair.enums import Role
from fair.models import NetworkApplication, NetworkOffer, NetworkPartner
from tests import factories as f
from tests.partner_keys import key


async def partner(session, edition, territory: str, url: str) -> NetworkPartner:  # type: ignore[no-untyped-def]
    origin = await f.edition(session, title=f"Forum de {territory}")
    _key, raw = await key(session, origin, *network.SCOPES)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    registered, _issued = await network.register(
        session, edition=edition, base_url=url, territory=territory, key=raw, by=organiser
    )
    return registered


async def held(  # type: ignore[no-untyped-def]
    session, partner: NetworkPartner, origin_id: int, title: str, commune: str, **kw: object
) -> NetworkOffer:
    """A partner's offer as fair.network_sync stores it."""
    place = geo.find(commune)
    assert place is not None
    now = clock.now()
    held = NetworkOffer(
        partner_id=partner.id,
        edition_id=kw.pop("edition_id", partner.edition_id),
        origin_id=origin_id,
        url=f"{partner.base_url}/offers/{origin_id}",
        title=title,
        description="",
        employer=f"Employeur de {commune}",
        rome_code=kw.pop("rome_code", "N1101"),
        rome_domain="N",
        contract=kw.pop("contract", "cdi"),
        working_time="full_time",
        commune=place.name,
        postcode=place.postcodes[0],
        latitude=place.latitude,
        longitude=place.longitude,
        remote=False,
        positions=1,
        salary="",
        created_at=now,
        updated_at=now,
        synced_at=now,
        **kw,
    )
    session.add(held)
    await session.flush()
    return held


def network_application(candidate_id: int, offer: NetworkOffer) -> NetworkApplication:
    now = clock.now()
    return NetworkApplication(
        partner_id=offer.partner_id,
        candidate_id=candidate_id,
        network_offer_id=offer.id,
        origin_offer_id=offer.origin_id,
        offer_title=offer.title,
        employer=offer.employer,
        territory="Montluçon",
        consent="oui",
        consented_at=now,
        state="sent",
        status="submitted",
        next_attempt_at=now,
        created_at=now,
        status_changed_at=now,
    )
