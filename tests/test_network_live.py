"""Two fair instances on loopback, two servers and two databases (SQLite for the origin,
PostgreSQL for the partner when the suite runs it, else a second SQLite file): an offer published on
the origin appears in the partner's search after one pull, a closed one disappears, an
application made on the partner's pages crosses signed to the origin, where its recruiter
decides, and the status comes back; a bad or replayed signature is refused. Then the pool: a
recruiter of the partner searches the origin's profiles opened to the network, opens one (in
the candidate's access log at the origin) and asks for contact; the candidate accepts there and
the contact details come back with the next pull, not before. The rounds are the
worker's own functions, run once each against the partner's database (the servers run no
background loop, so that each step is one round). Serial (tests/conftest.py SERIAL)."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fair import (
    access_log,
    applications,
    contact_requests,
    cv_pool,
    db,
    network,
    network_applications,
    network_pool,
    network_sync,
    participants,
    settings,
)
from fair import offers as offers_domain
from fair.enums import ApplicationStatus, PoolLevel, Role
from fair.models import (
    Application,
    ContactRequest,
    CvText,
    Edition,
    NetworkOffer,
    NetworkPartner,
    Offer,
    User,
)
from tests import factories as f
from tests.conftest import _truncate, csrf, login
from tests.partner_keys import key
from tests.pool_setup import pool_candidate, recruiter_at
from tests.server_processes import Server, spawn, stop, wait_healthy

DEADLINE = 90.0  # the whole test, servers included (the pool's journey added)


@dataclass
class Instance:
    server: Server
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest_asyncio.fixture
async def databases(
    templates_dir: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[str, str]]:
    """The origin on a copy of the migrated SQLite template; the partner on the PostgreSQL
    test database emptied (when PostgreSQL runs), else on a second copy."""
    copies = []
    for name in ("origin.db", "partner.db"):
        shutil.copy(templates_dir["sqlite"], tmp_path / name)
        copies.append(f"sqlite+aiosqlite:///{tmp_path / name}")
    partner = copies[1]
    if "postgresql" in templates_dir:
        partner = templates_dir["postgresql"]
        await _truncate(partner)
    yield copies[0], partner


@pytest_asyncio.fixture
async def instances(databases: tuple[str, str]) -> AsyncIterator[tuple[Instance, Instance]]:
    conf = replace(settings.load({"FAIR_ENV": "test"}), database_url=databases[1])
    settings.override(conf)
    secret = {"SECRET_KEY": conf.secret_key}
    servers = [spawn(url, "memory://", **secret) for url in databases]
    made: list[Instance] = []
    try:
        for server, url in zip(servers, databases, strict=True):
            await wait_healthy(server, seconds=60.0)  # two servers starting on a busy machine
            engine = db.create_engine(url)
            made.append(Instance(server, engine, db.sessionmaker(engine, write=True)))
        yield made[0], made[1]
    finally:
        for server in servers:
            stop(server.process)
        for instance in made:
            await instance.engine.dispose()
        settings.override(None)


async def _write(instance: Instance, work):  # type: ignore[no-untyped-def]
    async with db.unit_of_work(instance.sessions) as session:
        return await work(session)


def _titles(page: str) -> list[str]:
    return [t for t in ("Électricien de maintenance", "Cariste") if t in page]


async def test_two_instances(instances: tuple[Instance, Instance]) -> None:
    origin, partner = instances
    async with asyncio.timeout(DEADLINE):
        await _journey(origin, partner)


async def _journey(origin: Instance, partner: Instance) -> None:
    async def set_up_origin(session: AsyncSession):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title="Forum de Montluçon")
        booth, recruiter = await f.booth(session, edition_=edition)
        near = await f.offer(session, booth_=booth, title="Électricien de maintenance")
        far = await f.offer(session, booth_=booth, title="Cariste", rome_code="N1101")
        _key, raw = await key(session, edition, *network.SCOPES)
        return recruiter.id, near.id, far.id, raw

    recruiter_id, near_id, far_id, raw = await _write(origin, set_up_origin)

    async def set_up_partner(session: AsyncSession):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title="Forum de Clermont")
        organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
        await network.register(
            session,
            edition=edition,
            base_url=origin.server.url,
            territory="Montluçon",
            key=raw,
            by=organiser,
        )
        candidate = await f.candidate(session, name="Léa Martin")
        recruiter = await recruiter_at(session, edition, can_log_in=True)
        return edition.slug, candidate.email, recruiter.email

    slug, email, recruiter_email = await _write(partner, set_up_partner)
    search = f"/e/{slug}/offers"

    async with httpx.AsyncClient(base_url=partner.server.url, timeout=10) as browser:
        before = await browser.get(search)
        assert _titles(before.text) == []
        # One pull: the origin's two offers show in the partner's search, marked.
        assert await network_sync.run_round(partner.sessions) == 2
        shown = await browser.get(search)
        assert _titles(shown.text) == ["Électricien de maintenance", "Cariste"]
        assert shown.text.count("Offre du réseau · Montluçon") == 2

        # Closed at the origin: gone after the next pull.
        async def close(session: AsyncSession) -> None:
            far = await session.get(Offer, far_id)
            assert far is not None
            await offers_domain.set_published(session, far, False)

        await _write(origin, close)
        assert await network_sync.run_round(partner.sessions) == 1
        after = await browser.get(search)
        assert _titles(after.text) == ["Électricien de maintenance"]

        # The candidate applies on the partner's page, consenting to what is sent.
        await login(browser, email, f.PASSWORD)
        async with partner.sessions() as session:
            offer_id = await session.scalar(
                select(NetworkOffer.id).where(NetworkOffer.origin_id == near_id)
            )
        page = f"/network/offers/{offer_id}"
        token = await csrf(browser, page)
        refused = await browser.post(
            f"{page}/apply", data={"csrf_token": token, "message": "Je suis mobile."}
        )
        assert refused.status_code == 422
        sent = await browser.post(
            f"{page}/apply",
            data={"csrf_token": token, "message": "Je suis mobile.", "consent": "on"},
        )
        assert sent.status_code == 303
        assert await network_applications.send_round(partner.sessions) == 1

        async with origin.sessions() as session:
            there = await session.scalar(select(Application).where(Application.offer_id == near_id))
            assert there is not None
            person = await session.get(User, there.candidate_id)
            assert person is not None
            assert (person.name, person.email, there.message, there.status) == (
                "Léa Martin",
                email,
                "Je suis mobile.",
                "submitted",
            )
            assert there.cv_file_id is not None

        # The origin's recruiter shortlists; the status comes back on the next pull.
        async def shortlist(session: AsyncSession) -> None:
            application = await session.get(Application, there.id)
            recruiter = await session.get(User, recruiter_id)
            assert application is not None and recruiter is not None
            await applications.set_status(
                session, application, ApplicationStatus.SHORTLISTED, by=recruiter
            )

        await _write(origin, shortlist)
        assert await network_applications.status_round(partner.sessions) == 1
        mine = await browser.get("/me/applications")
        assert "Candidatures aux offres du réseau" in mine.text
        assert 'data-status="shortlisted"' in mine.text

        # A bad signature and a replay are refused by the origin's server.
        body = json.dumps(
            {
                "reference": 999,
                "offer_id": near_id,
                "candidate": {"name": "Paul Durand", "email": "paul@example.org"},
                "message": "",
                "consent": {"wording": "J'accepte.", "at": "2026-03-10T12:00:00+00:00"},
                "cv": {"filename": "cv.pdf", "data": base64.b64encode(f.pdf_bytes()).decode()},
            }
        ).encode()
        url = f"{origin.server.url}/api/v1/network/applications"
        headers = network.signature_headers(raw, body)
        bad = await browser.post(url, content=body.replace(b"Paul", b"Pierre"), headers=headers)
        assert (bad.status_code, bad.json()["error"]["code"]) == (401, "network.bad_signature")
        good = await browser.post(url, content=body, headers=headers)
        assert good.status_code == 201
        replayed = await browser.post(url, content=body, headers=headers)
        assert (replayed.status_code, replayed.json()["error"]["code"]) == (
            409,
            "network.replayed",
        )

    await _pool_journey(origin, partner, recruiter_email)


async def _pool_journey(origin: Instance, partner: Instance, recruiter_email: str) -> None:
    """A recruiter of the partner searches the origin's pool, opens a profile (logged at the
    origin, naming them), asks for contact; the candidate accepts at the origin; the contact
    details come back to the partner with the next pull, not before."""

    async def set_up_pool(session: AsyncSession):  # type: ignore[no-untyped-def]
        opened = await pool_candidate(session, name="Nina Roux")
        await cv_pool.give(session, opened, level=PoolLevel.NETWORK, months=3, edition_id=None)
        hidden = await pool_candidate(session, name="Marc Petit")
        edition = await session.scalar(select(Edition))
        await participants.register(session, edition_id=edition.id, user=hidden)
        await cv_pool.give(
            session, hidden, level=PoolLevel.TERRITORY, months=3, edition_id=edition.id
        )
        refs = {
            user.id: await session.scalar(select(CvText.ref).where(CvText.user_id == user.id))
            for user in (opened, hidden)
        }
        return opened.id, opened.email, refs[opened.id], refs[hidden.id]

    opened_id, opened_email, ref, hidden_ref = await _write(origin, set_up_pool)
    async with httpx.AsyncClient(base_url=partner.server.url, timeout=10) as browser:
        await login(browser, recruiter_email, f.PASSWORD)
        found = await browser.get("/network/pool", params={"q": "électricien"})
        assert found.status_code == 200
        assert ref in found.text and hidden_ref not in found.text
        assert "Nina" not in found.text
        async with partner.sessions() as session:
            partner_id = await session.scalar(select(NetworkPartner.id))
        page = f"/network/pool/{partner_id}/{ref}"
        profile = await browser.get(page)
        assert profile.status_code == 200
        assert "Électricien du bâtiment" in profile.text and "Nina" not in profile.text
        assert (await browser.get(f"/network/pool/{partner_id}/{hidden_ref}")).status_code == 404
        async with origin.sessions() as session:
            log = await access_log.of_subject(session, opened_id)
            assert [a.what for a in log] == ["pool_profile"]
            assert log[0].viewer.endswith(" · Partenaire)")  # the person, their employer, the key
        token = await csrf(browser, page)
        asked = await browser.post(
            f"{page}/contact", data={"csrf_token": token, "message": "Un poste à Clermont."}
        )
        assert asked.status_code == 303
        assert await network_pool.contact_round(partner.sessions) == 0
        waiting = await browser.get("/network/pool/requests")
        assert opened_email not in waiting.text

        async def accept(session: AsyncSession) -> None:
            request = await session.scalar(select(ContactRequest))
            assert request is not None and request.organisation.endswith(" · Partenaire")
            candidate = await session.get(User, opened_id)
            assert candidate is not None
            await contact_requests.answer(session, candidate, request_id=request.id, accept=True)

        await _write(origin, accept)
        assert await network_pool.contact_round(partner.sessions) == 1
        answered = await browser.get("/network/pool/requests")
        assert opened_email in answered.text and "06 12 34 56 78" in answered.text
