"""Someone else's object answers exactly as one that does not exist (404, same message and
code), never 403, which would tell that it exists (errors.NotYours)."""

from __future__ import annotations

from sqlalchemy import select

from fair import db, queues
from fair.enums import Role
from fair.models import Conversation
from tests import factories as f
from tests.conftest import csrf, login

JSON = {"accept": "application/json"}


async def test_another_persons_queue_place_and_conversation_do_not_exist(  # type: ignore[no-untyped-def]
    client, make_client, session, fetch
):
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    person, intruder = await f.candidate(session), await f.candidate(session)
    entry = await queues.join(session, candidate=person, booth=booth)
    await queues.take_next(session, recruiter=recruiter, booth=booth)
    await db.commit(session)
    _, stranger = await f.booth(session, edition_=edition)
    await db.commit(session)

    await login(client, intruder.email, f.PASSWORD)
    token = await csrf(client, "/")
    data = {"csrf_token": token}
    theirs = await client.post(f"/queue/{entry.id}/answer", data=data, headers=JSON)
    missing = await client.post("/queue/999999/answer", data=data, headers=JSON)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert theirs.json()["error"]["code"] == "queue.not_found"

    owner = make_client()
    await login(owner, person.email, f.PASSWORD)
    token_o = await csrf(owner, "/")
    answered = await owner.post(f"/queue/{entry.id}/answer", data={"csrf_token": token_o})
    assert answered.status_code == 303
    conversation = await fetch.scalar(
        select(Conversation).where(Conversation.candidate_id == person.id)
    )
    for outsider in (intruder, stranger):
        browser = make_client()
        await login(browser, outsider.email, f.PASSWORD)
        token_b = await csrf(browser, "/")
        data = {"csrf_token": token_b, "body": "Bonjour"}
        theirs = await browser.post(
            f"/conversations/{conversation.id}/messages", data=data, headers=JSON
        )
        missing = await browser.post("/conversations/999999/messages", data=data, headers=JSON)
        assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
        assert theirs.json()["error"]["code"] == "conversation.not_found"
    assert stranger.role == Role.RECRUITER
