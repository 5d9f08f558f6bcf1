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
until `idle` seconds pass without a request of theirs: then the place goes to the next in line.
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
at one socket round) are let in at the bucket's pace, not at once, and one let in late frees
their place late for those a turn of the places behind. The active cap: the `k`th
place to free up, `k` = the places over the cap and the people ahead and oneself, less the room
under the cap (`expiry_rank`; the places not taken yet count as taken now); each frees up `idle`
after its holder's last request or socket round if they are not seen again, and no sooner, and
whoever takes a freed place holds it a whole `idle` at least: so the `k`th place frees up no
sooner than the `k`th oldest place's expiry while `k` is under the places held or not taken
yet, else than an idle after the (`k` − cap)th, only the cap's places turning over (`turns_of`;
`frees_in`, the earliest possible, shown from the first status on). For a place whose holder
has gone quiet (not seen for `quiet(idle)`: they missed their rounds) that expiry is the
estimate itself. Otherwise (a holder still present, or a place the line must turn over more
than once) the holders may stay longer: the estimate is then the later of that earliest time
and the people ahead and oneself over the pace at which the line moved over the last
`RATE_WINDOW` seconds, once measured over `MIN_SPAN` at least (`Place.measured`); never shorter
than the earliest possible. The pace counts only admissions into a place freed by the active
cap (it was full at the previous arrival) of someone who was waiting (not let in on arriving):
the opening fill (everyone let in at once until the cap is reached, the people drawn before
opening included) says nothing of how fast places free up, and counted would show waits several
times too short (bench/surge.py measured it).

Who is never held, what the signed cookie carries and what happens when Redis is down:
fair.web.admission and docs/OPERATIONS.md "Admission control".
"""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import itertools
import math
from collections import OrderedDict
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
MAX_PURGE = 1_000  # stale waiters dropped per arrival, at most (bounded work)
INFINITE = 2**31 - 1
BURST = 10.0  # seconds of the per-minute cap let in at once at most (Caps.burst)
# seconds: an active place not renewed for so long has its holder gone (a socket is renewed every
# 30 s, fair.live.limits.REFRESH_SECONDS; a page's cookie every minute, fair.admission_gate.RENEW):
# at most, for `quiet` derives it from the idle
QUIET = 90.0
EPSILON = 1e-9  # a token refilled by float arithmetic to 0.999… is whole
# places whose expiry the per-minute cap's pace is worked out from, at most (`paced_in`: each
# read costs a Redis call; the wait is then within idle / SAMPLES of the exact bound)
SAMPLES = 32
# The gate engages (holds people: module doc) once this share of a cap is used, and
# lets go once below RELEASE again with nobody waiting: between the two it stays as it was.
ENGAGE = 0.85
RELEASE = 0.70


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
    frees_in: float | None = None  # seconds until the active cap can let this place in at the
    # earliest, when a place must free up for it (`frees_in`)
    gone: bool = False  # that time is the expiry of a place whose holder has gone (`holder_gone`)
    paced_in: float | None = None  # seconds until the per-minute cap can let this place in at
    # the earliest, its bucket paced against the places freeing up (`paced_in`)

    @property
    def rate(self) -> float:
        """Admissions a second, measured (0.0: none in the window)."""
        return self.admissions / max(self.span, MIN_SPAN) if self.admissions else 0.0

    @property
    def measured(self) -> bool:
        """Whether the pace was measured over MIN_SPAN at least (one move is no pace)."""
        return self.admissions > 0 and self.span >= MIN_SPAN

    @property
    def wait_seconds(self) -> float | None:
        """The honest estimate (module doc). When only the per-minute cap holds the line, when
        its bucket will have let this place in (`turn_in`, `paced_in`: that cap's pace is
        known exactly). When the active cap holds it, or will before this place's turn, the
        earliest time it can (`frees_in`), no sooner than the per-minute cap lets it in then
        (`paced_in`: its bucket refills slower than places freed together empty it): the
        estimate itself when it is the expiry of a place whose holder has gone (`gone`), or
        while no pace is measured (right after the first moves one admission is no pace: the
        minute's floor then made waits ten times too long); else the later of it and the
        people ahead and oneself over the measured pace (holders present may stay longer; a
        pace measured over a burst of places freed at once never makes it shorter). Else over
        the measured rate; None when nothing is known (then nobody can say)."""
        if self.admitted:
            return 0.0
        if self.drawn:
            return None
        paced = max(self.turn_in or 0.0, self.paced_in or 0.0)
        if self.frees_in is None:
            if self.turn_in is not None or self.paced_in is not None:
                return paced
        else:
            earliest = max(self.frees_in, paced)
            if self.gone or not self.measured:
                return earliest
            return max(earliest, self.position / self.rate)
        if not self.rate:
            return None
        return self.position / self.rate

    @property
    def at_least(self) -> bool:
        """Whether the wait shown is only the earliest possible (holders present, no pace
        measured yet): they may stay longer."""
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


def expiry_rank(position: int, *, cap: int, active: int) -> int:
    """How many places must free up before the `position`th in line's, less one: `active` -
    `cap` + `position` - 1 (negative: none, there is room under the cap). Modulo the places
    (`active`, or `cap` when fewer are taken: the others are taken from now on), which place
    that turn comes from, oldest first by last request or round; divided by them, how many
    times the places must turn over first."""
    return active - cap + position - 1


def turns_of(position: int, *, cap: int, active: int) -> tuple[int, int] | None:
    """(rank, turns) of the place the `position`th in line waits for: its rank among the
    `active` now (oldest first; `active` or more: a place not taken yet, whoever takes it is
    seen from now on), and how many holders after the present one it frees up for them; None
    when none need free up (room under the cap). The first `max(active, cap)` places to free
    up are those held now (or not taken yet), oldest first; the `r`th (`expiry_rank`) past
    them is the place of whoever took the (`r` − cap)th: once the active are down to the cap,
    only the cap's places turn over, so a turn takes the cap off the rank (it took `active`,
    which paired a place with one freeing up sooner when more were active than the cap)."""
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


def frees_in(
    position: int, *, cap: int, active: int, last: float, now: float, idle: float
) -> float:
    """Seconds until the active cap can let the `position`th in line in, at the earliest: the
    place `place_of`, its holder last seen at `last` (a place not taken yet: `now`), lapses
    `idle` after it if they are not seen again, and each turn of the places before adds a
    whole `idle` (one let in is stamped then, and holds the place that long at least)."""
    found = turns_of(position, cap=cap, active=active)
    turns = 0 if found is None else found[1]
    return max(0.0, last + idle - now) + turns * idle


def holder_gone(
    position: int, *, cap: int, active: int, last: float, now: float, idle: float
) -> bool:
    """Whether the `position`th in line takes the place of a holder gone (not seen for
    `quiet(idle)`): its expiry is then when it frees up, not only the earliest. Not for a
    place the line must turn over first, nor one not taken yet: who will hold it then is not
    known."""
    first = expiry_rank(position, cap=cap, active=active) < active
    return first and now - last > quiet(idle)


def expiry(
    position: int, *, caps: Caps, active: int, last: float, now: float
) -> tuple[float, bool]:
    """`frees_in` and `holder_gone` of the `position`th in line (the lines' common answer)."""
    cap, idle = caps.active, caps.idle
    return (
        frees_in(position, cap=cap, active=active, last=last, now=now, idle=idle),
        holder_gone(position, cap=cap, active=active, last=last, now=now, idle=idle),
    )


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
) -> float | None:
    """Seconds until the per-minute cap can have let the `position`th (`k`th) in line in, at
    the earliest, with the places of the active cap freeing up when they can (None without a
    per-minute cap). Its bucket, `tokens` now and refilled at `pace` = per_minute / 60 a
    second up to `burst`, lets the `k`th in no sooner than (k − tokens) / pace from now; and
    once the `j`th in line's place frees up (f_j), those from it to the `k`th, k − j + 1 of
    them, need that many tokens when the bucket holds `burst` at most: f_j + (k − j + 1 −
    burst) / pace. Places freed together (holders seen at one socket round, the opening fill)
    are let in at the bucket's pace, not at once. The `j`th's place, in the line's first turn
    (j up to the cap), frees up at the expiry of the rank `expiry_rank(j)` among the `active`
    (oldest first; `seen`: (rank, last seen) of the places `spread` over `sampled`, so the
    bound is within idle / SAMPLES of the exact one); past it, at the earliest an idle after
    the (j − cap)th in line is let in, who is paced the same: each bound holds for the `k`th
    less t turns of the cap, plus t idles, and is linear in t, so the turns' ends are enough
    (t = 0, and t = turns, turns − 1 for the places). The later of them all."""
    if not caps.per_minute:
        return None
    pace, cap, idle = caps.per_minute / 60, caps.active, caps.idle
    waits = [(position - tokens) / pace]
    if not cap:
        return max(0.0, *waits)
    turns = (position - 1) // cap
    first = position - turns * cap  # where in the line's first turn the last turn began
    waits.append((first - tokens) / pace + turns * idle)
    # f_j − j / pace, for the j whose place `seen` gives: the rest of the bound is k's
    lead = [(r - active + cap + 1, max(0.0, last + idle - now)) for r, last in seen]
    burst = (1 - caps.burst) / pace
    ahead = max((f - j / pace for j, f in lead if j <= position), default=None)
    if ahead is not None:
        waits.append(ahead + position / pace + burst)
        if turns:
            waits.append(ahead + (position - (turns - 1) * cap) / pace + burst + (turns - 1) * idle)
    ahead = max((f - j / pace for j, f in lead if j <= first), default=None)
    if ahead is not None:
        waits.append(ahead + first / pace + burst + turns * idle)
    return max(0.0, *waits)


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

    async def touch(self, edition_id: int, user_id: int, *, now: float) -> None:
        """An admitted candidate is active now."""
        ...

    async def keep(
        self, edition_id: int, user_ids: set[int], *, now: float, idle: float
    ) -> set[int]:
        """Those of `user_ids` still let in are active now (their open /live sockets: one
        batch); returns the others, whose place lapsed or went to the next in line (never
        given back here: that would exceed the active cap)."""
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
    # user -> last request, and waiter -> last asked: oldest first (`_stamp`), so that the idle
    # are found at the front, not by a scan of everyone on each arrival
    active: OrderedDict[int, float] = field(default_factory=OrderedDict)
    tickets: dict[int, float] = field(default_factory=dict)  # user -> ticket
    order: list[tuple[float, int]] = field(default_factory=list)  # (ticket, user), sorted
    seen: OrderedDict[int, float] = field(default_factory=OrderedDict)
    seq: int = 0
    bucket: tuple[float, float] | None = None  # the per-minute cap's (tokens, as of): `refill`
    log: list[float] = field(default_factory=list)  # the line's moves (module doc), oldest first
    full: bool = False  # the active cap reached, at the last arrival
    engaged: bool = False  # the gate under pressure (`pressed`), as last decided


class MemoryLine:
    """The line of one process (the embedded default); the same rules as `RedisLine`."""

    def __init__(self) -> None:
        self.editions: dict[int, _Edition] = {}

    async def arrive(
        self, edition_id: int, user_id: int, *, now: float, opens: float, caps: Caps, draw: float
    ) -> Place:
        state = self.editions.setdefault(edition_id, _Edition())
        _forget(state, now, caps.idle)
        if user_id in state.active:
            _stamp(state.active, user_id, now)
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

    async def touch(self, edition_id: int, user_id: int, *, now: float) -> None:
        _stamp(self.editions.setdefault(edition_id, _Edition()).active, user_id, now)

    async def keep(
        self, edition_id: int, user_ids: set[int], *, now: float, idle: float
    ) -> set[int]:
        state = self.editions.setdefault(edition_id, _Edition())
        _forget(state, now, idle)
        kept = user_ids & state.active.keys()
        for user in kept:
            _stamp(state.active, user, now)
        return user_ids - kept

    async def count_in(
        self, edition_id: int, draws: dict[int, float], *, now: float, opens: float, caps: Caps
    ) -> set[int]:
        state = self.editions.setdefault(edition_id, _Edition())
        for user in draws.keys() - state.active.keys():
            if user in state.tickets:
                _stamp(state.seen, user, max(now, opens))
            elif now >= opens:
                _stamp(state.active, user, now)
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
    """Free the places of the idle, drop the waiters who stopped asking (MAX_PURGE at most),
    and the admissions older than the rate's window: from the front of each, oldest first."""
    while state.active and next(iter(state.active.values())) <= now - idle:
        state.active.popitem(last=False)
    for _ in range(MAX_PURGE):
        if not state.seen or next(iter(state.seen.values())) > now - WAIT_IDLE:
            break
        _leave(state, next(iter(state.seen)))
    cut = bisect.bisect_right(state.log, now - RATE_WINDOW)
    del state.log[:cut]


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
        if state.full and user != arriving:
            state.log.append(now)
    del state.log[: max(len(state.log) - MAX_LOG, 0)]
    if caps.per_minute:
        state.bucket = (tokens - len(taken), at)


def _place(state: _Edition, user: int, now: float, opens: float, caps: Caps) -> Place:
    span = now - state.log[0] if state.log else 0.0
    on = state.engaged
    if user in state.active:
        return Place(True, 0, len(state.order), False, len(state.log), span, engaged=on)
    ticket = state.tickets[user]
    position = bisect.bisect_left(state.order, (ticket, user)) + 1
    tokens = refill(state.bucket, now, caps)[0]
    turn = turn_in(position, caps=caps, tokens=tokens, active=len(state.active))
    frees, gone, active = None, False, len(state.active)
    rank = place_of(position, cap=caps.active, active=active) if caps.active else None
    if rank is not None:
        last = now  # a place not taken yet
        if rank < active:
            last = next(itertools.islice(state.active.values(), rank, None))  # at most the cap
        frees, gone = expiry(position, caps=caps, active=active, last=last, now=now)
    paced = None
    if now >= opens:
        ranks = sampled(position, caps=caps, active=active)
        seen: list[tuple[int, float]] = []
        if ranks is not None:  # at most the cap's places, oldest first
            lasts = list(itertools.islice(state.active.values(), ranks[1] + 1))
            seen = [(r, lasts[r]) for r in spread(*ranks)]
        paced = paced_in(position, caps=caps, tokens=tokens, active=active, now=now, seen=seen)
    return Place(
        False,
        position,
        len(state.order),
        now < opens,
        len(state.log),
        span,
        turn,
        engaged=on,
        frees_in=frees,
        gone=gone,
        paced_in=paced,
    )


# In Redis -------------------------------------------------------------------------------------

# Shared by the scripts: the idle and stale dropped (MemoryLine's `_forget`), and whether the
# gate is engaged (`pressed`, its flag kept in `engaged`).
COMMON = """
local function forget(active, line, seen, log, now, idle, wait_idle, window, max_purge)
  redis.call('ZREMRANGEBYSCORE', active, '-inf', now - idle)
  local stale = redis.call('ZRANGEBYSCORE', seen, '-inf', now - wait_idle, 'LIMIT', 0, max_purge)
  for _, gone in ipairs(stale) do
    redis.call('ZREM', line, gone)
    redis.call('ZREM', seen, gone)
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
end
local function refill(bucket, now, per_minute, burst)
  local found = redis.call('HMGET', bucket, 'tokens', 'at')
  local tokens, at = tonumber(found[1]), tonumber(found[2])
  if not tokens or not at then return burst, now end
  if now <= at then return tokens, at end
  return math.min(burst, tokens + (now - at) * per_minute / 60), now
end
-- Let in as many from the head of the line as the caps allow (MemoryLine's `_admit`): the
-- tokens left. A move of the line is logged when the cap was full, but not for `arriving`.
local function admit(active, line, seen, log, full, now, cap, per_minute, max_waiting, tokens,
                     epsilon, max_log, arriving)
  local free = max_waiting
  if cap > 0 then free = cap - redis.call('ZCARD', active) end
  if per_minute > 0 then free = math.min(free, math.floor(tokens + epsilon)) end
  if free <= 0 then return tokens end
  local taken = redis.call('ZPOPMIN', line, free)
  local moved = redis.call('EXISTS', full) == 1
  for i = 1, #taken, 2 do
    local who = taken[i]
    redis.call('ZREM', seen, who)
    redis.call('ZADD', active, now, who)
    if moved and who ~= arriving then
      redis.call('ZADD', log, now, now .. ':' .. who)
    end
  end
  local extra = redis.call('ZCARD', log) - max_log
  if extra > 0 then redis.call('ZREMRANGEBYRANK', log, 0, extra - 1) end
  return tokens - #taken / 2
end
-- Whether the active cap is full now (`full`), and the per-minute cap's bucket, kept.
local function settle(active, full, bucket, cap, per_minute, tokens, at, ttl)
  if cap > 0 and redis.call('ZCARD', active) >= cap then
    redis.call('SET', full, '1', 'EX', ttl)
  else
    redis.call('DEL', full)
  end
  if per_minute > 0 then
    redis.call('HSET', bucket, 'tokens', tokens, 'at', at)
    redis.call('EXPIRE', bucket, ttl)
  end
end
local function press(active, line, engaged, cap, per_minute, burst, tokens, engage, release, ttl,
                     early)
  local share = engage
  if redis.call('EXISTS', engaged) == 1 then share = release end
  local on
  if early then
    local there = redis.call('ZCARD', active) + redis.call('ZCARD', line)
    on = (cap > 0 and there >= share * cap) or (per_minute > 0 and there >= share * burst)
  else
    on = redis.call('ZCARD', line) > 0
      or (cap > 0 and redis.call('ZCARD', active) >= share * cap)
      or (per_minute > 0 and 1 - tokens / burst >= share)
  end
  if on then redis.call('SET', engaged, '1', 'EX', ttl) else redis.call('DEL', engaged) end
  if on then return 1 end
  return 0
end
-- The rank and last seen of the places `paced_in` reads (fair.admission's `sampled` and
-- `spread`: the same ranks), flat; none when `far` (`reach`) is negative (no per-minute cap).
local function sample(active, counted, position, cap, far, samples)
  local found = {}
  if cap <= 0 or far < 0 then return found end
  local low = math.max(0, counted - cap)
  local high = math.min(counted - 1, counted - cap + math.min(position, cap) - 1, low + far)
  local n = high - low + 1
  for i = 0, math.min(n, samples) - 1 do
    local rank = low + i
    if n > samples then rank = low + math.floor(i * (high - low) / (samples - 1)) end
    table.insert(found, rank)
    table.insert(found, redis.call('ZRANGE', active, rank, rank, 'WITHSCORES')[2])
  end
  return found
end
-- Where `user`, waiting in line, stands (`_place_of`): {0, position, waiting,
-- admissions, first admission time, `left` (tokens), active, `on`, last seen of the place it
-- waits for (`place_of`; one not taken yet: now; '': none), the places sampled}.
local function standing(active, line, log, user, now, cap, far, samples, left, on)
  local admissions = redis.call('ZCARD', log)
  local first = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')[2] or '0'
  local waiting = redis.call('ZCARD', line)
  local counted = redis.call('ZCARD', active)
  local position = redis.call('ZRANK', line, user) + 1
  local last = ''
  local rank = counted - cap + position - 1
  if cap > 0 and rank >= 0 then
    local places = math.max(counted, cap)  -- `turns_of`: a turn takes the cap off the rank
    if rank >= places then rank = rank - (math.floor((rank - places) / cap) + 1) * cap end
    last = now  -- a place not taken yet: whoever takes it is seen from now on
    if rank < counted then
      last = redis.call('ZRANGE', active, rank, rank, 'WITHSCORES')[2] or ''
    end
  end
  local seen = sample(active, counted, position, cap, far, samples)
  return {0, position, waiting, admissions, first, left, counted, on, last, seen}
end
"""

# KEYS: active, line, seen, seq, bucket, log, full, engaged. ARGV: user, now, idle, wait_idle,
# active cap, per-minute cap, max waiting, opens, draw, rate window, max log, max purge, ttl,
# engage, release, burst, epsilon, reach (-1: no per-minute cap), SAMPLES. Returns {admitted
# (1/0, -1: full), position, waiting, admissions, first admission time, tokens left in the
# bucket, active, engaged (1/0), last seen of the place this one waits for (`place_of`; one not
# taken yet: now; '': none), the places `paced_in` reads (rank, last seen, …)}: `standing`.
ARRIVE = (
    COMMON
    + """
local active, line, seen, seq, bucket, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local full, engaged = KEYS[7], KEYS[8]
local user = ARGV[1]
local now, idle, wait_idle = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cap, per_minute, max_waiting = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local opens, draw = tonumber(ARGV[8]), ARGV[9]
local window, max_log, max_purge, ttl = tonumber(ARGV[10]), tonumber(ARGV[11]),
  tonumber(ARGV[12]), tonumber(ARGV[13])
local engage, release = tonumber(ARGV[14]), tonumber(ARGV[15])
local burst, epsilon = tonumber(ARGV[16]), tonumber(ARGV[17])
local tokens, at = refill(bucket, now, per_minute, burst)
forget(active, line, seen, log, now, idle, wait_idle, window, max_purge)
if redis.call('ZSCORE', active, user) then
  redis.call('ZADD', active, now, user)
else
  local joined = not redis.call('ZSCORE', line, user)
  if joined then
    if redis.call('ZCARD', line) >= max_waiting then
      return {-1, 0, 0, 0, '0', 0, 0, 1, '', {}}
    end
    local ticket = draw
    if now >= opens then ticket = redis.call('INCR', seq) end
    redis.call('ZADD', line, ticket, user)
  end
  redis.call('ZADD', seen, math.max(now, opens), user)
  if now >= opens then
    local arriving = false
    if joined then arriving = user end
    tokens = admit(active, line, seen, log, full, now, cap, per_minute, max_waiting, tokens,
      epsilon, max_log, arriving)
  end
end
settle(active, full, bucket, cap, per_minute, tokens, at, ttl)
for _, key in ipairs({active, line, seen, seq, log}) do redis.call('EXPIRE', key, ttl) end
local on = press(active, line, engaged, cap, per_minute, burst, tokens, engage, release, ttl,
  now < opens)
local left = tostring(tokens)
if redis.call('ZSCORE', active, user) then
  local admissions = redis.call('ZCARD', log)
  local first = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')[2] or '0'
  local counted = redis.call('ZCARD', active)
  return {1, 0, redis.call('ZCARD', line), admissions, first, left, counted, on, '', {}}
end
return standing(active, line, log, user, ARGV[2], cap, tonumber(ARGV[18]), tonumber(ARGV[19]),
  left, on)
"""
)

# KEYS: active, line, seen, bucket, log, engaged, full. ARGV: now, idle, wait_idle, rate window,
# max purge, active cap, per-minute cap, engage, release, ttl, burst, opens, max waiting, epsilon,
# max log. From opening, lets in whom the caps allow first (`Line.pressure`). Returns 1 when
# engaged, else 0.
PRESSURE = (
    COMMON
    + """
local active, line, seen, bucket, log, engaged = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5],
  KEYS[6]
local full = KEYS[7]
local now, idle, wait_idle = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, max_purge = tonumber(ARGV[4]), tonumber(ARGV[5])
local cap, per_minute, burst = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[11])
local ttl, opens = tonumber(ARGV[10]), tonumber(ARGV[12])
forget(active, line, seen, log, now, idle, wait_idle, window, max_purge)
local tokens, at = refill(bucket, now, per_minute, burst)
if now >= opens and redis.call('ZCARD', line) > 0 then
  tokens = admit(active, line, seen, log, full, now, cap, per_minute, tonumber(ARGV[13]), tokens,
    tonumber(ARGV[14]), tonumber(ARGV[15]), false)
  settle(active, full, bucket, cap, per_minute, tokens, at, ttl)
  for _, key in ipairs({active, line, seen, log}) do redis.call('EXPIRE', key, ttl) end
end
return press(active, line, engaged, cap, per_minute, burst, tokens, tonumber(ARGV[8]),
  tonumber(ARGV[9]), ttl, now < opens)
"""
)

# KEYS: active, line, seen, bucket, log. ARGV: now, idle, wait_idle, rate window, max purge,
# active cap, per-minute cap, burst, reach (-1: no per-minute cap), SAMPLES. The idle and stale
# dropped, where the last in line stands (`standing`), else {} (`Line.last`).
LAST = (
    COMMON
    + """
local active, line, seen, bucket, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, idle, wait_idle = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cap, per_minute, burst = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
forget(active, line, seen, log, now, idle, wait_idle, tonumber(ARGV[4]), tonumber(ARGV[5]))
local user = redis.call('ZRANGE', line, -1, -1)[1]
if not user then return {} end
local tokens = refill(bucket, now, per_minute, burst)
return standing(active, line, log, user, ARGV[1], cap, tonumber(ARGV[9]), tonumber(ARGV[10]),
  tostring(tokens), 1)
"""
)

# KEYS: active, line, seen. ARGV: now, opens, max waiting, ttl, then user and draw for each
# user. Returns the users active now (`Line.count_in`).
COUNT_IN = """
local active, line, seen = KEYS[1], KEYS[2], KEYS[3]
local now, opens, max_waiting, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local counted = {}
for i = 5, #ARGV, 2 do
  local user = ARGV[i]
  if redis.call('ZSCORE', active, user) then
    table.insert(counted, user)
  elseif redis.call('ZSCORE', line, user) then
    redis.call('ZADD', seen, math.max(now, opens), user)
  elseif now >= opens then
    redis.call('ZADD', active, now, user)
    table.insert(counted, user)
  elseif redis.call('ZCARD', line) < max_waiting then
    redis.call('ZADD', line, ARGV[i + 1], user)
    redis.call('ZADD', seen, opens, user)
  end
end
for _, key in ipairs({active, line, seen}) do redis.call('EXPIRE', key, ttl) end
return counted
"""
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
        return [base + n for n in names]

    async def arrive(
        self, edition_id: int, user_id: int, *, now: float, opens: float, caps: Caps, draw: float
    ) -> Place:
        args: list[str | int | float] = [
            user_id,
            repr(now),
            repr(caps.idle),
            repr(WAIT_IDLE),
            caps.active,
            caps.per_minute,
            caps.max_waiting,
            repr(opens),
            repr(draw),
            repr(RATE_WINDOW),
            MAX_LOG,
            MAX_PURGE,
            TTL,
            ENGAGE,
            RELEASE,
            repr(caps.burst),
            repr(EPSILON),
            reach(caps) if caps.per_minute else -1,
            SAMPLES,
        ]
        found = await self._arrive(self._keys(edition_id), args)
        if int(found[0]) < 0:
            raise full()
        return _place_of(found, now=now, opens=opens, caps=caps)

    async def touch(self, edition_id: int, user_id: int, *, now: float) -> None:
        await self.redis.zadd(self._keys(edition_id)[0], {str(user_id): now})

    async def keep(
        self, edition_id: int, user_ids: set[int], *, now: float, idle: float
    ) -> set[int]:
        if not user_ids:
            return set()
        active = self._keys(edition_id)[0]
        users = sorted(user_ids)
        # One round trip, atomic: the idle dropped as an arrival would, then only those still
        # in stamped (XX: a place given away is not taken back).
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(active, "-inf", now - idle)
            pipe.zadd(active, {str(u): now for u in users}, xx=True)
            pipe.zmscore(active, [str(u) for u in users])
            *_, scores = await pipe.execute()
        return {u for u, score in zip(users, scores, strict=True) if score is None}

    async def count_in(
        self, edition_id: int, draws: dict[int, float], *, now: float, opens: float, caps: Caps
    ) -> set[int]:
        if not draws:
            return set()
        active, line, seen, *_ = self._keys(edition_id)
        args: list[str | int | float] = [repr(now), repr(opens), caps.max_waiting, TTL]
        for user, draw in sorted(draws.items()):
            args += [user, repr(draw)]
        found = await self.count_in_script(keys=[active, line, seen], args=args)
        return {int(u) for u in found}

    async def pressure(self, edition_id: int, *, now: float, opens: float, caps: Caps) -> bool:
        active, line, seen, _seq, bucket, log, full, engaged = self._keys(edition_id)
        args: list[str | int | float] = [repr(now), repr(caps.idle), repr(WAIT_IDLE)]
        args += [repr(RATE_WINDOW), MAX_PURGE, caps.active, caps.per_minute, ENGAGE, RELEASE, TTL]
        args += [repr(caps.burst), repr(opens), caps.max_waiting, repr(EPSILON), MAX_LOG]
        keys = [active, line, seen, bucket, log, engaged, full]
        return bool(int(await self.pressure_script(keys=keys, args=args)))

    async def figures(self, edition_id: int, *, now: float, idle: float) -> Figures:
        active, line, _seen, _seq, _bucket, log, _full, _engaged = self._keys(edition_id)
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
        active, line, seen, _seq, bucket, log, *_ = self._keys(edition_id)
        args: list[str | int | float] = [repr(now), repr(caps.idle), repr(WAIT_IDLE)]
        args += [repr(RATE_WINDOW), MAX_PURGE, caps.active, caps.per_minute, repr(caps.burst)]
        args += [reach(caps) if caps.per_minute else -1, SAMPLES]
        found = await self.last_script(keys=[active, line, seen, bucket, log], args=args)
        return _place_of(found, now=now, opens=opens, caps=caps) if found else None


def _place_of(found: list[Any], *, now: float, opens: float, caps: Caps) -> Place:
    """A Place from the scripts' answer (ARRIVE's, LAST's: `standing`), worked out as
    MemoryLine's `_place` does."""
    admitted, position, waiting, admissions, first, left, active, on, last, seen = found
    admitted, position, active = bool(int(admitted)), int(position), int(active)
    span = now - float(first) if int(admissions) else 0.0
    turn = paced = None
    if not admitted and now >= opens:
        tokens = float(left)
        turn = turn_in(position, caps=caps, tokens=tokens, active=active)
        pairs = [(int(seen[i]), float(seen[i + 1])) for i in range(0, len(seen), 2)]
        paced = paced_in(position, caps=caps, tokens=tokens, active=active, now=now, seen=pairs)
    frees, gone = None, False
    if last:
        frees, gone = expiry(position, caps=caps, active=active, last=float(last), now=now)
    return Place(
        admitted,
        position,
        int(waiting),
        not admitted and now < opens,
        int(admissions),
        span,
        turn,
        engaged=bool(int(on)),
        frees_in=frees,
        gone=gone,
        paced_in=paced,
    )
