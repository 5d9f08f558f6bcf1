"""Organiser pages: the edition form, publishing and archiving, booth decisions, reports, export."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from fair import applications, clock, db, editions, employers, francetravail, i18n, offers
from fair.enums import ApplicationStatus, BoothStatus, NoticeKind, Role
from fair.models import Booth, Edition, LiveDay, Notice, OutboxMail
from tests import factories as f
from tests.conftest import csrf
from tests.pages import as_user, text
from tests.statements import cold

FORM = {
    "title": "Forum de l'emploi 2030",
    "territory": "Montpellier Méditerranée Métropole",
    "partners": "France Travail, Mission locale",
    "description": "Un forum en ligne pour l'emploi.",
    "timezone": "Europe/Paris",
    "applications_open_at": "2030-01-07T09:00",
    "applications_close_at": "2030-01-25T18:00",
    "response_deadline": "2030-02-08T18:00",
    "live_first_day": "2030-01-21",  # a Monday
    "live_last_day": "2030-01-27",  # a Sunday
    "opens": "09:00",
    "closes": "17:00",
    "weekdays": ["0", "1", "2", "3", "4", "5"],
}


def spaced(value: str) -> str:
    return " ".join(value.split())


async def post(client, path: str, data: dict | None = None, token: bool = True):  # type: ignore[no-untyped-def,type-arg]
    payload = dict(data or {})
    if token:
        payload["csrf_token"] = await csrf(client, "/organiser")
    return await client.post(path, data=payload)


async def read(app, query):  # type: ignore[no-untyped-def]
    """Rows through a fresh session, so the test sees what the request committed."""
    async with app.state.read_sessions() as s:
        return list((await s.scalars(query)).all())


async def booth_status(app, booth_id: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    found = (await read(app, select(Booth).where(Booth.id == booth_id)))[0]
    return found.status, found.decline_reason


# The edition form ------------------------------------------------------------------------------


async def test_home_lists_organised_editions_with_status(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    await f.edition(session, by=organiser, title="Forum publié")
    await f.edition(session, by=organiser, title="Forum brouillon", publish=False)
    await f.edition(session, title="Forum d'un autre")
    await as_user(client, session, user=organiser)

    page = await client.get("/organiser")

    assert page.status_code == 200
    shown = text(page.text)
    assert "Forum brouillon Métropole test Draft" in shown
    assert "Forum publié Métropole test Live" in shown
    assert "Forum d'un autre" not in shown
    assert 'href="/organiser/editions/new"' in page.text


async def test_new_edition_form_has_defaults(client, session):
    await as_user(client, session)

    page = await client.get("/organiser/editions/new")

    assert page.status_code == 200
    assert '<option value="Europe/Paris" selected>' in page.text
    checked = re.findall(r'name="weekdays" value="(\d)" checked', page.text)
    assert checked == ["0", "1", "2", "3", "4", "5"]
    assert '<label for="f-weekdays-6">Sunday</label>' in page.text


async def test_organiser_creates_an_edition(app, client, session):
    organiser = await as_user(client, session)

    response = await post(client, "/organiser/editions/new", FORM)

    assert response.status_code == 303
    [edition] = await read(app, select(Edition))
    assert response.headers["location"] == f"/organiser/editions/{edition.id}/settings"
    assert edition.title == "Forum de l'emploi 2030"
    assert edition.slug == "forum-de-l-emploi-2030"
    assert edition.created_by_id == organiser.id
    # 09:00 in Paris in January is 08:00 UTC.
    assert edition.applications_open_at == datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
    assert edition.applications_close_at == datetime(2030, 1, 25, 17, 0, tzinfo=UTC)
    assert edition.response_deadline == datetime(2030, 2, 8, 17, 0, tzinfo=UTC)
    assert edition.published_at is None
    days = await read(app, select(LiveDay).order_by(LiveDay.day))
    assert [(d.day, d.opens, d.closes) for d in days] == [
        (date(2030, 1, 21 + n), time(9), time(17)) for n in range(6)
    ]

    page = await client.get(response.headers["location"])
    shown = text(page.text)
    assert "The edition was saved." in shown
    assert "Status Draft" in shown
    assert "Publish this edition" in shown
    assert 'value="2030-01-07T09:00"' in page.text
    assert 'value="2030-01-21"' in page.text and 'value="2030-01-26"' in page.text


async def test_summer_time_is_read_in_the_chosen_zone(app, client, session):
    await as_user(client, session)
    form = {
        **FORM,
        "timezone": "Indian/Reunion",
        "applications_open_at": "2030-06-03T09:00",
        "applications_close_at": "2030-06-20T09:00",
        "response_deadline": "2030-07-01T09:00",
        "live_first_day": "2030-06-17",
        "live_last_day": "2030-06-18",
    }

    response = await post(client, "/organiser/editions/new", form)

    assert response.status_code == 303
    [edition] = await read(app, select(Edition))
    assert edition.timezone == "Indian/Reunion"
    assert edition.applications_open_at == datetime(2030, 6, 3, 5, 0, tzinfo=UTC)


async def test_invalid_edition_is_shown_again_with_its_values(app, client, session):
    await as_user(client, session)
    form = {**FORM, "applications_close_at": "2030-01-06T09:00", "weekdays": ["1", "3"]}

    response = await post(client, "/organiser/editions/new", form)

    assert response.status_code == 422
    shown = text(response.text)
    assert "There is a problem The application window must close after it opens." in shown
    assert 'id="e-applications_close_at"' in response.text
    assert 'value="Forum de l&#39;emploi 2030"' in response.text
    assert 'value="2030-01-06T09:00"' in response.text
    assert ">Un forum en ligne pour l&#39;emploi.</textarea>" in response.text
    assert re.findall(r'name="weekdays" value="(\d)" checked', response.text) == ["1", "3"]
    assert await read(app, select(Edition)) == []


async def test_parsing_and_domain_errors_show_together(app, client, session):
    await as_user(client, session)
    form = {
        **FORM,
        "title": "",
        "applications_open_at": "next monday",
        "live_last_day": "2030-01-01",
        "weekdays": [],
    }

    response = await post(client, "/organiser/editions/new", form)

    assert response.status_code == 422
    errors = dict(re.findall(r'<p class="field-error" id="e-([a-z_]+)">([^<]+)</p>', response.text))
    assert errors == {
        "title": "Enter a title (200 characters at most).",
        "applications_open_at": "Enter a date and time.",
        "live_last_day": "The last live day cannot come before the first.",
        "weekdays": "Choose at least one day of the week.",
    }
    assert 'value="next monday"' in response.text
    assert await read(app, select(Edition)) == []


async def test_unknown_time_zone_is_named(app, client, session):
    await as_user(client, session)

    response = await post(client, "/organiser/editions/new", {**FORM, "timezone": "Mars/Olympus"})

    assert response.status_code == 422
    errors = dict(re.findall(r'<p class="field-error" id="e-([a-z_]+)">([^<]+)</p>', response.text))
    assert errors == {"timezone": "Choose a known time zone, such as Europe/Paris."}
    assert '<option value="Mars/Olympus" selected>Mars/Olympus</option>' in response.text
    assert await read(app, select(Edition)) == []


async def test_organiser_edits_an_edition(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser, publish=False)
    await as_user(client, session, user=organiser)
    path = f"/organiser/editions/{edition.id}/settings"

    page = await client.get(path)
    assert page.status_code == 200
    assert 'value="Rencontres pour l&#39;emploi"' in page.text
    # The form shows the weekdays the live days actually fall on.
    weekdays = sorted({str(d.day.weekday()) for d in edition.live_days})
    assert re.findall(r'name="weekdays" value="(\d)" checked', page.text) == weekdays
    assert f'value="{edition.live_days[0].day.isoformat()}"' in page.text

    response = await post(client, path, {**FORM, "title": "Nouveau titre"})

    assert response.status_code == 303
    assert response.headers["location"] == path
    [saved] = await read(app, select(Edition))
    assert (saved.title, saved.slug) == ("Nouveau titre", edition.slug)
    assert len(await read(app, select(LiveDay))) == 6


async def test_invalid_edit_keeps_the_edition_unchanged(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser, publish=False)
    await as_user(client, session, user=organiser)

    response = await post(
        client, f"/organiser/editions/{edition.id}/settings", {**FORM, "closes": "08:00"}
    )

    assert response.status_code == 422
    assert "The daily closing time must come after the opening time." in text(response.text)
    assert 'value="08:00"' in response.text
    [saved] = await read(app, select(Edition))
    assert saved.title == "Rencontres pour l'emploi"


async def test_publish_and_archive(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser, publish=False)
    await as_user(client, session, user=organiser)
    base = f"/organiser/editions/{edition.id}"
    path = f"{base}/settings"

    response = await post(client, f"{base}/publish")

    assert response.status_code == 303 and response.headers["location"] == path
    [saved] = await read(app, select(Edition))
    assert saved.published_at is not None
    page = await client.get(path)
    assert "Status Live" in text(page.text)
    assert "Publish this edition" not in page.text
    assert f'href="/e/{edition.slug}"' in page.text

    again = await post(client, f"{base}/publish")
    assert again.status_code == 409
    assert "This edition is already published." in text(again.text)

    refused = await post(client, f"{base}/archive")
    assert refused.status_code == 409
    assert "Only a closed edition can be archived." in text(refused.text)

    clock.set_now(clock.now() + timedelta(days=30))
    # A session idle for 30 days has ended (user_sessions.IDLE_LIFETIME): log in again.
    assert (await client.get(path)).headers["location"] == f"/login?next={path}"
    await as_user(client, session, user=organiser)
    page = await client.get(path)
    assert "Status Closed" in text(page.text)
    assert "Archive this edition" in page.text
    response = await post(client, f"{base}/archive")
    assert response.status_code == 303
    [saved] = await read(app, select(Edition))
    assert saved.archived_at == clock.now()
    assert editions.status_at(saved) == "archived"


# Booths ----------------------------------------------------------------------------------------


async def _requested_booth(session, edition, name: str = "Alpha Bâtiment"):  # type: ignore[no-untyped-def]
    recruiter = await f.user(session, Role.RECRUITER, locale="en")
    employer = await f.employer(session, by=recruiter, name=name)
    booth = await employers.request_booth(session, by=recruiter, employer=employer, edition=edition)
    return booth, recruiter


async def _approved_booth(session, edition, name: str):  # type: ignore[no-untyped-def]
    booth, recruiter = await _requested_booth(session, edition, name)
    admin = await f.user(session, Role.ADMIN)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=admin)
    return await employers.get_booth(session, booth.id), recruiter


async def test_booths_page_groups_requests(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    requested, _r = await _requested_booth(session, edition, "Alpha Bâtiment")
    approved, _r = await _requested_booth(session, edition, "Bravo Services")
    declined, _r = await _requested_booth(session, edition, "Charlie Conseil")
    await employers.set_status(session, approved, BoothStatus.APPROVED, by=organiser)
    await employers.set_status(
        session, declined, BoothStatus.DECLINED, by=organiser, reason="Hors territoire"
    )
    await as_user(client, session, user=organiser)

    page = await client.get(f"/organiser/editions/{edition.id}/booths")

    assert page.status_code == 200
    shown = text(page.text)
    requested_on = spaced(i18n.moment(requested.requested_at, "Europe/Paris", locale="en"))
    alpha = await employers.get(session, requested.employer_id)
    assert (
        f"Awaiting approval (1) Employer SIRET Sector Commune Size Requested on Decision "
        f"Alpha Bâtiment {alpha.siret} {alpha.sector} Montpellier 10 to 49 employees "
        f"{requested_on} Approve — Alpha Bâtiment"
    ) in shown
    assert "Approved (1)" in shown and "Bravo Services" in shown
    assert "Declined (1)" in shown
    assert "Charlie Conseil" in shown and "Hors territoire" in shown
    assert shown.count("Reason for declining") == 1
    assert f'<label for="f-reason-{requested.id}">' in page.text


async def test_approve_booth(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser, title="Forum Nord")
    booth, recruiter = await _requested_booth(session, edition)
    await as_user(client, session, user=organiser)

    response = await post(client, f"/organiser/booths/{booth.id}/decision", {"decision": "approve"})

    assert response.status_code == 303
    assert response.headers["location"] == f"/organiser/editions/{edition.id}/booths"
    assert await booth_status(app, booth.id) == ("approved", "")
    [sent] = await read(app, select(OutboxMail).where(OutboxMail.to_addr == recruiter.email))
    assert sent.subject == "Your booth in Forum Nord"
    assert f"/recruiter/booths/{booth.id}" in sent.body
    [notice] = await read(app, select(Notice).where(Notice.user_id == recruiter.id))
    assert notice.kind == NoticeKind.BOOTH_DECISION
    assert notice.params == {"status": "approved", "edition": "Forum Nord", "reason": ""}


async def test_decline_booth_with_reason(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser, title="Forum Nord")
    booth, recruiter = await _requested_booth(session, edition)
    await as_user(client, session, user=organiser)

    response = await post(
        client,
        f"/organiser/booths/{booth.id}/decision",
        {"decision": "decline", "reason": "  Votre siège est hors du territoire.  "},
    )

    assert response.status_code == 303
    assert await booth_status(app, booth.id) == ("declined", "Votre siège est hors du territoire.")
    [sent] = await read(app, select(OutboxMail).where(OutboxMail.to_addr == recruiter.email))
    assert sent.body == (
        "Your booth request for Alpha Bâtiment in Forum Nord was declined.\n"
        "Reason: Votre siège est hors du territoire.\n"
    )
    [notice] = await read(app, select(Notice).where(Notice.user_id == recruiter.id))
    assert notice.params["reason"] == "Votre siège est hors du territoire."


async def test_decline_without_reason_changes_nothing(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await _requested_booth(session, edition)
    await as_user(client, session, user=organiser)

    response = await post(
        client, f"/organiser/booths/{booth.id}/decision", {"decision": "decline", "reason": " "}
    )

    assert response.status_code == 422
    assert "Give the employer a reason for declining." in text(response.text)
    assert f'aria-invalid="true" aria-describedby="e-reason-{booth.id}"' in response.text
    assert await booth_status(app, booth.id) == ("requested", "")
    assert await read(app, select(OutboxMail)) == []
    assert await read(app, select(Notice)) == []


async def test_unknown_decision_is_refused(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    booth, _recruiter = await _requested_booth(session, edition)
    await as_user(client, session, user=organiser)

    response = await post(client, f"/organiser/booths/{booth.id}/decision", {"decision": "maybe"})

    assert response.status_code == 422
    assert "Choose to approve or to decline the booth." in text(response.text)
    assert await booth_status(app, booth.id) == ("requested", "")


async def test_deciding_twice_is_a_conflict(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    booth, _recruiter = await _requested_booth(session, edition)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=organiser)
    await as_user(client, session, user=organiser)

    response = await post(client, f"/organiser/booths/{booth.id}/decision", {"decision": "approve"})

    assert response.status_code == 409
    assert "This booth is already “Approved”." in text(response.text)


async def test_every_form_carries_the_session_csrf_token(client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    draft = await f.edition(session, by=organiser, publish=False)
    edition = await f.edition(session, by=organiser)
    await _requested_booth(session, edition)
    await as_user(client, session, user=organiser)
    token = await csrf(client, "/organiser")

    # Besides the log-out and language forms: the edition form; publish; approve and decline.
    for path, forms in (
        ("/organiser/editions/new", 1),
        (f"/organiser/editions/{draft.id}/settings", 2),
        (f"/organiser/editions/{edition.id}/booths", 2),
    ):
        page = await client.get(path)
        found = re.findall(r'name="csrf_token" value="([^"]*)"', page.text)
        # One token per page, masked afresh for each page (fair.web.auth.csrf_token).
        assert found == [found[0]] * (2 + forms) and found[0] not in ("", token), path


# Permissions -----------------------------------------------------------------------------------


async def test_organiser_of_another_edition_is_refused(app, client, session):
    edition = await f.edition(session)
    booth, _recruiter = await _requested_booth(session, edition)
    other = await f.user(session, Role.ORGANISER, locale="en")
    await f.edition(session, by=other)
    await as_user(client, session, user=other)
    base = f"/organiser/editions/{edition.id}"

    for path in (
        base,
        f"{base}/settings",
        f"{base}/booths",
        f"{base}/responses",
        f"{base}/offers.json",
    ):
        page = await client.get(path)
        assert page.status_code == 403, path
        assert "You do not organise this edition." in text(page.text)
    # Someone else's draft reads exactly as a missing edition: a 403 would tell it exists.
    draft = await f.edition(session, publish=False)
    await db.commit(session)
    for path in (
        f"/organiser/editions/{draft.id}",
        f"/organiser/editions/{draft.id}/settings",
        "/organiser/editions/999999",
    ):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert "This edition does not exist." in text(page.text)
    for path, data in (
        (f"{base}/settings", FORM),
        (f"{base}/publish", {}),
        (f"{base}/archive", {}),
        (f"/organiser/booths/{booth.id}/decision", {"decision": "approve"}),
    ):
        response = await post(client, path, data)
        assert response.status_code == 403, path

    [saved] = await read(app, select(Edition).where(Edition.id == edition.id))
    assert (saved.title, saved.archived_at) == ("Rencontres pour l'emploi", None)
    assert await booth_status(app, booth.id) == ("requested", "")


async def test_recruiters_and_candidates_are_refused(app, make_client, session):
    edition = await f.edition(session)
    base = f"/organiser/editions/{edition.id}"
    for role in (Role.RECRUITER, Role.CANDIDATE):
        client = make_client()
        await as_user(client, session, role)
        for path in ("/organiser", "/organiser/editions/new", base, f"{base}/booths"):
            page = await client.get(path)
            assert page.status_code == 403, (role, path)
            assert "This page is not available to your account." in text(page.text)
        response = await post(client, "/organiser/editions/new", FORM)
        assert response.status_code == 403
    assert len(await read(app, select(Edition))) == 1


async def test_anonymous_visitors_are_sent_to_log_in(client, session):
    edition = await f.edition(session)
    await db.commit(session)

    for path in ("/organiser", f"/organiser/editions/{edition.id}/booths"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


async def test_missing_csrf_token_is_refused(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser, publish=False)
    await as_user(client, session, user=organiser)

    response = await post(client, f"/organiser/editions/{edition.id}/publish", token=False)
    created = await post(client, "/organiser/editions/new", FORM, token=False)

    assert response.status_code == created.status_code == 403
    assert "This form has expired or did not come from this site." in text(response.text)
    assert [e.published_at for e in await read(app, select(Edition))] == [None]


# Reports and export ----------------------------------------------------------------------------


async def test_responses_report(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    alpha, _r = await _approved_booth(session, edition, "Alpha Bâtiment")
    bravo, bravo_recruiter = await _approved_booth(session, edition, "Bravo Services")
    alpha_offer = await f.offer(session, booth_=alpha)
    bravo_offer = await f.offer(session, booth_=bravo)
    first = await f.application(session, offer_=alpha_offer)
    await f.application(session, offer_=alpha_offer)
    await f.application(session, offer_=bravo_offer)
    answered = await f.application(session, offer_=bravo_offer)
    await applications.set_status(
        session, answered, ApplicationStatus.NOT_RETAINED, by=bravo_recruiter
    )
    await as_user(client, session, user=organiser)
    path = f"/organiser/editions/{edition.id}/responses"

    page = await client.get(path)

    assert page.status_code == 200
    shown = text(page.text)
    oldest = spaced(i18n.moment(first.created_at, "Europe/Paris", locale="en"))
    deadline = spaced(i18n.moment(edition.response_deadline, "Europe/Paris", locale="en"))
    assert f"The response deadline is {deadline}; it has not passed yet." in shown
    assert (
        "Employer Applications without an answer Oldest application "
        f"Alpha Bâtiment 2 {oldest} Bravo Services 1 "
    ) in shown
    assert "Totals Published offers 2 Applications 4" in shown
    assert "Applicants who answered the optional questions hidden" in shown
    assert "Aged 50 or over hidden" in shown
    assert "a figure about fewer than 5 people (0 included) is not shown" in shown

    clock.set_now(edition.response_deadline + timedelta(minutes=1))
    page = await client.get(path)
    assert f"The response deadline ({deadline}) has passed." in text(page.text)


async def test_responses_report_without_applications(client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    await as_user(client, session, user=organiser)

    page = await client.get(f"/organiser/editions/{edition.id}/responses")

    assert "Every application has an answer." in text(page.text)
    assert "Totals Published offers 0 Applications 0" in text(page.text)


async def test_export_round_trips_through_france_travail_shape(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    approved, _r = await f.booth(session, edition_=edition)
    requested, _r = await f.booth(session, edition_=edition, approve=False)
    shared = await f.offer(session, booth_=approved, salary="2 000 € brut mensuel", positions=2)
    hidden = await f.offer(session, booth_=approved, title="Plombier (H/F)")
    await offers.set_published(session, hidden, False)
    await f.offer(session, booth_=requested, title="Maçon (H/F)")
    await as_user(client, session, user=organiser)

    response = await client.get(f"/organiser/editions/{edition.id}/offers.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{edition.slug}-offers.json"'
    )
    [item] = json.loads(response.text)
    assert item == francetravail.export_offer(shared, approved.employer)
    back = francetravail.to_input(item)
    expected = f.offer_input(salary="2 000 € brut mensuel", positions=2)
    for name in (
        "title",
        "description",
        "rome_code",
        "contract",
        "working_time",
        "commune",
        "postcode",
        "experience",
        "skills",
        "salary",
        "positions",
    ):
        assert getattr(back, name) == getattr(expected, name), name
    assert back.external_id == f"FAIR{shared.id}"


async def test_export_queries_do_not_grow_with_offers(app, client, session):
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    booth, _r = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth)
    await as_user(client, session, user=organiser)
    path = f"/organiser/editions/{edition.id}/offers.json"
    with cold(app) as few:
        await client.get(path)
    for _n in range(3):
        more, _r = await f.booth(session, edition_=edition)
        await f.offer(session, booth_=more)
        await f.offer(session, booth_=more)
    await db.commit(session)
    with cold(app) as many:
        response = await client.get(path)
    assert len(json.loads(response.text)) == 7
    assert len(many) == len(few), many


async def test_admin_sees_every_edition(client, session):
    edition = await f.edition(session, title="Forum de quelqu'un")
    await as_user(client, session, Role.ADMIN)

    home = await client.get("/organiser")
    page = await client.get(f"/organiser/editions/{edition.id}/booths")

    assert "Forum de quelqu'un" in text(home.text)
    assert page.status_code == 200
