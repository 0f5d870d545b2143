"""Runs store operations on SQLite or PostgreSQL.

Every store operation is one synchronous function ``fn(conn, *args)`` over a SQLAlchemy Core
``Connection``, written once for both databases. This module decides how it runs:

* **SQLite**: the standard ``sqlite3`` driver. All writes go through one queue and one
  connection, committed in groups (each operation inside its own SAVEPOINT, so one failing
  request never affects another, and every request is acknowledged only after its group has
  committed). Commits default to ``synchronous=NORMAL``, as in WAL mode SQLite recommends: a
  killed server loses no acknowledged write, a power cut may lose the last ones, and the file is
  never corrupted; ``FULL`` fsyncs the log in every commit (~0.7 ms here, on the event loop's
  thread for quick groups: measured 18-30% fewer creates and LangGraph updates per second in 6
  alternating pairs; moving that fsync to a thread of its own cost more in GIL hand-overs than
  it saved). Checkpoints of the log run on a thread of their own (storage/wal_checkpoint.py;
  measured: LangGraph updates +10-20%, update_state +15-27%, creates' p99 halved). A group of
  *quick* writes (a caller's promise: one request's bounded work, such as a thread create) runs
  on the event loop's own thread; any other group runs on a writer thread. Reads run in parallel
  on a small pool of reader threads (WAL mode), or inline when quick. Measured on this machine:
  SQLAlchemy's aiosqlite adapter managed ~540 inserts/s, the same inserts in one writer thread
  with group commit ~6,000/s; thread creates 2,470/s with every group on the writer thread,
  3,080/s with quick groups inline (the hand-over of the GIL between the two threads cost more
  than the inserts).
* **PostgreSQL**: asyncpg through SQLAlchemy's asyncio extension; one ``run_sync`` executes the
  same function per request, in one transaction (reads: autocommit), on a connection held
  between requests (``_HeldConnections``); a write the caller marks ``one_statement`` runs
  without a transaction of its own (measured: thread creates 1.24 -> 0.79 ms of server CPU
  each, 670 -> 980/s). A task folds the per-term count deltas every second (term_stats).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from threadline.core.errors import Conflict, DomainError, InvalidInput
from threadline.storage import insert_batches, pending_terms, raw, term_stats
from threadline.storage.raw import OneStatementBroken
from threadline.storage.wal_checkpoint import WalCheckpointer

__all__ = ["Database", "OneStatementBroken", "PostgresDatabase", "SQLiteDatabase"]

T = TypeVar("T")
Op = Callable[..., T]

log = logging.getLogger("threadline.storage")

MAX_GROUP = 256


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_json_loads(value: Any) -> Any:
    """SQLite gives a JSON column holding a bare number back as a number (the column's NUMERIC
    affinity converted the text ``5``), which is already the decoded value."""
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


def normalize_url(url: str) -> str:
    """Accept ``postgresql://``, ``postgres://``, ``sqlite:///path`` or a plain file path."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return url
    return "sqlite:///" + str(Path(url).expanduser().resolve())


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and start-up output."""
    return sa.make_url(url).render_as_string(hide_password=True)


def _storage_error(exc: Exception) -> Exception:
    """Driver errors a client can cause become domain errors at the storage boundary."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, sa.exc.IntegrityError):
        return Conflict(f"conflicts with an existing row: {exc.orig}")
    if isinstance(exc, sa.exc.DataError):
        return InvalidInput(f"a value cannot be stored: {exc.orig}")
    if isinstance(exc, sa.exc.DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        if state.startswith("22"):  # SQL data exception: the client's value, not our fault
            return InvalidInput(f"a value cannot be stored: {exc.orig}")
        if state.startswith("23"):
            return Conflict(f"conflicts with an existing row: {exc.orig}")
    return exc


class Database:
    """A database that store operations run on; see the module docstring."""

    dialect: str

    @staticmethod
    def create(
        url: str, *, readers: int = 4, pool_size: int = 20, synchronous: str = "NORMAL"
    ) -> Database:
        full = normalize_url(url)
        if full.startswith("sqlite"):
            return SQLiteDatabase(full, readers=readers, synchronous=synchronous)
        return PostgresDatabase(full, pool_size=pool_size)

    url: str

    async def read(
        self, fn: Op[T], *args: Any, quick: bool = False, one_statement: bool = False
    ) -> T:
        """Run ``fn(conn, *args)`` in a read transaction. ``quick``: the caller knows it is
        short (an indexed lookup of bounded size); SQLite then runs it on the event loop's own
        thread, which costs less than the hand-over to a reader thread and back (measured: a
        100-step thread read 1.07 ms inline vs 1.38 ms with one reader thread, 1.95 ms with
        four contending for the GIL). ``one_statement``: the caller knows ``fn`` runs exactly
        one statement, a consistent read on its own; SQLite then runs it without BEGIN and
        COMMIT (PostgreSQL's reads have none anyway), and a second statement fails with
        :class:`OneStatementBroken` before it runs."""
        raise NotImplementedError

    async def write(
        self, fn: Op[T], *args: Any, quick: bool = False, one_statement: bool = False
    ) -> T:
        """Run ``fn(conn, *args)`` in a write transaction. ``quick``: the caller knows it is
        one request's bounded work; SQLite may then run it on the event loop's own thread.
        ``one_statement``: the caller knows that on PostgreSQL ``fn`` runs exactly one
        statement, atomic on its own; it then runs without BEGIN and COMMIT (one round trip
        instead of three), and a second statement fails with :class:`OneStatementBroken`
        before it runs. SQLite, which commits writes in groups, ignores it."""
        raise NotImplementedError

    async def insert_together(self, plan: insert_batches.PlannedInsert) -> None:
        """Insert one row as ``plan`` says (a PostgreSQL statement, e.g. from
        ``threads.planned_create``; its ``conflict()`` is raised when the row breaks a unique
        constraint). PostgreSQL writes the inserts that arrive while the previous ones are
        being written together: one statement and one commit (storage/insert_batches.py)."""
        await self.write(insert_batches.insert_one, plan, quick=True, one_statement=True)

    async def run_migrations(self) -> None:
        from threadline.storage.migrate import upgrade

        await self.write(upgrade)

    async def ping(self) -> bool:
        try:
            await self.read(lambda c: c.exec_driver_sql("SELECT 1").scalar())
        except Exception:
            log.exception("database ping failed")
            return False
        return True

    async def close(self) -> None:
        raise NotImplementedError


#: a queued write: the operation, its arguments, the caller's future, and whether it is quick
_Write = tuple[Op[Any], tuple[Any, ...], "asyncio.Future[Any]", bool]


def _merged_read(conn: Connection, fn: Op[T], *args: Any) -> T:
    """``fn`` on a connection marked as having merged the pending terms it must see."""
    conn.info[pending_terms.MERGED] = True
    try:
        return fn(conn, *args)
    finally:
        conn.info.pop(pending_terms.MERGED, None)


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, url: str, *, readers: int = 4, synchronous: str = "NORMAL") -> None:
        self.url = url
        path = _file_path(url)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        common: dict[str, Any] = {
            "json_serializer": _json_dumps,
            "json_deserializer": _sqlite_json_loads,
            "connect_args": {"check_same_thread": False, "timeout": 30},
        }
        self._writer_engine = sa.create_engine(url, pool_size=1, max_overflow=0, **common)
        # one more than the reader threads: the event loop's own (see _run_quick)
        self._reader_engine = sa.create_engine(url, pool_size=readers + 1, max_overflow=0, **common)
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        # the writer never checkpoints in a commit: a thread does (storage/wal_checkpoint.py)
        self._checkpointer = WalCheckpointer(path) if path is not None else None
        _configure_sqlite(
            self._writer_engine,
            begin="BEGIN IMMEDIATE",
            synchronous=synchronous,
            writer=True,
            checkpoint_pages=WRITER_CHECKPOINT_PAGES if self._checkpointer else None,
        )
        _configure_sqlite(self._reader_engine, begin="BEGIN", synchronous="NORMAL", writer=False)
        _guard_statements(self._reader_engine)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="threadline-writer")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="threadline-reader")
        self._writer_conn: Connection | None = None
        self._quick_conn: Connection | None = None
        self._quick_thread: int | None = None
        self._queue: list[_Write] = []
        self._flushing = False
        self._flusher: asyncio.Task[None] | None = None
        self._merging: asyncio.Task[None] | None = None

    async def read(
        self, fn: Op[T], *args: Any, quick: bool = False, one_statement: bool = False
    ) -> T:
        if one_statement:
            fn, args = _alone_read, (fn, *args)
        try:
            return await self._read(fn, args, quick, merged=False)
        except pending_terms.TermsPending:
            # the read met unmerged metadata terms: merge them (after every write acknowledged
            # so far), then read again; terms still pending then are from later writes
            await self.write(pending_terms.merge)
            return await self._read(fn, args, quick, merged=True)

    async def _read(self, fn: Op[T], args: tuple[Any, ...], quick: bool, merged: bool) -> T:
        if merged:
            fn, args = _merged_read, (fn, *args)
        if quick:
            return self._run_quick(fn, args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn, args)

    def _run_quick(self, fn: Op[T], args: tuple[Any, ...]) -> T:
        """A quick read on the calling (event loop) thread, on a connection kept for that
        thread: checking one out of the pool and back cost 15 of a quick read's 20 µs of
        overhead. Other threads use the pool."""
        conn = self._quick_conn
        if conn is None or conn.closed or conn.invalidated:
            if self._quick_thread not in (None, threading.get_ident()):
                return self._run_read(fn, args)
            conn = self._quick_conn = self._reader_engine.connect()
            self._quick_thread = threading.get_ident()
        elif self._quick_thread != threading.get_ident():
            return self._run_read(fn, args)
        alone = fn is _alone_read  # one statement: its own read transaction, no BEGIN
        try:
            if alone:
                return fn(conn, *args)
            with conn.begin():
                return fn(conn, *args)
        except Exception as exc:
            raise _storage_error(exc) from exc

    def _run_read(self, fn: Op[T], args: tuple[Any, ...]) -> T:
        alone = fn is _alone_read
        try:
            with self._reader_engine.connect() as conn:
                if alone:
                    return fn(conn, *args)
                with conn.begin():
                    return fn(conn, *args)
        except Exception as exc:
            raise _storage_error(exc) from exc

    async def write(
        self, fn: Op[T], *args: Any, quick: bool = False, one_statement: bool = False
    ) -> T:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.append((fn, args, fut, quick))
        if not self._flushing:
            self._flushing = True
            self._flusher = loop.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                # quick writes wait one turn of the loop: requests already received reach the
                # queue and commit in the same group (measured at c=16: groups of 5.0 -> 7.7
                # thread creates, 2,248 -> 2,420 creates/s, 0.39 -> 0.37 ms of CPU each, in 4
                # alternating pairs; batch ingest, whose groups are big already, cost ~4% more
                # with the wait, so bulk writes don't)
                if self._queue[0][3]:
                    await asyncio.sleep(0)
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                if all(write[3] for write in group):
                    outcomes = self._run_group(group)
                else:
                    outcomes = await loop.run_in_executor(self._writer, self._run_group, group)
                for (_, _, fut, _), (ok, value) in zip(group, outcomes, strict=True):
                    if fut.done():
                        continue
                    if ok:
                        fut.set_result(value)
                    else:
                        fut.set_exception(value)
                if self._writer_conn is not None and self._writer_conn.info.pop(
                    pending_terms.MERGE_DUE, False
                ):
                    self._merge_soon(loop)
        except BaseException as exc:  # the executor itself failed: fail everything still waiting
            for _, _, fut, _ in self._queue:
                if not fut.done():
                    fut.set_exception(exc)
            self._queue = []
            raise
        finally:
            self._flushing = False

    def _merge_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        """Merge the pending metadata terms, as a write of its own (storage/pending_terms.py)."""
        if self._merging is not None and not self._merging.done():
            return

        async def merge() -> None:
            try:
                await self.write(pending_terms.merge)
            except Exception:  # the next read or merge tries again; nothing is lost
                log.exception("merging pending metadata terms failed")

        self._merging = loop.create_task(merge())

    async def run_migrations(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._writer, self._migrate)

    def _migrate(self) -> None:
        """Upgrade with foreign keys off (SQLite's procedure for changing a table's schema: a
        rebuilt table's DROP would otherwise cascade to the rows that refer to it), checked
        before the commit."""
        from threadline.storage.migrate import upgrade

        conn = self._connection()
        driver = conn.connection.dbapi_connection
        assert driver is not None
        driver.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: before BEGIN
        try:
            with conn.begin():
                upgrade(conn)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            driver.execute("PRAGMA foreign_keys=ON")

    def _connection(self) -> Connection:
        if self._writer_conn is None or self._writer_conn.closed:
            self._writer_conn = self._writer_engine.connect()
        return self._writer_conn

    def _run_group(self, group: list[_Write]) -> list[tuple[bool, Any]]:
        conn = self._connection()
        outcomes: list[tuple[bool, Any]] = []
        try:
            with conn.begin():
                if len(group) == 1:
                    fn, args, _, _ = group[0]
                    outcomes.append((True, fn(conn, *args)))
                    return outcomes
                # Savepoints on the driver connection: SQLAlchemy's begin_nested() cost more
                # than the insert it wrapped (a fifth of a thread create's time).
                raw = conn.connection.dbapi_connection
                assert raw is not None
                for fn, args, _, _ in group:
                    raw.execute("SAVEPOINT request")
                    try:
                        value = fn(conn, *args)
                    except Exception as exc:
                        raw.execute("ROLLBACK TO request")
                        raw.execute("RELEASE request")
                        outcomes.append((False, _storage_error(exc)))
                    else:
                        raw.execute("RELEASE request")
                        outcomes.append((True, value))
        except Exception as exc:
            error = _storage_error(exc)
            if self._writer_conn is not None and self._writer_conn.invalidated:
                self._writer_conn = None
            return [(False, error)] * len(group)
        return outcomes

    async def close(self) -> None:
        loop = asyncio.get_running_loop()

        def _close_writer() -> None:
            if self._writer_conn is not None:
                self._writer_conn.close()
                self._writer_conn = None

        await loop.run_in_executor(self._writer, _close_writer)
        if self._quick_conn is not None:
            self._quick_conn.close()
            self._quick_conn = None
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._writer_engine.dispose()
        self._reader_engine.dispose()


#: with a checkpoint thread, the log size (pages) at which the writer checkpoints in a commit
#: after all: the thread's checkpoints overlap writes, so under a steady stream of them the
#: log never ends fully copied and never restarts; the writer's own checkpoint, between
#: writes, copies what the thread has not (little) and lets the next write restart the log
WRITER_CHECKPOINT_PAGES = 8192


def _file_path(url: str) -> str | None:
    """The file a SQLite URL names; None for an in-memory database."""
    path = sa.make_url(url).database
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return path


def _configure_sqlite(
    engine: Engine,
    *,
    begin: str,
    synchronous: str,
    writer: bool,
    checkpoint_pages: int | None = None,
) -> None:
    """Pragmas for each new connection, and its BEGIN; ``checkpoint_pages``: the log size at
    which a commit checkpoints (None: SQLite's default, 1,000)."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        if writer:
            record.info[pending_terms.WRITER] = True
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see below)
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            f"synchronous={synchronous}",
            "busy_timeout=30000",
            "foreign_keys=ON",
            "cache_size=-65536",
            "temp_store=MEMORY",
            "mmap_size=268435456",
            *(() if checkpoint_pages is None else (f"wal_autocheckpoint={checkpoint_pages}",)),
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # on the driver connection: exec_driver_sql's execution context cost as much as the
        # BEGIN itself (measured: 11.5 vs 5.3 µs per transaction, reads and writes alike)
        try:
            conn.connection.dbapi_connection.execute(begin)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(begin, None, exc, sqlite3.Error) from exc


#: PostgreSQL: how often the per-term count deltas are folded into the counts (term_stats)
FOLD_EVERY_SECONDS = 1.0

#: PostgreSQL: at most this often a process that folded deltas vacuums their tables
VACUUM_FOLDED_EVERY_SECONDS = 10.0

#: a pooled PostgreSQL connection unused for longer than this is pinged before it is handed out
PING_AFTER_IDLE_SECONDS = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle: SQLAlchemy's
    ``pool_pre_ping`` checks every checkout, and asyncpg's ping is three round trips (BEGIN, an
    empty statement, ROLLBACK) before the request's own one: 28% of a filtered list's time in the
    server. A connection in steady use has just answered; one that sat idle may have been closed
    by a database restart or a proxy, and is then replaced before the request sees it."""

    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["threadline_idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _handed_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("threadline_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_conn.ping()
        except Exception as exc:  # the pool discards it and tries another connection
            raise sa.exc.DisconnectionError(f"idle connection failed its ping: {exc}") from exc


def _alone_read(conn: Connection, fn: Op[T], *args: Any) -> T:
    """``fn`` allowed one statement, outside a transaction (SQLite: with no BEGIN, a statement
    is its own read transaction); a statement run through SQLAlchemy began one, ended here."""
    try:
        return _alone(conn, fn, *args)
    finally:
        if conn.in_transaction():
            conn.rollback()


def _alone(conn: Connection, fn: Op[T], *args: Any) -> T:
    """``fn`` on an autocommit connection, allowed one statement (``raw.count_statement``)."""
    conn.info[raw.ONE_STATEMENT] = 0
    try:
        return fn(conn, *args)
    finally:
        conn.info.pop(raw.ONE_STATEMENT, None)


def _guard_statements(engine: Engine) -> None:
    """Statements run through SQLAlchemy (not ``raw``) count against ``one_statement`` too."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _counted(conn: Connection, *_: Any) -> None:
        raw.count_statement(conn)


class _HeldConnections:
    """Connections kept checked out of SQLAlchemy's pool between requests: a checkout and
    check-in through ``engine.connect()`` cost ~120 µs of CPU per request (two greenlet
    switches, pool events, the isolation level set and reset), a sixth of a filtered count's
    time in the server. A connection idle for longer than ``PING_AFTER_IDLE_SECONDS`` is
    pinged before use, as the pool's checkout does (``_ping_when_idle``); one that failed, or
    whose request failed in the database, goes back to the pool, which resets or replaces it."""

    def __init__(self, engine: AsyncEngine, *, limit: int) -> None:
        self._engine = engine
        self._limit = limit
        self._free: list[tuple[AsyncConnection, float]] = []  # last used last

    async def acquire(self) -> AsyncConnection:
        while self._free:
            conn, since = self._free.pop()
            if time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
                return conn
            try:
                await conn.run_sync(_ping)
            except Exception:
                log.info("a held connection failed its ping; replacing it", exc_info=True)
                await conn.invalidate()
                await conn.close()
                continue
            return conn
        return await self._engine.connect()

    async def release(self, conn: AsyncConnection, reusable: bool) -> None:
        if (
            reusable
            and len(self._free) < self._limit
            and not conn.closed
            and not conn.invalidated
            and not conn.in_transaction()
        ):
            self._free.append((conn, time.monotonic()))
        else:
            await conn.close()

    async def close(self) -> None:
        free, self._free = self._free, []
        for conn, _ in free:
            await conn.close()


def _transacted(conn: Connection, fn: Op[T], *args: Any) -> T:
    """``fn`` in a transaction, begun and ended inside the one ``run_sync``."""
    with conn.begin():
        return fn(conn, *args)


def _autocommitted(conn: Connection, fn: Op[T], *args: Any) -> T:
    """``fn`` on an autocommit connection, which is then left outside SQLAlchemy's autobegun
    transaction (a no-op for the driver) so that it can be held for the next request."""
    try:
        return fn(conn, *args)
    finally:
        if conn.in_transaction():
            conn.rollback()


def _ping(conn: Connection) -> None:
    conn.connection.dbapi_connection.ping()  # type: ignore[union-attr]


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        # ``pool_size`` connections stay open between requests, as many as SQLAlchemy's pool
        # alone kept: all but one held for the next request (a fifth of them for transactions),
        # one idle in the pool; at most twice that under load.
        held_transactional = pool_size // 5
        held_autocommit = max(pool_size - held_transactional - 1, 0)
        pooled = pool_size - held_autocommit - held_transactional
        self._engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pooled,
            max_overflow=2 * pool_size - pooled,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        _ping_when_idle(self._engine.sync_engine)
        _guard_statements(self._engine.sync_engine)
        # Reads need no transaction (READ COMMITTED gives each statement its own snapshot
        # either way): autocommit saves the BEGIN and ROLLBACK round trips.
        self._read_engine = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        self._autocommit = _HeldConnections(self._read_engine, limit=held_autocommit)
        self._transactional = _HeldConnections(self._engine, limit=held_transactional)
        self._folder: asyncio.Task[None] | None = None
        self._inserts = insert_batches.InsertBatcher(self._run_autocommitted)

    async def read(
        self, fn: Op[T], *args: Any, quick: bool = False, one_statement: bool = False
    ) -> T:
        if one_statement:
            fn, args = _alone, (fn, *args)  # reads are autocommit: only the guard is added
        return await self._run(self._autocommit, fn, args, transaction=False)

    async def write(
        self, fn: Op[T], *args: Any, quick: bool = False, one_statement: bool = False
    ) -> T:
        if one_statement:
            return await self._run(self._autocommit, _alone, (fn, *args), transaction=False)
        return await self._run(self._transactional, fn, args, transaction=True)

    async def insert_together(self, plan: insert_batches.PlannedInsert) -> None:
        await self._inserts.insert(plan)

    async def _run_autocommitted(self, fn: Op[T], *args: Any) -> T:
        return await self._run(self._autocommit, fn, args, transaction=False)

    async def run_migrations(self) -> None:
        await super().run_migrations()
        if self._folder is None:  # the tables it folds exist from here on
            self._folder = asyncio.get_running_loop().create_task(self._fold_counts())

    async def _fold_counts(self) -> None:
        """Fold the per-term count deltas every FOLD_EVERY_SECONDS once this process has
        migrated the database, as every server does at start-up (term_stats.compact; counts
        are exact either way, folding keeps them one lookup), and vacuum what the folds left
        behind at most every VACUUM_FOLDED_EVERY_SECONDS (term_stats.vacuum)."""
        folded, vacuumed_at = False, time.monotonic()
        while True:
            await asyncio.sleep(FOLD_EVERY_SECONDS)
            try:
                changed = await self._run(
                    self._transactional, term_stats.compact, (), transaction=True
                )
                folded = folded or changed > 0
                if folded and time.monotonic() - vacuumed_at >= VACUUM_FOLDED_EVERY_SECONDS:
                    folded, vacuumed_at = False, time.monotonic()
                    await self._run(self._autocommit, term_stats.vacuum, (), transaction=False)
            except Exception:  # the next round tries again; counts stay exact meanwhile
                log.exception("folding metadata term counts failed")

    async def _run(
        self, held: _HeldConnections, fn: Op[T], args: tuple[Any, ...], *, transaction: bool
    ) -> T:
        conn = await held.acquire()
        reusable = False
        try:
            result = await conn.run_sync(_transacted if transaction else _autocommitted, fn, *args)
            reusable = True
            return result
        except Exception as exc:
            reusable = isinstance(exc, DomainError)  # the database never saw a problem
            raise _storage_error(exc) from exc
        finally:
            await held.release(conn, reusable)

    async def close(self) -> None:
        if self._folder is not None:
            self._folder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._folder
        await self._inserts.close()
        await self._autocommit.close()
        await self._transactional.close()
        await self._engine.dispose()
