"""Booth Q&A and report commands of /live (PROTOCOL.md, "Booth Q&A and reports").

Questions and answers go through fair.chat, reports through fair.moderation: one write session
per command, its events after commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import chat, employers, moderation
from fair.enums import ReportKind
from fair.live import payloads

if TYPE_CHECKING:
    from fair.live.socket import Connection


async def qa_ask(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, booth_id, body = conn.me(), payloads.integer(payload, "booth_id"), payloads.body(payload)

    async def work(session: AsyncSession) -> dict[str, Any]:
        booth = await employers.get_booth(session, booth_id)
        question = await chat.ask(session, candidate=me, booth=booth, body=body)
        return {"booth_id": booth_id, "question_id": question.id}

    return await conn.write(work)


async def qa_answer(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, question_id = conn.me(), payloads.integer(payload, "question_id")
    body = payloads.body(payload)

    async def work(session: AsyncSession) -> dict[str, Any]:
        question = await chat.get_question(session, question_id)
        reply = await chat.answer(session, recruiter=me, question=question, body=body)
        return {"booth_id": reply.booth_id, "question_id": question_id, "message_id": reply.id}

    return await conn.write(work)


async def report(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, message_id = conn.me(), payloads.integer(payload, "message_id")
    kind = ReportKind(payloads.choice(payload, "kind", ReportKind))
    reason = payloads.string(payload, "reason")

    async def work(session: AsyncSession) -> dict[str, Any]:
        await moderation.report(session, user=me, kind=kind, message_id=message_id, reason=reason)
        return {"kind": kind.value, "message_id": message_id, "reported": True}

    return await conn.write(work)


ACTIONS = {
    "qa.ask": qa_ask,
    "qa.answer": qa_answer,
    "chat.report": report,
}

# The payload field naming the edition each command acts in (fair.live.booth_commands); None:
# never held (a booth's recruiter answering; a report reaches the moderators whatever the line).
EDITION_OF = {"qa.ask": "booth_id", "qa.answer": None, "chat.report": None}
