"""Where offers are: the distance in SQL from a fixed point, the condition "within so many
kilometres", and the communes the search form suggests."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from sqlalchemy import Float, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo
from fair.enums import BoothStatus
from fair.models import Booth, Employer, Offer
from fair.search.shapes import number


def km_from(lat: float, lon: float, model: Any = Offer) -> Any:
    """Haversine in SQL (SQLite's math functions and PostgreSQL's), in double precision, from
    a fixed point to the position of `model` (offers, the partners' offers, CV pool profiles,
    job searches): the one distance in SQL of fair."""
    lat1 = math.radians(lat)
    return _haversine(lat1, math.radians(lon), math.cos(lat1), model)


def _haversine(lat1: Any, lon1: Any, cos_lat1: Any, model: Any) -> Any:
    """`km_from` from a point given in radians (numbers, or parameters: `distance_from`)."""

    def f(name: str, *args: Any) -> Any:
        return getattr(func, name)(*args, type_=Float)

    lat2, lon2 = f("radians", model.latitude), f("radians", model.longitude)
    half_dlat = f("sin", (lat2 - lat1) * 0.5)
    half_dlon = f("sin", (lon2 - lon1) * 0.5)
    a = half_dlat * half_dlat + cos_lat1 * f("cos", lat2) * half_dlon * half_dlon
    return 2 * geo.EARTH_KM * f("asin", f("sqrt", a))


def distance_from(model: Any = Offer) -> Any:
    """`km_from` the search's place, given at execution (`origin_values`): a statement built
    once serves every place (fair.search.shapes)."""
    return _haversine(number("o_lat_rad"), number("o_lon_rad"), number("o_cos"), model)


def origin_values(origin: geo.Origin | None) -> dict[str, float]:
    """The parameters of a search's place (`distance_from`, `surely_within`, the facets'
    bands); none without one."""
    if origin is None:
        return {}
    lat = math.radians(origin.latitude)
    return {
        "o_lat": origin.latitude,
        "o_lon": origin.longitude,
        "o_lat_rad": lat,
        "o_lon_rad": math.radians(origin.longitude),
        "o_cos": math.cos(lat),
    }


def within_values(origin: geo.Origin, km: float) -> dict[str, float]:
    """The parameters of "within `km` of the search's place" (`surely_within`, the bounding
    box of fair.search.filters)."""
    min_lat, max_lat, min_lon, max_lon = geo.bounding_box(origin.latitude, origin.longitude, km)
    inner = math.degrees(km * (1 - FLAT_MARGIN) / geo.EARTH_KM)  # in degrees of latitude
    return {
        "f_km": km,
        "f_inner2": inner * inner,
        "f_min_lat": min_lat,
        "f_max_lat": max_lat,
        "f_min_lon": min_lon,
        "f_max_lon": max_lon,
    }


# Within 100 km of a French place, the flat-Earth distance (longitudes scaled at the place's
# latitude) errs by under 3 %: 5 % inside a radius, it proves the offer within it alone.
FLAT_MARGIN = 0.05


def surely_within(latitude: Any, longitude: Any) -> Any:
    """The condition "the flat-Earth distance from the search's place to (`latitude`,
    `longitude`) is 5 % under the radius" (`within_values`): true only of positions `km_from`
    puts within it, and cheap (no trigonometry per row), so that `km_from` is computed only
    near the circle's edge."""
    x = (longitude - number("o_lon")) * number("o_cos")
    y = latitude - number("o_lat")
    return x * x + y * y <= number("f_inner2")


def near(origin: geo.Origin, km: int) -> Any:
    """The condition "the offer lies within `km` of `origin`": a bounding box first (the
    position index can serve it), then the exact distance. Also used by fair.hall."""
    min_lat, max_lat, min_lon, max_lon = geo.bounding_box(origin.latitude, origin.longitude, km)
    return and_(
        Offer.latitude.between(min_lat, max_lat),
        Offer.longitude.between(min_lon, max_lon),
        km_from(origin.latitude, origin.longitude) <= km,
    )


async def territory_communes(session: AsyncSession, *, edition_id: int) -> tuple[geo.Commune, ...]:
    """The search form's suggestions: the communes of the départements where most of the
    edition's approved employers are (three at most: a few thousand options). Read from the
    booths (a few hundred rows), not from the offers, which may be a hundred thousand."""
    rows = await session.scalars(
        select(Employer.commune)
        .join(Booth, Booth.employer_id == Employer.id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
    )
    counts = Counter(place.departement for place in map(geo.find, rows) if place is not None)
    return tuple(c for code, _n in counts.most_common(3) for c in geo.in_departement(code))
