"""ICE consent freshness as browsers keep it (RFC 7675), for every aiortc peer of this process.

A WebRTC peer checks every few seconds that the other end still wants its media (a STUN binding
request on the selected path) and stops sending when consent is lost. aioice sends each check
once and closes the connection after six checks in a row got no answer within 0.5 s: a peer that
answers every check, but later than 0.5 s for half a minute, is cut. That is a media process
lagging under load (the legs that take a talk from it, an aiortc publisher), or a presenter or
viewer whose round trip passes 0.5 s (a congested uplink while it sends video). Browsers, the
other end of most of our connections, follow RFC 7675: a check every 4-6 s (randomised),
retransmitted, and consent lost only after 30 s without any answer. `install()` makes every
aioice connection of this process do the same. (A single stall of a few seconds, a GC pause, was
survived either way: a check it misses only counts one failure of six.)

    install()      # fair.media.stage.Stages does it: web process (embedded rooms), `fair media`

aioice has no setting for this: its constants (CONSENT_FAILURES, CONSENT_INTERVAL) keep the
single check with STUN's 0.5 s timeout (retransmissions were asked for in aiortc/aioice#58, still
open). So `install` replaces `aioice.ice.Connection.query_consent`, the task aioice runs for
each connection once it is connected, and this module uses aioice's `Connection._nominated`,
`build_request`, `remote_password`, `_query_consent_task`, `close`, `StunProtocol.request`'s
`retransmissions` and `stun.TransactionError`: written for aioice `AIOICE` (pinned in
pyproject.toml). With another version `install` leaves aioice's own behaviour and logs it;
tests/test_media_consent.py fails on a version or any of these names changed.

It also counts, per connection, the checks both ways (`checks`: ours sent and answered, the
other end's binding requests, which aioice answers: `install` wraps
`Connection.request_received`, reading `_closing`), and says them when consent is lost: a
peer still checking while ours go unanswered is not a peer gone.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from dataclasses import dataclass
from importlib import metadata

from aioice import ice, stun

log = logging.getLogger("fair.media")

AIOICE = "0.13.0"  # the aioice this was written for
INTERVAL = 5.0  # seconds between checks, times 0.8 to 1.2 (RFC 7675 section 5.1)
EXPIRY = 30.0  # seconds without any answer after which consent is lost (RFC 7675)
# A check is sent again 0.5 and 1.5 s after it (STUN's doubling timeout) and waits 3.5 s in all:
# an answer up to 3.5 s late counts, and every check is over before the next (4 s at the soonest).
RETRANSMISSIONS = 2


@dataclass
class Checks:
    """A connection's checks both ways, counted once `install`ed (`checks`)."""

    sent: int = 0  # our consent checks, one a pair each round (retransmissions aside)
    answered: int = 0  # ours answered in time (within 3.5 s)
    asked: int = 0  # the other end's binding requests (its ICE, then consent checks) answered
    last_asked: float | None = None  # time.monotonic() of the last one


_checks: weakref.WeakKeyDictionary[ice.Connection, Checks] = weakref.WeakKeyDictionary()
_aioice_request_received = ice.Connection.request_received


def checks(connection: ice.Connection) -> Checks:
    """What was counted on `connection` so far."""
    found = _checks.get(connection)
    if found is None:
        found = _checks[connection] = Checks()
    return found


def install() -> None:
    """Keep consent as browsers do on every aioice connection of this process (idempotent)."""
    if ice.Connection.query_consent is query_consent:
        return
    found = metadata.version("aioice")
    if found != AIOICE:
        log.warning("aioice %s, not %s: ICE consent left as aioice keeps it", found, AIOICE)
        return
    setattr(ice.Connection, "query_consent", query_consent)  # noqa: B010 (a method, replaced)
    setattr(ice.Connection, "request_received", request_received)  # noqa: B010


def request_received(
    connection: ice.Connection,
    message: stun.Message,
    addr: tuple[str, int],
    protocol: ice.StunProtocol,
) -> None:
    """`aioice.ice.Connection.request_received` (which answers), counting the other end's
    binding requests (`Checks.asked`)."""
    _aioice_request_received(connection, message, addr, protocol)
    if message.message_method == stun.Method.BINDING and not connection._closing:
        counted = checks(connection)
        counted.asked += 1
        counted.last_asked = time.monotonic()


async def query_consent(connection: ice.Connection) -> None:
    """`aioice.ice.Connection.query_consent`: check consent on each selected path every 4-6 s
    until 30 s went by without an answer to any check, then close the connection (as aioice
    does when its own checks fail: aiortc reports the connection failed). The first check waits
    an interval, as aioice's. The log line says with whom, and the checks both ways
    (`Checks`)."""
    counted, answered = checks(connection), time.monotonic()
    while time.monotonic() - answered < EXPIRY:
        await asyncio.sleep(INTERVAL * random.uniform(0.8, 1.2))
        pairs = list(connection._nominated.values())
        answers = await asyncio.gather(*(_check(connection, pair) for pair in pairs))
        times = [at for at in answers if at is not None]
        counted.sent, counted.answered = counted.sent + len(pairs), counted.answered + len(times)
        answered = max([answered, *times])
    lost(connection, time.monotonic() - answered)
    connection._query_consent_task = None  # close() would wait for this very task
    await connection.close()


def lost(connection: ice.Connection, silent: float) -> None:
    """Log consent lost on `connection` after `silent` seconds without an answer."""
    counted, now = checks(connection), time.monotonic()
    pairs = connection._nominated.values()
    remote = ", ".join(f"{pair.remote_addr[0]}:{pair.remote_addr[1]}" for pair in pairs)
    last = "never" if counted.last_asked is None else f"{now - counted.last_asked:.0f} s ago"
    log.info(
        "ICE consent lost with %s: no answer for %.0f s (%d of %d checks answered; "
        "%d binding requests from the other end, the last %s)",
        remote or "?",
        silent,
        counted.answered,
        counted.sent,
        counted.asked,
        last,
    )


async def _check(connection: ice.Connection, pair: ice.CandidatePair) -> float | None:
    """One consent check on `pair`: when its answer came, None without one."""
    request = connection.build_request(pair, nominate=False)
    assert connection.remote_password is not None  # set by connect(), before consent starts
    key = connection.remote_password.encode("utf8")
    try:
        await pair.protocol.request(
            request, pair.remote_addr, integrity_key=key, retransmissions=RETRANSMISSIONS
        )
    except stun.TransactionError:
        return None
    return time.monotonic()
