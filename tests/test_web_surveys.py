"""The survey's pages: a candidate of the edition answers once it is over and changes their
answer (one row), errors said in French, strangers refused; the organisers' results page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from fair import clock, db, participants, surveys
from fair.enums import Role
from fair.models import SurveyAnswer
from tests import factories as f
from tests.conftest import csrf
from tests.pages import as_user, radios, text
from tests.quick import edition_of

END = f.NOON + timedelta(days=7)  # the factories' edition ends when its applications close


def checked(html: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)" checked', html)


async def test_a_candidate_answers_after_the_edition_and_changes_the_answer(
    app, client, session, fetch
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await edition_of(session)
    person = await f.user(session, Role.CANDIDATE, locale="en")
    await participants.register_many(session, [(edition.id, person.id)])
    await as_user(client, session, user=person)
    path = f"/e/{edition.slug}/survey"

    early = await client.get(path)
    assert early.status_code == 200
    assert "The survey opens when the edition is over" in text(early.text)
    assert "<form" not in early.text.split("<main", 1)[1]

    link = f'href="{path}"'
    assert link not in (await client.get(f"/e/{edition.slug}")).text
    clock.set_now(END + timedelta(hours=1))
    assert link in (await client.get(f"/e/{edition.slug}")).text  # the edition's page leads here
    form = await client.get(path)
    assert radios(form.text, "overall") == ["1", "2", "3", "4", "5", ""]
    assert radios(form.text, "recommend") == ["yes", "no", "unsaid"]
    assert form.text.count("<fieldset") == 5 and form.text.count("<legend>") == 5
    assert '<label for="f-overall-4">4 – good</label>' in form.text
    sent = {"overall": "4", "ease": "5", "contacts": "", "organisation": "3"}
    answer = await client.post(
        path,
        data={
            "csrf_token": await csrf(client, path),
            **sent,
            "recommend": "yes",
            "comment": "Très\tutile\r\nMerci",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == path
    again = await client.get(path)
    assert "Thank you: your answer is saved." in text(again.text)
    assert "You answered on" in text(again.text)
    assert checked(again.text, "overall") == ["4"] and checked(again.text, "contacts") == [""]
    assert checked(again.text, "recommend") == ["yes"]
    rows = await fetch.scalars(select(SurveyAnswer))
    assert [(r.user_id, r.role, r.overall, r.ease, r.contacts, r.comment) for r in rows] == [
        (person.id, "candidate", 4, 5, None, "Très\tutile\nMerci")
    ]

    changed = await client.post(
        path, data={"csrf_token": await csrf(client, path), "overall": "2", "recommend": "no"}
    )
    assert changed.status_code == 303
    rows = await fetch.scalars(select(SurveyAnswer))
    assert [(r.overall, r.ease, r.recommend, r.comment) for r in rows] == [(2, None, False, "")]


async def test_errors_are_said_in_french_and_strangers_are_refused(
    app, client, session, make_client
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await edition_of(session)
    person = await f.user(session, Role.CANDIDATE)
    await participants.register_many(session, [(edition.id, person.id)])
    await as_user(client, session, user=person)
    client.cookies.set("lang", "fr")
    clock.set_now(END + timedelta(hours=1))
    path = f"/e/{edition.slug}/survey"
    wrong = await client.post(
        path, data={"csrf_token": await csrf(client, path), "overall": "9", "ease": "deux"}
    )
    assert wrong.status_code == 422
    assert text(wrong.text).count("Choisissez une note de 1 à 5.") == 4  # summary + field, twice
    assert checked(wrong.text, "overall") == []  # nothing valid to check again
    empty = await client.post(path, data={"csrf_token": await csrf(client, path)})
    assert empty.status_code == 422
    assert "Répondez à au moins une question." in text(empty.text)

    anonymous = make_client()  # from the mail's link, not logged in: log in, then back here
    sent_to = await anonymous.get(path)
    assert sent_to.status_code == 303 and sent_to.headers["location"] == f"/login?next={path}"
    stranger = make_client()
    await as_user(stranger, session, Role.CANDIDATE)
    refused = await stranger.get(path)
    assert refused.status_code == 403
    assert "This survey is for the candidates and recruiters who took part" in text(refused.text)


async def test_the_organisers_read_the_results_without_names(app, client, session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    people = await f.candidate_accounts(session, 6)
    await participants.register_many(session, [(edition.id, p.id) for p in people])
    clock.set_now(END + timedelta(hours=1))
    assert await surveys.invite(session) == 1
    for i, person in enumerate(people):
        data = surveys.SurveyInput(overall=5, recommend=True, comment=f"Avis {i}")
        await surveys.answer(session, edition=edition, user=person, data=data)
    await db.commit(session)
    await as_user(client, session, user=organiser)
    page = await client.get(f"/organiser/editions/{edition.id}/satisfaction")
    assert page.status_code == 200
    shown = text(page.text)
    assert "people invited: 6" in shown  # the six candidates who took part, nobody else
    assert "Candidates Answers: 6" in shown
    assert "Recruiters Answers: hidden" in shown
    for i in range(6):
        assert f"<li>Avis {i}</li>" in page.text
    assert not any(p.name in shown for p in people)
    # Six yes, no "no", no skip: the two zeros are hidden, so is the six with them; no share.
    assert "Share who would recommend it not shown" in shown
    # A chart per question and role; all six gave 5 to the overall question, so its 5 is hidden
    # with the zeros around it.
    assert page.text.count('role="img"') == 8
    assert "6 answers; some counts are hidden, so no mean is shown." in shown

    other = await as_user(client, session, Role.ORGANISER)
    assert other.id != organiser.id
    assert (await client.get(f"/organiser/editions/{edition.id}/satisfaction")).status_code == 403


async def test_a_recruiter_finds_the_survey_on_the_booth_page_and_answers_for_the_booth(
    app, client, session, fetch
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await edition_of(session)
    booth, recruiter = await f.booth(session, edition_=edition)  # (its recruiter logs in)
    await as_user(client, session, user=recruiter)
    path = f"/e/{edition.slug}/survey"
    assert f'href="{path}"' not in (await client.get(f"/recruiter/booths/{booth.id}")).text
    clock.set_now(END + timedelta(minutes=1))
    assert f'href="{path}"' in (await client.get(f"/recruiter/booths/{booth.id}")).text
    form = await client.get(path)
    assert "How useful were your contacts with candidates?" in text(form.text)
    answer = await client.post(path, data={"csrf_token": await csrf(client, path), "ease": "5"})
    assert answer.status_code == 303
    rows = await fetch.scalars(select(SurveyAnswer))
    assert [(r.user_id, r.role, r.booth_id, r.ease) for r in rows] == [
        (recruiter.id, "recruiter", booth.id, 5)
    ]
