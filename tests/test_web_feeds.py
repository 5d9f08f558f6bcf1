"""What the site publishes for machines (fair/web/feeds.py): the sitemap and robots.txt, the
iCalendar feeds of a programme and of a booth's talks, the Atom feed of new offers and the
delta feed of offers with tombstones; each stating the data licence, linked from the
edition's page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import httpx
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, employers, offers, webconferences
from fair.enums import BoothStatus, Role
from fair.web import feeds
from tests import factories as f
from tests.factories import NOON
from tests.statements import cold

BASE = "http://127.0.0.1:8000"  # the default BASE_URL the tests run with
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"
LICENCE = {
    "name": "Licence Ouverte / Etalab 2.0",
    "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
}


async def test_the_sitemap_lists_the_public_pages_and_robots_txt_points_to_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, _ = await f.booth(session, edition_=edition)
    declined, _ = await f.booth(session, edition_=edition, approve=False)
    shown = await f.offer(session, booth_=booth)
    hidden = await f.offer(session, booth_=booth)
    await offers.set_published(session, hidden, False)
    await f.offer(session, booth_=declined)
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser])
    )
    gone = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser], title="Annulée")
    )
    await webconferences.cancel(session, by=organiser, webconference=gone)
    await f.edition(session, publish=False, title="Brouillon")
    await db.commit(session)

    response = await client.get("/sitemap.xml")
    root = ET.fromstring(response.content)
    entries = [
        (u.findtext(f"{SITEMAP}loc"), u.findtext(f"{SITEMAP}lastmod"))
        for u in root.findall(f"{SITEMAP}url")
    ]
    assert (response.headers["content-type"], root.tag) == ("application/xml", f"{SITEMAP}urlset")
    assert {child.tag for u in root for child in u} == {f"{SITEMAP}loc", f"{SITEMAP}lastmod"}
    assert entries == [
        (f"{BASE}/", "2026-03-10"),
        (f"{BASE}/e/{edition.slug}", "2026-03-10"),
        (f"{BASE}/e/{edition.slug}/programme", "2026-03-10"),
        (f"{BASE}/e/{edition.slug}/booths/{booth.id}", "2026-03-10"),
        (f"{BASE}/offers/{shown.id}", "2026-03-10"),
        (f"{BASE}/webconferences/{talk.id}", "2026-03-10"),
    ]

    # Once the edition is closed its offers drop out; its pages stay.
    clock.set_now(NOON + timedelta(days=30))
    root = ET.fromstring((await client.get("/sitemap.xml")).content)
    locs = [u.findtext(f"{SITEMAP}loc") for u in root.findall(f"{SITEMAP}url")]
    assert f"{BASE}/offers/{shown.id}" not in locs and len(locs) == 5

    # One sitemap holds them all: no numbered part.
    assert (await client.get("/sitemap-1.xml")).status_code == 404

    robots = await client.get("/robots.txt")
    assert robots.text == f"User-agent: *\nAllow: /\n\nSitemap: {BASE}/sitemap.xml\n"


def test_past_50000_urls_the_sitemap_is_an_index_of_parts() -> None:
    entries = [(f"{BASE}/offers/{n}", None) for n in range(5)]
    assert feeds.split(entries, per=2) == [entries[0:2], entries[2:4], entries[4:]]
    assert feeds.split([], per=2) == [[]]
    assert feeds.MAX_URLS == 50_000
    root = ET.fromstring(feeds.sitemap_index([f"{BASE}/sitemap-1.xml", f"{BASE}/sitemap-2.xml"]))
    assert (root.tag, [s.findtext(f"{SITEMAP}loc") for s in root]) == (
        f"{SITEMAP}sitemapindex",
        [f"{BASE}/sitemap-1.xml", f"{BASE}/sitemap-2.xml"],
    )
    root = ET.fromstring(feeds.urlset(entries[:1]))
    assert [(u.tag, [c.tag for c in u]) for u in root] == [(f"{SITEMAP}url", [f"{SITEMAP}loc"])]


def events_of(text: str) -> list[dict[str, Any]]:
    calendar = Calendar.from_ical(text)
    return [
        {
            "uid": str(e["uid"]),
            "sequence": int(e["sequence"]),
            "summary": str(e["summary"]),
            "status": str(e["status"]),
            "start": e.decoded("dtstart").isoformat(),
            "location": str(e["location"]),
        }
        for e in calendar.walk("VEVENT")
    ]


async def test_calendars_of_the_programme_and_of_a_booth_follow_changes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    hidden, stranger = await f.booth(session, edition_=edition)
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser])
    )
    ours = await webconferences.schedule(
        session, by=recruiter, edition=edition, booth=booth, data=f.talk([recruiter], title="Nous")
    )
    await webconferences.schedule(
        session, by=stranger, edition=edition, booth=hidden, data=f.talk([stranger], title="Non")
    )
    admin = await f.user(session, Role.ADMIN)
    await employers.set_status(session, hidden, BoothStatus.DECLINED, by=admin, reason="Hors sujet")
    await db.commit(session)
    programme = f"/e/{edition.slug}/programme.ics"

    first = await client.get(programme)
    assert first.headers["content-type"] == "text/calendar; charset=utf-8"
    talk_event = {
        "uid": talk.uid,
        "sequence": 0,
        "summary": "Réussir son entretien en visio",
        "status": "CONFIRMED",
        "start": "2026-03-11T10:00:00+01:00",
        "location": f"{BASE}/webconferences/{talk.id}",
    }
    booth_event = {
        "uid": ours.uid,
        "sequence": 0,
        "summary": f"Nous ({booth.employer.name})",
        "status": "CONFIRMED",
        "start": "2026-03-11T10:00:00+01:00",
        "location": f"{BASE}/webconferences/{ours.id}",
    }
    assert events_of(first.text) == [talk_event, booth_event]
    calendar = Calendar.from_ical(first.text)
    assert (str(calendar["x-wr-calname"]), str(calendar["x-wr-caldesc"])) == (
        f"Programme : {edition.title}",
        f"{edition.title}. Données publiées sous Licence Ouverte / Etalab 2.0 : "
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    )

    # Moved, then cancelled: same UID, SEQUENCE up, the cancelled one kept as CANCELLED.
    moved = f.talk(
        [organiser], starts_at=f.day_at(f.TOMORROW, 14), ends_at=f.day_at(f.TOMORROW, 15)
    )
    await webconferences.update(session, by=organiser, webconference=talk, data=moved)
    await webconferences.cancel(session, by=recruiter, webconference=ours)
    await db.commit(session)
    again = events_of((await client.get(programme)).text)
    assert again == [  # by start time
        booth_event | {"sequence": 1, "status": "CANCELLED"},
        talk_event | {"sequence": 1, "start": "2026-03-11T14:00:00+01:00"},
    ]

    booth_feed = await client.get(f"/e/{edition.slug}/booths/{booth.id}/talks.ics")
    assert events_of(booth_feed.text) == [booth_event | {"sequence": 1, "status": "CANCELLED"}]
    assert str(Calendar.from_ical(booth_feed.text)["x-wr-calname"]) == (
        f"Webconférences : {booth.employer.name}"
    )
    refused = await client.get(f"/e/{edition.slug}/booths/{hidden.id}/talks.ics")
    assert refused.status_code == 404


async def test_the_atom_feed_of_new_offers(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    older = await f.offer(session, booth_=booth, title="Plombier (H/F)")
    clock.set_now(NOON + timedelta(hours=1))
    newer = await f.offer(session, booth_=booth, title="Maçon (H/F)")
    hidden = await f.offer(session, booth_=booth, title="Retirée")
    await offers.set_published(session, hidden, False)
    await db.commit(session)
    client.cookies.set("lang", "en")

    response = await client.get(f"/e/{edition.slug}/offers.atom")
    root = ET.fromstring(response.content)
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert (root.tag, root.findtext(f"{ATOM}title"), root.findtext(f"{ATOM}rights")) == (
        f"{ATOM}feed",
        f"New offers: {edition.title}",
        "Licence Ouverte / Etalab 2.0 (https://www.etalab.gouv.fr/licence-ouverte-open-licence/)",
    )
    assert root.findtext(f"{ATOM}id") == f"{BASE}/e/{edition.slug}/offers.atom"
    entries = [
        (
            e.findtext(f"{ATOM}id"),
            e.findtext(f"{ATOM}title"),
            e.findtext(f"{ATOM}author/{ATOM}name"),
            e.findtext(f"{ATOM}published"),
        )
        for e in root.findall(f"{ATOM}entry")
    ]
    name = booth.employer.name
    assert entries == [
        (f"{BASE}/offers/{newer.id}", "Maçon (H/F)", name, "2026-03-10T12:00:00+00:00"),
        (f"{BASE}/offers/{older.id}", "Plombier (H/F)", name, "2026-03-10T11:00:00+00:00"),
    ]


async def test_the_delta_feed_gives_changes_once_and_tombstones(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    other, _ = await f.booth(session, edition_=edition)
    first = await f.offer(session, booth_=booth, title="Plombier (H/F)")
    second = await f.offer(session, booth_=booth, title="Maçon (H/F)")
    theirs = await f.offer(session, booth_=other, title="Couvreur (H/F)")
    await db.commit(session)
    changes = f"/e/{edition.slug}/offers/changes.json"

    page = (await client.get(changes, params={"limit": 2})).json()
    assert (page["licence"], page["edition"], page["more"]) == (LICENCE, edition.slug, True)
    assert [(i["id"], i["deleted"], i["title"]) for i in page["items"]] == [
        (first.id, False, "Plombier (H/F)"),
        (second.id, False, "Maçon (H/F)"),
    ]
    assert page["items"][0] == {
        "id": first.id,
        "deleted": False,
        "updated_at": "2026-03-10T11:00:00+00:00",
        "url": f"{BASE}/offers/{first.id}",
        "title": "Plombier (H/F)",
        "description": "Installation et maintenance électrique sur chantiers.",
        "employer": {"name": booth.employer.name, "siret": booth.employer.siret},
        "booth_id": booth.id,
        "rome_code": "F1602",
        "contract": "cdi",
        "working_time": "full_time",
        "commune": "Montpellier",
        "postcode": "34000",
        "latitude": first.latitude,
        "longitude": first.longitude,
        "remote": False,
        "positions": 1,
        "salary": "",
        "starts_on": None,
        "created_at": "2026-03-10T11:00:00+00:00",
    }
    page = (await client.get(changes, params={"cursor": page["cursor"]})).json()
    assert ([i["id"] for i in page["items"]], page["more"]) == ([theirs.id], False)
    cursor = page["cursor"]
    assert page["next"] == f"{BASE}{changes}?cursor={cursor}"

    # Nothing new: nothing given, the same cursor back.
    page = (await client.get(changes, params={"cursor": cursor})).json()
    assert (page["items"], page["cursor"]) == ([], cursor)

    # Unpublished, and a booth declined: tombstones, at the moment of the change.
    clock.set_now(NOON + timedelta(hours=1))
    await offers.set_published(session, first, False)
    admin = await f.user(session, Role.ADMIN)
    await employers.set_status(session, other, BoothStatus.DECLINED, by=admin, reason="Hors sujet")
    await db.commit(session)
    page = (await client.get(changes, params={"cursor": cursor})).json()
    assert page["items"] == [
        {"id": first.id, "deleted": True, "updated_at": "2026-03-10T12:00:00+00:00"},
        {"id": theirs.id, "deleted": True, "updated_at": "2026-03-10T12:00:00+00:00"},
    ]
    cursor = page["cursor"]

    # The edition closes: its offer still alive becomes a tombstone, dated when it closed.
    clock.set_now(NOON + timedelta(days=30))
    page = (await client.get(changes, params={"cursor": cursor})).json()
    assert page["items"] == [
        {"id": second.id, "deleted": True, "updated_at": "2026-03-17T11:00:00+00:00"},
    ]

    # `since` for a first pull; refused values answer 400 in JSON.
    since = (await client.get(changes, params={"since": "2026-03-10T13:00:00+01:00"})).json()
    assert [i["id"] for i in since["items"]] == [first.id, theirs.id, second.id]
    bad = await client.get(
        changes, params={"cursor": "nope"}, headers={"accept": "application/json"}
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "feed.cursor")
    bad = await client.get(
        changes, params={"since": "hier"}, headers={"accept": "application/json"}
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "input.datetime")


async def test_the_edition_page_links_its_feeds(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    await db.commit(session)
    client.cookies.set("lang", "en")
    page = (await client.get(f"/e/{edition.slug}")).text
    slug = edition.slug
    for kind, href in (
        ("application/atom+xml", f"/e/{slug}/offers.atom"),
        ("text/calendar", f"/e/{slug}/programme.ics"),
        ("application/json", f"/e/{slug}/offers/changes.json"),
    ):
        assert f'<link rel="alternate" type="{kind}"' in page
        assert f'href="{href}"' in page
    assert "These data are published under the Licence Ouverte / Etalab 2.0." in page
    for href in (f"/e/{slug}/offers.atom", f"/e/{slug}/programme.ics"):
        assert (await client.get(href)).status_code == 200


async def test_feeds_read_a_fixed_number_of_statements(
    app: Any, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, _ = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth)
    await db.commit(session)
    slug = edition.slug
    paths = [
        "/sitemap.xml",
        f"/e/{slug}/offers/changes.json",
        f"/e/{slug}/offers.atom",
        f"/e/{slug}/programme.ics",
        f"/e/{slug}/booths/{booth.id}/talks.ics",
    ]

    async def statements() -> list[int]:
        counts = []
        for path in paths:
            with cold(app) as seen:
                assert (await client.get(path)).status_code == 200, path
            counts.append(len(seen))
        return counts

    few = await statements()
    for _ in range(3):
        more, recruiter = await f.booth(session, edition_=edition)
        await f.offer(session, booth_=more)
        await f.offer(session, booth_=booth)
        await webconferences.schedule(
            session, by=recruiter, edition=edition, booth=more, data=f.talk([recruiter])
        )
        await webconferences.schedule(
            session, by=organiser, edition=edition, booth=booth, data=f.talk([organiser])
        )
    await db.commit(session)
    many = await statements()
    assert many == few
