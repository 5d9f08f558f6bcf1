"""Export pages and files (fair.web.exports): the organiser's exports page and its audit list,
the files' contents against what the test created, who may download which, the audit record
written exactly for the personal exports that left, and the body streamed."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from fair import applications, clock, db, exports, participants
from fair.enums import ApplicationStatus, Role
from fair.models import ExportRecord
from tests import factories as f
from tests.pages import as_user, person, post, text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


def rows_of(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def sheet_of(body: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


async def records(fetch) -> list[tuple[int | None, int | None, str, str, bool]]:  # type: ignore[no-untyped-def]
    found = await fetch.scalars(select(ExportRecord).order_by(ExportRecord.id))
    return [(r.user_id, r.booth_id, r.what, r.format, r.personal) for r in found]


async def fair_with_applications(session):  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, title="=Soudeur")
    people = [await f.candidate(session, can_log_in=False, name=f"Zoé {n}") for n in range(2)]
    people += [await f.user(session, can_log_in=False) for _n in range(4)]
    made = [await f.application(session, offer_=offer, candidate_=p) for p in people[:2]]
    await applications.set_status(session, made[0], ApplicationStatus.SHORTLISTED, by=recruiter)
    await participants.register_many(session, [(edition.id, p.id) for p in people])
    return organiser, edition, booth, recruiter, people


# The edition's events row ---------------------------------------------------------------------


async def test_the_events_row_as_csv_and_xlsx_matches_the_page(app, client, session, fetch):  # type: ignore[no-untyped-def]
    organiser, edition, booth, _recruiter, _people = await fair_with_applications(session)
    await as_user(client, session, user=organiser)
    page = await client.get(f"/organiser/editions/{edition.id}/exports")
    assert page.status_code == 200
    shown = text(page.text)
    assert "Recruiters (approved booths) 1 Published offers 1 Positions 1" in shown
    assert "Registered candidates (online) 6 Candidates who applied hidden" in shown
    assert "No personal data has been exported." in shown

    response = await client.get(f"/organiser/editions/{edition.id}/exports/edition_events.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{edition.slug}-edition_events.csv"'
    )
    header, row = rows_of(response.content)
    named = dict(zip(header, row, strict=True))
    assert (named["identifiant"], named["nombreRecruteurs"], named["nombreOffres"]) == (
        edition.slug,
        "1",
        "1",
    )
    assert (named["nombreInscrits"], named["inscritsDistance"], named["inscritsPresentiel"]) == (
        "6",
        "6",
        "0",
    )
    assert named["nombreCandidatures"] == "hidden"
    assert named["urlSalonEnLigne"].endswith(f"/e/{edition.slug}")

    response = await client.get(f"/organiser/editions/{edition.id}/exports/edition_events.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert "content-encoding" not in response.headers  # a zip already: not compressed again
    header, values = sheet_of(response.content)
    assert dict(zip(header, values, strict=True))["nombreInscrits"] == 6
    assert await records(fetch) == []  # not personal: not recorded


async def test_an_organisers_editions_a_row_each(app, client, session):  # type: ignore[no-untyped-def]
    organiser, edition, *_rest = await fair_with_applications(session)
    second = await f.edition(session, by=organiser, title="Deuxième forum")
    await f.edition(session, title="Le forum d'un autre")
    await as_user(client, session, user=organiser)
    home = await client.get("/organiser")
    assert 'href="/organiser/events.xlsx" download>XLSX</a>' in home.text
    response = await client.get("/organiser/events.csv")
    assert response.status_code == 200
    header, *rows = rows_of(response.content)
    named = [dict(zip(header, row, strict=True)) for row in rows]
    # Newest first, as the organiser's home lists them; another organiser's edition is not there.
    assert [(r["identifiant"], r["nombreRecruteurs"]) for r in named] == [
        (second.slug, "0"),
        (edition.slug, "1"),
    ]
    workbook = await client.get("/organiser/events.xlsx")
    assert [row[0] for row in sheet_of(workbook.content)[1:]] == [second.slug, edition.slug]
    assert (await client.get("/organiser/events.pdf")).status_code == 404
    await as_user(client, session, user=await f.candidate(session))
    assert (await client.get("/organiser/events.csv")).status_code == 403


async def test_who_may_download_the_editions_exports(app, client, session, fetch):  # type: ignore[no-untyped-def]
    organiser, edition, booth, recruiter, people = await fair_with_applications(session)
    stranger = await f.user(session, Role.ORGANISER, locale="en")
    await f.edition(session, by=stranger, title="Un autre forum")
    candidate = await f.candidate(session)
    await db.commit(session)
    base = f"/organiser/editions/{edition.id}/exports"
    for user in (stranger, recruiter, candidate):
        await as_user(client, session, user=user)
        assert (await client.get(base)).status_code == 403
        assert (await client.get(f"{base}/edition_events.csv")).status_code == 403
    await as_user(client, session, user=organiser)
    # A personal export is POSTed (it is recorded), never a GET link; unknown names are 404.
    assert (await client.get(f"{base}/candidate_funnel.csv")).status_code == 404
    assert (await client.get(f"{base}/edition_events.pdf")).status_code == 404
    assert (await client.get(f"{base}/everything.csv")).status_code == 404
    assert (await client.get(f"{base}/booth_applications.csv")).status_code == 404
    assert await records(fetch) == []
    # The audit's page number: anything but 1 .. 99,999 is the first page, never a 500 (a
    # 5,000-digit number once passed str.isdigit and broke int()).
    for number in ("9" * 5000, "0", "-1", "²", "1e3"):
        assert (await client.get(base, params={"page": number})).status_code == 200, number


async def test_the_funnel_per_candidate_is_posted_recorded_and_listed(app, client, session, fetch):  # type: ignore[no-untyped-def]
    organiser, edition, booth, _recruiter, people = await fair_with_applications(session)
    await as_user(client, session, user=organiser)
    page = f"/organiser/editions/{edition.id}/exports"
    response = await post(client, page, f"{page}/candidate_funnel.csv")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{edition.slug}-candidate_funnel.csv"'
    )
    header, *rows = rows_of(response.content)
    assert header[:5] == [
        "Candidate (pseudonym)",
        "Registered on",
        "Registered",
        "Active",
        "Applied",
    ]
    applied = {exports.pseudonym(edition.id, p.id) for p in people[:2]}
    assert {row[0] for row in rows} == {exports.pseudonym(edition.id, p.id) for p in people}
    assert {row[0] for row in rows if row[4] == "1"} == applied
    assert not any(p.email in response.text or p.name in response.text for p in people)
    response = await post(client, page, f"{page}/candidate_funnel.xlsx")
    assert len(sheet_of(response.content)) == 1 + len(people)
    assert await records(fetch) == [
        (organiser.id, None, "candidate_funnel", fmt, True) for fmt in ("csv", "xlsx")
    ]
    shown = text((await client.get(page)).text)
    assert f"{organiser.name} ({organiser.email}) Funnel per candidate XLSX" in shown


async def test_the_funnel_exports_take_the_dashboards_filters(app, client, session):  # type: ignore[no-untyped-def]
    organiser, edition, booth, _recruiter, people = await fair_with_applications(session)
    other, _ = await f.booth(session, edition_=edition)
    await f.application(session, offer_=await f.offer(session, booth_=other), candidate_=people[1])
    await as_user(client, session, user=organiser)
    page = f"/organiser/editions/{edition.id}/exports"
    applied = {}
    for query in (f"?booth={other.id}", f"?booth={booth.id}", "?booth=999999", ""):
        response = await post(client, page, f"{page}/candidate_funnel.csv{query}")
        header, *rows = rows_of(response.content)
        assert len(rows) == len(people)  # registration is edition-wide
        applied[query] = {row[0] for row in rows if row[header.index("Applied")] == "1"}
    names = {p.id: exports.pseudonym(edition.id, p.id) for p in people}
    assert applied[f"?booth={other.id}"] == {names[people[1].id]}
    both = {names[people[0].id], names[people[1].id]}
    # A booth that is not the edition's is ignored, as on the dashboard: the whole edition.
    assert applied[f"?booth={booth.id}"] == applied["?booth=999999"] == applied[""] == both


async def test_the_dashboards_tables_link_their_exports_with_the_filters(app, client, session):  # type: ignore[no-untyped-def]
    organiser, edition, booth, _recruiter, _people = await fair_with_applications(session)
    await as_user(client, session, user=organiser)
    dashboard = await client.get(f"/organiser/editions/{edition.id}?booth={booth.id}")
    base = f"/organiser/editions/{edition.id}/exports"
    for what in ("edition_funnel", "booth_funnel"):
        for fmt in ("csv", "xlsx"):
            assert f'href="{base}/{what}.{fmt}?booth={booth.id}" download' in dashboard.text
    response = await client.get(f"{base}/edition_funnel.csv?booth={booth.id}")
    header, *rows = rows_of(response.content)
    assert header == ["Step", "Candidates"]
    # 6 registered and none active but the 2 who applied (hidden, as on the page).
    assert rows[:3] == [["Registered", "6"], ["Active", "hidden"], ["Applied", "hidden"]]


async def test_the_booths_funnel_is_a_link_not_recorded(app, client, session, fetch):  # type: ignore[no-untyped-def]
    organiser, edition, booth, _recruiter, _people = await fair_with_applications(session)
    await as_user(client, session, user=organiser)
    response = await client.get(f"/organiser/editions/{edition.id}/exports/booth_funnel.csv")
    header, *rows = rows_of(response.content)
    assert header[:2] == ["Booth", "Applied"]
    assert rows == [
        [booth.employer.name, *(["hidden"] * len(exports.BOOTH_COLUMNS)), "0", "0"]
    ]  # 2 applied
    assert await records(fetch) == []


async def test_the_audit_list_a_page_of_fifty_newest_first(app, client, session):  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    for n in range(exports.AUDIT_PAGE + 1):
        clock.set_now(f.NOON + timedelta(minutes=n))
        kind = exports.CANDIDATE_FUNNEL
        await exports.record(
            session, export=kind, edition_id=edition.id, by=organiser, format="csv"
        )
    await as_user(client, session, user=organiser)
    page = f"/organiser/editions/{edition.id}/exports"
    first = await client.get(page)
    assert first.text.count("<td>Funnel per candidate</td>") == exports.AUDIT_PAGE
    assert f'href="{page}?page=2">Older</a>' in first.text and ">Newer<" not in first.text
    second = await client.get(f"{page}?page=2")
    assert second.text.count("<td>Funnel per candidate</td>") == 1
    assert f'href="{page}?page=1">Newer</a>' in second.text and ">Older<" not in second.text
    # The oldest record is the one left for the second page.
    line = f"3/10/26, 12:00 PM {organiser.name} ({organiser.email}) Funnel per candidate CSV"
    assert line in text(second.text) and line not in text(first.text)
    audit = text(first.text).split("Personal data exported ")[1]
    assert audit.startswith("When Who What Format 3/10/26, 12:50 PM ")


# A booth's applications -----------------------------------------------------------------------


async def test_a_recruiter_exports_their_booths_applications_recorded(  # type: ignore[no-untyped-def]
    app, client, session, fetch, make_client
):
    organiser, edition, booth, recruiter, people = await fair_with_applications(session)
    await as_user(client, session, user=recruiter)
    pipeline = f"/recruiter/booths/{booth.id}/applications"
    response = await post(client, pipeline, f"{pipeline}.csv")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{edition.slug}-booth-{booth.id}-applications.csv"'
    )
    rows = rows_of(response.content)
    assert rows[0] == ["Candidate", "E-mail", "Offer", "Status", "Applied at", "Status changed at"]
    noon = f.NOON.strftime("%Y-%m-%d %H:%M")
    assert rows[1:] == [
        [people[0].name, people[0].email, "'=Soudeur", "Shortlisted", noon, noon],
        [people[1].name, people[1].email, "'=Soudeur", "Submitted", noon, noon],
    ]
    response = await post(client, pipeline, f"{pipeline}.xlsx")
    assert sheet_of(response.content)[1][:4] == [
        people[0].name,
        people[0].email,
        "=Soudeur",
        "Shortlisted",
    ]
    expected = [
        (recruiter.id, booth.id, "booth_applications", fmt, True) for fmt in ("csv", "xlsx")
    ]
    assert await records(fetch) == expected

    # The organiser sees both in the audit list, newest first.
    viewer = await person(make_client, organiser)
    shown = text((await viewer.get(f"/organiser/editions/{edition.id}/exports")).text)
    line = f"{recruiter.name} ({recruiter.email}) Applications of a booth · {booth.employer.name}"
    assert f"{line} XLSX" in shown and f"{line} CSV" in shown
    assert shown.index(f"{line} XLSX") < shown.index(f"{line} CSV")


async def test_nobody_else_exports_a_booths_applications_nor_is_recorded(  # type: ignore[no-untyped-def]
    app, client, session, fetch
):
    organiser, edition, booth, recruiter, people = await fair_with_applications(session)
    other, other_recruiter = await f.booth(session, edition_=edition)
    candidate = await f.candidate(session)
    await db.commit(session)
    action = f"/recruiter/booths/{booth.id}/applications.csv"
    await as_user(client, session, user=other_recruiter)
    own = f"/recruiter/booths/{other.id}/applications"
    assert (await post(client, own, action)).status_code == 404  # not theirs: does not exist
    for user in (candidate, organiser):
        await as_user(client, session, user=user)
        assert (await post(client, "/me/profile", action)).status_code == 403
    await as_user(client, session, user=recruiter)
    assert (await client.get(action)).status_code == 405
    # Without the form's token: refused before anything is written.
    assert (await client.post(action, data={"csrf_token": "x"})).status_code == 403
    assert await records(fetch) == []


# Streaming ------------------------------------------------------------------------------------


async def asgi_get(app, path: str, cookies: httpx.Cookies) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The ASGI messages the app sends for a GET, as a server would receive them."""
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"cookie", cookie.encode()),
            (b"accept-encoding", b"identity"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    asked = False
    forever = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await forever.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_the_csv_is_streamed_in_pieces_without_a_length(app, client, session):  # type: ignore[no-untyped-def]
    organiser, edition, *_rest = await fair_with_applications(session)
    await as_user(client, session, user=organiser)
    path = f"/organiser/editions/{edition.id}/exports/edition_events.csv"
    sent = await asgi_get(app, path, client.cookies)
    start, *bodies = sent
    assert start["status"] == 200
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert "content-length" not in headers  # a StreamingResponse: the length is not known
    pieces = [m["body"] for m in bodies if m["body"]]
    assert len(pieces) == 2  # the header line, then the one batch of rows
    assert all(m["more_body"] for m in bodies[:-1]) and not bodies[-1]["more_body"]
    assert pieces[0].startswith(b"\xef\xbb\xbfidentifiant;titre;")
