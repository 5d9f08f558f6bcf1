"""The organiser's API keys page (fair.web.api_keys): a key created and shown once, listed with
its scopes, booth, dates and state, revoked by a CSRF-checked POST; refused forms; only the
edition's organisers; in French and in English."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from fair import api_keys, clock, db
from fair.enums import ApiScope, Role
from fair.errors import FairError
from fair.models import ApiKey
from tests import factories as f
from tests.pages import as_user, person, post, text
from tests.statements import cold

KEY_RE = re.compile(r'id="created-key" type="text" readonly value="(fair_[A-Za-z0-9_]+)"')


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def _edition(session):  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    booth, _recruiter = await f.booth(session, edition_=edition)
    return organiser, edition, booth


async def test_create_show_once_list_and_revoke(app, client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    organiser, edition, booth = await _edition(session)
    await as_user(client, session, user=organiser)
    page = f"/organiser/editions/{edition.id}/api-keys"
    empty = await client.get(page)
    assert empty.status_code == 200
    assert "No API key yet." in text(empty.text)
    assert f'href="{page}"' in (await client.get(f"/organiser/editions/{edition.id}/health")).text

    created = await post(
        client,
        page,
        page,
        name="ATS Dupont",
        scope_applications="on",
        scope_offers="on",
        booth=str(booth.id),
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    shown = text(created.text)
    assert "Copy this key now: it will not be shown again" in shown
    raw = KEY_RE.findall(created.text)
    assert len(raw) == 1
    stored = await fetch.scalars(select(ApiKey))
    assert [(k.name, k.scopes, k.booth_id, k.created_by_id) for k in stored] == [
        ("ATS Dupont", ["applications:read", "offers:write"], booth.id, organiser.id)
    ]
    async with app.state.read_sessions() as s:
        key = await api_keys.authenticate(s, raw[0], scope=ApiScope.OFFERS, edition_id=edition.id)
        assert key.id == stored[0].id

    listed = await client.get(page)
    assert KEY_RE.findall(listed.text) == []  # shown once only
    assert raw[0] not in listed.text
    row = text(listed.text).split("Keys of this edition")[1].split("Create a key")[0]
    assert row.strip() == (
        f"Name Scopes Booth Created Last used State ATS Dupont fair_{stored[0].prefix}_… "
        f"Write the booth's offers Read the booth's applications (ATS) {booth.employer.name} "
        "3/10/26, 12:00 PM Never Revoke"
    )

    revoke = f"{page}/{stored[0].id}/revoke"
    assert (await client.post(revoke, data={"csrf_token": "forged"})).status_code == 403
    clock.set_now(f.NOON + timedelta(hours=1))
    done = await post(client, page, revoke)
    assert (done.status_code, done.headers["location"]) == (303, page)
    after = text((await client.get(page)).text)
    assert "The key ATS Dupont is revoked: it no longer opens the API." in after
    assert "Revoked on 3/10/26, 1:00 PM" in after
    async with app.state.read_sessions() as s:
        with pytest.raises(FairError) as caught:
            await api_keys.authenticate(s, raw[0], scope=ApiScope.OFFERS)
    assert caught.value.code == "api.key_invalid"


async def test_refused_forms_say_why(client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    organiser, edition, _booth = await _edition(session)
    await as_user(client, session, user=organiser)
    page = f"/organiser/editions/{edition.id}/api-keys"
    refused = await post(client, page, page, name="", scope_applications="on", booth="")
    assert refused.status_code == 422
    summary = text(refused.text).split("There is a problem")[1].split("Name (required)")[0]
    assert summary.strip() == (
        "Give the key a name of at most 120 characters (who uses it, for what)."
    )
    # Field errors are collected by the form first; then the domain's.
    refused = await post(client, page, page, name="ATS", scope_applications="on", booth="")
    assert refused.status_code == 422
    assert "Choose the booth this key acts for." in text(refused.text)
    refused = await post(client, page, page, name="Site")
    assert "Choose at least one scope." in text(refused.text)
    assert await fetch.scalars(select(ApiKey)) == []


async def test_only_the_editions_organisers(app, make_client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    organiser, edition, booth = await _edition(session)
    key, _raw = await api_keys.create(
        session,
        edition=edition,
        name="Figures",
        scopes=[ApiScope.FIGURES],
        booth_id=None,
        by=organiser,
    )
    other = await f.user(session, Role.ORGANISER, locale="en")
    recruiter = await f.user(session, Role.RECRUITER, locale="en")
    await db.commit(session)
    page = f"/organiser/editions/{edition.id}/api-keys"
    for user in (other, recruiter):
        client = await person(make_client, user)
        assert (await client.get(page)).status_code == 403
        token_page = "/account/profile" if user is recruiter else "/organiser"
        refused = await post(client, token_page, f"{page}/{key.id}/revoke")
        assert refused.status_code == 403
    owner = await person(make_client, organiser)
    other_edition = await f.edition(session, by=organiser)
    await db.commit(session)
    wrong = f"/organiser/editions/{other_edition.id}/api-keys/{key.id}/revoke"
    assert (await post(owner, page, wrong)).status_code == 404
    assert [k.revoked_at for k in await fetch.scalars(select(ApiKey))] == [None]


async def test_in_french_with_the_audit_of_uses(client, session) -> None:  # type: ignore[no-untyped-def]
    organiser, edition, booth = await _edition(session)
    key, _raw = await api_keys.create(
        session,
        edition=edition,
        name="ATS",
        scopes=[ApiScope.APPLICATIONS],
        booth_id=booth.id,
        by=organiser,
    )
    await api_keys.record_use(session, key, what="booth_applications", rows=4)
    await as_user(client, session, user=organiser)
    client.cookies.set("lang", "fr")
    shown = text((await client.get(f"/organiser/editions/{edition.id}/api-keys")).text)
    assert "Clés d'API" in shown
    uses = shown.split("Données personnelles lues avec une clé")[1]
    assert uses.strip().startswith(
        f"Quand Clé Stand Candidatures 10/03/2026 12:00 ATS {booth.employer.name} 4"
    )


async def test_a_booths_own_keys_for_its_recruiters(make_client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    recruiter = await f.user(session, Role.RECRUITER, locale="en")
    booth, _ = await f.booth(session, edition_=edition, recruiter=recruiter)
    other_booth, other_recruiter = await f.booth(session, edition_=edition)
    await api_keys.create(
        session,
        edition=edition,
        name="Ville",
        scopes=[ApiScope.FIGURES],
        booth_id=None,
        by=organiser,
    )
    theirs, _raw = await api_keys.create(
        session,
        edition=edition,
        name="Autre ATS",
        scopes=[ApiScope.OFFERS],
        booth_id=other_booth.id,
        by=organiser,
    )
    await db.commit(session)
    client = await person(make_client, recruiter)
    page = f"/recruiter/booths/{booth.id}/api-keys"
    assert f'href="{page}"' in (await client.get(f"/recruiter/booths/{booth.id}")).text
    shown = await client.get(page)
    assert shown.status_code == 200
    assert "No API key yet." in text(shown.text)  # neither the edition's nor another booth's
    assert 'name="scope_figures"' not in shown.text and 'name="booth"' not in shown.text
    created = await post(
        client, page, page, name="Mon ATS", scope_applications="on", scope_figures="on"
    )
    assert created.status_code == 200
    raw = KEY_RE.findall(created.text)
    assert len(raw) == 1
    mine = await fetch.scalar(select(ApiKey).where(ApiKey.name == "Mon ATS"))
    assert (mine.booth_id, mine.scopes, mine.created_by_id) == (
        booth.id,
        ["applications:read"],  # the edition's scopes are not offered to a booth
        recruiter.id,
    )
    listed = text((await client.get(page)).text)
    assert "Mon ATS" in listed and "Autre ATS" not in listed and "Ville" not in listed
    # Another booth's key does not exist here; another booth's recruiter may not come.
    other_key = f"/recruiter/booths/{booth.id}/api-keys/{theirs.id}/revoke"
    assert (await post(client, page, other_key)).status_code == 404
    stranger = await person(make_client, other_recruiter)
    assert (await stranger.get(page)).status_code == 403
    assert (await post(client, page, f"{page}/{mine.id}/revoke")).status_code == 303
    assert [
        k.name for k in await fetch.scalars(select(ApiKey).where(ApiKey.revoked_at.is_not(None)))
    ] == ["Mon ATS"]
    # The organisers see it among the edition's keys.
    owner = await person(make_client, organiser)
    edition_page = text((await owner.get(f"/organiser/editions/{edition.id}/api-keys")).text)
    assert "Mon ATS" in edition_page and "Autre ATS" in edition_page


async def test_the_page_reads_a_fixed_number_of_statements(app, client, session) -> None:  # type: ignore[no-untyped-def]
    organiser, edition, _booth = await _edition(session)
    await as_user(client, session, user=organiser)
    page = f"/organiser/editions/{edition.id}/api-keys"

    async def keys_and_uses(n: int) -> None:
        for i in range(n):
            made_booth, _ = await f.booth(session, edition_=edition)
            made, _raw = await api_keys.create(
                session,
                edition=edition,
                name=f"Clé {i}",
                scopes=[ApiScope.APPLICATIONS],
                booth_id=made_booth.id,
                by=organiser,
            )
            await api_keys.record_use(session, made, what="booth_applications", rows=i)
        await db.commit(session)

    await keys_and_uses(1)
    with cold(app) as few:
        assert (await client.get(page)).status_code == 200
    await keys_and_uses(6)
    with cold(app) as many:
        shown = await client.get(page)
    assert len(many) == len(few), many
    assert shown.text.count('aria-label="Revoke the key') == 7


async def test_the_network_scopes_come_only_with_a_registered_partner(  # type: ignore[no-untyped-def]
    client, session, fetch
) -> None:
    """An organiser cannot give a key of theirs the network's scopes (and pose as a partner
    instance searching the CV pool): the form offers none, refuses one posted; a key that has
    them without being an active partner's opens no network endpoint."""
    organiser, edition, _booth = await _edition(session)
    await as_user(client, session, user=organiser)
    page = f"/organiser/editions/{edition.id}/api-keys"
    shown = await client.get(page)
    assert 'name="scope_public"' in shown.text
    assert [n for n in re.findall(r'name="(scope_[a-z_]+)"', shown.text) if "network" in n] == []
    forged = await post(client, page, page, name="Moi", scope_public="on", scope_network_pool="on")
    assert forged.status_code == 422
    assert "The network scopes are given by registering a partner instance" in text(forged.text)
    assert await fetch.scalars(select(ApiKey)) == []
    with pytest.raises(FairError) as refused:
        await api_keys.create(
            session,
            edition=edition,
            name="Moi",
            scopes=[ApiScope.NETWORK_POOL],
            booth_id=None,
            by=organiser,
        )
    assert refused.value.code == "api.network_scope"
    _key, raw = await api_keys.create(
        session,
        edition=edition,
        name="Moi",
        scopes=[ApiScope.NETWORK_POOL, ApiScope.NETWORK_OFFERS],
        booth_id=None,
        by=organiser,
        network=True,
    )
    await db.commit(session)
    for path in ("/api/v1/network/pool", "/api/v1/network/offers"):
        answer = await client.get(path, headers={"Authorization": f"Bearer {raw}"})
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "api.scope_missing")
