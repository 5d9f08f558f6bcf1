"""Communes with coordinates, and distances on the Earth's surface."""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "communes.json"
EARTH_KM = 6371.0088


@dataclass(frozen=True)
class Commune:
    name: str
    postcode: str
    latitude: float
    longitude: float


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("-", " ").replace("'", " ").split())


@cache
def communes() -> list[Commune]:
    with DATA.open(encoding="utf-8") as handle:
        return [Commune(n, p, lat, lon) for n, p, lat, lon in json.load(handle)]


@cache
def _index() -> dict[str, Commune]:
    return {_fold(c.name): c for c in communes()}


def find(name: str, postcode: str = "") -> Commune | None:
    """The commune called `name` (accents, case and hyphens ignored), or the one at `postcode`."""
    found = _index().get(_fold(name)) if name.strip() else None
    if found is None and postcode.strip():
        found = next((c for c in communes() if c.postcode == postcode.strip()), None)
    return found


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
