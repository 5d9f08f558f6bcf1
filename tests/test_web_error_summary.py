"""The error summary of refused forms: each error once in it, linked to a field of the page that
shows the same message beside it (templates/_form.html; the focus is tested in Chromium)."""

from __future__ import annotations

import html
import re

from fair import db
from fair.enums import Role
from tests import factories as f
from tests.conftest import csrf, login

SUMMARY_RE = re.compile(r'<div class="alert error error-summary"[^>]*>(.*?)</div>', re.S)


def summary(page: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The summary's linked errors (field id, text) and its unlinked ones."""
    [box] = SUMMARY_RE.findall(page)
    linked = [
        (target, html.unescape(text))
        for target, text in re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', box)
    ]
    plain = [html.unescape(t) for t in re.findall(r"<li>([^<]*)</li>", box)]
    return linked, plain


def check_fields(page: str, linked: list[tuple[str, str]]) -> None:
    """Each link leads to an element of the page, whose inline message says the same, once."""
    for target, text in linked:
        assert page.count(f'id="{target}"') == 1, target
        key = target.removeprefix("f-")
        inline = re.findall(rf'<p class="field-error" id="e-{re.escape(key)}">([^<]*)</p>', page)
        assert [html.unescape(t) for t in inline] == [text], target


async def test_search_filters_errors_link_to_their_fields(client, session):
    edition = await f.edition(session)
    await db.commit(session)
    client.cookies.set("lang", "en")

    page = await client.get(
        f"/e/{edition.slug}/offers?domain=Z&contract=x&sort=y&publics=aliens&radius_km=7"
    )

    assert page.status_code == 422
    linked, plain = summary(page.text)
    assert sorted(linked) == [
        ("f-commune", "Choose the commune the distance is measured from."),
        ("f-contract", "Choose a contract type from the list."),
        ("f-domain", "Choose a job domain from the list."),
        ("f-publics", "Choose from the listed publics."),
        ("f-radius_km", "Choose a distance from the list."),
        ("f-sort", "Choose a sort order from the list."),
    ]
    assert plain == []  # "Some search filters need correcting." is not said on top of them
    check_fields(page.text, linked)


async def test_signup_role_error_links_to_its_choices(client):
    client.cookies.set("lang", "en")
    token = await csrf(client, "/signup")

    page = await client.post(
        "/signup",
        data={
            "csrf_token": token,
            "role": "admin",
            "name": "Mallory",
            "email": "mallory@example.fr",
            "password": "un mot de passe sûr",
        },
    )

    assert page.status_code == 422
    linked, plain = summary(page.text)
    assert (linked, plain) == ([("f-role", "Choose an account type.")], [])
    check_fields(page.text, linked)


async def test_an_error_of_no_field_is_said_once_unlinked(client, session):
    user = await f.candidate(session)
    await db.commit(session)
    client.cookies.set("lang", "en")
    token = await csrf(client, "/login")

    page = await client.post(
        "/login", data={"csrf_token": token, "email": user.email, "password": "wrong password"}
    )

    assert page.status_code == 400
    linked, plain = summary(page.text)
    message = (
        "Wrong e-mail address or password. A new account can log in once its address is "
        "confirmed with the link we mailed."
    )
    assert (linked, plain) == ([], [message])
    assert page.text.count(message) == 1


async def test_offer_form_errors_each_once_beside_their_field(client, session):
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, recruiter.email, f.PASSWORD)
    path = f"/recruiter/booths/{booth.id}/offers/new"

    page = await client.post(path, data={"csrf_token": await csrf(client, path)})

    assert page.status_code == 422
    linked, plain = summary(page.text)
    assert [target for target, _text in linked] == [
        "f-title",
        "f-description",
        "f-rome_code",
        "f-contract",
        "f-working_time",
        "f-experience",
        "f-commune",
    ]
    assert plain == []
    check_fields(page.text, linked)


async def test_moderation_error_is_said_once_without_a_link(client, session):
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    camille = await f.candidate(session)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, organiser.email, f.PASSWORD)
    path = f"/organiser/editions/{edition.id}/moderation"

    page = await client.post(
        f"{path}/mute",
        data={
            "csrf_token": await csrf(client, path),
            "user_id": str(camille.id),
            "length": "15m",
            "reason": "x" * 501,
        },
    )

    assert page.status_code == 422
    linked, plain = summary(page.text)
    assert (linked, plain) == ([], ["Keep the reason to 500 characters at most."])
