"""Editions kept in memory under their offers version (fair.editions `_kept`, fair.offers_version):
every page of an edition reads its id and version in one small statement, not the edition, its
live days and its branding; an organiser's change of any of those, from any process, is seen at
the next page. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import branding, db, editions, notices, offers_version, timing
from fair.enums import NoticeKind, Role
from fair.errors import NotFound
from fair.models import Edition
from tests import factories as f
from tests.conftest import login
from tests.statements import selects


async def _read(app: Any, slug: str, *, public: bool = True) -> tuple[Edition, list[str]]:
    """The edition at `slug` as a page of its own transaction reads it, and the statements."""
    async with app.state.read_sessions() as session:
        with selects(app) as seen:
            edition = await editions.by_slug(session, slug, public=public)
        return edition, seen


async def test_an_edition_is_read_once_then_its_version_only(app: Any, session: AsyncSession):
    edition = await f.edition(session)
    await db.commit(session)
    first, read = await _read(app, edition.slug)
    again, kept = await _read(app, edition.slug)
    assert len(read) > 1 and len(kept) == 1  # its id and offers version, by its slug
    assert (again.title, [d.day for d in again.live_days]) == (
        first.title,
        [d.day for d in first.live_days],
    )
    async with app.state.read_sessions() as other:
        with selects(app) as by_id:
            assert (await editions.get(other, edition.id)).slug == edition.slug
    assert len(by_id) == 1  # its offers version, by its id


async def test_the_search_page_sees_an_organisers_change_at_once(
    app: Any, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    edition = await f.edition(session, title="Forum de printemps")
    await db.commit(session)
    path = f"/e/{edition.slug}/offers"
    assert "Forum de printemps" in (await client.get(path)).text
    assert "Forum de printemps" in (await client.get(path)).text  # as kept
    await editions.update(session, edition, data=f.edition_input(title="Forum estival"))
    await db.commit(session)
    page = (await client.get(path)).text
    assert "Forum estival" in page and "Forum de printemps" not in page


async def test_live_days_branding_and_statements_change_what_is_kept(
    app: Any, session: AsyncSession
) -> None:
    edition = await f.edition(session)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    await db.commit(session)
    await _read(app, edition.slug)
    last = edition.live_days[-1].day

    # The live days moved (the edition's row changes with them: editions.update).
    data = f.edition_input(live_last_day=last + timedelta(days=1))
    await editions.update(session, edition, data=data)
    await db.commit(session)
    found, _ = await _read(app, edition.slug)
    assert found.live_days[-1].day == last + timedelta(days=1)

    # Its branding: a row of its own (edition_brands), which raises the version too.
    assert branding.look(found) is None
    brand = branding.BrandInput(colour="#1d6b35")
    await branding.update(session, edition, by=organiser, data=brand)
    await db.commit(session)
    found, _ = await _read(app, edition.slug)
    look = branding.look(found)
    assert look is not None and look.tokens

    # A statement run through a session (what another process or a script would run).
    await session.execute(update(Edition).where(Edition.id == edition.id).values(title="Autre"))
    await db.commit(session)
    found, _ = await _read(app, edition.slug)
    assert found.title == "Autre"


async def test_a_change_of_the_brand_row_alone_raises_the_offers_version(
    app: Any, session: AsyncSession
) -> None:
    """The brand (and a live day) written without the edition's row: their own rows mark it."""
    edition = await f.edition(session)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    await branding.update(
        session, edition, by=organiser, data=branding.BrandInput(colour="#1d6b35")
    )
    await db.commit(session)
    before = await offers_version.current(session, edition.id)
    brand = await branding.brand_of(session, edition)
    brand.colour = "#7a1f1f"
    await db.commit(session)
    after_brand = await offers_version.current(session, edition.id)
    day = (await editions.get(session, edition.id)).live_days[0]
    day.closes = day.closes.replace(minute=30)
    await db.commit(session)
    after_day = await offers_version.current(session, edition.id)
    assert len({before, after_brand, after_day}) == 3


async def test_what_a_request_changes_without_committing_is_not_kept(
    app: Any, session: AsyncSession
) -> None:
    edition = await f.edition(session, title="Forum de printemps")
    await db.commit(session)
    await _read(app, edition.slug)
    async with app.state.write_sessions() as writer:
        mine = await editions.by_slug(writer, edition.slug)
        mine.title = "Jamais enregistré"
        await writer.flush()
        assert (await editions.by_slug(writer, edition.slug)).title == "Jamais enregistré"
        await writer.rollback()
    found, _ = await _read(app, edition.slug)
    assert found.title == "Forum de printemps"


async def test_a_draft_is_kept_for_its_organisers_never_shown(
    app: Any, session: AsyncSession
) -> None:
    draft = await f.edition(session, publish=False)
    await db.commit(session)
    found, _ = await _read(app, draft.slug, public=False)
    assert found.id == draft.id
    with pytest.raises(NotFound):
        await _read(app, draft.slug)
    with pytest.raises(NotFound):
        await _read(app, "no-such-edition")


async def test_the_header_reads_the_unread_notices_with_the_user(
    app: Any, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    candidate = await f.candidate(session)
    await notices.add(session, user_id=candidate.id, kind=NoticeKind.APPLICATION_STATUS, params={})
    await db.commit(session)
    await login(client, candidate.email, f.PASSWORD)
    with selects(app) as seen:
        page = (await client.get("/me/applications")).text
    assert 'data-unread="1"' in page
    counts = [s for s in seen if "notices" in s]
    assert len(counts) == 1 and "user_sessions" in counts[0]  # one read: the user's


async def test_every_page_says_what_its_fixed_part_cost(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    """Server-Timing (fair.timing): the user and header read, the admission gate, the edition."""
    edition = await f.edition(session)
    await db.commit(session)
    response = await client.get(f"/e/{edition.slug}/offers")
    spans = timing.parse(response.headers["server-timing"])
    assert {"user", "gate", "edition", "render", "app"} <= set(spans)
