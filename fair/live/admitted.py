"""The admission line's side of the open /live sockets of a process (fair.admission; docs/
OPERATIONS.md, "Open sockets"): every REFRESH_SECONDS the hub's round (fair.live.hub) tells the
line that the candidates of its open sockets are active, and decides for the sockets whose
place went.

* A socket let in (by its admission cookie, or a place taken on connect: fair.live.socket
  `_held`) is kept: one batch an edition armed now (`Line.keep`).
* Its place lost (the line forgot it: Redis restarted; or no round for `quiet`, 90 s:
  taken for gone, fair.admission.lapse_at): it takes a
  place again, as a page would. Let in when there is room, and kept open; else it is in line,
  the socket is closed with "try again later", and on this process the cookie no longer lets
  a socket of theirs in (`lapsed`, for the cookie's life): its reconnect waits in line. (Before,
  the cookie let it in again and the next round closed it, every round until it expired.)
  Another process may let it in once more, until that process's own round.
* A socket the gate let through without a place (no edition was armed then, its gate was not
  engaged: nothing read on connect, or the candidate was exempt) is kept from the next round
  in the armed edition the line has let them in to, if any (a page of theirs there), else
  counted in the first armed edition they are registered to (`_count_in`, `Line.count_in`): as
  active, then kept as one let in; before opening, in line at their draw like a page's early
  arrival. One waiting stays in line, their socket open, and takes their place again each
  round from opening (the line lets them in at their turn: drawn early, first). Never closed
  for having passed without a place. An exempt
  candidate's (an interview within 30 minutes or under way) is neither counted nor closed,
  and counted once no longer exempt. Whether those counted engage the gate is then known in
  this process at once (`admission_gate.pressure`).

With the line or the database out of reach, nobody is closed (fail open, as pages do).

A command acting in an edition passes that edition's gate as a page of it would
(`check_command`, `check_gate`): a socket is let through by the gate of the edition its
candidate was registered to first, or without a place while that gate was not engaged, so a
candidate of another edition (or of none) joined a full fair's queues past its line. Each
command declares the payload field naming its edition (`EDITION_OF` of its family's module,
fair.edition_keys.KINDS), as a page declares it by its path (fair.web.gate).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import admission, admission_gate, app_state, clock, edition_keys, participants
from fair.broadcast import Broadcaster
from fair.enums import Role
from fair.errors import FairError
from fair.i18n import N_
from fair.live import payloads

if TYPE_CHECKING:  # socket.py imports this module (through hub.py)
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")

CLOSE_LAPSED = 1013  # "try again later": a candidate's admission lapsed
LAPSED_SIZE = 100_000  # lapsed admissions remembered, at most (`lapsed`)
READ_BATCH = 500  # users read at once (`_count_in`)


class Keeper:
    """What one process remembers: the places that lapsed while a socket was open here."""

    def __init__(self) -> None:
        # (edition id, user id): until when their admission cookie could still let them in.
        self._lapsed: OrderedDict[tuple[int, int], float] = OrderedDict()

    async def keep(
        self, state: app_state.AppState, broadcast: Broadcaster, sockets: Iterable[Connection]
    ) -> None:
        """One round for the process's open `sockets` (the module's docstring)."""
        candidates = [
            c
            for c in sockets
            if c.user is not None and c.user.role == Role.CANDIDATE and not c.ended.done()
        ]
        if not candidates:
            return
        now = clock.now()
        line = admission_gate.line_of(broadcast.client(), broadcast.namespace)
        try:
            async with state.read_sessions() as session:
                gates = {g.edition_id: g for g in await admission_gate.armed(session, now)}
                if gates:
                    untracked = [c for c in candidates if c.admission is None]
                    await _count_in(session, untracked, gates, line, now)
            by_edition: defaultdict[int, list[Connection]] = defaultdict(list)
            for conn in candidates:
                if conn.admission is not None:
                    by_edition[conn.admission].append(conn)
            for edition_id, conns in by_edition.items():
                gate = gates.get(edition_id)
                if gate is not None:  # else no longer armed: nothing to keep
                    await self._keep(line, gate, conns, now)
        except Exception as exc:  # the round goes on
            log.warning("live: admission places not kept this round: %r", exc)

    async def _keep(
        self,
        line: admission.Line,
        gate: admission_gate.Gate,
        conns: list[Connection],
        now: datetime,
    ) -> None:
        users = {c.user.id for c in conns if c.user is not None}
        gone = await line.keep(gate.edition_id, users, now=now.timestamp(), idle=gate.caps.idle)
        held = set()
        for user_id in sorted(gone):
            if not await _take_place_again(line, gate, user_id, now):
                held.add(user_id)
                self._remember_lapsed(gate.edition_id, user_id, gate.caps.idle)
        for conn in conns:
            if conn.user is not None and conn.user.id in held:
                conn.end(CLOSE_LAPSED)

    def _remember_lapsed(self, edition_id: int, user_id: int, idle: float) -> None:
        self._lapsed[edition_id, user_id] = time.monotonic() + idle
        self._lapsed.move_to_end((edition_id, user_id))
        while len(self._lapsed) > LAPSED_SIZE:
            self._lapsed.popitem(last=False)

    def lapsed(self, edition_id: int, user_id: int) -> bool:
        """Whether this candidate's place in the edition lapsed while their socket was open
        here, within the life of the admission cookie they hold (a socket of theirs then takes
        its place in line, whatever the cookie says: fair.live.socket `_held`)."""
        until = self._lapsed.get((edition_id, user_id))
        if until is not None and until <= time.monotonic():
            del self._lapsed[edition_id, user_id]
            return False
        return until is not None

    def readmitted(self, edition_id: int, user_id: int) -> None:
        """The candidate is let in again (their cookie is good again here)."""
        self._lapsed.pop((edition_id, user_id), None)


async def _take_place_again(
    line: admission.Line, gate: admission_gate.Gate, user_id: int, now: datetime
) -> bool:
    try:
        place = await admission_gate.take_place(line, gate, user_id, now)
    except admission.Full:  # the line full: no place for them, in nor waiting
        return False
    return place.admitted


async def _count_in(
    session: AsyncSession,
    conns: list[Connection],
    gates: dict[int, admission_gate.Gate],
    line: admission.Line,
    now: datetime,
) -> None:
    """Candidates' sockets the gate let through without a place: those not exempt that the
    line has let in to an armed edition already are kept there (`admission_gate.let_in_to`);
    the others registered to an edition armed now (the first, as `admission_gate.judge`) are
    counted in it (`Line.count_in`: as active from opening, before it in line at their
    draw; one batch an edition), and the gate's pressure read again. Two reads (chunks of
    READ_BATCH users) and a call to the line an armed edition, a round, only while an edition
    is armed and such sockets are open."""
    by_user: defaultdict[int, list[Connection]] = defaultdict(list)
    for conn in conns:
        if conn.user is not None:
            by_user[conn.user.id].append(conn)
    users = list(by_user)
    registered: list[tuple[int, int]] = []
    exempt: set[int] = set()
    for start in range(0, len(users), READ_BATCH):
        chunk = users[start : start + READ_BATCH]
        registered += await participants.registered_among(session, chunk, list(gates))
        exempt |= await admission_gate.exempt_among(session, chunk, now)
    # Let in already to an armed edition (a page of theirs there): kept there from now on, not
    # counted in the first one they are registered to (whose place they would take unused).
    known = await admission_gate.let_in_to(line, list(gates.values()), set(users) - exempt, now)
    for user_id, edition_id in known.items():
        for conn in by_user[user_id]:
            conn.admission = edition_id
    first: dict[int, int] = {}  # user: the first armed edition they are registered to
    for user_id, edition_id in registered:
        if user_id not in exempt and user_id not in known:
            first.setdefault(user_id, edition_id)
    for edition_id, gate in gates.items():
        draws = {
            u: admission_gate.draw(edition_id, u, gate.opens)
            for u, e in first.items()
            if e == edition_id
        }
        if not draws:
            continue
        stamp, opens = now.timestamp(), gate.opens.timestamp()
        counted = await line.count_in(edition_id, draws, now=stamp, opens=opens, caps=gate.caps)
        if now >= gate.opens:  # those drawn before opening, still waiting: their turn yet?
            for user_id in sorted(draws.keys() - counted):
                if await _take_place_again(line, gate, user_id, now):
                    counted.add(user_id)
        for user_id in counted:  # let in: kept from now on (the others wait, open)
            for conn in by_user[user_id]:
                conn.admission = edition_id
        # Known here at once: the next arrivals may have to wait
        await admission_gate.pressure(line, gate, now)


class Waiting(FairError):
    """A held candidate's socket acting in a full fair (`check_gate`): try again once let in."""

    status = 503
    code = "admission.waiting"

    def __init__(self) -> None:
        super().__init__(
            N_(
                "The fair is full right now: you are in its waiting line. Try again once you "
                "are let in."
            )
        )


async def check_command(conn: Connection, field: str | None, payload: dict[str, Any]) -> None:
    """Raise `Waiting` unless this socket's candidate may run a command acting in the edition
    that its payload's `field` names (the command's declaration; None: never held): that
    edition's `check_gate`. Nothing read for staff, or while this process knows that no
    edition is armed; the edition of a thing is remembered once read (fair.edition_keys), and
    a socket let in to it reads nothing more."""
    user = conn.user
    if field is None or user is None or user.role != Role.CANDIDATE:
        return
    if admission_gate.armed_cached(clock.now()) == []:
        return
    value = payloads.integer(payload, field)  # refused as the command itself refuses it

    async def check(session: AsyncSession) -> None:
        edition_id = await edition_keys.edition_of(session, field, value)
        if edition_id is not None:  # else nothing of that name: the command says so
            await check_gate(conn, session, edition_id)

    await conn.read(check)


async def check_gate(conn: Connection, session: AsyncSession, edition_id: int) -> None:
    """Raise `Waiting` unless this socket's candidate may act in `edition_id` now: let in to
    it already (the socket's admission), it is not armed, or its line lets them in now (their
    place taken, as a page's arrival: kept by the hub's round from now on when the socket had
    none), or it is not engaged, or they are exempt. With the line out of reach, as the gate's
    last known pressure says (fair.admission_gate.engaged)."""
    user = conn.user
    if user is None or user.role != Role.CANDIDATE or conn.admission == edition_id:
        return
    now = clock.now()
    gate = next(
        (g for g in await admission_gate.armed(session, now) if g.edition_id == edition_id), None
    )
    if gate is None:
        return
    line = admission_gate.line_of(conn.broadcast.client(), conn.broadcast.namespace)
    try:
        place = await admission_gate.take_place(line, gate, user.id, now)
    except (admission.Full, RedisError, OSError):
        if not await admission_gate.engaged(line, gate, now):
            return
    else:
        admission_gate.note(gate, place, now)
        if place.admitted:
            if conn.admission is None:
                conn.admission = edition_id
            return
        if not place.engaged:
            return
    if not await admission_gate.exempt(session, user, now):
        raise Waiting()
