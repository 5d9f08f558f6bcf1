"""The whole journey in Chromium, each person in their own browser context.

Fields are found by their labels and buttons by their accessible names (in French, the default
language, through the server's own catalogues), so the test also proves that they exist.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from fair import accounts
from fair.enums import Role
from fair.models import OutboxMail
from tests import factories as f
from tests.browser.conftest import LiveServer, follow, log_in, tr

PARIS = ZoneInfo("Europe/Paris")
PHONE = {"width": 360, "height": 740}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
OFFER_TITLE = "Électricien du bâtiment"


def field(scope: Any, label: str) -> Any:
    """The control labelled `label`, with or without the "(required)" mark after it (not the
    suggestion list of a combobox, which its label names too, as the ARIA pattern has it)."""
    required = re.escape(tr("required"))
    labelled = scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}(\s*\({required}\))?\s*$"))
    return labelled.and_(scope.locator("input, select, textarea"))


def button(scope: Any, name: str) -> Any:
    return scope.get_by_role("button", name=name, exact=True)


def link(scope: Any, name: str) -> Any:
    return scope.get_by_role("link", name=name, exact=True)


def no_horizontal_scroll(page: Any, width: int) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"{page.url} scrolls sideways on a {width}px phone: {scroll}px wide"


def _signup_link(live_server: LiveServer, email: str) -> str:
    async def read(session):  # type: ignore[no-untyped-def]
        body = await session.scalar(
            select(OutboxMail.body)
            .where(OutboxMail.to_addr == email)
            .order_by(OutboxMail.id.desc())
        )
        return re.search(r"/signup/confirm/\S+", body).group(0)

    return str(live_server.seed(read))


def _seed_people(live_server: LiveServer) -> tuple[str, str]:
    async def make(session):  # type: ignore[no-untyped-def]
        organiser = await accounts.create_user(
            session,
            email="orga.journey@example.fr",
            name="Odile Organise",
            password=f.PASSWORD,
            role=Role.ORGANISER,
            locale="fr",
        )
        recruiter = await accounts.create_user(
            session,
            email="recrute.journey@example.fr",
            name="Rémi Recrute",
            password=f.PASSWORD,
            role=Role.RECRUITER,
            locale="fr",
        )
        return organiser.email, recruiter.email

    return live_server.seed(make)


def test_journey(live_server: LiveServer, new_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    organiser_email, recruiter_email = _seed_people(live_server)
    now = datetime.now(PARIS)
    title = f"Forum emploi Lattes {now:%H%M%S}"
    employer_name = "Watt Sud"

    # The organiser creates an edition: applications open now, live days around today.
    organiser = new_context().new_page()
    log_in(organiser, organiser_email, f.PASSWORD)
    organiser.goto("/organiser")
    follow(organiser, link(organiser.locator("main"), tr("Create an edition")))
    field(organiser, tr("Title")).fill(title)
    field(organiser, tr("Territory")).fill("Montpellier Méditerranée Métropole")
    field(organiser, tr("Partners")).fill("France Travail, Ville de Lattes")
    field(organiser, tr("Description")).fill("Un forum en ligne pour les métiers du bâtiment.")
    field(organiser, tr("Time zone")).select_option("Europe/Paris")
    moment = "%Y-%m-%dT%H:%M"
    field(organiser, tr("Applications open on")).fill((now - timedelta(days=1)).strftime(moment))
    field(organiser, tr("Applications close on")).fill((now + timedelta(days=7)).strftime(moment))
    field(organiser, tr("Employers answer every candidate by")).fill(
        (now + timedelta(days=10)).strftime(moment)
    )
    field(organiser, tr("First live day")).fill((now - timedelta(days=1)).date().isoformat())
    field(organiser, tr("Last live day")).fill((now + timedelta(days=3)).date().isoformat())
    field(organiser, tr("Opens at")).fill("00:00")
    field(organiser, tr("Closes at")).fill("23:59")
    days = organiser.get_by_role("group", name=tr("Days of the week with live hours"))
    for day in WEEKDAYS:
        days.get_by_label(tr(day), exact=True).check()
    follow(organiser, button(organiser, tr("Create the edition")))
    organiser.wait_for_url(re.compile(r"/organiser/editions/\d+/settings$"))
    # Flash messages move into the live region just after load (static/toasts.js): wait.
    expect(organiser.locator("main [role=status]")).to_have_text(tr("The edition was saved."))
    edition_id = int(re.search(r"/editions/(\d+)", organiser.url).group(1))  # type: ignore[union-attr]
    follow(organiser, button(organiser, tr("Publish this edition")))
    organiser.wait_for_url(re.compile(rf"/organiser/editions/{edition_id}/settings$"))
    public = link(organiser, tr("Public page")).get_attribute("href")
    assert public and public.startswith("/e/"), public
    slug = public.removeprefix("/e/")

    # The recruiter registers an employer with a valid SIRET and asks for a booth.
    recruiter = new_context().new_page()
    log_in(recruiter, recruiter_email, f.PASSWORD)
    follow(recruiter, link(recruiter.locator("main"), tr("Register an employer")))
    field(recruiter, tr("Employer name")).fill(employer_name)
    field(recruiter, tr("SIRET number")).fill(f.siret(424242))
    field(recruiter, tr("NAF code (main activity)")).fill("43.21A")
    field(recruiter, tr("Company size")).select_option("10-49")
    field(recruiter, tr("Commune")).fill("Lattes")
    follow(recruiter, button(recruiter, tr("Register")))
    recruiter.wait_for_url(re.compile(r"/recruiter/employers/\d+$"))
    expect(recruiter.locator("main [role=status]")).to_have_text(tr("The employer was saved."))
    field(recruiter, tr("Fair")).select_option(label=title)
    follow(recruiter, button(recruiter, tr("Ask for a booth")))
    recruiter.wait_for_url(re.compile(r"/recruiter/booths/\d+$"))
    booth_path = recruiter.url.removeprefix(live_server.url)

    # The organiser approves the booth.
    organiser.goto(f"/organiser/editions/{edition_id}/booths")
    follow(organiser, button(organiser, f"{tr('Approve')} — {employer_name}"))
    organiser.wait_for_url(re.compile(rf"/organiser/editions/{edition_id}/booths$"))
    approved = organiser.get_by_role("region", name=re.compile(re.escape(tr("Approved"))))
    assert approved.get_by_role("rowheader", name=employer_name).count() == 1

    # The recruiter publishes an offer.
    recruiter.goto(booth_path)
    follow(recruiter, link(recruiter.locator("main"), tr("Publish an offer")))
    field(recruiter, tr("Job title")).fill(OFFER_TITLE)
    field(recruiter, tr("ROME code")).fill("F1602")
    field(recruiter, tr("Job description")).fill(
        "Installation et maintenance électrique sur des chantiers de rénovation."
    )
    field(recruiter, tr("Contract")).select_option("cdi")
    field(recruiter, tr("Commune")).fill("Lattes")
    field(recruiter, tr("Postcode")).fill("34970")
    field(recruiter, tr("Skills (one per line)")).fill("Habilitation électrique\nLecture de plans")
    follow(recruiter, button(recruiter, tr("Publish the offer")))
    recruiter.wait_for_url(re.compile(rf"{re.escape(booth_path)}$"))
    created = tr("The offer “%(title)s” was created.", title=OFFER_TITLE)
    expect(recruiter.locator("main [role=status]")).to_have_text(created)

    # A candidate signs up on a phone, searches with a plural and a radius, and applies.
    candidate = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    candidate.goto("/")
    link(candidate, tr("Create an account")).first.click()
    candidate.get_by_label(tr("Looking for a job"), exact=True).check()
    field(candidate, tr("Your name")).fill("Nadia Benali")
    field(candidate, tr("E-mail address")).fill("nadia.journey@example.fr")
    field(candidate, tr("Password")).fill("un mot de passe sûr")
    follow(candidate, button(candidate, tr("Create my account")))
    candidate.wait_for_url(f"{live_server.url}/signup/sent")
    # The address is confirmed with the link mailed to it, which logs in.
    candidate.goto(_signup_link(live_server, "nadia.journey@example.fr"))
    follow(candidate, button(candidate, tr("Confirm my address and log in")))
    candidate.wait_for_url(f"{live_server.url}/")
    follow(candidate, link(candidate, f"{tr('See the offers')} — {title}"))
    candidate.wait_for_url(f"{live_server.url}/e/{slug}/offers")
    field(candidate, tr("Job, skill or keyword")).fill("électriciens")
    field(candidate, tr("Near the commune")).fill("Montpellier")
    field(candidate, tr("Within")).select_option("10")
    follow(candidate, button(candidate, tr("Search")))
    candidate.wait_for_url(re.compile(r"/offers\?.*q=.*radius_km=10"))
    results = candidate.locator("main ul.cards > li")
    assert results.count() == 1, results.all_inner_texts()
    no_horizontal_scroll(candidate, PHONE["width"])
    follow(candidate, link(results.first, OFFER_TITLE))
    candidate.wait_for_url(re.compile(r"/offers/\d+$"))
    assert candidate.get_by_role("heading", level=1).inner_text() == OFFER_TITLE
    no_horizontal_scroll(candidate, PHONE["width"])
    cv = tmp_path / "cv-nadia.pdf"
    cv.write_bytes(f.pdf_bytes("CV de Nadia"))
    field(candidate, tr("Your message to the recruiter")).fill("Disponible tout de suite.")
    field(candidate, tr("Your CV (PDF, 5 MB at most)")).set_input_files(cv)
    follow(candidate, button(candidate, tr("Send my application")))
    candidate.wait_for_url(re.compile(r"/me/applications$"))
    sent = tr("Your application has been sent.")
    expect(candidate.locator("main [role=status]")).to_have_text(sent)
    assert candidate.locator("[data-status]").get_attribute("data-status") == "submitted"
    # The tab keeps a live connection, following the candidate's own channel.
    candidate.wait_for_selector("body[data-live=on]", state="attached")

    # The recruiter opens the pipeline and shortlists the candidate.
    recruiter.goto(booth_path)
    follow(recruiter, link(recruiter.locator("main"), f"{tr('Applications')} (1)"))
    recruiter.wait_for_url(re.compile(r"/recruiter/booths/\d+/applications$"))
    follow(recruiter, link(recruiter.locator("main"), "Nadia Benali"))
    recruiter.wait_for_url(re.compile(r"/recruiter/applications/\d+$"))
    field(recruiter, tr("New status")).select_option("shortlisted")
    follow(recruiter, button(recruiter, tr("Save the status")))
    recruiter.wait_for_url(re.compile(r"/recruiter/applications/\d+$"))
    assert recruiter.locator("[data-status]").get_attribute("data-status") == "shortlisted"

    # The candidate's open tab shows the new status without a reload, and announces it.
    candidate.wait_for_selector("main [data-status=shortlisted]")
    assert candidate.locator("main [data-status]").inner_text() == tr("Shortlisted")
    assert candidate.locator("#live-status").inner_text() == tr(
        "Your application changed: %(status)s", status=tr("Shortlisted")
    )

    # The candidate sees the new status.
    follow(candidate, link(candidate, tr("My applications")))
    candidate.wait_for_url(f"{live_server.url}/me/applications")
    statuses = candidate.locator("[data-status]")
    assert statuses.count() == 1
    assert statuses.get_attribute("data-status") == "shortlisted"
    assert statuses.inner_text() == tr("Shortlisted")
