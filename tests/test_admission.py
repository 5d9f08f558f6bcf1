"""Admission control (fair.admission): the line in this process and in Redis, for real, and the
gate on pages on SQLite and PostgreSQL. Time moves with fair.clock (and `now=`), never sleeps."""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import admission, admission_gate, clock, db, i18n, participants, settings
from fair.enums import Role
from fair.live import limits
from fair.models import Edition
from fair.web import admission as waiting_page
from tests import factories as f
from tests.conftest import csrf, login
from tests.html_forms import forms_of
from tests.statements import listening

REDIS = "redis://127.0.0.1:6379/0"
CAPS = admission.Caps(active=2, per_minute=0, idle=100.0, max_waiting=100)
OPENS = 1_000_000.0  # a moment, in seconds


@pytest_asyncio.fixture(params=["memory", "redis"])
async def lines(request: pytest.FixtureRequest) -> AsyncIterator[list[admission.Line]]:
    """Two views of one line, as two processes see it: the same MemoryLine (one process), or
    two Redis clients of one namespace."""
    if request.param == "memory":
        line = admission.MemoryLine()
        yield [line, line]
        return
    namespace = f"test-admission-{secrets.token_hex(4)}"
    one = aioredis.from_url(REDIS, decode_responses=True)
    two = aioredis.from_url(REDIS, decode_responses=True)
    try:
        yield [admission.RedisLine(c, namespace=namespace) for c in (one, two)]
    finally:
        keys = [k async for k in one.scan_iter(f"{namespace}:*")]
        if keys:
            await one.delete(*keys)
        await one.aclose()
        await two.aclose()


async def _arrive(
    line: admission.Line, user: int, now: float, caps: admission.Caps = CAPS, draw: float = 0.5
) -> admission.Place:
    return await line.arrive(7, user, now=now, opens=OPENS, caps=caps, draw=draw)


async def test_cap_holds_and_the_line_is_first_come_first_served(
    lines: list[admission.Line],
) -> None:
    one, two = lines
    now = OPENS + 10
    places = [
        await (one if u % 2 else two).arrive(7, u, now=now, opens=OPENS, caps=CAPS, draw=0)
        for u in range(1, 6)
    ]
    assert [(p.admitted, p.position, p.waiting) for p in places] == [
        (True, 0, 0),
        (True, 0, 0),
        (False, 1, 1),
        (False, 2, 2),
        (False, 3, 3),
    ]
    figures = await one.figures(7, now=now, idle=CAPS.idle)
    assert (figures.active, figures.waiting) == (2, 3)
    # User 1 stays active; user 2 goes quiet: at 100 s their place is freed, and the first in
    # line (3) gets it, whoever asks first (here 5, on the other process).
    assert await one.touch(7, 1, now=now + 50, idle=CAPS.idle)
    later = now + 101
    assert (await _arrive(two, 5, later)).position == 2
    assert (await _arrive(one, 3, later)).admitted
    assert [(await _arrive(one, u, later)).position for u in (4, 5)] == [1, 2]
    assert (await _arrive(two, 1, later)).admitted  # still in: active since


async def test_keep_stamps_those_still_in_and_never_takes_back_a_place_given_away(
    lines: list[admission.Line],
) -> None:
    """The /live sockets' round (fair.live.hub.Hub.keep_admitted): one batch for everyone."""
    one, two = lines
    now = OPENS + 10
    assert [(await _arrive(one, u, now)).admitted for u in (1, 2, 3)] == [True, True, False]
    # 1's socket kept open (a round at most every 50 s: QUIET, or half the idle): still in
    # past `idle`; 2 went quiet: their place goes to 3.
    assert await two.keep(7, {1}, now=now + 45, idle=CAPS.idle) == set()
    assert await one.keep(7, {1}, now=now + 90, idle=CAPS.idle) == set()
    assert await two.keep(7, {1}, now=now + 135, idle=CAPS.idle) == set()
    later = now + 150
    assert (await _arrive(one, 3, later)).admitted
    assert await two.keep(7, {1, 2}, now=later, idle=CAPS.idle) == {2}
    figures = await one.figures(7, now=later, idle=CAPS.idle)
    assert (figures.active, figures.waiting) == (2, 0)  # 2 not put back: the cap holds
    assert await one.keep(7, set(), now=later, idle=CAPS.idle) == set()


async def test_arrivals_before_opening_are_drawn_then_served_in_order(
    lines: list[admission.Line],
) -> None:
    one, two = lines
    before = OPENS - 100
    draws = {1: 0.9, 2: 0.1, 3: 0.5, 4: 0.3}
    for user, draw in draws.items():
        place = await _arrive(one, user, before, draw=draw)
        assert (place.admitted, place.drawn, place.wait_seconds) == (False, True, None)
    # Asking again (refreshing early) keeps the draw; a new draw changes nothing.
    assert (await _arrive(two, 1, before + 60, draw=0.0)).position == 4
    # Arriving after opening: behind everyone who was there before.
    late = await _arrive(two, 5, OPENS + 1)
    assert [(await _arrive(one, u, OPENS + 1)).admitted for u in (2, 4)] == [True, True]
    assert [(await _arrive(one, u, OPENS + 2)).position for u in (3, 1, 5)] == [1, 2, 3]
    assert late.admitted is False


async def test_the_arrivals_a_minute_cap_lets_people_in_at_a_steady_pace(
    lines: list[admission.Line],
) -> None:
    """60 a minute: 10 at once (BURST seconds' worth), then one a second, not 60 at each
    clock minute (the old counter let a minute's worth in at once, then nobody)."""
    one, two = lines
    caps = admission.Caps(active=0, per_minute=60, idle=600.0, max_waiting=100)
    start = (OPENS // 60 + 1) * 60 - 5  # 5 s before a clock minute: nothing changes there
    let_in = [(await _arrive(one, u, start, caps)).admitted for u in range(1, 31)]
    assert let_in == [True] * 10 + [False] * 20
    for second in range(1, 9):  # each asks again every second; one more each second
        places = [await _arrive(two, u, start + second, caps) for u in range(11, 31)]
        assert sum(p.admitted for p in places) == second, second
    # Idle: the bucket fills again up to its burst, no more.
    later = [(await _arrive(one, u, start + 600, caps)).admitted for u in range(31, 51)]
    assert later == [True] * 10 + [False] * 10


async def test_a_process_whose_clock_is_behind_mints_no_admissions(
    lines: list[admission.Line],
) -> None:
    """One clock (fair.clock's `now`) for the bucket: a process 30 s behind, in another clock
    minute, gets no fresh allowance (the per-minute key named after the host's minute did)."""
    one, two = lines
    caps = admission.Caps(active=0, per_minute=60, idle=600.0, max_waiting=100)
    start = (OPENS // 60 + 1) * 60 + 10
    assert sum([(await _arrive(one, u, start, caps)).admitted for u in range(1, 21)]) == 10
    behind = [(await _arrive(two, u, start - 30, caps)).admitted for u in range(11, 21)]
    assert behind == [False] * 10
    assert sum([(await _arrive(one, u, start + 2, caps)).admitted for u in range(11, 21)]) == 2


async def test_when_only_the_minute_cap_holds_the_wait_is_when_the_bucket_lets_one_in(
    lines: list[admission.Line],
) -> None:
    one, two = lines
    caps = admission.Caps(active=0, per_minute=12, idle=600.0, max_waiting=100)  # 2 at once
    start = OPENS + 1
    places = [await _arrive(one if u % 2 else two, u, start, caps) for u in range(1, 7)]
    # Two let in at once; then one every 5 s.
    assert [p.wait_seconds for p in places] == [0.0, 0.0, 5.0, 10.0, 15.0, 20.0]
    assert (await _arrive(two, 5, start + 2, caps)).wait_seconds == pytest.approx(13.0)
    assert [(await _arrive(one, u, start + 10, caps)).admitted for u in (3, 4, 5)] == [
        True,
        True,
        False,
    ]
    assert (await _arrive(one, 5, start + 10, caps)).wait_seconds == 5.0
    # Draining the bucket engages the gate (85 % of its burst used) before anyone waits.
    assert not await two.pressure(7, now=start + 600, opens=OPENS, caps=caps)
    assert (await _arrive(one, 20, start + 600, caps)).engaged is False  # half drained
    assert (await _arrive(one, 21, start + 600, caps)).engaged


async def test_a_holder_who_left_frees_the_place_quiet_after_their_last_socket_round(
    lines: list[admission.Line],
) -> None:
    """Issue 17: at 10,000 candidates the line never moved, places freeing up only 10 minutes
    (the idle) after their holders left. One whose sockets were seen by the rounds and who then
    closed them all frees the place QUIET (90 s) after the last round (or a page of theirs
    soon after it); one seen only by pages keeps the whole idle (no JavaScript: no socket to
    see them by); a page of one whose place went is not let back in over the cap."""
    one, two = lines
    caps = admission.Caps(active=1, per_minute=0, idle=600.0, max_waiting=100)
    start = OPENS + 1
    assert (await _arrive(one, 1, start, caps)).admitted
    assert not (await _arrive(two, 2, start, caps)).admitted
    assert await two.keep(7, {1}, now=start + 30, idle=caps.idle) == set()  # their socket
    assert await one.keep(7, {1}, now=start + 60, idle=caps.idle) == set()  # on the other
    # 1 closes their sockets after the round at 60 s; 2 keeps asking.
    assert not (await _arrive(two, 2, start + 60 + admission.QUIET - 1, caps)).admitted
    assert (await _arrive(one, 2, start + 60 + admission.QUIET, caps)).admitted  # was: 660 s
    assert not await two.touch(7, 1, now=start + 160, idle=caps.idle)  # 1's page: gone
    assert (await one.figures(7, now=start + 160, idle=caps.idle)).active == 1  # not put back
    # When 2 was let in, said to their next ask (the waiting page learns it up to 18 s later).
    place = await _arrive(two, 2, start + 165, caps)
    assert (place.admitted, place.since) == (True, start + 60 + admission.QUIET)
    # 2 browses with JavaScript off (pages, no socket): the idle from their last page.
    assert (await _arrive(one, 3, start + 170, caps)).position == 1
    assert await two.touch(7, 2, now=start + 200, idle=caps.idle)
    for moment in range(240, 800, 60):  # 3 keeps asking (WAIT_IDLE)
        assert not (await _arrive(two, 3, start + moment, caps)).admitted, moment
    assert (await _arrive(one, 3, start + 800, caps)).admitted
    # 3 has a socket, and leaves right after a page: a page within QUIET of a round counts
    # as one (the place went the idle after that page).
    assert (await _arrive(two, 4, start + 810, caps)).position == 1
    assert await one.keep(7, {3}, now=start + 830, idle=caps.idle) == set()
    assert await two.touch(7, 3, now=start + 850, idle=caps.idle)
    assert not (await _arrive(one, 4, start + 850 + admission.QUIET - 1, caps)).admitted
    assert (await _arrive(two, 4, start + 850 + admission.QUIET, caps)).admitted


async def test_the_wait_is_when_the_holder_was_let_in_plus_how_long_places_are_held(
    lines: list[admission.Line],
) -> None:
    """bench/surge.py's shape (everyone stays 60 s, the sockets seen every 30 s): the places
    taken together free up together, by turns; each waiter's place frees up when its holder
    was let in plus the time places are held, measured once MIN_HOLDS were freed (until then
    the earliest, a floor), and a turn of the places more for each one before. The pace of
    admissions (before) showed those at the head of a turn the length of a turn."""
    one, two = lines
    caps = admission.Caps(active=3, per_minute=0, idle=600.0, max_waiting=100)
    start, stay = OPENS + 1, 60
    let_in: dict[int, float] = {}
    shown: dict[int, float] = {}  # the first wait shown that is not a floor
    floors: dict[int, int] = {}
    waiting = list(range(1, 16))
    for t in range(0, 600, 10):
        for user in [u for u in waiting if u not in let_in]:  # they ask every 10 s, in order
            place = await _arrive(lines[user % 2], user, start + t, caps)
            if place.admitted:
                let_in[user] = t
            elif place.at_least:
                floors[user] = floors.get(user, 0) + 1
            else:
                assert place.wait_seconds is not None and place.hold == 120.0
                shown.setdefault(user, t + place.wait_seconds)
        if t % 30 == 0:  # a socket round: those let in who have not left yet
            present = {u for u, at in let_in.items() if at <= t < at + stay}
            await lines[t // 30 % 2].keep(7, present, now=start + t, idle=caps.idle)
    # Let in at 0 s, seen by the rounds at 0 and 30 s, gone at 60 s: freed at 30 + 90 s.
    assert let_in == {u: 120.0 * ((u - 1) // 3) for u in waiting}
    # 6 places freed at 240 s (2 turns): those still waiting are told when, to the second.
    assert shown == {u: let_in[u] for u in range(10, 16)}
    assert set(floors) == set(range(4, 16))


async def test_right_after_the_first_move_the_wait_shown_is_the_wait_had(
    lines: list[admission.Line],
) -> None:
    """bench/surge.py's case (those let in go quiet): the first move of the line measured no
    pace (one admission floored to a minute: 60 s a place, here a wait shown 60 times too
    long; a p90 error of 1,679 % at 120 candidates); the places' expiry times say when each
    frees up. Everyone waiting asks every second; the wait had is to the second."""
    one, two = lines
    caps = admission.Caps(active=10, per_minute=0, idle=600.0, max_waiting=100)
    start = OPENS + 1
    for user in range(10):  # let in one a second
        assert (await _arrive(one, user, start + user, caps)).admitted
    waiting = list(range(100, 130))
    for moment in range(10, 600, 60):  # they keep asking (WAIT_IDLE)
        for user in waiting:
            await _arrive(two, user, start + moment, caps)
    now = start + 600.5  # the first place lapsed: the first in line takes it
    assert (await _arrive(one, 100, now, caps)).admitted
    target = 109
    shown = await _arrive(two, target, now, caps)
    assert (shown.position, shown.admissions) == (9, 1)
    assert shown.wait_seconds == 8.5  # the 9th oldest place's expiry; was 9 × 60 s
    left, moment = set(waiting[1:]), now
    while target in left:
        moment += 1
        for user in sorted(left):
            if (await _arrive(one if user % 2 else two, user, moment, caps)).admitted:
                left.discard(user)
    assert moment - now == pytest.approx(shown.wait_seconds, abs=1.0)


async def test_behind_the_active_cap_the_wait_shows_from_the_first_status(
    lines: list[admission.Line],
) -> None:
    """Holders just let in (present): each waiter is shown when their place can free up at
    the earliest (its holder could open a socket and leave: a round, then quiet), the places
    turned over once more for those beyond them; a holder gone quiet (no socket, no page for
    half the idle) frees it when the idle ends, which is then the wait itself."""
    one, two = lines
    caps = admission.Caps(active=3, per_minute=0, idle=60.0, max_waiting=100)
    start = OPENS + 1
    for user in (1, 2, 3):
        assert (await _arrive(one, user, start + user - 1, caps)).admitted
    places = [await _arrive(one if u % 2 else two, u, start + 5, caps) for u in range(4, 11)]
    assert [p.position for p in places] == list(range(1, 8))
    assert [p.wait_seconds for p in places] == [30.0, 30.0, 30.0, 60.0, 60.0, 60.0, 90.0]
    assert {(p.gone, p.at_least) for p in places} == {(False, True)}
    # All three quiet for over half the idle (30 s): gone, their places' expiries are the
    # waits themselves, no longer only the earliest.
    places = [await _arrive(two if u % 2 else one, u, start + 40, caps) for u in range(4, 11)]
    assert [p.wait_seconds for p in places[:3]] == [20.0, 21.0, 22.0]
    assert [(p.gone, p.at_least) for p in places[:4]] == [(True, False)] * 3 + [(False, True)]
    assert not (await _arrive(one, 4, start + 59, caps)).admitted
    assert (await _arrive(two, 4, start + 60, caps)).admitted  # 20 s later, as shown


async def test_the_minute_cap_s_turn_is_no_sooner_than_the_active_cap_lets_one_in(
    lines: list[admission.Line],
) -> None:
    """The per-minute cap holds the line (its bucket empty, two places left under the active
    cap): the first two in line are let in at its pace; the others must wait for places to
    free up as well (were told 15 to 30 s: the bucket's turn alone), and the last two for the
    places of those the bucket lets in at 5 and 10 s."""
    one, two = lines
    caps = admission.Caps(active=4, per_minute=12, idle=100.0, max_waiting=100)  # 2 at once
    start = OPENS + 1
    places = [await _arrive(one if u % 2 else two, u, start, caps) for u in range(1, 9)]
    assert [p.admitted for p in places] == [True] * 2 + [False] * 6
    assert [p.turn_in for p in places[2:]] == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    # The holders present, none freed yet: the earliest they can leave (a round, then 50 s).
    waits = [5.0, 10.0, 50.0, 50.0, 55.0, 60.0]
    assert [p.wait_seconds for p in places[2:]] == pytest.approx(waits)
    assert [p.at_least for p in places[2:]] == [False] * 2 + [True] * 4
    assert [(await _arrive(two, u, start + 10, caps)).admitted for u in (3, 4, 5)] == [
        True,
        True,
        False,
    ]
    assert (await _arrive(one, 5, start + 10, caps)).wait_seconds == 50.0  # 1 could leave


async def _let_in(
    lines: list[admission.Line], users: list[int], now: float, caps: admission.Caps
) -> dict[int, float]:
    """Each of `users` asks for their place every second from `now` on, in line order, until
    let in (then goes quiet: no request nor socket): when each was let in."""
    let_in: dict[int, float] = {}
    moment = now
    while len(let_in) < len(users):
        moment += 1
        assert moment < now + 1000, let_in
        for user in users:
            line = lines[user % 2]
            if user not in let_in and (await _arrive(line, user, moment, caps)).admitted:
                let_in[user] = moment
    return let_in


def _honest(places: dict[int, admission.Place], had: dict[int, float]) -> None:
    """Each wait shown is the wait had, or, shown as a floor ("or more"), no more than it."""
    for user, place in places.items():
        assert place.wait_seconds is not None
        if place.at_least:
            assert place.wait_seconds <= had[user] + 1e-9, (user, place, had[user])
        else:
            assert place.wait_seconds == pytest.approx(had[user]), (user, place, had[user])


async def test_with_both_caps_the_wait_shown_is_the_wait_had_behind_the_bucket(
    lines: list[admission.Line],
) -> None:
    """bench/surge.py with both caps binding (31 % off at p90): the bucket (2 at once, then one
    every 5 s) lets the first two in line in, then holds the others until places free up;
    those beyond the active places wait for the places of those the bucket lets in late.
    Those let in go quiet (no socket): their places go at the idle, no sooner than shown."""
    caps = admission.Caps(active=4, per_minute=12, idle=100.0, max_waiting=100)
    start = OPENS + 1
    places = [await _arrive(lines[u % 2], u, start, caps) for u in range(1, 9)]
    shown = {u: p for u, p in zip(range(1, 9), places, strict=True) if u > 2}
    let_in = await _let_in(lines, list(shown), start, caps)
    had = {u: moment - start for u, moment in let_in.items()}
    assert list(had.values()) == pytest.approx([5.0, 10.0, 100.0, 100.0, 105.0, 110.0])
    assert [p.at_least for p in shown.values()] == [False] * 2 + [True] * 4
    _honest(shown, had)


async def test_places_freed_together_are_let_in_at_the_minute_cap_s_pace(
    lines: list[admission.Line],
) -> None:
    """Both caps bind, and the holders, stamped together at one socket round, leave together:
    the bucket lets their places go two at once then one every 5 s (all six were told the
    places' expiry). The operator's gauge shows the last one's wait, as their page."""
    one, two = lines
    caps = admission.Caps(active=6, per_minute=12, idle=100.0, max_waiting=100)
    start = OPENS + 1
    holders, waiting = list(range(1, 7)), list(range(7, 13))
    for moment in range(0, 25, 5):  # two let in at once, then one every 5 s
        for user in holders:
            await _arrive(one, user, start + moment, caps)
    assert (await two.figures(7, now=start + 20, idle=caps.idle)).active == 6
    assert [(await _arrive(two, u, start + 20, caps)).admitted for u in waiting] == [False] * 6
    assert await two.keep(7, set(holders), now=start + 30, idle=caps.idle) == set()  # a round
    now = start + 40  # they closed their sockets: their places go 50 s after that round
    places = [await _arrive(lines[u % 2], u, now, caps) for u in waiting]
    assert [(p.position, p.frees_in, p.at_least) for p in places] == [
        (i, 40.0, True) for i in range(1, 7)
    ]
    waits = [p.wait_seconds for p in places]
    assert waits == pytest.approx([40.0, 40.0, 45.0, 50.0, 55.0, 60.0])
    last = await one.last(7, now=now, opens=OPENS, caps=caps)
    assert last is not None and (last.position, last.wait_seconds) == (6, waits[-1])
    assert admission.line_wait(last, now=now, opens=OPENS) == waits[-1]
    let_in = await _let_in(lines, waiting, now, caps)
    assert [let_in[u] - now for u in waiting] == pytest.approx(waits)
    assert await two.last(7, now=let_in[12], opens=OPENS, caps=caps) is None
    assert admission.line_wait(None, now=let_in[12], opens=OPENS) == 0.0


async def test_with_both_caps_the_wait_shown_is_the_wait_had_whatever_the_line() -> None:
    """Random lines (seeded) with both caps: arrivals over 20 s, everyone asking every second,
    those let in going quiet at once (no socket: their places go at the idle); at 25 s each
    one waiting is shown a wait: the one they have, to the second, or a floor no longer than
    it (8612504's estimate was off for 8 of these, by up to 15 s)."""
    rng = random.Random(17)
    exact = floors = 0
    for _ in range(25):
        caps = admission.Caps(
            active=rng.randint(2, 8),
            per_minute=rng.choice([6, 12, 30, 60]),  # a whole number of seconds a token
            idle=float(rng.choice([30, 60, 100])),
            max_waiting=100,
        )
        arrivals = sorted((rng.randint(0, 20), u) for u in range(rng.randint(5, 30)))
        line, here, let_in = admission.MemoryLine(), [], {}
        shown: dict[int, admission.Place] = {}
        for second in range(1000):
            here += [u for at, u in arrivals if at == second]
            for user in [u for u in here if u not in let_in]:
                place = await _arrive(line, user, OPENS + 1 + second, caps)
                if place.admitted:
                    let_in[user] = second
                elif second == 25:
                    shown[user] = place
            if len(let_in) == len(arrivals):
                break
        _honest(shown, {u: let_in[u] - 25.0 for u in shown})
        exact += sum(not p.at_least for p in shown.values())
        floors += sum(p.at_least for p in shown.values())
    assert (exact, floors) == (38, 280)  # both kinds, seeded


def test_the_bucket_paces_each_turn_of_the_places() -> None:
    """`paced_in`, clock injected: two places freeing up in 60 s, a turn of the places 60 s,
    an empty bucket refilled one every 10 s, one at most: the first two in line are let in at
    60 and 70 s, those behind when the places they took free up, 60 s after each: the exact
    schedule (the places' expiry alone said 60, 60, 120, 120, 180 s)."""
    caps = admission.Caps(active=2, per_minute=6, idle=60.0, max_waiting=100)
    now = 1000.0
    seen = [(0, now + 60), (1, now + 60)]
    sampled = [admission.sampled(k, caps=caps, active=2) for k in (1, 2, 5)]
    assert sampled == [(0, 0), (0, 1), (0, 1)]
    paced = [
        admission.paced_in(k, caps=caps, tokens=0.0, active=2, now=now, seen=seen, turn=60.0)
        for k in range(1, 6)
    ]
    assert paced == pytest.approx([60.0, 70.0, 120.0, 130.0, 180.0])
    present = (now, now, None)  # let in now, seen now, no socket: a hold of 60 s measured
    frees = [
        admission.expiry(k, caps=caps, active=2, holder=present, now=now, hold=60.0) for k in (4, 5)
    ]
    assert frees == [(120.0, False), (180.0, False)]
    # Without an active cap: the bucket's pace alone; without a per-minute cap: none.
    alone = replace(caps, active=0)
    assert admission.paced_in(3, caps=alone, tokens=1.0, active=0, now=now, seen=[], turn=0) == 20
    none = replace(caps, per_minute=0)
    assert admission.paced_in(3, caps=none, tokens=0, active=2, now=now, seen=seen, turn=60) is None


def test_the_places_read_for_the_bucket_s_pace_are_bounded() -> None:
    """`spread`: SAMPLES ranks at most, both ends included, whatever the cap; `sampled`: only
    the places the line's first turn takes, no more than the bucket lets in over an idle."""
    assert admission.spread(3, 5) == [3, 4, 5]
    many = admission.spread(0, 9_999)
    assert (len(many), many[0], many[-1]) == (admission.SAMPLES, 0, 9_999)
    assert many == sorted(set(many))
    caps = admission.Caps(active=1_000, per_minute=60, idle=600.0, max_waiting=100)
    assert admission.sampled(5_000, caps=caps, active=1_000) == (0, 600)  # 60 a minute × 10
    assert admission.sampled(5, caps=caps, active=1_000) == (0, 4)
    assert admission.sampled(5, caps=caps, active=990) is None  # room under the cap for them
    assert admission.sampled(15, caps=caps, active=990) == (0, 4)
    assert admission.sampled(5, caps=caps, active=1_010) == (10, 14)  # 10 over the cap


def test_a_place_frees_up_when_let_in_plus_the_hold_and_turns_over_by_holds() -> None:
    """`expiry`, clock injected: three places whose holders were let in at 40, 50 and 60 and
    seen by a socket round at 100, 110 and 120 (oldest first), idle 60 s (quiet 30 s), now
    130."""
    caps = admission.Caps(active=3, per_minute=0, idle=60.0, max_waiting=100)
    holders = [(40.0, 100.0, 100.0), (50.0, 110.0, 110.0), (60.0, 120.0, 120.0)]

    def wait(position: int, hold: float | None, cap: int = 3) -> float:
        rank = admission.place_of(position, cap=cap, active=3)
        assert rank is not None
        holder = holders[rank] if rank < 3 else None
        found = admission.expiry(
            position, caps=replace(caps, active=cap), active=3, holder=holder, now=130.0, hold=hold
        )
        return found[0]

    # None freed yet: the earliest, each holder leaving after their last round (30 s after
    # it), and the one let in leaving as soon (a turn of 30 s).
    assert [wait(p, None) for p in range(1, 8)] == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    # Places held 100 s on average: each frees up 100 s after its holder was let in, and
    # each turn of the places takes 100 s more.
    assert [wait(p, 100.0) for p in range(1, 8)] == [10.0, 20.0, 30.0, 110.0, 120.0, 130.0, 210.0]
    # One over the cap (a socket counted in): one place more frees up first; then only two
    # places turn over.
    assert [wait(p, 100.0, cap=2) for p in range(1, 7)] == [20.0, 30.0, 120.0, 130.0, 220.0, 230.0]
    assert [admission.turns_of(p, cap=2, active=3) for p in range(1, 7)] == [
        (1, 0),
        (2, 0),
        (1, 1),
        (2, 1),
        (1, 2),
        (2, 2),
    ]
    # Two places not taken yet (cap 5): the first two need none; the others wait for the
    # three taken, then for the two taken from now on (held 100 s from now).
    ranks = [admission.place_of(p, cap=5, active=3) for p in range(1, 9)]
    assert ranks == [None, None, 0, 1, 2, 3, 4, 0]
    assert [wait(p, 100.0, cap=5) for p in range(3, 9)] == [10.0, 20.0, 30.0, 100.0, 100.0, 110.0]


async def test_over_the_cap_the_wait_shown_is_no_more_than_the_wait_had(
    lines: list[admission.Line],
) -> None:
    """More active than the cap (the cap lowered, sockets counted in): the places over it free
    up first and let nobody in, then only the cap's places turn over. Those let in go quiet
    (no socket): the earliest shown, a floor, is never more than the wait had."""
    three = admission.Caps(active=3, per_minute=0, idle=60.0, max_waiting=100)
    for user, moment in ((1, 100), (2, 110), (3, 120)):
        assert (await _arrive(lines[user % 2], user, OPENS + moment, three)).admitted
    caps = replace(three, active=2)
    now = OPENS + 130
    waiting = list(range(4, 10))
    places = [await _arrive(lines[u % 2], u, now, caps) for u in waiting]
    assert [(p.position, p.wait_seconds, p.at_least) for p in places] == [
        (1, 30.0, True),
        (2, 30.0, True),
        (3, 60.0, True),
        (4, 60.0, True),
        (5, 90.0, True),
        (6, 90.0, True),
    ]
    let_in = await _let_in(lines, waiting, now, caps)
    had = {u: let_in[u] - now for u in waiting}
    assert list(had.values()) == [40.0, 50.0, 100.0, 110.0, 160.0, 170.0]
    _honest(dict(zip(waiting, places, strict=True)), had)


def test_a_holder_is_gone_once_quiet_for_QUIET_or_half_the_idle() -> None:
    assert (admission.quiet(600.0), admission.quiet(120.0), admission.quiet(60.0)) == (
        admission.QUIET,
        60.0,
        30.0,
    )
    # An open socket is seen every round: never taken for gone at the shortest idle.
    assert admission.quiet(60.0) >= limits.REFRESH_SECONDS
    # Seen by pages only: gone once quiet that long, the place then lapsing at the idle;
    # present, they could still open a socket and leave (a round, then quiet).
    found = [
        admission.free_at((900.0, 1000.0 - q, None), now=1000.0, idle=60.0, hold=None)
        for q in (0, 30, 31, 59)
    ]
    assert found == [(1030.0, False), (1030.0, False), (1029.0, True), (1001.0, True)]
    # Seen last by a socket round: they leave 30 s after it at the earliest (dropped then,
    # never "gone" before); with a hold measured, no sooner than let in plus the hold.
    assert admission.free_at((900.0, 990.0, 990.0), now=1000.0, idle=60.0, hold=None) == (
        1020.0,
        False,
    )
    assert admission.free_at((900.0, 990.0, 990.0), now=1000.0, idle=60.0, hold=200.0) == (
        1100.0,
        False,
    )
    # A page after their last round: the idle from that page.
    assert [admission.lapse_at(990.0, live, 60.0) for live in (980.0, 990.0, None)] == [
        1050.0,
        1020.0,
        1050.0,
    ]
    # A place the line must turn over first: who will hold it then is not known.
    caps = admission.Caps(active=1, per_minute=0, idle=600.0, max_waiting=100)
    quiet_holder = (0.0, 100.0, None)
    assert admission.expiry(2, caps=caps, active=1, holder=quiet_holder, now=1000.0, hold=None) == (
        90.0,
        False,
    )


def test_the_wait_is_the_earliest_until_holds_are_measured_and_paced_by_the_bucket() -> None:
    def place(hold: float | None = None, *, gone: bool = False) -> admission.Place:
        return admission.Place(False, 10, 20, False, 5, 100.0, frees_in=120.0, gone=gone, hold=hold)

    assert (place().wait_seconds, place().at_least, place().measured) == (120.0, True, False)
    measured = place(300.0)
    assert (measured.wait_seconds, measured.at_least, measured.measured) == (120.0, False, True)
    assert (place(gone=True).wait_seconds, place(gone=True).at_least) == (120.0, False)
    assert replace(measured, paced_in=150.0).wait_seconds == 150.0  # the bucket's pace, later
    drawn = admission.Place(False, 1, 1, True, 0, 0.0, frees_in=120.0)
    assert (drawn.wait_seconds, drawn.at_least) == (None, False)
    # How long places are held is known once a whole turn of the cap's have been freed (the
    # first are the shortest stays), 10,000 at most, 5 at least.
    assert [admission.needed(cap) for cap in (3, 224, 1119, 50_000)] == [5, 224, 1119, 10_000]
    assert admission.mean_hold(223, 223 * 150.0, cap=224) is None
    assert admission.mean_hold(224, 224 * 150.0, cap=224) == 150.0


async def test_the_line_is_bounded_and_forgets_who_stopped_asking(
    lines: list[admission.Line],
) -> None:
    one, two = lines
    caps = admission.Caps(active=1, per_minute=0, idle=600.0, max_waiting=2)
    now = OPENS + 5
    assert [(await _arrive(one, u, now, caps)).position for u in (1, 2, 3)] == [0, 1, 2]
    with pytest.raises(admission.Full):
        await _arrive(two, 4, now, caps)
    # 2 keeps asking, 3 does not: past WAIT_IDLE, 3's place goes and 4 gets in line.
    await _arrive(one, 2, now + 100, caps)
    place = await _arrive(two, 4, now + admission.WAIT_IDLE + 1, caps)
    assert (place.position, place.waiting) == (2, 2)


async def test_the_gate_engages_near_the_active_cap_and_lets_go_below_a_lower_share(
    lines: list[admission.Line],
) -> None:
    """Engaged from ENGAGE (85 %) of the cap or anyone waiting, until under RELEASE (70 %)
    with nobody waiting: in between it stays as it was (no flapping at the threshold)."""
    one, two = lines
    caps = admission.Caps(active=10, per_minute=0, idle=100.0, max_waiting=100)
    now = OPENS + 10
    places = [await _arrive(one if u % 2 else two, u, now, caps) for u in range(1, 10)]
    assert [p.engaged for p in places] == [False] * 8 + [True]  # 9 of 10: past 8.5
    assert await two.pressure(7, now=now, opens=OPENS, caps=caps)
    for user in range(1, 8):  # 7 stay active, 2 go quiet
        await one.touch(7, user, now=now + 50, idle=caps.idle)
    assert await one.pressure(7, now=now + 101, opens=OPENS, caps=caps)  # 7 of 10: still engaged
    for user in range(1, 7):
        await two.touch(7, user, now=now + 140, idle=caps.idle)
    assert not await two.pressure(7, now=now + 151, opens=OPENS, caps=caps)  # 6: let go
    # Sockets counted in (the hub's round) count as much as arrivals.
    counted = await one.count_in(7, _draws(1, 20, 21), now=now + 152, opens=OPENS, caps=caps)
    assert counted == {1, 20, 21}
    assert not await one.pressure(7, now=now + 152, opens=OPENS, caps=caps)  # 8: not yet
    await two.count_in(7, _draws(22), now=now + 153, opens=OPENS, caps=caps)
    assert await one.pressure(7, now=now + 153, opens=OPENS, caps=caps)
    assert not await one.pressure(9, now=now + 154, opens=OPENS, caps=caps)  # nobody there


def _draws(*users: int) -> dict[int, float]:
    return {u: u / 100 for u in users}


async def test_before_opening_only_enough_early_arrivals_to_press_a_cap_engage_the_gate(
    lines: list[admission.Line],
) -> None:
    """A small fair's early arrivals are not held (not engaged: fair.web.gate lets them go on)
    and all let in at opening; a crowd's engage the gate before opening (ENGAGE of the active
    cap, or of the per-minute cap's bucket: 85 %), and are let in in the order drawn."""
    one, two = lines
    caps = admission.Caps(active=4, per_minute=0, idle=600.0, max_waiting=100)
    before = OPENS - 60  # within WAIT_IDLE of opening: nobody's place forgotten
    small = [await two.arrive(8, u, now=before, opens=OPENS, caps=caps, draw=0.5) for u in (1, 2)]
    assert [(p.admitted, p.drawn, p.engaged) for p in small] == [(False, True, False)] * 2
    # A socket's candidate, counted in by the hub's round, is an early arrival too.
    assert await one.count_in(8, {3: 0.7}, now=before, opens=OPENS, caps=caps) == set()
    assert not await one.pressure(8, now=before + 1, opens=OPENS, caps=caps)  # 3 < 3.4
    at_opening = await one.arrive(8, 9, now=OPENS + 1, opens=OPENS, caps=caps, draw=0.5)
    assert (at_opening.admitted, at_opening.engaged) == (True, True)  # the fourth of four
    assert (await one.figures(8, now=OPENS + 1, idle=caps.idle)).active == 4  # all of them
    # A crowd: the fourth early arrival (of a cap of 4) engages it; drawn order at opening.
    draws = {11: 0.9, 12: 0.2, 13: 0.6, 14: 0.4, 15: 0.1, 16: 0.8}
    crowd = [
        await one.arrive(7, u, now=before, opens=OPENS, caps=caps, draw=d) for u, d in draws.items()
    ]
    assert [p.engaged for p in crowd] == [False, False, False, True, True, True]
    assert await two.pressure(7, now=before + 1, opens=OPENS, caps=caps)
    late = await two.arrive(7, 17, now=OPENS + 1, opens=OPENS, caps=caps, draw=0.0)
    assert (late.admitted, late.position) == (False, 3)  # behind the two drawn last
    let_in = {u for u in draws if (await _arrive(one, u, OPENS + 2, caps)).admitted}
    assert let_in == {15, 12, 14, 13}
    # The per-minute cap's bucket (10 s worth: 10 at 60 a minute) presses from 9 early.
    minute = admission.Caps(active=0, per_minute=60, idle=600.0, max_waiting=100)
    early = [
        (await two.arrive(9, u, now=before, opens=OPENS, caps=minute, draw=0.5)).engaged
        for u in range(1, 10)
    ]
    assert early == [False] * 8 + [True]


async def test_a_place_drawn_early_outlives_a_closed_tab_until_after_opening(
    lines: list[admission.Line],
) -> None:
    """Early arrivals who close their tab (no page asking, no socket) keep their drawn place
    until WAIT_IDLE after opening: let in at opening ahead of later arrivals, or still first
    in line; gone only once WAIT_IDLE has passed since opening without asking."""
    one, two = lines
    caps = admission.Caps(active=1, per_minute=0, idle=600.0, max_waiting=100)
    early = OPENS - 14 * 60  # arrived 14 minutes before opening, never asked again
    await one.arrive(7, 1, now=early, opens=OPENS, caps=caps, draw=0.2)
    await one.count_in(7, {2: 0.4}, now=early, opens=OPENS, caps=caps)  # a socket, closed
    late = await two.arrive(7, 3, now=OPENS + 30, opens=OPENS, caps=caps, draw=0.0)
    assert (late.admitted, late.position, late.waiting) == (False, 2, 2)  # behind 2's draw
    assert (await one.arrive(7, 1, now=OPENS + 40, opens=OPENS, caps=caps, draw=0.2)).admitted
    figures = await two.figures(7, now=OPENS + 40, idle=caps.idle)
    assert (figures.active, figures.waiting) == (1, 2)
    # 3 keeps asking; 2 never came back: their place goes WAIT_IDLE after opening, not before.
    await two.arrive(7, 3, now=OPENS + admission.WAIT_IDLE - 10, opens=OPENS, caps=caps, draw=0)
    assert (await two.figures(7, now=OPENS + admission.WAIT_IDLE - 1, idle=caps.idle)).waiting == 2
    after = OPENS + admission.WAIT_IDLE + 1
    gone = await one.arrive(7, 3, now=after, opens=OPENS, caps=caps, draw=0)
    assert (gone.position, gone.waiting) == (1, 1)


async def test_at_opening_a_read_of_the_pressure_lets_the_early_arrivals_in(
    lines: list[admission.Line],
) -> None:
    """Early arrivals too few to press a cap wait for opening; from it they are no pressure.
    The first read of the pressure lets them in (the caps allow it) and says "not engaged",
    where it said "engaged" (someone waiting) until somebody arrived: each process then held
    its requests and sockets as engaged for CACHE_SECONDS."""
    one, two = lines
    caps = admission.Caps(active=10, per_minute=60, idle=600.0, max_waiting=100)  # 10 at once
    for user in range(1, 8):
        await one.arrive(7, user, now=OPENS - 60, opens=OPENS, caps=caps, draw=user / 10)
    assert not await two.pressure(7, now=OPENS - 30, opens=OPENS, caps=caps)  # 7 < 8.5
    assert not await two.pressure(7, now=OPENS + 1, opens=OPENS, caps=caps)
    figures = await one.figures(7, now=OPENS + 1, idle=caps.idle)
    assert (figures.active, figures.waiting, figures.admissions) == (7, 0, 0)
    assert (await two.arrive(7, 1, now=OPENS + 2, opens=OPENS, caps=caps, draw=0.1)).admitted
    # The bucket paid for them: 3 tokens left, so the next 3 are let in, then the 4th waits.
    places = [await _arrive(one, u, OPENS + 2, caps, draw=0) for u in range(8, 12)]
    assert [p.admitted for p in places] == [True, True, True, False]
    # A crowd stays engaged at opening: the fill reaches the cap and the rest wait.
    for user in range(20, 32):
        await one.arrive(8, user, now=OPENS - 60, opens=OPENS, caps=caps, draw=user / 100)
    assert await two.pressure(8, now=OPENS + 1, opens=OPENS, caps=caps)
    figures = await one.figures(8, now=OPENS + 1, idle=caps.idle)
    assert (figures.active, figures.waiting) == (10, 2)


async def test_a_socket_counted_in_while_its_candidate_waits_keeps_their_place_in_line(
    lines: list[admission.Line],
) -> None:
    one, two = lines
    caps = admission.Caps(active=2, per_minute=0, idle=600.0, max_waiting=100)
    await _arrive(one, 1, OPENS + 1, caps)
    await _arrive(one, 2, OPENS + 1, caps)
    assert not (await _arrive(two, 3, OPENS + 1, caps)).admitted  # the cap (2) full
    assert (await _arrive(two, 4, OPENS + 2, caps)).position == 2
    # Their socket opened before they waited, counted in by the round: still in line (no
    # jump over those ahead), seen (the place kept past WAIT_IDLE without a page's asking).
    later = OPENS + admission.WAIT_IDLE + 1
    counted = await one.count_in(7, _draws(1, 3), now=later - 60, opens=OPENS, caps=caps)
    assert counted == {1}
    assert (await _arrive(two, 4, later - 1, caps)).position == 2  # 4 keeps asking
    figures = await two.figures(7, now=later, idle=caps.idle)
    assert (figures.active, figures.waiting) == (2, 2)
    assert (await _arrive(two, 3, later, caps)).position == 1


async def test_the_line_in_this_process_answers_a_long_line_as_fast_as_a_short_one() -> None:
    """Each arrival (every waiter asks every 5 s) costs the same with 10,000 waiting as with
    100: the idle are found oldest first, not by a scan of everyone (which took 5 ms an
    arrival at 10,000: 10 s of CPU a second for 10,000 waiters)."""
    caps = admission.Caps(active=10, per_minute=0, idle=600.0, max_waiting=20_000)

    async def per_arrival(waiting: int) -> float:
        line, now = admission.MemoryLine(), OPENS + 1
        for user in range(caps.active + waiting):
            await line.arrive(7, user, now=now, opens=OPENS, caps=caps, draw=0)
        started = time.perf_counter()
        for i in range(2_000):  # the waiters asking again, in turn
            user = caps.active + (i * 7) % waiting
            await line.arrive(7, user, now=now + 1 + i / 1000, opens=OPENS, caps=caps, draw=0)
        return time.perf_counter() - started

    short, long = await per_arrival(100), await per_arrival(10_000)
    assert long < 10 * short, (short, long)


# The gate on pages ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_gate() -> None:
    admission_gate.LOCAL.editions.clear()
    admission_gate.forget()


async def _gated_edition(session: AsyncSession) -> Edition:
    edition = await f.edition(session, admission_active_cap=1)
    await db.commit(session)
    return edition


async def _candidate_client(
    session: AsyncSession, make_client: Any, edition: Edition
) -> tuple[httpx.AsyncClient, int]:
    candidate = await f.candidate(session)
    await participants.register(session, edition_id=edition.id, user=candidate)
    await db.commit(session)
    client = make_client()
    await login(client, candidate.email, f.PASSWORD)
    return client, candidate.id


async def test_gate_holds_the_second_candidate_until_the_first_goes_quiet(
    session: AsyncSession, make_client: Any, client: httpx.AsyncClient
) -> None:
    clock.set_now(f.NOON)
    edition = await _gated_edition(session)
    first, _id1 = await _candidate_client(session, make_client, edition)
    second, _id2 = await _candidate_client(session, make_client, edition)
    mine = f"/e/{edition.slug}/my-fair"
    assert (await first.get(mine)).status_code == 200
    assert admission_gate.COOKIE in first.cookies
    held = await second.get(mine)
    assert held.status_code == 303
    assert held.headers["location"] == f"/e/{edition.slug}/waiting?next=/e/{edition.slug}/my-fair"
    waiting = await second.get(held.headers["location"])
    assert waiting.status_code == 200
    assert waiting.headers["retry-after"] == "15"
    assert 'http-equiv="refresh"' not in waiting.text  # axe: no self-reloading page
    assert "Vous êtes numéro 1 dans la file, sur 1." in waiting.text
    status = (await second.get(f"/e/{edition.slug}/waiting/status")).json()
    # The first one let in filled the cap on arriving, seen just now, no place freed yet: their
    # place frees up in 90 s at the earliest (they could open a socket and leave: a round, then
    # QUIET), shown from the first status.
    assert (status["admitted"], status["position"], status["wait_seconds"]) == (False, 1, 90.0)
    assert status["floor"] is True  # the earliest: the first one may stay longer
    two = i18n.ngettext("about %(num)s minute", "about %(num)s minutes", 2, "fr", num=2)
    assert status["wait_text"] == i18n.gettext(
        "Estimated wait: %(wait)s or more (those let in may stay longer).", "fr", wait=two
    )
    # Browsing stays open to the one waiting.
    for page in (f"/e/{edition.slug}", f"/e/{edition.slug}/booths", f"/e/{edition.slug}/offers"):
        assert (await second.get(page)).status_code == 200, page
    # The first one stays in while active (the cookie renewed), ...
    clock.set_now(f.NOON + timedelta(minutes=9))
    assert (await first.get(mine)).status_code == 200
    clock.set_now(f.NOON + timedelta(minutes=18))
    assert (await first.get(mine)).status_code == 200
    # ... then goes quiet: past 10 minutes the cookie has expired and the place is freed.
    clock.set_now(f.NOON + timedelta(minutes=29))
    status_url = f"/e/{edition.slug}/waiting/status"
    status = (await second.get(status_url, headers={"accept": "application/json"})).json()
    # When the line let them in, for the page (and bench/surge.py) to know it
    moment = (f.NOON + timedelta(minutes=29)).timestamp()
    assert (status["admitted"], status["admitted_at"]) == (True, moment)
    let_in = await second.get(f"/e/{edition.slug}/waiting?next=/e/{edition.slug}/my-fair")
    assert (let_in.status_code, let_in.headers["location"]) == (303, mine)
    assert (await second.get(mine)).status_code == 200
    assert (await first.get(mine)).status_code == 303
    # The /live socket is gated as well: tests/test_admission_live.py.
    metrics_page = await client.get("/metrics")
    assert f'fair_admission_active{{edition="{edition.id}"}} 1.0' in metrics_page.text
    assert f'fair_admission_waiting{{edition="{edition.id}"}} 1.0' in metrics_page.text
    assert "fair_admission_admitted_total" in metrics_page.text


async def test_a_one_minute_idle_renews_an_active_candidate_s_place(
    session: AsyncSession, make_client: Any
) -> None:
    """FAIR_ADMISSION_IDLE_MINUTES=1: the cookie is renewed before it lapses (it was renewed
    from RENEW, 60 s, when it was valid under 60 s: never), so an active candidate keeps
    their place and the one waiting stays in line."""
    settings.override(replace(settings.get(), admission_idle_minutes=1))
    clock.set_now(f.NOON)
    edition = await _gated_edition(session)
    first, _ = await _candidate_client(session, make_client, edition)
    second, _ = await _candidate_client(session, make_client, edition)
    mine = f"/e/{edition.slug}/my-fair"
    assert (await first.get(mine)).status_code == 200
    clock.set_now(f.NOON + timedelta(seconds=10))
    assert (await second.get(mine)).status_code == 303  # held: the one place is taken
    before = first.cookies[admission_gate.COOKIE]
    clock.set_now(f.NOON + timedelta(seconds=40))
    assert (await first.get(mine)).status_code == 200
    assert first.cookies[admission_gate.COOKIE] != before  # renewed at 40 s of 60
    clock.set_now(f.NOON + timedelta(seconds=80))
    waiting = await second.get(f"/e/{edition.slug}/waiting?next={mine}")
    assert waiting.status_code == 200  # still in line: the place was renewed
    assert (await first.get(mine)).status_code == 200


async def test_staff_and_candidates_with_an_interview_soon_are_never_held(
    session: AsyncSession, make_client: Any
) -> None:
    clock.set_now(f.NOON)
    edition = await _gated_edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    first, _ = await _candidate_client(session, make_client, edition)
    mine = f"/e/{edition.slug}/my-fair"
    assert (await first.get(mine)).status_code == 200  # the one place taken
    soon = await f.candidate(session)
    await participants.register(session, edition_id=edition.id, user=soon)
    await f.interview(
        session,
        booth_=booth,
        recruiter=recruiter,
        candidate_=soon,
        starts_at=f.NOON + timedelta(minutes=25),
    )
    await db.commit(session)
    soon_client = make_client()
    await login(soon_client, soon.email, f.PASSWORD)
    assert (await soon_client.get(mine)).status_code == 200
    staff = make_client()
    await login(staff, recruiter.email, f.PASSWORD)
    assert (await staff.get("/recruiter")).status_code == 200
    later, _ = await _candidate_client(session, make_client, edition)
    assert (await later.get(mine)).status_code == 303


class Reads:
    """The tables the SELECT statements of one client's answers read, in order."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.engine, self.client = app.state.engine.sync_engine, client
        self.statements: list[str] = []

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    async def __call__(self, path: str, **headers: str) -> tuple[httpx.Response, list[str]]:
        self.statements.clear()
        with listening(self.engine, "before_cursor_execute", self._seen):
            answer = await self.client.get(path, headers=headers)
        selects = [s for s in self.statements if s.lstrip().upper().startswith("SELECT")]
        return answer, [re.findall(r"\bFROM (\w+)", s)[0] for s in selects]


async def test_a_held_candidate_s_asks_read_nothing_once_known_and_are_let_in_all_the_same(
    session: AsyncSession, make_client: Any, app: Any
) -> None:
    """Holding costs far less than serving (issue 17): the waiting page's script asks about
    every 15 s, thousands at once at an opening. The first ask reads the session and the
    interviews that would let them in; the next ones read nothing (the session from the live
    hub's cache, the exemption kept a minute, the gate's caches) and cost one Redis script.
    An ask that finds them let in gives the cookie and where to go, as the page's way does;
    a held candidate's gated page reads nothing of its header; logged out, the ask is refused."""
    clock.set_now(f.NOON)
    edition = await _gated_edition(session)
    first, _ = await _candidate_client(session, make_client, edition)
    second, _ = await _candidate_client(session, make_client, edition)
    mine = f"/e/{edition.slug}/my-fair"
    assert (await first.get(mine)).status_code == 200
    status = f"/e/{edition.slug}/waiting/status?next={mine}"
    reads = Reads(app, second)
    held, tables = await reads(mine)
    # Held: the session's one statement (the header's unread notices counted in it, fair.web.auth
    # load_user) and the interviews that would let them in; no CV pool read for the header.
    assert held.status_code == 303
    selects = [s for s in reads.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2 and "user_sessions" in selects[0] and tables[1] == "interviews"
    answer, tables = await reads(status, accept="application/json")
    assert answer.json()["position"] == 1
    for _ in range(3):
        answer, tables = await reads(status, accept="application/json")
        assert (answer.status_code, tables) == (200, [])
        assert (answer.json()["admitted"], answer.json()["position"]) == (False, 1)
        assert answer.headers["cache-control"] == "no-store"
    assert admission_gate.COOKIE not in second.cookies
    # The first goes quiet: their place lapses at 10 minutes (the idle), and their next page
    # puts them in line behind the second (still asking), whom the line lets in then; the
    # second's next ask says so.
    clock.set_now(f.NOON + timedelta(minutes=9))
    answer, _ = await reads(status, accept="application/json")
    assert answer.json()["position"] == 1
    clock.set_now(f.NOON + timedelta(minutes=10, seconds=30))
    assert (await first.get(mine)).status_code == 303
    answer, tables = await reads(status, accept="application/json")
    let_in = (f.NOON + timedelta(minutes=10, seconds=30)).timestamp()  # by the first's page
    assert answer.json() == {"admitted": True, "next": mine, "admitted_at": let_in}
    assert tables == ["interviews"]  # the exemption read again after a minute, nothing else
    assert admission_gate.COOKIE in second.cookies
    assert (await second.get(mine)).status_code == 200
    # The first, held, logs out: their asks are refused at once, not answered from the cache.
    status = f"/e/{edition.slug}/waiting/status"
    assert (await first.get(status, headers={"accept": "application/json"})).status_code == 200
    token = await csrf(first, "/")
    assert (await first.post("/logout", data={"csrf_token": token})).status_code == 303
    refused = await first.get(status, headers={"accept": "application/json"})
    assert refused.status_code == 401


async def test_asking_for_one_s_place_reads_the_session_and_the_interviews_only(
    session: AsyncSession, make_client: Any, app: Any
) -> None:
    """The waiting page's script asks about every 15 s, thousands at once at an opening: at
    most one read of the session, and, held, one of the interviews that would let them in now
    (both kept a while: the test above); nothing of the header of a page (unread notices: a
    JSON answer has none), no read of an edition whose gate is armed (cached:
    fair.admission_gate); of an edition without one, its id (or NotFound)."""
    clock.set_now(f.NOON)
    edition = await _gated_edition(session)
    next_month = await f.edition(session, now=f.NOON + timedelta(days=30))  # not armed today
    await db.commit(session)
    first, _id1 = await _candidate_client(session, make_client, edition)
    second, _id2 = await _candidate_client(session, make_client, edition)
    assert (await first.get(f"/e/{edition.slug}/my-fair")).status_code == 200
    status = f"/e/{edition.slug}/waiting/status"
    assert (await second.get(status)).json()["position"] == 1  # held; the gates read
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async def reads(path: str) -> tuple[int, list[str]]:
        """The answer's status and the tables of the statements it read, in order."""
        statements.clear()
        with listening(app.state.engine.sync_engine, "before_cursor_execute", seen):
            answer = await second.get(path, headers={"accept": "application/json"})
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        return answer.status_code, [re.findall(r"\bFROM (\w+)", s)[0] for s in selects]

    assert await reads(status) == (200, [])  # the session and the exemption known: nothing
    assert (await second.get(status)).json()["position"] == 1
    unarmed = f"/e/{next_month.slug}/waiting/status"
    assert await reads(unarmed) == (200, ["user_sessions", "editions"])
    assert (await reads("/e/nowhere/waiting/status"))[0] == 404


async def test_organiser_sets_the_caps_through_the_number_parser(
    session: AsyncSession, client: httpx.AsyncClient, fetch: Any
) -> None:
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    await db.commit(session)
    await login(client, organiser.email, f.PASSWORD)
    path = f"/organiser/editions/{edition.id}/settings"
    form = await client.get(path)
    assert 'name="admission_active_cap" type="text" value=""' in form.text
    data = _form_values(form.text)
    refused = await client.post(path, data={**data, "admission_active_cap": "beaucoup"})
    assert refused.status_code == 422
    assert "Indiquez un nombre entier." in refused.text
    data["csrf_token"] = await csrf(client, path)
    saved = await client.post(
        path, data={**data, "admission_active_cap": "500", "admission_arrivals_per_minute": ""}
    )
    assert saved.status_code == 303
    row = await fetch.scalar(select(Edition).where(Edition.id == edition.id))
    assert (row.admission_active_cap, row.admission_arrivals_per_minute) == (500, None)


def _form_values(html: str) -> dict[str, Any]:
    """The edition form's fields as a browser would send them."""
    form = next(f for f in forms_of(html) if "admission_active_cap" in f.values())
    return form.data()


def test_the_wait_shown_has_the_reader_s_number_format() -> None:
    place = admission.Place(False, 5, 9, False, 6, 100.0)  # 6 let in over 100 s: 3.6 a minute
    shown: dict[str, str] = {}
    for locale in ("fr", "en"):
        token = i18n.current_locale.set(locale)
        try:
            shown[locale] = waiting_page._wait_text(place)
        finally:
            i18n.current_locale.reset(token)
    assert shown == {
        "fr": "Attente estimée : environ 2 minutes (rythme des entrées ces dernières minutes : "
        "3,6 par minute).",
        "en": "Estimated wait: about 2 minutes (pace of admissions lately: 3.6 a minute).",
    }
    # From a place's expiry alone (no pace measured): no pace shown; "or more" while that is
    # only the earliest (its holder present: they may stay longer).
    expiry = admission.Place(False, 1, 9, False, 0, 0.0, frees_in=150.0, gone=True)
    earliest = admission.Place(False, 1, 9, False, 0, 0.0, frees_in=150.0)
    token = i18n.current_locale.set("en")
    try:
        assert waiting_page._wait_text(expiry) == "Estimated wait: about 3 minutes."
        assert waiting_page._wait_text(earliest) == (
            "Estimated wait: about 3 minutes or more (those let in may stay longer)."
        )
    finally:
        i18n.current_locale.reset(token)
    # The status says which is a floor (a lower bound), for scripts and bench/surge.py.
    floors = [
        json.loads(waiting_page._status_answer(p, "/").body)["floor"]
        for p in (place, expiry, earliest)
    ]
    assert floors == [False, False, True]


async def test_the_gated_editions_kept_outlive_the_session_that_read_them(
    app: Any, session: AsyncSession
) -> None:
    clock.set_now(f.NOON)
    edition = await _gated_edition(session)
    async with app.state.read_sessions() as reader:
        assert [g.slug for g in await admission_gate.armed(reader, f.NOON)] == [edition.slug]
        await reader.rollback()  # as a request's session ends
    async with app.state.read_sessions() as reader:  # the next request, within 5 s
        gates = await admission_gate.armed(reader, f.NOON + timedelta(seconds=1))
    assert [(g.edition_id, g.caps.active) for g in gates] == [(edition.id, 1)]


async def test_a_place_drawn_before_opening_is_kept_by_one_who_lets_it_go_and_comes_back(
    session: AsyncSession, make_client: Any
) -> None:
    """A place drawn before opening is kept until after opening, asked for or not; one lost
    all the same (the line forgot it: Redis restarted) is drawn again the same on arriving
    again before opening: trying again and again for a better draw gains nothing."""
    opens = f.NOON.replace(hour=0)  # its first live day opens at midnight
    clock.set_now(opens - timedelta(minutes=14))
    edition = await f.edition(session, admission_active_cap=1, live_first_day=opens.date())
    await db.commit(session)
    people = [await _candidate_client(session, make_client, edition) for _ in range(12)]
    status = f"/e/{edition.slug}/waiting/status"

    async def position(client: httpx.AsyncClient) -> int:
        found = (await client.get(status)).json()
        assert found["admitted"] is False
        return int(found["position"])

    for client, _id in people:  # each takes a place
        await position(client)
    first = [await position(client) for client, _id in people]
    assert sorted(first) == list(range(1, 13))
    leaver = people[0][0]
    now = opens - timedelta(minutes=14)
    for step in (60, 60, 30):  # the others keep asking; the leaver's place is kept
        now += timedelta(seconds=step)
        clock.set_now(now)
        assert [await position(client) for client, _id in people[1:]] == first[1:]
    assert await position(leaver) == first[0]
    for _cycle in range(3):  # three times: 12 ** -3 that random draws would all agree
        admission_gate.LOCAL.editions.clear()  # the line forgot everyone: all arrive again
        for client, _id in people:
            await position(client)
        assert [await position(client) for client, _id in people] == first


async def test_before_opening_a_small_fair_holds_nobody_and_a_crowd_is_drawn(
    session: AsyncSession, make_client: Any
) -> None:
    """Caps on (as by default) in the 15 minutes before opening: early arrivals too few to
    press a cap go on as at any time (no waiting page) and are let in at opening; enough of
    them (85 % of the active cap) engage the gate, and their places are drawn at opening."""
    opens = f.NOON.replace(hour=0)  # its first live day opens at midnight
    early = opens - timedelta(minutes=1)  # within WAIT_IDLE: the waiters need not ask again
    clock.set_now(early)
    small = await f.edition(session, admission_active_cap=10, live_first_day=opens.date())
    crowded = await f.edition(session, admission_active_cap=2, live_first_day=opens.date())
    await db.commit(session)
    visitor, _id = await _candidate_client(session, make_client, small)
    assert (await visitor.get(f"/e/{small.slug}/my-fair")).status_code == 200
    not_held = await visitor.get(f"/e/{small.slug}/waiting")  # on to the edition's page
    assert (not_held.status_code, not_held.headers["location"]) == (303, f"/e/{small.slug}")
    assert admission_gate.COOKIE not in visitor.cookies
    people = [await _candidate_client(session, make_client, crowded) for _ in range(3)]
    mine = f"/e/{crowded.slug}/my-fair"
    # The first is not held (one of a cap of two); the second engages the gate: held, and so
    # is the first from their next page, all three in line for the draw.
    assert [(await c.get(mine)).status_code for c, _id in people] == [200, 303, 303]
    assert (await people[0][0].get(mine)).status_code == 303
    (gate,) = [g for g in await admission_gate.armed(session, early) if g.edition_id == crowded.id]
    by_draw = sorted((admission_gate.draw(crowded.id, i, gate.opens), i) for _c, i in people)
    clock.set_now(opens + timedelta(seconds=1))
    status = f"/e/{crowded.slug}/waiting/status"
    admitted = {i for c, i in people if (await c.get(status)).json()["admitted"]}
    assert admitted == {i for _draw, i in by_draw[:2]}
    assert (await visitor.get(f"/e/{small.slug}/my-fair")).status_code == 200
    assert admission_gate.COOKIE in visitor.cookies  # let in at opening


async def test_arrivals_at_the_same_moment_go_to_redis_in_one_round_trip() -> None:
    """The held candidates' asks of a moment (~300 a second a process in the 10,000-candidate
    surge) cost one round trip to Redis, not one each: still one atomic script an arrival, in
    the order asked."""
    namespace = f"test-admission-{secrets.token_hex(4)}"
    redis = aioredis.from_url(REDIS, decode_responses=True)
    line = admission.RedisLine(redis, namespace=namespace)
    try:
        now = OPENS + 10
        places = await asyncio.gather(*(_arrive(line, u, now) for u in range(1, 21)))
        assert [(p.admitted, p.position) for p in places] == [(True, 0)] * 2 + [
            (False, n) for n in range(1, 19)
        ]
        assert line.batches == 1
        again = await asyncio.gather(*(_arrive(line, u, now + 1) for u in (20, 3)))
        assert [p.position for p in again] == [18, 1] and line.batches == 2
    finally:
        keys = [k async for k in redis.scan_iter(f"{namespace}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
