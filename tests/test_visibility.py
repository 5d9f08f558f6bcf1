"""Who sees a booth or a webconference: one rule (`employers.is_public`,
`webconferences.visible_to`) for the pages, the booth queues and the socket's stage commands
(the socket's side is tests/test_live.py's), on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, employers, queues, webconferences
from fair.enums import BoothStatus, Role
from fair.errors import Conflict
from tests import factories as f
from tests.factories import NOON, talk
from tests.pages import person


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


async def test_booths_of_drafts_and_unapproved_booths_are_nowhere(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    organiser = await f.user(session, Role.ORGANISER)
    draft = await f.edition(session, by=organiser)
    in_draft, _ = await f.booth(session, edition_=draft)  # approved, but the fair is a draft:
    draft.published_at = None  # booths are requested once it is published; no page unpublishes
    edition = await f.edition(session)
    requested, _ = await f.booth(session, edition_=edition, approve=False)
    public, _ = await f.booth(session, edition_=edition)
    candidate = await f.candidate(session)
    await db.commit(session)

    assert [employers.is_public(b) for b in (in_draft, requested, public)] == [False, False, True]
    # The booth link of live notices (fair/web/desk.py) followed the approval alone: a booth of
    # a draft edition was found.
    links = [(await client.get(f"/booths/{b.id}")).status_code for b in (in_draft, requested)]
    assert links == [404, 404]
    found = await client.get(f"/booths/{public.id}")
    assert (found.status_code, found.headers["location"]) == (
        303,
        f"/e/{edition.slug}/booths/{public.id}#desk",
    )
    pages = [
        (await client.get(f"/e/{e.slug}/booths/{b.id}")).status_code
        for e, b in ((draft, in_draft), (edition, requested), (edition, public))
    ]
    assert pages == [404, 404, 200]

    # Its queue was open too during the draft's "live hours".
    for booth in (in_draft, requested):
        with pytest.raises(Conflict) as refused:
            await queues.join(session, candidate=candidate, booth=booth)
        assert refused.value.code == "queue.closed"
    entry = await queues.join(session, candidate=candidate, booth=public)
    assert (entry.booth_id, entry.status) == (public.id, "waiting")


async def test_talks_of_drafts_and_of_declined_booths_are_for_those_who_run_them(
    session: AsyncSession, make_client, client: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER)
    draft = await f.edition(session, by=organiser, publish=False)
    in_draft = await webconferences.schedule(
        session, by=organiser, edition=draft, data=talk([organiser])
    )
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    of_booth = await webconferences.schedule(
        session,
        by=recruiter,
        edition=edition,
        booth=booth,
        data=talk([recruiter], title="Nos métiers du bâtiment"),
    )
    open_talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=talk([organiser], title="Bien se préparer")
    )
    admin = await f.user(session, Role.ADMIN)
    await employers.set_status(
        session, booth, BoothStatus.DECLINED, by=admin, reason="Hors du territoire."
    )
    candidate = await f.candidate(session)
    await db.commit(session)

    talks = (in_draft, of_booth, open_talk)
    seen = {
        who: [await webconferences.visible_to(session, user, t) for t in talks]
        for who, user in (
            ("visitor", None),
            ("candidate", candidate),
            ("recruiter", recruiter),
            ("organiser", organiser),
        )
    }
    assert seen == {
        "visitor": [False, False, True],
        "candidate": [False, False, True],
        "recruiter": [False, True, True],  # presents the booth's talk
        "organiser": [True, True, True],  # organises both editions
    }
    # The pages follow the same rule (a declined booth's talk was shown to everyone).
    clients = {
        "visitor": client,
        "candidate": await person(make_client, candidate),
        "recruiter": await person(make_client, recruiter),
    }
    pages = {
        who: [(await c.get(f"/webconferences/{t.id}")).status_code for t in talks]
        for who, c in clients.items()
    }
    assert pages == {
        "visitor": [404, 404, 200],
        "candidate": [404, 404, 200],
        "recruiter": [404, 200, 200],
    }
    # And the programme lists what the pages show (it listed the declined booth's talk).
    listed = {}
    for who, c in clients.items():
        html = (await c.get(f"/e/{edition.slug}/programme")).text
        listed[who] = [t for t in ("Nos métiers du bâtiment", "Bien se préparer") if t in html]
    assert listed == {
        "visitor": ["Bien se préparer"],
        "candidate": ["Bien se préparer"],
        "recruiter": ["Nos métiers du bâtiment", "Bien se préparer"],
    }
