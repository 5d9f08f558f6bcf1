"""Which candidates' kept funnel steps (fair.insight.progress) the session's transaction must
compute again before it commits.

fair.insight.progress marks the candidates of the Application, Interview, HireConfirmation and
JobReport rows a flush writes through the ORM; domain code that writes those rows with a core
statement (fair.outcomes' upserts) marks its candidate here, since no flush sees it. This
module sits below both, so that fair.outcomes, which the funnel's definition reads, need not
import fair.insight.
"""

from __future__ import annotations

from typing import Any

KEY = "fair.funnel_marks"

# (edition id or None, booth id or None, candidate id): an interview names its booth only.
Mark = tuple[int | None, int | None, int]


def mark(
    session: Any, user_id: int, *, edition_id: int | None = None, booth_id: int | None = None
) -> None:
    """Compute the candidate's kept steps in the edition (or the booth's edition) again before
    this session commits. `session`: an AsyncSession or its synchronous Session (one `info`)."""
    if edition_id is None and booth_id is None:
        raise ValueError("an edition or a booth is needed")
    add(session, {(edition_id, booth_id, user_id)})


def add(session: Any, marks: set[Mark]) -> None:
    session.info.setdefault(KEY, set()).update(marks)


def take(session: Any) -> set[Mark]:
    """The marks, forgotten (the caller computes them now)."""
    found: set[Mark] = session.info.pop(KEY, set())
    return found
