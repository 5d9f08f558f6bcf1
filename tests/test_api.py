"""The API's framework (fair/api/core.py) through its first endpoint, /api/v1/editions: pages
by cursor, ETag and 304, CORS, the one error shape, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx
from openapi_spec_validator import validate
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Mount, Route

from fair import api, db
from fair.api import openapi
from tests import factories as f


def _error(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


async def test_editions_listed_page_by_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    made = [await f.edition(session, title=f"Forum {n}") for n in range(5)]
    await f.edition(session, title="Brouillon", publish=False)
    await db.commit(session)
    seen: list[str] = []
    url: str | None = "/api/v1/editions?limit=2"
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [e["title"] for e in body["data"]]
        url = body["next"]
        if url:
            assert response.headers["link"] == f'<{url}>; rel="next"'
        pages += 1
    assert (pages, seen) == (3, [e.title for e in made])


async def test_edition_fields(client: httpx.AsyncClient, session: AsyncSession) -> None:
    edition = await f.edition(session)
    await db.commit(session)
    body = (await client.get("/api/v1/editions")).json()
    first = body["data"][0]
    assert (body["next"], first["id"], first["slug"], first["status"], first["url"]) == (
        None,
        edition.id,
        edition.slug,
        "live",
        f"http://testserver/e/{edition.slug}",
    )
    assert len(first["live_days"]) == len(edition.live_days)


async def test_etag_and_304(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await f.edition(session)
    await db.commit(session)
    first = await client.get("/api/v1/editions")
    etag = first.headers["etag"]
    again = await client.get("/api/v1/editions", headers={"If-None-Match": etag})
    assert (etag.startswith('W/"'), again.status_code, again.content) == (True, 304, b"")
    assert again.headers["etag"] == etag
    assert first.headers["cache-control"] == "public, max-age=60"
    other = await client.get("/api/v1/editions", headers={"If-None-Match": 'W/"other"'})
    assert other.status_code == 200


async def test_cors(client: httpx.AsyncClient, session: AsyncSession) -> None:
    response = await client.get("/api/v1/editions", headers={"Origin": "https://mairie.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    preflight = await client.options(
        "/api/v1/editions",
        headers={
            "Origin": "https://mairie.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert (preflight.status_code, preflight.headers["access-control-allow-methods"]) == (
        204,
        "GET, HEAD, OPTIONS",
    )
    assert "If-None-Match" in preflight.headers["access-control-allow-headers"]
    nowhere = await client.options("/api/v1/nowhere", headers={"Origin": "https://a.example"})
    assert (nowhere.status_code, nowhere.json()["error"]["code"]) == (404, "http.404")


async def test_errors_in_one_shape(client: httpx.AsyncClient, session: AsyncSession) -> None:
    cases = {
        "/api/v1/editions?limit=0": (400, "input.invalid", ["limit"]),
        "/api/v1/editions?limit=abc": (400, "input.invalid", ["limit"]),
        "/api/v1/editions?limit=1000000000000000000000000": (400, "input.invalid", ["limit"]),
        "/api/v1/editions?cursor=!!!": (400, "input.invalid", ["cursor"]),
        "/api/v1/editions?cursor=WzEsMl0": (400, "input.invalid", []),  # [1,2]: valid
        "/api/v1/editions?colour=red": (400, "input.invalid", ["colour"]),
        "/api/v1/editions?limit=1&limit=2": (400, "input.invalid", ["limit"]),
        "/api/v1/nothing": (404, "http.404", []),
    }
    for url, (status, code, fields) in cases.items():
        response = await client.get(url)
        if url.endswith("WzEsMl0"):
            assert response.status_code == 200, url
            continue
        body = response.json()
        assert (response.status_code, body["error"]["code"], sorted(body["error"]["fields"])) == (
            status,
            code,
            fields,
        ), url
        assert response.headers["access-control-allow-origin"] == "*"
    posted = await client.post("/api/v1/editions")
    assert (posted.status_code, posted.json()["error"]["code"]) == (405, "http.405")


async def test_cursor_refused_with_its_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.get("/api/v1/editions?cursor=!!!", headers={"Cookie": "lang=en"})
    assert response.json() == _error(
        "input.invalid",
        "The request's parameters are not valid.",
        {"cursor": "This cursor is not valid."},
    )


async def test_openapi_document(client: httpx.AsyncClient, app: Any) -> None:
    response = await client.get("/api/v1/openapi.json")
    document = response.json()
    validate(document)
    assert document == api.DOCUMENT
    assert document["openapi"] == "3.1.0"
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == openapi.BASE)
    routes = {
        (r.path, method.lower())
        for r in mount.app.router.routes  # type: ignore[attr-defined]
        if isinstance(r, Route) and r.name not in ("openapi", "docs")
        for method in (r.methods or ()) - {"HEAD"}
    }
    documented = {(path, m) for path, ops in document["paths"].items() for m in ops}
    assert routes == documented


async def test_documentation_page(client: httpx.AsyncClient, app: Any) -> None:
    """Every operation of the document, its parameters and its fields, in French by default
    and in English on request; no script, no inline style."""
    french = await client.get("/api/v1/docs")
    english = await client.get("/api/v1/docs?lang=en")
    assert (french.status_code, english.status_code) == (200, 200)
    assert '<html lang="fr">' in french.text and '<html lang="en">' in english.text
    assert ("Documentation de l'API" in french.text, "API documentation" in english.text) == (
        True,
        True,
    )
    page = english.text
    for path, operations in api.DOCUMENT["paths"].items():
        for method, operation in operations.items():
            assert f"<code>{method.upper()} /api/v1{path}</code>" in page
            assert f'id="{operation["operationId"]}"' in page
            for parameter in operation["parameters"]:
                assert f"<code>{parameter['name']}</code>" in page
    assert "Licence Ouverte / Etalab 2.0" in page
    assert ("<script" in page, "style=" in page, "<style" in page) == (False, False, False)


async def test_field_messages_in_the_platforms_words(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Pydantic's refusals said as the platform says them, in French by default."""
    url = "/api/v1/editions?limit=0&colour=red&updated_since=hier"
    french = (await client.get(url)).json()["error"]
    english = (await client.get(url, headers={"Cookie": "lang=en"})).json()["error"]
    assert french == {
        "code": "input.invalid",
        "message": "Les paramètres de la requête ne sont pas valides.",
        "fields": {
            "limit": "Indiquez un nombre d'au moins 1.",
            "colour": "Paramètre inconnu.",
            "updated_since": "Saisissez une date et une heure au format ISO 8601.",
        },
    }
    assert english["fields"] == {
        "limit": "Enter a number of at least 1.",
        "colour": "Unknown parameter.",
        "updated_since": "Enter an ISO 8601 date and time.",
    }


async def test_accept_language(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """A program sends no cookie: Accept-Language chooses the messages' language; a `lang`
    cookie, when there is one, wins."""
    url = "/api/v1/editions?limit=0"
    cases = {
        (("Accept-Language", "en-GB,en;q=0.9"),): "Enter a number of at least 1.",
        (("Accept-Language", "de, en;q=0.5, fr;q=0.8"),): "Indiquez un nombre d'au moins 1.",
        (("Accept-Language", "de;q=x, en;q=0.5"),): "Enter a number of at least 1.",
        (("Accept-Language", "en"), ("Cookie", "lang=fr")): "Indiquez un nombre d'au moins 1.",
        (): "Indiquez un nombre d'au moins 1.",
    }
    for headers, expected in cases.items():
        response = await client.get(url, headers=dict(headers))
        assert response.json()["error"]["fields"]["limit"] == expected, headers
