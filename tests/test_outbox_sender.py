"""fair/outbox_sender.py, the loop both outboxes' senders run (fair.mail, fair.webhook_delivery):
a round when woken and at each interval, again at once while a round says more may be due, and
a failed round logged without stopping the sender."""

from __future__ import annotations

import asyncio
import logging

import pytest

from fair import outbox_sender


async def test_woken_rounds_repeat_while_more_is_due_and_survive_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wakeup = outbox_sender.Wakeup()
    answers = [False, True, True, False, "fail", False]
    done: list[object] = []
    reached = {n: asyncio.Event() for n in (4, 5, 6)}  # after so many rounds

    async def round_() -> bool:
        answer = answers.pop(0)
        done.append(answer)
        if len(done) in reached:
            reached[len(done)].set()
        if answer == "fail":
            raise RuntimeError("the database is busy")
        return bool(answer)

    log = logging.getLogger("fair.test_sender")
    sender = asyncio.create_task(
        outbox_sender.run(wakeup, round_, interval=3600, log=log, what="test delivery")
    )
    try:
        await asyncio.sleep(0.01)
        assert done == [False]  # one round at start, then waits for a wake-up (or the interval)
        await wakeup.wake()  # three rounds: two said more was due
        await asyncio.wait_for(reached[4].wait(), timeout=5)
        assert done == [False, True, True, False]
        await wakeup.wake()  # fails
        await asyncio.wait_for(reached[5].wait(), timeout=5)
        await wakeup.wake()  # the sender is still there
        await asyncio.wait_for(reached[6].wait(), timeout=5)
    finally:
        sender.cancel()
    assert done == [False, True, True, False, "fail", False]
    assert [r.getMessage() for r in caplog.records if r.name == "fair.test_sender"] == [
        "test delivery failed"
    ]


async def test_the_interval_runs_a_round_without_a_wake_up() -> None:
    ran = asyncio.Event()
    rounds: list[int] = []

    async def round_() -> bool:
        rounds.append(1)
        if len(rounds) == 2:  # the one at start, then the interval's
            ran.set()
        return False

    wakeup = outbox_sender.Wakeup()
    log = logging.getLogger("fair.test_sender")
    sender = asyncio.create_task(
        outbox_sender.run(wakeup, round_, interval=0.05, log=log, what="test delivery")
    )
    try:
        await asyncio.wait_for(ran.wait(), timeout=5)
    finally:
        sender.cancel()
