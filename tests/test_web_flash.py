"""Every save says it was saved: one message on the next page, once, announced through a
role="status" region that the page carries empty (static/toasts.js moves the message into it)."""

from __future__ import annotations

import json
import re

from fair import db
from fair.enums import Role
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import OFFER_FORM

# The toasts (templates/_ui.html): the live region empty, the messages beside it, the script.
EMPTY_REGION = '<div class="flash-live" role="status" data-toasts-live></div>'
FLASH_RE = re.compile(
    rf'<div class="flash" data-toasts>{EMPTY_REGION}((?:<p class="alert ok" data-toast>[^<]*</p>)+)'
    r'</div><script src="/static/toasts\.js(?:\?[^"]*)?" defer></script>'
)


def flashes(page: str) -> list[str]:
    """The saved-messages a page shows (beside its one status region, which comes empty)."""
    found = FLASH_RE.findall(page)
    assert len(found) <= 1, found
    assert page.count('class="flash"') == len(found)  # no toasts in another form
    return re.findall(r'<p class="alert ok" data-toast>([^<]*)</p>', found[0]) if found else []


async def recruiter_at_booth(client, session, lang: str = "en"):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await db.commit(session)
    client.cookies.set("lang", lang)
    await login(client, recruiter.email, f.PASSWORD)
    return booth


async def test_created_offer_is_announced_once(client, session):
    booth = await recruiter_at_booth(client, session)
    token = await csrf(client, f"/recruiter/booths/{booth.id}/offers/new")

    response = await client.post(
        f"/recruiter/booths/{booth.id}/offers/new", data={**OFFER_FORM, "csrf_token": token}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/recruiter/booths/{booth.id}"
    page = await client.get(response.headers["location"])
    assert flashes(page.text) == ["The offer “Électricien du bâtiment (H/F)” was created."]
    again = await client.get(f"/recruiter/booths/{booth.id}")
    assert flashes(again.text) == []


async def test_refused_save_announces_nothing(client, session):
    booth = await recruiter_at_booth(client, session)
    token = await csrf(client, f"/recruiter/booths/{booth.id}/offers/new")

    response = await client.post(
        f"/recruiter/booths/{booth.id}/offers/new",
        data={**OFFER_FORM, "rome_code": "Z9999", "csrf_token": token},
    )

    assert response.status_code == 422
    assert flashes(response.text) == []
    assert flashes((await client.get(f"/recruiter/booths/{booth.id}")).text) == []


async def test_edited_and_hidden_offer_and_import_are_announced_in_french(client, session):
    booth = await recruiter_at_booth(client, session, lang="fr")
    offer = await f.offer(session, booth_=booth, title="Cariste (H/F)")
    await db.commit(session)
    token = await csrf(client, f"/recruiter/offers/{offer.id}")
    edited = {**OFFER_FORM, "title": "Cariste confirmé (H/F)", "csrf_token": token}

    await client.post(f"/recruiter/offers/{offer.id}", data=edited)
    await client.post(
        f"/recruiter/offers/{offer.id}/published", data={"published": "0", "csrf_token": token}
    )
    exported = (await client.get(f"/recruiter/booths/{booth.id}/offers.json")).json()
    payload = json.dumps(exported).encode()
    await client.post(
        f"/recruiter/booths/{booth.id}/import",
        data={"csrf_token": token},
        files={"file": ("offres.json", payload, "application/json")},
    )

    page = await client.get(f"/recruiter/booths/{booth.id}")
    assert flashes(page.text) == [
        "L’offre « Cariste confirmé (H/F) » est enregistrée.",
        "L’offre « Cariste confirmé (H/F) » est masquée : les candidats ne la voient plus.",
        "1 offre importée.",
    ]


async def test_status_change_is_announced_with_its_label(client, session):
    booth = await recruiter_at_booth(client, session, lang="fr")
    application = await f.application(session, offer_=await f.offer(session, booth_=booth))
    await db.commit(session)
    path = f"/recruiter/applications/{application.id}"
    token = await csrf(client, path)

    response = await client.post(
        f"{path}/status", data={"status": "shortlisted", "csrf_token": token}
    )

    assert (response.status_code, response.headers["location"]) == (303, path)
    page = await client.get(path)
    assert flashes(page.text) == ["La candidature a maintenant le statut : Présélectionnée."]


async def test_booth_decision_is_announced(client, session):
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, _recruiter = await f.booth(session, edition_=edition, approve=False)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, organiser.email, f.PASSWORD)
    token = await csrf(client, f"/organiser/editions/{edition.id}/booths")

    response = await client.post(
        f"/organiser/booths/{booth.id}/decision", data={"decision": "approve", "csrf_token": token}
    )

    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert flashes(page.text) == [f"The booth of {booth.employer.name} is approved."]


async def test_saved_profile_is_announced(client, session):
    candidate = await f.candidate(session)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, candidate.email, f.PASSWORD)
    token = await csrf(client, "/me/profile")

    response = await client.post(
        "/me/profile", data={"name": "Nadia Benali", "commune": "Lattes", "csrf_token": token}
    )

    assert (response.status_code, response.headers["location"]) == (303, "/me/profile")
    assert flashes((await client.get("/me/profile")).text) == ["Your profile is saved."]


async def test_sent_application_is_announced(client, session):
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    candidate = await f.candidate(session)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, candidate.email, f.PASSWORD)
    token = await csrf(client, f"/offers/{offer.id}")

    response = await client.post(
        f"/offers/{offer.id}/apply", data={"message": "Bonjour", "csrf_token": token}
    )

    assert (response.status_code, response.headers["location"]) == (303, "/me/applications")
    assert flashes((await client.get("/me/applications")).text) == [
        "Your application has been sent."
    ]


async def test_a_page_fetched_by_a_script_leaves_the_message_for_the_next_page(client, session):
    candidate = await f.candidate(session)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, candidate.email, f.PASSWORD)
    token = await csrf(client, "/me/profile")
    await client.post("/me/profile", data={"name": "Nadia", "commune": "", "csrf_token": token})

    background = await client.get("/me/profile", headers={"sec-fetch-dest": "empty"})
    page = await client.get("/me/profile", headers={"sec-fetch-dest": "document"})

    assert (flashes(background.text), flashes(page.text)) == ([], ["Your profile is saved."])


async def test_the_live_region_comes_empty_with_the_message_beside_it(client, session):
    """Screen readers announce a change in a live region, not its content at load: the page has
    the region empty and the message in a data-toast element that static/toasts.js moves in."""
    candidate = await f.candidate(session)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, candidate.email, f.PASSWORD)
    token = await csrf(client, "/me/profile")
    await client.post("/me/profile", data={"name": "Nadia", "commune": "", "csrf_token": token})

    page = (await client.get("/me/profile")).text

    start = page.index('<div class="flash"')
    shown = page[start : page.index("</script>", start) + len("</script>")]
    script = re.search(r'src="(/static/toasts\.js[^"]*)"', shown)
    assert script is not None
    assert shown == (
        f'<div class="flash" data-toasts>{EMPTY_REGION}'
        '<p class="alert ok" data-toast>Your profile is saved.</p></div>'
        f'<script src="{script.group(1)}" defer></script>'
    )
    assert (await client.get(script.group(1))).status_code == 200
    assert flashes((await client.get("/me/profile")).text) == []  # nor region nor script after
