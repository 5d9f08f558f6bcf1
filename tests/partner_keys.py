"""Partner API keys for tests (fair.api_keys): `key` creates one through the domain and gives
its full text; `bearer` is the Authorization header carrying it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fair import api_keys
from fair.enums import ApiScope, Role
from fair.models import ApiKey, Booth, Edition
from tests import factories as f


async def key(
    session: AsyncSession,
    edition: Edition,
    *scopes: ApiScope,
    booth: Booth | None = None,
    name: str = "Partenaire",
) -> tuple[ApiKey, str]:
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    return await api_keys.create(
        session,
        edition=edition,
        name=name,
        scopes=list(scopes),
        booth_id=booth.id if booth else None,
        by=organiser,
    )


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}
