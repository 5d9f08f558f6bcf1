"""The network of territories (fair.network, fair.network_sync, fair.network_applications,
fair/api/network.py) on both databases: the partner instance is this same app reached through
its ASGI transport (one database holds both editions; tests/test_network_live.py runs two
servers on two databases). Pulls with tombstones, resume and ETag; errors recorded; signed
applications across and their status back; bad, stale and replayed signatures refused;
scopes; the organisers' page and the search marking network offers."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accounts,
    api_keys,
    applications,
    candidates,
    clock,
    db,
    network,
    network_applications,
    network_sync,
    partner_http,
)
from fair import offers as offers_domain
from fair.enums import ApiScope, ApplicationStatus, Role
from fair.models import (
    Application,
    NetworkApplication,
    NetworkCandidate,
    NetworkInbound,
    NetworkOffer,
    NetworkPartner,
    User,
)
from tests import factories as f
from tests.conftest import csrf, login
from tests.partner_keys import bearer, key

BASE = "http://127.0.0.1"  # the partner's address: this app, through its ASGI transport
APPLY = "/api/v1/network/applications"


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


def _transport(app: Any) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)


async def _network(session: AsyncSession) -> dict[str, Any]:
    """Edition A (the origin: a booth, two offers) and edition B, which registered A as its
    partner "Montluçon" with a key A issued with the network scopes."""
    origin = await f.edition(session, title="Forum de Montluçon")
    booth, recruiter = await f.booth(session, edition_=origin)
    near = await f.offer(session, booth_=booth, title="Électricien de maintenance")
    far = await f.offer(session, booth_=booth, title="Cariste", rome_code="N1101")
    ours = await f.edition(session, title="Forum de Montpellier")
    _key, issued_by_origin = await key(session, origin, *network.SCOPES)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    partner, issued_to_origin = await network.register(
        session,
        edition=ours,
        base_url=BASE + "/",
        territory="Montluçon",
        key=issued_by_origin,
        by=organiser,
    )
    await db.commit(session)
    return {
        "origin": origin,
        "booth": booth,
        "recruiter": recruiter,
        "near": near,
        "far": far,
        "ours": ours,
        "partner": partner,
        "raw": issued_by_origin,
        "issued": issued_to_origin,
    }


async def _held(fetch: Any, partner_id: int) -> dict[int, str]:
    rows = await fetch.scalars(select(NetworkOffer).where(NetworkOffer.partner_id == partner_id))
    return {row.origin_id: row.title for row in rows}


async def test_register_seals_the_key_and_issues_one(session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    partner = await fetch.get(NetworkPartner, net["partner"].id)
    assert partner.base_url == BASE
    assert net["raw"] not in partner.their_key_sealed
    assert partner.their_key_prefix == net["raw"][:13]
    assert network.their_key(partner) == net["raw"]
    issued = await fetch.get(api_keys.ApiKey, partner.our_key_id)
    assert (issued.edition_id, issued.scopes) == (
        net["ours"].id,
        ["network:apply", "network:offers", "network:pool"],
    )
    assert net["issued"].startswith("fair_" + issued.prefix + "_")


async def test_pull_tombstones_resume_and_etag(app, session, fetch, client) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    partner_id = net["partner"].id
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 2
    assert await _held(fetch, partner_id) == {
        net["near"].id: "Électricien de maintenance",
        net["far"].id: "Cariste",
    }
    held = await fetch.scalar(select(NetworkOffer).where(NetworkOffer.origin_id == net["far"].id))
    assert (held.edition_id, held.employer, held.contract, held.rome_domain) == (
        net["ours"].id,
        net["booth"].employer.name,
        "cdi",
        "N",
    )
    assert held.url == f"{BASE}/offers/{net['far'].id}"
    partner = await fetch.get(NetworkPartner, partner_id)
    assert (partner.last_result, partner.last_error, partner.failures) == ("2 0", "", 0)
    first_cursor = partner.cursor
    assert first_cursor

    # Nothing new: an empty page from the cursor (its ETag kept), then 304 for that page.
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 0
    partner = await fetch.get(NetworkPartner, partner_id)
    assert (partner.last_result, partner.cursor) == ("0 0", first_cursor)
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 0
    partner = await fetch.get(NetworkPartner, partner_id)
    assert (partner.last_result, partner.cursor) == ("unchanged", first_cursor)

    # Closed at the origin: a tombstone removes it; the pull resumes from the cursor.
    async with db.unit_of_work(app.state.write_sessions) as write:
        far = await write.get(offers_domain.Offer, net["far"].id)
        clock.set_now(f.NOON + timedelta(minutes=5))
        await offers_domain.set_published(write, far, False)
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 1
    assert await _held(fetch, partner_id) == {net["near"].id: "Électricien de maintenance"}
    partner = await fetch.get(NetworkPartner, partner_id)
    assert partner.last_result == "0 1"
    assert partner.cursor != first_cursor


async def test_search_marks_network_offers(app, session, client) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    booth, _ = await f.booth(session, edition_=net["ours"])
    await f.offer(session, booth_=booth, title="Électricien tertiaire")
    await db.commit(session)
    await network_sync.run_round(app.state.write_sessions, transport=_transport(app))
    page = await client.get(f"/e/{net['ours'].slug}/offers", params={"q": "électricien"})
    assert page.status_code == 200
    assert "2 offres trouvées" in page.text
    assert page.text.count("Offre du réseau · Montluçon") == 1
    held = await session.scalar(select(NetworkOffer).where(NetworkOffer.title.like("Élec%")))
    assert f'href="/network/offers/{held.id}"' in page.text
    # Near offers first: sorted by distance from Montluçon, the partner's offer (Montpellier
    # in the factory) ties with ours; from a filter the feed cannot answer, it is left out.
    publics = await client.get(
        f"/e/{net['ours'].slug}/offers", params={"q": "électricien", "publics": "seniors"}
    )
    assert "Offre du réseau" not in publics.text
    # Words widened (fair.search.match) over both indexes in one statement: each its match.
    from fair import search
    from fair.search.match import Wider

    wider = Wider(groups=((search.stem("electricien"),),))
    async with app.state.read_sessions() as read:
        wide = await search.search(
            read,
            edition_id=net["ours"].id,
            query=search.Query(q="plombier", also=wider),
            network=True,
        )
    assert sorted((h.offer.title, h.territory) for h in wide.hits) == [
        ("Électricien de maintenance", "Montluçon"),
        ("Électricien tertiaire", ""),
    ]
    detail = await client.get(f"/network/offers/{held.id}")
    assert detail.status_code == 200
    assert "Électricien de maintenance" in detail.text
    assert "Offre du réseau · Montluçon" in detail.text


async def test_facets_count_the_partners_offers_the_page_found_by_id(app, session) -> None:  # type: ignore[no-untyped-def]
    """A search without filters over the edition's and the partners' offers: the facets read
    the page's matches by id (a partner's id negated: fair.search.Page.matched), the same
    counts as the words matched again over both indexes."""
    from fair import search
    from fair.search import cache as search_cache
    from fair.search import facets as search_facets

    net = await _network(session)
    booth, _ = await f.booth(session, edition_=net["ours"])
    await f.offer(session, booth_=booth, title="Électricien tertiaire", contract="cdd")
    await db.commit(session)
    await network_sync.run_round(app.state.write_sessions, transport=_transport(app))
    query = search.Query(q="électricien")
    async with app.state.read_sessions() as read:
        page = await search.search(read, edition_id=net["ours"].id, query=query, network=True)
        assert page.total == 2 and page.matched is not None
        assert sorted(i > 0 for i in page.matched) == [False, True]
        kw = {"edition_id": net["ours"].id, "query": query, "origin": None, "network": True}
        by_id = await search_facets.count(read, **kw, shown=page)
        search_cache.forget()
        assert by_id == await search_facets.count(read, **kw)
    assert (by_id.capped, by_id.any["contract"], by_id.contract["cdd"]) == (False, 2, 1)


async def test_distance_sort_keeps_near_offers_first(app, session) -> None:  # type: ignore[no-untyped-def]
    from fair import search

    net = await _network(session)
    booth, _ = await f.booth(session, edition_=net["ours"])
    await f.offer(
        session, booth_=booth, title="Électricien à Lyon", commune="Lyon", postcode="69001"
    )
    await db.commit(session)
    await network_sync.run_round(app.state.write_sessions, transport=_transport(app))
    async with app.state.read_sessions() as read:
        found = await search.search(
            read,
            edition_id=net["ours"].id,
            query=search.Query(q="électricien", commune="34172", sort="distance"),
            network=True,
        )
    assert [(h.offer.title, h.territory) for h in found.hits] == [
        ("Électricien de maintenance", "Montluçon"),
        ("Électricien à Lyon", ""),
    ]
    assert found.total == 2


async def test_a_page_past_the_last_match_counts_the_partners_offers(app, session) -> None:  # type: ignore[no-untyped-def]
    """With the partners' offers, a page past the last match (a link kept while offers went,
    a page number typed) says how many there are, not none: its statement read no row, and
    the count beside it then counted nothing."""
    from fair import search

    net = await _network(session)
    booth, _ = await f.booth(session, edition_=net["ours"])
    await f.offer(session, booth_=booth, title="Électricien tertiaire")
    await db.commit(session)
    await network_sync.run_round(app.state.write_sessions, transport=_transport(app))
    async with app.state.read_sessions() as read:
        for sort in ("relevance", "recent"):
            pages = [
                await search.search(
                    read,
                    edition_id=net["ours"].id,
                    query=search.Query(q="électricien", sort=sort, page=n, per_page=1),
                    network=True,
                )
                for n in (1, 2, 3)
            ]
            assert [(len(p.hits), p.total) for p in pages] == [(1, 2), (1, 2), (0, 2)], sort


async def test_pull_errors_are_recorded(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    async with db.unit_of_work(app.state.write_sessions) as write:
        partner = await write.get(NetworkPartner, net["partner"].id)
        partner.base_url = "http://127.0.0.1:9"  # nothing listens there (discard port)
    await network_sync.run_round(app.state.write_sessions)
    partner = await fetch.get(NetworkPartner, net["partner"].id)
    assert partner.failures == 1
    assert partner.last_error.startswith("All connection attempts failed") or partner.last_error
    assert partner.last_success_at is None

    # A revoked key: the partner's refusal in its JSON shape.
    async with db.unit_of_work(app.state.write_sessions) as write:
        partner = await write.get(NetworkPartner, net["partner"].id)
        partner.base_url = BASE
        issued = await write.scalar(
            select(api_keys.ApiKey).where(api_keys.ApiKey.edition_id == net["origin"].id)
        )
        await api_keys.revoke(write, issued)
    await network_sync.run_round(app.state.write_sessions, transport=_transport(app))
    partner = await fetch.get(NetworkPartner, net["partner"].id)
    assert (partner.failures, partner.last_error) == (2, "HTTP 401 (api.key_invalid)")
    assert await _held(fetch, partner.id) == {}


async def _apply_here(app, session, net) -> tuple[User, NetworkApplication]:  # type: ignore[no-untyped-def]
    await network_sync.run_round(app.state.write_sessions, transport=_transport(app))
    candidate = await f.candidate(session, can_log_in=False, name="Léa Martin")
    await db.commit(session)
    held = await session.scalar(
        select(NetworkOffer).where(NetworkOffer.origin_id == net["near"].id)
    )
    async with db.unit_of_work(app.state.write_sessions) as write:
        user = await write.get(User, candidate.id)
        queued = await network_applications.queue(
            write,
            candidate=user,
            offer=held,
            message="Je suis mobile.",
            consented=True,
            consent_text="J'accepte.",
        )
    return candidate, queued


async def test_application_crosses_and_status_comes_back(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    candidate, queued = await _apply_here(app, session, net)
    assert (queued.state, queued.status) == ("queued", "submitted")
    sent = await network_applications.send_round(
        app.state.write_sessions, transport=_transport(app)
    )
    assert sent == 1
    mine = await fetch.get(NetworkApplication, queued.id)
    inbound = await fetch.scalar(select(NetworkInbound))
    assert (mine.state, mine.remote_id, mine.status) == (
        "sent",
        inbound.application_id,
        "submitted",
    )
    assert inbound.reference == queued.id
    there = await fetch.get(Application, inbound.application_id)
    assert (there.offer_id, there.booth_id, there.message, there.status) == (
        net["near"].id,
        net["booth"].id,
        "Je suis mobile.",
        "submitted",
    )
    assert there.cv_file_id is not None
    person = await fetch.get(User, there.candidate_id)
    # This one database already holds the candidate's own account: the origin's record is
    # plus-addressed, never the local account.
    assert person.id != candidate.id
    assert person.email == candidate.email.replace("@", f"+reseau{inbound.api_key_id}@")
    assert (person.name, person.role, person.password_hash.startswith("$argon2")) == (
        "Léa Martin",
        "candidate",
        False,
    )
    record = await fetch.get(NetworkCandidate, person.id)
    assert record.email == candidate.email

    # The origin's recruiter decides; the status comes back on the next pull.
    async with db.unit_of_work(app.state.write_sessions) as write:
        application = await write.get(Application, there.id)
        recruiter = await write.get(User, net["recruiter"].id)
        clock.set_now(f.NOON + timedelta(minutes=1))
        await applications.set_status(
            write, application, ApplicationStatus.SHORTLISTED, by=recruiter
        )
    changed = await network_applications.status_round(
        app.state.write_sessions, transport=_transport(app)
    )
    assert changed == 1
    mine = await fetch.get(NetworkApplication, queued.id)
    assert mine.status == "shortlisted"
    # Nothing more: the cursor moved past it.
    assert (
        await network_applications.status_round(app.state.write_sessions, transport=_transport(app))
        == 0
    )


async def test_an_origin_s_answers_past_the_cap_are_not_read(
    app, session, fetch, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Sending an application and pulling its statuses read the origin's answers through
    fair.partner_http: past MAX_ANSWER bytes an answer is not read (the application is sent
    again later, with its reference: the same one there), and a status page is not applied."""
    net = await _network(session)
    _candidate, queued = await _apply_here(app, session, net)
    monkeypatch.setattr(partner_http, "MAX_ANSWER", 20)  # the origin's answer: about 50 bytes
    sessions = app.state.write_sessions
    assert await network_applications.send_round(sessions, transport=_transport(app)) == 0
    mine = await fetch.get(NetworkApplication, queued.id)
    assert (mine.state, mine.remote_id, mine.attempts) == ("queued", None, 1)
    assert mine.last_error.startswith("answer") and "more than 20" in mine.last_error
    inbound = await fetch.scalar(select(NetworkInbound))  # the origin acted on it
    monkeypatch.setattr(partner_http, "MAX_ANSWER", 8 * 1024 * 1024)
    clock.set_now(f.NOON + timedelta(minutes=5))
    assert await network_applications.send_round(sessions, transport=_transport(app)) == 1
    mine = await fetch.get(NetworkApplication, queued.id)
    assert (mine.state, mine.remote_id) == ("sent", inbound.application_id)
    assert len(await fetch.scalars(select(NetworkInbound))) == 1

    async with db.unit_of_work(sessions) as write:
        application = await write.get(Application, inbound.application_id)
        recruiter = await write.get(User, net["recruiter"].id)
        clock.set_now(f.NOON + timedelta(minutes=6))
        await applications.set_status(
            write, application, ApplicationStatus.SHORTLISTED, by=recruiter
        )
    monkeypatch.setattr(partner_http, "MAX_ANSWER", 20)
    assert await network_applications.status_round(sessions, transport=_transport(app)) == 0
    assert (await fetch.get(NetworkApplication, queued.id)).status == "submitted"


class _Recording(httpx.AsyncBaseTransport):
    """The app's ASGI transport, keeping the bodies it carried (what left this instance)."""

    def __init__(self, app: Any) -> None:
        self.inner = _transport(app)
        self.bodies: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.bodies.append(json.loads(await request.aread()))
        return await self.inner.handle_async_request(request)


async def test_an_address_of_the_invalid_domain_never_leaves(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    """A candidate whose account has no mailbox (a counsellor made it; an erased one is
    alike) applies: the origin is sent no address (null) and the sender's reference for them,
    makes an account without a mailbox, and knows them again by that reference."""
    net = await _network(session)
    await network_sync.run_round(app.state.write_sessions, transport=_transport(app))
    person = await accounts.create_without_mailbox(session, name="Marie Dupont")
    await candidates.set_cv(session, person, filename="cv.pdf", data=f.pdf_bytes())
    await db.commit(session)
    assert person.email.endswith(".invalid")
    recording = _Recording(app)
    there: list[int] = []
    for origin_id in (net["near"].id, net["far"].id):
        held = await session.scalar(select(NetworkOffer).where(NetworkOffer.origin_id == origin_id))
        async with db.unit_of_work(app.state.write_sessions) as write:
            user = await write.get(User, person.id)
            await network_applications.queue(
                write, candidate=user, offer=held, message="", consented=True, consent_text="Oui"
            )
        assert await network_applications.send_round(app.state.write_sessions, transport=recording)
        inbound = await fetch.scalar(
            select(NetworkInbound).order_by(NetworkInbound.reference.desc())
        )
        there.append((await fetch.get(Application, inbound.application_id)).candidate_id)
    assert [body["candidate"] for body in recording.bodies] == [
        {"name": "Marie Dupont", "email": None, "ref": str(person.id)}
    ] * 2
    assert ".invalid" not in json.dumps(recording.bodies)
    assert there[0] == there[1] != person.id  # one account there, known again by the reference
    origin_account = await fetch.get(User, there[0])
    assert (origin_account.name, accounts.has_mailbox(origin_account)) == ("Marie Dupont", False)
    record = await fetch.get(NetworkCandidate, there[0])
    assert record.email == f"ref:{person.id}"


async def test_refused_application_fails_with_the_reason(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    _candidate, queued = await _apply_here(app, session, net)
    async with db.unit_of_work(app.state.write_sessions) as write:
        near = await write.get(offers_domain.Offer, net["near"].id)
        await offers_domain.set_published(write, near, False)
    assert (
        await network_applications.send_round(app.state.write_sessions, transport=_transport(app))
        == 0
    )
    mine = await fetch.get(NetworkApplication, queued.id)
    assert mine.state == "failed"
    assert mine.last_error == "HTTP 404 fair.not_found: Cette offre n'existe pas."


def _body(net: dict[str, Any], reference: int = 7) -> bytes:
    data = {
        "reference": reference,
        "offer_id": net["near"].id,
        "candidate": {"name": "Paul Durand", "email": "paul@example.org"},
        "message": "Bonjour",
        "consent": {"wording": "J'accepte.", "at": f.NOON.isoformat()},
        "cv": {
            "filename": "cv.pdf",
            "data": __import__("base64").b64encode(f.pdf_bytes()).decode(),
        },
    }
    return json.dumps(data).encode()


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": {}}}


async def test_bad_stale_and_replayed_signatures_refused(client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    body = _body(net)
    headers = network.signature_headers(net["raw"], body)
    tampered = body.replace(b"Bonjour", b"Bonsoir")
    bad = await client.post(APPLY, content=tampered, headers=headers)
    assert (bad.status_code, bad.json()) == (
        401,
        _error("network.bad_signature", "La signature de cette requête n'est pas valide."),
    )
    stale_headers = network.signature_headers(
        net["raw"], body, now=(f.NOON - timedelta(minutes=6)).timestamp()
    )
    stale = await client.post(APPLY, content=body, headers=stale_headers)
    assert (stale.status_code, stale.json()["error"]["code"]) == (401, "network.stale")
    unsigned = await client.post(APPLY, content=body, headers=bearer(net["raw"]))
    assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (
        401,
        "network.bad_signature",
    )
    # Another key's signature with this key's bearer.
    _other, other_raw = await key(session, net["origin"], *network.SCOPES)
    await db.commit(session)
    forged = network.signature_headers(other_raw, body) | {"authorization": f"Bearer {net['raw']}"}
    wrong = await client.post(APPLY, content=body, headers=forged)
    assert wrong.status_code == 401

    good = await client.post(APPLY, content=body, headers=headers)
    assert good.status_code == 201
    assert good.json() == {"id": good.json()["id"], "reference": 7, "status": "submitted"}
    replayed = await client.post(APPLY, content=body, headers=headers)
    assert (replayed.status_code, replayed.json()) == (
        409,
        _error("network.replayed", "Cette requête a déjà été reçue."),
    )
    # The same reference signed anew (a retry whose answer was lost) gives the same one back.
    again = await client.post(
        APPLY, content=body, headers=network.signature_headers(net["raw"], body)
    )
    assert (again.status_code, again.json()["id"]) == (201, good.json()["id"])
    assert len(await fetch.scalars(select(NetworkInbound))) == 1


async def test_the_same_new_reference_twice_at_once_is_one_application(
    client, session, fetch
) -> None:  # type: ignore[no-untyped-def]
    """A partner's retry racing its first try (the same new reference, each signed anew, at
    once): all answer the one application of one new account, none a 500 on a unique
    constraint."""
    net = await _network(session)
    body = _body(net, reference=9)

    async def send() -> httpx.Response:
        headers = network.signature_headers(net["raw"], body)
        return await client.post(APPLY, content=body, headers=headers)

    answers = await asyncio.gather(*(send() for _ in range(4)))
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    ids = {a.json()["id"] for a in answers}
    inbound = await fetch.scalars(select(NetworkInbound))
    assert [(i.application_id, i.reference) for i in inbound] == [(*ids, 9)]
    made = await fetch.scalars(select(User).where(User.name == "Paul Durand"))
    assert len(made) == 1


async def test_network_scopes(client, session) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    _k, offers_only = await key(session, net["origin"], ApiScope.NETWORK_OFFERS)
    _k, figures = await key(session, net["origin"], ApiScope.FIGURES)
    await db.commit(session)
    body = _body(net)
    cases = [
        ("POST", APPLY, network.signature_headers(offers_only, body), 403, "api.scope_missing"),
        ("GET", "/api/v1/network/offers", bearer(figures), 403, "api.scope_missing"),
        ("GET", "/api/v1/network/applications", bearer(offers_only), 403, "api.scope_missing"),
        ("GET", "/api/v1/network/offers", {}, 401, "auth.required"),
        ("POST", APPLY, {}, 401, "auth.required"),
    ]
    for method, path, headers, status, code in cases:
        response = await client.request(
            method, path, headers=headers, content=body if method == "POST" else None
        )
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), path
    feed = await client.get("/api/v1/network/offers", headers=bearer(offers_only))
    assert feed.status_code == 200
    assert feed.json()["territory"] == "Métropole test"
    assert sorted(item["id"] for item in feed.json()["items"]) == sorted(
        [net["near"].id, net["far"].id]
    )


async def test_organiser_registers_and_disables_a_partner(app, session, client, fetch) -> None:  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER)
    ours = await f.edition(session, by=organiser)
    origin = await f.edition(session)
    _k, raw = await key(session, origin, *network.SCOPES)
    await db.commit(session)
    await login(client, organiser.email, f.PASSWORD)
    path = f"/organiser/editions/{ours.id}/network"
    token = await csrf(client, path)
    refused = await client.post(
        path, data={"csrf_token": token, "url": "ftp://x", "territory": "", "key": "nope"}
    )
    assert refused.status_code == 422
    assert "Nommez le territoire du partenaire" in refused.text
    assert "Collez la clé que le partenaire vous a donnée" in refused.text
    created = await client.post(
        path, data={"csrf_token": token, "url": BASE, "territory": "Vichy", "key": raw}
    )
    assert created.status_code == 200
    partner = await fetch.scalar(select(NetworkPartner).where(NetworkPartner.edition_id == ours.id))
    issued = await fetch.get(api_keys.ApiKey, partner.our_key_id)
    assert f'value="fair_{issued.prefix}_' in created.text
    assert raw not in created.text
    await network_sync.run_round(app.state.write_sessions, transport=_transport(app))
    listing = await client.get(path)
    assert "Vichy" in listing.text and "Jamais" not in listing.text
    disabled = await client.post(
        f"{path}/{partner.id}/active", data={"csrf_token": token, "active": "0"}
    )
    assert disabled.status_code == 303
    partner = await fetch.get(NetworkPartner, partner.id)
    assert partner.active is False
    assert (await fetch.get(api_keys.ApiKey, partner.our_key_id)).revoked_at is not None
    # Another organiser's edition: not theirs.
    other = await f.edition(session)
    await db.commit(session)
    assert (await client.get(f"/organiser/editions/{other.id}/network")).status_code == 403


async def test_partners_search_the_pool_opened_to_the_network(client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    from fair import cv_pool
    from fair.enums import PoolLevel
    from fair.models import ApiKeyUse
    from tests.pool_setup import pool_candidate

    net = await _network(session)
    opened = await pool_candidate(
        session, lines=("Électricien de maintenance", "Tél. 06 12 34 56 78"), name="Zoé Roux"
    )
    await cv_pool.give(session, opened, level=PoolLevel.NETWORK, months=3, edition_id=None)
    local = await pool_candidate(session, editions_=(net["origin"],), name="Marc Petit")
    await cv_pool.give(
        session, local, level=PoolLevel.TERRITORY, months=3, edition_id=net["origin"].id
    )
    await db.commit(session)
    found = await client.get(
        "/api/v1/network/pool", params={"q": "électricien"}, headers=bearer(net["raw"])
    )
    assert found.status_code == 200
    body = found.json()
    assert (body["total"], body["page"], len(body["profiles"])) == (1, 1, 1)
    profile = body["profiles"][0]
    assert "Zoé" not in json.dumps(body) and "06 12 34 56 78" not in profile["excerpt"]
    assert profile["commune"] == "Lattes"
    uses = await fetch.scalars(select(ApiKeyUse))
    assert [(u.what, u.rows) for u in uses] == [("network_pool", 1)]
    _k, offers_only = await key(session, net["origin"], ApiScope.NETWORK_OFFERS)
    await db.commit(session)
    refused = await client.get("/api/v1/network/pool", headers=bearer(offers_only))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "api.scope_missing")


async def test_a_partners_link_is_a_web_address_only(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    now = clock.now()
    items = [
        network_sync.FeedItem(id=n, deleted=False, updated_at=now, title=f"Offre {n}", url=url)
        for n, url in enumerate(
            ["javascript:alert(1)", "data:text/html,x", "https://emploi.example.fr/offers/3"]
        )
    ]
    page = network_sync.FeedPage(items=items, cursor="c", more=False)
    async with db.unit_of_work(app.state.write_sessions) as write:
        partner = await write.get(NetworkPartner, net["partner"].id)
        assert await network_sync.apply_page(write, partner, page) == (3, 0)
    rows = await fetch.scalars(select(NetworkOffer).order_by(NetworkOffer.origin_id))
    assert [(row.origin_id, row.url) for row in rows] == [
        (0, ""),
        (1, ""),
        (2, "https://emploi.example.fr/offers/3"),
    ]


async def test_the_start_day_crosses_with_the_offer(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    """The day a position is to be filled travels in the feed (null: as soon as possible) and
    is read as fair.parse.day reads it: a page carrying another spelling is refused whole."""
    net = await _network(session)
    async with db.unit_of_work(app.state.write_sessions) as write:
        far = await offers_domain.get(write, net["far"].id)
        data = f.offer_input(title="Cariste", rome_code="N1101", starts_on=date(2030, 2, 5))
        await offers_domain.update(write, far, data=data)
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 2
    rows = await fetch.scalars(select(NetworkOffer).order_by(NetworkOffer.origin_id))
    assert [(row.origin_id, row.starts_on) for row in rows] == [
        (net["near"].id, None),
        (net["far"].id, date(2030, 2, 5)),
    ]
    item = {"id": 1, "deleted": False, "updated_at": "2030-01-01T00:00:00Z"}
    for day in ("05/02/2030", "9999-01-01", 1893456000, "2030-02-05T00:00:00"):
        with pytest.raises(ValidationError):
            network_sync.FeedItem.model_validate({**item, "starts_on": day})
    read = network_sync.FeedItem.model_validate({**item, "starts_on": "2030-02-05"})
    assert read.starts_on == date(2030, 2, 5)


async def test_a_pull_cut_short_resumes_where_it_stopped(app, session, fetch, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A round reads at most MAX_PAGES pages; the next starts from the cursor saved with the
    last page written (here one offer a page, one page a round)."""
    monkeypatch.setattr(network_sync, "PAGE_SIZE", 1)
    monkeypatch.setattr(network_sync, "MAX_PAGES", 1)
    net = await _network(session)
    partner_id = net["partner"].id
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 1
    assert await _held(fetch, partner_id) == {net["near"].id: "Électricien de maintenance"}
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 1
    assert await _held(fetch, partner_id) == {
        net["near"].id: "Électricien de maintenance",
        net["far"].id: "Cariste",
    }
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 0


async def test_feed_revalidates_until_the_edition_closes(client, session) -> None:  # type: ignore[no-untyped-def]
    """304 while nothing changed; once the origin's edition closes (by the clock alone, no
    write), the same request gets its offers as tombstones."""
    net = await _network(session)
    path, headers = "/api/v1/network/offers", bearer(net["raw"])
    first = await client.get(path, headers=headers)
    assert [i["deleted"] for i in first.json()["items"]] == [False, False]
    tag = first.headers["etag"]
    again = await client.get(path, headers=headers | {"If-None-Match": tag})
    assert again.status_code == 304
    clock.set_now(f.NOON + timedelta(days=30))  # after its applications and live days
    closed = await client.get(path, headers=headers | {"If-None-Match": tag})
    assert closed.status_code == 200
    assert [i["deleted"] for i in closed.json()["items"]] == [True, True]
