"""Admission control: who of an edition's candidates is let in when more arrive than it serves.

An edition is *armed* from 15 minutes before a live day opens until it closes, when it has a
cap (its organiser's, else the platform's default: FAIR_ADMISSION_*; 0 there is no cap):
at most `active` candidates active at once, and `per_minute` let in a minute at a steady pace:
a token bucket (`Caps.burst`: BURST seconds' worth at once at most, then one every 60 /
`per_minute` seconds), not a whole minute's worth at each clock minute. Every time is fair.clock's
(`now=`), the bucket's in Redis too: a process whose clock is behind the last refill adds none.
Engaged: its gate holds people only under pressure (`pressed`, decided by the line at each
arrival and `Line.pressure`, kept with the line so that every process agrees): someone waiting,
or ENGAGE of a cap used; it lets go under RELEASE with nobody waiting. While it is not engaged
arrivals are let in at once and counted all the same (fair.admission_gate says what it costs).
A candidate arriving then takes a place in the edition's waiting line and is let in, first
come first served, as soon as both caps allow. People arriving in the 15 minutes before
opening draw a random place ahead of everyone arriving later (`Place.drawn`), so refreshing
early gains nothing (nor letting one's place go to draw again: one person draws the same
place for one opening, fair.admission_gate.draw). Before opening the gate is engaged only when
those early arrivals could press a cap at opening (ENGAGE of the active cap, or of the
per-minute cap's bucket: `pressed`); otherwise nobody is held before opening, and the first
arrival or read of the line's pressure at opening lets them all in (`Line.pressure` lets in
whom the caps allow before deciding: the early arrivals waiting for opening are no pressure,
and no process reads "engaged" from them until someone arrives). Someone let in is *active*
until `idle` seconds pass without a request or socket round of theirs, or, when the last sign
of them was a socket round (their open /live sockets are seen every 30 s on every process),
until `quiet(idle)` (90 s) pass without another: they closed them all and asked no page, they
left (`lapse_at`). Then the place goes to the next in line. (Until 2026-12-05 only the idle
freed a place: at 10,000 candidates the line never moved for 10 minutes after those let in
had left.)
A waiter who stops asking for their place for `WAIT_IDLE` seconds (the waiting page asks about
every 15 s with JavaScript; without it, the candidate's "Refresh now" does) loses it; a place drawn
before opening is kept until `WAIT_IDLE` after opening whatever the candidate does (asked
before opening, it is stamped as of the opening): one who came early and closed the tab is
still placed at their draw, and let in at opening when the caps allow.

The line and the counts live in a `Line`: `MemoryLine` (this process: the embedded default)
or `RedisLine` (the deployment's, in the broadcaster's Redis: every worker and host shares
it; one Lua script per arrival, so a cap holds across processes). Every structure is bounded:
the active set by the cap, the line by `max_waiting` (past it: `Full`), the admissions
remembered to measure the rate by `RATE_WINDOW` and `MAX_LOG`.

The wait shown (`Place.wait_seconds`) is worked out from what the line knows, never "unknown"
while a cap holds it after opening. The per-minute cap: when its bucket will have let the place
in (`turn_in`, exact), and no sooner than the active cap lets it in. Both caps: the bucket paced
against the places freeing up (`paced_in`): places freeing up together (their holders stamped
at one socket round) are let in at the bucket's pace, not at once. The active cap: the `k`th
place to free up, `k` = the places over the cap and the people ahead and oneself, less the room
under the cap (`expiry_rank`; the places not taken yet count as taken now), oldest first by
when its holder was let in; past the places held, whoever takes the (`k` − cap)th holds it in
turn (`turns_of`). A place frees up when its holder was let in plus `hold`, how long the
last places freed were held on average (a turn's: `needed`, `Place.hold`), and no sooner than
its holder can free it (`free_at`; gone, not seen for `quiet`: its lapse); each turn of the
places adds a `hold`. Until a whole turn of the cap's places has been freed (`needed`: the
first to free up are the shortest stays) nobody can say how long people stay: the wait is then
the earliest possible (`frees_in`, shown "or more", `Place.at_least`). Why holding times and not
the pace of admissions (before 2026-12-05: the people ahead over the admissions of the last
5 minutes): at an opening the places are taken together and free up together, so the line
moves by bursts; a pace measured over a burst showed waits several times too short, and one
measured over a whole turn showed those at the head of the line, let in by the next burst,
the length of a turn (bench/surge.py, 150 candidates: p90 86 %). The pace of admissions is
still measured (`Place.rate`, over the moves of the line: people waiting let into a place the
active cap freed) and shown beside the wait.

Who is never held, what the signed cookie carries and what happens when Redis is down:
fair.web.admission and docs/OPERATIONS.md "Admission control".
"""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import itertools
import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from fair import settings
from fair.errors import FairError
from fair.i18n import N_
from fair.models import Edition

EARLY = timedelta(minutes=15)  # arrivals this long before opening draw their place at opening
WAIT_IDLE = 120.0  # seconds a waiter may go without asking before losing their place
RATE_WINDOW = 300.0  # seconds of admissions the rate is measured over
MIN_SPAN = 60.0  # seconds: a rate is never measured over less (one admission is no rate)
MAX_LOG = 10_000  # admissions remembered within that window, at most
MAX_PURGE = 1_000  # stale waiters dropped, places lapsed, per arrival, at most (bounded work)
INFINITE = 2**31 - 1
BURST = 10.0  # seconds of the per-minute cap let in at once at most (Caps.burst)
# seconds: an active place not renewed for so long has its holder gone (a socket is renewed every
# 30 s, fair.live.limits.REFRESH_SECONDS; a page's cookie every minute, fair.admission_gate.RENEW):
# at most, for `quiet` derives it from the idle. A holder last seen by a socket round (all their
# sockets closed since, no page) loses their place that long after it (`lapse_at`).
QUIET = 90.0
EPSILON = 1e-9  # a token refilled by float arithmetic to 0.999… is whole
# places whose expiry the per-minute cap's pace is worked out from, at most (`paced_in`: each
# read costs a Redis call; the wait is then within idle / SAMPLES of the exact bound)
SAMPLES = 32
# The gate engages (holds people: module doc) once this share of a cap is used, and
# lets go once below RELEASE again with nobody waiting: between the two it stays as it was.
ENGAGE = 0.85
RELEASE = 0.70
HOLDS = 10_000  # places freed whose holding time is averaged, at most (`needed`)
MIN_HOLDS = 5  # places freed, at least, before their holding time is an estimate (`needed`)


class Full(FairError):
    """The waiting line is full, or cannot be reached: 503, come back later."""

    status = 503
    code = "admission.full"

    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Caps:
    active: int  # 0: no cap
    per_minute: int  # 0: no cap
    idle: float  # seconds
    max_waiting: int

    @property
    def any(self) -> bool:
        return bool(self.active or self.per_minute)

    @property
    def burst(self) -> float:
        """The per-minute cap's bucket: admissions let in at once at most (one at least)."""
        return max(1.0, self.per_minute * BURST / 60)


# A place's holder: (let in at, last request or socket round, last socket round or None).
Holder = tuple[float, float, float | None]


@dataclass(frozen=True)
class Place:
    """Where one candidate stands: let in, or `position` in a line of `waiting`."""

    admitted: bool
    position: int  # 1 for the next one let in; 0 when admitted
    waiting: int
    drawn: bool  # before opening: the place is drawn at random at opening
    admissions: int  # let in over the rate's window
    span: float  # seconds that window covers (from its first admission to now)
    turn_in: float | None = None  # seconds until the per-minute cap lets this place in, when
    # that cap alone holds the line now (`turn_in`)
    engaged: bool = True  # the gate under pressure after this arrival (`pressed`)
    frees_in: float | None = None  # seconds until the active cap lets this place in, when a
    # place must free up for it (`frees_in`: expected, or the earliest while no hold is known)
    gone: bool = False  # that time is the lapse of a place whose holder has gone (`free_at`)
    paced_in: float | None = None  # seconds until the per-minute cap can let this place in at
    # the earliest, its bucket paced against the places freeing up (`paced_in`)
    hold: float | None = None  # seconds a place is held, on average over the last turn's freed
    # (None: fewer than `needed` freed yet)
    since: float | None = None  # admitted: when they were let in (fair.clock's time)

    @property
    def rate(self) -> float:
        """Admissions a second, measured (0.0: none in the window)."""
        return self.admissions / max(self.span, MIN_SPAN) if self.admissions else 0.0

    @property
    def measured(self) -> bool:
        """Whether how long places are held is measured (`needed` freed at least)."""
        return self.hold is not None

    @property
    def wait_seconds(self) -> float | None:
        """The honest estimate (module doc). When only the per-minute cap holds the line, when
        its bucket will have let this place in (`turn_in`, `paced_in`: that cap's pace is
        known exactly). When the active cap holds it, or will before this place's turn, when
        the place it waits for frees up (`frees_in`: its holder's lapse when they have gone,
        else when they were let in plus the time places are held, and one such hold a turn of
        the places before; while nobody has freed a place yet, the earliest possible: `at_least`),
        no sooner than the per-minute cap lets it in then (`paced_in`). Else over the measured
        rate; None when nothing is known (then nobody can say)."""
        if self.admitted:
            return 0.0
        if self.drawn:
            return None
        paced = max(self.turn_in or 0.0, self.paced_in or 0.0)
        if self.frees_in is not None:
            return max(self.frees_in, paced)
        if self.turn_in is not None or self.paced_in is not None:
            return paced
        if not self.rate:
            return None
        return self.position / self.rate

    @property
    def at_least(self) -> bool:
        """Whether the wait shown is only the earliest possible (holders present, nobody's
        holding time measured yet): they may stay longer."""
        return (
            not self.admitted
            and not self.drawn
            and self.frees_in is not None
            and not self.gone
            and not self.measured
        )


def quiet(idle: float) -> float:
    """Seconds without a request or socket round after which a place's holder counts as gone:
    QUIET (they missed a socket's round and a page's renewal), or half the `idle` when that is
    shorter, so that a quiet holder can be told before the place lapses at all (at
    FAIR_ADMISSION_IDLE_MINUTES=1, QUIET's 90 s never came: the place went at 60 s). Never under
    a socket's round (30 s) for an idle of a minute or more: an open socket is never taken for
    gone."""
    return min(QUIET, idle / 2)


def lapse_at(last: float, live: float | None, idle: float) -> float:
    """When a place lapses if its holder is not seen again: `idle` after their last request or
    socket round; `quiet(idle)` after their last socket round when that was the last of them
    (`live`: their sockets were open then, they have closed them since and asked no page: they
    left; an open socket is seen every round, on every process, so it is never taken for it;
    a page of theirs within `quiet` of a round counts as one, `_paged`). A holder seen only by
    pages (no JavaScript) keeps the whole idle."""
    if live is not None and live >= last:
        return live + quiet(idle)
    return last + idle


def free_at(
    holder: Holder | None, *, now: float, idle: float, hold: float | None
) -> tuple[float, bool]:
    """When the place of `holder` frees up, and whether their holder has gone. Gone: seen by no
    socket round since their last request, and not for `quiet(idle)` (those seen by rounds who
    left are dropped then: `lapse_at`): their place lapses `idle` after it. Present: when they
    were let in plus `hold`, the time places are held, and no sooner than the earliest they can
    free it (leaving now: `quiet` after their last round, or after a round yet to come for one
    without a socket yet, unless the idle comes first); `hold` None (fewer than `needed`
    places freed yet): that earliest. A place not taken yet (`holder` None): whoever takes it
    now holds it that long."""
    left = quiet(idle)
    if holder is None:
        return now + (left if hold is None else hold), False
    since, last, live = holder
    if live is not None and live >= last:
        earliest = live + left
    elif now - last > left:
        return last + idle, True
    else:
        earliest = min(last + idle, now + left)
    return (earliest if hold is None else max(earliest, since + hold)), False


def expiry_rank(position: int, *, cap: int, active: int) -> int:
    """How many places must free up before the `position`th in line's, less one: `active` -
    `cap` + `position` - 1 (negative: none, there is room under the cap). Modulo the places
    (`active`, or `cap` when fewer are taken: the others are taken from now on), which place
    that turn comes from, oldest first by when its holder was let in; divided by them, how many
    times the places must turn over first."""
    return active - cap + position - 1


def turns_of(position: int, *, cap: int, active: int) -> tuple[int, int] | None:
    """(rank, turns) of the place the `position`th in line waits for: its rank among the
    `active` now (oldest first by when let in; `active` or more: a place not taken yet, whoever
    takes it is let in from now on), and how many holders after the present one it frees up
    for them; None when none need free up (room under the cap). The first `max(active, cap)`
    places to free up are those held now (or not taken yet), oldest first; the `r`th
    (`expiry_rank`) past them is the place of whoever took the (`r` − cap)th: once the active
    are down to the cap, only the cap's places turn over, so a turn takes the cap off the rank
    (it took `active`, which paired a place with one freeing up sooner when more were active
    than the cap)."""
    rank = expiry_rank(position, cap=cap, active=active)
    if rank < 0:
        return None
    places = max(active, cap)
    turns = 0 if rank < places else (rank - places) // cap + 1
    return rank - turns * cap, turns


def place_of(position: int, *, cap: int, active: int) -> int | None:
    """The rank among the `active` (oldest first) of the place the `position`th in line waits
    for (`turns_of`); None when none need free up (room under the cap)."""
    found = turns_of(position, cap=cap, active=active)
    return None if found is None else found[0]


def per_turn(idle: float, hold: float | None) -> float:
    """Seconds a turn of the places takes: `hold`, the time places are held; while none is
    measured, the earliest one let in frees theirs (a socket round, then `quiet`)."""
    return quiet(idle) if hold is None else hold


def expiry(
    position: int,
    *,
    caps: Caps,
    active: int,
    holder: Holder | None,
    now: float,
    hold: float | None,
) -> tuple[float, bool]:
    """(`frees_in`, gone): seconds until the active cap lets the `position`th in line in, the
    place `place_of` (its `holder`, None when not taken yet) freeing up at `free_at` and each
    turn of the places before adding `per_turn`; gone when that is the lapse of a holder gone
    (not for a place the line must turn over first: who holds it then is not known)."""
    found = turns_of(position, cap=caps.active, active=active)
    turns = 0 if found is None else found[1]
    free, gone = free_at(holder, now=now, idle=caps.idle, hold=hold)
    return max(0.0, free - now) + turns * per_turn(caps.idle, hold), gone and not turns


def turn_in(position: int, *, caps: Caps, tokens: float, active: int) -> float | None:
    """Seconds until the per-minute cap lets the `position`th in line in, when it is what
    holds the line (less than a whole token in its bucket, with room among the `active`);
    None when it is not (the active cap is full, or no per-minute cap)."""
    if not caps.per_minute or tokens + EPSILON >= 1 or (caps.active and active >= caps.active):
        return None
    return (position - tokens) * 60 / caps.per_minute


def sampled(position: int, *, caps: Caps, active: int) -> tuple[int, int] | None:
    """The ranks among the `active` (oldest first), from and to, of the places whose expiry
    `paced_in` reads for the `position`th in line: those the first turn of the line takes (the
    `j`th in line takes rank `expiry_rank(j)`), up to one's own or the cap's, and no more than
    the per-minute cap lets in over an idle (from there on its pace from now is the later:
    `paced_in`). None when there are none, or not both caps."""
    if not (caps.active and caps.per_minute):
        return None
    low = max(0, active - caps.active)
    mine = expiry_rank(min(position, caps.active), cap=caps.active, active=active)
    high = min(active - 1, mine, low + reach(caps))
    return (low, high) if high >= low else None


def reach(caps: Caps) -> int:
    """Admissions the per-minute cap allows over an idle, past its bucket (`sampled`)."""
    return math.floor(caps.per_minute * caps.idle / 60)


def spread(low: int, high: int) -> list[int]:
    """SAMPLES ranks from `low` to `high`, both included and evenly spread (all when fewer):
    the places whose expiry `paced_in` reads (the Redis script picks the same)."""
    if high - low + 1 <= SAMPLES:
        return list(range(low, high + 1))
    return [low + i * (high - low) // (SAMPLES - 1) for i in range(SAMPLES)]


def paced_in(
    position: int,
    *,
    caps: Caps,
    tokens: float,
    active: int,
    now: float,
    seen: list[tuple[int, float]],
    turn: float,
) -> float | None:
    """Seconds until the per-minute cap can have let the `position`th (`k`th) in line in, at
    the earliest, with the places of the active cap freeing up when they do (None without a
    per-minute cap). Its bucket, `tokens` now and refilled at `pace` = per_minute / 60 a
    second up to `burst`, lets the `k`th in no sooner than (k − tokens) / pace from now; and
    once the `j`th in line's place frees up (f_j), those from it to the `k`th, k − j + 1 of
    them, need that many tokens when the bucket holds `burst` at most: f_j + (k − j + 1 −
    burst) / pace. Places freed together (holders seen at one socket round, the opening fill)
    are let in at the bucket's pace, not at once. The `j`th's place, in the line's first turn
    (j up to the cap), frees up when the rank `expiry_rank(j)` among the `active` does
    (`seen`: (rank, when it frees up, `free_at`) of the places `spread` over `sampled`);
    past it, a `turn` (`per_turn`) after the (j − cap)th in line is let in, who is paced the
    same: each bound holds for the `k`th less t turns of the cap, plus t turns, and is linear
    in t, so the turns' ends are enough (t = 0, and t = turns, turns − 1 for the places). The
    later of them all."""
    if not caps.per_minute:
        return None
    pace, cap = caps.per_minute / 60, caps.active
    waits = [(position - tokens) / pace]
    if not cap:
        return max(0.0, *waits)
    turns = (position - 1) // cap
    first = position - turns * cap  # where in the line's first turn the last turn began
    waits.append((first - tokens) / pace + turns * turn)
    # f_j − j / pace, for the j whose place `seen` gives: the rest of the bound is k's
    lead = [(r - active + cap + 1, max(0.0, free - now)) for r, free in seen]
    burst = (1 - caps.burst) / pace
    ahead = max((f - j / pace for j, f in lead if j <= position), default=None)
    if ahead is not None:
        waits.append(ahead + position / pace + burst)
        if turns:
            waits.append(ahead + (position - (turns - 1) * cap) / pace + burst + (turns - 1) * turn)
    ahead = max((f - j / pace for j, f in lead if j <= first), default=None)
    if ahead is not None:
        waits.append(ahead + first / pace + burst + turns * turn)
    return max(0.0, *waits)


def waiting_place(
    *,
    position: int,
    waiting: int,
    admissions: int,
    span: float,
    tokens: float,
    active: int,
    engaged: bool,
    holder: Holder | None,
    samples: list[tuple[int, Holder | None]],
    hold: float | None,
    now: float,
    opens: float,
    caps: Caps,
) -> Place:
    """The place of the `position`th in line (both lines' answer): `holder` is that of the
    place it waits for (`place_of`; None when not taken yet), `samples` those of the places
    `paced_in` reads, `hold` the time places are held (`Place.hold`)."""
    turn = turn_in(position, caps=caps, tokens=tokens, active=active)
    frees, gone = None, False
    if caps.active and place_of(position, cap=caps.active, active=active) is not None:
        frees, gone = expiry(position, caps=caps, active=active, holder=holder, now=now, hold=hold)
    paced = None
    if now >= opens:
        seen = [(r, free_at(h, now=now, idle=caps.idle, hold=hold)[0]) for r, h in samples]
        each = per_turn(caps.idle, hold)
        paced = paced_in(
            position, caps=caps, tokens=tokens, active=active, now=now, seen=seen, turn=each
        )
    return Place(
        False,
        position,
        waiting,
        now < opens,
        admissions,
        span,
        turn,
        engaged=engaged,
        frees_in=frees,
        gone=gone,
        paced_in=paced,
        hold=hold,
    )


def needed(cap: int) -> int:
    """Places freed whose holding time is averaged (the last ones), and freed at least before
    it is the estimate (`mean_hold`): a whole turn of the active cap's places (HOLDS at most,
    MIN_HOLDS at least). The first places to free up are those of the shortest stays (the
    others are still held): the average of the first 5 showed every turn of the line 16 % too
    short in a discrete-event model of bench/surge.py's candidates against MemoryLine (p90 19 %
    at 10,000; half a turn's, 6 % there but 20 % at 1,000 with 250 places, where a whole turn's
    gave 2 to 15 % with the processes' rounds at random phases, 2026-12-05). Until then the
    wait shown is the earliest."""
    return max(MIN_HOLDS, min(HOLDS, cap))


def mean_hold(count: int, total: float, *, cap: int) -> float | None:
    """The time places are held, on average over the last `count` freed (`total` seconds in
    all); None under `needed(cap)`."""
    return total / count if count >= needed(cap) else None


def refill(bucket: tuple[float, float] | None, now: float, caps: Caps) -> tuple[float, float]:
    """The per-minute cap's bucket (tokens, as of when) at `now`: full at first, refilled at
    `per_minute` a minute up to `burst`; a time before its last refill adds nothing."""
    if bucket is None:
        return caps.burst, now
    tokens, at = bucket
    if now <= at:
        return tokens, at
    return min(caps.burst, tokens + (now - at) * caps.per_minute / 60), now


def pressed(
    caps: Caps, *, active: int, waiting: int, tokens: float, was: bool, early: bool
) -> bool:
    """Whether the gate is engaged: someone waiting, or a cap used up to ENGAGE (once engaged,
    down to RELEASE: hysteresis, so that it does not flap at the threshold); the per-minute
    cap's use is the share of its bucket drained (`tokens` left). Before opening (`early`:
    everyone arriving then waits for their draw), when those there (`active` + `waiting`)
    reach that share of the active cap, or of the bucket (what the per-minute cap lets in at
    once at opening): a small fair's early arrivals are not held, and all let in at opening."""
    share = RELEASE if was else ENGAGE
    if early:
        there = active + waiting
        return bool(caps.active and there >= share * caps.active) or bool(
            caps.per_minute and there >= share * caps.burst
        )
    if waiting:
        return True
    if caps.active and active >= share * caps.active:
        return True
    return bool(caps.per_minute) and 1 - tokens / caps.burst >= share


@dataclass(frozen=True)
class Figures:
    active: int
    waiting: int
    admissions: int
    span: float


def defaults() -> tuple[int, int]:
    conf = settings.get()
    return conf.admission_active_cap, conf.admission_arrivals_per_minute


def caps_of(edition: Edition) -> Caps:
    conf = settings.get()
    active, per_minute = defaults()
    if edition.admission_active_cap is not None:
        active = edition.admission_active_cap
    if edition.admission_arrivals_per_minute is not None:
        per_minute = edition.admission_arrivals_per_minute
    return Caps(active, per_minute, conf.admission_idle_minutes * 60.0, conf.admission_max_waiting)


def windows(edition: Edition) -> tuple[tuple[datetime, datetime], ...]:
    """When each live day opens and closes (live days loaded); none when the edition is not
    published or archived."""
    if edition.published_at is None or edition.archived_at is not None:
        return ()
    zone = ZoneInfo(edition.timezone)
    return tuple(
        (datetime.combine(day.day, day.opens, zone), datetime.combine(day.day, day.closes, zone))
        for day in edition.live_days
    )


def opening(days: tuple[tuple[datetime, datetime], ...], now: datetime) -> datetime | None:
    """When the live day the gate is on for opens (now is within its 15 minutes before, or
    its hours), or None when the edition is not gated now (`days` from `windows`)."""
    for opens, closes in days:
        if opens - EARLY <= now < closes:
            return opens
    return None


class Line(Protocol):
    async def arrive(
        self, edition_id: int, user_id: int, *, now: float, opens: float, caps: Caps, draw: float
    ) -> Place:
        """Let `user_id` in, or give their place in line (taken on their first arrival;
        `draw` in [0, 1) is it before `opens`). Raises Full when the line is."""
        ...

    async def touch(self, edition_id: int, user_id: int, *, now: float, idle: float) -> bool:
        """An admitted candidate is active now (a page of theirs), the idle dropped first:
        False when their place lapsed or went to the next in line (never given back here:
        that would exceed the active cap)."""
        ...

    async def keep(
        self, edition_id: int, user_ids: set[int], *, now: float, idle: float
    ) -> set[int]:
        """Those of `user_ids` still let in are active now (their open /live sockets: one
        batch; seen by a socket round, `lapse_at`); returns the others, whose place lapsed or
        went to the next in line (never given back here: that would exceed the active cap)."""
        ...

    async def count_in(
        self, edition_id: int, draws: dict[int, float], *, now: float, opens: float, caps: Caps
    ) -> set[int]:
        """The users of `draws` (user: their draw, fair.admission_gate.draw) are here: their
        sockets, let through while the gate was not engaged (the count stays right for
        `pressure`). From `opens`, those neither active nor waiting are let in, without
        waiting; before it, they join the line at their draw like an arrival then (up to
        `max_waiting`). One waiting stays in line (seen now: their socket keeps their place).
        Returns those active now."""
        ...

    async def pressure(self, edition_id: int, *, now: float, opens: float, caps: Caps) -> bool:
        """Whether the gate is engaged now (`pressed`), the idle and stale dropped first and,
        from `opens`, those at the head of the line let in as the caps allow (at opening, the
        early arrivals drawn: waiting only for someone to arrive, they are no pressure)."""
        ...

    async def figures(self, edition_id: int, *, now: float, idle: float) -> Figures: ...

    async def tokens(self, edition_id: int, *, now: float, caps: Caps) -> float | None:
        """The per-minute cap's bucket now (`refill`): None without such a cap."""
        ...

    async def last(self, edition_id: int, *, now: float, opens: float, caps: Caps) -> Place | None:
        """The place of the last in line, as their page would show it now (`line_wait`), the
        idle and stale dropped first; None when nobody waits. A read: their place is not
        kept for it."""
        ...


def line_wait(place: Place | None, *, now: float, opens: float) -> float:
    """The wait an operator is shown (fair_admission_wait_seconds), never unknown: the last in
    line's (`Line.last`), the estimate their page shows; 0 with nobody waiting, or when no
    cap holds them (let in on the next request); before opening, when their places are
    drawn, the time until opening (at least)."""
    wait = None if place is None else place.wait_seconds
    return max(0.0, opens - now) if wait is None else wait


def full() -> Full:
    return Full(
        N_("The fair is full and so is its waiting line. Please come back in a few minutes."),
        code="admission.full",
        retry_after=60,
    )


# In this process --------------------------------------------------------------------------------


@dataclass
class _Edition:
    # user -> last request or socket round, and waiter -> last asked: oldest first (`_stamp`),
    # so that the idle are found at the front, not by a scan of everyone on each arrival
    active: OrderedDict[int, float] = field(default_factory=OrderedDict)
    live: OrderedDict[int, float] = field(default_factory=OrderedDict)  # user -> last round
    since: OrderedDict[int, float] = field(default_factory=OrderedDict)  # user -> let in
    tickets: dict[int, float] = field(default_factory=dict)  # user -> ticket
    order: list[tuple[float, int]] = field(default_factory=list)  # (ticket, user), sorted
    seen: OrderedDict[int, float] = field(default_factory=OrderedDict)
    seq: int = 0
    bucket: tuple[float, float] | None = None  # the per-minute cap's (tokens, as of): `refill`
    log: list[float] = field(default_factory=list)  # the line's moves (module doc), oldest first
    full: bool = False  # the active cap reached, at the last arrival
    engaged: bool = False  # the gate under pressure (`pressed`), as last decided
    holds: deque[float] = field(default_factory=deque)  # how long the last places freed were
    held: float = 0.0  # their sum
    most: int = HOLDS  # holds kept, at most: `needed`, as of the last arrival


class MemoryLine:
    """The line of one process (the embedded default); the same rules as `RedisLine`."""

    def __init__(self) -> None:
        self.editions: dict[int, _Edition] = {}

    async def arrive(
        self, edition_id: int, user_id: int, *, now: float, opens: float, caps: Caps, draw: float
    ) -> Place:
        state = self.editions.setdefault(edition_id, _Edition())
        state.most = needed(caps.active)
        _forget(state, now, caps.idle)
        if user_id in state.active:
            _stamp(state.active, user_id, now)
            _paged(state, user_id, quiet(caps.idle))
        else:
            joined = user_id not in state.tickets
            if joined:
                if len(state.order) >= caps.max_waiting:
                    raise full()
                if now < opens:
                    ticket = draw
                else:
                    state.seq += 1
                    ticket = float(state.seq)
                state.tickets[user_id] = ticket
                bisect.insort(state.order, (ticket, user_id))
            _stamp(state.seen, user_id, max(now, opens))
            if now >= opens:
                _admit(state, now, caps, arriving=user_id if joined else None)
        state.full = bool(caps.active) and len(state.active) >= caps.active
        _press(state, now, opens, caps)
        return _place(state, user_id, now, opens, caps)

    async def touch(self, edition_id: int, user_id: int, *, now: float, idle: float) -> bool:
        state = self.editions.setdefault(edition_id, _Edition())
        _forget(state, now, idle)
        if user_id not in state.active:
            return False
        _stamp(state.active, user_id, now)
        _paged(state, user_id, quiet(idle))
        return True

    async def keep(
        self, edition_id: int, user_ids: set[int], *, now: float, idle: float
    ) -> set[int]:
        state = self.editions.setdefault(edition_id, _Edition())
        _forget(state, now, idle)
        kept = user_ids & state.active.keys()
        for user in sorted(kept):
            _stamp(state.active, user, now)
            _stamp(state.live, user, state.active[user])
        return user_ids - kept

    async def count_in(
        self, edition_id: int, draws: dict[int, float], *, now: float, opens: float, caps: Caps
    ) -> set[int]:
        state = self.editions.setdefault(edition_id, _Edition())
        for user in sorted(draws.keys() - state.active.keys()):
            if user in state.tickets:
                _stamp(state.seen, user, max(now, opens))
            elif now >= opens:
                _stamp(state.active, user, now)
                _stamp(state.since, user, now)
            elif len(state.order) < caps.max_waiting:
                state.tickets[user] = draws[user]
                bisect.insort(state.order, (draws[user], user))
                _stamp(state.seen, user, opens)
        return draws.keys() & state.active.keys()

    async def pressure(self, edition_id: int, *, now: float, opens: float, caps: Caps) -> bool:
        state = self.editions.setdefault(edition_id, _Edition())
        _forget(state, now, caps.idle)
        if now >= opens:
            _admit(state, now, caps, arriving=None)
            state.full = bool(caps.active) and len(state.active) >= caps.active
        return _press(state, now, opens, caps)

    async def figures(self, edition_id: int, *, now: float, idle: float) -> Figures:
        state = self.editions.get(edition_id) or _Edition()
        _forget(state, now, idle)
        span = now - state.log[0] if state.log else 0.0
        return Figures(len(state.active), len(state.order), len(state.log), span)

    async def tokens(self, edition_id: int, *, now: float, caps: Caps) -> float | None:
        if not caps.per_minute:
            return None
        state = self.editions.get(edition_id) or _Edition()
        return refill(state.bucket, now, caps)[0]

    async def last(self, edition_id: int, *, now: float, opens: float, caps: Caps) -> Place | None:
        state = self.editions.get(edition_id) or _Edition()
        _forget(state, now, caps.idle)
        if not state.order:
            return None
        return _place(state, state.order[-1][1], now, opens, caps)


def _stamp(times: OrderedDict[int, float], user: int, now: float) -> None:
    """`user` seen `now`: at the end of `times`, which stays oldest first (a clock set back
    keeps the later time: the entry then lasts a little longer, never less)."""
    times[user] = max(now, times.pop(user, now), next(reversed(times.values()), now))


def _forget(state: _Edition, now: float, idle: float) -> None:
    """Free the places lapsed (`lapse_at`: the idle, and those who left), drop the waiters who
    stopped asking (MAX_PURGE at most), and the admissions older than the rate's window: from
    the front of each, oldest first."""
    while state.active and next(iter(state.active.values())) <= now - idle:
        user, last = state.active.popitem(last=False)
        _lapse(state, user, last + idle)
    left = quiet(idle)
    while state.live and next(iter(state.live.values())) <= now - left:
        user, round_ = state.live.popitem(last=False)
        seen = state.active.get(user)
        if seen is not None and seen <= round_:  # nothing of theirs seen since: they left
            del state.active[user]
            _lapse(state, user, round_ + left)
    for _ in range(MAX_PURGE):
        if not state.seen or next(iter(state.seen.values())) > now - WAIT_IDLE:
            break
        _leave(state, next(iter(state.seen)))
    cut = bisect.bisect_right(state.log, now - RATE_WINDOW)
    del state.log[:cut]


def _paged(state: _Edition, user: int, left: float) -> None:
    """A page of `user`, stamped in `active`: a sign of their sockets too when a round saw them
    within `left` (`quiet`): one who uses the sockets and leaves right after a page frees the
    place `quiet` after that page, not the idle after it."""
    round_ = state.live.get(user)
    if round_ is not None and round_ >= state.active[user] - left:
        _stamp(state.live, user, state.active[user])


def _lapse(state: _Edition, user: int, at: float) -> None:
    """`user`'s place freed `at` (out of `active` already): how long they held it counted."""
    state.live.pop(user, None)
    began = state.since.pop(user, None)
    if began is None or at < began:
        return
    state.holds.append(at - began)
    state.held += at - began
    while len(state.holds) > state.most:
        state.held -= state.holds.popleft()


def _press(state: _Edition, now: float, opens: float, caps: Caps) -> bool:
    tokens = refill(state.bucket, now, caps)[0]
    waiting, active = len(state.order), len(state.active)
    state.engaged = pressed(
        caps, active=active, waiting=waiting, tokens=tokens, was=state.engaged, early=now < opens
    )
    return state.engaged


def _leave(state: _Edition, user: int) -> None:
    ticket = state.tickets.pop(user)
    del state.order[bisect.bisect_left(state.order, (ticket, user))]
    state.seen.pop(user, None)


def _admit(state: _Edition, now: float, caps: Caps, *, arriving: int | None) -> None:
    """Let in as many from the head of the line as the caps allow; log the line's moves
    (module doc: not `arriving`, who just joined, nor anyone while the cap was not full)."""
    free = caps.active - len(state.active) if caps.active else INFINITE
    tokens, at = refill(state.bucket, now, caps)
    if caps.per_minute:
        free = min(free, math.floor(tokens + EPSILON))
    taken = state.order[: max(free, 0)]
    for _ticket, user in taken:
        _leave(state, user)
        _stamp(state.active, user, now)
        _stamp(state.since, user, now)
        state.live.pop(user, None)
        if state.full and user != arriving:
            state.log.append(now)
    del state.log[: max(len(state.log) - MAX_LOG, 0)]
    if caps.per_minute:
        state.bucket = (tokens - len(taken), at)


def _holder(state: _Edition, user: int, since: float) -> Holder:
    return since, state.active[user], state.live.get(user)


def _place(state: _Edition, user: int, now: float, opens: float, caps: Caps) -> Place:
    span = now - state.log[0] if state.log else 0.0
    hold = mean_hold(len(state.holds), state.held, cap=caps.active)
    if user in state.active:
        since = state.since.get(user)
        return Place(
            True, 0, len(state.order), False, len(state.log), span, engaged=state.engaged,
            hold=hold, since=since,
        )  # fmt: skip
    position = bisect.bisect_left(state.order, (state.tickets[user], user)) + 1
    active = len(state.active)
    holder = None
    rank = place_of(position, cap=caps.active, active=active) if caps.active else None
    if rank is not None and rank < active:  # at most the cap's places, oldest first
        taken = next(itertools.islice(state.since.items(), rank, None), None)
        holder = None if taken is None else _holder(state, *taken)
    samples: list[tuple[int, Holder | None]] = []
    ranks = sampled(position, caps=caps, active=active)
    if ranks is not None:
        firsts = list(itertools.islice(state.since.items(), ranks[1] + 1))
        samples = [(r, _holder(state, *firsts[r])) for r in spread(*ranks) if r < len(firsts)]
    return waiting_place(
        position=position,
        waiting=len(state.order),
        admissions=len(state.log),
        span=span,
        tokens=refill(state.bucket, now, caps)[0],
        active=active,
        engaged=state.engaged,
        holder=holder,
        samples=samples,
        hold=hold,
        now=now,
        opens=opens,
        caps=caps,
    )


# In Redis -------------------------------------------------------------------------------------

# Shared by the scripts: every script gets the edition's twelve keys (`RedisLine._keys`, in that
# order) and ARGV: now, idle, quiet, wait_idle, rate window, max purge, holds kept (`needed`; 0:
# as kept by the last script that knew the caps), ttl, then its own
# from ARGV[9]. The places lapsed and the stale waiters dropped (MemoryLine's `_forget`), the
# holding times kept (`_lapse`), whether the gate is engaged (`pressed`, its flag in `engaged`).
COMMON = """
local K = {active = KEYS[1], line = KEYS[2], seen = KEYS[3], seq = KEYS[4], bucket = KEYS[5],
  log = KEYS[6], full = KEYS[7], engaged = KEYS[8], live = KEYS[9], since = KEYS[10],
  holds = KEYS[11], held = KEYS[12]}
local now, idle, quiet = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait_idle, window, max_purge = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local max_holds, ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
-- How many holds are kept (`needed`): given (`max_holds` > 0, kept for the scripts that do
-- not know the caps), else as kept.
if max_holds > 0 then
  redis.call('HSET', K.held, 'most', max_holds)
else
  max_holds = tonumber(redis.call('HGET', K.held, 'most')) or 10000
end
-- `user`'s place freed `at`: how long they held it kept (the last `max_holds`, and their sum)
local function lapse(user, at)
  local began = tonumber(redis.call('ZSCORE', K.since, user))
  redis.call('ZREM', K.active, user)
  redis.call('ZREM', K.live, user)
  redis.call('ZREM', K.since, user)
  if began and at >= began then
    redis.call('LPUSH', K.holds, at - began)
    redis.call('HINCRBYFLOAT', K.held, 'sum', at - began)
    while redis.call('LLEN', K.holds) > max_holds do
      redis.call('HINCRBYFLOAT', K.held, 'sum', -tonumber(redis.call('RPOP', K.holds)))
    end
  end
end
local function forget()
  local lapsed = redis.call('ZRANGEBYSCORE', K.active, '-inf', now - idle, 'WITHSCORES', 'LIMIT',
    0, max_purge)
  for i = 1, #lapsed, 2 do lapse(lapsed[i], tonumber(lapsed[i + 1]) + idle) end
  local left = redis.call('ZRANGEBYSCORE', K.live, '-inf', now - quiet, 'WITHSCORES', 'LIMIT', 0,
    max_purge)
  for i = 1, #left, 2 do
    local round = tonumber(left[i + 1])
    local last = tonumber(redis.call('ZSCORE', K.active, left[i]))
    if last and last <= round then
      lapse(left[i], round + quiet)  -- nothing of theirs seen since their last round: they left
    else
      redis.call('ZREM', K.live, left[i])
    end
  end
  local stale = redis.call('ZRANGEBYSCORE', K.seen, '-inf', now - wait_idle, 'LIMIT', 0, max_purge)
  for _, gone in ipairs(stale) do
    redis.call('ZREM', K.line, gone)
    redis.call('ZREM', K.seen, gone)
  end
  redis.call('ZREMRANGEBYSCORE', K.log, '-inf', now - window)
end
-- A page of `user` (stamped in `active`): a sign of their sockets too when a round saw them
-- within `quiet` (MemoryLine's `_paged`).
local function paged(user)
  local round = tonumber(redis.call('ZSCORE', K.live, user))
  if round and round >= now - quiet then redis.call('ZADD', K.live, now, user) end
end
local function expire_all()
  for _, key in ipairs({K.active, K.line, K.seen, K.seq, K.log, K.live, K.since, K.holds,
                        K.held}) do
    redis.call('EXPIRE', key, ttl)
  end
end
local function refill(per_minute, burst)
  local found = redis.call('HMGET', K.bucket, 'tokens', 'at')
  local tokens, at = tonumber(found[1]), tonumber(found[2])
  if not tokens or not at then return burst, now end
  if now <= at then return tokens, at end
  return math.min(burst, tokens + (now - at) * per_minute / 60), now
end
-- Let in as many from the head of the line as the caps allow (MemoryLine's `_admit`): the
-- tokens left. A move of the line is logged when the cap was full, but not for `arriving`.
local function admit(cap, per_minute, max_waiting, tokens, epsilon, max_log, arriving)
  local free = max_waiting
  if cap > 0 then free = cap - redis.call('ZCARD', K.active) end
  if per_minute > 0 then free = math.min(free, math.floor(tokens + epsilon)) end
  if free <= 0 then return tokens end
  local taken = redis.call('ZPOPMIN', K.line, free)
  local moved = redis.call('EXISTS', K.full) == 1
  for i = 1, #taken, 2 do
    local who = taken[i]
    redis.call('ZREM', K.seen, who)
    redis.call('ZADD', K.active, now, who)
    redis.call('ZADD', K.since, now, who)
    redis.call('ZREM', K.live, who)
    if moved and who ~= arriving then
      redis.call('ZADD', K.log, now, now .. ':' .. who)
    end
  end
  local extra = redis.call('ZCARD', K.log) - max_log
  if extra > 0 then redis.call('ZREMRANGEBYRANK', K.log, 0, extra - 1) end
  return tokens - #taken / 2
end
-- Whether the active cap is full now (`full`), and the per-minute cap's bucket, kept.
local function settle(cap, per_minute, tokens, at)
  if cap > 0 and redis.call('ZCARD', K.active) >= cap then
    redis.call('SET', K.full, '1', 'EX', ttl)
  else
    redis.call('DEL', K.full)
  end
  if per_minute > 0 then
    redis.call('HSET', K.bucket, 'tokens', tokens, 'at', at)
    redis.call('EXPIRE', K.bucket, ttl)
  end
end
local function press(cap, per_minute, burst, tokens, engage, release, early)
  local share = engage
  if redis.call('EXISTS', K.engaged) == 1 then share = release end
  local on
  if early then
    local there = redis.call('ZCARD', K.active) + redis.call('ZCARD', K.line)
    on = (cap > 0 and there >= share * cap) or (per_minute > 0 and there >= share * burst)
  else
    on = redis.call('ZCARD', K.line) > 0
      or (cap > 0 and redis.call('ZCARD', K.active) >= share * cap)
      or (per_minute > 0 and 1 - tokens / burst >= share)
  end
  if on then redis.call('SET', K.engaged, '1', 'EX', ttl) else redis.call('DEL', K.engaged) end
  if on then return 1 end
  return 0
end
-- The holder of the place of `rank` by when let in (a `Holder`: let in, last seen, last socket
-- round; '' for none), {} when nobody holds it.
local function holder(rank)
  local found = redis.call('ZRANGE', K.since, rank, rank, 'WITHSCORES')
  if not found[1] then return {} end
  local last = redis.call('ZSCORE', K.active, found[1]) or ''
  local live = redis.call('ZSCORE', K.live, found[1]) or ''
  return {found[2], last, live}
end
-- The rank and holder of the places `paced_in` reads (fair.admission's `sampled` and
-- `spread`: the same ranks), flat; none when `far` (`reach`) is negative (no per-minute cap).
local function sample(counted, position, cap, far, samples)
  local found = {}
  if cap <= 0 or far < 0 then return found end
  local low = math.max(0, counted - cap)
  local high = math.min(counted - 1, counted - cap + math.min(position, cap) - 1, low + far)
  local n = high - low + 1
  for i = 0, math.min(n, samples) - 1 do
    local rank = low + i
    if n > samples then rank = low + math.floor(i * (high - low) / (samples - 1)) end
    local who = holder(rank)
    table.insert(found, rank)
    for j = 1, 3 do table.insert(found, who[j] or '') end
  end
  return found
end
local function holds()
  return {redis.call('LLEN', K.holds), redis.call('HGET', K.held, 'sum') or '0'}
end
-- Where `user`, waiting in line, stands (`_place_of`): {0, position, waiting, admissions,
-- first admission time, `left` (tokens), active, `on`, the holder of the place it waits for
-- (`place_of`, `holder`: {} when not taken yet or none needed), the places sampled, the
-- holds kept and their sum}.
local function standing(user, cap, far, samples, left, on)
  local admissions = redis.call('ZCARD', K.log)
  local first = redis.call('ZRANGE', K.log, 0, 0, 'WITHSCORES')[2] or '0'
  local waiting = redis.call('ZCARD', K.line)
  local counted = redis.call('ZCARD', K.active)
  local position = redis.call('ZRANK', K.line, user) + 1
  local place = {}
  local rank = counted - cap + position - 1
  if cap > 0 and rank >= 0 then
    local places = math.max(counted, cap)  -- `turns_of`: a turn takes the cap off the rank
    if rank >= places then rank = rank - (math.floor((rank - places) / cap) + 1) * cap end
    if rank < counted then place = holder(rank) end
  end
  local seen = sample(counted, position, cap, far, samples)
  local kept = holds()
  return {0, position, waiting, admissions, first, left, counted, on, place, seen, kept[1],
    kept[2]}
end
"""

# ARGV from 9: user, active cap, per-minute cap, max waiting, opens, draw, max log, engage,
# release, burst, epsilon, reach (-1: no per-minute cap), SAMPLES. Returns {admitted (1/0, -1:
# full), position, waiting, admissions, first admission time, tokens left in the bucket,
# active, engaged (1/0), when let in (admitted) or the holder of the place this one waits for,
# the places `paced_in` reads (rank, holder, …), the holds kept and their sum}: `standing`.
ARRIVE = (
    COMMON
    + """
local user = ARGV[9]
local cap, per_minute, max_waiting = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local opens, draw, max_log = tonumber(ARGV[13]), ARGV[14], tonumber(ARGV[15])
local engage, release = tonumber(ARGV[16]), tonumber(ARGV[17])
local burst, epsilon = tonumber(ARGV[18]), tonumber(ARGV[19])
local tokens, at = refill(per_minute, burst)
forget()
if redis.call('ZSCORE', K.active, user) then
  redis.call('ZADD', K.active, now, user)
  paged(user)
else
  local joined = not redis.call('ZSCORE', K.line, user)
  if joined then
    if redis.call('ZCARD', K.line) >= max_waiting then
      return {-1, 0, 0, 0, '0', 0, 0, 1, '', {}, 0, '0'}
    end
    local ticket = draw
    if now >= opens then ticket = redis.call('INCR', K.seq) end
    redis.call('ZADD', K.line, ticket, user)
  end
  redis.call('ZADD', K.seen, math.max(now, opens), user)
  if now >= opens then
    local arriving = false
    if joined then arriving = user end
    tokens = admit(cap, per_minute, max_waiting, tokens, epsilon, max_log, arriving)
  end
end
settle(cap, per_minute, tokens, at)
expire_all()
local on = press(cap, per_minute, burst, tokens, engage, release, now < opens)
local left = tostring(tokens)
if redis.call('ZSCORE', K.active, user) then
  local admissions = redis.call('ZCARD', K.log)
  local first = redis.call('ZRANGE', K.log, 0, 0, 'WITHSCORES')[2] or '0'
  local counted = redis.call('ZCARD', K.active)
  local since = redis.call('ZSCORE', K.since, user) or ''
  local kept = holds()
  return {1, 0, redis.call('ZCARD', K.line), admissions, first, left, counted, on, since, {},
    kept[1], kept[2]}
end
return standing(user, cap, tonumber(ARGV[20]), tonumber(ARGV[21]), left, on)
"""
)

# ARGV from 9: active cap, per-minute cap, burst, opens, max waiting, epsilon, max log, engage,
# release. From opening, lets in whom the caps allow first (`Line.pressure`). Returns 1 when
# engaged, else 0.
PRESSURE = (
    COMMON
    + """
local cap, per_minute, burst = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local opens = tonumber(ARGV[12])
forget()
local tokens, at = refill(per_minute, burst)
if now >= opens and redis.call('ZCARD', K.line) > 0 then
  tokens = admit(cap, per_minute, tonumber(ARGV[13]), tokens, tonumber(ARGV[14]),
    tonumber(ARGV[15]), false)
  settle(cap, per_minute, tokens, at)
  expire_all()
end
return press(cap, per_minute, burst, tokens, tonumber(ARGV[16]), tonumber(ARGV[17]), now < opens)
"""
)

# ARGV from 9: active cap, per-minute cap, burst, reach (-1: no per-minute cap), SAMPLES. The
# lapsed and stale dropped, where the last in line stands (`standing`), else {} (`Line.last`).
LAST = (
    COMMON
    + """
local cap, per_minute, burst = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
forget()
local user = redis.call('ZRANGE', K.line, -1, -1)[1]
if not user then return {} end
local tokens = refill(per_minute, burst)
return standing(user, cap, tonumber(ARGV[12]), tonumber(ARGV[13]), tostring(tokens), 1)
"""
)

# ARGV from 9: 1 for sockets (their round: `lapse_at`), 0 for a page; then the users. The
# lapsed dropped, those still let in stamped now; returns the others (`Line.keep`, `touch`).
KEEP = (
    COMMON
    + """
forget()
local socket = ARGV[9] == '1'
local gone = {}
for i = 10, #ARGV do
  local user = ARGV[i]
  if redis.call('ZSCORE', K.active, user) then
    redis.call('ZADD', K.active, now, user)
    if socket then redis.call('ZADD', K.live, now, user) else paged(user) end
  else
    table.insert(gone, user)
  end
end
expire_all()
return gone
"""
)

# ARGV from 9: opens, max waiting, then user and draw for each user. Returns the users active
# now (`Line.count_in`).
COUNT_IN = (
    COMMON
    + """
local opens, max_waiting = tonumber(ARGV[9]), tonumber(ARGV[10])
local counted = {}
for i = 11, #ARGV, 2 do
  local user = ARGV[i]
  if redis.call('ZSCORE', K.active, user) then
    table.insert(counted, user)
  elseif redis.call('ZSCORE', K.line, user) then
    redis.call('ZADD', K.seen, math.max(now, opens), user)
  elseif now >= opens then
    redis.call('ZADD', K.active, now, user)
    redis.call('ZADD', K.since, now, user)
    table.insert(counted, user)
  elseif redis.call('ZCARD', K.line) < max_waiting then
    redis.call('ZADD', K.line, ARGV[i + 1], user)
    redis.call('ZADD', K.seen, opens, user)
  end
end
expire_all()
return counted
"""
)
TTL = 24 * 3600  # an edition's keys go a day after its last arrival


ARRIVALS_MOMENT = 0.005  # seconds: the arrivals sent to Redis together (`RedisLine.arrive`)
ARRIVALS_BATCH = 200  # arrivals a round trip, at most


class RedisLine:
    """The deployment's line, in Redis (keys `<namespace>:admission:<edition>:…`).

    The arrivals of a moment (`ARRIVALS_MOMENT`: the held candidates' status asks, ~300 a
    second per process in the 10,000-candidate surge) go in one round trip, a pipeline of one
    script call each (still one atomic script an arrival, in the order asked): one write and
    one read of the socket for them all, not one each (`batches` counts the round trips)."""

    def __init__(self, redis: Redis, *, namespace: str) -> None:
        self.redis = redis
        self.prefix = f"{namespace}:admission:"
        self.script = redis.register_script(ARRIVE)
        self.pressure_script = redis.register_script(PRESSURE)
        self.count_in_script = redis.register_script(COUNT_IN)
        self.last_script = redis.register_script(LAST)
        self.keep_script = redis.register_script(KEEP)
        self.batches = 0  # round trips of arrivals so far
        self._arrivals: list[tuple[list[str], list[Any], asyncio.Future[Any]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def _arrive(self, keys: list[str], args: list[Any]) -> Any:
        """The ARRIVE script's answer, sent with the arrivals of the moment."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._arrivals.append((keys, args, answer))
        if self._sending is None or self._sending.done():
            # A context of its own: the round trip is no one request's (its log lines' id).
            self._sending = asyncio.create_task(self._send(), context=contextvars.Context())
        return await answer

    async def _send(self) -> None:
        await asyncio.sleep(ARRIVALS_MOMENT)
        while self._arrivals:
            batch = self._arrivals[:ARRIVALS_BATCH]
            del self._arrivals[:ARRIVALS_BATCH]
            self.batches += 1
            try:
                found = await self._script_calls([(keys, args) for keys, args, _ in batch])
            except Exception as exc:  # each arrival answers it (Redis out of reach)
                found = [exc] * len(batch)
            for (_keys, _args, answer), result in zip(batch, found, strict=True):
                if answer.done():  # its request has gone
                    continue
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)

    async def _script_calls(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """ARRIVE for each call, in one pipeline; a call Redis did not know the script for
        (restarted, or flushed) is made again alone (redis-py then loads it). One call alone
        goes without a pipeline (redis-py's costs more than the call)."""
        if len(calls) == 1:
            keys, args = calls[0]
            return [await self.script(keys=keys, args=args)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(self.script.sha, len(keys), *keys, *args)
            found = await pipe.execute(raise_on_error=False)
        for i, result in enumerate(found):
            if isinstance(result, NoScriptError):
                keys, args = calls[i]
                found[i] = await self.script(keys=keys, args=args)
        return list(found)

    def _keys(self, edition_id: int) -> list[str]:
        base = f"{self.prefix}{edition_id}:"
        names = ("active", "line", "seen", "seq", "bucket", "log", "full", "engaged")
        return [base + n for n in (*names, "live", "since", "holds", "holding")]

    @staticmethod
    def _common(now: float, idle: float, cap: int | None = None) -> list[str | int | float]:
        """The scripts' first ARGV (COMMON); `cap` the active cap, when known."""
        most = 0 if cap is None else needed(cap)
        return [repr(now), repr(idle), repr(quiet(idle)), repr(WAIT_IDLE), repr(RATE_WINDOW)] + [
            MAX_PURGE,
            most,
            TTL,
        ]

    async def arrive(
        self, edition_id: int, user_id: int, *, now: float, opens: float, caps: Caps, draw: float
    ) -> Place:
        args = self._common(now, caps.idle, caps.active)
        args += [user_id, caps.active, caps.per_minute, caps.max_waiting, repr(opens)]
        args += [repr(draw), MAX_LOG, ENGAGE, RELEASE, repr(caps.burst), repr(EPSILON)]
        args += [reach(caps) if caps.per_minute else -1, SAMPLES]
        found = await self._arrive(self._keys(edition_id), args)
        if int(found[0]) < 0:
            raise full()
        return _place_of(found, now=now, opens=opens, caps=caps)

    async def touch(self, edition_id: int, user_id: int, *, now: float, idle: float) -> bool:
        args = [*self._common(now, idle), 0, user_id]
        return not await self.keep_script(keys=self._keys(edition_id), args=args)

    async def keep(
        self, edition_id: int, user_ids: set[int], *, now: float, idle: float
    ) -> set[int]:
        if not user_ids:
            return set()
        # One script, atomic: the lapsed dropped as an arrival would, then only those still
        # in stamped (a place given away is not taken back), as seen by a socket round.
        args = [*self._common(now, idle), 1, *sorted(user_ids)]
        gone = await self.keep_script(keys=self._keys(edition_id), args=args)
        return {int(u) for u in gone}

    async def count_in(
        self, edition_id: int, draws: dict[int, float], *, now: float, opens: float, caps: Caps
    ) -> set[int]:
        if not draws:
            return set()
        args = self._common(now, caps.idle, caps.active) + [repr(opens), caps.max_waiting]
        for user, draw in sorted(draws.items()):
            args += [user, repr(draw)]
        found = await self.count_in_script(keys=self._keys(edition_id), args=args)
        return {int(u) for u in found}

    async def pressure(self, edition_id: int, *, now: float, opens: float, caps: Caps) -> bool:
        args = self._common(now, caps.idle, caps.active)
        args += [caps.active, caps.per_minute, repr(caps.burst), repr(opens), caps.max_waiting]
        args += [repr(EPSILON), MAX_LOG, ENGAGE, RELEASE]
        return bool(int(await self.pressure_script(keys=self._keys(edition_id), args=args)))

    async def figures(self, edition_id: int, *, now: float, idle: float) -> Figures:
        active, line, _seen, _seq, _bucket, log, *_ = self._keys(edition_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcount(active, now - idle, math.inf)
            pipe.zcard(line)
            pipe.zcount(log, now - RATE_WINDOW, math.inf)
            pipe.zrangebyscore(log, now - RATE_WINDOW, math.inf, start=0, num=1, withscores=True)
            counted, waiting, admissions, first = await pipe.execute()
        span = now - float(first[0][1]) if first else 0.0
        return Figures(int(counted), int(waiting), int(admissions), span)

    async def tokens(self, edition_id: int, *, now: float, caps: Caps) -> float | None:
        if not caps.per_minute:
            return None
        tokens, at = await self.redis.hmget(self._keys(edition_id)[4], ["tokens", "at"])
        bucket = None if tokens is None or at is None else (float(tokens), float(at))
        return refill(bucket, now, caps)[0]

    async def last(self, edition_id: int, *, now: float, opens: float, caps: Caps) -> Place | None:
        args = self._common(now, caps.idle, caps.active)
        args += [caps.active, caps.per_minute, repr(caps.burst)]
        args += [reach(caps) if caps.per_minute else -1, SAMPLES]
        found = await self.last_script(keys=self._keys(edition_id), args=args)
        return _place_of(found, now=now, opens=opens, caps=caps) if found else None


def _holder_of(found: list[Any]) -> Holder | None:
    """A `Holder` from the scripts' (`holder`: let in, last seen, last round; '' for none)."""
    if len(found) < 3 or not found[0] or not found[1]:
        return None
    since, last, live = found[:3]
    return float(since), float(last), float(live) if live else None


def _place_of(found: list[Any], *, now: float, opens: float, caps: Caps) -> Place:
    """A Place from the scripts' answer (ARRIVE's, LAST's: `standing`), worked out as
    MemoryLine's `_place` does."""
    admitted, position, waiting, admissions, first, left, active, on, place, seen, n, held = found
    span = now - float(first) if int(admissions) else 0.0
    hold = mean_hold(int(n), float(held), cap=caps.active)
    if int(admitted):
        since = float(place) if place else None
        return Place(
            True, 0, int(waiting), False, int(admissions), span, engaged=bool(int(on)),
            hold=hold, since=since,
        )  # fmt: skip
    samples = [(int(seen[i]), _holder_of(seen[i + 1 : i + 4])) for i in range(0, len(seen), 4)]
    return waiting_place(
        position=int(position),
        waiting=int(waiting),
        admissions=int(admissions),
        span=span,
        tokens=float(left),
        active=int(active),
        engaged=bool(int(on)),
        holder=_holder_of(place),
        samples=samples,
        hold=hold,
        now=now,
        opens=opens,
        caps=caps,
    )
