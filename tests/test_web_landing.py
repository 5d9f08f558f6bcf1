"""The edition's landing page (fair.landing through fair.web.public.edition_page) in each of
its states, in French (the default) and English, with exact texts; its queries do not grow
with the edition; the accessibility statement and the links to it."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from fair import branding, clock, db, images
from fair.enums import Role
from fair.models import Edition
from tests import factories as f
from tests.factories import NOON, TOMORROW, day_at
from tests.landing_setup import booth_of, staffed, talk
from tests.pages import text
from tests.statements import cold


def part(html: str, opening: str) -> str:
    """The visible text of the element that begins with `opening` (up to its closing tag)."""
    tag = re.match(r"<(\w+)", opening)
    assert tag, opening
    start = html.index(opening)
    name, depth, at = tag.group(1), 0, start
    for found in re.finditer(rf"<(/?){name}\b", html[start:]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            at = start + found.start()
            break
    return text(html[start:at])


def section(html: str, title_id: str) -> str:
    return part(html, f'<section class="landing-section" aria-labelledby="{title_id}">')


async def pages(client: httpx.AsyncClient, edition: Edition) -> dict[str, str]:
    """The landing page in French (the default) and in English."""
    shown = {"fr": (await client.get(f"/e/{edition.slug}")).text}
    client.cookies.set("lang", "en")
    shown["en"] = (await client.get(f"/e/{edition.slug}")).text
    client.cookies.delete("lang")
    return shown


async def test_before_the_live_days_a_countdown_and_how_it_works(
    client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)  # Tuesday 10 March 2026, 12:00 in Paris
    edition = await f.edition(
        session,
        live_first_day=date(2026, 3, 13),
        live_last_day=date(2026, 3, 14),
        opens=time(9, 0),
        closes=time(18, 0),
        partners="France Travail, Mission locale\nCap emploi",
    )
    booth, recruiter = await booth_of(session, edition, "Boulangerie Durand")
    await f.offer(session, booth_=booth)
    await talk(session, edition, booth, recruiter, "Nos métiers", day_at(date(2026, 3, 13), 10))
    await db.commit(session)
    shown = await pages(client, edition)

    countdown = '<div class="countdown">'
    reload = "Voir ce qui se passe en direct"  # hidden until the countdown ends (countdown.js)
    assert part(shown["fr"], countdown) == (
        f"Ouvre dans 2 jours vendredi 13 mars 2026, 09:00 (fuseau horaire Europe/Paris) {reload}"
    )
    assert part(shown["en"], countdown) == (
        "Opens in 2 days Friday, March 13, 2026, 9:00 AM (time zone Europe/Paris)"
        " See what is live now"
    )
    assert 'datetime="2026-03-13T08:00:00+00:00"' in shown["fr"]
    assert section(shown["fr"], "how-title") == (
        "Comment ça marche "
        "Créez votre compte et votre CV Inscrivez-vous gratuitement et ajoutez votre CV (un fichier"
        " PDF) : les employeurs le lisent quand vous postulez. "
        "Postulez et réservez vos entretiens Postulez aux offres qui vous intéressent. Quand un"
        " recruteur retient votre candidature, réservez le créneau d'entretien qui vous convient. "
        "Rencontrez les recruteurs en direct Pendant les journées en direct, échangez avec les"
        " recruteurs sur leur stand et lors de vos entretiens, en visio, par téléphone ou par"
        " écrit. Une conversation sur un stand ne passe en visio ou au téléphone que si vous"
        " êtes d'accord."
    )
    assert section(shown["en"], "how-title").startswith(
        "How it works Create your account and your CV Sign up for free"
    )
    assert section(shown["fr"], "figures-title") == (
        "Le forum en chiffres Offres 1 Employeurs 1 Secteurs 1"
    )
    assert section(shown["en"], "next-title") == (
        "Next talks Nos métiers 3/13/26, 10:00 AM –11:00 AM · Boulangerie Durand"
        " The whole programme"
    )
    assert section(shown["fr"], "partners-title") == (
        "Partenaires France Travail Mission locale Cap emploi"
    )
    for lang in ("fr", "en"):
        assert 'aria-labelledby="live-title"' not in shown[lang]  # nothing is live yet
        assert 'src="/static/countdown.js?v=' in shown[lang]
    assert "Create your candidate account to take part" in text(shown["en"])


async def test_open_now_what_is_live_the_figures_and_the_next_talks(
    client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session)  # live from yesterday to in three days, all day
    durand, durand_staff = await booth_of(session, edition, "Boulangerie Durand", naf="10.71C")
    garage, garage_staff = await booth_of(session, edition, "Garage du Lez", naf="45.20A")
    await booth_of(session, edition, "Atelier Martin", naf="43.21A")  # nobody at its booth
    for booth_ in (durand, garage):
        await f.offer(session, booth_=booth_)
    await talk(
        session,
        edition,
        durand,
        durand_staff,
        "Nos métiers",
        NOON - timedelta(minutes=30),
        on_stage=True,
    )
    await talk(session, edition, garage, garage_staff, "Devenir mécanicien", day_at(TOMORROW, 10))
    await staffed(session, garage, garage_staff, waiting=2)
    await staffed(session, durand, durand_staff)
    await db.commit(session)
    shown = await pages(client, edition)

    assert "Le forum est ouvert : les recruteurs vous attendent." in text(shown["fr"])
    assert '<div class="countdown">' not in shown["fr"] and "countdown.js" not in shown["fr"]
    assert section(shown["fr"], "live-title") == (
        "En direct Conférences en cours Nos métiers Boulangerie Durand · jusqu'à 12:30 "
        "Stands tenus en ce moment 2 stands ont un recruteur présent en ce moment. "
        "Boulangerie Durand Personne n'attend Garage du Lez 2 personnes en attente"
    )
    assert section(shown["en"], "live-title") == (
        "Live now Talks on stage Nos métiers Boulangerie Durand · until 12:30 PM "
        "Booths staffed now 2 booths have a recruiter present now. "
        "Boulangerie Durand Nobody waiting Garage du Lez 2 people waiting"
    )
    assert section(shown["en"], "figures-title") == (
        "The fair in figures Offers 2 Employers 3 Sectors 3"
    )
    assert section(shown["fr"], "next-title") == (
        "Prochaines conférences Devenir mécanicien 11/03/2026 10:00 –11:00 · Garage du Lez"
        " Tout le programme"
    )
    assert 'aria-labelledby="how-title"' not in shown["fr"]
    actions = part(shown["en"], '<p class="actions">')
    assert actions == "Visit the booth hall Search the offers See the programme"


async def test_between_two_live_days_it_reopens(client, session: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(day_at(date(2026, 3, 10), 20))
    edition = await f.edition(
        session,
        live_first_day=date(2026, 3, 9),
        live_last_day=date(2026, 3, 12),
        opens=time(9, 0),
        closes=time(18, 0),
    )
    await db.commit(session)
    shown = await pages(client, edition)
    countdown = '<div class="countdown">'
    assert part(shown["fr"], countdown) == (
        "Rouvre dans 13 heures mercredi 11 mars 2026, 09:00 (fuseau horaire Europe/Paris)"
        " Voir ce qui se passe en direct"
    )
    assert part(shown["en"], countdown).startswith("Reopens in 13 hours Wednesday, March 11, 2026")
    assert 'aria-labelledby="how-title"' in shown["en"]


async def test_after_the_last_live_day_while_applications_stay_open(
    client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(
        session,
        live_first_day=date(2026, 3, 5),
        live_last_day=date(2026, 3, 6),
        opens=time(9, 0),
        closes=time(18, 0),
    )
    await db.commit(session)
    shown = await pages(client, edition)
    assert (
        "Les journées en direct sont terminées."
        " Les candidatures restent ouvertes jusqu'au 17 mars 2026, 12:00." in text(shown["fr"])
    )
    assert '<div class="countdown">' not in shown["fr"]


async def test_once_over_a_closed_state(client, session: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, recruiter = await booth_of(session, edition, "Boulangerie Durand")
    await f.offer(session, booth_=booth)
    await talk(session, edition, booth, recruiter, "Nos métiers", day_at(TOMORROW, 10))
    await db.commit(session)
    clock.set_now(NOON + timedelta(days=30))
    shown = await pages(client, edition)
    assert "Ce forum est terminé. Merci à toutes celles et ceux qui y ont participé." in text(
        shown["fr"]
    )
    assert section(shown["en"], "after-title") == (
        "After the fair The offers and the employers' booths stay online. Recorded talks can be"
        " watched again from the programme. The programme and its replays"
    )
    assert (
        section(shown["fr"], "figures-title")
        == "Le forum en chiffres Offres 1 Employeurs 1 Secteurs 1"
    )
    for lang in ("fr", "en"):
        for gone in (
            '<div class="countdown">',
            'aria-labelledby="live-title"',
            'aria-labelledby="next-title"',
            'aria-labelledby="how-title"',
        ):
            assert gone not in shown[lang], (lang, gone)
    assert "Create your candidate account" not in text(shown["en"])  # no signing up to a past fair


async def test_the_page_runs_the_same_queries_whatever_the_size_of_the_edition(
    app, client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, recruiter = await booth_of(session, edition, "Entreprise 0")
    await f.offer(session, booth_=booth)
    await talk(
        session, edition, booth, recruiter, "Talk 0", NOON - timedelta(minutes=30), on_stage=True
    )
    await talk(session, edition, booth, recruiter, "Talk 0 bis", day_at(TOMORROW, 10))
    await staffed(session, booth, recruiter, waiting=1)
    await db.commit(session)
    with cold(app) as few:
        await client.get(f"/e/{edition.slug}")
    for n in range(1, 4):
        booth, recruiter = await booth_of(
            session, edition, f"Entreprise {n}", naf=f"{10 + n}.11Z" if n != 3 else "01.11Z"
        )
        await f.offer(session, booth_=booth)
        await f.offer(session, booth_=booth)
        await talk(
            session,
            edition,
            booth,
            recruiter,
            f"Talk {n}",
            NOON - timedelta(minutes=20),
            on_stage=True,
        )
        await talk(session, edition, booth, recruiter, f"Talk {n} bis", day_at(TOMORROW, 11))
        await staffed(session, booth, recruiter, waiting=2)
    await db.commit(session)
    with cold(app) as many:
        page = await client.get(f"/e/{edition.slug}")
    assert (
        section(page.text, "figures-title")
        == "Le forum en chiffres Offres 7 Employeurs 4 Secteurs 4"
    )
    assert "4 stands ont un recruteur présent en ce moment." in text(page.text)
    assert len(many) == len(few), many


async def test_the_accessibility_statement_is_linked_from_every_page(
    client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session)
    await db.commit(session)
    statement = await client.get("/accessibility")
    assert statement.status_code == 200
    shown = text(statement.text)
    assert "<h1>Déclaration d'accessibilité</h1>" in statement.text.replace("&#39;", "'")
    assert (
        "État de conformité fair n'a pas encore fait l'objet d'un audit de conformité au RGAA"
        in shown
    )
    assert "Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07" in shown
    client.cookies.set("lang", "en")
    english = text((await client.get("/accessibility")).text)
    assert "Conformity status fair has not been audited yet against the RGAA" in english
    footer = '<a href="/accessibility">Accessibility: non-compliant (not audited yet)</a>'
    for path in ("/", f"/e/{edition.slug}", "/login", "/accessibility"):
        assert footer in (await client.get(path)).text, path
    landing = (await client.get(f"/e/{edition.slug}")).text
    assert (
        '<a href="/accessibility">Accessibility of this site: what works, its known limits'
        " and how to reach us</a>" in landing
    )


async def test_the_partners_logos_set_on_the_branding_page_replace_their_names(
    client, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=organiser, partners="France Travail, Cap emploi")
    logo = await images.prepare(f.png_bytes(), images.LOGO, field="partner_logo")
    await branding.add_partner(
        session, edition, by=organiser, name="Mission locale", link="", logo=logo
    )
    await db.commit(session)
    page = (await client.get(f"/e/{edition.slug}")).text
    assert 'aria-labelledby="partners-title"' not in page  # the names written in the settings
    logos = re.findall(r'<img src="/files/images/\d+/96"[^>]* alt="([^"]+)"', page)
    assert logos == ["Mission locale"]
