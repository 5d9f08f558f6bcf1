"""schema.org structured data of the public pages, as plain dicts (JSON-LD): JobPosting for an
offer, Event for an edition and a webconference, Organization for an employer's booth.

Follows Google's JobPosting and Event documentation (their required and recommended fields)
and schema.org. Absolute URLs come from the caller (the web boundary knows the routes and the
configured base URL). `dumps` writes the JSON for a `<script type="application/ld+json">`
element: every `<` escaped, so no `</script>` can close it early.

The data published here, as in the feeds, is under the data licence `LICENCE`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fair import clock, editions
from fair.enums import Contract, EditionStatus, WebconferenceAccess, WebconferenceStatus
from fair.models import Edition, Employer, Offer, Webconference

LICENCE = "Licence Ouverte / Etalab 2.0"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
CONTEXT = "https://schema.org"
ONLINE = "https://schema.org/OnlineEventAttendanceMode"

# Google's employmentType values for each contract (beside FULL_TIME or PART_TIME).
EMPLOYMENT = {
    Contract.CDI: None,
    Contract.CDD: "TEMPORARY",
    Contract.TEMPORARY: "TEMPORARY",
    Contract.SEASONAL: "TEMPORARY",
    Contract.APPRENTICESHIP: "OTHER",
    Contract.INTERNSHIP: "INTERN",
}
_HOURS = {"full_time": "FULL_TIME", "part_time": "PART_TIME"}
# A salary's period as it is written in French offers, and its unitText.
_PERIODS = (
    (re.compile(r"\b(mensuel|mois)\b|/\s*mois", re.I), "MONTH"),
    (re.compile(r"\b(annuel|an|ans|année)\b|/\s*an\b", re.I), "YEAR"),
    (re.compile(r"\b(horaire|heure)\b|/\s*h\b", re.I), "HOUR"),
    (re.compile(r"\b(hebdomadaire|semaine)\b", re.I), "WEEK"),
    (re.compile(r"\b(journalier|jour)\b", re.I), "DAY"),
)
# An amount in euros: 1800 €, 1 800 €, 1.800 euros, 1 800,50 € (no-break spaces too).
_AMOUNT = re.compile(
    r"(\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?:,\d{1,2})?|\d+(?:,\d{1,2})?)"
    r"[ \u00a0\u202f]*(?:€|euros?\b|EUR\b)",
    re.I,
)
_NO_SEPARATORS = str.maketrans("", "", " \u00a0\u202f.")


def listed(edition: Edition, now: datetime | None = None) -> bool:
    """Whether an edition's offers are still advertised: published, neither closed nor archived
    (a closed edition's offers lose their JobPosting and leave the sitemap; the delta feed
    gives them as removed)."""
    status = editions.status_at(edition, now or clock.now())
    return status not in (EditionStatus.DRAFT, EditionStatus.CLOSED, EditionStatus.ARCHIVED)


def dumps(data: dict[str, Any]) -> str:
    """JSON for a script element of type application/ld+json (`<`, `>`, `&` escaped)."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def salary(text: str) -> dict[str, Any] | None:
    """A MonetaryAmount from a salary as written ("1 800 € à 2 100 € brut mensuel"), or None
    when it gives no amount in euros, more than two, or no period (then the JobPosting has no
    baseSalary)."""
    unit = next((u for pattern, u in _PERIODS if pattern.search(text)), None)
    amounts = [float(a.translate(_NO_SEPARATORS).replace(",", ".")) for a in _AMOUNT.findall(text)]
    amounts = [a for a in amounts if a > 0]
    if unit is None or not amounts or len(amounts) > 2:
        return None
    value: dict[str, Any] = {"@type": "QuantitativeValue", "unitText": unit}
    if len(amounts) == 1:
        value["value"] = _number(amounts[0])
    else:
        value["minValue"], value["maxValue"] = _number(min(amounts)), _number(max(amounts))
    return {"@type": "MonetaryAmount", "currency": "EUR", "value": value}


def _number(amount: float) -> int | float:
    return int(amount) if amount.is_integer() else amount


def employment_type(offer: Offer) -> list[str]:
    """Google's employmentType: the working time, and what the contract adds to it."""
    kinds = [_HOURS.get(offer.working_time, "FULL_TIME")]
    extra = EMPLOYMENT.get(Contract(offer.contract))
    if extra == "INTERN":
        return ["INTERN"]
    return kinds + [extra] if extra else kinds


def organization(
    employer: Employer, *, url: str = "", logo_url: str = "", details: bool = False
) -> dict[str, Any]:
    """An employer as an Organization: its name, its website (sameAs), its logo; with
    `details` (its booth page) also its description, place and SIRET."""
    data: dict[str, Any] = {"@type": "Organization", "name": employer.name}
    if url:
        data["url"] = url
    if employer.website:
        data["sameAs"] = employer.website
    if logo_url:
        data["logo"] = logo_url
    if details:
        if employer.description:
            data["description"] = employer.description
        data["address"] = {
            "@type": "PostalAddress",
            "addressLocality": employer.commune,
            "addressCountry": "FR",
        }
        data["identifier"] = {"@type": "PropertyValue", "name": "SIRET", "value": employer.siret}
    return data


def employer_page(employer: Employer, *, url: str, logo_url: str = "") -> dict[str, Any]:
    """The Organization of a booth's page."""
    return {"@context": CONTEXT, **organization(employer, url=url, logo_url=logo_url, details=True)}


@dataclass(frozen=True)
class OfferLinks:
    """The absolute URLs a JobPosting names."""

    page: str
    logo: str = ""  # the employer's logo, if any


def job_posting(
    offer: Offer,
    edition: Edition,
    employer: Employer,
    links: OfferLinks,
    *,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """The JobPosting of a public offer; None once it is unpublished or its edition closed."""
    now = now or clock.now()
    if not offer.published or not listed(edition, now):
        return None
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "JobPosting",
        "title": offer.title,
        "description": offer.description,
        "url": links.page,
        "datePosted": offer.created_at.astimezone(ZoneInfo(edition.timezone)).date().isoformat(),
        "validThrough": _local(edition.applications_close_at, edition.timezone),
        "employmentType": employment_type(offer),
        "hiringOrganization": organization(employer, logo_url=links.logo),
        "jobLocation": {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                "addressLocality": offer.commune,
                "postalCode": offer.postcode,
                "addressCountry": "FR",
            },
            "geo": {
                "@type": "GeoCoordinates",
                "latitude": offer.latitude,
                "longitude": offer.longitude,
            },
        },
        "identifier": {
            "@type": "PropertyValue",
            "name": employer.name,
            "value": str(offer.id),
        },
        "directApply": editions.applications_open(edition, now),
        "occupationalCategory": f"{offer.rome_code} {offer.rome_label}",
        "totalJobOpenings": offer.positions,
    }
    amount = salary(offer.salary)
    if amount is not None:
        data["baseSalary"] = amount
    if offer.skills:
        data["skills"] = ", ".join(offer.skills)
    if offer.starts_on is not None:
        data["jobStartDate"] = offer.starts_on.isoformat()
    if offer.remote:
        data["jobLocationType"] = "TELECOMMUTE"
        data["applicantLocationRequirements"] = {"@type": "Country", "name": "FR"}
    return data


def _event_status(cancelled: bool) -> str:
    return "https://schema.org/EventCancelled" if cancelled else "https://schema.org/EventScheduled"


def _free(url: str, valid_from: datetime, zone: str, *, sold_out: bool = False) -> dict[str, Any]:
    return {
        "@type": "Offer",
        "price": 0,
        "priceCurrency": "EUR",
        "availability": f"https://schema.org/{'SoldOut' if sold_out else 'InStock'}",
        "url": url,
        "validFrom": _local(valid_from, zone),
    }


def edition_organizer(edition: Edition, url: str) -> dict[str, Any]:
    """Who organises the edition, as schema.org sees it: its territory's organisers."""
    return {"@type": "Organization", "name": edition.territory, "url": url}


def edition_event(
    edition: Edition, *, url: str, registration_url: str, image_url: str = ""
) -> dict[str, Any]:
    """The Event of an edition's page: from its first live day's opening to its last's closing
    (its application window when it has no live day), online, free to register."""
    bounds = editions.live_bounds(edition)
    starts, ends = bounds or (edition.applications_open_at, edition.applications_close_at)
    zone = edition.timezone
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "Event",
        "name": edition.title,
        "description": edition.description or edition.title,
        "url": url,
        "startDate": _local(starts, zone),
        "endDate": _local(ends, zone),
        "eventAttendanceMode": ONLINE,
        "eventStatus": _event_status(False),
        "location": {"@type": "VirtualLocation", "url": url},
        "organizer": edition_organizer(edition, url),
        "offers": _free(registration_url, edition.published_at or edition.created_at, zone),
        "isAccessibleForFree": True,
        "inLanguage": "fr",
    }
    if image_url:
        data["image"] = [image_url]
    return data


@dataclass(frozen=True)
class TalkContext:
    """What a webconference's Event names besides the row: the absolute URLs, its organiser
    (the booth's employer, else the edition's), its presenters and whether seats remain."""

    url: str
    edition_url: str
    organizer: dict[str, Any]
    presenters: tuple[str, ...] = ()
    sold_out: bool = False


def webconference_event(
    webconference: Webconference, edition: Edition, context: TalkContext
) -> dict[str, Any]:
    """The Event of a webconference's page: online at its page, free, cancelled or not."""
    zone = edition.timezone
    cancelled = webconference.status == WebconferenceStatus.CANCELLED
    registered_only = webconference.access == WebconferenceAccess.REGISTERED
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "Event",
        "name": webconference.title,
        "description": webconference.description or webconference.title,
        "url": context.url,
        "startDate": _local(webconference.starts_at, zone),
        "endDate": _local(webconference.ends_at, zone),
        "eventAttendanceMode": ONLINE,
        "eventStatus": _event_status(cancelled),
        "location": {"@type": "VirtualLocation", "url": context.url},
        "organizer": context.organizer,
        "offers": _free(
            context.url,
            webconference.created_at,
            zone,
            sold_out=registered_only and context.sold_out,
        ),
        "isAccessibleForFree": True,
        "inLanguage": "fr",
        "superEvent": {"@type": "Event", "name": edition.title, "url": context.edition_url},
    }
    if context.presenters:
        data["performer"] = [{"@type": "Person", "name": n} for n in context.presenters]
    return data
