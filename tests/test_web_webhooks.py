"""Webhook pages (fair/web/webhooks.py): organisers and recruiters register, edit, pause and
delete endpoints, see the secret, the delivery log by pages, and replay; nobody else may."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy import select

from fair import clock, db, settings, webhook_delivery, webhooks
from fair.enums import Role
from fair.models import WebhookDelivery, WebhookEndpoint
from tests import factories as f
from tests.pages import as_user, person, post, text
from tests.webhook_receiver import Receiver


async def test_an_organiser_registers_edits_pauses_and_deletes(client, session, fetch):  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    await as_user(client, session, user=organiser)
    page = f"/organiser/editions/{edition.id}/webhooks"
    assert "No webhook yet." in text((await client.get(page)).text)

    refused = await post(
        client, page, page, url="http://partner.example.fr/hook", events=["offer.published"]
    )
    assert refused.status_code == 422
    assert "The URL must start with https://" in text(refused.text)
    refused = await post(client, page, page, url="https://partner.example.fr/hook")
    assert "Choose at least one event among those listed." in text(refused.text)
    assert await fetch.scalars(select(WebhookEndpoint)) == []

    created = await post(
        client,
        page,
        page,
        url="https://partner.example.fr/hook",
        events=["offer.published", "booth.approved"],
    )
    [endpoint] = await fetch.scalars(select(WebhookEndpoint))
    assert created.status_code == 303
    assert created.headers["location"] == f"/webhooks/{endpoint.id}"
    assert (endpoint.edition_id, endpoint.booth_id, endpoint.url, endpoint.events) == (
        edition.id,
        None,
        "https://partner.example.fr/hook",
        ["booth.approved", "offer.published"],
    )
    shown = await client.get(f"/webhooks/{endpoint.id}")
    assert f'value="{endpoint.secret}"' in shown.text
    assert "Nothing sent yet." in text(shown.text)
    assert "https://partner.example.fr/hook" in text((await client.get(page)).text)

    url = f"/webhooks/{endpoint.id}"
    saved = await post(
        client, url, url, url="https://partner.example.fr/v2", events=["offer.closed"]
    )
    assert saved.status_code == 303
    paused = await post(client, url, f"{url}/pause")
    assert paused.status_code == 303
    changed = await fetch.get(WebhookEndpoint, endpoint.id)
    assert (changed.url, changed.events, changed.active) == (
        "https://partner.example.fr/v2",
        ["offer.closed"],
        False,
    )
    assert "Paused" in text((await client.get(url)).text)
    await post(client, url, f"{url}/pause", active="1")
    assert (await fetch.get(WebhookEndpoint, endpoint.id)).active is True
    deleted = await post(client, url, f"{url}/delete")
    assert deleted.headers["location"] == page
    assert await fetch.scalars(select(WebhookEndpoint)) == []


async def test_only_the_owners_manage_an_endpoint(client, make_client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    other_organiser = await f.user(session, Role.ORGANISER, locale="en")
    stranger = await f.user(session, Role.RECRUITER, locale="en")
    theirs = await webhooks.create(
        session,
        by=recruiter,
        edition_id=edition.id,
        booth_id=booth.id,
        url="https://ats.example.fr/hook",
        events=["application.submitted"],
    )
    ours = await webhooks.create(
        session,
        by=recruiter,
        edition_id=edition.id,
        booth_id=None,
        url="https://partner.example.fr/hook",
        events=["booth.approved"],
    )
    await db.commit(session)
    owner = await person(make_client, recruiter)
    assert (await owner.get(f"/webhooks/{theirs.id}")).status_code == 200
    assert (await owner.get(f"/recruiter/booths/{booth.id}/webhooks")).status_code == 200
    assert (await owner.get(f"/webhooks/{ours.id}")).status_code == 403  # the edition's
    for user in (stranger, other_organiser):
        someone = await person(make_client, user)
        for path in (
            f"/webhooks/{theirs.id}",
            f"/webhooks/{ours.id}",
            f"/recruiter/booths/{booth.id}/webhooks",
            f"/organiser/editions/{edition.id}/webhooks",
        ):
            answer = await someone.get(path)
            assert answer.status_code in {403, 404}, (user.role, path, answer.status_code)
            assert theirs.secret not in answer.text and ours.secret not in answer.text
        replay = await someone.post(
            f"/webhooks/{theirs.id}/deliveries/1/replay", data={"csrf_token": "x"}
        )
        assert replay.status_code == 403  # no valid CSRF token, nothing done


async def test_the_log_pages_and_replays(client, session, fetch, app):  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    # The receiver listens on loopback, which deliveries reach only when allowed.
    settings.override(replace(settings.get(), webhook_private_targets=True))
    organiser = await f.user(session, Role.ORGANISER, locale="en")
    edition = await f.edition(session, by=organiser)
    with Receiver() as receiver:
        endpoint = await webhooks.create(
            session,
            by=organiser,
            edition_id=edition.id,
            booth_id=None,
            url=receiver.url,
            events=["booth.approved"],
        )
        for n in range(webhooks.LOG_PAGE + 2):
            await webhooks.queue(
                session, "booth.approved", edition_id=edition.id, booth_id=None, data={"n": n}
            )
        await db.commit(session)
        while await webhook_delivery.deliver_due(app.state.write_sessions, limit=100):
            pass
        await as_user(client, session, user=organiser)
        url = f"/webhooks/{endpoint.id}"
        first = await client.get(url)
        rows = await fetch.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc()))
        listed = re.findall(r'class="hint">(msg_[0-9a-f]{32})<', first.text)
        assert listed == [row.message_id for row in rows[: webhooks.LOG_PAGE]]
        older = rows[webhooks.LOG_PAGE - 1].id
        assert f'href="{url}?before={older}"' in first.text
        second = await client.get(f"{url}?before={older}")
        assert re.findall(r'class="hint">(msg_[0-9a-f]{32})<', second.text) == [
            row.message_id for row in rows[webhooks.LOG_PAGE :]
        ]
        assert "Older deliveries" not in second.text

        oldest = rows[-1]
        replay = await post(client, url, f"{url}/deliveries/{oldest.id}/replay")
        assert replay.status_code == 303
        requeued = await fetch.get(WebhookDelivery, oldest.id)
        assert (requeued.delivered_at, requeued.queued_at) == (None, clock.now())
        again = await post(client, url, f"{url}/deliveries/{oldest.id}/replay")
        assert again.status_code == 409
        assert await webhook_delivery.deliver_due(app.state.write_sessions) == 1
    sent = [r.webhook_id for r in receiver.received]
    assert len(sent) == webhooks.LOG_PAGE + 3 and sent[-1] == oldest.message_id
