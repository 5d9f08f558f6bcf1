"""schema.org JSON-LD of the public pages (fair.structured_data through the pages): JobPosting
on an offer's page, Event on an edition's and a webconference's page, Organization on a
booth's page; each checked whole and against the fields Google's JobPosting and Event
documentation require and recommend. Closed and unpublished offers have none."""

from __future__ import annotations

import json
import re
from datetime import date, time, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from fair import branding, clock, db, files, images, offers, structured_data, webconferences
from fair.enums import FileKind, Role
from tests import factories as f
from tests.factories import NOON
from tests.pictures import picture

BASE = "http://127.0.0.1:8000"  # the default BASE_URL the tests run with
# Google Search Central, "Job posting (JobPosting) structured data": required and recommended.
JOB_REQUIRED = {"datePosted", "description", "hiringOrganization", "jobLocation", "title"}
JOB_RECOMMENDED = {
    "applicantLocationRequirements",  # for remote jobs
    "baseSalary",  # when known
    "directApply",
    "employmentType",
    "identifier",
    "jobLocationType",  # for remote jobs
    "validThrough",
}
# Google Search Central, "Event structured data" (online events), and schema.org Event.
EVENT_REQUIRED = {"location", "name", "startDate"}
EVENT_RECOMMENDED = {
    "description",
    "endDate",
    "eventAttendanceMode",
    "eventStatus",
    "offers",
    "organizer",
}


def free(url: str) -> dict[str, Any]:
    """A free registration from noon on 10 March 2026 (when the objects were made)."""
    return {
        "@type": "Offer",
        "price": 0,
        "priceCurrency": "EUR",
        "availability": "https://schema.org/InStock",
        "url": url,
        "validFrom": "2026-03-10T12:00:00+01:00",
    }


def json_ld(page: str) -> list[dict[str, Any]]:
    """Every JSON-LD block of a page, parsed."""
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return [json.loads(b) for b in blocks]


async def test_an_offer_page_carries_its_job_posting(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)  # Tuesday 10 March 2026, 12:00 in Paris
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    employer = booth.employer
    logo = await files.store(
        session,
        owner_id=recruiter.id,
        kind=FileKind.LOGO,
        filename="logo.png",
        data=f.png_bytes(),
        content_type="image/png",
    )
    employer.logo_file_id = logo.id
    offer = await f.offer(
        session,
        booth_=booth,
        salary="1 800 € à 2 100 € brut mensuel",
        remote=True,
        working_time="part_time",
        contract="cdd",
        skills=["Habilitation électrique", "Travail en équipe"],
        starts_on=date(2026, 4, 1),
    )
    await db.commit(session)

    [posting] = json_ld((await client.get(f"/offers/{offer.id}")).text)

    assert posting == {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": "Électricien du bâtiment (H/F)",
        "description": "Installation et maintenance électrique sur chantiers.",
        "url": f"{BASE}/offers/{offer.id}",
        "datePosted": "2026-03-10",
        "validThrough": "2026-03-17T12:00:00+01:00",
        "employmentType": ["PART_TIME", "TEMPORARY"],
        "hiringOrganization": {
            "@type": "Organization",
            "name": employer.name,
            "sameAs": "https://example.fr",
            "logo": f"{BASE}/files/logos/{logo.id}",
        },
        "jobLocation": {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                "addressLocality": "Montpellier",
                "postalCode": "34000",
                "addressCountry": "FR",
            },
            "geo": {
                "@type": "GeoCoordinates",
                "latitude": offer.latitude,
                "longitude": offer.longitude,
            },
        },
        "identifier": {"@type": "PropertyValue", "name": employer.name, "value": str(offer.id)},
        "directApply": True,
        "occupationalCategory": f"F1602 {offer.rome_label}",
        "totalJobOpenings": 1,
        "baseSalary": {
            "@type": "MonetaryAmount",
            "currency": "EUR",
            "value": {
                "@type": "QuantitativeValue",
                "unitText": "MONTH",
                "minValue": 1800,
                "maxValue": 2100,
            },
        },
        "skills": "Habilitation électrique, Travail en équipe",
        "jobStartDate": "2026-04-01",
        "jobLocationType": "TELECOMMUTE",
        "applicantLocationRequirements": {"@type": "Country", "name": "FR"},
    }
    assert JOB_REQUIRED | JOB_RECOMMENDED <= set(posting)
    assert isinstance(posting["jobLocation"]["geo"]["latitude"], float)


async def test_fields_left_out_when_unknown_and_the_posting_gone_when_closed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, salary="Selon profil", contract="internship")
    hidden = await f.offer(session, booth_=booth, title="Retirée")
    await offers.set_published(session, hidden, False)
    await db.commit(session)

    [posting] = json_ld((await client.get(f"/offers/{offer.id}")).text)
    assert JOB_REQUIRED <= set(posting)
    assert JOB_RECOMMENDED - set(posting) == {
        "baseSalary",
        "jobLocationType",
        "applicantLocationRequirements",
    }
    assert posting["employmentType"] == ["INTERN"]
    assert posting["hiringOrganization"] == {
        "@type": "Organization",
        "name": booth.employer.name,
        "sameAs": "https://example.fr",
    }

    # Unpublished: no page at all; the edition closed: the page stays, without a posting.
    assert (await client.get(f"/offers/{hidden.id}")).status_code == 404
    clock.set_now(NOON + timedelta(days=30))
    page = await client.get(f"/offers/{offer.id}")
    assert (page.status_code, json_ld(page.text)) == (200, [])


def test_salaries_read_only_when_a_number_and_a_period_are_given() -> None:
    amounts = {
        text: structured_data.salary(text)
        for text in (
            "2 000 € brut mensuel",
            "11,65 € brut horaire",
            "35 000 euros par an",
            "Selon la grille de l'apprentissage",
            "SMIC mensuel",
            "2000 €",
            "de 1 € à 2 € à 3 € par mois",
        )
    }

    def value(unit: str, **kw: float) -> dict[str, Any]:
        quantity = {"@type": "QuantitativeValue", "unitText": unit, **kw}
        return {"@type": "MonetaryAmount", "currency": "EUR", "value": quantity}

    assert amounts == {
        "2 000 € brut mensuel": value("MONTH", value=2000),
        "11,65 € brut horaire": value("HOUR", value=11.65),
        "35 000 euros par an": value("YEAR", value=35000),
        "Selon la grille de l'apprentissage": None,
        "SMIC mensuel": None,
        "2000 €": None,  # no period
        "de 1 € à 2 € à 3 € par mois": None,  # not one amount nor a range
    }


def test_json_ld_cannot_close_its_script_element() -> None:
    text = structured_data.dumps({"name": "</script><script>alert(1)</script> & co"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script> & co"}


async def test_edition_and_webconference_pages_carry_their_events(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser, closes=time(23, 59))  # its end rendered
    booth, recruiter = await f.booth(session, edition_=edition)
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser])
    )
    booth_talk = await webconferences.schedule(
        session, by=recruiter, edition=edition, booth=booth, data=f.talk([recruiter], title="Nous")
    )
    await webconferences.cancel(session, by=recruiter, webconference=booth_talk)
    await db.commit(session)
    edition_url = f"{BASE}/e/{edition.slug}"

    [event] = json_ld((await client.get(f"/e/{edition.slug}")).text)
    assert event == {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": edition.title,
        "description": "Un forum en ligne.",
        "url": edition_url,
        "startDate": "2026-03-09T00:00:00+01:00",
        "endDate": "2026-03-13T23:59:00+01:00",
        "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
        "eventStatus": "https://schema.org/EventScheduled",
        "location": {"@type": "VirtualLocation", "url": edition_url},
        "organizer": {"@type": "Organization", "name": "Métropole test", "url": edition_url},
        "offers": free(edition_url),
        "isAccessibleForFree": True,
        "inLanguage": "fr",
    }
    assert EVENT_REQUIRED | EVENT_RECOMMENDED <= set(event)

    # With a banner, the Event's image is its largest size.
    banner = await images.prepare(picture((2000, 500), fmt="JPEG"), images.BANNER, field="b")
    brand = branding.BrandInput(colour="", banner=banner)
    await branding.update(session, edition, by=organiser, data=brand)
    await db.commit(session)
    [event] = json_ld((await client.get(f"/e/{edition.slug}")).text)
    file_id = (await branding.brand_of(session, edition)).banner_file_id
    assert event["image"] == [f"{BASE}/files/images/{file_id}/1440"]
    assert (await client.get(f"/files/images/{file_id}/1440")).status_code == 200

    [event] = json_ld((await client.get(f"/webconferences/{talk.id}")).text)
    talk_url = f"{BASE}/webconferences/{talk.id}"
    assert event == {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": "Réussir son entretien en visio",
        "description": "Conseils pratiques.",
        "url": talk_url,
        "startDate": "2026-03-11T10:00:00+01:00",
        "endDate": "2026-03-11T11:00:00+01:00",
        "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
        "eventStatus": "https://schema.org/EventScheduled",
        "location": {"@type": "VirtualLocation", "url": talk_url},
        "organizer": {"@type": "Organization", "name": "Métropole test", "url": edition_url},
        "offers": free(talk_url),
        "isAccessibleForFree": True,
        "inLanguage": "fr",
        "superEvent": {"@type": "Event", "name": edition.title, "url": edition_url},
        "performer": [{"@type": "Person", "name": organiser.name}],
    }
    assert EVENT_REQUIRED | EVENT_RECOMMENDED <= set(event)

    [event] = json_ld((await client.get(f"/webconferences/{booth_talk.id}")).text)
    assert (event["eventStatus"], event["organizer"], event["performer"]) == (
        "https://schema.org/EventCancelled",
        {"@type": "Organization", "name": booth.employer.name},
        [{"@type": "Person", "name": recruiter.name}],
    )


async def test_a_booth_page_carries_its_organization(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    employer = booth.employer
    await db.commit(session)

    [organization] = json_ld((await client.get(f"/e/{edition.slug}/booths/{booth.id}")).text)

    assert organization == {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": employer.name,
        "url": f"{BASE}/e/{edition.slug}/booths/{booth.id}",
        "sameAs": "https://example.fr",
        "address": {
            "@type": "PostalAddress",
            "addressLocality": "Montpellier",
            "addressCountry": "FR",
        },
        "identifier": {"@type": "PropertyValue", "name": "SIRET", "value": employer.siret},
    }
