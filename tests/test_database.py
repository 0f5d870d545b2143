"""Storage contract: transactions, group commit, migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tests.conftest import Tenant
from threadline.core.errors import Conflict, NotFound
from threadline.core.filters import metadata_containment
from threadline.core.service import Service
from threadline.storage import threads
from threadline.storage.database import Database, OneStatementBroken, normalize_url, redact
from threadline.storage.migrate import current_revision, head_revision
from threadline.storage.schema import threads as threads_table
from threadline.storage.wal_checkpoint import WalCheckpointer


class Boom(Exception):
    pass


def _insert_then(conn: Connection, project_id: str, thread_id: str, fail: bool) -> str:
    threads.insert_row(conn, project_id, {"id": thread_id})
    if fail:
        raise Boom(thread_id)
    return thread_id


def _ids(conn: Connection, project_id: str) -> set[str]:
    query = sa.select(threads_table.c.id).where(threads_table.c.project_id == project_id)
    return set(conn.execute(query).scalars())


async def test_a_failing_write_leaves_nothing(db: Database, tenant: Tenant) -> None:
    with pytest.raises(Boom):
        await db.write(_insert_then, tenant.project_id, "half", True)
    assert await db.read(_ids, tenant.project_id) == set()


async def test_concurrent_writes_fail_alone(db: Database, tenant: Tenant) -> None:
    """Grouped commits isolate each request: failures roll back only their own rows."""
    results = await asyncio.gather(
        *(db.write(_insert_then, tenant.project_id, f"c{i}", i % 5 == 0) for i in range(60)),
        return_exceptions=True,
    )
    failed = {f"c{i}" for i in range(60) if i % 5 == 0}
    assert {r.args[0] for r in results if isinstance(r, Boom)} == failed
    assert await db.read(_ids, tenant.project_id) == {f"c{i}" for i in range(60)} - failed


async def test_unique_violation_becomes_conflict(db: Database, tenant: Tenant) -> None:
    await db.write(_insert_then, tenant.project_id, "dup", False)
    with pytest.raises(Conflict):
        await db.write(_insert_then, tenant.project_id, "dup", False)
    # the writer is healthy afterwards
    await db.write(_insert_then, tenant.project_id, "after", False)
    assert await db.read(_ids, tenant.project_id) == {"dup", "after"}


def _two_statements(conn: Connection, project_id: str, thread_id: str) -> None:
    """An INSERT through ``raw``, then an UPDATE through SQLAlchemy: both paths are counted."""
    threads.insert_row(conn, project_id, {"id": thread_id, "metadata": {"k": thread_id}})
    where = (threads_table.c.project_id == project_id, threads_table.c.id == thread_id)
    conn.execute(threads_table.update().where(*where).values(name="renamed"))


def _names(conn: Connection, project_id: str) -> dict[str, str | None]:
    query = sa.select(threads_table.c.id, threads_table.c.name)
    rows = conn.execute(query.where(threads_table.c.project_id == project_id))
    return {row[0]: row[1] for row in rows}


async def test_a_one_statement_write_cannot_run_a_second(db: Database, tenant: Tenant) -> None:
    """PostgreSQL runs a ``one_statement`` write without a transaction of its own, so a
    second statement would not be atomic with the first: it is refused before it runs."""
    project = tenant.project_id
    if db.dialect == "postgresql":
        with pytest.raises(OneStatementBroken):
            await db.write(_two_statements, project, "first", one_statement=True)
        assert await db.read(_names, project) == {"first": None}  # the first one ran alone
    else:  # SQLite commits writes in groups and ignores the promise
        await db.write(_two_statements, project, "first", one_statement=True)
        assert await db.read(_names, project) == {"first": "renamed"}
    # the connection went back to the pool in its normal state: ordinary writes still work
    await db.write(_two_statements, project, "second")
    assert (await db.read(_names, project))["second"] == "renamed"


@pytest.mark.parametrize("quick", [True, False])
async def test_a_one_statement_read_runs_alone_and_sees_later_writes(
    db: Database, tenant: Tenant, quick: bool
) -> None:
    """A read promised as one statement runs without a transaction of its own: a second
    statement is refused, and the connection is left in no transaction (on SQLite an open
    one would keep its snapshot, and the next read would miss what was written since)."""
    project = tenant.project_id
    with pytest.raises(OneStatementBroken):
        await db.read(_ids_twice, project, quick=quick, one_statement=True)
    for name in ("one", "two"):
        await db.write(_insert_then, project, name, False)
        for _ in range(3):  # the event loop's connection and the readers' alike
            seen = await db.read(_ids, project, quick=quick, one_statement=True)
            assert name in seen
    assert await db.read(_ids, project) == {"one", "two"}


def _ids_twice(conn: Connection, project_id: str) -> set[str]:
    return _ids(conn, project_id) | _ids(conn, project_id)


async def test_a_one_statement_create_is_all_or_nothing(db: Database, tenant: Tenant) -> None:
    """A thread create written as one statement (its row and its metadata terms) that
    conflicts leaves no terms behind: a search by its metadata finds only the first thread."""
    project = tenant.project_id
    data = {"id": "taken", "metadata": {"team": "a"}}
    assert threads.one_statement_create(data)
    await db.write(threads.create, project, data, one_statement=True)
    clash = {"id": "taken", "metadata": {"team": "b"}}
    with pytest.raises(Conflict):
        await db.write(threads.create, project, clash, one_statement=True)
    for team, expected in (("a", 1), ("b", 0)):
        condition = metadata_containment({"team": team})
        assert await db.read(threads.count, project, [condition]) == expected


async def test_domain_errors_pass_through(db: Database, tenant: Tenant) -> None:
    with pytest.raises(NotFound):
        await db.read(threads.get, tenant.project_id, "missing")


async def test_migrations_are_at_head_and_idempotent(db: Database) -> None:
    await db.run_migrations()
    await db.run_migrations()
    assert await db.read(current_revision) == head_revision()


async def test_migrations_run_on_an_empty_database(tmp_path: Any) -> None:
    fresh = Database.create(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        await fresh.run_migrations()
        assert await fresh.read(current_revision) == head_revision()
        tables = await fresh.read(lambda c: set(sa.inspect(c).get_table_names()))
        assert {"projects", "api_keys", "participants", "threads", "steps"} <= tables
    finally:
        await fresh.close()


def _json_round_trip(conn: Connection) -> list[Any]:
    table = sa.Table("json_probe", sa.MetaData(), sa.Column("v", sa.JSON), prefixes=["TEMPORARY"])
    table.create(conn)
    conn.execute(table.insert(), [{"v": 5}, {"v": 2.5}, {"v": "5"}, {"v": [1]}, {"v": {"a": 1}}])
    found = list(conn.execute(sa.select(table.c.v)).scalars())
    table.drop(conn)
    return found


async def test_json_columns_hold_bare_numbers(db: Database) -> None:
    """SQLite stores the JSON text ``5`` as a number (NUMERIC affinity); it still reads back."""
    assert await db.write(_json_round_trip) == [5, 2.5, "5", [1], {"a": 1}]


async def test_ping(db: Database) -> None:
    assert await db.ping()


def test_urls() -> None:
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert normalize_url("postgres://h/db") == "postgresql+asyncpg://h/db"
    assert normalize_url("sqlite+aiosqlite:///x.db") == "sqlite:///x.db"
    assert normalize_url("/tmp/x.db") == "sqlite:////tmp/x.db"
    assert "secret" not in redact("postgresql://u:secret@h/db")


def _synchronous(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


@pytest.mark.parametrize(("setting", "pragma"), [("FULL", 2), ("NORMAL", 1)])
async def test_sqlite_commit_durability_setting(tmp_path: Any, setting: str, pragma: int) -> None:
    db = Database.create(f"sqlite:///{tmp_path}/d.db", synchronous=setting)
    try:
        assert await db.write(_synchronous) == pragma
    finally:
        await db.close()
    with pytest.raises(ValueError, match="FULL or NORMAL"):
        Database.create(f"sqlite:///{tmp_path}/e.db", synchronous="OFF")


def _fill(conn: Connection, rows: int) -> int:
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (body BLOB)")
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(4000),) for _ in range(rows)])
    return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


async def test_sqlite_log_reaches_the_database_file_off_the_commit_path(tmp_path: Any) -> None:
    """The writer leaves checkpoints to a thread of its own: 8 MB written reach the database
    file (which only a checkpoint writes to) although no commit checkpoints below 32 MB."""
    path = tmp_path / "d.db"
    db = Database.create(f"sqlite:///{path}")
    try:
        await db.write(lambda c: c.exec_driver_sql("SELECT 1"))
        before = path.stat().st_size
        assert await db.write(_fill, 2000) == 8192  # pages: the writer's own checkpoints
        for _ in range(100):
            if path.stat().st_size > before + 8_000_000:
                break
            await asyncio.sleep(0.05)
        assert path.stat().st_size > before + 8_000_000
        count = await db.read(lambda c: c.exec_driver_sql("SELECT count(*) FROM filler").scalar())
        assert count == 2000
    finally:
        await db.close()


async def test_sqlite_log_stays_bounded_under_a_steady_stream_of_writes(tmp_path: Any) -> None:
    """Checkpoints that overlap writes never leave the log fully copied; the writer's own
    checkpoint at 8,192 pages (32 MB) lets it restart: of 160 MB written back to back, the log
    holds a bounded part (32 MB and the groups committed while a checkpoint was busy), not all
    of it."""
    path = tmp_path / "d.db"
    db = Database.create(f"sqlite:///{path}")
    try:
        await db.write(_fill, 0)

        async def writer() -> None:
            for _ in range(25):
                await db.write(_fill, 100)  # 400 KB

        await asyncio.gather(*(writer() for _ in range(16)))
        wal = path.with_name("d.db-wal").stat().st_size
        assert wal < 96_000_000, f"the log grew to {wal:,} bytes"
    finally:
        await db.close()


def test_a_failing_checkpoint_is_retried_and_logged_once_a_minute(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A log that cannot be checkpointed (here: the database path is a folder) does not stop
    the thread or flood the log: ~20 failed rounds, one error logged."""
    database = tmp_path / "d.db"
    database.mkdir()
    (tmp_path / "d.db-wal").write_bytes(b"")
    checkpointer = WalCheckpointer(str(database), interval=0.01)
    try:
        time.sleep(0.25)
        assert checkpointer.alive
    finally:
        checkpointer.close()
    failures = [r for r in caplog.records if "checkpointing" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelname == "ERROR"


async def test_quick_sqlite_reads_from_another_thread_use_their_own_connection(
    tmp_path: Any,
) -> None:
    """A quick SQLite read runs on the calling thread; one from a second thread (its own event
    loop) must not share the first thread's connection, and both see committed writes."""
    db = Database.create(f"sqlite:///{tmp_path}/q.db")
    try:

        def note(conn: Connection, text: str) -> None:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
            conn.exec_driver_sql("INSERT INTO notes VALUES (?)", (text,))

        def notes(conn: Connection) -> list[str]:
            return [r[0] for r in conn.exec_driver_sql("SELECT text FROM notes ORDER BY 1")]

        await db.write(note, "a")
        assert await db.read(notes, quick=True) == ["a"]
        await db.write(note, "b")
        elsewhere = await asyncio.to_thread(asyncio.run, db.read(notes, quick=True))
        assert elsewhere == ["a", "b"]
        assert await db.read(notes, quick=True) == ["a", "b"]
    finally:
        await db.close()


async def _pg_fresh_database() -> tuple[str, Any]:
    """A scratch PostgreSQL database (name, an admin connection to drop it with)."""
    import asyncpg

    from tests.conftest import PG_ENV

    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    url = sa.make_url(base)
    admin = await asyncpg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres"
    )
    name = f"threadline_test_ping_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), admin


@pytest.mark.parametrize("ping_after", [0.0, 3600.0])
async def test_postgres_replaces_pooled_connections_closed_while_idle(
    monkeypatch: pytest.MonkeyPatch, ping_after: float
) -> None:
    """A database restart closes the pool's idle connections: a connection idle for longer than
    PING_AFTER_IDLE_SECONDS is checked first and replaced, so the next request still works
    (with the check effectively off, the same request fails: the check is what saves it)."""
    from threadline.storage import database

    url, admin = await _pg_fresh_database()
    name = sa.make_url(url).database
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", ping_after)
    db = Database.create(url)
    try:
        assert await db.ping()
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await asyncio.sleep(0.1)
        if ping_after == 0.0:
            assert await db.read(lambda c: c.exec_driver_sql("SELECT 41 + 1").scalar()) == 42
        else:
            with pytest.raises(sa.exc.DBAPIError):
                await db.read(lambda c: c.exec_driver_sql("SELECT 41 + 1").scalar())
    finally:
        await db.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _backend(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _fail_in_database(conn: Connection) -> None:
    conn.exec_driver_sql("SELECT * FROM no_such_table")


async def test_postgres_keeps_a_connection_between_requests_unless_one_fails() -> None:
    """Requests in turn are served by one held connection (no pool checkout each time); a
    request that failed in the database hands its connection back to the pool instead, and
    the next request still works."""
    url, admin = await _pg_fresh_database()
    name = sa.make_url(url).database
    db = Database.create(url)
    checkouts: list[int] = []
    sa.event.listen(db._engine.sync_engine, "checkout", lambda *_: checkouts.append(1))  # type: ignore[attr-defined]
    try:
        first = await db.read(_backend)
        assert [await db.read(_backend) for _ in range(5)] == [first] * 5
        assert await db.write(_backend) == await db.write(_backend)  # transactions likewise
        assert len(checkouts) == 2  # one held connection for reads, one for transactions
        with pytest.raises(sa.exc.DBAPIError):
            await db.read(_fail_in_database)
        with pytest.raises(sa.exc.DBAPIError):
            await db.write(_fail_in_database)
        assert await db.read(lambda c: c.exec_driver_sql("SELECT 41 + 1").scalar()) == 42
        assert await db.write(lambda c: c.exec_driver_sql("SELECT 42 + 1").scalar()) == 43
    finally:
        await db.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_postgres_folds_term_counts_only_once_migrated(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The count-folding task starts after the migrations that create its tables: a server
    starting on a fresh database logs no failed folds, and folds what its writes recorded."""
    from threadline.storage import database

    url, admin = await _pg_fresh_database()
    name = sa.make_url(url).database
    monkeypatch.setattr(database, "FOLD_EVERY_SECONDS", 0.01)
    db = Database.create(url)
    try:
        await db.run_migrations()
        project, _ = await Service(db).bootstrap("tl_fold-test-key-0123456789")
        data = {"metadata": {"team": "a"}}
        await db.write(threads.create, project["id"], data, one_statement=True)
        for _ in range(100):
            left = await db.read(
                lambda c: c.exec_driver_sql("SELECT count(*) FROM thread_metadata_term_deltas")
            )
            if left.scalar() == 0:
                break
            await asyncio.sleep(0.02)
        folded = await db.read(
            lambda c: c.exec_driver_sql("SELECT count(*) FROM thread_metadata_term_counts")
        )
        assert folded.scalar() == 1
        assert "folding metadata term counts failed" not in caplog.text
    finally:
        await db.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _fold_rounds(monkeypatch: pytest.MonkeyPatch, vacuum_every: float, rounds: int) -> float:
    """Run ``rounds`` rounds of 5,000 count changes through a fresh PostgreSQL database's
    folding task (folds every 10 ms, vacuums at most every ``vacuum_every`` s); returns how
    the deltas table's largest size after a round, in bursts (the size one round's rows take)."""
    from threadline.storage import database

    url, admin = await _pg_fresh_database()
    name = sa.make_url(url).database
    monkeypatch.setattr(database, "FOLD_EVERY_SECONDS", 0.01)
    monkeypatch.setattr(database, "VACUUM_FOLDED_EVERY_SECONDS", vacuum_every)
    add = sa.text(
        "INSERT INTO thread_metadata_term_deltas (project_id, term, delta) "
        "SELECT :p, t, 1 FROM generate_series(1, 5000) AS t"
    )
    db = Database.create(url)

    def scalar(sql: str) -> Any:
        return db.read(lambda c: c.exec_driver_sql(sql).scalar())

    size = "SELECT pg_relation_size('thread_metadata_term_deltas')"
    sizes: list[int] = []
    burst = 0
    try:
        await db.run_migrations()
        project, _ = await Service(db).bootstrap("tl_vacuum-test-key-0123456789")
        for _ in range(rounds):
            await db.write(lambda c: c.execute(add, {"p": project["id"]}))
            burst = burst or await scalar(size)
            for _ in range(500):  # folded within a few rounds of 10 ms
                if await scalar("SELECT count(*) FROM thread_metadata_term_deltas") == 0:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # a vacuum every 0.05 s is due after each round
            sizes.append(await scalar(size))
        counts = await db.read(
            lambda c: c.exec_driver_sql(
                "SELECT min(threads), max(threads), count(*) FROM thread_metadata_term_counts"
            ).one()
        )
        assert tuple(counts) == (rounds, rounds, 5000)  # every change was folded, once
    finally:
        await db.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return max(sizes) / burst


async def test_postgres_vacuums_folded_deltas(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deltas table is a queue (each row deleted by the next fold): the folding process
    vacuums it, so its size stays that of one burst of writes instead of growing with every
    write ever folded, which each fold would scan (PostgreSQL, autovacuum on or off)."""
    # measured here: 0.0 (vacuum truncates the emptied table); 11.9 with vacuum_every=3600
    assert await _fold_rounds(monkeypatch, 0.05, 12) <= 2
