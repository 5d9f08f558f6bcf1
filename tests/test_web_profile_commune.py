"""The candidate profile's commune of residence: a postcode or a label, homonyms refused with
the choices listed in the user's language; stored as its label (the name, with the postcode of a
homonym), so that figures per commune and EPCI read it back unambiguously."""

from __future__ import annotations

from fair import db
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import text


async def test_profile_commune_takes_a_postcode_or_a_label(client, session):  # type: ignore[no-untyped-def]
    candidate = await f.candidate(session)
    await db.commit(session)
    client.cookies.set("lang", "fr")
    await login(client, candidate.email, f.PASSWORD)
    token = await csrf(client, "/me/profile")
    profile = {"csrf_token": token, "name": "Nadia Benali"}
    refused = await client.post("/me/profile", data=profile | {"commune": "Gignac"})
    assert refused.status_code == 422
    assert (
        "Plusieurs communes s'appellent Gignac : Gignac (34150), Gignac (46600), Gignac (84400)."
    ) in text(refused.text)
    saved = await client.post("/me/profile", data=profile | {"commune": "46600"})
    assert saved.status_code == 422  # Souillac's postcode too
    saved = await client.post("/me/profile", data=profile | {"commune": "gignac (46600)"})
    assert saved.status_code == 303
    assert 'value="Gignac (46600)"' in (await client.get("/me/profile")).text
