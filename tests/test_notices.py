"""The header's "Notices" link shows the unread count, in words for screen readers too, and
follows live: `notices.unread` on the user's channel when a notice is added or read (over a
real socket: tests/test_notices_live.py)."""

from __future__ import annotations

import re

from fair import applications, channels, db, events, notices
from fair.enums import ApplicationStatus, NoticeKind, Role
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import text

LINK = re.compile(r'<a href="/me/notices" data-notices[^>]*>.*?</a>', re.S)


def notices_link(page: str) -> tuple[str, str]:
    """The link's visible-and-spoken text, and its count's data-unread and hidden state."""
    [link] = LINK.findall(page)
    count = re.search(r'<span class="unread" data-unread="(\d+)"( hidden)?>', link)
    assert count is not None
    return text(link), count.group(1) + (" hidden" if count.group(2) else "")


async def test_the_header_counts_unread_notices(client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    candidate = await f.candidate(session, locale="en")
    application = await f.application(session, offer_=offer, candidate_=candidate)
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, candidate.email, f.PASSWORD)

    page = await client.get("/me/applications")
    assert notices_link(page.text) == ("Notices 0 (0 unread)", "0 hidden")

    await applications.set_status(session, application, ApplicationStatus.IN_REVIEW, by=recruiter)
    await applications.set_status(session, application, ApplicationStatus.SHORTLISTED, by=recruiter)
    await db.commit(session)
    page = await client.get("/me/applications")
    assert notices_link(page.text) == ("Notices 2 (2 unread)", "2")
    assert 'data-unread-one="({num} unread)" data-unread-other="({num} unread)"' in page.text

    client.cookies.set("lang", "fr")
    page = await client.get("/me/applications")
    assert notices_link(page.text) == ("Notifications 2 (2 non lues)", "2")
    assert 'data-unread-one="({num} non lue)" data-unread-other="({num} non lues)"' in page.text

    token = await csrf(client, "/me/notices")
    read = await client.post("/me/notices", data={"csrf_token": token})
    assert read.status_code == 303
    page = await client.get("/me/applications")
    assert notices_link(page.text) == ("Notifications 0 (0 non lue)", "0 hidden")


async def test_recruiters_have_the_link_too(client, session):  # type: ignore[no-untyped-def]
    recruiter = await f.user(session, Role.RECRUITER, locale="en")
    await notices.add(
        session, user_id=recruiter.id, kind=NoticeKind.QUEUE_SKIPPED, params={}, link=""
    )
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, recruiter.email, f.PASSWORD)
    page = await client.get("/recruiter")
    assert notices_link(page.text) == ("Notices 1 (1 unread)", "1")


async def test_adding_and_reading_notices_emit_the_count(session):  # type: ignore[no-untyped-def]
    candidate = await f.user(session, Role.CANDIDATE, can_log_in=False)
    events.take(session)
    for _n in range(2):
        await notices.add(
            session, user_id=candidate.id, kind=NoticeKind.QUEUE_SKIPPED, params={}, link=""
        )
    await notices.mark_all_read(session, candidate.id)
    own = channels.user(candidate.id)
    assert events.take(session) == [
        events.Event(own, "notices.unread", {"unread": 1}),
        events.Event(own, "notices.unread", {"unread": 2}),
        events.Event(own, "notices.unread", {"unread": 0}),
    ]
