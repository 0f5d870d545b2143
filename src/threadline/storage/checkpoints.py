"""Checkpoints of a thread: insert, the head, one by id, history, pending writes, copy, trim.

A thread's head in a namespace is its newest checkpoint (the greatest id: checkpoint ids sort by
creation), which is also what LangGraph's history order and forks rely on.

Rows written by a LangGraph checkpointer (:func:`put`, :func:`put_writes`) also carry LangGraph's
exact serialized form (``checkpoint_type``/``checkpoint_blob``, ``value_type``/``value_blob``) next
to the JSON view the threads API reads; :func:`search` returns both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.storage import dialect as sql
from threadline.storage import raw
from threadline.storage.columns import AnyRow
from threadline.storage.filtering import json_contains
from threadline.storage.schema import checkpoint_writes, checkpoints

_COLUMNS = (
    checkpoints.c.checkpoint_ns,
    checkpoints.c.checkpoint_id,
    checkpoints.c.parent_checkpoint_id,
    checkpoints.c["values"],
    checkpoints.c.metadata,
    checkpoints.c.next,
    checkpoints.c.tasks,
    checkpoints.c.created_at,
)
_SELECT = sa.select(*_COLUMNS)


def _dict(row: AnyRow) -> dict[str, Any]:
    return _from_mapping(row._mapping)


def _from_mapping(m: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "checkpoint_ns": m["checkpoint_ns"],
        "checkpoint_id": m["checkpoint_id"],
        "parent_checkpoint_id": m["parent_checkpoint_id"],
        "values": m["values"] if m["values"] is not None else {},
        "metadata": m["metadata"] or {},
        "next": m["next"] or [],
        "tasks": m["tasks"] or [],
        "created_at": m["created_at"],
    }


def _thread(project_id: str, thread_id: str) -> list[Any]:
    return [checkpoints.c.project_id == project_id, checkpoints.c.thread_id == thread_id]


def insert(
    conn: Connection,
    project_id: str,
    thread_id: str,
    checkpoint: Mapping[str, Any],
    writes: Sequence[Mapping[str, Any]],
    created_at: datetime,
) -> None:
    """Store one checkpoint (the JSON view) and its pending writes."""
    raw.execute(
        conn,
        _INSERT,
        raw.row_params(
            conn,
            checkpoints,
            {
                "project_id": project_id,
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint["checkpoint_ns"],
                "checkpoint_id": checkpoint["checkpoint_id"],
                "parent_checkpoint_id": checkpoint["parent_checkpoint_id"],
                "values": checkpoint["values"],
                "metadata": checkpoint["metadata"],
                "next": checkpoint["next"],
                "tasks": checkpoint["tasks"],
                "created_at": created_at,
            },
        ),
    )
    if writes:
        raw.executemany(
            conn,
            _INSERT_WRITES,
            [
                raw.row_params(
                    conn,
                    checkpoint_writes,
                    {
                        "project_id": project_id,
                        "thread_id": thread_id,
                        "checkpoint_ns": checkpoint["checkpoint_ns"],
                        "checkpoint_id": checkpoint["checkpoint_id"],
                        "task_id": w["task_id"],
                        "idx": w["idx"],
                        "channel": w["channel"],
                        "value": w["value"],
                    },
                )
                for w in writes
            ],
        )


_INSERT_WRITES = raw.insert(
    checkpoint_writes,
    (
        "project_id",
        "thread_id",
        "checkpoint_ns",
        "checkpoint_id",
        "task_id",
        "idx",
        "channel",
        "value",
    ),
)


# Hot statements are built once with bound parameters (building one costs more than running it).
_IN_NS = (
    checkpoints.c.project_id == sa.bindparam("project_id"),
    checkpoints.c.thread_id == sa.bindparam("thread_id"),
    checkpoints.c.checkpoint_ns == sa.bindparam("ns"),
)
_HEAD = _SELECT.where(*_IN_NS).order_by(checkpoints.c.checkpoint_id.desc()).limit(1)
_HISTORY = _SELECT.where(*_IN_NS).order_by(checkpoints.c.checkpoint_id.desc())
_HISTORY_BEFORE = _HISTORY.where(checkpoints.c.checkpoint_id < sa.bindparam("before"))


_READ_HEAD = raw.Reader(_HEAD)


def head(conn: Connection, project_id: str, thread_id: str, ns: str = "") -> dict[str, Any] | None:
    params = {"project_id": project_id, "thread_id": thread_id, "ns": ns}
    found = _READ_HEAD.rows(conn, params)
    return _from_mapping(found[0]) if found else None


def get(
    conn: Connection, project_id: str, thread_id: str, checkpoint_id: str, ns: str | None = ""
) -> dict[str, Any] | None:
    """One checkpoint by id; ``ns=None`` finds it in any namespace."""
    where = [*_thread(project_id, thread_id), checkpoints.c.checkpoint_id == checkpoint_id]
    if ns is not None:
        where.append(checkpoints.c.checkpoint_ns == ns)
    row = conn.execute(_SELECT.where(*where).limit(1)).first()
    return _dict(row) if row is not None else None


def history(
    conn: Connection,
    project_id: str,
    thread_id: str,
    *,
    ns: str = "",
    limit: int = 10,
    before: str | None = None,
    metadata: dict[str, Any] | None = None,
    checkpoint_id: str | None = None,
) -> list[dict[str, Any]]:
    """Checkpoints newest first (all branches), optionally before an id / matching metadata."""
    params = {"project_id": project_id, "thread_id": thread_id, "ns": ns, "before": before}
    if checkpoint_id is None and not metadata:
        query = _HISTORY if before is None else _HISTORY_BEFORE
        return [_dict(r) for r in conn.execute(query.limit(limit), params).all()]
    where = [*_thread(project_id, thread_id), checkpoints.c.checkpoint_ns == ns]
    if before is not None:
        where.append(checkpoints.c.checkpoint_id < before)
    if checkpoint_id is not None:
        where.append(checkpoints.c.checkpoint_id == checkpoint_id)
    if metadata:
        where.append(json_contains(checkpoints.c.metadata, metadata, conn.dialect.name))
    rows = conn.execute(
        _SELECT.where(*where).order_by(checkpoints.c.checkpoint_id.desc()).limit(limit)
    ).all()
    return [_dict(r) for r in rows]


def pending_values(
    conn: Connection, project_id: str, thread_id: str, ns: str, checkpoint_id: str, channel: str
) -> list[Any]:
    """The values of the pending writes to ``channel`` left on a checkpoint, in order."""
    rows = conn.execute(
        sa.select(checkpoint_writes.c.value)
        .where(
            checkpoint_writes.c.project_id == project_id,
            checkpoint_writes.c.thread_id == thread_id,
            checkpoint_writes.c.checkpoint_ns == ns,
            checkpoint_writes.c.checkpoint_id == checkpoint_id,
            checkpoint_writes.c.channel == channel,
        )
        .order_by(checkpoint_writes.c.task_id, checkpoint_writes.c.idx)
    ).all()
    return [r[0] for r in rows]


def copy_all(conn: Connection, project_id: str, source: str, target: str) -> None:
    """Copy every checkpoint and pending write of ``source`` to ``target``, keeping the ids;
    rows the target already has (same namespace and id) are kept."""
    values, value = _json_columns(conn.dialect.name)
    loads = _loader(conn)
    columns = [c for c in checkpoints.c if c.name != "values"]
    rows = conn.execute(sa.select(*columns, values).where(*_thread(project_id, source))).all()
    if rows:
        copied = []
        for row in rows:
            item = dict(row._mapping)
            item["values"] = loads(item["values"])
            item["thread_id"] = target
            meta = dict(item["metadata"] or {})
            if "thread_id" in meta:
                meta["thread_id"] = target
            item["metadata"] = meta
            copied.append(item)
        conn.execute(sql.insert(checkpoints, conn.dialect.name).on_conflict_do_nothing(), copied)
    write_columns = [c for c in checkpoint_writes.c if c.name != "value"]
    writes = conn.execute(
        sa.select(*write_columns, value).where(
            checkpoint_writes.c.project_id == project_id, checkpoint_writes.c.thread_id == source
        )
    ).all()
    if writes:
        conn.execute(
            sql.insert(checkpoint_writes, conn.dialect.name).on_conflict_do_nothing(),
            [
                {**dict(w._mapping), "thread_id": target, "value": loads(w._mapping["value"])}
                for w in writes
            ],
        )


def trim_to_latest(conn: Connection, project_id: str, thread_id: str) -> int:
    """Keep only the newest checkpoint of each namespace; returns how many were removed."""
    heads = conn.execute(
        sa.select(checkpoints.c.checkpoint_ns, sa.func.max(checkpoints.c.checkpoint_id))
        .where(*_thread(project_id, thread_id))
        .group_by(checkpoints.c.checkpoint_ns)
    ).all()
    removed = 0
    for ns, newest in heads:
        where = [
            *_thread(project_id, thread_id),
            checkpoints.c.checkpoint_ns == ns,
            checkpoints.c.checkpoint_id != newest,
        ]
        # pending writes go with their checkpoint (explicitly: SQLite may run without FK actions)
        conn.execute(
            checkpoint_writes.delete().where(
                checkpoint_writes.c.project_id == project_id,
                checkpoint_writes.c.thread_id == thread_id,
                checkpoint_writes.c.checkpoint_ns == ns,
                checkpoint_writes.c.checkpoint_id != newest,
            )
        )
        removed += conn.execute(checkpoints.delete().where(*where)).rowcount
    return removed


# --- a LangGraph checkpointer's rows ----------------------------------------------------------

_PK = ("project_id", "thread_id", "checkpoint_ns", "checkpoint_id")
_WRITE_PK = (*_PK, "task_id", "idx")
_PUT_COLUMNS = (
    "parent_checkpoint_id",
    "values",
    "metadata",
    "next",
    "tasks",
    "created_at",
    "checkpoint_type",
    "checkpoint_blob",
)
_WRITE_COLUMNS = ("channel", "value", "value_type", "value_blob", "task_path")
#: what insert() stores: the JSON view only (update_state writes no serialized form)
_INSERT = raw.insert(checkpoints, (*_PK, *_PUT_COLUMNS[:-2]))


_RAW_UPSERTS: dict[tuple[Any, ...], Any] = {}


def _raw_upsert(
    table: sa.Table, dialect: str, key: Sequence[str], columns: Sequence[str], update: Sequence[str]
) -> Any:
    """An upsert of exactly ``columns`` (bound by name) for raw.execute, built once per shape."""
    found = _RAW_UPSERTS.get((table.name, dialect, tuple(columns), tuple(update)))
    if found is None:
        base = sql.insert(table, dialect).values({c: sa.bindparam(c) for c in columns})
        if update:
            found = base.on_conflict_do_update(
                index_elements=list(key), set_={c: base.excluded[c] for c in update}
            )
        else:
            found = base.on_conflict_do_nothing(index_elements=list(key))
        _RAW_UPSERTS[(table.name, dialect, tuple(columns), tuple(update))] = found
    return found


def put(conn: Connection, project_id: str, thread_id: str, row: Mapping[str, Any]) -> None:
    """Insert or replace one checkpoint (a checkpointer may write the same id again)."""
    values = {"project_id": project_id, "thread_id": thread_id, **row}
    columns = tuple(sorted(values))
    update = tuple(c for c in _PUT_COLUMNS if c in values)
    stmt = _raw_upsert(checkpoints, conn.dialect.name, _PK, columns, update)
    raw.execute(conn, stmt, raw.row_params(conn, checkpoints, values))


_HEAD_ID = (
    sa.select(checkpoints.c.checkpoint_id)
    .where(*_IN_NS)
    .order_by(checkpoints.c.checkpoint_id.desc())
    .limit(1)
)


def head_id(conn: Connection, project_id: str, thread_id: str, ns: str = "") -> str | None:
    params = {"project_id": project_id, "thread_id": thread_id, "ns": ns}
    found = raw.fetchall(conn, _HEAD_ID, params)
    return str(found[0][0]) if found else None


_EXISTS: Any = sa.select(sa.literal_column("1")).where(
    *_IN_NS, checkpoints.c.checkpoint_id == sa.bindparam("checkpoint_id")
)


def exists(conn: Connection, project_id: str, thread_id: str, ns: str, checkpoint_id: str) -> bool:
    params = {"project_id": project_id, "thread_id": thread_id, "ns": ns}
    return bool(raw.fetchall(conn, _EXISTS, {**params, "checkpoint_id": checkpoint_id}))


def put_writes(
    conn: Connection,
    project_id: str,
    thread_id: str,
    ns: str,
    checkpoint_id: str,
    task_id: str,
    task_path: str,
    writes: Sequence[Mapping[str, Any]],
) -> None:
    """Store a task's writes: a repeated regular write (idx >= 0) is kept as first written, a
    special one (errors, interrupts, resumes: idx < 0) is replaced, as LangGraph's savers do."""
    base = {
        "project_id": project_id,
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "checkpoint_id": checkpoint_id,
        "task_id": task_id,
        "task_path": task_path,
    }
    rows = [{**base, **{k: w[k] for k in ("idx", *_WRITE_COLUMNS[:-1])}} for w in writes]
    dialect = conn.dialect.name
    for replace in (True, False):  # special writes replace, regular ones keep the first
        found = [
            raw.row_params(conn, checkpoint_writes, r) for r in rows if (r["idx"] < 0) == replace
        ]
        if found:
            columns = tuple(sorted(found[0]))
            update = tuple(c for c in _WRITE_COLUMNS if c in found[0]) if replace else ()
            stmt = _raw_upsert(checkpoint_writes, dialect, _WRITE_PK, columns, update)
            raw.executemany(conn, stmt, found)


def set_tasks(
    conn: Connection,
    project_id: str,
    thread_id: str,
    ns: str,
    checkpoint_id: str,
    tasks: list[dict[str, Any]],
) -> None:
    conn.execute(
        checkpoints.update()
        .where(
            *_thread(project_id, thread_id),
            checkpoints.c.checkpoint_ns == ns,
            checkpoints.c.checkpoint_id == checkpoint_id,
        )
        .values(tasks=tasks)
    )


def _json_columns(dialect: str) -> tuple[Any, Any]:
    """The JSON view columns as selected: SQLite gives a JSON number stored in a JSON column back
    as a number (the column has numeric affinity), which the JSON type cannot decode, so there
    they are read as text and decoded by :func:`_loader`."""
    values, value = checkpoints.c["values"], checkpoint_writes.c.value
    if dialect == "sqlite":
        return sa.cast(values, sa.Text).label("values"), sa.cast(value, sa.Text).label("value")
    return values, value


def _loader(conn: Connection) -> Any:
    """How the columns of :func:`_json_columns` are decoded on this connection."""
    if conn.dialect.name == "sqlite":
        return lambda raw: orjson.loads(raw) if raw is not None else None
    return lambda raw: raw


def _stored_query(dialect: str) -> tuple[Any, Any]:
    values, value = _json_columns(dialect)
    stored = sa.select(
        checkpoints.c.thread_id,
        checkpoints.c.checkpoint_ns,
        checkpoints.c.checkpoint_id,
        checkpoints.c.parent_checkpoint_id,
        values,
        checkpoints.c.metadata,
        checkpoints.c.next,
        checkpoints.c.tasks,
        checkpoints.c.created_at,
        checkpoints.c.checkpoint_type,
        checkpoints.c.checkpoint_blob,
    )
    writes = sa.select(
        checkpoint_writes.c.thread_id,
        checkpoint_writes.c.checkpoint_ns,
        checkpoint_writes.c.checkpoint_id,
        checkpoint_writes.c.task_id,
        checkpoint_writes.c.idx,
        checkpoint_writes.c.channel,
        value,
        checkpoint_writes.c.value_type,
        checkpoint_writes.c.value_blob,
        checkpoint_writes.c.task_path,
    )
    return stored, writes


_QUERIES = {name: _stored_query(name) for name in ("sqlite", "postgresql")}


def search(
    conn: Connection,
    project_id: str,
    *,
    thread_id: str | None = None,
    ns: str | None = None,
    checkpoint_id: str | None = None,
    before: str | None = None,
    metadata: dict[str, Any] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Checkpoints newest first with their serialized form and pending writes (each in
    ``task_path, task_id, idx`` order): one thread's or the project's, one namespace or all."""
    where: list[Any] = [checkpoints.c.project_id == project_id]
    if thread_id is not None:
        where.append(checkpoints.c.thread_id == thread_id)
    if ns is not None:
        where.append(checkpoints.c.checkpoint_ns == ns)
    if checkpoint_id is not None:
        where.append(checkpoints.c.checkpoint_id == checkpoint_id)
    if before is not None:
        where.append(checkpoints.c.checkpoint_id < before)
    if metadata:
        where.append(json_contains(checkpoints.c.metadata, metadata, conn.dialect.name))
    order: list[Any] = [checkpoints.c.checkpoint_id.desc(), checkpoints.c.checkpoint_ns.desc()]
    if thread_id is None:
        order.append(checkpoints.c.thread_id)
    query = _QUERIES[conn.dialect.name][0].where(*where).order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    out = []
    loads = _loader(conn)
    for row in conn.execute(query).all():
        m = row._mapping
        values = loads(m["values"])
        out.append(
            {
                "thread_id": m["thread_id"],
                "checkpoint_ns": m["checkpoint_ns"],
                "checkpoint_id": m["checkpoint_id"],
                "parent_checkpoint_id": m["parent_checkpoint_id"],
                "values": values if values is not None else {},
                "metadata": m["metadata"] or {},
                "next": m["next"] or [],
                "tasks": m["tasks"] or [],
                "created_at": m["created_at"],
                "checkpoint_type": m["checkpoint_type"],
                "checkpoint_blob": m["checkpoint_blob"],
                "pending_writes": [],
            }
        )
    if out:
        _attach_writes(conn, project_id, thread_id, out)
    return out


def _attach_writes(
    conn: Connection, project_id: str, thread_id: str | None, found: list[dict[str, Any]]
) -> None:
    by_key = {(c["thread_id"], c["checkpoint_ns"], c["checkpoint_id"]): c for c in found}
    where: list[Any] = [checkpoint_writes.c.project_id == project_id]
    if thread_id is not None:
        where.append(checkpoint_writes.c.thread_id == thread_id)
    ids = sorted({c["checkpoint_id"] for c in found})
    where.append(
        checkpoint_writes.c.checkpoint_id == ids[0]
        if len(ids) == 1
        else checkpoint_writes.c.checkpoint_id.in_(ids)
    )
    loads = _loader(conn)
    for row in conn.execute(_QUERIES[conn.dialect.name][1].where(*where)).all():
        m = row._mapping
        target = by_key.get((m["thread_id"], m["checkpoint_ns"], m["checkpoint_id"]))
        if target is not None:
            target["pending_writes"].append(
                {
                    "task_id": m["task_id"],
                    "idx": m["idx"],
                    "channel": m["channel"],
                    "value": loads(m["value"]),
                    "value_type": m["value_type"],
                    "value_blob": m["value_blob"],
                    "task_path": m["task_path"] or "",
                }
            )
    for item in found:
        item["pending_writes"].sort(key=lambda w: (w["task_path"], w["task_id"], w["idx"]))


def delete_all(conn: Connection, project_id: str, thread_id: str) -> int:
    """Delete every checkpoint and pending write of a thread; returns how many checkpoints."""
    conn.execute(
        checkpoint_writes.delete().where(
            checkpoint_writes.c.project_id == project_id,
            checkpoint_writes.c.thread_id == thread_id,
        )
    )
    return int(conn.execute(checkpoints.delete().where(*_thread(project_id, thread_id))).rowcount)


def delete_for_runs(conn: Connection, project_id: str, run_ids: Sequence[str]) -> set[str]:
    """Delete the checkpoints (and their writes) made by these runs; returns the threads."""
    match = checkpoints.c.metadata["run_id"].as_string().in_(list(run_ids))
    rows = conn.execute(
        sa.select(
            checkpoints.c.thread_id, checkpoints.c.checkpoint_ns, checkpoints.c.checkpoint_id
        ).where(checkpoints.c.project_id == project_id, match)
    ).all()
    for thread_id, ns, checkpoint_id in rows:
        key = [
            checkpoint_writes.c.project_id == project_id,
            checkpoint_writes.c.thread_id == thread_id,
            checkpoint_writes.c.checkpoint_ns == ns,
            checkpoint_writes.c.checkpoint_id == checkpoint_id,
        ]
        conn.execute(checkpoint_writes.delete().where(*key))
        conn.execute(
            checkpoints.delete().where(
                *_thread(project_id, thread_id),
                checkpoints.c.checkpoint_ns == ns,
                checkpoints.c.checkpoint_id == checkpoint_id,
            )
        )
    return {r[0] for r in rows}
