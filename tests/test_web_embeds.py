"""The embeddable widget over HTTP (fair/web/embeds.py, fair.embeds): the sites an organiser
lists, the widget's pages framed by exactly those (Content-Security-Policy frame-ancestors),
without any cookie, and every other page still framed by nobody."""

from __future__ import annotations

import re

import httpx
import pytest
from markupsafe import escape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import clock, db, embeds, webconferences
from fair.enums import Role
from fair.errors import Invalid
from fair.web.middleware import CSP, SecurityHeaders, policy
from tests import factories as f
from tests.conftest import csrf
from tests.pages import as_user, text

SITES = (
    "https://www.ville.example\nhttps://mission-locale.example:8443/\n\nhttps://www.ville.example"
)
LISTED = ["https://mission-locale.example:8443", "https://www.ville.example"]


@pytest.mark.parametrize(
    ("given", "local", "expected"),
    [
        ("https://www.ville.fr", False, "https://www.ville.fr"),
        (" HTTPS://Www.Ville.FR/ ", False, "https://www.ville.fr"),
        ("https://a.example:443", False, "https://a.example"),
        ("https://a.example:8443", False, "https://a.example:8443"),
        ("https://xn--mairie-sb-7ya.example", False, "https://xn--mairie-sb-7ya.example"),
        ("http://127.0.0.1:8123", True, "http://127.0.0.1:8123"),
        ("http://localhost", True, "http://localhost"),
    ],
)
def test_an_origin_is_read_in_its_one_form(given: str, local: bool, expected: str) -> None:
    assert embeds.check_origin(given, local=local) == expected


@pytest.mark.parametrize(
    ("given", "local", "message"),
    [
        ("http://www.ville.fr", False, "%(origin)s: the site must use https://."),
        ("http://127.0.0.1:8123", False, "%(origin)s: the site must use https://."),
        ("http://10.0.0.1", True, "%(origin)s: the site must use https://."),
        (
            "https://www.ville.fr/emploi",
            False,
            "%(origin)s: only the site's origin, without a path: its scheme, host and port.",
        ),
        (
            "https://a.example:99999",
            False,
            "%(origin)s: the port must be a number from 1 to 65535.",
        ),
        *(
            (
                given,
                True,
                "%(origin)s is not a site's origin: write https:// then its host name, and a "
                "port if it has one (for example https://www.ville.fr).",
            )
            for given in (
                "www.ville.fr",
                "https://*.ville.fr",
                "https://user@ville.fr",
                "ftp://ville.fr",
                "https://",
                "'self'",
                "https://ville.fr https://evil.example",
                "https://ville.fr;script-src",
            )
        ),
    ],
)
def test_what_is_not_an_origin_is_refused_saying_why(given: str, local: bool, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        embeds.check_origin(given, local=local)
    assert refused.value.message == message


def test_a_list_keeps_each_origin_once_and_names_the_wrong_line() -> None:
    assert embeds.parse_list(SITES) == ["https://www.ville.example", LISTED[0]]
    with pytest.raises(Invalid) as refused:
        embeds.parse_list("https://ok.example\nhttp//typo.example")
    assert (refused.value.params, refused.value.fields) == (
        {"origin": "http//typo.example"},
        {"origins": refused.value.message},
    )
    with pytest.raises(Invalid) as too_many:
        embeds.parse_list("\n".join(f"https://s{n}.example" for n in range(21)))
    assert too_many.value.fields == {"origins": "%(max)s sites at most may show the widget."}


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        ({}, {"content-security-policy": CSP, "x-frame-options": "DENY"}),
        (  # a CV: its own policy, saying nothing of framing, keeps X-Frame-Options
            {"content-security-policy": "default-src 'none'; sandbox"},
            {"content-security-policy": "default-src 'none'; sandbox", "x-frame-options": "DENY"},
        ),
        (
            {"content-security-policy": policy("https://a.example")},
            {"content-security-policy": policy("https://a.example")},
        ),
    ],
)
async def test_only_an_answer_naming_its_frame_ancestors_goes_without_x_frame_options(
    own: dict[str, str], expected: dict[str, str]
) -> None:
    async def answer(request: Request) -> Response:
        return Response("", headers=own)

    app = Starlette(routes=[Route("/", answer)], middleware=[Middleware(SecurityHeaders)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/")
    framing = {"content-security-policy", "x-frame-options"}
    assert {k: v for k, v in response.headers.items() if k in framing} == expected


async def _fair(session):  # type: ignore[no-untyped-def]
    """An edition with a booth, two offers and a talk tomorrow; its organiser."""
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser, title='Forum "Cap" & co')
    booth, recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Électricien du bâtiment (H/F)")
    await f.offer(session, booth_=booth, title="Cariste (H/F)", rome_code="N1101")
    await webconferences.schedule(
        session, by=recruiter, edition=edition, booth=booth, data=f.talk([recruiter])
    )
    await db.commit(session)
    return edition, booth, organiser


def _no_cookie(response) -> None:  # type: ignore[no-untyped-def]
    assert "set-cookie" not in response.headers
    assert "cookie" not in response.headers.get("vary", "").lower()


async def test_the_widget_is_framed_by_the_listed_sites_only_and_sets_no_cookie(  # type: ignore[no-untyped-def]
    client, make_client, session
):
    edition, booth, organiser = await _fair(session)
    await as_user(client, session, user=organiser)
    path = f"/organiser/editions/{edition.id}/embed"
    page = await client.get(path)
    assert f'href="{path}"' in page.text  # in the organiser's navigation
    src = f"http://127.0.0.1:8000/embed/e/{edition.slug}/offers"
    snippet = f'<iframe src="{src}" title="Offer search · Forum &quot;Cap&quot; &amp; co"'
    assert str(escape(snippet)) in page.text  # shown as text, to be copied
    saved = await client.post(path, data={"csrf_token": await csrf(client, path), "origins": SITES})
    assert (saved.status_code, saved.headers["location"]) == (303, path)
    again = await client.get(path)
    assert "https://mission-locale.example:8443\nhttps://www.ville.example</textarea>" in again.text

    widgets = {
        f"/embed/e/{edition.slug}/offers": ["Cariste (H/F)", "Électricien du bâtiment (H/F)"],
        f"/embed/e/{edition.slug}/offers?q=cariste": ["Cariste (H/F)"],
        f"/embed/e/{edition.slug}/booths/{booth.id}": [
            "Cariste (H/F)",
            "Électricien du bâtiment (H/F)",
        ],
        f"/embed/e/{edition.slug}/programme": ["Réussir son entretien en visio"],
    }
    # A visitor, and the organiser whose session cookie goes with the request: neither is
    # sent a cookie, and neither is recognised (the widget shows nobody's account).
    for visitor in (make_client(), client):
        for url, titles in widgets.items():
            response = await visitor.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-security-policy"] == policy(" ".join(LISTED))
            assert "x-frame-options" not in response.headers
            _no_cookie(response)
            shown = re.findall(
                r'<h[24]><a href="[^"]+" target="_blank" rel="noopener">([^<]+)<', response.text
            )
            assert sorted(shown) == titles, url
            assert "Log out" not in response.text and "csrf" not in response.text

    # Every other page: framed by nobody, as before.
    for url in ("/", f"/e/{edition.slug}/offers", path):
        response = await client.get(url)
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-frame-options"] == "DENY"


async def test_no_site_listed_no_frame_and_unknown_pages_are_the_widgets_own(  # type: ignore[no-untyped-def]
    make_client, session
):
    edition, booth, _organiser = await _fair(session)
    other = await f.edition(session)
    await db.commit(session)
    visitor = make_client()
    response = await visitor.get(f"/embed/e/{edition.slug}/offers?lang=en")
    assert response.headers["content-security-policy"] == policy("'none'")
    assert '<html lang="en">' in response.text
    assert '<input type="hidden" name="lang" value="en">' in response.text
    assert 'href="/static/embed.css?v=' in response.text
    _no_cookie(response)
    for url in (
        "/embed/e/nowhere/offers",
        f"/embed/e/{other.slug}/booths/{booth.id}",
        f"/embed/e/{edition.slug}/booths/999999",
    ):
        missing = await visitor.get(url + "?lang=en")
        assert missing.status_code == 404, url
        assert missing.headers["content-security-policy"] == policy("'none'")
        _no_cookie(missing)
        assert "Page not found" in text(missing.text)
    refused = await visitor.get(f"/embed/e/{edition.slug}/offers?contract=nope&lang=en")
    assert refused.status_code == 422
    assert "Choose a contract type from the list." in text(refused.text)
    _no_cookie(refused)


async def test_only_the_editions_organisers_list_sites_and_mistakes_are_shown(  # type: ignore[no-untyped-def]
    client, make_client, session
):
    edition, _booth, organiser = await _fair(session)
    path = f"/organiser/editions/{edition.id}/embed"
    stranger = make_client()
    await as_user(stranger, session)  # an organiser of no edition of theirs
    assert (await stranger.get(path)).status_code == 403
    await as_user(client, session, user=organiser)
    token = await csrf(client, path)
    refused = await client.post(path, data={"csrf_token": token, "origins": "http://ville.fr/x"})
    assert refused.status_code == 422
    assert "http://ville.fr/x: only the site's origin, without a path" in text(refused.text)
    assert await embeds.origins(session, edition.id) == []


async def test_the_widgets_documentation_is_public_and_linked(client, session):  # type: ignore[no-untyped-def]
    """/widget documents the three widgets with snippets to copy (the fair's own address and
    script in them), in French and English; the organiser's widget page and the API
    documentation link to it."""
    edition, _booth, organiser = await _fair(session)
    shown = await client.get("/widget")
    assert shown.status_code == 200
    base = "http://127.0.0.1:8000"  # the tests' BASE_URL
    script = re.search(r'&lt;script src="([^"]+)"', shown.text)
    assert script is not None and re.fullmatch(
        re.escape(base) + r"/static/embed\.js\?v=[0-9a-f]+", script.group(1)
    ), script
    page = text(shown.text)
    assert "Mettre le forum sur votre site" in page
    for kind in ("offers", "booths/BOOTH", "programme"):
        assert f"{base}/embed/e/EDITION/{kind}" in page, kind
    assert (
        f'<iframe src="{base}/embed/e/EDITION/offers" title="Offres du forum" width="100%" '
        'height="700" loading="lazy"></iframe>'
    ) in page
    assert "Le widget ne dépose ni ne lit aucun cookie" in page
    english = text((await client.get("/widget", headers={"cookie": "lang=en"})).text)
    assert "Put the fair on your site" in english
    assert 'href="/widget"' in (await client.get("/api/v1/docs")).text
    await as_user(client, session, user=organiser)
    embed_page = await client.get(f"/organiser/editions/{edition.id}/embed")
    assert 'href="/widget"' in embed_page.text
