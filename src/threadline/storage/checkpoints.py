"""Checkpoints of a thread: insert, the head, one by id, history, pending writes, copy, trim.

A thread's head in a namespace is its newest checkpoint (the greatest id: checkpoint ids sort by
creation), which is also what LangGraph's history order and forks rely on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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
    m = row._mapping
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
    conn.execute(
        checkpoints.insert(),
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
    )
    if writes:
        conn.execute(
            checkpoint_writes.insert(),
            [
                {
                    "project_id": project_id,
                    "thread_id": thread_id,
                    "checkpoint_ns": checkpoint["checkpoint_ns"],
                    "checkpoint_id": checkpoint["checkpoint_id"],
                    "task_id": w["task_id"],
                    "idx": w["idx"],
                    "channel": w["channel"],
                    "value": w["value"],
                }
                for w in writes
            ],
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


def head(conn: Connection, project_id: str, thread_id: str, ns: str = "") -> dict[str, Any] | None:
    params = {"project_id": project_id, "thread_id": thread_id, "ns": ns}
    row = conn.execute(_HEAD, params).first()
    return _dict(row) if row is not None else None


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
    """Copy every checkpoint and pending write of ``source`` to ``target``, keeping the ids."""
    rows = conn.execute(sa.select(checkpoints).where(*_thread(project_id, source))).all()
    if rows:
        copied = []
        for row in rows:
            item = dict(row._mapping)
            item["thread_id"] = target
            meta = dict(item["metadata"] or {})
            if "thread_id" in meta:
                meta["thread_id"] = target
            item["metadata"] = meta
            copied.append(item)
        conn.execute(checkpoints.insert(), copied)
    writes = conn.execute(
        sa.select(checkpoint_writes).where(
            checkpoint_writes.c.project_id == project_id, checkpoint_writes.c.thread_id == source
        )
    ).all()
    if writes:
        conn.execute(
            checkpoint_writes.insert(),
            [{**dict(w._mapping), "thread_id": target} for w in writes],
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
