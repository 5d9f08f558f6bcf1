"""The private conversation a queue call opens (fair.conversations): messages for its two
participants, and the end with a next step that moves the candidate's applications."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, conversations, events, queues
from fair.enums import ApplicationStatus, NextStep
from fair.models import Application, ApplicationEvent, ConversationMessage, QueueEntry
from tests import factories as f
from tests.booth_queue import fair_with_booth, talk
from tests.refusals import code_of


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    """Every test starts at noon (Paris) on a live day; conf unfreezes the clock afterwards."""
    clock.set_now(f.NOON)


async def test_end_with_next_step_moves_the_application(session: AsyncSession) -> None:
    booth, recruiter = await fair_with_booth(session)
    offer = await f.offer(session, booth_=booth)
    other_offer = await f.offer(session, booth_=booth)
    proposed, declined, kept = [await f.candidate(session) for _ in range(3)]
    applied = {
        proposed.id: await f.application(session, offer_=offer, candidate_=proposed),
        declined.id: await f.application(session, offer_=offer, candidate_=declined),
        kept.id: await f.application(session, offer_=offer, candidate_=kept),
    }
    second = await f.application(session, offer_=other_offer, candidate_=declined)
    for person in (proposed, declined, kept):
        await queues.join(session, candidate=person, booth=booth)
    await talk(session, booth, recruiter, 60, NextStep.INTERVIEW_PROPOSED)
    await talk(session, booth, recruiter, 60, NextStep.NOT_RETAINED)
    await talk(session, booth, recruiter, 60, NextStep.KEEP_IN_TOUCH)
    statuses = await session.scalars(
        select(Application.status)
        .where(Application.id.in_([a.id for a in applied.values()]))
        .order_by(Application.id)
    )
    assert list(statuses) == ["interview_proposed", "not_retained", "submitted"]
    moves = await session.execute(
        select(
            ApplicationEvent.application_id,
            ApplicationEvent.from_status,
            ApplicationEvent.to_status,
        ).order_by(ApplicationEvent.id)
    )
    a, b = applied[proposed.id].id, applied[declined.id].id
    assert moves.all() == [
        (a, "submitted", "shortlisted"),
        (a, "shortlisted", "interview_proposed"),
        (b, "submitted", "not_retained"),
        (second.id, "submitted", "not_retained"),
    ]
    assert (await session.get(Application, b)).status_message != ""  # type: ignore[union-attr]
    entries = await session.scalars(select(QueueEntry.next_step).order_by(QueueEntry.id))
    assert list(entries) == ["interview_proposed", "not_retained", "keep_in_touch"]


async def test_end_twice_refused_and_final_application_untouched(session: AsyncSession) -> None:
    booth, recruiter = await fair_with_booth(session)
    person = await f.candidate(session)
    application = await f.application(
        session, offer_=await f.offer(session, booth_=booth), candidate_=person
    )
    from fair import applications

    await applications.set_status(
        session, application, ApplicationStatus.NOT_RETAINED, by=recruiter
    )
    await queues.join(session, candidate=person, booth=booth)
    entry = await queues.take_next(session, recruiter=recruiter, booth=booth)
    assert entry is not None
    conversation = await conversations.answer(session, candidate=person, entry=entry)
    await conversations.end(
        session,
        recruiter=recruiter,
        conversation=conversation,
        next_step=NextStep.INTERVIEW_PROPOSED,
    )
    assert application.status == ApplicationStatus.NOT_RETAINED
    code = await code_of(
        conversations.end(
            session, recruiter=recruiter, conversation=conversation, next_step=NextStep.NONE
        )
    )
    assert code == "conversation.ended"


async def test_messages_are_stored_for_participants(session: AsyncSession) -> None:
    booth, recruiter = await fair_with_booth(session)
    person = await f.candidate(session)
    await queues.join(session, candidate=person, booth=booth)
    entry = await queues.take_next(session, recruiter=recruiter, booth=booth)
    assert entry is not None
    conversation = await conversations.answer(session, candidate=person, entry=entry)
    events.take(session)
    await conversations.send_message(
        session, user=recruiter, conversation=conversation, body=" Bonjour "
    )
    await conversations.send_message(
        session, user=person, conversation=conversation, body="Bonjour !"
    )
    code = await code_of(
        conversations.send_message(session, user=person, conversation=conversation, body="x" * 2001)
    )
    assert code == "conversation.invalid"
    code = await code_of(
        conversations.send_message(session, user=person, conversation=conversation, body="  ")
    )
    assert code == "conversation.invalid"
    rows = await session.execute(
        select(ConversationMessage.sender_id, ConversationMessage.body).order_by(
            ConversationMessage.id
        )
    )
    assert rows.all() == [(recruiter.id, "Bonjour"), (person.id, "Bonjour !")]
    listed = await conversations.messages(session, user=person, conversation=conversation)
    assert [m.body for m in listed] == ["Bonjour", "Bonjour !"]
    queued = sorted((e.channel, e.event) for e in events.take(session))
    assert queued == sorted(
        [(channels.user(u.id), "conversation.message") for u in (recruiter, person)] * 2
    )
