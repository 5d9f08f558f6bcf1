"""The database engine and sessions, chosen by DATABASE_URL.

Domain code receives an AsyncSession and may flush, never commit; the boundary that opened the
session commits, then runs the after-commit callbacks (live events, mail delivery).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import sqlite3
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Connection, Engine, event, func, select
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import QueuePool

from fair import settings, sqlite_hop

log = logging.getLogger("fair.db")
AfterCommit = Callable[[], Awaitable[None]]
CONNECT_TIMEOUT = 5.0  # seconds to open a PostgreSQL connection (asyncpg's own default: 60)
# Seconds a statement on an open PostgreSQL connection may take (asyncpg's own default: none):
# a server that stopped answering with the connection open (a hung host, a frozen process, a
# dead network path: no reset, the kernel still acknowledges) would otherwise hold the request
# forever. On SQLite, how long a statement waits for another
# connection's lock (its busy timeout) before "database is locked".
COMMAND_TIMEOUT = 30.0
# Seconds a PostgreSQL connection serves before the pool replaces it (at a checkout, one new
# connection). Connections are not pinged before use (`_closed_is_a_disconnect`), so this bounds
# how long one that a middlebox dropped silently (no reset: asyncpg cannot tell) stays pooled,
# and the server-side memory of a long-lived backend (its caches, asyncpg's prepared statements).
POOL_RECYCLE = 1800.0
# pg_trgm's similarity threshold on every PostgreSQL connection (its default: 0.3). Two letters
# wrong in a short word leave few trigrams in common ("carsite" and "carist": 0.25): the
# search's spelling suggestions (fair.search.terms `vocabulary`) look as far as this.
TRIGRAM_SIMILARITY = 0.2


class Unreachable(Exception):
    """The database refused or did not answer a new connection (PostgreSQL stopped, restarting,
    at its connection limit, or the network between): a page answers 503 "briefly
    unavailable", not a 500. Raised by `_reach` in place of the driver's OSError or
    TimeoutError, which SQLAlchemy passes through unwrapped and which other causes (SMTP,
    files) raise too."""


# What PostgreSQL says when it cannot take a connection now: starting or stopping (57P03), or
# at max_connections or the role's CONNECTION LIMIT (53300, "sorry, too many clients already").
REFUSALS = (asyncpg.exceptions.CannotConnectNowError, asyncpg.exceptions.TooManyConnectionsError)


async def _reach(*args: Any, **kwargs: Any) -> Any:
    """asyncpg.connect, with a refused or silent server said as `Unreachable`."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except (OSError, *REFUSALS) as exc:  # TimeoutError is an OSError
        raise Unreachable(f"database unreachable: {exc!r}") from exc


def unavailable(exc: BaseException) -> str | None:
    """Why the database cannot serve now, as an error code, or None when `exc` is a defect:
    `server.busy` when every connection of the pool stayed taken for its timeout, or SQLite's
    write lock stayed taken for its busy timeout ("database is locked"); `server.unavailable`
    when the database is unreachable on connect, or a connection was lost or ended by the
    server during the request (SQLAlchemy marks it invalidated, and every connection of the
    pool opened before: replaced at their next checkout, once the server is back). Both are
    answered 503 with Retry-After."""
    if isinstance(exc, PoolTimeout):
        return "server.busy"
    if isinstance(exc, Unreachable):
        return "server.unavailable"
    if isinstance(exc, DBAPIError):
        # A connection PostgreSQL ended (a fast shutdown's 57P01, even mid-statement) is
        # invalidated too: asyncpg reports it closed (tests/test_db_report.py).
        if exc.connection_invalidated:
            return "server.unavailable"
        if _locked(exc.orig):
            return "server.busy"
    if _timed_out(exc):
        return "server.unavailable"
    return None


def report(log: logging.Logger, exc: BaseException, what: str) -> str | None:
    """Log `exc`, which stopped `what`, once, and return `unavailable`'s code for it.

    The database briefly unavailable (the pool all taken, PostgreSQL refusing, stopped or gone,
    SQLite's lock held too long) is expected under a surge or a restart, and the caller answers
    503 or retries: one warning line, no traceback. Anything else is a defect: "<what> failed"
    with its traceback (None returned). The line carries the request id (fair.logs)."""
    reason = unavailable(exc)
    if reason is None:
        log.error("%s failed", what, exc_info=exc)
    else:
        log.warning("%s: database unavailable (%s): %r", what, reason, exc)
    return reason


def _locked(orig: BaseException | None) -> bool:
    """Whether `orig` is SQLite's SQLITE_BUSY (extended codes included): "database is locked"."""
    code = getattr(orig, "sqlite_errorcode", None)
    busy = isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_BUSY
    return isinstance(orig, sqlite3.Error) and busy


def _timed_out(exc: BaseException) -> bool:
    """Whether `exc` is asyncpg's own timeout of a statement on an open connection (its
    command_timeout, which SQLAlchemy may let through unwrapped): raised through asyncpg's
    code, unlike any other TimeoutError."""
    if not isinstance(exc, TimeoutError):
        return False
    frames = traceback.walk_tb(exc.__traceback__)
    return any(frame.f_globals.get("__name__", "").startswith("asyncpg.") for frame, _ in frames)


def _timeout_is_a_disconnect(context: ExceptionContext) -> None:
    """A statement that timed out leaves its connection unusable (the server may never answer
    it): invalidated, not returned to the pool for a rollback that would wait again."""
    if _timed_out(context.original_exception):
        context.is_disconnect = True


# Set on a connection's record at checkout, cleared by its first statement that got an answer;
# set on the error of a statement that found the connection lost meanwhile (`lost_unused`).
UNUSED = "fair_unused"


def _unused_at_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    record.info[UNUSED] = True


def _used(conn: Any, *_args: Any) -> None:
    conn.info.pop(UNUSED, None)


def _lost_before_use(context: ExceptionContext) -> None:
    """The error of the first statement since checkout that found its connection lost says
    so (`lost_unused`); the connection, not yet invalidated here, is after this listener. Not
    one that timed out (`_timeout_is_a_disconnect`): the server may have done it, slowly."""
    connection, error = context.connection, context.sqlalchemy_exception
    if not context.is_disconnect or connection is None or connection.invalidated:
        return
    if _timed_out(context.original_exception):
        return
    if connection.info.get(UNUSED) and isinstance(error, DBAPIError):
        setattr(error, UNUSED, True)


def lost_unused(exc: BaseException) -> bool:
    """Whether `exc` is a connection found lost by the first statement sent on it since it
    was checked out from the pool (PostgreSQL restarted, or ended it with
    pg_terminate_backend, and the event loop had not yet read the end of its socket, so that
    the checkout could not see it: `_closed_is_a_disconnect`). Nothing that statement asked
    was done on `sessionmaker`'s sessions: a read session's first statement is a read in
    autocommit (anything else begins a transaction), a write session's begins a transaction,
    which the server rolls back when the connection ends. The caller may ask again on a new
    connection, once: `again`."""
    return isinstance(exc, DBAPIError) and bool(getattr(exc, UNUSED, False))


T = TypeVar("T")


async def again(
    attempt: Callable[[], Awaitable[T]], *, what: str, may: Callable[[], bool] | None = None
) -> T:
    """`attempt()`, asked again once, on another connection, when it failed on a connection
    found lost before its first statement got an answer (`lost_unused`) and `may()` says what
    it did besides its statements is not done twice (None: it does nothing else before its
    first statement). Pages (fair.web.auth `page`), API requests (fair.api.core) and the live
    socket's reads (fair.live.socket) ask again through it; a PostgreSQL restart then costs
    them no 503 for each connection the pool held."""
    try:
        return await attempt()
    except DBAPIError as exc:
        if not lost_unused(exc) or (may is not None and not may()):
            raise
        log.warning("%s: connection lost before use, asked again: %r", what, exc)
    return await attempt()


# PostgreSQL: what a page pays that does no work ----------------------------------------------
#
# The pool used to ping each connection it handed out (`pool_pre_ping`: BEGIN, ";", ROLLBACK
# through SQLAlchemy's asyncpg adapter, three round trips), and a read session wrapped its
# SELECTs in BEGIN and COMMIT (two more): five of a page's eight or so round trips did nothing
# (bench/pagecost.py). Third-party parts touched here, all public: asyncpg's
# `Connection.is_closed()` and `is_in_transaction()` (reached as the adapter's
# `driver_connection`), the adapter's DBAPI `autocommit` attribute, the dialect's
# `set_isolation_level`, and the pool's "checkout" and the engine's "before_cursor_execute"
# events.


async def read_again(
    maker: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    what: str,
) -> T:
    """`work`, which only reads before its first statement, in a session of `maker`: asked
    again once on another connection when that first statement found its connection lost
    (`again`). The live socket's reads at connect and in its commands (fair.live)."""

    async def attempt() -> T:
        async with maker() as session:
            return await work(session)

    return await again(attempt, what=what)


def _closed_is_a_disconnect(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection that the server closed while it waited in the pool (PostgreSQL
    stopped, restarted, or ended it: asyncpg read the end of the socket, or the error that
    ended it) is replaced before use, at no cost: nothing is sent to find out. The pool then
    opens a new one (SQLAlchemy's checkout retry), which a stopped server refuses (a 503).

    What this cannot see (a server that stopped answering with the connection open, a path a
    middlebox dropped without a reset) a ping could not either before `command_timeout`: the
    request's first statement gives up after it instead (`_timeout_is_a_disconnect`)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


# The execution option marking the connections of a read session (`sessionmaker`).
READS = "fair_reads"
# The execution option naming the background task a connection works for (`background`).
BACKGROUND = "fair_background"
_READ = re.compile(r"[\s(]*(SELECT|WITH)\b", re.IGNORECASE)
# What a SELECT may do that a transaction bounds: write (a data-modifying WITH), lock rows
# (FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE), take an advisory lock held to the
# transaction's end, or call a function whose effect a rollback would undo or the commit
# release (set_config(..., true) is SET LOCAL; pg_notify is sent at commit).
_NOT_ONLY_READING = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|SHARE|pg_advisory_xact_\w+|set_config|pg_notify|nextval|"
    r"setval)\b",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=1024)
def reads_only(statement: str) -> bool:
    """Whether `statement` only reads, and reads the same in autocommit as in a transaction:
    a SELECT (or WITH) that neither writes, locks rows nor has an effect bounded by a
    transaction. Conservative: a word such as "update" anywhere in the text says no (a BEGIN
    spent for nothing), never the other way round."""
    return _READ.match(statement) is not None and _NOT_ONLY_READING.search(statement) is None


def _transaction_unless_read(
    conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    """PostgreSQL's read sessions: plain reads in autocommit, anything else in a transaction.

    Under READ COMMITTED (PostgreSQL's default, and fair's), each statement of a transaction
    reads its own snapshot, taken when the statement starts: a page's SELECTs show exactly
    the same rows in autocommit as between BEGIN and COMMIT, each one what was committed when
    it started (a page reading several tables saw several moments before too, and no page
    relies on more: none asks for REPEATABLE READ; were it the server's default, every
    statement would begin a transaction, as before). A transaction only adds what a page's
    plain reads never ask for; anything that asks (`reads_only` says no: a write, a row or
    advisory lock, SET LOCAL; or a server-side cursor, which asyncpg opens only in a
    transaction) begins one first, and the session commits or rolls it back as it did before,
    so a read session that writes keeps its writes' all-or-nothing. Once that transaction has
    ended, the connection reads in autocommit again. SQLite is not concerned: its read
    sessions keep their BEGIN, which there costs no round trip and gives the page one
    snapshot under WAL."""
    if not conn.get_execution_options().get(READS):
        return
    adapted = conn.connection.dbapi_connection
    if adapted is None or adapted.driver_connection.is_in_transaction():
        return
    streamed = context is not None and context.execution_options.get("stream_results", False)
    committed = conn.dialect.default_isolation_level == "READ COMMITTED"
    plain = committed and reads_only(statement) and not streamed
    if bool(adapted.autocommit) != plain:
        level = "AUTOCOMMIT" if plain else conn.dialect.default_isolation_level
        conn.dialect.set_isolation_level(adapted, level)


def configured_engine(conf: settings.Settings) -> AsyncEngine:
    """The engine of a fair process (web, worker, media, a CLI command) with the configured pool
    and timeouts (FAIR_DB_POOL_SIZE, FAIR_DB_MAX_OVERFLOW, FAIR_DB_POOL_TIMEOUT, the connect and
    command timeouts): one place, so that no process waits SQLAlchemy's default 30 s for a
    connection, or opens more than its share of PostgreSQL's."""
    return create_engine(
        conf.database_url,
        pool_size=conf.db_pool_size,
        max_overflow=conf.db_max_overflow,
        pool_timeout=conf.db_pool_timeout,
        connect_timeout=conf.db_connect_timeout,
        command_timeout=conf.db_command_timeout,
    )


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout (`command_timeout`).

    PostgreSQL: a pooled connection the server closed is replaced before use, without a round
    trip (`_closed_is_a_disconnect`: after a restart of the server the app recovers by
    itself), and every connection after POOL_RECYCLE seconds; connections opened within
    `connect_timeout` seconds, a refusal raised as `Unreachable`; a statement given up after
    `command_timeout` seconds, its connection discarded, the request answered 503. Read
    sessions (`sessionmaker`) run their plain reads in autocommit (`_transaction_unless_read`)."""
    timeout = kwargs.pop("connect_timeout", CONNECT_TIMEOUT)
    command_timeout = kwargs.pop("command_timeout", COMMAND_TIMEOUT)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": command_timeout}, **kwargs)
        # One trip to aiosqlite's thread per statement (fair.sqlite_hop), pragmas included.
        event.listen(engine.sync_engine, "connect", sqlite_hop.adapt)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(command_timeout))
        # SQLite takes its write lock at BEGIN IMMEDIATE, so a transaction never upgrades late.
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", POOL_RECYCLE)
    # asyncpg prepares every statement; after five runs PostgreSQL may switch to a generic plan
    # that ignores the actual filter values, which made filtered searches 10 times slower.
    # No JIT: our statements run in milliseconds, and an estimate past jit_above_cost (a
    # correlated EXISTS counted once per row) cost 12 to 30 ms of compiling for a 20 ms read
    # (the dashboard's outcomes summary on a 40,000-application edition).
    # random_page_cost 1.1 (4 by default, for spinning disks): fair's tables sit in memory or
    # on SSD, and at 4 the planner read every offer (a sequential scan, the full-text match
    # computed on each: 167 ms at 20,000 offers) rather than the full-text index (12 ms) for
    # a word matching one offer in eight ("btp" widened by its synonyms, bench/search.py).
    # pg_trgm's similarity threshold (TRIGRAM_SIMILARITY) set in the start-up message: a SET
    # LOCAL before each spelling look-up of the search cost three round trips (BEGIN, SET,
    # COMMIT) in a read session.
    server_settings = {
        "plan_cache_mode": "force_custom_plan",
        "jit": "off",
        "random_page_cost": "1.1",
        "pg_trgm.similarity_threshold": str(TRIGRAM_SIMILARITY),
    }
    connect_args = {
        "server_settings": server_settings,
        "timeout": timeout,
        "command_timeout": command_timeout,
    }
    # The dialect calls this in place of asyncpg.connect, with the URL's arguments and these.
    connect_args["async_creator_fn"] = _reach
    kwargs.setdefault("connect_args", connect_args)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "handle_error", _timeout_is_a_disconnect)
    event.listen(engine.sync_engine, "handle_error", _lost_before_use)
    event.listen(engine.sync_engine, "checkout", _closed_is_a_disconnect)
    event.listen(engine.sync_engine, "checkout", _unused_at_checkout)
    event.listen(engine.sync_engine, "after_cursor_execute", _used)
    event.listen(engine.sync_engine, "before_cursor_execute", _transaction_unless_read)
    return engine


def pool_short(engine: AsyncEngine) -> bool:
    """Whether the engine's pool is short of connections: every one of its `pool_size` taken,
    requests now on the overflow's (or waiting for one). Never for SQLite's pool (a file:
    no server's connections to run out of)."""
    pool = engine.sync_engine.pool
    return isinstance(pool, QueuePool) and pool.checkedout() >= pool.size()


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database (the readiness check); raises when it cannot."""
    async with engine.connect() as connection:
        await connection.execution_options(**read_options(engine.dialect.name))
        await connection.exec_driver_sql("SELECT 1")


async def refresh_statistics(engine: AsyncEngine) -> None:
    """Let SQLite's planner know the tables' sizes (PostgreSQL's autovacuum does this itself).

    Without statistics SQLite may drive a full-text search from the offers table and re-run
    the match for each row; a bounded ANALYZE takes a fraction of a second.
    """
    if engine.dialect.name != "sqlite":
        return
    async with engine.begin() as connection:
        await connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        await connection.exec_driver_sql("ANALYZE")


async def run_statistics(engine: AsyncEngine, *, interval: float = 3600.0) -> None:
    """Refresh the statistics now and every `interval` seconds."""
    while True:
        try:
            await refresh_statistics(engine)
        except Exception as exc:  # a busy database: try again next round
            report(logging.getLogger("fair.db"), exc, "ANALYZE")
        await asyncio.sleep(interval)


# SQLite reads the database file through a memory map of up to this many bytes (address space,
# not memory: the pages are the system's file cache, shared by every connection and process).
# Without it each page a statement reads past the connection's own small cache (2 MB) is copied
# by a read() call: a cold search at 100,000 offers reads thousands (bench/search.py --cold).
SQLITE_MMAP_BYTES = 1 << 30


def _sqlite_pragmas(busy_seconds: float) -> Callable[[Any, Any], None]:
    """The "connect" listener setting up each new SQLite connection."""
    busy_ms = round(busy_seconds * 1000)

    def set_up(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN (see _sqlite_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    return set_up


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get("fair_write", False)
    statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    # Sent with the transaction's first statement, in its trip to aiosqlite's thread.
    if not sqlite_hop.defer_begin(connection.connection.dbapi_connection, statement):
        connection.exec_driver_sql(statement)


def sessionmaker(engine: AsyncEngine, *, write: bool = False) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; `write=True` ones take SQLite's write lock when they begin.

    Readers never block under WAL; writers queue at BEGIN instead of failing to upgrade a read
    lock later ("database is locked"). On PostgreSQL, read sessions send their plain reads in
    autocommit: no BEGIN before them, no COMMIT after (`_transaction_unless_read`).
    """
    if write:
        bind = engine.execution_options(fair_write=True)
    elif engine.dialect.name == "postgresql":
        bind = engine.execution_options(**read_options(engine.dialect.name))
    else:
        bind = engine
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=True)


def background(engine: Engine, task: str) -> Engine:
    """`engine` for a task that runs beside the requests, with a session of its own (the ROME
    index's check of its tables): its connections say which task they work for
    (`background_task`), so that what counts or logs a request's statements can tell them
    apart from the request's own."""
    return engine.execution_options(**{BACKGROUND: task})


def background_task(connection: Connection) -> str | None:
    """The background task `connection` works for (`background`), None for a request's."""
    task = connection.get_execution_options().get(BACKGROUND)
    return str(task) if task is not None else None


def read_options(dialect: str) -> dict[str, Any]:
    """The execution options of a read session's connection on `dialect`: on PostgreSQL, plain
    reads in autocommit (`_transaction_unless_read`); on SQLite, a plain (deferred) BEGIN.
    A write connection that has ended its transaction (rolled back: fair.web.auth `release`)
    reads on as a read session's does with `await connection.execution_options(**these)`."""
    if dialect == "postgresql":
        return {"isolation_level": "AUTOCOMMIT", READS: True}
    return {"fair_write": False}


async def serialise(session: AsyncSession, namespace: int, ident: int) -> None:
    """Hold PostgreSQL's transaction-level advisory lock (`namespace`, `ident`) until this
    transaction ends, so that writers of the same thing in any process take turns (then read
    what the one before wrote). SQLite has one writer at a time anyway: nothing to do."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(namespace, ident)))


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the session's transaction has committed (dropped on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit, then run the after-commit callbacks queued by domain code."""
    await session.commit()
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


@asynccontextmanager
async def unit_of_work(
    maker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session that commits on success and rolls back on error."""
    async with maker() as session:
        try:
            yield session
        except BaseException:
            session.info.pop("after_commit", None)
            await session.rollback()
            raise
        await commit(session)
