"""Partner API keys for tests (fair.api_keys): `key` creates one through the domain and gives
its full text (a network key by registering a partner, the only way one is issued); `bearer`
is the Authorization header carrying it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fair import api_keys, network
from fair.enums import ApiScope, Role
from fair.models import ApiKey, Booth, Edition, User
from tests import factories as f


async def key(
    session: AsyncSession,
    edition: Edition,
    *scopes: ApiScope,
    booth: Booth | None = None,
    name: str = "Partenaire",
) -> tuple[ApiKey, str]:
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    if any(s.value.startswith("network:") for s in scopes):
        return await _partners_key(session, edition, list(scopes), name, organiser)
    return await api_keys.create(
        session,
        edition=edition,
        name=name,
        scopes=list(scopes),
        booth_id=booth.id if booth else None,
        by=organiser,
    )


async def _partners_key(
    session: AsyncSession, edition: Edition, scopes: list[ApiScope], name: str, by: User
) -> tuple[ApiKey, str]:
    """A network key, as only fair.network issues them: `edition` registers a partner (at an
    address of its own on loopback; it holds a key of the partner that opens nothing here),
    and the key issued to it is then called `name` and keeps `scopes` only."""
    global _partners
    _partners += 1
    partner, raw = await network.register(
        session,
        edition=edition,
        base_url=f"http://127.0.0.1/partner/{_partners}",
        territory=name,
        key=f"fair_partner{_partners % 10}_{'x' * 32}",
        by=by,
    )
    issued = await session.get(ApiKey, partner.our_key_id)
    assert issued is not None
    issued.scopes = sorted(s.value for s in scopes)
    issued.name = name
    await session.flush()
    return issued, raw


_partners = 0


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}
