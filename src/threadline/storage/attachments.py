"""Attachments (a file or a link on a thread or step) and the outbox of files to delete.

The bytes are not in the database: they live in the file store under ``object_key``. Every
transaction that deletes attachment rows (directly, or by deleting their thread or step) first
copies their object keys into ``file_deletions``; the file sweeper removes the bytes after commit
and then the outbox rows. So a crash between the two never leaks a file, and no store function
does file or network I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.ids import uuid7
from threadline.core.timeutil import utcnow
from threadline.storage import raw
from threadline.storage.columns import AnyRow
from threadline.storage.dialect import insert
from threadline.storage.pagination import PageRequest, chunks, paginate_where
from threadline.storage.schema import attachments, file_deletions, steps, threads

FIELDS = ("thread_id", "step_id", "name", "mime", "size", "object_key", "url", "metadata")
UPDATABLE = ("name", "mime", "url", "metadata", "object_key", "size")
_SELECT = sa.select(
    attachments.c.id,
    attachments.c.created_at,
    attachments.c.updated_at,
    *(attachments.c[f] for f in FIELDS),
)


def to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    out = {f: m[f] for f in ("id", "created_at", "updated_at", *FIELDS)}
    out["metadata"] = out["metadata"] or {}
    return out


def _where_id(project_id: str, attachment_id: str) -> Any:
    return sa.and_(attachments.c.project_id == project_id, attachments.c.id == attachment_id)


def resolve_owner(
    conn: Connection, project_id: str, thread_id: str | None, step_id: str | None
) -> tuple[str | None, str | None]:
    """The (thread, step) an attachment hangs on: the thread comes from the step when given."""
    if step_id:
        row = conn.execute(
            sa.select(steps.c.thread_id).where(
                steps.c.project_id == project_id, steps.c.id == step_id
            )
        ).first()
        if row is None:
            raise InvalidInput(f"step {step_id!r} does not exist", field="step_id")
        step_thread = row._mapping["thread_id"]
        if thread_id and step_thread and thread_id != step_thread:
            raise InvalidInput(
                f"step {step_id!r} belongs to thread {step_thread!r}, not {thread_id!r}",
                field="thread_id",
            )
        return step_thread or thread_id, step_id
    if not thread_id:
        raise InvalidInput("an attachment needs a thread_id or a step_id", field="thread_id")
    found = conn.execute(
        sa.select(threads.c.id).where(threads.c.project_id == project_id, threads.c.id == thread_id)
    ).first()
    if found is None:
        raise InvalidInput(f"thread {thread_id!r} does not exist", field="thread_id")
    return thread_id, None


def create(conn: Connection, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
    thread_id, step_id = resolve_owner(conn, project_id, data.get("thread_id"), data.get("step_id"))
    attachment_id = data.get("id") or uuid7()
    if conn.execute(
        sa.select(attachments.c.id).where(_where_id(project_id, attachment_id))
    ).first():
        raise Conflict(f"attachment {attachment_id!r} exists", field="id")
    now = utcnow()
    row = {
        "project_id": project_id,
        "id": attachment_id,
        "created_at": now,
        "updated_at": now,
        **{f: data.get(f) for f in FIELDS},
        "thread_id": thread_id,
        "step_id": step_id,
        "metadata": data.get("metadata") or {},
    }
    conn.execute(attachments.insert(), row)
    return {k: v for k, v in row.items() if k != "project_id"}


def get(conn: Connection, project_id: str, attachment_id: str) -> dict[str, Any]:
    row = conn.execute(_SELECT.where(_where_id(project_id, attachment_id))).first()
    if row is None:
        raise NotFound(f"attachment {attachment_id!r} not found")
    return to_wire(row)


def exists(conn: Connection, project_id: str, attachment_id: str) -> bool:
    query = sa.select(attachments.c.id).where(_where_id(project_id, attachment_id))
    return conn.execute(query).first() is not None


def by_object_key(conn: Connection, project_id: str, object_key: str) -> dict[str, Any] | None:
    """The newest attachment that points at this file (for the download's name and type)."""
    row = conn.execute(
        _SELECT.where(
            attachments.c.project_id == project_id, attachments.c.object_key == object_key
        )
        .order_by(attachments.c.created_at.desc())
        .limit(1)
    ).first()
    return to_wire(row) if row is not None else None


def update(
    conn: Connection, project_id: str, attachment_id: str, changes: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Apply the fields present; returns the attachment and the object key it no longer uses."""
    current = get(conn, project_id, attachment_id)
    values = {k: changes[k] for k in UPDATABLE if k in changes}
    if "metadata" in values:
        values["metadata"] = values["metadata"] or {}
    values["updated_at"] = utcnow()
    conn.execute(attachments.update().where(_where_id(project_id, attachment_id)).values(**values))
    replaced = current["object_key"]
    if replaced and values.get("object_key", replaced) != replaced:
        _queue(conn, project_id, [replaced])
    else:
        replaced = None
    return get(conn, project_id, attachment_id), replaced


def delete(conn: Connection, project_id: str, attachment_id: str) -> str | None:
    """Delete the row; its file is queued for deletion. Returns the object key, if any."""
    key: str | None = get(conn, project_id, attachment_id)["object_key"]
    conn.execute(attachments.delete().where(_where_id(project_id, attachment_id)))
    if key:
        _queue(conn, project_id, [key])
    return key


def list_for(
    conn: Connection,
    project_id: str,
    page: PageRequest,
    *,
    thread_id: str | None = None,
    step_id: str | None = None,
) -> dict[str, Any]:
    where = [attachments.c.project_id == project_id]
    if thread_id is not None:
        where.append(attachments.c.thread_id == thread_id)
    if step_id is not None:
        where.append(attachments.c.step_id == step_id)
    result = paginate_where(
        conn,
        _SELECT,
        where,
        order_col=attachments.c.created_at,
        id_col=attachments.c.id,
        request=page,
    )
    return result.wire([to_wire(row) for row in result.rows])


def for_steps(
    conn: Connection, project_id: str, step_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The attachments of each step, oldest first (one query per 500 steps)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for part in chunks(sorted(set(step_ids)), 500):
        query = _SELECT.where(
            attachments.c.project_id == project_id, attachments.c.step_id.in_(part)
        )
        for row in conn.execute(query.order_by(attachments.c.created_at, attachments.c.id)):
            out.setdefault(row._mapping["step_id"], []).append(to_wire(row))
    return out


def for_thread(conn: Connection, project_id: str, thread_id: str) -> list[dict[str, Any]]:
    """Every attachment of the thread (on the thread itself or on one of its steps)."""
    query = _SELECT.where(
        attachments.c.project_id == project_id, attachments.c.thread_id == thread_id
    )
    return [
        to_wire(r) for r in conn.execute(query.order_by(attachments.c.created_at, attachments.c.id))
    ]


_OF_THREAD = raw.Reader(
    _SELECT.where(
        attachments.c.project_id == sa.bindparam("project_id"),
        attachments.c.thread_id == sa.bindparam("thread_id"),
    ).order_by(attachments.c.created_at, attachments.c.id)
)


def of_thread(conn: Connection, project_id: str, thread_id: str) -> list[dict[str, Any]]:
    """``for_thread`` in one precompiled statement (the thread read's hot path)."""
    found = _OF_THREAD.rows(conn, {"project_id": project_id, "thread_id": thread_id})
    for item in found:
        item["metadata"] = item["metadata"] or {}
    return found


# --- the file-deletion outbox ---------------------------------------------------------------


def _queue(conn: Connection, project_id: str, keys: Sequence[str]) -> None:
    if not keys:
        return
    now = utcnow()
    stmt = insert(file_deletions, conn.dialect.name).on_conflict_do_nothing()
    conn.execute(
        stmt,
        [{"project_id": project_id, "object_key": k, "queued_at": now} for k in sorted(set(keys))],
    )


def queue_files_of(
    conn: Connection,
    project_id: str,
    *,
    thread_id: str | None = None,
    step_ids: Sequence[str] = (),
) -> None:
    """Before a thread or steps are deleted: queue the files their attachments cascade away."""
    owners = []
    if thread_id is not None:
        owners.append([attachments.c.thread_id == thread_id])
    for part in chunks(sorted(set(step_ids)), 500):
        owners.append([attachments.c.step_id.in_(part)])
    for where in owners:
        keys = conn.execute(
            sa.select(attachments.c.object_key).where(
                attachments.c.project_id == project_id,
                attachments.c.object_key.is_not(None),
                *where,
            )
        ).scalars()
        _queue(conn, project_id, list(keys))


def pending_deletions(conn: Connection, limit: int = 200) -> list[tuple[str, str, bool]]:
    """Queued files, each with whether an attachment still points at it (then keep the bytes)."""
    still_used = (
        sa.select(sa.literal(1))
        .where(
            attachments.c.project_id == file_deletions.c.project_id,
            attachments.c.object_key == file_deletions.c.object_key,
        )
        .exists()
    )
    rows = conn.execute(
        sa.select(file_deletions.c.project_id, file_deletions.c.object_key, still_used)
        .order_by(file_deletions.c.queued_at)
        .limit(limit)
    ).all()
    return [(r[0], r[1], bool(r[2])) for r in rows]


def forget_deletions(conn: Connection, done: Sequence[tuple[str, str]]) -> None:
    for project_id, key in done:
        conn.execute(
            file_deletions.delete().where(
                file_deletions.c.project_id == project_id, file_deletions.c.object_key == key
            )
        )
