"""The network of territories: partner fair instances of an edition, the keys each side holds,
and the signatures of the requests that carry applications across (docs/NETWORK.md).

Registering a partner (`register`) keeps its base URL, its territory's name and the API key it
gave us, and issues it a key of ours with the network scopes (fair.api_keys, shown once).

The partner's key: we must send it in clear on every request to the partner, so it cannot be
kept hashed as our own keys are. It is sealed (Fernet: AES-128-CBC with HMAC-SHA256) under a
key derived from the site's SECRET_KEY (HKDF-SHA256), never shown again (only its prefix), and
opened only when a request leaves (`their_key`). A database read alone does not give it away;
changing SECRET_KEY makes it unreadable (the partner's pulls then fail with "enter the key
again").

Signed requests (`signature_headers`, `verify`): Standard Webhooks' shape, HMAC-SHA256 over
"<id>.<timestamp>.<body>", in the webhook-id, webhook-timestamp and webhook-signature headers,
beside the `Authorization: Bearer` key. The HMAC key is the SHA-256 of the API key's secret:
the sender holds the key, the receiver its SHA-256 (what fair.api_keys stores), so neither
side keeps another secret. A timestamp outside TOLERANCE is refused (401); an id seen within
the window is refused (409: `NetworkMessage` remembers them, `forget_old` clears them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import api_keys, clock, offers_version, parse, settings, webhooks
from fair.enums import ApiScope
from fair.errors import Conflict, Invalid, NotFound, Unauthenticated
from fair.models import (
    ApiKey,
    Edition,
    NetworkCandidate,
    NetworkContactIn,
    NetworkInbound,
    NetworkMessage,
    NetworkOffer,
    NetworkPartner,
    User,
)
from fair.search import cache as search_cache

TOLERANCE = timedelta(minutes=5)  # a signed request's timestamp, either side of now
REMEMBER = TOLERANCE * 2  # how long a signed request's id is remembered
SCOPES = [ApiScope.NETWORK_OFFERS, ApiScope.NETWORK_APPLY, ApiScope.NETWORK_POOL]
MAX_TERRITORY = 200


# Sealing the partner's key -----------------------------------------------------------------


def _fernet() -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"fair network partner keys"
    ).derive(settings.get().secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(raw_key: str) -> str:
    return _fernet().encrypt(raw_key.encode()).decode()


def their_key(partner: NetworkPartner) -> str:
    """The partner's key in clear, to send; Invalid when it cannot be opened (SECRET_KEY was
    changed since it was entered)."""
    try:
        return _fernet().decrypt(partner.their_key_sealed.encode()).decode()
    except InvalidToken as exc:
        raise Invalid(
            "This partner's key can no longer be read: enter it again.", code="network.key_lost"
        ) from exc


# Partners ---------------------------------------------------------------------------------


async def register(
    session: AsyncSession,
    *,
    edition: Edition,
    base_url: str,
    territory: str,
    key: str,
    by: User,
) -> tuple[NetworkPartner, str]:
    """A new partner of `edition` and the full text of the key issued to it (shown once). The
    caller checked that `by` organises the edition."""
    errors: dict[str, str] = {}
    url = ""
    try:
        url = webhooks.check_url(base_url).rstrip("/")
    except Invalid as error:
        errors.update(error.fields)
    label = parse.line(territory)
    if not label or len(label) > MAX_TERRITORY:
        errors["territory"] = "Name the partner's territory (200 characters at most)."
    raw = key.strip()
    if api_keys._parts(raw) is None:
        errors["key"] = "Paste the key the partner gave you (it starts with fair_)."
    if errors:
        raise Invalid("Some fields need correcting.", code="network.invalid", fields=errors)
    taken = await session.scalar(
        select(NetworkPartner.id).where(
            NetworkPartner.edition_id == edition.id, NetworkPartner.base_url == url
        )
    )
    if taken is not None:
        message = "This instance is already a partner of the edition."
        raise Conflict(message, code="network.duplicate", fields={"url": message})
    ours, issued = await api_keys.create(
        session,
        edition=edition,
        name=f"Réseau : {label}"[:120],
        scopes=SCOPES,
        booth_id=None,
        by=by,
        network=True,
    )
    partner = NetworkPartner(
        edition_id=edition.id,
        territory=label,
        base_url=url,
        their_key_prefix=raw[:13],
        their_key_sealed=seal(raw),
        our_key_id=ours.id,
        active=True,
        cursor="",
        etag="",
        status_cursor="",
        last_result="",
        last_error="",
        failures=0,
        created_by_id=by.id,
        created_at=clock.now(),
    )
    session.add(partner)
    await session.flush()
    return partner, issued


async def of_edition(session: AsyncSession, edition_id: int) -> list[NetworkPartner]:
    rows = await session.scalars(
        select(NetworkPartner)
        .where(NetworkPartner.edition_id == edition_id)
        .order_by(NetworkPartner.territory, NetworkPartner.id)
    )
    return list(rows)


async def offer_counts(session: AsyncSession, edition_id: int) -> dict[int, int]:
    """The offers held of each partner of the edition."""
    rows = await session.execute(
        select(NetworkOffer.partner_id, func.count())
        .where(NetworkOffer.edition_id == edition_id)
        .group_by(NetworkOffer.partner_id)
    )
    return {partner_id: count for partner_id, count in rows.all()}


async def get(session: AsyncSession, partner_id: int, *, edition_id: int) -> NetworkPartner:
    partner = await session.get(NetworkPartner, partner_id)
    if partner is None or partner.edition_id != edition_id:
        raise NotFound("This partner does not exist.")
    return partner


async def set_active(
    session: AsyncSession, partner: NetworkPartner, *, active: bool, by: User
) -> str:
    """Disable a partner, or enable it again. Disabled: its offers leave the search at once, the
    key issued to it is revoked, and its feed will be read from the start. Enabled again: a new
    key is issued to it, whose full text is returned (to show once), and what the partner sent
    with the old key is known by the new one (`KEYED`); "" when nothing changed."""
    if partner.active == active:
        return ""
    partner.active = active
    offers_version.mark(session, [partner.edition_id])  # what `shows_network` says changes
    key = await session.get(ApiKey, partner.our_key_id) if partner.our_key_id else None
    issued = ""
    if not active:
        await session.execute(delete(NetworkOffer).where(NetworkOffer.partner_id == partner.id))
        if key is not None:
            await api_keys.revoke(session, key)
        partner.cursor = partner.etag = ""
    else:
        edition = await session.get(Edition, partner.edition_id)
        assert edition is not None  # a partner is deleted with its edition
        ours, issued = await api_keys.create(
            session,
            edition=edition,
            name=f"Réseau : {partner.territory}"[:120],
            scopes=SCOPES,
            booth_id=None,
            by=by,
            network=True,
        )
        if partner.our_key_id is not None:
            await _move_to_key(session, partner.our_key_id, ours.id)
        partner.our_key_id = ours.id
        partner.failures = 0
    await session.flush()
    return issued


# What a partner sent is known here by the key it came with (the reference it gave, the
# candidate it named): moved to the key issued in its place, or the partner's pulls with the
# new key would miss the answers to what it sent before, and a "declined" would go unseen.
KEYED = (
    (NetworkContactIn, NetworkContactIn.api_key_id),
    (NetworkInbound, NetworkInbound.api_key_id),
    (NetworkCandidate, NetworkCandidate.api_key_id),
)


async def _move_to_key(session: AsyncSession, old_key_id: int, new_key_id: int) -> None:
    for model, column in KEYED:
        await session.execute(
            update(model).where(column == old_key_id).values(api_key_id=new_key_id)
        )


def shown_partners() -> Select[int]:
    """The ids of the partners whose offers are shown, in the search of the edition that
    registered them and among the candidates' "offers for you" (fair.match_offers): active,
    registered by an edition whose organisers did not turn the partners' offers off
    (`set_offers_shown`). The site's switch (FAIR_NETWORK_OFFERS, `site_shows`) is the
    callers' to check first: it changes which queries they build."""
    return (
        select(NetworkPartner.id)
        .join(Edition, Edition.id == NetworkPartner.edition_id)
        .where(NetworkPartner.active.is_(True), Edition.network_offers.is_(True))
    )


def site_shows() -> bool:
    """Whether the site shows partners' offers anywhere (FAIR_NETWORK_OFFERS)."""
    return settings.get().network_offers


async def shows_network(session: AsyncSession, edition_id: int) -> bool:
    """Whether the edition's search includes network offers: the site shows them and the
    edition has a partner whose offers are shown (`shown_partners`)."""
    if not site_shows():
        return False

    async def shows() -> bool:
        query = shown_partners().where(NetworkPartner.edition_id == edition_id).limit(1)
        return await session.scalar(query) is not None

    # Asked by every search page: kept under the edition's offers version, which a partner
    # turned on or off (`set_active`) and the edition's switch (`set_offers_shown`) raise.
    return await search_cache.through(_SHOWN, session, edition_id, "shown", shows)


_SHOWN: search_cache.Kept[bool] = search_cache.Kept(of_edition=True)


async def set_offers_shown(session: AsyncSession, edition: Edition, *, shown: bool) -> bool:
    """Turn the partners' offers on or off in the edition's search (the caller checked that
    the user organises it); whether anything changed. The offers stay held and pulled: turned
    on again, they show at once. Raises the edition's offers version (fair.offers_version:
    the API's cached answers change with it)."""
    if edition.network_offers == shown:
        return False
    edition.network_offers = shown
    await session.flush()
    return True


# Signatures -----------------------------------------------------------------------------------


def signing_key(secret_hash: str) -> str:
    """The HMAC key of a partner key's requests, in Standard Webhooks' "whsec_" form, from the
    SHA-256 of its secret (hex, as fair.api_keys stores it)."""
    return "whsec_" + base64.b64encode(bytes.fromhex(secret_hash)).decode()


def key_secret_hash(raw_key: str) -> str:
    parts = api_keys._parts(raw_key)
    if parts is None:
        raise Invalid("This is not an API key.", code="network.key_lost")
    return hashlib.sha256(parts[1].encode()).hexdigest()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature value (scheme v1) of `body` (fair.webhook_delivery.sign's)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_headers(raw_key: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The headers of a signed request sent with the partner's key `raw_key`."""
    message_id = "msg_" + secrets.token_urlsafe(18)
    timestamp = int(now if now is not None else clock.now().timestamp())
    secret = signing_key(key_secret_hash(raw_key))
    return {
        "authorization": f"Bearer {raw_key}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        "content-type": "application/json",
    }


@dataclass(frozen=True)
class Signed:
    message_id: str
    timestamp: int
    signature: str


def _refuse(code: str = "network.bad_signature") -> Unauthenticated:
    return Unauthenticated("This request's signature is not valid.", code=code)


def read_headers(headers: dict[str, str]) -> Signed:
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signature = headers.get("webhook-signature", "")
    if not (0 < len(message_id) <= 100) or not stamp.isdigit() or len(stamp) > 12:
        raise _refuse()
    return Signed(message_id, int(stamp), signature)


async def verify(
    session: AsyncSession, key: ApiKey, signed: Signed, body: bytes, *, now: datetime | None = None
) -> None:
    """Check a request's signature by `key` (the key the partner authenticated with): 401
    `network.bad_signature` when it does not match, `network.stale` when its timestamp is more
    than TOLERANCE away from now, 409 `network.replayed` when its id was seen already."""
    now = now or clock.now()
    expected = sign(signing_key(key.secret_hash), signed.message_id, signed.timestamp, body)
    given = [part.strip() for part in signed.signature.split(" ") if part.strip()]
    if not any(hmac.compare_digest(expected, value) for value in given):
        raise _refuse()
    if abs(now.timestamp() - signed.timestamp) > TOLERANCE.total_seconds():
        raise Unauthenticated(
            "This request's timestamp is too old or too far ahead.", code="network.stale"
        )
    seen = NetworkMessage(api_key_id=key.id, message_id=signed.message_id, received_at=now)
    try:
        async with session.begin_nested():
            session.add(seen)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("This request was already received.", code="network.replayed") from exc


async def forget_old(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Clear the remembered ids older than REMEMBER (their timestamps are refused anyway)."""
    before = (now or clock.now()) - REMEMBER
    result = await session.execute(
        delete(NetworkMessage).where(NetworkMessage.received_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
