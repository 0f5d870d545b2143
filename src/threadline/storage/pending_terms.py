"""SQLite's pending list of metadata terms: what PostgreSQL's GIN ``fastupdate`` does for its index.

A thread create appends one row holding all of the thread's terms (a sequential insert) instead
of inserting each term into ``thread_metadata_terms``, where each lands on a random page of the
index and of its secondary indexes, and every such page is written to the WAL again at every
group commit. Measured by inserting threads in groups of 7 into a 12,000-thread database: 365 µs
per thread with the terms inserted directly, 180 with the pending list and its merges, 127 with
no term index at all; in the server, thread creates went from 1,750/s to 2,470/s. (Measured
before 0011 made the index one B-tree instead of four.)

The list is merged into the index in term order, in one statement:

* by the writer, every :data:`MERGE_EVERY` threads (``append`` says when; the database runs the
  merge as a write of its own, after the group that crossed the mark);
* before anything reads the index: readers call :func:`require_merged`, which merges in place
  on the writer connection and raises :class:`TermsPending` on a reader connection (the
  database then runs a merge and reads again; on that second read the rows still pending belong
  to writes acknowledged after the read began, which it need not see).

A thread's terms are either pending or in the index, never both: a metadata change or a delete
of a thread still pending rewrites or drops its pending row (:func:`replace`, :func:`forget`),
found through the list's index by thread (0012: a scan of ~1,000 rows took a quarter of a
metadata update's time).

PostgreSQL writes its terms directly (its cost is the round trips, not the pages), so these
functions do nothing there.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.engine import Connection

#: merge once this many threads are pending
MERGE_EVERY = 1024

#: connection.info keys: the writer's connection; a merge is due; this read already merged
WRITER = "threadline_writer"
MERGE_DUE = "threadline_merge_due"
MERGED = "threadline_terms_merged"

_APPEND = (
    "INSERT INTO thread_metadata_pending (project_id, thread_id, created_at, terms) "
    "VALUES (?, ?, ?, ?)"
)
_REPLACE = "UPDATE thread_metadata_pending SET terms = ? WHERE project_id = ? AND thread_id = ?"
_FORGET = "DELETE FROM thread_metadata_pending WHERE project_id = ? AND thread_id = ?"
_ANY = "SELECT 1 FROM thread_metadata_pending LIMIT 1"
MERGE_SQL = (
    "INSERT INTO thread_metadata_terms (term, project_id, thread_id, created_at) "
    "SELECT j.value, p.project_id, p.thread_id, p.created_at "
    "FROM thread_metadata_pending AS p, json_each(p.terms) AS j "
    "ORDER BY p.project_id, j.value, p.created_at, p.thread_id",
    "DELETE FROM thread_metadata_pending",
)


class TermsPending(Exception):
    """A reader met unmerged terms: merge (a write) and read again."""


def _driver(conn: Connection) -> Any:
    return conn.connection.dbapi_connection


def append(
    conn: Connection, project_id: str, thread_id: str, created: Any, terms: list[int]
) -> None:
    """Queue a new thread's terms (SQLite); ``created``: its creation time in driver form."""
    if not terms:  # empty metadata: nothing to index (a later change indexes it directly)
        return
    cur = _driver(conn).execute(
        _APPEND, (project_id, thread_id, created, orjson.dumps(terms).decode())
    )
    if cur.lastrowid % MERGE_EVERY == 0:  # rowids restart at 1 once the list is merged
        conn.info[MERGE_DUE] = True


def replace(conn: Connection, project_id: str, thread_id: str, terms: list[int]) -> bool:
    """Give a pending thread new terms; False when its terms are in the index (SQLite)."""
    cur = _driver(conn).execute(_REPLACE, (orjson.dumps(terms).decode(), project_id, thread_id))
    return bool(cur.rowcount)


def forget(conn: Connection, project_id: str, thread_id: str) -> bool:
    """Drop a deleted thread's pending terms; whether it had any (SQLite)."""
    if conn.dialect.name != "sqlite":
        return False
    return bool(_driver(conn).execute(_FORGET, (project_id, thread_id)).rowcount)


def merge(conn: Connection) -> None:
    """Move every pending term into the index (run in a write transaction)."""
    if conn.dialect.name != "sqlite":
        return
    driver = _driver(conn)
    if driver.execute(_ANY).fetchone() is None:
        return
    for statement in MERGE_SQL:
        driver.execute(statement)


def require_merged(conn: Connection) -> None:
    """Call before reading or changing the term index; see the module docstring."""
    if conn.dialect.name != "sqlite" or conn.info.get(MERGED):
        return
    if _driver(conn).execute(_ANY).fetchone() is None:
        return
    if not conn.info.get(WRITER):
        raise TermsPending
    merge(conn)
