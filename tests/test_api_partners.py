"""The partners' endpoints (fair/api/partners.py) with real keys: scopes enforced (401, 403),
the rate limit (429 with Retry-After), the edition's figures hidden below 5, a booth's
applications paged and audited, and the upsert of offers in France Travail's shape with
per-offer results and idempotency keys."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import api_keys, applications, clock, db, participants
from fair.app import create_app
from fair.enums import ApiScope, ApplicationStatus
from fair.models import ApiIdempotency, ApiKey, ApiKeyUse, Offer
from tests import factories as f
from tests.partner_keys import bearer, key

API = "/api/v1"
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": {}}}


async def _fair(session: AsyncSession):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    other_booth, _ = await f.booth(session, edition_=edition)
    return edition, booth, recruiter, other_booth


async def test_keys_and_scopes_enforced(client: httpx.AsyncClient, session: AsyncSession) -> None:
    edition, booth, _recruiter, _other = await _fair(session)
    other_edition = await f.edition(session)
    _, figures = await key(session, edition, ApiScope.FIGURES)
    _, ats = await key(session, edition, ApiScope.APPLICATIONS, booth=booth)
    revoked, revoked_raw = await key(session, edition, ApiScope.FIGURES)
    await api_keys.revoke(session, revoked)
    await db.commit(session)
    path = f"{API}/editions/{edition.id}/figures"
    invalid = _error("api.key_invalid", "Cette clé d'API n'est pas valide.")
    missing = _error("api.scope_missing", "Cette clé d'API ne permet pas de faire cela.")
    cases = [
        (path, {}, 401, "auth.required"),
        (path, {"Authorization": "Basic abc"}, 401, "auth.required"),
        (path, bearer("fair_nope"), 401, invalid),
        (path, bearer(revoked_raw), 401, invalid),
        (path, bearer(ats), 403, missing),
        (f"{API}/editions/{other_edition.id}/figures", bearer(figures), 403, missing),
        (
            f"{API}/editions/{edition.id}/booths/{booth.id}/applications",
            bearer(figures),
            403,
            missing,
        ),
    ]
    for url, headers, status, expected in cases:
        response = await client.get(url, headers=headers)
        assert response.status_code == status, (url, headers)
        body = response.json()
        assert body == expected if isinstance(expected, dict) else body["error"]["code"] == expected
    assert (await client.get(path, headers=bearer(figures))).status_code == 200


async def test_rate_limited_with_retry_after(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    edition = await f.edition(session)
    made, raw = await key(session, edition, ApiScope.FIGURES)
    await db.commit(session)
    clock.set_now(f.NOON + timedelta(seconds=15))
    path = f"{API}/editions/{edition.id}/figures"
    for _ in range(api_keys.PER_MINUTE - 1):  # the key's other requests of this minute
        api_keys.LIMITER.count(made.prefix, per_minute=api_keys.PER_MINUTE)
    assert (await client.get(path, headers=bearer(raw))).status_code == 200
    refused = await client.get(path, headers=bearer(raw))
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "45")
    assert refused.json() == _error(
        "api.rate_limited",
        "Trop de requêtes avec cette clé d'API : 120 par minute au plus. Attendez 45 secondes.",
    )
    clock.set_now(f.NOON + timedelta(minutes=1))
    assert (await client.get(path, headers=bearer(raw))).status_code == 200


async def test_figures_hidden_below_five(
    client: httpx.AsyncClient, session: AsyncSession, fetch: Any
) -> None:
    edition, booth, _recruiter, _other = await _fair(session)
    people = [await f.candidate(session, can_log_in=False) for _ in range(7)]
    await participants.register_many(session, [(edition.id, p.id) for p in people])
    offer = await f.offer(session, booth_=booth)
    for person in people[:6]:
        await f.application(session, offer_=offer, candidate_=person)
    made, raw = await key(session, edition, ApiScope.FIGURES)
    await db.commit(session)
    response = await client.get(f"{API}/editions/{edition.id}/figures", headers=bearer(raw))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"
    hidden = {"count": None, "rate": None}
    assert response.json() == {
        "edition_id": edition.id,
        "threshold": 5,
        "steps": [
            {"step": "registered", "count": 7, "rate": None},
            {"step": "active", "count": 6, "rate": 6 / 7},  # applying is being active
            {"step": "applied", "count": 6, "rate": 1.0},
            {"step": "shortlisted", **hidden},
            {"step": "interview_booked", **hidden},
            {"step": "held", **hidden},
            {"step": "no_show", **hidden},
            {"step": "retained", **hidden},
            {"step": "hired", **hidden},
            {"step": "not_held_yet", **hidden},
        ],
    }
    assert (await fetch.get(ApiKey, made.id)).last_used_at == f.NOON
    assert await fetch.scalars(select(ApiKeyUse)) == []  # no personal data: not audited


async def test_a_booths_applications_paged_and_audited(
    client: httpx.AsyncClient, session: AsyncSession, fetch: Any
) -> None:
    edition, booth, recruiter, other_booth = await _fair(session)
    offer = await f.offer(session, booth_=booth, title="Soudeur (H/F)")
    other_offer = await f.offer(session, booth_=other_booth)
    people = [await f.candidate(session, can_log_in=False, name=f"Zoé {n}") for n in range(3)]
    made = [await f.application(session, offer_=offer, candidate_=p) for p in people]
    await f.application(session, offer_=other_offer, candidate_=people[0])
    clock.set_now(f.NOON + timedelta(hours=1))
    await applications.set_status(session, made[1], ApplicationStatus.SHORTLISTED, by=recruiter)
    ats, raw = await key(session, edition, ApiScope.APPLICATIONS, booth=booth, name="ATS")
    await db.commit(session)
    base = f"{API}/editions/{edition.id}/booths/{booth.id}/applications"
    first = await client.get(f"{base}?limit=2", headers=bearer(raw))
    assert first.status_code == 200
    body = first.json()
    assert [a["candidate"] for a in body["data"]] == [
        {"name": "Zoé 0", "email": people[0].email},
        {"name": "Zoé 1", "email": people[1].email},
    ]
    assert body["data"][1] == {
        "id": made[1].id,
        "candidate": {"name": "Zoé 1", "email": people[1].email},
        "status": "shortlisted",
        "offer_id": offer.id,
        "offer_title": "Soudeur (H/F)",
        "offer_external_id": "",
        "message": "Bonjour",
        "applied_at": "2026-03-10T11:00:00Z",
        "status_changed_at": "2026-03-10T12:00:00Z",
        "cv_url": f"http://testserver/recruiter/applications/{made[1].id}/cv",
    }
    clock.set_now(f.NOON + timedelta(hours=1, minutes=5))
    second = await client.get(body["next"], headers=bearer(raw))
    assert ([a["id"] for a in second.json()["data"]], second.json()["next"]) == ([made[2].id], None)
    uses = await fetch.scalars(select(ApiKeyUse).order_by(ApiKeyUse.id))
    assert [(u.api_key_id, u.booth_id, u.what, u.rows, u.created_at) for u in uses] == [
        (ats.id, booth.id, "booth_applications", 2, f.NOON + timedelta(hours=1)),
        (ats.id, booth.id, "booth_applications", 1, f.NOON + timedelta(hours=1, minutes=5)),
    ]
    touched = await fetch.get(ApiKey, ats.id)
    assert touched.last_used_at == f.NOON + timedelta(hours=1, minutes=5)
    # Another booth of the same edition: not this key's.
    refused = await client.get(
        f"{API}/editions/{edition.id}/booths/{other_booth.id}/applications", headers=bearer(raw)
    )
    assert refused.status_code == 403
    assert len(await fetch.scalars(select(ApiKeyUse))) == 2


def _offer(id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": id,
        "intitule": "Électricien (H/F)",
        "description": "Chantiers.",
        "romeCode": "F1602",
        "typeContrat": "CDI",
        "natureContrat": "Contrat travail",
        "lieuTravail": {"libelle": "34 - Montpellier", "codePostal": "34000"},
        "nombrePostes": 2,
        **changes,
    }


async def test_offers_upserted_one_by_one_with_idempotency(
    client: httpx.AsyncClient, session: AsyncSession, fetch: Any
) -> None:
    edition, booth, _recruiter, other_booth = await _fair(session)
    made, raw = await key(session, edition, ApiScope.OFFERS, booth=booth)
    await db.commit(session)
    path = f"{API}/editions/{edition.id}/booths/{booth.id}/offers"
    headers = {**bearer(raw), "Idempotency-Key": "lot-1"}
    body = {
        "resultats": [
            _offer("ATS-1"),
            _offer("ATS-2", intitule=None, nombrePostes="many"),
            {"intitule": "Sans id", "romeCode": "F1602"},
            _offer("ATS-1", intitule="Doublon"),
            "not an object",
        ]
    }
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == 200
    offers = await fetch.scalars(select(Offer).where(Offer.booth_id == booth.id))
    assert [(o.external_id, o.title, o.positions, o.published) for o in offers] == [
        ("ATS-1", "Électricien (H/F)", 2, True)
    ]
    assert first.json() == {
        "created": 1,
        "updated": 0,
        "refused": 4,
        "results": [
            {
                "index": 0,
                "id": "ATS-1",
                "outcome": "created",
                "offer_id": offers[0].id,
                "code": "",
                "message": "",
                "fields": {},
            },
            {
                "index": 1,
                "id": "ATS-2",
                "outcome": "refused",
                "offer_id": None,
                "code": "import.bad_offer",
                "message": "Cette offre n'est pas au format France Travail : Indiquez un nombre "
                "entier.",
                "fields": {},
            },
            {
                "index": 2,
                "id": "",
                "outcome": "refused",
                "offer_id": None,
                "code": "import.no_id",
                "message": "Donnez à chaque offre son identifiant (le vôtre, 40 caractères au "
                "plus) : c'est par lui qu'une requête suivante la met à jour.",
                "fields": {"id": "Ce champ est obligatoire."},
            },
            {
                "index": 3,
                "id": "ATS-1",
                "outcome": "refused",
                "offer_id": None,
                "code": "import.same_id",
                "message": "Cet identifiant figure deux fois dans la requête.",
                "fields": {},
            },
            {
                "index": 4,
                "id": "",
                "outcome": "refused",
                "offer_id": None,
                "code": "import.bad_offer",
                "message": "Chaque offre est un objet JSON.",
                "fields": {},
            },
        ],
    }
    # The same request again: the first answer, nothing written twice.
    again = await client.post(path, json=body, headers=headers)
    assert (again.status_code, again.json()) == (200, first.json())
    assert len(await fetch.scalars(select(Offer).where(Offer.booth_id == booth.id))) == 1
    # The same key with another request: refused.
    other = await client.post(path, json={"resultats": [_offer("ATS-9")]}, headers=headers)
    assert (other.status_code, other.json()["error"]["code"]) == (422, "api.idempotency_mismatch")
    # A new request updates the offer by its id.
    clock.set_now(f.NOON + timedelta(minutes=3))
    update = await client.post(
        path,
        json={"resultats": [_offer("ATS-1", intitule="Électricien confirmé (H/F)")]},
        headers={**bearer(raw), "Idempotency-Key": "lot-2"},
    )
    assert update.json()["results"][0]["outcome"] == "updated"
    stored = await fetch.get(Offer, offers[0].id)
    assert (stored.title, stored.updated_at) == (
        "Électricien confirmé (H/F)",
        f.NOON + timedelta(minutes=3),
    )
    assert (await fetch.get(ApiKey, made.id)).last_used_at == f.NOON + timedelta(minutes=3)
    kept = await fetch.scalars(select(ApiIdempotency.key).order_by(ApiIdempotency.id))
    assert kept == ["lot-1", "lot-2"]
    # Another booth, a too long key, an empty list.
    elsewhere = f"{API}/editions/{edition.id}/booths/{other_booth.id}/offers"
    response = await client.post(elsewhere, json=body, headers=bearer(raw))
    assert response.status_code == 403
    long_key = {**bearer(raw), "Idempotency-Key": "x" * 256}
    response = await client.post(path, json=body, headers=long_key)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "api.idempotency_key")
    response = await client.post(path, json={"resultats": []}, headers=bearer(raw))
    assert response.status_code == 400
    assert await fetch.scalar(select(func.count()).select_from(Offer)) == 1


async def test_openapi_describes_the_partner_endpoints(client: httpx.AsyncClient) -> None:
    document = (await client.get(f"{API}/openapi.json")).json()
    paths = document["paths"]
    security = {
        ("get", "/editions/{edition_id}/figures"): "figures:read",
        ("get", "/editions/{edition_id}/booths/{booth_id}/applications"): "applications:read",
        ("post", "/editions/{edition_id}/booths/{booth_id}/offers"): "offers:write",
    }
    for (method, path), scope in security.items():
        operation = paths[path][method]
        assert [list(s.values())[0] for s in operation["security"]] == [[scope]]
    assert "requestBody" in paths["/editions/{edition_id}/booths/{booth_id}/offers"]["post"]


async def test_the_rate_limit_counted_in_redis(conf: Any, session: AsyncSession) -> None:
    """With BROADCAST_URL at Redis, every process counts a key's requests in one place: a
    count in Redis (another process's requests) refuses this process's next one."""
    edition = await f.edition(session)
    made, raw = await key(session, edition, ApiScope.FIGURES)
    await db.commit(session)
    namespace = f"fair-test-{secrets.token_hex(4)}"
    shared = replace(conf, broadcast_url=REDIS, broadcast_namespace=namespace)
    clock.set_now(f.NOON + timedelta(seconds=50))
    counter = f"{namespace}:rate:{made.prefix}:{int(clock.now().timestamp() // 60)}"
    redis = aioredis.from_url(REDIS)
    await redis.set(counter, api_keys.PER_MINUTE - 1, ex=120)
    web = create_app(shared)
    path = f"{API}/editions/{edition.id}/figures"
    try:
        async with (
            web.router.lifespan_context(web),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=web), base_url="http://testserver"
            ) as client,
        ):
            assert (await client.get(path, headers=bearer(raw))).status_code == 200
            refused = await client.get(path, headers=bearer(raw))
            assert (refused.status_code, refused.headers["retry-after"]) == (429, "10")
        assert int(await redis.get(counter)) == api_keys.PER_MINUTE + 1
    finally:
        await redis.delete(counter)
        await redis.aclose()


async def test_two_tries_at_once_write_once(
    client: httpx.AsyncClient, session: AsyncSession, fetch: Any
) -> None:
    """The same request sent twice at once: one write; the other try gets its answer or is
    told to retry (409), never a 500 or a second offer."""
    edition, booth, _recruiter, _other = await _fair(session)
    _made, raw = await key(session, edition, ApiScope.OFFERS, booth=booth)
    await db.commit(session)
    path = f"{API}/editions/{edition.id}/booths/{booth.id}/offers"
    headers = {**bearer(raw), "Idempotency-Key": "twins"}
    body = {"resultats": [_offer("ATS-1"), _offer("ATS-2")]}
    answers = await asyncio.gather(*(client.post(path, json=body, headers=headers) for _ in "ab"))
    bodies = [a.json() for a in answers if a.status_code == 200]
    busy = [a.json()["error"]["code"] for a in answers if a.status_code == 409]
    assert bodies and all(b == bodies[0] for b in bodies)
    assert (len(bodies) + len(busy), set(busy) <= {"api.idempotency_busy"}) == (2, True)
    assert bodies[0]["created"] == 2
    assert await fetch.scalar(select(func.count()).select_from(Offer)) == 2
