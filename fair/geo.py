"""French communes (INSEE code, postcodes, département, EPCI, coordinates) and distances.

The list is fair/data/communes.json.gz, built by `python -m fair.communes_build` (its docstring
names the sources and their licences): every current commune of the 101 départements. It is
read once, on first use.
"""

from __future__ import annotations

import gc
import gzip
import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

DATA = Path(__file__).resolve().parent / "data" / "communes.json.gz"
EARTH_KM = 6371.0088
# "Gignac (34150)": a name with the postcode that tells homonyms apart.
LABELLED = re.compile(r"(.*\S)\s*\((\d{5})\)\s*")
DIGITS = re.compile(r"\d{5}")
INSEE = re.compile(r"\d{5}|2[AB]\d{3}")  # Corsica's codes have a letter
# How many communes an ambiguity message lists.
CHOICES_SHOWN = 10
UNKNOWN = "Unknown commune: enter its name or its postcode."
AMBIGUOUS = "Several communes are called %(typed)s: %(choices)s. Type the one you mean as shown."
SHARED_POSTCODE = (
    "The postcode %(typed)s serves several communes: %(choices)s. Type the one you mean as shown."
)


@dataclass(frozen=True, slots=True)
class Epci:
    """An EPCI à fiscalité propre (métropole, communauté urbaine, d'agglomération, de communes)."""

    siren: str
    name: str


class Commune(NamedTuple):
    """A commune (a named tuple: 35,000 of them are made at load, three times faster than
    frozen dataclasses)."""

    code: str  # INSEE
    name: str
    postcodes: tuple[str, ...]
    departement: str
    epci: Epci | None
    latitude: float
    longitude: float
    population: int
    # The name, or "name (postcode)" when other communes share the name: what a form shows.
    label: str

    @property
    def postcode(self) -> str:
        """The commune's main postcode (its first)."""
        return self.postcodes[0]


def _plain(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))


# Latin letters with their accents taken off, and hyphens, apostrophes and dots ("St.") made
# spaces (no commune name has a dot), in one
# str.translate (35,000 names are folded at load: a per-character normalisation took a second).
FOLD = str.maketrans(
    {chr(n): _plain(chr(n)) for n in range(0xC0, 0x250)} | {"-": " ", "'": " ", "’": " ", ".": " "}
)


# The abbreviations people type for the saints of commune names ("st jean de vedas"); no commune
# name has these words otherwise.
SAINTS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def _fold(text: str) -> str:
    text = text.lower().translate(FOLD)
    if not text.isascii():
        text = _plain(text)
    return " ".join(SAINTS.get(word, word) for word in text.split())


@dataclass(frozen=True, slots=True)
class _Tables:
    communes: tuple[Commune, ...]  # by INSEE code
    epcis: tuple[Epci, ...]
    departements: dict[str, str]
    by_code: dict[str, Commune]
    by_name: dict[str, tuple[Commune, ...]]  # folded name → communes
    by_postcode: dict[str, tuple[Commune, ...]]
    # Other names of communes: arrondissements, former communes merged into a commune nouvelle.
    former_code: dict[str, Commune]
    former_name: dict[str, tuple[Commune, ...]]


def _departement(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


@cache
def _tables() -> _Tables:
    """Read the file once (about 0.2 s and 25 MB) and index it."""
    paused = gc.isenabled()
    gc.disable()  # 35,000 objects at once: generational collection passes would double the time
    try:
        with gzip.open(DATA, "rt", encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
        return _index(data)
    finally:
        if paused:
            gc.enable()


def _index(data: dict[str, Any]) -> _Tables:
    epcis = tuple(Epci(siren, name) for siren, name in data["epci"])
    rows = data["communes"]
    folded = [_fold(row[1]) for row in rows]
    homonyms = Counter(folded)
    found = []
    for (code, name, postcodes, epci, lat, lon, people), key in zip(rows, folded, strict=True):
        codes = tuple(postcodes.split())
        label = name if homonyms[key] == 1 else f"{name} ({codes[0]})"
        group = epcis[epci] if epci >= 0 else None
        found.append(Commune(code, name, codes, _departement(code), group, lat, lon, people, label))
    by_name: dict[str, list[Commune]] = {}
    by_postcode: dict[str, list[Commune]] = {}
    # The most populous first: the commune a shared postcode or name most likely means.
    for commune, key in sorted(
        zip(found, folded, strict=True), key=lambda pair: -pair[0].population
    ):
        by_name.setdefault(key, []).append(commune)
        for postcode in commune.postcodes:
            by_postcode.setdefault(postcode, []).append(commune)
    by_code = {c.code: c for c in found}
    former_name: dict[str, list[Commune]] = {}
    for name, _code, parent in data["aliases"]:
        group = former_name.setdefault(_fold(name), [])
        if by_code[parent] not in group:
            group.append(by_code[parent])
    return _Tables(
        communes=tuple(found),
        epcis=epcis,
        departements=data["departements"],
        by_code=by_code,
        by_name={key: tuple(value) for key, value in by_name.items()},
        by_postcode={key: tuple(value) for key, value in by_postcode.items()},
        former_code={code: by_code[parent] for _name, code, parent in data["aliases"]},
        former_name={key: tuple(value) for key, value in former_name.items()},
    )


def load() -> None:
    """Read and index the commune list now (processes call it in a thread at start-up, so
    that the first request needing a commune does not spend 0.3 s of CPU on the event loop)."""
    _tables()


def communes() -> tuple[Commune, ...]:
    """Every commune, by INSEE code."""
    return _tables().communes


def epcis() -> tuple[Epci, ...]:
    """Every EPCI à fiscalité propre."""
    return _tables().epcis


def departement_name(code: str) -> str:
    """The name of the département `code` ("Hérault" for "34"); "" for an unknown code."""
    return _tables().departements.get(code, "")


def by_code(code: str) -> Commune | None:
    """The commune with this INSEE code ("34172" is Montpellier), or the one that took over a
    former code (an arrondissement's: "75111" is Paris; a commune merged into another)."""
    tables, code = _tables(), code.strip().upper()
    return tables.by_code.get(code) or tables.former_code.get(code)


def by_postcode(postcode: str) -> tuple[Commune, ...]:
    """The communes a postcode serves (one or several)."""
    return _tables().by_postcode.get(postcode.strip(), ())


def by_name(name: str) -> tuple[Commune, ...]:
    """The communes called `name`, accents, case, hyphens and apostrophes ignored; failing any,
    those that took over a former commune or an arrondissement of that name ("Paris 11e
    Arrondissement" is Paris)."""
    tables, key = _tables(), _fold(name)
    return tables.by_name.get(key) or tables.former_name.get(key, ())


def in_epci(siren: str) -> tuple[Commune, ...]:
    """The member communes of an EPCI."""
    return tuple(c for c in communes() if c.epci is not None and c.epci.siren == siren)


def in_departement(code: str) -> tuple[Commune, ...]:
    """The communes of a département, in alphabetical order (accents aside)."""
    return _in_departement(code.strip().upper())


@cache
def _in_departement(code: str) -> tuple[Commune, ...]:
    found = (c for c in communes() if c.departement == code)
    return tuple(sorted(found, key=lambda c: (_fold(c.label), c.label)))  # Écully before Ennery


def resolve(text: str, postcode: str = "") -> tuple[Commune, ...]:
    """The communes a form's commune field designates: a postcode ("34400"), a name
    ("Lunel"), a label ("Gignac (34150)"); `postcode`, from a separate field, tells
    homonyms apart. Several results mean the text is ambiguous; none, that it is unknown.
    A five-character text that is no postcode is tried as an INSEE code ("2A004")."""
    text, postcode = text.strip(), postcode.strip()
    if INSEE.fullmatch(text.upper()):
        served = by_postcode(text)
        if served:
            return served
        found = by_code(text)
        return (found,) if found else ()
    labelled = LABELLED.fullmatch(text)
    if labelled:
        text, postcode = labelled.group(1), labelled.group(2)
    named = by_name(text) if text else by_postcode(postcode)
    if len(named) > 1 and postcode:
        return tuple(c for c in named if postcode in c.postcodes) or named
    return named


def find(name: str, postcode: str = "") -> Commune | None:
    """The one commune `name` (and `postcode`) designate, or None if unknown or ambiguous."""
    found = resolve(name, postcode)
    return found[0] if len(found) == 1 else None


def epci_of(commune: str, postcode: str = "") -> Epci | None:
    """The EPCI of a stored commune (an offer's name and postcode, a profile's label); None
    for a commune in no EPCI, or one not found (or ambiguous)."""
    place = find(commune, postcode)
    return place.epci if place else None


def centre_of(text: str) -> tuple[Commune, ...]:
    """The place a "near …" filter measures from: as `resolve`, but a postcode shared by several
    communes means its most populous one (a radius around it covers its neighbours)."""
    found = resolve(text)
    return found[:1] if DIGITS.fullmatch(text.strip()) else found


@dataclass(frozen=True)
class Lookup:
    """A form field's commune, or the error (an English msgid and its parameters) to show."""

    commune: Commune | None
    error: str = ""
    params: dict[str, str] = field(default_factory=dict)


def lookup(found: tuple[Commune, ...], text: str, *, unknown: str = UNKNOWN) -> Lookup:
    """One commune from `resolve`'s (or `centre_of`'s) answer to `text`, or why not."""
    if len(found) == 1:
        return Lookup(found[0])
    if not found:
        return Lookup(None, unknown)
    typed = text.strip()
    message = SHARED_POSTCODE if DIGITS.fullmatch(typed) else AMBIGUOUS
    return Lookup(None, message, {"choices": choices(found, typed), "typed": typed})


def choices(found: tuple[Commune, ...], postcode: str = "") -> str:
    """The ambiguous matches as a user may type them: "Gignac (34150), Gignac (46600), …"."""
    shown = [
        f"{c.name} ({postcode if postcode in c.postcodes else c.postcode})"
        for c in found[:CHOICES_SHOWN]
    ]
    return ", ".join(shown) + (", …" if len(found) > CHOICES_SHOWN else "")


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing the circle of radius `km`."""
    dlat = math.degrees(km / EARTH_KM)
    dlon = math.degrees(km / (EARTH_KM * max(math.cos(math.radians(lat)), 1e-6)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


# Place filters -------------------------------------------------------------------------------
# The offer search, the CV pool and the booth hall read "near a commune (or a point), within a
# radius" the same way, here: one parser, the same errors.

NO_POSTCODE = "No commune has the postcode %(typed)s: check it, or type the commune's name."
NO_NAME = "No commune is called %(typed)s: check its spelling, or type its postcode."
# "34", "340": digits that are no postcode (a département number, a postcode begun).
SHORT_POSTCODE = "A postcode has five digits: type the commune's in full, or its name."
NO_ORIGIN = "Choose the commune the distance is measured from."
BAD_RADIUS = "Choose a distance from the list."
BAD_POSITION = "Your position could not be read: use the button again, or type a commune."
# "Lattes 34970", "34970 Lattes", "34 970": a commune typed with its postcode, as on a letter.
NAME_THEN_POSTCODE = re.compile(r"(.*[^\d\s])\s*\(?(\d{2}) ?(\d{3})\)?")
POSTCODE_THEN_NAME = re.compile(r"(\d{2}) ?(\d{3})\s+(\D.*)")
SPACED_POSTCODE = re.compile(r"(\d{2}) (\d{3})")
# "43.61,3.88": a position (the search's "around me"), in degrees.
POSITION = re.compile(r"\s*(-?\d{1,2}(?:\.\d{1,8})?)\s*,\s*(-?\d{1,3}(?:\.\d{1,8})?)\s*")
POSITION_DIGITS = 2  # a position is kept to 0.01° (about a kilometre): no one's doorstep


class Point(NamedTuple):
    """A position a distance is measured from (a visitor's, rounded: `position`)."""

    latitude: float
    longitude: float

    @property
    def label(self) -> str:
        return f"{self.latitude:.{POSITION_DIGITS}f},{self.longitude:.{POSITION_DIGITS}f}"


Origin = Commune | Point


def position(text: str) -> Point | None:
    """The point "latitude,longitude" (degrees) names, rounded to POSITION_DIGITS; None if the
    text is no position on Earth."""
    found = POSITION.fullmatch(text)
    if found is None:
        return None
    lat, lon = (round(float(found.group(i)), POSITION_DIGITS) for i in (1, 2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Point(lat, lon)


def _as_typed(text: str) -> tuple[Commune, ...]:
    """`centre_of`, also reading a name with its postcode in either order, and a postcode
    written with a space ("34 970")."""
    text = " ".join(text.split())
    spaced = SPACED_POSTCODE.fullmatch(text)
    if spaced:
        return centre_of(spaced.group(1) + spaced.group(2))
    found = centre_of(text)
    if found:
        return found
    after = NAME_THEN_POSTCODE.fullmatch(text)
    if after:
        return resolve(after.group(1), after.group(2) + after.group(3))
    before = POSTCODE_THEN_NAME.fullmatch(text)
    if before:
        return resolve(before.group(3), before.group(1) + before.group(2))
    return ()


@dataclass(frozen=True)
class Place:
    """A place filter read: where distances are measured from (None: nowhere), the radius, and
    the errors per field (English msgids, with their parameters) to show."""

    origin: Origin | None
    radius_km: int
    errors: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def place(
    commune: str,
    radius_km: int,
    *,
    radii: tuple[int, ...],
    near: str = "",
    needs_origin: bool = False,
) -> Place:
    """Read a "near" filter: a commune by name, label or postcode (`commune`, the form's
    field), or else a position (`near`, "lat,lon" from the browser's "around me"), and a
    radius that must be one of `radii` (0: any distance). `needs_origin`: the caller measures
    distances (a sort by distance, a reachability filter) even without a radius."""
    errors: dict[str, str] = {}
    params: dict[str, str] = {}
    origin: Origin | None = None
    typed = commune.strip()
    if typed:
        found = lookup(_as_typed(typed), typed)
        origin = found.commune
        if origin is None and found.error != UNKNOWN:  # ambiguous: the choices named
            errors["commune"], params = found.error, dict(found.params)
        elif origin is None:
            digits = typed.replace(" ", "")
            errors["commune"] = (
                NO_POSTCODE
                if DIGITS.fullmatch(digits)
                else SHORT_POSTCODE
                if digits.isdigit()
                else NO_NAME
            )
            params = {"typed": typed}
    elif near.strip():
        origin = position(near)
        if origin is None:  # shown at the commune field, where a place is typed instead
            errors["commune"] = BAD_POSITION
    if radius_km and radius_km not in radii:
        errors["radius_km"] = BAD_RADIUS
    if (radius_km or needs_origin) and not typed and origin is None:
        errors.setdefault("commune", NO_ORIGIN)
    return Place(origin, radius_km, errors, params)
