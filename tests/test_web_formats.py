"""French formatting everywhere: Babel numbers and dates, no seconds, accented reference labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import update

from fair import clock, db, geo, i18n, rome
from fair.enums import Role
from fair.models import Employer
from tests import factories as f
from tests.conftest import login
from tests.pages import text

SECONDS_RE = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")


def test_moments_and_numbers_in_each_language():
    at = datetime(2026, 12, 3, 13, 5, 9, tzinfo=UTC)
    assert i18n.moment(at, "Europe/Paris", locale="fr") == "3 déc. 2026, 14:05"
    assert i18n.moment(at, "Europe/Paris", "short", locale="fr") == "03/12/2026 14:05"
    assert i18n.moment(at, "Europe/Paris", "full", locale="fr") == "jeudi 3 décembre 2026, 14:05"
    assert i18n.moment(at, "Europe/Paris", locale="en") == "Dec 3, 2026, 2:05\u202fPM"
    assert i18n.moment(at, "America/Cayenne", "short", locale="fr") == "03/12/2026 10:05"
    assert [i18n.decimal(0.4321, locale="fr"), i18n.decimal(0.4321, locale="en")] == ["0,4", "0.4"]
    assert i18n.decimal(4883.2, 0, locale="fr") == "4\u202f883"


def test_reference_labels_carry_their_accents():
    assert rome.sector_of("86.10Z") == "Activités pour la santé humaine"
    assert rome.sector_of("03.11Z") == "Pêche et aquaculture"
    assert rome.job("F1602").label == "Électricien / Électricienne du bâtiment"  # type: ignore[union-attr]
    assert rome.job("A1407").label == "Éleveur / Éleveuse de bovins"  # type: ignore[union-attr]
    assert rome.job("D1205").label == "Employé / Employée de pressing"  # type: ignore[union-attr]
    unaccented_capitals = [
        job.label
        for job in rome.jobs().values()
        if re.search(r"\bE(lectr|lev|duc|crivain|quip|tat\b)", job.label)
    ]
    assert unaccented_capitals == []


async def test_distance_uses_a_decimal_comma_in_french(client, session):
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    # About 400 m north of Montpellier's town hall.
    hall = geo.find("Montpellier")
    assert hall is not None
    await f.offer(session, booth_=booth, latitude=hall.latitude + 0.0036, longitude=hall.longitude)
    await db.commit(session)
    path = f"/e/{edition.slug}/offers?commune=Montpellier&radius_km=10"

    french = text((await client.get(path)).text)
    client.cookies.set("lang", "en")
    english = text((await client.get(path)).text)

    assert "Montpellier (34000) · 0,4 km" in french
    assert "Montpellier (34000) · 0.4 km" in english


async def test_pages_show_times_without_seconds_and_accented_labels(client, session, app):
    clock.set_now(datetime(2026, 12, 3, 13, 5, 9, tzinfo=UTC))
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, _recruiter = await f.booth(session, edition_=edition, approve=False)
    approved, _other = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=approved)
    await db.commit(session)
    # A row registered before the labels had their accents.
    async with app.state.write_sessions() as writer:
        await writer.execute(
            update(Employer)
            .where(Employer.id == booth.employer_id)
            .values(naf_code="86.10Z", sector="Activites pour la sante humaine")
        )
        await writer.commit()
    await login(client, organiser.email, f.PASSWORD)

    booths = await client.get(f"/organiser/editions/{edition.id}/booths")
    shown = text(booths.text)
    assert "Activités pour la santé humaine Montpellier" in shown
    assert "3 déc. 2026, 14:05" in shown
    assert SECONDS_RE.findall(shown) == []

    offer_page = text((await client.get(f"/offers/{offer.id}")).text)
    assert "F1602 – Électricien / Électricienne du bâtiment" in offer_page


def test_counts_get_the_language_group_separator() -> None:
    assert i18n.ngettext("%(num)s offer", "%(num)s offers", 1234, "en") == "1,234 offers"
    assert i18n.ngettext("%(num)s offer", "%(num)s offers", 1234, "fr") == "1\u202f234 offres"
    assert i18n.ngettext("%(num)s offer", "%(num)s offers", 1, "fr") == "1 offre"
