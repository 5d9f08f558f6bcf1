"""Bad input at the HTTP boundary: a clear 4xx in the user's language, nothing stored, no 500.

Ids out of range, Unicode digits, non-ASCII CSRF tokens, dates out of range, nan coordinates,
deeply nested JSON, decompression bombs, bodies over the size limit (chunked or lying about
their length), and line breaks in single-line fields (which would end up in mail headers).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from fair import clock, db, settings
from fair.enums import Role
from fair.models import Edition, Employer, Offer, StoredFile, Webconference
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import text


def field_errors(page: str) -> dict[str, str]:
    """The error summary's links: field name -> message."""
    found = re.findall(r'<li><a href="#f-([\w-]+)">(.*?)</a></li>', page)
    return {name: html.unescape(message) for name, message in found}


async def person(make_client, session, role: Role, user=None):  # type: ignore[no-untyped-def]
    user = user or await f.user(session, role)
    await db.commit(session)
    client = make_client()
    await login(client, user.email, f.PASSWORD)
    return client, user


async def count(fetch, model) -> int:  # type: ignore[no-untyped-def]
    return int(await fetch.scalar(select(func.count()).select_from(model)))


# Ids in the path ---------------------------------------------------------------------------------


async def test_ids_out_of_range_or_not_ascii_are_not_found(client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    await db.commit(session)
    assert (await client.get(f"/offers/{offer.id}")).status_code == 200
    for raw in (
        "9223372036854775808",
        "99999999999999999999999",
        "%C2%B2",
        "%EF%BC%91",
        "0",
        "007",
    ):
        response = await client.get(f"/offers/{raw}")
        assert response.status_code == 404, raw
        assert "Page introuvable" in response.text
    # The largest id the database holds is the offer's own "not found".
    response = await client.get("/offers/2147483647")
    assert response.status_code == 404
    assert "Cette offre n'existe pas." in text(response.text)


async def test_text_segments_with_control_characters_are_not_found(client, session):  # type: ignore[no-untyped-def]
    """PostgreSQL refuses NUL in a query: such a slug or token matches no route."""
    edition = await f.edition(session)
    await db.commit(session)
    assert (await client.get(f"/e/{edition.slug}/booths")).status_code == 200
    for path in ("/e/%00/booths", f"/e/{edition.slug}%00/offers", "/calendar/1%00.ics", "/e/a%1B"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Page introuvable" in response.text


async def test_path_int_refuses_what_the_convertor_would(app):  # type: ignore[no-untyped-def]
    from starlette.requests import Request

    from fair.errors import NotFound
    from fair.web.auth import path_int

    for raw in ("2147483648", "9223372036854775808", "²", "0", "-1"):
        request = Request({"type": "http", "path_params": {"offer_id": raw}})
        try:
            path_int(request, "offer_id")
        except NotFound:
            continue
        raise AssertionError(raw)
    request = Request({"type": "http", "path_params": {"offer_id": 12}})
    assert path_int(request, "offer_id") == 12


# CSRF ------------------------------------------------------------------------------------------


async def test_non_ascii_csrf_token_is_refused_not_a_crash(client, session):  # type: ignore[no-untyped-def]
    await csrf(client)  # the session has a token
    # é, ü, and a lone surrogate's UTF-8 bytes (not valid UTF-8)
    for token in ("%C3%A9", "jeton-%C3%BC", "%ED%B3%BF", "%FF"):
        response = await client.post(
            "/login",
            content=f"csrf_token={token}&email=a%40example.fr&password=x".encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 403, token
        assert "Ce formulaire a expiré" in text(response.text)


# Dates out of range -------------------------------------------------------------------------------

EDITION_FORM = {
    "title": "Forum de l'emploi 2030",
    "territory": "Montpellier Méditerranée Métropole",
    "partners": "France Travail",
    "description": "Un forum en ligne.",
    "timezone": "Europe/Paris",
    "applications_open_at": "2030-01-07T09:00",
    "applications_close_at": "2030-01-25T18:00",
    "response_deadline": "2030-02-08T18:00",
    "live_first_day": "2030-01-21",
    "live_last_day": "2030-01-27",
    "opens": "09:00",
    "closes": "17:00",
    "weekdays": ["0", "1", "2", "3", "4", "5"],
}


async def test_edition_dates_out_of_range_are_field_errors(make_client, session, fetch):  # type: ignore[no-untyped-def]
    org, _user = await person(make_client, session, Role.ORGANISER)
    token = await csrf(org, "/organiser/editions/new")
    for first, last, opens_at in (
        ("0001-01-01", "9999-12-31", "0001-01-01T00:00"),
        ("9999-12-31", "9999-12-31", "9999-12-31T23:59"),
    ):
        data = {
            **EDITION_FORM,
            "csrf_token": token,
            "live_first_day": first,
            "live_last_day": last,
            "applications_open_at": opens_at,
            "response_deadline": opens_at,
        }
        response = await org.post("/organiser/editions/new", data=data)
        assert response.status_code == 422, response.text
        message = "Indiquez une date entre 1900 et 2100."
        errors = field_errors(response.text)
        assert {k: errors[k] for k in errors if errors[k] == message} == {
            "applications_open_at": message,
            "response_deadline": message,
            "live_first_day": message,
            "live_last_day": message,
        }
    assert await count(fetch, Edition) == 0


async def test_webconference_and_availability_dates_out_of_range(make_client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    client, _user = await person(make_client, session, Role.RECRUITER, recruiter)
    url = f"/recruiter/booths/{booth.id}/webconferences"
    token = await csrf(client, url)
    for moment in ("0001-01-01T00:00", "9999-12-31T23:59"):
        response = await client.post(
            url,
            data={
                "csrf_token": token,
                "title": "Nos métiers",
                "starts_at": moment,
                "ends_at": moment,
                "capacity": "10",
                "access": "open",
                "presenters": str(recruiter.id),
            },
        )
        assert response.status_code == 422, response.text
        errors = field_errors(response.text)
        assert errors["starts_at"] == errors["ends_at"] == "Indiquez une date entre 1900 et 2100."
    assert await count(fetch, Webconference) == 0
    url = f"/recruiter/booths/{booth.id}/interviews"
    token = await csrf(client, url)
    for day in ("0001-01-01", "9999-12-31"):
        response = await client.post(
            url,
            data={
                "csrf_token": token,
                "day": day,
                "start": "09:00",
                "end": "10:00",
                "length_minutes": "15",
                "buffer_minutes": "0",
                "modes": "video",
                "staff_id": str(recruiter.id),
            },
        )
        assert response.status_code == 422, response.text
        assert field_errors(response.text)["day"] == "Indiquez une date entre 1900 et 2100."


# Offer import: JSON and coordinates ------------------------------------------------------------


async def _import(client, booth_id: int, content: bytes) -> httpx.Response:  # type: ignore[no-untyped-def]
    token = await csrf(client, f"/recruiter/booths/{booth_id}")
    return await client.post(
        f"/recruiter/booths/{booth_id}/import",
        data={"csrf_token": token},
        files={"file": ("offres.json", content, "application/json")},
    )


def ft_offer(**place: object) -> dict[str, object]:
    return {
        "intitule": "Électricien (H/F)",
        "description": "Chantiers.",
        "romeCode": "F1602",
        "typeContrat": "CDI",
        "lieuTravail": {"libelle": "34 - Montpellier", "codePostal": "34000", **place},
    }


async def test_deeply_nested_json_is_refused(make_client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    client, _user = await person(make_client, session, Role.RECRUITER, recruiter)
    response = await _import(client, booth.id, b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 422
    assert "Ce fichier est trop imbriqué pour être lu." in text(response.text)
    response = await _import(client, booth.id, b'[{"intitule": NaN}]')
    assert response.status_code == 422
    assert "Ce fichier n'est pas un JSON valide." in text(response.text)
    assert await count(fetch, Offer) == 0


async def test_import_refuses_nan_inf_and_out_of_range_coordinates(make_client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    client, _user = await person(make_client, session, Role.RECRUITER, recruiter)
    for place in (
        {"latitude": "nan", "longitude": 3.8},
        {"latitude": 43.6, "longitude": "inf"},
        {"latitude": 1e999, "longitude": 3.8},  # json.dumps writes Infinity: refused as JSON
        {"latitude": 91, "longitude": 3.8},
        {"latitude": 43.6, "longitude": -180.5},
    ):
        body = json.dumps([ft_offer(**place)]).encode()
        response = await _import(client, booth.id, body)
        assert response.status_code == 422, (place, response.text)
        message = text(response.text)
        assert "L'offre n° 1 ne peut pas être importée" in message or "JSON valide" in message, (
            place
        )
    body = json.dumps([{**ft_offer(), "nombrePostes": 1e308}]).encode()
    assert (await _import(client, booth.id, body)).status_code == 422
    assert await count(fetch, Offer) == 0
    response = await _import(
        client, booth.id, json.dumps([ft_offer(latitude=43.6, longitude=3.87)]).encode()
    )
    assert response.status_code == 303
    [offer] = await fetch.scalars(select(Offer))
    assert (offer.latitude, offer.longitude) == (43.6, 3.87)


async def test_imported_titles_are_single_line(make_client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    client, _user = await person(make_client, session, Role.RECRUITER, recruiter)
    item = {
        **ft_offer(),
        "intitule": "Soudeur\r\nBcc: x@example.fr\x00",
        "description": "A\r\nB\x00",
    }
    response = await _import(client, booth.id, json.dumps([item]).encode())
    assert response.status_code == 303, response.text
    [offer] = await fetch.scalars(select(Offer))
    assert (offer.title, offer.description) == ("Soudeur Bcc: x@example.fr", "A\nB")


# Images ----------------------------------------------------------------------------------------


async def test_decompression_bomb_logo_is_refused(make_client, session, fetch):  # type: ignore[no-untyped-def]
    client, _user = await person(make_client, session, Role.RECRUITER)
    token = await csrf(client, "/recruiter/employers/new")
    for width, height in ((100_000, 100_000), (9000, 10)):
        response = await client.post(
            "/recruiter/employers/new",
            data={
                "csrf_token": token,
                "name": "Watt Sud",
                "siret": f.siret(777),
                "naf_code": "4321a",
                "size": "10-49",
                "commune": "Lattes",
            },
            files={"logo": ("logo.png", f.png_header(width, height), "image/png")},
        )
        assert response.status_code == 422, response.text
        assert field_errors(response.text) == {
            "logo": "Cette image est trop grande : 8000 pixels de large et de haut au plus."
        }
    assert (await count(fetch, Employer), await count(fetch, StoredFile)) == (0, 0)


# Request size ------------------------------------------------------------------------------------


async def _limited(conf, limit: int) -> None:  # type: ignore[no-untyped-def]
    settings.override(replace(conf, max_request_bytes=limit))


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"a" * piece


async def test_chunked_body_over_the_limit_is_refused_as_it_arrives(client, conf, session):  # type: ignore[no-untyped-def]
    """A 60 MB multipart upload without Content-Length: refused once 1 MB (the limit) is read."""
    await _limited(conf, 1024 * 1024)
    token = await csrf(client)
    head = (
        f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        '--b\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    read = 0

    async def chunked() -> AsyncIterator[bytes]:
        nonlocal read
        yield head
        async for piece in _chunks(60 * 1024 * 1024):
            read += len(piece)
            yield piece
        yield b"\r\n--b--\r\n"

    response = await client.post(
        "/login", content=chunked(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "L'envoi est trop lourd : 1 Mo maximum au total." in text(response.text)
    assert read <= 1024 * 1024 + 64 * 1024  # the rest was never read


async def test_lying_content_length_is_counted_too(app, conf, session):  # type: ignore[no-untyped-def]
    await _limited(conf, 1024 * 1024)
    for declared in (b"100", b"9" * 5000, b"12x"):
        assert await _send_raw(app, declared, 2 * 1024 * 1024) == 413, declared


async def _send_raw(app, declared: bytes, size: int) -> int:  # type: ignore[no-untyped-def]
    """The status of a POST /login whose Content-Length says `declared` and whose body has
    `size` bytes, sent straight to the ASGI app (an HTTP client would not lie)."""
    sent: list[dict] = []  # type: ignore[type-arg]
    body = [b"csrf_token=x&email=", b"a" * size]

    async def receive() -> dict:  # type: ignore[type-arg]
        piece = body.pop(0) if body else b""
        return {"type": "http.request", "body": piece, "more_body": bool(body)}

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/login",
        "raw_path": b"/login",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", declared),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    return int(sent[0]["status"])


async def test_declared_length_over_the_limit_is_refused_before_reading(client, conf):  # type: ignore[no-untyped-def]
    await _limited(conf, 1024 * 1024)
    response = await client.post(
        "/login",
        content=b"x" * (1024 * 1024 + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert "L'envoi est trop lourd : 1 Mo maximum au total." in text(response.text)
    response = await client.post("/login", content=b"x" * 10)  # under the limit: CSRF refused
    assert response.status_code == 403


# Single-line fields: no line break reaches a mail header ------------------------------------------

INJECTED = "Titre\r\nBcc: victime@example.fr\t\x00\x1b\u2028fin"
FLAT = "Titre Bcc: victime@example.fr fin"


async def test_titles_and_names_are_stored_on_one_line(make_client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    organiser = await f.user(session, Role.ORGANISER)
    await db.commit(session)
    rec = make_client()
    await login(rec, recruiter.email, f.PASSWORD)

    # Offer: the title is one line, the description keeps its line breaks only.
    token = await csrf(rec, f"/recruiter/booths/{booth.id}/offers/new")
    response = await rec.post(
        f"/recruiter/booths/{booth.id}/offers/new",
        data={
            "csrf_token": token,
            "title": INJECTED,
            "rome_code": "F1602",
            "description": "Ligne 1\r\nLigne 2\x00\x07",
            "contract": "cdi",
            "working_time": "full_time",
            "experience": "beginner",
            "positions": "1",
            "commune": "Lattes",
            "postcode": "34970",
        },
    )
    assert response.status_code == 303, response.text
    [offer] = await fetch.scalars(select(Offer))
    assert (offer.title, offer.description) == (FLAT, "Ligne 1\nLigne 2")

    # Employer name.
    token = await csrf(rec, "/recruiter/employers/new")
    response = await rec.post(
        "/recruiter/employers/new",
        data={
            "csrf_token": token,
            "name": INJECTED,
            "siret": f.siret(4242),
            "naf_code": "4321a",
            "size": "10-49",
            "commune": "Lattes",
        },
    )
    assert response.status_code == 303, response.text
    assert await fetch.scalar(select(Employer.name).where(Employer.name == FLAT)) == FLAT

    # Webconference title.
    url = f"/recruiter/booths/{booth.id}/webconferences"
    token = await csrf(rec, url)
    start = (clock.now() + timedelta(days=1)).astimezone(f.PARIS).replace(hour=10, minute=0)
    response = await rec.post(
        url,
        data={
            "csrf_token": token,
            "title": INJECTED,
            "description": "",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "capacity": "10",
            "access": "open",
            "presenters": str(recruiter.id),
        },
    )
    assert response.status_code == 303, response.text
    assert await fetch.scalar(select(Webconference.title)) == FLAT

    # Edition title.
    org = make_client()
    await login(org, organiser.email, f.PASSWORD)
    token = await csrf(org, "/organiser/editions/new")
    response = await org.post(
        "/organiser/editions/new", data={**EDITION_FORM, "csrf_token": token, "title": INJECTED}
    )
    assert response.status_code == 303, response.text
    assert await fetch.scalar(select(Edition.title).where(Edition.title == FLAT)) == FLAT


async def test_logged_in_user_failing_a_log_in_gets_the_form_again(make_client, session):  # type: ignore[no-untyped-def]
    """The failure is recorded in its own transaction; the page still shows who is logged in."""
    client, user = await person(make_client, session, Role.CANDIDATE)
    token = await csrf(client, "/login")
    response = await client.post(
        "/login", data={"csrf_token": token, "email": user.email, "password": "wrong password"}
    )
    assert response.status_code == 400, response.text
    assert f'data-user-id="{user.id}"' in response.text
    assert 'name="password"' in response.text


async def test_interview_rules_release_date_out_of_range(make_client, session):  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    client, _user = await person(make_client, session, Role.ORGANISER, organiser)
    url = f"/organiser/editions/{edition.id}/interviews"
    token = await csrf(client, url)
    for moment in ("0001-01-01T00:00", "9999-12-31T23:59"):
        response = await client.post(
            url,
            data={
                "csrf_token": token,
                "max_per_booth": "1",
                "max_total": "5",
                "release_at": moment,
                "cancel_cutoff_minutes": "120",
                "offer_minutes": "60",
                "min_notice_minutes": "120",
            },
        )
        assert response.status_code == 422, response.text
        assert field_errors(response.text)["release_at"] == "Indiquez une date entre 1900 et 2100."
