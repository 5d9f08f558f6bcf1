"""The CV pool across the network (fair.network_pool, fair/api/network.py) on both databases:
the partner is this same app reached through its ASGI transport (one database holds both
editions, as in tests/test_network.py; tests/test_network_live.py runs two servers). Only
profiles opened to the whole network cross, and a withdrawal or an expiry hides them at once;
every profile opened and every contact details handed over is in the candidate's access log,
naming the partner's person and organisation; a contact request crosses, the candidate answers
where they are, and the contact details come back only with an acceptance; signed endpoints
refuse an unsigned request (401) before they read its body. Also the per-edition switch of
network offers and the offers' version raised by a pull."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    access_log,
    clock,
    contact_requests,
    cv_pool,
    db,
    network,
    network_pool,
    network_sync,
    offers_version,
    partner_http,
    retention,
    settings,
)
from fair.enums import ContactStatus, PoolLevel, Role
from fair.errors import Conflict, FairError, NotFound
from fair.models import (
    ContactRequest,
    CvText,
    Edition,
    NetworkContact,
    NetworkContactIn,
    NetworkPartner,
    User,
)
from tests import factories as f
from tests.conftest import csrf, login
from tests.partner_keys import bearer, key
from tests.pool_setup import pool_candidate, recruiter_at
from tests.statements import cold

BASE = "http://127.0.0.1"  # the partner: this app, through its ASGI transport


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def _network(session: AsyncSession) -> dict[str, Any]:
    """Edition A (the origin: its candidates' pool) and edition B, which registered A as its
    partner "Montluçon" with the key A issued to it ("Réseau : Vichy"); a recruiter of an
    approved booth in B; three candidates at A: one opened to the whole network, one to the
    territory only, one to the network but not yet."""
    origin = await f.edition(session, title="Forum de Montluçon")
    ours = await f.edition(session, title="Forum de Vichy")
    _key, raw = await key(session, origin, *network.SCOPES, name="Réseau : Vichy")
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    partner, _issued = await network.register(
        session, edition=ours, base_url=BASE, territory="Montluçon", key=raw, by=organiser
    )
    recruiter = await recruiter_at(session, ours, can_log_in=True)
    opened = await pool_candidate(session, name="Léa Martin", editions_=(origin,))
    await cv_pool.give(session, opened, level=PoolLevel.NETWORK, months=3, edition_id=None)
    local = await pool_candidate(session, name="Marc Petit", editions_=(origin,))
    await cv_pool.give(session, local, level=PoolLevel.TERRITORY, months=3, edition_id=origin.id)
    await db.commit(session)
    refs = {
        user.id: await session.scalar(select(CvText.ref).where(CvText.user_id == user.id))
        for user in (opened, local)
    }
    viewer = await cv_pool.viewer_of(session, recruiter)
    assert viewer is not None
    await db.commit(session)  # no read left open: the app writes meanwhile
    return {
        "origin": origin,
        "ours": ours,
        "partner": partner,
        "raw": raw,
        "recruiter": recruiter,
        "viewer": viewer,
        "opened": opened,
        "local": local,
        "ref": refs[opened.id],
        "local_ref": refs[local.id],
    }


def _transport(app: Any) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)


async def _ask(app: Any, net: dict[str, Any]) -> NetworkContact:
    """The recruiter of `net` asks the candidate opened to the network for contact."""
    return await network_pool.ask(
        app.state.write_sessions,
        network_pool.target(net["partner"]),
        net["viewer"],
        net["recruiter"],
        net["ref"],
        "Bonjour.",
        transport=_transport(app),
    )


async def _refs(app: Any, net: dict[str, Any], **filters: Any) -> list[str]:
    found = await network_pool.search(
        network_pool.target(net["partner"]),
        cv_pool.PoolQuery(**filters),
        transport=_transport(app),
    )
    return [p.ref for p in found.profiles]


async def test_only_profiles_opened_to_the_network_cross(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    assert await network_pool.partners_for(session, net["viewer"]) == [net["partner"]]
    assert await _refs(app, net) == [net["ref"]]
    assert await _refs(app, net, q="électricien", commune="Lattes", radius_km=10) == [net["ref"]]
    assert await _refs(app, net, q="boulanger") == []
    goal = network_pool.target(net["partner"])
    me = network_pool.viewer_in(net["viewer"], net["recruiter"].name)
    profile = await network_pool.open_profile(goal, me, net["ref"], transport=_transport(app))
    assert (profile.ref, profile.commune) == (net["ref"], "Lattes")
    assert "Léa" not in profile.excerpt and "Martin" not in profile.excerpt
    # Opened: in the candidate's log, naming the person, the organisation and the partner.
    log = await access_log.of_subject(fetch, net["opened"].id)
    organisation = net["viewer"].organisation
    assert [(a.what, a.viewer, a.viewer_id) for a in log] == [
        (
            "pool_profile",
            f"{net['recruiter'].name} ({organisation} · Réseau : Vichy)",
            None,
        )
    ]
    # Opened to the territory only: never visible to a partner, even by its reference.
    with pytest.raises(NotFound):
        await network_pool.open_profile(goal, me, net["local_ref"], transport=_transport(app))
    assert await access_log.of_subject(fetch, net["local"].id) == []


async def test_withdrawal_and_expiry_hide_at_once(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    goal = network_pool.target(net["partner"])
    me = network_pool.viewer_in(net["viewer"], net["recruiter"].name)
    assert await _refs(app, net) == [net["ref"]]
    clock.set_now(f.NOON + timedelta(days=100))  # past the 3 months
    assert await _refs(app, net) == []
    with pytest.raises(NotFound):
        await network_pool.open_profile(goal, me, net["ref"], transport=_transport(app))
    clock.set_now(f.NOON)
    user = await session.get(User, net["opened"].id)
    await cv_pool.withdraw(session, user)
    await db.commit(session)
    assert await _refs(app, net) == []
    with pytest.raises(NotFound):
        await network_pool.open_profile(goal, me, net["ref"], transport=_transport(app))
    assert await access_log.of_subject(fetch, net["opened"].id) == []


async def test_contact_request_crosses_and_details_come_only_with_acceptance(  # type: ignore[no-untyped-def]
    app, session, fetch
) -> None:
    net = await _network(session)
    sessions = app.state.write_sessions
    goal = network_pool.target(net["partner"])
    sent = await network_pool.ask(
        sessions,
        goal,
        net["viewer"],
        net["recruiter"],
        net["ref"],
        "Bonjour, un poste d'électricien à Vichy.",
        transport=_transport(app),
    )
    there = await fetch.scalar(select(ContactRequest))
    inbound = await fetch.get(NetworkContactIn, there.id)
    organisation = f"{net['viewer'].organisation} · Réseau : Vichy"
    assert (there.candidate_id, there.requester_id, there.organisation, there.status) == (
        net["opened"].id,
        None,
        organisation,
        "requested",
    )
    assert (inbound.reference, inbound.requester, inbound.organisation_key) == (
        sent.id,
        net["recruiter"].name,
        network_pool.organisation_key(net["viewer"]),
    )
    assert sent.remote_id == there.id
    # Not answered yet: nothing comes back, no contact details.
    assert await network_pool.contact_round(sessions, transport=_transport(app)) == 0
    here = await fetch.get(NetworkContact, sent.id)
    assert (here.status, here.name, here.email, here.phone) == ("requested", "", "", "")
    # Asked again by the same organisation: refused there, nothing kept here.
    with pytest.raises(Conflict) as again:
        await network_pool.ask(
            sessions,
            goal,
            net["viewer"],
            net["recruiter"],
            net["ref"],
            "Encore moi.",
            transport=_transport(app),
        )
    assert again.value.code == "contact.already_requested"
    assert len(await fetch.scalars(select(NetworkContact))) == 1

    # The candidate accepts where they are; the next pull brings the details back.
    candidate = await session.get(User, net["opened"].id)
    await contact_requests.answer(session, candidate, request_id=there.id, accept=True)
    await db.commit(session)
    assert await network_pool.contact_round(sessions, transport=_transport(app)) == 1
    here = await fetch.get(NetworkContact, sent.id)
    assert (here.status, here.name, here.email, here.phone) == (
        "accepted",
        "Léa Martin",
        candidate.email,
        "06 12 34 56 78",
    )
    log = await access_log.of_subject(fetch, net["opened"].id)
    assert [(a.what, a.viewer) for a in log] == [
        ("contact_details", f"{net['recruiter'].name} ({organisation})")
    ]
    # The cursor moved on: the next pull hands nothing over again.
    assert await network_pool.contact_round(sessions, transport=_transport(app)) == 0
    assert len(await access_log.of_subject(fetch, net["opened"].id)) == 1


async def test_declined_and_withdrawn_give_no_details(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    sessions = app.state.write_sessions
    goal = network_pool.target(net["partner"])
    sent = await network_pool.ask(
        sessions,
        goal,
        net["viewer"],
        net["recruiter"],
        net["ref"],
        "Bonjour.",
        transport=_transport(app),
    )
    there = await fetch.scalar(select(ContactRequest))
    candidate = await session.get(User, net["opened"].id)
    # Accepted, then withdrawn from the pool before the partner pulls: no details leave.
    await contact_requests.answer(session, candidate, request_id=there.id, accept=True)
    await cv_pool.withdraw(session, candidate)
    await db.commit(session)
    assert await network_pool.contact_round(sessions, transport=_transport(app)) == 1
    here = await fetch.get(NetworkContact, sent.id)
    assert (here.status, here.email) == ("accepted", "")
    assert await access_log.of_subject(fetch, net["opened"].id) == []


async def test_a_declined_request_comes_back_declined(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    sessions = app.state.write_sessions
    goal = network_pool.target(net["partner"])
    sent = await network_pool.ask(
        sessions,
        goal,
        net["viewer"],
        net["recruiter"],
        net["ref"],
        "Bonjour.",
        transport=_transport(app),
    )
    there = await fetch.scalar(select(ContactRequest))
    candidate = await session.get(User, net["opened"].id)
    await contact_requests.answer(session, candidate, request_id=there.id, accept=False)
    await db.commit(session)
    assert await network_pool.contact_round(sessions, transport=_transport(app)) == 1
    here = await fetch.get(NetworkContact, sent.id)
    assert (here.status, here.email, here.name) == (ContactStatus.DECLINED.value, "", "")


def _contact_body(ref: str, reference: int = 1) -> bytes:
    data = {
        "reference": reference,
        "ref": ref,
        "viewer": {
            "person": "Marie Durand",
            "organisation": "Intérim Plus",
            "organisation_key": "structure:4",
        },
        "message": "Bonjour.",
    }
    return json.dumps(data).encode()


async def test_signed_endpoints_authenticate_before_reading_the_body(  # type: ignore[no-untyped-def]
    client, session, fetch
) -> None:
    net = await _network(session)
    for path in (
        "/api/v1/network/contacts",
        "/api/v1/network/pool/open",
        "/api/v1/network/contacts/changes",
        "/api/v1/network/applications",
    ):
        unsigned = await client.post(path, content=b"{not json", headers=bearer(net["raw"]))
        assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (
            401,
            "network.bad_signature",
        ), path
    # Signed, the same bad body is then refused for what it is.
    bad = b"{not json"
    refused = await client.post(
        "/api/v1/network/contacts", content=bad, headers=network.signature_headers(net["raw"], bad)
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "body.invalid")
    body = _contact_body(net["ref"])
    headers = network.signature_headers(net["raw"], body)
    tampered = await client.post(
        "/api/v1/network/contacts", content=body.replace(b"Bonjour", b"Salut"), headers=headers
    )
    assert tampered.status_code == 401
    good = await client.post("/api/v1/network/contacts", content=body, headers=headers)
    assert good.status_code == 201
    assert good.json() == {"id": good.json()["id"], "reference": 1, "status": "requested"}
    replayed = await client.post("/api/v1/network/contacts", content=body, headers=headers)
    assert (replayed.status_code, replayed.json()["error"]["code"]) == (409, "network.replayed")
    # The same reference signed anew gives the same request back.
    again = await client.post(
        "/api/v1/network/contacts",
        content=body,
        headers=network.signature_headers(net["raw"], body),
    )
    assert (again.status_code, again.json()["id"]) == (201, good.json()["id"])
    assert len(await fetch.scalars(select(ContactRequest))) == 1
    # A profile opened to the territory only is not found by a partner.
    hidden = _contact_body(net["local_ref"], reference=2)
    missing = await client.post(
        "/api/v1/network/contacts",
        content=hidden,
        headers=network.signature_headers(net["raw"], hidden),
    )
    assert missing.status_code == 404


async def test_pages_are_for_the_local_pools_viewers_only(client, session) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    candidate = await f.candidate(session)
    stranger = await f.user(session, Role.RECRUITER)  # no approved booth anywhere
    await db.commit(session)
    for person in (candidate, stranger):
        await login(client, person.email, f.PASSWORD)
        for path in ("/network/pool", "/network/pool/requests", f"/network/pool/1/{net['ref']}"):
            assert (await client.get(path)).status_code == 403, path
        await client.post("/logout", data={"csrf_token": await csrf(client, "/")})
    await login(client, net["recruiter"].email, f.PASSWORD)
    page = await client.get("/network/pool")
    assert page.status_code == 200
    assert "Montluçon" in page.text
    # Another edition's partner is not theirs.
    other = await f.edition(session, title="Forum de Lyon")
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    _k, raw = await key(session, other, *network.SCOPES)
    elsewhere, _issued = await network.register(
        session, edition=other, base_url="http://127.0.0.2", territory="Lyon", key=raw, by=organiser
    )
    await db.commit(session)
    assert (await client.get(f"/network/pool/{elsewhere.id}/{net['ref']}")).status_code == 404


async def _shown(app: Any, edition_id: int) -> tuple[bool, str | None]:
    """Whether the edition's search shows the partners' offers, and its offers version, as a
    request would read them."""
    async with app.state.read_sessions() as read:
        shown = await network.shows_network(read, edition_id)
        return shown, await offers_version.current(read, edition_id)


async def test_network_offers_switch_per_edition_and_version(app, session) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    booth, _recruiter = await f.booth(session, edition_=net["origin"])
    await f.offer(session, booth_=booth, title="Électricien de maintenance")
    await db.commit(session)
    ours = net["ours"].id

    shown, before = await _shown(app, ours)
    assert shown is True
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 1
    shown, after = await _shown(app, ours)
    assert after is not None and after != before  # a pull changes what the search answers
    edition = await session.get(Edition, ours)
    assert await network.set_offers_shown(session, edition, shown=False) is True
    await db.commit(session)
    shown, off = await _shown(app, ours)
    assert (shown, off != after) == (False, True)
    assert await network.set_offers_shown(session, edition, shown=False) is False
    assert await network.set_offers_shown(session, edition, shown=True) is True
    await db.commit(session)
    assert (await _shown(app, ours))[0] is True


async def test_a_partner_turned_off_leaves_the_search_at_once(app, session) -> None:  # type: ignore[no-untyped-def]
    """Its offers are no longer searched, even when none was held yet: the answer the search
    pages keep (fair.search.cache) goes with the version the change raises."""
    net = await _network(session)
    ours = net["ours"].id

    shown, on = await _shown(app, ours)
    assert shown is True
    partner = await session.get(NetworkPartner, net["partner"].id)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    await network.set_active(session, partner, active=False, by=organiser)
    await db.commit(session)
    shown, off = await _shown(app, ours)
    assert (shown, off != on) == (False, True)


async def test_organiser_turns_network_offers_off_and_on(client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER)
    ours = await f.edition(session, by=organiser)
    origin = await f.edition(session)
    _k, raw = await key(session, origin, *network.SCOPES)
    await network.register(
        session, edition=ours, base_url=BASE, territory="Vichy", key=raw, by=organiser
    )
    other = await f.edition(session)
    await db.commit(session)
    await login(client, organiser.email, f.PASSWORD)
    path = f"/organiser/editions/{ours.id}/network"
    token = await csrf(client, path)
    off = await client.post(f"{path}/offers-shown", data={"csrf_token": token, "shown": "0"})
    assert off.status_code == 303
    assert (await fetch.get(Edition, ours.id)).network_offers is False
    page = await client.get(path)
    assert "Les offres des partenaires sont désactivées pour cette édition" in page.text
    assert "Activer les offres du réseau pour cette édition" in page.text
    on = await client.post(f"{path}/offers-shown", data={"csrf_token": token, "shown": "1"})
    assert on.status_code == 303
    assert (await fetch.get(Edition, ours.id)).network_offers is True
    # Without the CSRF token, or on another organiser's edition: refused, nothing changes.
    forged = await client.post(f"{path}/offers-shown", data={"shown": "0"})
    assert forged.status_code == 403
    elsewhere = await client.post(
        f"/organiser/editions/{other.id}/network/offers-shown",
        data={"csrf_token": token, "shown": "0"},
    )
    assert elsewhere.status_code == 403
    assert (await fetch.get(Edition, other.id)).network_offers is True
    assert (await fetch.get(Edition, ours.id)).network_offers is True


async def test_search_page_refuses_bad_filters_and_says_when_the_partner_is_down(  # type: ignore[no-untyped-def]
    client, session
) -> None:
    net = await _network(session)
    await login(client, net["recruiter"].email, f.PASSWORD)
    empty = await client.get("/network/pool")
    assert empty.status_code == 200 and "profil trouvé" not in empty.text
    # Checked here before any call: the reader's language, the field named.
    bad = await client.get("/network/pool", params={"radius_km": "10"})
    assert bad.status_code == 422
    assert "Choisissez la commune à partir de laquelle la distance est mesurée." in bad.text
    # The partner's address answers nothing (nothing listens on 127.0.0.1:80 here): a clear
    # page, not a 500.
    down = await client.get("/network/pool", params={"q": "électricien"})
    assert down.status_code == 502
    assert "La plateforme partenaire n'a pas répondu comme prévu" in down.text


async def test_refused_parameters_come_after_the_key(client, session) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    for params in ({"radius_km": "abc"}, [("page", "1"), ("page", "2")]):
        anonymous = await client.get("/api/v1/network/pool", params=params)
        assert anonymous.status_code == 401, params
        keyed = await client.get("/api/v1/network/pool", params=params, headers=bearer(net["raw"]))
        assert (keyed.status_code, keyed.json()["error"]["code"]) == (400, "input.invalid")
    wrong = await client.get(
        "/api/v1/network/offers", params={"limit": "0"}, headers=bearer("fair_nokey000_" + "x" * 32)
    )
    assert wrong.status_code == 401


class _LostAnswers(httpx.AsyncBaseTransport):
    """The partner (this app) receives the first `lose` contact requests and acts on them;
    their answers are lost on the way back (a read timeout), as on a slow network."""

    def __init__(self, app: Any, lose: int) -> None:
        self.inner = _transport(app)
        self.lose = lose

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.lose and request.url.path == "/api/v1/network/contacts":
            self.lose -= 1
            await response.aread()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


async def test_a_lost_answer_keeps_the_request_and_hands_no_one_elses_details(  # type: ignore[no-untyped-def]
    app, session, fetch
) -> None:
    """A asks about Léa; the partner keeps it but its answer is lost. The request stays here
    unsent (not deleted: its id, the partner's reference, must not name B's next request) and
    is sent again with the same reference; B asks about Paul. When Léa accepts, A gets her
    details and B gets nothing of hers."""
    net = await _network(session)
    other = await recruiter_at(session, net["ours"], can_log_in=False)
    paul = await pool_candidate(session, name="Paul Lenoir", editions_=(net["origin"],))
    await cv_pool.give(session, paul, level=PoolLevel.NETWORK, months=3, edition_id=None)
    await db.commit(session)
    paul_ref = await session.scalar(select(CvText.ref).where(CvText.user_id == paul.id))
    other_viewer = await cv_pool.viewer_of(session, other)
    await db.commit(session)
    sessions = app.state.write_sessions
    goal = network_pool.target(net["partner"])
    lossy = _LostAnswers(app, lose=1)
    with pytest.raises(FairError) as pending:
        await network_pool.ask(
            sessions, goal, net["viewer"], net["recruiter"], net["ref"], "Bonjour.", transport=lossy
        )
    assert (pending.value.status, pending.value.code) == (502, "network.pending")
    kept = await fetch.scalar(select(NetworkContact))
    assert (kept.ref, kept.remote_id, kept.status) == (net["ref"], None, "requested")
    theirs = await fetch.scalar(select(ContactRequest))
    assert theirs.candidate_id == net["opened"].id
    # B asks: a new id, never the one the partner keeps for A's request.
    second = await network_pool.ask(
        sessions, goal, other_viewer, other, paul_ref, "Bonjour Paul.", transport=lossy
    )
    assert second.id != kept.id
    # The next round sends A's request again, with its reference: the partner's one request.
    assert await network_pool.contact_round(sessions, transport=lossy) == 0
    kept = await fetch.get(NetworkContact, kept.id)
    assert kept.remote_id == theirs.id
    assert len(await fetch.scalars(select(ContactRequest))) == 2
    candidate = await session.get(User, net["opened"].id)
    await contact_requests.answer(session, candidate, request_id=theirs.id, accept=True)
    await db.commit(session)
    assert await network_pool.contact_round(sessions, transport=lossy) == 1
    rows = {(r.id, r.status, r.email) for r in await fetch.scalars(select(NetworkContact))}
    assert rows == {(kept.id, "accepted", candidate.email), (second.id, "requested", "")}


async def test_a_known_reference_for_another_request_is_refused(client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)

    async def send(body: bytes) -> httpx.Response:
        headers = network.signature_headers(net["raw"], body)
        return await client.post("/api/v1/network/contacts", content=body, headers=headers)

    first = await send(_contact_body(net["ref"], reference=7))
    assert first.status_code == 201
    # The same reference for another organisation of the partner: not the same request.
    data = json.loads(_contact_body(net["ref"], reference=7))
    data["viewer"]["organisation_key"] = "structure:5"
    other = await send(json.dumps(data).encode())
    assert (other.status_code, other.json()["error"]["code"]) == (409, "contact.reference_taken")
    # Another profile under it: refused too; the same request again: the same one back.
    paul = await pool_candidate(session, name="Paul Lenoir", editions_=(net["origin"],))
    await cv_pool.give(session, paul, level=PoolLevel.NETWORK, months=3, edition_id=None)
    await db.commit(session)
    paul_ref = await session.scalar(select(CvText.ref).where(CvText.user_id == paul.id))
    await db.commit(session)
    moved = await send(_contact_body(paul_ref, reference=7))
    assert (moved.status_code, moved.json()["error"]["code"]) == (409, "contact.reference_taken")
    again = await send(_contact_body(net["ref"], reference=7))
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    assert len(await fetch.scalars(select(ContactRequest))) == 1


async def test_the_same_new_reference_twice_at_once_is_one_request(client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    """A partner's retry racing its first try (the same new reference, at once): both answer
    the one request, none a 500 on the unique constraint."""
    net = await _network(session)
    body = _contact_body(net["ref"], reference=11)

    async def send() -> httpx.Response:
        headers = network.signature_headers(net["raw"], body)
        return await client.post("/api/v1/network/contacts", content=body, headers=headers)

    answers = await asyncio.gather(*(send() for _ in range(4)))
    ids = {a.json().get("id") for a in answers}
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len(ids) == 1
    assert [r.id for r in await fetch.scalars(select(ContactRequest))] == list(ids)


async def test_a_declined_candidate_hears_from_no_organisation_of_the_key(  # type: ignore[no-untyped-def]
    client, session, fetch
) -> None:
    net = await _network(session)

    async def send(reference: int, organisation_key: str) -> httpx.Response:
        data = json.loads(_contact_body(net["ref"], reference=reference))
        data["viewer"]["organisation_key"] = organisation_key
        body = json.dumps(data).encode()
        headers = network.signature_headers(net["raw"], body)
        return await client.post("/api/v1/network/contacts", content=body, headers=headers)

    first = await send(1, "structure:4")
    assert first.status_code == 201
    candidate = await session.get(User, net["opened"].id)
    await contact_requests.answer(session, candidate, request_id=first.json()["id"], accept=False)
    await db.commit(session)
    renamed = await send(2, "structure:5")
    assert (renamed.status_code, renamed.json()["error"]["code"]) == (409, "contact.declined")
    clock.set_now(f.NOON + contact_requests.DECLINED_WINDOW + timedelta(days=1))
    user = await session.get(User, net["opened"].id)
    await cv_pool.give(session, user, level=PoolLevel.NETWORK, months=3, edition_id=None)
    await db.commit(session)
    later = await send(3, "structure:5")
    assert later.status_code == 201


async def test_a_new_key_still_pulls_the_answers_to_earlier_requests(  # type: ignore[no-untyped-def]
    app, client, session, fetch
) -> None:
    """The origin disables its partner, then enables it again: a new key is issued to it; the
    answers to what the partner sent with the old key come with the new one."""
    net = await _network(session)
    sent = await _ask(app, net)
    there = await session.get(ContactRequest, sent.remote_id)
    candidate = await session.get(User, net["opened"].id)
    await contact_requests.answer(session, candidate, request_id=there.id, accept=False)
    at_origin = await session.scalar(
        select(NetworkPartner).where(NetworkPartner.edition_id == net["origin"].id)
    )
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    await network.set_active(session, at_origin, active=False, by=organiser)
    new_raw = await network.set_active(session, at_origin, active=True, by=organiser)
    await db.commit(session)
    body = json.dumps({"cursor": "", "limit": 10}).encode()
    pulled = await client.post(
        "/api/v1/network/contacts/changes",
        content=body,
        headers=network.signature_headers(new_raw, body),
    )
    assert pulled.status_code == 200
    assert [(i["reference"], i["status"]) for i in pulled.json()["items"]] == [
        (sent.id, "declined")
    ]
    # A new request of the same organisation under the same consent: still "declined".
    again = _contact_body(net["ref"], reference=99)
    data = json.loads(again)
    data["viewer"]["organisation_key"] = network_pool.organisation_key(net["viewer"])
    again = json.dumps(data).encode()
    refused = await client.post(
        "/api/v1/network/contacts", content=again, headers=network.signature_headers(new_raw, again)
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "contact.declined")


class _SlowPartner:
    """A partner instance on loopback that answers an empty page of the pool once `go` is set,
    noting how many of the app's database connections were taken when each request came."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.go = asyncio.Event()
        self.taken: list[int] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.taken.append(self.app.state.engine.pool.checkedout())
        await self.go.wait()
        body = b'{"total": 0, "page": 1, "profiles": []}'
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


async def test_no_connection_is_held_while_a_partner_answers(  # type: ignore[no-untyped-def]
    app, client, session, monkeypatch
) -> None:
    """A page calling a slow partner gives its database connection back meanwhile; past
    MAX_CALLS calls at once, a page answers 503 with Retry-After at once."""
    net = await _network(session)
    monkeypatch.setattr(partner_http, "MAX_CALLS", 1)
    slow = _SlowPartner(app)
    async with slow as url:
        organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
        partner, _issued = await network.register(
            session,
            edition=net["ours"],
            base_url=url,
            territory="Lent",
            key=net["raw"],
            by=organiser,
        )
        await db.commit(session)
        await login(client, net["recruiter"].email, f.PASSWORD)
        params = {"partner": str(partner.id), "q": "électricien"}
        first = asyncio.create_task(client.get("/network/pool", params=params))
        for _ in range(1000):
            if slow.taken or first.done():
                break
            await asyncio.sleep(0.01)
        assert not first.done(), (await first).text[-2000:]
        assert slow.taken == [0]  # the waiting page holds no connection
        busy = await client.get("/network/pool", params=params)
        assert (busy.status_code, busy.headers["retry-after"]) == (503, "5")
        assert "Trop de requêtes vers les plateformes partenaires sont en cours" in busy.text
        slow.go.set()
        answered = await first
    assert answered.status_code == 200
    assert "Lent" in answered.text


async def test_a_partners_answer_past_the_cap_is_not_read(app, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    net = await _network(session)
    assert await _refs(app, net) == [net["ref"]]  # the page: more than 200 bytes
    monkeypatch.setattr(partner_http, "MAX_ANSWER", 200)
    with pytest.raises(FairError) as refused:
        await _refs(app, net)
    assert (refused.value.status, refused.value.code) == (502, "network.unreachable")
    # The offers' pull reads through the same cap.
    booth, _recruiter = await f.booth(session, edition_=net["origin"])
    await f.offer(session, booth_=booth, title="Électricien de maintenance")
    await db.commit(session)
    assert await network_sync.run_round(app.state.write_sessions, transport=_transport(app)) == 0
    async with app.state.read_sessions() as read:
        partner = await read.get(NetworkPartner, net["partner"].id)
        assert partner.last_error.endswith(" bytes, more than 200"), partner.last_error


async def test_handing_over_reads_in_the_same_queries_whatever_the_page(  # type: ignore[no-untyped-def]
    app, client, session
) -> None:
    """The partner's pull of answers reads the candidates' details for the whole page at once:
    three more accepted requests add only their access log's entries (a read and a write
    each), not a read of the consent, the account and the profile each."""
    net = await _network(session)

    async def ask_and_accept(candidate: User, ref: str, reference: int) -> None:
        body = _contact_body(ref, reference=reference)
        sent = await client.post(
            "/api/v1/network/contacts",
            content=body,
            headers=network.signature_headers(net["raw"], body),
        )
        assert sent.status_code == 201
        user = await session.get(User, candidate.id)
        await contact_requests.answer(session, user, request_id=sent.json()["id"], accept=True)
        await db.commit(session)

    async def pull() -> tuple[list[str], list[str]]:
        """The contacts pulled, and the statements run."""
        body = json.dumps({"cursor": "", "limit": 10}).encode()
        headers = network.signature_headers(net["raw"], body)
        with cold(app, every=True) as seen:
            answer = await client.post(
                "/api/v1/network/contacts/changes", content=body, headers=headers
            )
        return [item["contact"]["email"] for item in answer.json()["items"]], seen

    await ask_and_accept(net["opened"], net["ref"], 1)
    pulled, seen = await pull()
    assert len(pulled) == 1
    one = len(seen)
    for n in range(3):
        other = await pool_candidate(session, name=f"Candidate {n}", editions_=(net["origin"],))
        await cv_pool.give(session, other, level=PoolLevel.NETWORK, months=3, edition_id=None)
        await db.commit(session)
        ref = await session.scalar(select(CvText.ref).where(CvText.user_id == other.id))
        await db.commit(session)
        await ask_and_accept(other, ref, 2 + n)
    pulled, seen = await pull()
    assert len(pulled) == 4
    assert len(seen) - one <= 3 * 2, seen


async def test_partners_candidates_details_go_with_the_retention_period(  # type: ignore[no-untyped-def]
    app, session, fetch
) -> None:
    net = await _network(session)
    sessions = app.state.write_sessions
    sent = await _ask(app, net)
    candidate = await session.get(User, net["opened"].id)
    await contact_requests.answer(session, candidate, request_id=sent.remote_id, accept=True)
    await db.commit(session)
    assert await network_pool.contact_round(sessions, transport=_transport(app)) == 1

    async def kept() -> tuple[str, str, str, str, str]:
        here = await fetch.get(NetworkContact, sent.id)
        return here.status, here.name, here.email, here.phone, here.message

    months = settings.get().retention_months
    async with db.unit_of_work(sessions) as s:
        await retention.forget_network_contacts(s, f.NOON + timedelta(days=30 * months - 31))
    assert await kept() == ("accepted", "Léa Martin", candidate.email, "06 12 34 56 78", "Bonjour.")
    async with db.unit_of_work(sessions) as s:
        assert (
            await retention.forget_network_contacts(s, f.NOON + timedelta(days=31 * months + 1))
            == 1
        )
        assert (
            await retention.forget_network_contacts(s, f.NOON + timedelta(days=31 * months + 1))
            == 0
        )
    assert await kept() == ("accepted", "", "", "", "")


async def test_details_the_partner_no_longer_gives_are_cleared(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    """An acceptance that comes again without the contact details (the profile hidden at the
    partner since) clears those kept here."""
    net = await _network(session)
    sent = await _ask(app, net)
    candidate = await session.get(User, net["opened"].id)
    await contact_requests.answer(session, candidate, request_id=sent.remote_id, accept=True)
    await db.commit(session)
    assert (
        await network_pool.contact_round(app.state.write_sessions, transport=_transport(app)) == 1
    )
    here = await fetch.get(NetworkContact, sent.id)
    assert (here.status, here.email) == ("accepted", candidate.email)
    hidden = network_pool.ChangesOut(
        items=[
            network_pool.ChangeOut(
                id=sent.remote_id,
                reference=sent.id,
                status=ContactStatus.ACCEPTED,
                answered_at=here.answered_at,
                contact=None,
            )
        ],
        cursor="",
        more=False,
    )
    async with db.unit_of_work(app.state.write_sessions) as s:
        assert await network_pool.apply_changes(s, net["partner"].id, hidden) == 1
    here = await fetch.get(NetworkContact, sent.id)
    assert (here.status, here.name, here.email, here.phone) == ("accepted", "", "", "")
