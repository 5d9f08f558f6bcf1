"""When an accompaniment is in force (fair.counsellors): the one rule, as query conditions,
shared by the counsellor's reads (`counsellors.require_followed`, their dashboard) and the copies
of a candidate's news to their counsellors (fair.counsellor_copies), which fair.counsellors
cannot be imported by (it imports the applications that mail those news)."""

from __future__ import annotations

from typing import Any

from fair.models import Accompaniment, Structure, StructureMember


def in_force(counsellor_id: Any) -> tuple[Any, ...]:
    """The conditions of an accompaniment by `counsellor_id` (a value or a column) that the
    candidate consented to and nobody ended, for an approved structure; the query joins
    Structure on the accompaniment's structure and StructureMember with `member` below."""
    return (
        Accompaniment.counsellor_id == counsellor_id,
        Accompaniment.consent_at.is_not(None),
        Accompaniment.ended_at.is_(None),
        Structure.approved_at.is_not(None),
    )


def member(counsellor_id: Any) -> Any:
    """The join condition of StructureMember: the counsellor still works for the structure."""
    return (StructureMember.structure_id == Structure.id) & (
        StructureMember.user_id == counsellor_id
    )
