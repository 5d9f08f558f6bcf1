"""One trip to aiosqlite's thread per SQLite statement, where SQLAlchemy's adapter takes four.

aiosqlite runs each call on a connection's own thread: SQLAlchemy's cursor (its aiosqlite
adapter) makes a cursor there, executes, fetches the rows and closes the cursor, each a trip
of its own through the thread's queue and back through the event loop (~40 µs each, the GIL
handed over twice). A search page runs five statements (BEGIN, the edition, the page, the
count, the facets): fifteen trips for nothing (bench/search.py, "other Python"). `Cursor`
does the four in one function run on the thread, and keeps what it returned (description,
rows, row count, last row id) for SQLAlchemy to read afterwards, as the adapter's own cursor
keeps the rows. A transaction's BEGIN goes in the same trip as its first statement
(`defer_begin`, fair.db).

Third-party internals touched (SQLAlchemy 2.1, aiosqlite 0.22), all here:
- `sqlalchemy.dialects.sqlite.aiosqlite.AsyncAdapt_aiosqlite_connection`: its `_cursor_cls`
  (the class `cursor()` makes), overridden in a subclass (`Connection`) that the engine's
  "connect" listener gives each new connection (`adapt`), with its `_connection` (the
  aiosqlite connection) and `_execute_mutex`;
- `sqlalchemy.connectors.asyncio.AsyncAdapt_dbapi_cursor`: its slots (`_adapt_connection`,
  `_connection`, `_cursor`, `_rows`, `_soft_closed_memoized`), `_async_soft_close` and the
  connection's `_handle_exception`;
- `aiosqlite.Connection._execute(fn)` (runs `fn()` on the thread) and `._conn` (the sqlite3
  connection, to be used on that thread only, but for its `in_transaction` flag read by
  `Connection._idle`, with `._connection`, None once closed); an attribute of ours on it
  (`BEGIN`);
- the adapted connection's `commit` and `rollback` (`Connection`).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util.concurrency import await_

# What a statement left: description, rows (None without a description), row count, last id.
Outcome = tuple[Any, list[Any] | None, int, int | None]


def _run(
    connection: sqlite3.Connection, begin: str | None, operation: str, parameters: Any, many: bool
) -> Outcome:
    """On the connection's thread: the transaction begun (`begin`, when it waits: `defer_begin`),
    the statement executed, its rows fetched, its cursor closed."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class Cursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, each statement one trip to the thread (`_run`); no
    aiosqlite cursor is made (`_cursor` stays None)."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing to close: the thread closed the sqlite3 cursor already."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        return self._trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        return self._trip(operation, seq_of_parameters, many=True)

    def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        try:
            await_(self._trip_async(operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _trip_async(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            begin = vars(connection).pop(BEGIN, None)
            outcome: Outcome = await connection._execute(
                lambda: _run(connection._conn, begin, operation, parameters, many)
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        if rows is not None:
            self._rows = deque(rows)


class Connection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection, its cursors `Cursor` (server-side ones unchanged); a
    transaction that ends before its BEGIN was sent (`defer_begin`) ends without a trip, and
    so does a rollback with no transaction (`_idle`)."""

    __slots__ = ()
    _cursor_cls = Cursor  # type: ignore[assignment]  # a subclass of the one declared

    def commit(self) -> None:
        if vars(self._connection).pop(BEGIN, None) is None:
            super().commit()

    def rollback(self) -> None:
        if vars(self._connection).pop(BEGIN, None) is None and not self._idle():
            super().rollback()

    def _idle(self) -> bool:
        """Whether the connection holds no transaction (sqlite3's `in_transaction`: SQLite's
        autocommit flag, read on this thread): then sqlite3's rollback does nothing, and the
        pool's reset of every connection given back after its COMMIT (a read page's) need
        not go to the thread and back for it. Read while the thread runs nothing of this
        connection's: each call to it is awaited, and one cut short (a cancelled request)
        has SQLAlchemy invalidate the connection (an exit exception), never roll it back."""
        sqlite = self._connection._connection
        return sqlite is not None and not sqlite.in_transaction


# The BEGIN a connection's next statement sends first, on its aiosqlite connection's attributes.
BEGIN = "fair_begin"


def defer_begin(dbapi_connection: Any, statement: str) -> bool:
    """Have the connection send `statement` (a BEGIN) in the same trip as its next statement,
    which SQLAlchemy runs right after beginning (a transaction begins when first used): one trip
    less per transaction. False when the connection is not one of ours (`adapt`): send it now."""
    if type(dbapi_connection) is not Connection:
        return False
    vars(dbapi_connection._connection)[BEGIN] = statement
    return True


def adapt(dbapi_connection: Any, _record: Any) -> None:
    """The engine's "connect" listener (fair.db): the new connection's cursors are `Cursor`s
    (the same object, of the subclass: nothing else of it changes)."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = Connection
