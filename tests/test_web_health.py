"""The health checks page (/organiser/editions/{id}/health): the items of each check for the
edition's organisers only, and the reminder button (mail in the outbox, a second one refused
within 24 hours, said in French)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fair import clock, db, employers
from fair.enums import Role
from fair.models import HealthReminder, OutboxMail
from tests import factories as f
from tests.conftest import csrf
from tests.pages import as_user, text
from tests.quick import booth_of, edition_of


async def test_the_page_lists_what_to_fix_and_reminds_the_recruiters_once_a_day(
    app, client, session, fetch
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    bare, recruiter = await booth_of(session, edition)
    employer = await employers.get(session, bare.employer_id)
    await db.commit(session)
    await as_user(client, session, user=organiser)
    path = f"/organiser/editions/{edition.id}/health"

    page = await client.get(path)
    assert page.status_code == 200
    shown = text(page.text)
    assert "Approved booths with no published offer (1)" in shown
    assert "Approved booths with no interview slot (1)" in shown
    assert "Booths whose recruiters never logged in (1)" in shown
    assert "Offers without a ROME code or a commune (0)" in shown
    assert "Booth requests waiting for more than 3 days (0)" in shown
    assert f'href="/e/{edition.slug}/booths/{bare.id}"' in page.text
    # A reminder button for each check naming a booth: no offer, no slot, no log-in.
    assert page.text.count('/remind"') == 3
    assert employer.name in shown

    action = f"{path}/no_offer/remind"
    answer = await client.post(action, data={"csrf_token": await csrf(client, path)})
    assert answer.status_code == 303 and answer.headers["location"] == f"{path}#no_offer"
    after = await client.get(path)
    assert "The reminder was sent to 1 recruiter." in text(after.text)
    assert "Last reminder sent on" in text(after.text)
    mails = await fetch.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == recruiter.email).order_by(OutboxMail.id)
    )
    assert [m.subject for m in mails][-1] == f"{edition.title} : votre stand a besoin de vous"
    assert f"/recruiter/booths/{bare.id}" in mails[-1].body
    reminders = await fetch.scalars(select(HealthReminder))
    assert [(r.check, r.recipients, r.sent_by_id) for r in reminders] == [
        ("no_offer", 1, organiser.id)
    ]

    client.cookies.set("lang", "fr")
    clock.set_now(f.NOON + timedelta(hours=2))
    again = await client.post(action, data={"csrf_token": await csrf(client, path)})
    assert again.status_code == 409
    assert "Un rappel pour ce contrôle a déjà été envoyé il y a moins de 24 heures." in text(
        again.text
    )
    assert len(await fetch.scalars(select(HealthReminder))) == 1


async def test_only_the_editions_organisers_see_it_and_the_button_needs_the_form_token(
    app, client, session
) -> None:  # type: ignore[no-untyped-def]
    edition = await edition_of(session)
    await db.commit(session)
    await as_user(client, session, Role.ORGANISER)
    path = f"/organiser/editions/{edition.id}/health"
    assert (await client.get(path)).status_code == 403
    refused = await client.post(f"{path}/no_offer/remind", data={"csrf_token": "nope"})
    assert refused.status_code == 403
