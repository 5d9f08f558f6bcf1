"""The offers version (fair/offers_version.py) and the API's ETags built on it (fair/api/core.py):
every write path of offers, booths, employers and editions changes the offers list's ETag, an
unchanged database keeps it, and a revalidation is answered 304 after one primary-key read,
without the list query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import db, editions, employers, files, offer_upserts, offers
from fair.enums import BoothStatus, FileKind, Role
from fair.models import Booth, Offer, OffersVersion
from tests import factories as f
from tests.api_setup import Seed, seed
from tests.statements import listening

API = "/api/v1"


def _paths(s: Seed) -> list[str]:
    e = s.edition.id
    return [
        f"{API}/editions/{e}/offers",
        f"{API}/editions/{e}/offers?q=electricien&limit=1",
        f"{API}/editions/{e}/booths",
        f"{API}/offers/{s.offers[0].id}",
    ]


async def _tags(client: httpx.AsyncClient, paths: list[str]) -> list[str]:
    tags = []
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        tags.append(response.headers["etag"])
    return tags


async def test_every_write_path_changes_the_etag(
    client: httpx.AsyncClient, session: AsyncSession, app: Any
) -> None:
    s = await seed(session)
    paths = _paths(s)
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    booth = await employers.get_booth(session, s.booths[0].id)
    employer = await employers.get(session, booth.employer_id)
    other = await f.edition(session, title="Autre forum")
    elsewhere, _ = await f.booth(session, edition_=other)
    await db.commit(session)

    async def created() -> None:
        await f.offer(session, booth_=booth, title="Maçon")

    async def updated() -> None:
        await offers.update(session, s.offers[1], data=f.offer_input(title="Plombier"))

    async def closed() -> None:
        await offers.set_published(session, s.offers[1], False)

    async def published() -> None:
        await offers.set_published(session, s.offers[1], True)

    async def deleted() -> None:
        await session.delete(await offers.get(session, s.offers[2].id))
        await session.flush()

    async def upserted() -> None:
        item = {**_france_travail(), "intitule": "Cariste"}
        await offer_upserts.upsert(session, booth=booth, items=[item])

    async def upserted_again() -> None:
        item = {**_france_travail(), "intitule": "Cariste confirmé"}
        await offer_upserts.upsert(session, booth=booth, items=[item])

    async def booth_declined() -> None:
        await employers.set_status(
            session, s.booths[1], BoothStatus.DECLINED, by=admin, reason="Hors territoire"
        )

    async def booth_approved() -> None:
        await employers.set_status(session, s.booths[1], BoothStatus.APPROVED, by=admin)

    async def employer_renamed() -> None:
        await employers.update(session, employer, data=_employer_input(employer, "Nouveau nom"))

    async def logo_changed() -> None:  # as fair/web/recruiter.py saves an uploaded logo
        stored = await files.store(
            session,
            owner_id=admin.id,
            kind=FileKind.LOGO,
            filename="logo.png",
            data=b"logo",
            content_type="image/png",
        )
        employer.logo_file_id = stored.id
        await session.flush()

    async def edition_changed() -> None:
        edition = await editions.get(session, s.edition.id)
        await editions.update(session, edition, data=f.edition_input(title="Nouveau titre"))

    async def statement_on_offers() -> None:
        await session.execute(
            update(Offer).where(Offer.id == s.offers[0].id).values(salary="2 000 € brut")
        )

    async def statement_on_booths() -> None:
        await session.execute(
            update(Booth).where(Booth.id == s.booths[2].id).values(decline_reason="")
        )

    writes: list[Callable[[], Awaitable[None]]] = [
        created,
        updated,
        closed,
        published,
        deleted,
        upserted,
        upserted_again,
        booth_declined,
        booth_approved,
        employer_renamed,
        logo_changed,
        edition_changed,
        statement_on_offers,
        statement_on_booths,
    ]
    before = await _tags(client, paths)
    for write in writes:
        await write()
        await db.commit(session)
        after = await _tags(client, paths)
        changed = [a != b for a, b in zip(before, after, strict=True)]
        assert changed == [True] * len(paths), (write.__name__, changed)
        before = after

    async def unchanged_save() -> None:
        await employers.update(session, employer, data=_employer_input(employer, employer.name))

    async def other_edition() -> None:
        await f.offer(session, booth_=elsewhere, title="Ailleurs")

    async def other_table() -> None:
        await f.user(session, Role.CANDIDATE, can_log_in=False)

    for keeps in (unchanged_save, other_edition, other_table):
        await keeps()
        await db.commit(session)
        assert await _tags(client, paths) == before, keeps.__name__
    versions = await session.execute(
        select(OffersVersion.edition_id, OffersVersion.version).order_by("edition_id")
    )
    # Raised once per committed transaction: the seed's, then each write's; the draft's seed
    # only; the other edition's set-up and its offer.
    assert list(versions) == [(s.edition.id, 1 + len(writes)), (s.draft.id, 1), (other.id, 2)]


async def test_304_without_the_list_query(
    client: httpx.AsyncClient, session: AsyncSession, app: Any
) -> None:
    s = await seed(session)
    paths = _paths(s)
    tags = await _tags(client, paths)
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = app.state.engine.sync_engine
    with listening(engine, "before_cursor_execute", record):
        answers = []
        for path, tag in zip(paths, tags, strict=True):
            seen.clear()
            again = await client.get(path, headers={"If-None-Match": f'"x", {tag}'})
            reads = [statement for statement in seen if statement != "BEGIN"]  # SQLite's own
            answers.append((again.status_code, again.content, again.headers["etag"], len(reads)))
            assert all(" FROM offers_versions " in statement for statement in reads), reads
    assert answers == [(304, b"", tag, 1) for tag in tags]
    # The ETag follows the normalised parameters: the default limit written out is the same
    # list; another limit, another language or another host is not.
    base = paths[0]
    same = await client.get(f"{base}?limit=20", headers={"If-None-Match": tags[0]})
    other = await client.get(f"{base}?limit=2", headers={"If-None-Match": tags[0]})
    english = await client.get(base, headers={"If-None-Match": tags[0], "Accept-Language": "en"})
    host = await client.get(
        base.replace("/api", "http://other.example/api"), headers={"If-None-Match": tags[0]}
    )
    assert [r.status_code for r in (same, other, english, host)] == [304, 200, 200, 200]
    assert other.headers["etag"].startswith('W/"')


async def test_etag_without_version_falls_back_to_the_body(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """An edition without a version row (made by a bare statement) is served with the body's
    hash, and its 304 still works."""
    s = await seed(session)
    await session.execute(
        OffersVersion.__table__.delete().where(OffersVersion.edition_id == s.edition.id)
    )
    await db.commit(session)
    path = _paths(s)[0]
    first = await client.get(path)
    again = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert (first.status_code, again.status_code) == (200, 304)
    assert again.headers["etag"] == first.headers["etag"]


def _france_travail() -> dict[str, Any]:
    return {
        "id": "FT-1",
        "intitule": "Cariste",
        "description": "Conduite de chariots élévateurs.",
        "romeCode": "N1101",
        "typeContrat": "CDI",
        "dureeTravailLibelle": "35H Horaires normaux",
        "experienceExige": "D",
        "lieuTravail": {"libelle": "34 - Montpellier", "codePostal": "34000"},
    }


def _employer_input(employer: Any, name: str) -> employers.EmployerInput:
    return employers.EmployerInput(
        name=name,
        siret=employer.siret,
        naf_code=employer.naf_code,
        size=employer.size,
        commune=employer.commune,
        website=employer.website,
        description=employer.description,
        video_url=employer.video_url,
    )


async def test_the_offers_feeds_revalidate_without_reading_offers(
    client: httpx.AsyncClient, session: AsyncSession, app: Any
) -> None:
    """The Atom and delta feeds of offers (fair/web/feeds.py) carry the offers version's ETag:
    a reader holding it gets 304 without any offer read; a new offer changes both."""
    s = await seed(session)
    paths = [f"/e/{s.edition.slug}/offers.atom", f"/e/{s.edition.slug}/offers/changes.json?limit=2"]
    tags = await _tags(client, paths)
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = app.state.engine.sync_engine
    with listening(engine, "before_cursor_execute", record):
        held = [
            await client.get(p, headers={"If-None-Match": t})
            for p, t in zip(paths, tags, strict=True)
        ]
    assert [(r.status_code, r.content, r.headers["etag"]) for r in held] == [
        (304, b"", tag) for tag in tags
    ]
    assert [q for q in seen if " FROM offers " in q or " JOIN offers " in q] == []
    assert sum(" FROM offers_versions " in q for q in seen) == 2
    await f.offer(session, booth_=s.booths[0], title="Maçon")
    await db.commit(session)
    again = [
        await client.get(p, headers={"If-None-Match": t}) for p, t in zip(paths, tags, strict=True)
    ]
    assert [r.status_code for r in again] == [200, 200]
    assert [r.headers["etag"] != t for r, t in zip(again, tags, strict=True)] == [True, True]
    assert "Maçon" in again[0].text
