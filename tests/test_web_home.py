"""The home page: live editions first, then those to come by date, then past ones."""

from __future__ import annotations

import re
from datetime import timedelta

from fair import clock, db
from tests import factories as f


async def seed_editions(session) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    for title, shift in [
        ("Forum passé il y a deux mois", -60),
        ("Forum dans deux mois", 60),
        ("Forum passé le mois dernier", -30),
        ("Forum en direct", 0),
        ("Forum dans un mois", 30),
    ]:
        await f.edition(session, title=title, now=now + timedelta(days=shift))
    await db.commit(session)


async def test_live_edition_first_then_upcoming_by_date_then_past(client, session):
    await seed_editions(session)

    page = await client.get("/")

    assert page.status_code == 200
    titles = re.findall(r'<h2><a href="/e/[^"]+">([^<]+)</a></h2>', page.text)
    assert titles == [
        "Forum en direct",
        "Forum dans un mois",
        "Forum dans deux mois",
        "Forum passé le mois dernier",
        "Forum passé il y a deux mois",
    ]
    first_card = page.text.split('<ul class="cards">', 1)[1]
    assert first_card.lstrip().startswith('<li class="card live">')
