"""Every edit form of the demo, posted back as it stands, saves and changes nothing.

Each role of the demo walks the pages reachable from the home page (tests/walk.py); every form
that edits something (EDIT_FORMS) is read as a browser reads it (tests/html_forms.py) and posted
back unchanged: the answer is a redirect, no row of the database changed, and the form shows the
same values afterwards. A page's own form that only shows what is stored is the commonest way to
save: an edit that cannot survive its own values loses the organiser's or recruiter's work.
"""

from __future__ import annotations

from datetime import timedelta
from pprint import pformat
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.routing import Route

from fair import accounts, candidates, clock, db, demo, webconferences
from fair.enums import Qualification, Role, WebconferenceAccess
from tests import factories as f
from tests.conftest import login
from tests.html_forms import Form, forms_of
from tests.walk import Page, changed, route_name, snapshot, walk

# Pages that show an existing object's settings in a form posting to the page itself.
EDIT_FORMS = {
    "edition_edit": "an edition's settings and live days",
    "edition_interviews": "an edition's interview booking rules",
    "edition_branding": "an edition's colour, the text on it, its logo and banner",
    "edition_embed": "the sites allowed to frame an edition's widget",
    "webhook": "a webhook's address and events",
    "employer_edit": "an employer's details",
    "offer_edit": "an offer",
    "profile": "the account's profile (and a candidate's CV)",
    "recruiter_profile": "a recruiter's job title and photo shown on the booths they staff",
    "priority_publics": "a candidate's optional answers to the priority-public questions",
    "webconference_edit": "a webconference and its presenters",
    "survey": "a person's answer to an edition's satisfaction survey",
    "job_report": "a candidate's answer to the follow-up: a job found or not yet",
    # Not in the demo (no counsellor there): tested in tests/test_web_counsellors.py.
    "counsellor_profile": "a followed candidate's profile and job search, by their counsellor",
}
# The other pages that answer GET and POST: their form creates or acts, it does not edit.
OTHER_FORMS = {
    "signup": "creates an account",
    "signup_confirm": "confirms a sign-up",
    "login": "logs in",
    "reset_request": "sends a reset link",
    "reset": "sets a new password",
    "invitation": "joins an employer",
    "notices": "marks notices read",
    "withdraw": "withdraws an application, once confirmed",
    "employer_new": "creates an employer",
    "offer_new": "creates an offer",
    "booth_interviews": "publishes interview slots",
    "edition_webconferences": "creates a webconference",
    "booth_webconferences": "creates a webconference",
    "edition_new": "creates an edition",
    # One form per retained candidate, whose buttons are the answers ("hired", "not hired"):
    # each click answers again, at the follow-up's current stage.
    "booth_follow_up": "answers the follow-up about a retained candidate",
    "edition_api_keys": "creates a partner's API key (shown once)",
    "booth_api_keys": "creates a booth's own API key (shown once)",
    "edition_webhooks": "registers an edition's webhook",
    "booth_webhooks": "registers a booth's webhook",
    "edition_file": "downloads an export (POST for those holding personal data: recorded)",
    "code_login": "redeems a one-time code printed by a counsellor",
    "counsellor_new_person": "creates an account with a person",
    "counsellor_consent": "records the consent a person ticks on the counsellor's screen",
    "delete_account": "deletes the account, once the password is given",
    "edition_network": "registers a partner instance of the network",
    "structures": "creates a structure",
    "alert_stop_link": "stops a mail alert, once confirmed (or by a mail client's one-click)",
    "pool_reminders_stop": "stops the CV pool's reminders, once confirmed (or one-click)",
}
ROLES = {
    "admin": demo.ADMIN,
    "organiser": demo.ORGANISER,
    "recruiter": demo.RECRUITER,
    "candidate": demo.CANDIDATE,
}


def test_every_page_with_a_form_of_its_own_is_classified(app: Any) -> None:
    both = {
        r.name
        for r in app.routes
        if isinstance(r, Route) and r.methods and {"GET", "POST"} <= r.methods
    }
    assert set(EDIT_FORMS) | set(OTHER_FORMS) == both
    assert not set(EDIT_FORMS) & set(OTHER_FORMS)


def _edit_forms(app: Any, pages: list[Page]) -> list[tuple[Page, Form, int]]:
    """The edit forms posting to their own page, each with its place among them (a page may
    hold one such form per object: a follow-up holds one per candidate)."""
    found = []
    for page in pages:
        own = [f for f in forms_of(page.text, page.url) if f.action == page.url]
        for place, form in enumerate(own):
            name = route_name(app, form.action, form.method)
            if form.method == "POST" and name in EDIT_FORMS:
                found.append((page, form, place))
    return found


@pytest.fixture
async def seeded(app: Any, session: Any) -> None:
    """The demo, and the demo candidate's answers to the optional priority questions."""
    await demo.seed(session)
    candidate = await accounts.by_email(session, demo.CANDIDATE)
    assert candidate is not None
    answers = candidates.PriorityAnswers(
        rural_area=True,
        rsa_beneficiary=False,
        qualification=Qualification.BAC_2,
        birth_year=2001,
    )
    await candidates.declare(session, candidate, consent=True, answers=answers)
    await db.commit(session)


async def test_every_edit_form_posted_back_unchanged_changes_nothing(
    app: Any, make_client: Any, seeded: None
) -> None:
    reached: dict[str, set[str]] = {}
    problems: list[tuple[str, str, object]] = []
    for role, email in ROLES.items():
        client = make_client()
        await login(client, email, demo.PASSWORD)
        pages = await walk(app, client, depth=4)
        assert [(p.url, p.status) for p in pages if p.status >= 500] == [], role
        for page, form, place in _edit_forms(app, pages):
            name = route_name(app, form.action, form.method)
            assert name is not None
            reached.setdefault(name, set()).add(role)
            where = f"{role} {form.action}"
            before = await snapshot(app)
            response = await client.request(form.method, form.action, **form.send())  # type: ignore[arg-type]
            if response.status_code != 303:
                problems.append((where, "status", (response.status_code, response.text[-2000:])))
                continue
            # When it was last saved may move; nothing else may.
            after = await snapshot(app)
            diff = changed(before, after, ignore=frozenset({"updated_at"}))
            changed_at = changed(before, after)
            if name == "edition_interviews" and diff.get("interview_rules", {}).get("gone") == []:
                # Rules are stored when first saved: the defaults the form showed, written down.
                diff.pop("interview_rules")
            if name == "profile" and set(diff.get("job_search_profiles", {})) == {"gone", "new"}:
                # Likewise the job search (fair.job_search), first saved with the profile: the
                # home commune's coordinates and the form's defaults, nothing else.
                if diff["job_search_profiles"]["gone"] == []:
                    diff.pop("job_search_profiles")
            if diff.keys() == {"offers_versions"} and "offers" in changed_at:
                # The offers' version follows their updated_at, which the API shows.
                diff.pop("offers_versions")
            if diff:
                problems.append((where, "changed", diff))
            again = await client.get(page.url)
            own = [f for f in forms_of(again.text, page.url) if f.action == page.url]
            same = own[place]
            if same.values() != form.values():
                problems.append((where, "values", (form.values(), same.values())))
    assert problems == [], pformat(problems, width=100)
    assert reached == {
        "edition_edit": {"admin", "organiser"},
        "edition_interviews": {"admin", "organiser"},
        "edition_branding": {"admin", "organiser"},
        "edition_embed": {"admin", "organiser"},
        "employer_edit": {"recruiter"},
        "offer_edit": {"recruiter"},
        "profile": {"candidate"},
        "recruiter_profile": {"recruiter"},
        "priority_publics": {"candidate"},
        "webconference_edit": {"admin", "organiser", "recruiter"},
    }


async def test_a_talk_saved_unchanged_keeps_its_presenters_order_and_time(
    app: Any, client: Any, session: Any
) -> None:
    # Presenters in the order given (not the page's alphabetical one), a start with seconds (set
    # through the domain, as an import would), a registered candidate who would be mailed an
    # updated invitation if the talk moved.
    organiser = await f.user(session, Role.ORGANISER, name="Zoé Martin")
    edition = await f.edition(session, by=organiser)
    recruiter = await f.user(session, Role.RECRUITER, name="Anne Petit")
    booth, _ = await f.booth(session, edition_=edition, recruiter=recruiter)
    # Tomorrow mid-morning, inside the live day's hours whatever the time the suite runs at (two
    # hours from now left the day after 22:00 in Paris).
    tomorrow = clock.now().astimezone(f.PARIS).date() + timedelta(days=1)
    starts = f.day_at(tomorrow, 10) + timedelta(seconds=17)
    talk = await webconferences.schedule(
        session,
        by=organiser,
        edition=edition,
        booth=booth,
        data=webconferences.WebconferenceInput(
            title="Nos métiers",
            description="Une heure avec nous.\n\nPosez vos questions.",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=45),
            capacity=30,
            access=WebconferenceAccess.REGISTERED,
            presenter_ids=[organiser.id, recruiter.id],
        ),
    )
    candidate = await f.user(session, Role.CANDIDATE, can_log_in=False)
    await webconferences.register(session, candidate=candidate, webconference=talk)
    await db.commit(session)
    await login(client, organiser.email, f.PASSWORD)
    url = f"http://testserver/webconferences/{talk.id}/edit"
    [form] = [form for form in forms_of((await client.get(url)).text, url) if form.action == url]
    assert form.values()["presenters"] == [str(organiser.id), str(recruiter.id)]
    before = await snapshot(app)

    response = await client.post(form.action, **form.send())  # type: ignore[arg-type]

    assert response.status_code == 303
    assert changed(before, await snapshot(app), ignore=frozenset({"updated_at"})) == {}


# Forms that would end the walk's own session.
UNPOSTED = ("/logout", "/account/sessions/")


async def test_the_demo_walked_as_each_role_with_every_form_posted_back_answers_no_5xx(
    app: Any, make_client: Any, seeded: None
) -> None:
    """Every page up to three clicks from home (two per route at most), and every form on them
    posted back as it stands (actions included: publish, withdraw, cancel…), as every role."""
    failures: list[tuple[str, str, str, object]] = []
    posted = 0
    for role, email in ROLES.items():
        client = make_client()
        await login(client, email, demo.PASSWORD)
        pages = await walk(app, client, depth=3, per_route=2)
        failures += [(role, "GET", p.url, p.status) for p in pages if p.status >= 500]
        for page in pages:
            for form in forms_of(page.text, page.url):
                if form.method != "POST" or urlsplit(form.action).path.startswith(UNPOSTED):
                    continue
                posted += 1
                try:
                    response = await client.request("POST", form.action, **form.send())  # type: ignore[arg-type]
                except Exception as error:  # noqa: BLE001 - an unhandled error is a 500
                    failures.append((role, "POST", form.action, repr(error)))
                    continue
                if response.status_code >= 500:
                    failures.append((role, "POST", form.action, response.status_code))
    assert failures == []
    assert posted >= 150
