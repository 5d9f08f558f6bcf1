"""The commune list (fair/data/communes.json.gz): coverage, lookups by name, postcode and INSEE
code, homonyms and shared postcodes, EPCI, and the distance helpers."""

from __future__ import annotations

import gzip
import json
import unicodedata
from collections import Counter

import pytest

from fair import geo, offers
from tests import factories as f

# Rough boxes (south, north, west, east) around each part of France the list covers.
METROPOLE = (41.3, 51.2, -5.3, 9.6)  # Corsica included
OVERSEAS = {
    "971": (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    "972": (14.3, 14.9, -61.3, -60.8),  # Martinique
    "973": (2.1, 5.8, -54.7, -51.5),  # Guyane
    "974": (-21.4, -20.8, 55.2, 55.9),  # La Réunion
    "976": (-13.1, -12.6, 44.9, 45.4),  # Mayotte
}


def test_every_current_commune_of_the_101_departements_is_there() -> None:
    with gzip.open(geo.DATA, "rt", encoding="utf-8") as handle:
        raw = json.load(handle)
    communes = geo.communes()
    assert len(communes) == len(raw["communes"])
    assert 34_800 <= len(communes) <= 35_100  # 34,875 in the 2026 Code officiel géographique
    assert len({c.code for c in communes}) == len(communes)
    departements = Counter(c.departement for c in communes)
    assert len(departements) == 101  # 94 metropolitan + Corsica's two + five overseas
    assert departements["34"] == 341  # Hérault
    assert departements["75"] == 1  # Paris, its arrondissements are not communes
    assert "Licence Ouverte" in raw["licence"] and "decoupage-administratif" in raw["source"]


def test_every_commune_has_a_departement_postcodes_and_coordinates_in_france() -> None:
    for commune in geo.communes():
        assert geo.departement_name(commune.departement), commune
        assert commune.postcodes and all(len(p) == 5 and p.isdigit() for p in commune.postcodes)
        south, north, west, east = OVERSEAS.get(commune.departement, METROPOLE)
        assert south <= commune.latitude <= north, commune
        assert west <= commune.longitude <= east, commune


def test_lookup_by_name_ignores_accents_case_hyphens_and_apostrophes() -> None:
    for typed in ("Saint-Étienne", "saint etienne", "SAINT-ETIENNE", " saint-étienne "):
        assert [c.code for c in geo.resolve(typed)] == ["42218"]
    assert geo.find("clermont l'herault") == geo.by_code("34079")
    assert geo.find("L’Haÿ-les-Roses") == geo.by_code("94038")
    assert geo.resolve("Atlantis") == ()
    assert geo.find("") is None


def test_digits_that_are_no_postcode_are_named_as_such() -> None:
    for typed in ("34", "340", "3 40"):
        read = geo.place(typed, 10, radii=(10,))
        assert read.errors == {"commune": geo.SHORT_POSTCODE}, typed
    assert geo.place("99999", 10, radii=(10,)).errors == {"commune": geo.NO_POSTCODE}
    assert geo.place("Atlantis", 10, radii=(10,)).errors == {"commune": geo.NO_NAME}


def test_lookup_by_name_reads_saint_abbreviated() -> None:
    # As people type them: "St", "Ste", with or without the dot.
    for typed in ("st jean de vedas", "St-Jean-de-Védas", "ST. JEAN DE VEDAS"):
        assert geo.find(typed) == geo.by_code("34270"), typed
    assert geo.find("ste foy la grande") == geo.by_code("33402")
    assert geo.find("stes maries de la mer") == geo.by_code("13096")


def test_lookup_by_insee_code_and_by_postcode() -> None:
    lunel = geo.by_code("34145")
    assert lunel is not None and (lunel.name, lunel.postcodes) == ("Lunel", ("34400",))
    assert geo.by_code("2A004") is not None and geo.by_code("2a004").name == "Ajaccio"  # type: ignore[union-attr]
    assert geo.by_code("99999") is None
    assert [c.name for c in geo.resolve("34970")] == ["Lattes"]
    assert geo.find("34000") == geo.find("Montpellier")
    assert geo.find("34145") == lunel  # no postcode 34145: the INSEE code
    # Every postcode of Paris's arrondissements is Paris's.
    paris = geo.find("Paris")
    assert paris is not None and len(paris.postcodes) == 21
    assert all(geo.by_postcode(p) == (paris,) for p in paris.postcodes)


def test_arrondissements_and_former_communes_lead_to_their_commune() -> None:
    paris, marseille = geo.by_code("75056"), geo.by_code("13055")
    assert geo.resolve("Paris 11e Arrondissement") == (paris,)
    assert geo.by_code("75111") == paris
    assert geo.find("marseille 8e arrondissement") == marseille
    cherbourg = geo.by_code("50129")
    assert cherbourg is not None and cherbourg.name == "Cherbourg-en-Cotentin"
    assert geo.find("Tourlaville") == geo.find("Cherbourg-Octeville") == cherbourg
    assert geo.epci_of("Paris 11e Arrondissement", "75011") == paris.epci  # type: ignore[union-attr]
    # A current commune's name wins over a former commune's of the same name.
    assert [c.code for c in geo.resolve("Lunel")] == ["34145"]


def test_a_shared_postcode_lists_its_communes_most_populous_first() -> None:
    served = geo.resolve("34400")
    expected = {
        "Lunel",
        "Lunel-Viel",
        "Saint-Just",
        "Entre-Vignes",
        "Villetelle",
        "Saturargues",
        "Saint-Sériès",
        "Saint-Nazaire-de-Pézan",
    }
    assert {c.name for c in served} == expected
    assert all("34400" in c.postcodes for c in served)
    assert [c.population for c in served] == sorted((c.population for c in served), reverse=True)
    assert served[0].name == "Lunel"
    assert geo.find("34400") is None  # ambiguous where a place is stored…
    assert [c.name for c in geo.centre_of("34400")] == ["Lunel"]  # …its main commune for a radius
    found = geo.lookup(served, "34400")
    assert (found.commune, found.error) == (None, geo.SHARED_POSTCODE)
    assert found.params["choices"].startswith("Lunel (34400), Lunel-Viel (34400), ")
    assert geo.find("Lunel-Viel (34400)") == geo.by_code("34146")


def test_homonyms_are_told_apart_by_postcode() -> None:
    gignacs = geo.resolve("Gignac")
    assert {(c.code, c.label) for c in gignacs} == {
        ("34114", "Gignac (34150)"),
        ("46118", "Gignac (46600)"),
        ("84048", "Gignac (84400)"),
    }
    assert geo.find("Gignac") is None
    assert geo.find("Gignac", "84400") == geo.by_code("84048")
    assert geo.find("gignac (46600)") == geo.by_code("46118")
    for commune in gignacs:
        assert geo.find(commune.label) == commune
    found = geo.lookup(gignacs, "Gignac")
    assert found.error == geo.AMBIGUOUS
    assert found.params == {
        "typed": "Gignac",
        "choices": "Gignac (34150), Gignac (46600), Gignac (84400)",
    }
    # A unique name keeps its plain label; (name, postcode) pairs never collide.
    assert geo.find("Lunel").label == "Lunel"  # type: ignore[union-attr]
    pairs = Counter((c.name.lower(), p) for c in geo.communes() for p in c.postcodes)
    assert max(pairs.values()) == 1


def test_labels_are_unique_and_resolve_to_their_commune() -> None:
    labels = Counter(c.label for c in geo.communes())
    assert max(labels.values()) == 1
    for commune in geo.communes()[::97]:  # a spread sample: 360 communes
        assert geo.find(commune.label) == commune


def test_epci_of_known_communes_and_their_members() -> None:
    montpellier, lunel = geo.find("Montpellier"), geo.find("Lunel")
    assert montpellier is not None and lunel is not None
    assert montpellier.epci == geo.Epci("243400017", "Montpellier Méditerranée Métropole")
    assert lunel.epci == geo.Epci("243400520", "CA Lunel Agglo")  # the former CC Pays de Lunel
    members = geo.in_epci("243400017")
    assert len(members) == 31
    assert {"Montpellier", "Lattes", "Castelnau-le-Lez", "Pérols"} <= {c.name for c in members}
    assert geo.find("Lunel-Viel").epci == lunel.epci  # type: ignore[union-attr]
    # Every commune belongs to one EPCI but the four single-commune islands.
    alone = {c.name for c in geo.communes() if c.epci is None}
    assert alone == {"Île-de-Bréhat", "Île-de-Sein", "Ouessant", "L'Île-d'Yeu"}
    assert len(geo.epcis()) == len({c.epci for c in geo.communes() if c.epci}) == 1255


def test_in_departement_lists_the_departements_communes_by_label() -> None:
    herault = geo.in_departement("34")
    assert len(herault) == 341

    def plain(label: str) -> str:
        letters = (
            ch for ch in unicodedata.normalize("NFD", label) if not unicodedata.combining(ch)
        )
        return " ".join("".join(ch if ch.isalnum() else " " for ch in letters).lower().split())

    names = [plain(c.label) for c in herault]
    assert names == sorted(names)  # accents aside: Bédarieux before Berlou
    assert [c.label for c in herault[:2]] == ["Abeilhan", "Adissan"]
    assert {c.departement for c in herault} == {"34"}
    assert geo.in_departement("2a")[0].departement == "2A"


@pytest.mark.parametrize(
    "a,b,km",
    [("Montpellier", "Lattes", 3), ("Montpellier", "Nîmes", 46), ("Paris", "Lille", 204)],
)
def test_distances_between_town_halls(a: str, b: str, km: int) -> None:
    here, there = geo.find(a), geo.find(b)
    assert here is not None and there is not None
    distance = geo.distance_km(here.latitude, here.longitude, there.latitude, there.longitude)
    assert round(distance) == km


async def test_offers_per_epci_count_the_published_offers_of_approved_booths(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    pending, _ = await f.booth(session, edition_=edition, approve=False)
    places = [  # commune, postcode, positions
        ("Montpellier", "34000", 1),
        ("Montpellier", "34090", 3),
        ("Lattes", "34970", 2),
        ("Lunel", "34400", 1),
        ("Ouessant", "29242", 4),
    ]
    for commune, postcode, positions in places:
        await f.offer(
            session, booth_=booth, commune=commune, postcode=postcode, positions=positions
        )
    hidden = await f.offer(session, booth_=booth, commune="Lunel", postcode="34400")
    await offers.set_published(session, hidden, False)
    await f.offer(session, booth_=pending, commune="Lattes", postcode="34970")
    await f.offer(session, booth_=booth, commune="Lattes", postcode="34970", positions=5)
    other = await f.edition(session)
    other_booth, _ = await f.booth(session, edition_=other)
    await f.offer(session, booth_=other_booth, commune="Lunel", postcode="34400")

    figures = await offers.per_epci(session, edition_id=edition.id)

    metropole = geo.Epci("243400017", "Montpellier Méditerranée Métropole")
    lunel = geo.Epci("243400520", "CA Lunel Agglo")
    assert figures == [
        offers.EpciFigures(metropole, 4, 1 + 3 + 2 + 5),
        offers.EpciFigures(lunel, 1, 1),
        offers.EpciFigures(None, 1, 4),  # Ouessant is in no EPCI
    ]
    assert geo.epci_of("Lattes", "34970") == metropole
    assert geo.epci_of("Saint-Just (34400)") == lunel  # a profile's label
    assert geo.epci_of("Gignac") is None  # ambiguous
