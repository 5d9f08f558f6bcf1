"""Offers to and from France Travail's job offer JSON shape (Offres d'emploi v2).

Fields the shape has no place for (remote work, priority-public openness, insertion clause, the
day the position is to be filled: France Travail's offers carry no start date) travel in an extra
`fair` object, which France Travail's own consumers ignore.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import offers, parse
from fair.enums import Contract, Experience, WorkingTime
from fair.errors import Invalid
from fair.i18n import gettext
from fair.models import Booth, Employer, Offer

# Our contract -> (typeContrat, natureContrat)
CONTRACTS: dict[str, tuple[str, str]] = {
    Contract.CDI: ("CDI", "Contrat travail"),
    Contract.CDD: ("CDD", "Contrat travail"),
    Contract.TEMPORARY: ("MIS", "Contrat travail"),
    Contract.SEASONAL: ("SAI", "Contrat travail"),
    Contract.APPRENTICESHIP: ("CDD", "Contrat apprentissage"),
    Contract.INTERNSHIP: ("CDD", "Stage"),
}
EXPERIENCE = {Experience.BEGINNER: "D", Experience.WISHED: "S", Experience.REQUIRED: "E"}
WORKING_TIME = {WorkingTime.FULL_TIME: "Temps plein", WorkingTime.PART_TIME: "Temps partiel"}
MAX_IMPORT = 5000


def export_offer(offer: Offer, employer: Employer) -> dict[str, Any]:
    contract, nature = CONTRACTS[Contract(offer.contract)]
    return {
        "id": offer.external_id or f"FAIR{offer.id}",
        "intitule": offer.title,
        "description": offer.description,
        "dateCreation": offer.created_at.isoformat().replace("+00:00", "Z"),
        "dateActualisation": offer.updated_at.isoformat().replace("+00:00", "Z"),
        "lieuTravail": {
            "libelle": f"{offer.postcode[:2]} - {offer.commune}",
            "latitude": offer.latitude,
            "longitude": offer.longitude,
            "codePostal": offer.postcode,
        },
        "romeCode": offer.rome_code,
        "romeLibelle": offer.rome_label,
        "appellationlibelle": offer.title,
        "entreprise": {
            "nom": employer.name,
            "description": employer.description,
            "url": employer.website,
        },
        "typeContrat": contract,
        "natureContrat": nature,
        "dureeTravailLibelleConverti": WORKING_TIME[WorkingTime(offer.working_time)],
        "experienceExige": EXPERIENCE[Experience(offer.experience)],
        "formations": [{"niveauLibelle": offer.qualification}] if offer.qualification else [],
        "competences": [{"libelle": skill} for skill in offer.skills],
        "salaire": {"libelle": offer.salary} if offer.salary else {},
        "nombrePostes": offer.positions,
        "accessibleTH": offer.open_disabled,
        "fair": {
            "remote": offer.remote,
            "insertionClause": offer.insertion_clause,
            "openSeniors": offer.open_seniors,
            "openUnder26": offer.open_under26,
            "noDiploma": offer.no_diploma,
            "startsOn": offer.starts_on.isoformat() if offer.starts_on else None,
        },
    }


def to_input(data: dict[str, Any]) -> offers.OfferInput:
    """Read one offer in France Travail's shape; raises Invalid naming what is wrong."""
    try:
        place = data.get("lieuTravail") or {}
        label = _line(place.get("libelle", ""))
        commune = label.split(" - ", 1)[1] if " - " in label else label
        contract = _contract(str(data.get("typeContrat", "")), str(data.get("natureContrat", "")))
        extra = data.get("fair") or {}
        experience = {v: k for k, v in EXPERIENCE.items()}.get(
            str(data.get("experienceExige", "D")), Experience.BEGINNER
        )
        working = {v: k for k, v in WORKING_TIME.items()}.get(
            str(data.get("dureeTravailLibelleConverti", "")), WorkingTime.FULL_TIME
        )
        formations = data.get("formations") or []
        return offers.OfferInput(
            external_id=_line(data.get("id", ""))[:40],
            title=_line(data["intitule"]),
            description=parse.paragraphs(str(data.get("description", ""))),
            rome_code=_line(data.get("romeCode", "")),
            rome_label=_line(data.get("romeLibelle", "")),
            contract=contract,
            working_time=working.value,
            commune=commune.strip(),
            postcode=_line(place.get("codePostal", "")),
            latitude=_coordinate(parse.latitude, place.get("latitude")),
            longitude=_coordinate(parse.longitude, place.get("longitude")),
            experience=experience.value,
            positions=_positions(data.get("nombrePostes")),
            salary=_line((data.get("salaire") or {}).get("libelle", "")),
            qualification=_line(formations[0].get("niveauLibelle", "")) if formations else "",
            skills=[_line(c.get("libelle", "")) for c in data.get("competences") or []],
            open_disabled=bool(data.get("accessibleTH", False)),
            remote=bool(extra.get("remote", False)),
            insertion_clause=bool(extra.get("insertionClause", False)),
            open_seniors=bool(extra.get("openSeniors", False)),
            open_under26=bool(extra.get("openUnder26", False)),
            no_diploma=bool(extra.get("noDiploma", False)),
            starts_on=_day(extra.get("startsOn")),
        )
    except parse.ParseError as exc:
        raise Invalid(
            "This offer is not in France Travail's format: %(error)s",
            code="import.bad_offer",
            params={"error": gettext(exc.message, **exc.params)},
        ) from exc
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise Invalid(
            "This offer is not in France Travail's format: %(error)s",
            code="import.bad_offer",
            params={"error": str(exc)},
        ) from exc


def _contract(kind: str, nature: str) -> str:
    if nature == "Contrat apprentissage":
        return Contract.APPRENTICESHIP.value
    if nature == "Stage":
        return Contract.INTERNSHIP.value
    return {"CDI": "cdi", "CDD": "cdd", "MIS": "temporary", "SAI": "seasonal"}.get(kind, "cdd")


def _line(value: Any) -> str:
    """Text of a single-line field: no line break or control character (mail headers). JSON
    null is an empty field; an object or a list where text belongs is refused."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise parse.ParseError("Enter text.", code="input.text")
    return parse.line(str(value))


def _coordinate(read: Callable[[Any], float], value: Any) -> float | None:
    """A latitude or longitude (a number or its text); nan, inf and out-of-range refused."""
    return None if value is None or value == "" else read(value)


def _day(value: Any) -> date | None:
    """A day written YYYY-MM-DD (fair.parse.day); null or empty: as soon as possible."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise parse.ParseError("Enter a date.", code="input.date")
    return parse.day(value)


def _positions(value: Any) -> int:
    if value is None or value == "":
        return 1
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise parse.ParseError("Enter a whole number.", code="input.integer")
    return parse.integer(str(value), lo=1, hi=1000)


async def import_offers(session: AsyncSession, *, booth: Booth, payload: Any) -> list[Offer]:
    """Create the offers of `payload` (a list, or France Travail's {"resultats": [...]})."""
    items = payload.get("resultats") if isinstance(payload, dict) else payload
    if not isinstance(items, list) or not items:
        raise Invalid(
            "The file holds no offers: expected a JSON list or an object with “resultats”.",
            code="import.empty",
        )
    if len(items) > MAX_IMPORT:
        raise Invalid(
            "At most %(max)s offers per import.", code="import.too_many", params={"max": MAX_IMPORT}
        )
    created = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise Invalid(
                "Offer %(n)s is not a JSON object.", code="import.bad_offer", params={"n": number}
            )
        try:
            created.append(await offers.create(session, booth=booth, data=to_input(item)))
        except Invalid as exc:
            detail = "; ".join(f"{k}: {gettext(v)}" for k, v in exc.fields.items())
            detail = detail or gettext(exc.message, **exc.params)
            raise Invalid(
                "Offer %(n)s cannot be imported (%(detail)s). Nothing was imported.",
                code="import.bad_offer",
                params={"n": number, "detail": detail},
            ) from exc
    return created
