"""Threads: create, read (with ordered steps), update, upsert, delete, search, count, export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.filters import Condition
from threadline.core.ids import uuid7
from threadline.core.timeutil import utcnow
from threadline.storage import attached, insert_batches, pending_terms, raw, thread_search
from threadline.storage import messages as message_store
from threadline.storage import participants as participant_store
from threadline.storage import steps as step_store
from threadline.storage.columns import AnyRow
from threadline.storage.filtering import (
    compile_conditions,
    metadata_candidates,
)
from threadline.storage.metadata_index import row_terms
from threadline.storage.pagination import PageRequest, count_of, offset_page_info, paginate
from threadline.storage.schema import participants, thread_metadata_terms, threads

ORDERABLE = {
    "createdAt": "created_at",
    "created_at": "created_at",
    "updatedAt": "updated_at",
    "updated_at": "updated_at",
}

_JOIN = threads.outerjoin(
    participants,
    sa.and_(
        participants.c.project_id == threads.c.project_id,
        participants.c.id == threads.c.participant_id,
    ),
)
_SELECT = sa.select(
    threads.c.id,
    threads.c.name,
    threads.c.metadata,
    threads.c.tags,
    threads.c.participant_id,
    threads.c.environment,
    threads.c.status,
    threads.c.created_at,
    threads.c.updated_at,
    threads.c.platforms,
    participants.c.identifier.label("participant_identifier"),
    participants.c.metadata.label("participant_metadata"),
).select_from(_JOIN)


def to_wire(row: AnyRow) -> dict[str, Any]:
    return from_mapping(row._mapping)


def from_mapping(m: Mapping[Any, Any]) -> dict[str, Any]:
    participant = None
    if m["participant_id"] is not None and m["participant_identifier"] is not None:
        participant = {
            "id": m["participant_id"],
            "identifier": m["participant_identifier"],
            "metadata": m["participant_metadata"] or {},
        }
    return {
        "id": m["id"],
        "name": m["name"],
        "metadata": m["metadata"] or {},
        "tags": m["tags"] or [],
        "participant_id": m["participant_id"],
        "participant": participant,
        "environment": m["environment"],
        "status": m["status"],
        "created_at": m["created_at"],
        "updated_at": m["updated_at"],
        "platforms": m["platforms"] or {},
    }


def _where_id(project_id: str, thread_id: str) -> Any:
    return sa.and_(threads.c.project_id == project_id, threads.c.id == thread_id)


def exists(conn: Connection, project_id: str, thread_id: str) -> bool:
    query = sa.select(threads.c.id).where(_where_id(project_id, thread_id))
    return conn.execute(query).first() is not None


def _index_metadata(
    conn: Connection,
    project_id: str,
    thread_id: str,
    meta: dict[str, Any],
    *,
    created_at: datetime,
    previous: dict[str, Any] | None,
) -> None:
    """Keep the metadata term index (both databases: thread_search plans from it) in step with
    a thread's metadata. ``created_at``: the thread's creation time (part of each term's key);
    ``previous``: the metadata it had (None for a new thread). Only changed terms are written."""
    terms = row_terms(meta)
    created = raw.time_param(conn, created_at)
    if conn.dialect.name == "sqlite":  # a new thread's terms wait in the pending list
        if previous is None:
            pending_terms.append(conn, project_id, thread_id, created, terms)
            return
        if pending_terms.replace(conn, project_id, thread_id, terms):
            return
    old = set(row_terms(previous)) if previous is not None else set()
    gone = sorted(old.difference(terms))
    new = [t for t in terms if t not in old]
    key = {"project_id": project_id, "created_at": created, "thread_id": thread_id}
    raw.executemany(conn, TERM_DELETE, [{**key, "term": t} for t in gone])
    raw.executemany(conn, TERM_INSERT, [{**key, "term": t} for t in new])


def _unindex_metadata(
    conn: Connection, project_id: str, thread_id: str, meta: dict[str, Any], created_at: datetime
) -> None:
    """Remove a deleted thread's terms (pending or in the index)."""
    if pending_terms.forget(conn, project_id, thread_id):
        return
    key = {
        "project_id": project_id,
        "created_at": raw.time_param(conn, created_at),
        "thread_id": thread_id,
    }
    terms = row_terms(meta)
    raw.executemany(conn, TERM_DELETE, [{**key, "term": t} for t in terms])


#: one term row of the index, deleted or inserted by its whole key (also used by imports)
TERM_DELETE = thread_metadata_terms.delete().where(
    thread_metadata_terms.c.project_id == sa.bindparam("project_id"),
    thread_metadata_terms.c.term == sa.bindparam("term"),
    thread_metadata_terms.c.created_at == sa.bindparam("created_at"),
    thread_metadata_terms.c.thread_id == sa.bindparam("thread_id"),
)
TERM_INSERT = raw.insert(thread_metadata_terms, ("project_id", "term", "created_at", "thread_id"))


def _resolve_participant(conn: Connection, project_id: str, data: dict[str, Any]) -> Any:
    """The participant id named by ``participant_id`` or ``participant_identifier``."""
    if data.get("participant_identifier"):
        return participant_store.ensure(conn, project_id, data["participant_identifier"])
    pid = data.get("participant_id")
    if pid is not None and not participant_store.exists(conn, project_id, pid):
        raise InvalidInput(f"participant {pid!r} does not exist", field="participant_id")
    return pid


#: LangGraph thread state columns a caller may set at insert (storage/thread_state.py)
STATE_COLUMNS = (
    "values",
    "interrupts",
    "config",
    "error",
    "expires_at",
    "ttl_strategy",
    "ttl_minutes",
)


def one_statement_create(data: Mapping[str, Any]) -> bool:
    """Whether :func:`create` / :func:`insert_row` of ``data`` runs one statement on PostgreSQL
    (the row and its metadata terms together): no participant to resolve and no platforms to
    index. The caller may then write it with ``Database.write(one_statement=True)``."""
    return not (
        data.get("participant_id") or data.get("participant_identifier") or data.get("platforms")
    )


def insert_row(conn: Connection, project_id: str, data: dict[str, Any]) -> str:
    """Insert a thread row from already validated data; returns its id."""
    return str(_insert(conn, project_id, data)["id"])


def _new_row(project_id: str, data: dict[str, Any], participant_id: Any) -> dict[str, Any]:
    now = data.get("created_at") or utcnow()
    return {
        "project_id": project_id,
        "id": data.get("id") or uuid7(),
        "name": data.get("name"),
        "metadata": data.get("metadata") or {},
        "tags": data.get("tags") or [],
        "participant_id": participant_id,
        "environment": data.get("environment"),
        "status": data.get("status") or "idle",
        "created_at": now,
        "updated_at": data.get("updated_at") or now,
        "state_updated_at": data.get("state_updated_at") or data.get("updated_at") or now,
        "platforms": data.get("platforms"),
        **{k: data[k] for k in STATE_COLUMNS if k in data},
    }


def _insert(conn: Connection, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
    row = _new_row(project_id, data, _resolve_participant(conn, project_id, data))
    if conn.dialect.name == "postgresql":  # the row and its metadata terms in one statement
        insert_batches.insert_one(conn, _plan(row))
    else:
        try:
            raw.execute(conn, raw.insert_of(threads, row), raw.row_params(conn, threads, row))
        except sa.exc.IntegrityError:
            raise _taken(row["id"]) from None
        _index_metadata(
            conn,
            project_id,
            row["id"],
            row["metadata"],
            created_at=row["created_at"],
            previous=None,
        )
    if data.get("platforms"):
        message_store.index_thread_platforms(
            conn, project_id, row["id"], data["platforms"], replace=False
        )
    return row


def _taken(thread_id: str) -> Conflict:
    return Conflict(f"thread {thread_id!r} exists", field="id")


def planned_create(
    project_id: str, data: dict[str, Any]
) -> tuple[insert_batches.PlannedInsert, dict[str, Any]]:
    """PostgreSQL, for ``data`` that :func:`one_statement_create` accepts: the insert
    :func:`create` would make, planned for ``Database.insert_together``, and the thread as
    :func:`create` returns it."""
    row = _new_row(project_id, data, None)
    return _plan(row), _created(row)


def _plan(row: dict[str, Any]) -> insert_batches.PlannedInsert:
    """PostgreSQL: the insert of a thread ``row`` and of its metadata terms, as a statement
    that takes any number of such rows (``insert_batches``), and the error for a taken id."""
    terms = row_terms(row["metadata"])
    stmt = _insert_rows(tuple(row), with_terms=bool(terms))
    thread_id = row["id"]
    planned = {**row, "p_terms": terms} if terms else row
    return insert_batches.PlannedInsert(stmt, planned, threads, lambda: _taken(thread_id))


def _insert_rows(columns: tuple[str, ...], *, with_terms: bool) -> Any:
    """PostgreSQL: ``INSERT`` of the thread rows of the JSON array parameter ``rows`` (each
    with ``columns``) and, ``with_terms``, of each row's metadata terms (its ``p_terms``, a
    list of term hashes): one statement for any number of rows (a data-modifying CTE)."""

    def build() -> Any:
        if not with_terms:
            return raw.rows_insert(threads, columns)
        given = sa.select(
            raw.recordset(threads, columns, sa.column("p_terms", sa.ARRAY(sa.BigInteger)))
        ).cte("given")
        new_rows = threads.insert().from_select(columns, sa.select(*(given.c[c] for c in columns)))
        holders = sa.select(
            given.c.project_id, sa.func.unnest(given.c.p_terms), given.c.created_at, given.c.id
        )
        return (
            thread_metadata_terms.insert()
            .from_select(("project_id", "term", "created_at", "thread_id"), holders)
            .add_cte(new_rows.cte("new_threads"))
        )

    return raw.shape(
        "insert_rows_with_terms" if with_terms else "insert_rows", threads, columns, build
    )


def create(conn: Connection, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Insert a thread (``Conflict`` if the id is taken) and return it as read back."""
    row = _insert(conn, project_id, data)
    if row["participant_id"] is not None:  # the participant's identifier comes from its row
        return get(conn, project_id, row["id"], include_steps=False)
    return _created(row)


def _created(row: dict[str, Any]) -> dict[str, Any]:
    """A thread with no participant, as :func:`create` returns it, from its inserted row."""
    return {
        "id": row["id"],
        "name": row["name"],
        "metadata": row["metadata"],
        "tags": row["tags"],
        "participant_id": None,
        "participant": None,
        "environment": row["environment"],
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "platforms": row["platforms"] or {},
    }


_BY_ID = raw.Reader(
    _SELECT.where(
        threads.c.project_id == sa.bindparam("project_id"), threads.c.id == sa.bindparam("id")
    )
)


_BY_ID_WITH_PRESENT = raw.Reader(
    _BY_ID.stmt.add_columns(
        *attached.present_columns(sa.bindparam("project_id"), sa.bindparam("id"))
    )
)
#: PostgreSQL: with the steps' wire texts too (one round trip for a thread read)
_BY_ID_WITH_STEPS = raw.Reader(
    _BY_ID_WITH_PRESENT.stmt.add_columns(
        step_store.wire_array(sa.bindparam("project_id"), sa.bindparam("id")).label("wires")
    )
)


def get(
    conn: Connection,
    project_id: str,
    thread_id: str,
    *,
    include_steps: bool = True,
    wire: bool = False,
) -> dict[str, Any]:
    """The thread (with its annotated steps); ``wire``: only for a response (raw.Reader.rows),
    and a thread without reactions, scores or attachments gets its steps as one JSON fragment
    rendered by the database (``steps.unannotated_of_thread_json``)."""
    params = {"project_id": project_id, "id": thread_id}
    reader = _BY_ID_WITH_PRESENT if include_steps else _BY_ID
    with_wires = include_steps and wire and conn.dialect.name == "postgresql"
    found = (_BY_ID_WITH_STEPS if with_wires else reader).rows(conn, params)
    if not found:
        raise NotFound(f"thread {thread_id!r} not found")
    m = found[0]
    thread = from_mapping(m)
    if include_steps:
        has = attached.Present(
            bool(m["has_reactions"]), bool(m["has_scores"]), bool(m["has_attachments"])
        )
        if wire and has == attached.NONE:
            thread["steps"] = (
                step_store.unannotated_json(m["wires"])
                if with_wires
                else step_store.unannotated_of_thread_json(conn, project_id, thread_id)
            )
            thread["attachments"], thread["scores"] = [], []
            return thread
        thread["steps"], thread["attachments"] = step_store.of_thread(
            conn, project_id, thread_id, wire=wire, has=has
        )
        found_scores = [score for step in thread["steps"] for score in step["scores"]]
        thread["scores"] = sorted(found_scores, key=lambda s: (s["created_at"], s["id"]))
    return thread


_UPDATABLE = ("name", "metadata", "tags", "environment", "status", "platforms")


def update(
    conn: Connection,
    project_id: str,
    thread_id: str,
    changes: dict[str, Any],
    *,
    merge_metadata: bool = False,
) -> dict[str, Any]:
    """Apply the fields present in ``changes``; ``merge_metadata`` merges shallowly instead."""
    ids = {"project_id": project_id, "id": thread_id}
    found = _INDEXED.rows(conn, ids)
    if not found:
        raise NotFound(f"thread {thread_id!r} not found")
    row = found[0]
    values: dict[str, Any] = {k: changes[k] for k in _UPDATABLE if k in changes}
    if "metadata" in values:
        meta = values["metadata"] or {}
        if merge_metadata:
            meta = {**(row["metadata"] or {}), **meta}
        values["metadata"] = meta
    if "tags" in values:
        values["tags"] = values["tags"] or []
    if "status" in values and values["status"] is None:
        del values["status"]
    if "participant_identifier" in changes or "participant_id" in changes:
        values["participant_id"] = _resolve_participant(conn, project_id, changes)
    values["updated_at"] = utcnow()
    params = {**raw.row_params(conn, threads, values), "p_project": project_id, "p_id": thread_id}
    raw.execute(conn, raw.update_of(threads, values), params)
    if "metadata" in values:
        _index_metadata(
            conn,
            project_id,
            thread_id,
            values["metadata"],
            created_at=row["created_at"],
            previous=row["metadata"] or {},
        )
    if "platforms" in values:
        message_store.index_thread_platforms(conn, project_id, thread_id, values["platforms"])
    return get(conn, project_id, thread_id, include_steps=False)


#: what ``update`` needs of the thread as it was: its metadata and creation time
_INDEXED = raw.Reader(
    sa.select(threads.c.metadata, threads.c.created_at).where(
        threads.c.project_id == sa.bindparam("project_id"), threads.c.id == sa.bindparam("id")
    )
)


def upsert(
    conn: Connection, project_id: str, thread_id: str, changes: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Update the thread if it exists, else create it; returns (thread, created)."""
    if exists(conn, project_id, thread_id):
        return update(conn, project_id, thread_id, changes), False
    insert_row(conn, project_id, {**changes, "id": thread_id})
    return get(conn, project_id, thread_id, include_steps=False), True


def delete(conn: Connection, project_id: str, thread_id: str) -> None:
    where = _where_id(project_id, thread_id)
    found = conn.execute(sa.select(threads.c.metadata, threads.c.created_at).where(where)).first()
    if found is None:
        raise NotFound(f"thread {thread_id!r} not found")
    attached.before_delete(conn, project_id, thread_id=thread_id)
    conn.execute(threads.delete().where(where))
    _unindex_metadata(conn, project_id, thread_id, found.metadata or {}, found.created_at)


def _where(conn: Connection, project_id: str, conditions: Sequence[Condition]) -> list[Any]:
    return [
        threads.c.project_id == project_id,
        *compile_conditions("threads", conditions, conn.dialect.name),
    ]


def search(
    conn: Connection,
    project_id: str,
    conditions: Sequence[Condition],
    page: PageRequest,
    *,
    order_by: str = "createdAt",
    include_steps: bool = False,
) -> dict[str, Any]:
    column = ORDERABLE.get(order_by)
    if column is None:
        raise InvalidInput(
            f"cannot order threads by {order_by!r}; use createdAt or updatedAt",
            field="order_by.column",
        )
    pending_terms.require_merged(conn)
    fast = thread_search.plan(conditions)
    found = fast and thread_search.search(conn, project_id, fast, page, column, _SELECT)
    if found:
        rows, more, total = found
        data = [from_mapping(m) for m in rows]
        if include_steps and data:
            by_thread = step_store.for_threads(conn, project_id, [t["id"] for t in data])
            for thread in data:
                thread["steps"] = by_thread.get(thread["id"], [])
        return {
            "data": data,
            "page_info": offset_page_info(data, more, page, column),
            "total_count": total,
        }
    where = _where(conn, project_id, conditions)
    driver = _metadata_driver(conn, project_id, conditions, always=False)
    counter = None
    if page.include_total:
        counter = _metadata_driver(conn, project_id, conditions, always=True)
    result = paginate(
        conn,
        _SELECT.where(*where, *([driver] if driver is not None else [])),
        order_col=threads.c[column],
        id_col=threads.c.id,
        request=page,
        count_query=count_of(
            sa.select(threads.c.id).where(*where, *([counter] if counter is not None else []))
        ),
        unindexed_order=driver is not None,
    )
    data = [to_wire(row) for row in result.rows]
    if include_steps and data:
        by_thread = step_store.for_threads(conn, project_id, [t["id"] for t in data])
        for thread in data:
            thread["steps"] = by_thread.get(thread["id"], [])
    return {"data": data, "page_info": result.page_info(), "total_count": result.total_count}


def count(conn: Connection, project_id: str, conditions: Sequence[Condition]) -> int:
    pending_terms.require_merged(conn)
    fast_plan = thread_search.plan(conditions)
    if fast_plan is not None:
        counted = thread_search.count_if_applies(conn, project_id, fast_plan)
        if counted is not None:
            return counted
    where = _where(conn, project_id, conditions)
    driver = _metadata_driver(conn, project_id, conditions, always=True)
    if driver is not None:
        where.append(driver)
    query = sa.select(sa.func.count()).select_from(threads).where(*where)
    return int(conn.execute(query).scalar_one())


def _metadata_driver(
    conn: Connection, project_id: str, conditions: Sequence[Condition], *, always: bool
) -> Any:
    """SQLite: a candidate list from the metadata term index to drive the query, if useful."""
    if conn.dialect.name != "sqlite":
        return None
    for cond in conditions:
        if cond.field == "metadata" and cond.operator in ("contains", "eq") and not cond.path:
            found = metadata_candidates(conn, project_id, cond.value, always=always)
            if found is not None:
                return found
    return None


def export_page(
    conn: Connection,
    project_id: str,
    conditions: Sequence[Condition],
    page: int,
    page_size: int,
) -> dict[str, Any]:
    """Page ``page`` (1-based) of threads with their steps, oldest first (stable for exports)."""
    pending_terms.require_merged(conn)
    where = _where(conn, project_id, conditions)
    rows = conn.execute(
        _SELECT.where(*where)
        .order_by(threads.c.created_at, threads.c.id)
        .limit(page_size + 1)
        .offset((page - 1) * page_size)
    ).all()
    data = [to_wire(row) for row in rows[:page_size]]
    if data:
        by_thread = step_store.for_threads(conn, project_id, [t["id"] for t in data])
        for thread in data:
            thread["steps"] = by_thread.get(thread["id"], [])
    return {
        "data": data,
        "page": page,
        "page_size": page_size,
        "has_next_page": len(rows) > page_size,
    }
