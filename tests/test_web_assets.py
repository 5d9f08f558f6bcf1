"""Static files and pages over the wire: versioned URLs, cache headers, compression, favicon."""

from __future__ import annotations

import re

from fair import settings
from tests.conftest import csrf

STATIC_RE = re.compile(r'(?:href|src)="(/static/([^"?]+)\?v=([0-9a-f]{12}))"')


def static_links(page: str) -> dict[str, str]:
    """The versioned static URLs a page links, by file name."""
    return {name: url for url, name, _version in STATIC_RE.findall(page)}


async def test_pages_link_static_files_by_a_hash_of_their_content(client):
    page = await client.get("/")
    links = static_links(page.text)
    scripts = {"socket.js", "live.js", "forms.js"}
    assert set(links) == {"favicon.ico", "favicon.svg", "fair.css"} | scripts
    again = static_links((await client.get("/login")).text)
    assert again == links  # computed once, the same on every page


async def test_versioned_static_file_is_compressed_and_cached_for_a_year(client):
    url = static_links((await client.get("/")).text)["fair.css"]
    response = await client.get(url, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    source = (settings.get().static_dir / "fair.css").read_bytes()
    assert response.content == source  # httpx undid the gzip
    assert response.num_bytes_downloaded < len(source) / 2


async def test_unversioned_or_stale_static_url_is_revalidated(client):
    for url in ("/static/fair.css", "/static/fair.css?v=000000000000"):
        response = await client.get(url)
        assert (response.status_code, response.headers["cache-control"]) == (200, "no-cache"), url


async def test_range_request_is_answered_uncompressed(client):
    source = (settings.get().static_dir / "live.js").read_bytes()
    response = await client.get(
        "/static/live.js", headers={"accept-encoding": "gzip", "range": "bytes=0-99"}
    )
    assert response.status_code == 206
    assert "content-encoding" not in response.headers
    assert response.content == source[:100]


async def test_html_page_is_compressed_when_the_client_accepts_gzip(client):
    raw = await client.get("/", headers={"accept-encoding": "gzip"})
    assert raw.status_code == 200
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["vary"] == "Cookie, Accept-Encoding"
    assert int(raw.headers["content-length"]) == raw.num_bytes_downloaded < len(raw.content)
    plain = await client.get("/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(plain.content) == len(raw.content)


async def test_favicon_is_linked_and_served(client):
    links = static_links((await client.get("/")).text)
    svg = await client.get(links["favicon.svg"])
    assert (svg.status_code, svg.headers["content-type"]) == (200, "image/svg+xml")
    assert svg.text.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    ico = await client.get(links["favicon.ico"])
    assert ico.status_code == 200
    assert ico.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    legacy = await client.get("/favicon.ico")
    assert (legacy.status_code, legacy.headers["location"]) == (301, links["favicon.ico"])


async def test_csrf_token_is_masked_afresh_on_every_compressed_page(client, make_client):
    """BREACH: a compressed page must not repeat the session's secret byte for byte."""
    first, second = await csrf(client, "/login"), await csrf(client, "/login")
    assert first != second
    assert client.cookies.get("fair_session") is not None
    for token in (first, second):
        response = await client.post(
            "/language", data={"csrf_token": token, "lang": "en", "next": "/"}
        )
        assert response.status_code == 303, token
    other = make_client()
    refused = await other.post(
        "/language",
        data={"csrf_token": await csrf(client, "/login"), "lang": "en", "next": "/"},
        headers={"accept": "application/json"},
    )
    await csrf(other, "/login")  # the other browser has a session of its own
    again = await other.post(
        "/language",
        data={"csrf_token": first, "lang": "en", "next": "/"},
        headers={"accept": "application/json"},
    )
    assert [refused.status_code, again.status_code] == [403, 403]
    assert again.json()["error"]["code"] == "csrf.invalid"
