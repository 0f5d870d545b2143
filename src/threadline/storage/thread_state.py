"""Thread rows with their state columns, as the LangGraph surface and /v1 state use them.

The rows are the same ``threads`` rows the native API serves; this module reads and writes the
state columns added by migration 0004 (values, interrupts, config, error, state_updated_at, TTL)
next to the core ones. Metadata filters go through the shared filter engine
(:func:`threadline.storage.filtering.thread_metadata_contains`, jsonb ``@>`` semantics on both
databases, SQLite's term index included); ``values`` filters use :func:`json_contains` (a GIN
index on PostgreSQL; a scan of the candidate rows on SQLite).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.filters import equals, metadata_containment
from threadline.storage import pending_terms, raw, thread_search
from threadline.storage import threads as thread_store
from threadline.storage.columns import AnyRow
from threadline.storage.filtering import (
    SELECTIVE,
    json_contains,
    rarest_term,
    term_candidates,
    thread_metadata_contains,
)
from threadline.storage.metadata_index import filter_terms
from threadline.storage.pagination import PageRequest
from threadline.storage.schema import threads

_SELECT = sa.select(
    threads.c.id,
    threads.c.metadata,
    threads.c.status,
    threads.c.created_at,
    threads.c.updated_at,
    threads.c.state_updated_at,
    threads.c["values"],
    threads.c.interrupts,
    threads.c.config,
    threads.c.error,
    threads.c.expires_at,
    threads.c.ttl_strategy,
    threads.c.ttl_minutes,
)

SORTABLE = {
    "thread_id": threads.c.id,
    "status": threads.c.status,
    "created_at": threads.c.created_at,
    "updated_at": threads.c.updated_at,
    "state_updated_at": threads.c.state_updated_at,
}


def to_dict(row: AnyRow) -> dict[str, Any]:
    return from_mapping(row._mapping)


def from_mapping(m: Mapping[Any, Any]) -> dict[str, Any]:
    ttl = None
    if m["ttl_strategy"] is not None:
        ttl = {
            "strategy": m["ttl_strategy"],
            "ttl_minutes": m["ttl_minutes"],
            "expires_at": m["expires_at"],
        }
    return {
        "id": m["id"],
        "metadata": m["metadata"] or {},
        "status": m["status"],
        "created_at": m["created_at"],
        "updated_at": m["updated_at"],
        "state_updated_at": m["state_updated_at"] or m["updated_at"],
        "values": m["values"],
        "interrupts": m["interrupts"] or {},
        "config": m["config"] or {},
        "error": m["error"],
        "ttl": ttl,
    }


def _where_id(project_id: str, thread_id: str) -> list[Any]:
    return [threads.c.project_id == project_id, threads.c.id == thread_id]


# Hot statements are built once with bound parameters: building a SQLAlchemy expression per
# request costs more than running the query.
_BY_ID = _SELECT.where(
    threads.c.project_id == sa.bindparam("project_id"), threads.c.id == sa.bindparam("thread_id")
)
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()


_READ_BY_ID = raw.Reader(_BY_ID)
_READ_BY_ID_FOR_UPDATE = raw.Reader(_BY_ID_FOR_UPDATE)


def get(
    conn: Connection, project_id: str, thread_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    reader = (
        _READ_BY_ID_FOR_UPDATE if for_update and conn.dialect.name == "postgresql" else _READ_BY_ID
    )
    found = reader.rows(conn, {"project_id": project_id, "thread_id": thread_id})
    return from_mapping(found[0]) if found else None


_HEADER = sa.select(threads.c.id, threads.c.metadata, threads.c.status).where(
    threads.c.project_id == sa.bindparam("project_id"), threads.c.id == sa.bindparam("thread_id")
)
_READ_HEADER = raw.Reader(_HEADER)
_READ_HEADER_FOR_UPDATE = raw.Reader(_HEADER.with_for_update())


def header(
    conn: Connection, project_id: str, thread_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    """``id``, ``metadata`` and ``status`` of a thread: what a state update checks, without
    decoding the state it mirrors (``for_update`` locks the row on PostgreSQL)."""
    reader = (
        _READ_HEADER_FOR_UPDATE
        if for_update and conn.dialect.name == "postgresql"
        else _READ_HEADER
    )
    found = reader.rows(conn, {"project_id": project_id, "thread_id": thread_id})
    if not found:
        return None
    row = found[0]
    row["metadata"] = row["metadata"] or {}
    return row


def exists(conn: Connection, project_id: str, thread_id: str) -> bool:
    return thread_store.exists(conn, project_id, thread_id)


def insert(conn: Connection, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Insert a thread (core columns through :func:`threads.insert_row`, plus state columns)."""
    thread_id = thread_store.insert_row(conn, project_id, data)
    if "created_at" not in data:
        thread = get(conn, project_id, thread_id)
        assert thread is not None
        return thread
    now = data["created_at"]  # what insert_row stored: no need to read it back
    ttl = None
    if data.get("ttl_strategy") is not None:
        ttl = {
            "strategy": data["ttl_strategy"],
            "ttl_minutes": data["ttl_minutes"],
            "expires_at": data["expires_at"],
        }
    return {
        "id": thread_id,
        "metadata": data.get("metadata") or {},
        "status": data.get("status") or "idle",
        "created_at": now,
        "updated_at": now,
        "state_updated_at": now,
        "values": data.get("values"),
        "interrupts": data.get("interrupts") or {},
        "config": data.get("config") or {},
        "error": data.get("error"),
        "ttl": ttl,
    }


_SET_METADATA = (
    threads.update()
    .where(
        threads.c.project_id == sa.bindparam("p_project"),
        threads.c.id == sa.bindparam("p_thread"),
    )
    .values(
        {
            threads.c.metadata: sa.bindparam("p_metadata", type_=threads.c.metadata.type),
            threads.c.updated_at: sa.bindparam("p_now", type_=threads.c.updated_at.type),
        }
    )
)


def update(
    conn: Connection,
    project_id: str,
    thread_id: str,
    changes: dict[str, Any],
    *,
    reindex_metadata: bool = False,
    previous: dict[str, Any] | None = None,
) -> bool:
    """Set columns of one thread; False if it does not exist. With ``reindex_metadata`` the
    term index follows ``changes["metadata"]``; ``previous``: the thread as it was (its
    metadata and creation time), so that only changed terms are rewritten."""
    if changes.keys() == {"metadata", "updated_at"}:  # the common PATCH: a prepared statement
        params = {
            "p_project": project_id,
            "p_thread": thread_id,
            "p_now": raw.time_param(conn, changes["updated_at"]),
            "p_metadata": raw.json_param(changes["metadata"]),
        }
        updated = raw.execute(conn, _SET_METADATA, params).rowcount
    else:
        where = _where_id(project_id, thread_id)
        updated = conn.execute(threads.update().where(*where).values(changes)).rowcount
    if updated == 0:
        return False
    if reindex_metadata:
        if previous is None:
            raise ValueError("reindex_metadata needs the thread as it was (previous)")
        thread_store._index_metadata(
            conn,
            project_id,
            thread_id,
            changes["metadata"],
            created_at=previous["created_at"],
            previous=previous["metadata"] or {},
        )
    return True


_SET_STATE = (
    threads.update()
    .where(
        threads.c.project_id == sa.bindparam("p_project"),
        threads.c.id == sa.bindparam("p_thread"),
    )
    .values(
        {
            threads.c["values"]: sa.bindparam("p_values", type_=threads.c["values"].type),
            threads.c.interrupts: sa.bindparam("p_interrupts", type_=threads.c.interrupts.type),
            threads.c.status: sa.bindparam("p_status"),
            threads.c.error: None,
            threads.c.updated_at: sa.bindparam("p_now", type_=threads.c.updated_at.type),
            threads.c.state_updated_at: sa.bindparam("p_now", type_=threads.c.updated_at.type),
        }
    )
)


#: the same, also taking the number of the thread's next stream event (events.append's ``seq``)
_SET_STATE_AND_SEQ = _SET_STATE.values(event_seq=threads.c.event_seq + 1).returning(
    threads.c.event_seq
)


def set_state(
    conn: Connection,
    project_id: str,
    thread_id: str,
    *,
    values: Any,
    interrupts: dict[str, Any],
    status: str,
    now: datetime,
    next_event: bool = False,
) -> int | None:
    """Mirror a new head checkpoint on the thread row (error cleared, timestamps bumped).
    ``next_event``: also number the thread's next stream event, in the same UPDATE, and
    return that number (None if the thread does not exist)."""
    params = {
        "p_project": project_id,
        "p_thread": thread_id,
        "p_values": raw.json_param(values),
        "p_interrupts": raw.json_param(interrupts),
        "p_status": status,
        "p_now": raw.time_param(conn, now),
    }
    if not next_event:
        raw.execute(conn, _SET_STATE, params)
        return None
    found = raw.fetchall(conn, _SET_STATE_AND_SEQ, params)
    return int(found[0][0]) if found else None


def delete(conn: Connection, project_id: str, thread_id: str) -> bool:
    """Delete a thread with everything that hangs off it; False if it did not exist."""
    if not thread_store.exists(conn, project_id, thread_id):
        return False
    thread_store.delete(conn, project_id, thread_id)
    return True


def _filters(
    conn: Connection,
    project_id: str,
    *,
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    ids: Sequence[str] | None,
    status: str | None,
    driver: int = 0,
) -> list[Any]:
    where: list[Any] = [threads.c.project_id == project_id]
    if metadata or values:
        where.extend(_json_conditions(conn.dialect.name, project_id, metadata, values, driver))
    if ids is not None:
        where.append(threads.c.id.in_(list(ids)))
    if status is not None:
        where.append(threads.c.status == sa.bindparam("p_status"))
    return where


# Built containment conditions and statements, by (dialect, project, filter): reusing the same
# statement object spares SQLAlchemy rebuilding its cache key, the largest cost of a filtered query.
_BUILT: OrderedDict[tuple[str, str, bytes], Any] = OrderedDict()
_BUILT_LOCK = threading.Lock()
_BUILT_MAX = 4096


def _json_conditions(
    dialect: str,
    project_id: str,
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    driver: int,
) -> list[Any]:
    filters = orjson.dumps([metadata, values, driver], option=orjson.OPT_SORT_KEYS)
    key = (dialect, project_id, filters)
    with _BUILT_LOCK:
        found: list[Any] | None = _BUILT.get(key)
        if found is not None:
            _BUILT.move_to_end(key)
            return found
    built: list[Any] = []
    if metadata:
        terms = filter_terms(metadata)
        if dialect == "sqlite" and terms:
            built.append(term_candidates(project_id, driver or terms[0]))
        built.append(thread_metadata_contains(metadata, dialect))
    if values:
        built.append(threads.c["values"].is_not(None))
        built.append(json_contains(threads.c["values"], values, dialect))
    with _BUILT_LOCK:
        _BUILT[key] = built
        if len(_BUILT) > _BUILT_MAX:
            _BUILT.popitem(last=False)
    return built


def _plan(conn: Connection, project_id: str, metadata: dict[str, Any] | None) -> tuple[int, int]:
    """SQLite: the rarest term of a metadata filter and how many threads hold it."""
    found = rarest_term(conn, project_id, metadata) if metadata else None
    return found if found is not None else (0, -1)


def _fast_plan(
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    ids: Sequence[str] | None,
    status: str | None,
) -> thread_search.Plan | None:
    """The shared fast search (storage/thread_search.py) for a metadata/status search."""
    if values or ids is not None:
        return None
    conditions = [metadata_containment(metadata)] if metadata else []
    if status is not None:
        conditions.append(equals("status", status))
    return thread_search.plan(conditions)


def is_quick(
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None = None,
    ids: Sequence[str] | None = None,
    status: str | None = None,
) -> bool:
    """Whether a search or count of this shape is an indexed one (``Database.read(quick=)``)."""
    return _fast_plan(metadata, values, ids, status) is not None


def search(
    conn: Connection,
    project_id: str,
    *,
    metadata: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    ids: Sequence[str] | None = None,
    status: str | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str = "created_at",
    descending: bool = True,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of matching threads and whether more follow."""
    pending_terms.require_merged(conn)
    fast = _fast_plan(metadata, values, ids, status)
    if fast is not None and thread_search.applies(conn, project_id, fast):
        page = PageRequest(limit=limit, offset=offset, descending=descending, include_total=False)
        column = "id" if sort_by == "thread_id" else sort_by
        found = thread_search.search(conn, project_id, fast, page, column, _SELECT)
        if found is not None:
            return [from_mapping(m) for m in found[0]], found[1]
    driver, holders = _plan(conn, project_id, metadata)
    selective = 0 <= holders <= SELECTIVE
    key = ("search", sort_by, descending, selective, status is not None)

    def build() -> Any:
        where = _filters(
            conn,
            project_id,
            metadata=metadata,
            values=values,
            ids=ids,
            status=status,
            driver=driver,
        )
        column: Any = SORTABLE[sort_by]
        tiebreak: Any = threads.c.id
        if selective:
            # few candidates: look them up and sort them, rather than walk the sort index (which
            # SQLite's planner prefers) testing every thread of the project; unary + hides the
            # index from the planner
            column = sa.literal_column(f"+threads.{column.name}")
            tiebreak = sa.literal_column("+threads.id")
        order = (column.desc(), tiebreak.desc()) if descending else (column.asc(), tiebreak.asc())
        page = _SELECT.where(*where).order_by(*order)
        return page.limit(sa.bindparam("p_limit")).offset(sa.bindparam("p_offset"))

    query = (
        build()
        if ids is not None
        else _statement(conn, project_id, key, metadata, values, driver, build)
    )
    params = {"p_status": status, "p_limit": limit + 1, "p_offset": offset}
    rows = conn.execute(query, params).all()
    return [to_dict(r) for r in rows[:limit]], len(rows) > limit


def _statement(
    conn: Connection,
    project_id: str,
    key: tuple[Any, ...],
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    driver: int,
    build: Any,
) -> Any:
    """A whole statement, kept like the conditions in it: reusing the same statement object
    lets SQLAlchemy skip rebuilding its cache key, the largest cost of a filtered query here."""
    full = (conn.dialect.name, project_id, orjson.dumps([metadata, values, driver, key]))
    with _BUILT_LOCK:
        found = _BUILT.get(full)
        if found is not None:
            _BUILT.move_to_end(full)
            return found
    statement = build()
    with _BUILT_LOCK:
        _BUILT[full] = statement
        if len(_BUILT) > _BUILT_MAX:
            _BUILT.popitem(last=False)
    return statement


def count(
    conn: Connection,
    project_id: str,
    *,
    metadata: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    status: str | None = None,
) -> int:
    pending_terms.require_merged(conn)
    fast = _fast_plan(metadata, values, None, status)
    if fast is not None:
        counted = thread_search.count_if_applies(conn, project_id, fast)
        if counted is not None:
            return counted
    driver = _plan(conn, project_id, metadata)[0] if len(metadata or {}) > 1 else 0

    def build() -> Any:
        where = _filters(
            conn,
            project_id,
            metadata=metadata,
            values=values,
            ids=None,
            status=status,
            driver=driver,
        )
        return sa.select(sa.func.count()).select_from(threads).where(*where)

    key = ("count", status is not None)
    query = _statement(conn, project_id, key, metadata, values, driver, build)
    return int(conn.execute(query, {"p_status": status}).scalar_one())


def expired(conn: Connection, now: datetime, limit: int) -> list[tuple[str, str, str]]:
    """(project_id, thread_id, strategy) of threads whose TTL has passed, soonest first."""
    query = (
        sa.select(threads.c.project_id, threads.c.id, threads.c.ttl_strategy)
        .where(threads.c.expires_at.is_not(None), threads.c.expires_at <= now)
        .order_by(threads.c.expires_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":  # processes sweeping at once take different rows
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query).all()
    return [(r[0], r[1], r[2] or "delete") for r in rows]
