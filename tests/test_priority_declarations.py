"""A candidate's optional priority answers (candidates.declare): kept, changed, erased."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import candidates, clock
from fair.errors import Invalid
from fair.models import PriorityDeclaration
from tests import factories as f

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def answers(found: PriorityDeclaration | None) -> tuple[datetime, set[str]] | None:
    if found is None:
        return None
    chosen = {name for name in candidates.PRIORITY_FIELDS if getattr(found, name)}
    return found.consented_at, chosen


async def test_the_same_answers_saved_again_keep_their_consent_date(session: AsyncSession) -> None:
    user = await f.user(session, can_log_in=False)
    clock.set_now(T0)
    await candidates.declare(session, user, consent=True, attributes={"under_26"})
    clock.set_now(T0 + timedelta(days=2))

    await candidates.declare(session, user, consent=True, attributes={"under_26"})
    assert answers(await candidates.declaration(session, user)) == (T0, {"under_26"})

    await candidates.declare(session, user, consent=True, attributes={"rural_area", "senior"})
    changed = T0 + timedelta(days=2)
    assert answers(await candidates.declaration(session, user)) == (
        changed,
        {"rural_area", "senior"},
    )


async def test_without_consent_the_answers_are_erased(session: AsyncSession) -> None:
    user = await f.user(session, can_log_in=False)
    await candidates.declare(session, user, consent=True, attributes={"senior"})

    assert await candidates.declare(session, user, consent=False, attributes=set()) is None
    assert await candidates.declaration(session, user) is None
    # Given again afterwards: a new row, dated now.
    clock.set_now(T0)
    await candidates.declare(session, user, consent=True, attributes=set())
    assert answers(await candidates.declaration(session, user)) == (T0, set())


async def test_answers_without_consent_are_refused_and_keep_the_old_ones(
    session: AsyncSession,
) -> None:
    user = await f.user(session, can_log_in=False)
    clock.set_now(T0)
    await candidates.declare(session, user, consent=True, attributes={"senior"})

    with pytest.raises(Invalid) as refused:
        await candidates.declare(session, user, consent=False, attributes={"under_26"})

    assert (refused.value.code, refused.value.fields) == (
        "profile.consent_required",
        {"consent": "Tick the consent box to record these answers, or untick them."},
    )
    assert answers(await candidates.declaration(session, user)) == (T0, {"senior"})
