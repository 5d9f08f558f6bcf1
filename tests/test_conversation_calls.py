"""A booth conversation by video or phone (fair.conversation_calls): a request and the other
person's acceptance or refusal, back to written chat at once, the phone number for the
recruiter only while they talk by phone, and nobody else in it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, conversation_calls, conversations, employers, events, queues
from fair.enums import InterviewMode, NextStep
from fair.models import Conversation, User
from tests import factories as f
from tests.booth_queue import fair_with_booth
from tests.refusals import code_of

VIDEO, PHONE, CHAT = InterviewMode.VIDEO, InterviewMode.PHONE, InterviewMode.CHAT


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def talking(session: AsyncSession) -> tuple[Conversation, User, User]:
    """An open conversation: (conversation, candidate, recruiter), its events taken."""
    booth, recruiter = await fair_with_booth(session)
    person = await f.candidate(session, name="Awa Diallo")
    await queues.join(session, candidate=person, booth=booth)
    entry = await queues.take_next(session, recruiter=recruiter, booth=booth)
    assert entry is not None
    conversation = await conversations.answer(session, candidate=person, entry=entry)
    events.take(session)
    return conversation, person, recruiter


def sent(session: AsyncSession) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e.channel, e.event, e.payload) for e in events.take(session)]


def to_both(conversation: Conversation, event: str, **payload: Any) -> list[Any]:
    people = sorted({conversation.candidate_id, conversation.recruiter_id} - {None})  # type: ignore[type-var]
    return [(channels.user(p), event, payload) for p in people]


async def test_video_needs_the_other_persons_yes(session: AsyncSession) -> None:
    conversation, person, recruiter = await talking(session)
    state = {"conversation_id": conversation.id}
    assert conversation.mode == "chat"

    await conversation_calls.request_mode(
        session, user=recruiter, conversation=conversation, mode=VIDEO
    )
    assert (conversation.mode, conversation.requested_mode) == ("chat", "video")
    asked = {**state, "mode": "chat", "requested_mode": "video", "requested_by": "recruiter"}
    assert sent(session) == to_both(
        conversation, "conversation.mode", **asked, change="requested", by="recruiter"
    )
    # Asking again changes nothing; the one who asked cannot accept for the other.
    await conversation_calls.request_mode(
        session, user=recruiter, conversation=conversation, mode=VIDEO
    )
    assert sent(session) == []
    code = await code_of(
        conversation_calls.accept(session, user=recruiter, conversation=conversation)
    )
    assert code == "conversation.own_request"

    await conversation_calls.accept(session, user=person, conversation=conversation)
    assert (conversation.mode, conversation.requested_mode, conversation.requested_by_id) == (
        "video",
        None,
        None,
    )
    now = {**state, "mode": "video", "requested_mode": None, "requested_by": None}
    assert sent(session) == to_both(
        conversation, "conversation.mode", **now, change="accepted", by="candidate"
    )
    assert (
        await conversation_calls.require_call(session, user=person, conversation_id=conversation.id)
        == "candidate"
    )
    code = await code_of(conversation_calls.accept(session, user=person, conversation=conversation))
    assert code == "conversation.no_request"

    # Back to written chat: at once, by either of them.
    await conversation_calls.request_mode(
        session, user=person, conversation=conversation, mode=CHAT
    )
    assert conversation.mode == "chat"
    back = {**state, "mode": "chat", "requested_mode": None, "requested_by": None}
    assert sent(session) == to_both(
        conversation, "conversation.mode", **back, change="switched", by="candidate"
    )
    code = await code_of(
        conversation_calls.require_call(session, user=person, conversation_id=conversation.id)
    )
    assert code == "conversation.not_video"


async def test_the_candidate_refuses_video_and_offers_phone(session: AsyncSession) -> None:
    conversation, person, recruiter = await talking(session)
    await conversation_calls.request_mode(
        session, user=recruiter, conversation=conversation, mode=VIDEO
    )
    sent(session)
    await conversation_calls.decline(session, user=person, conversation=conversation)
    assert (conversation.mode, conversation.requested_mode) == ("chat", None)
    [first, _second] = sent(session)
    assert (first[2]["change"], first[2]["by"], first[2]["mode"]) == (
        "declined",
        "candidate",
        "chat",
    )
    # The candidate proposes phone instead, then takes it back; then proposes it again and
    # the recruiter, asking for phone too, accepts it.
    await conversation_calls.request_mode(
        session, user=person, conversation=conversation, mode=PHONE
    )
    await conversation_calls.decline(session, user=person, conversation=conversation)
    changes = [e[2]["change"] for e in sent(session)]
    assert changes == ["requested", "requested", "withdrawn", "withdrawn"]
    await conversation_calls.request_mode(
        session, user=person, conversation=conversation, mode=PHONE
    )
    await conversation_calls.request_mode(
        session, user=recruiter, conversation=conversation, mode=PHONE
    )
    assert conversation.mode == "phone"
    assert [e[2]["change"] for e in sent(session)] == ["requested"] * 2 + ["accepted"] * 2
    # A request replaced by another: the newer one stands.
    await conversation_calls.request_mode(
        session, user=recruiter, conversation=conversation, mode=VIDEO
    )
    await conversation_calls.request_mode(
        session, user=person, conversation=conversation, mode=CHAT
    )
    assert (conversation.mode, conversation.requested_mode) == ("chat", None)


async def test_the_phone_number_shows_to_the_recruiter_only_by_phone(
    session: AsyncSession,
) -> None:
    conversation, person, recruiter = await talking(session)

    async def number() -> str:
        return await conversation_calls.phone_number(
            session, user=recruiter, conversation=conversation
        )

    assert await code_of(number()) == "conversation.phone_hidden"  # written chat
    await conversation_calls.request_mode(
        session, user=recruiter, conversation=conversation, mode=PHONE
    )
    assert await code_of(number()) == "conversation.phone_hidden"  # asked, not accepted
    await conversation_calls.accept(session, user=person, conversation=conversation)
    assert await number() == ""  # they gave none
    sent(session)
    saved = await conversation_calls.set_phone(
        session, user=person, conversation=conversation, phone=" 06 12 34 56 78 "
    )
    assert saved == "06 12 34 56 78"
    assert sent(session) == to_both(
        conversation, "conversation.phone", conversation_id=conversation.id
    )
    assert await number() == "06 12 34 56 78"
    code = await code_of(
        conversation_calls.phone_number(session, user=person, conversation=conversation)
    )
    assert code == "conversation.forbidden"
    code = await code_of(
        conversation_calls.set_phone(
            session, user=recruiter, conversation=conversation, phone="06 00 00 00 00"
        )
    )
    assert code == "conversation.forbidden"
    code = await code_of(
        conversation_calls.set_phone(session, user=person, conversation=conversation, phone="x")
    )
    assert code == "profile.invalid"

    # Back to written chat, the number hides again; once the conversation ends, too.
    await conversation_calls.request_mode(
        session, user=person, conversation=conversation, mode=CHAT
    )
    assert await code_of(number()) == "conversation.phone_hidden"
    await conversation_calls.request_mode(
        session, user=person, conversation=conversation, mode=PHONE
    )
    await conversation_calls.accept(session, user=recruiter, conversation=conversation)
    assert await number() == "06 12 34 56 78"
    await conversations.end(
        session, recruiter=recruiter, conversation=conversation, next_step=NextStep.NONE
    )
    assert await code_of(number()) == "conversation.ended"


async def test_nobody_else_and_nothing_after_the_end(session: AsyncSession) -> None:
    conversation, person, recruiter = await talking(session)
    booth = await employers.get_booth(session, conversation.booth_id)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    stranger = await f.candidate(session)
    for other in (colleague, stranger):
        calls = [
            conversation_calls.request_mode(
                session, user=other, conversation=conversation, mode=VIDEO
            ),
            conversation_calls.accept(session, user=other, conversation=conversation),
            conversation_calls.decline(session, user=other, conversation=conversation),
            conversation_calls.phone_number(session, user=other, conversation=conversation),
            conversation_calls.set_phone(
                session, user=other, conversation=conversation, phone="06 12 34 56 78"
            ),
            conversation_calls.require_call(session, user=other, conversation_id=conversation.id),
        ]
        assert [await code_of(c) for c in calls] == ["conversation.not_found"] * 6
    assert sent(session) == []
    await conversation_calls.request_mode(
        session, user=person, conversation=conversation, mode=VIDEO
    )
    await conversations.end(
        session, recruiter=recruiter, conversation=conversation, next_step=NextStep.NONE
    )
    code = await code_of(
        conversation_calls.accept(session, user=recruiter, conversation=conversation)
    )
    assert code == "conversation.ended"
    code = await code_of(
        conversation_calls.request_mode(session, user=person, conversation=conversation, mode=CHAT)
    )
    assert code == "conversation.ended"
