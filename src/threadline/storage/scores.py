"""Scores: a named value (HUMAN, AI or CODE) on a step, a generation or an experiment item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.filters import Condition
from threadline.core.ids import uuid7
from threadline.core.timeutil import utcnow
from threadline.storage import raw
from threadline.storage.columns import AnyRow
from threadline.storage.dialect import upsert as dialect_upsert
from threadline.storage.filtering import compile_conditions
from threadline.storage.pagination import PageRequest, chunks, paginate_where
from threadline.storage.schema import experiment_items, scores, steps

FIELDS = (
    "name",
    "type",
    "value",
    "label",
    "scorer",
    "comment",
    "tags",
    "step_id",
    "experiment_item_id",
)
UPDATABLE = ("name", "type", "value", "label", "scorer", "comment", "tags")
_SELECT = sa.select(
    scores.c.id, scores.c.created_at, scores.c.updated_at, *(scores.c[f] for f in FIELDS)
)
ORDERABLE = {"createdAt": "created_at", "created_at": "created_at", "value": "value"}


def to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    out = {f: m[f] for f in ("id", "created_at", "updated_at", *FIELDS)}
    out["tags"] = out["tags"] or []
    return out


def _where_id(project_id: str, score_id: str) -> Any:
    return sa.and_(scores.c.project_id == project_id, scores.c.id == score_id)


def _existing(conn: Connection, table: sa.Table, project_id: str, ids: set[str]) -> set[str]:
    if len(ids) == 1:  # a single score's checks: prepared (building the IN query cost more)
        (one,) = ids
        found_one = raw.fetchall(conn, raw.exists_of(table), {"project_id": project_id, "id": one})
        return {one} if found_one else set()
    found: set[str] = set()
    for part in chunks(sorted(ids), 500):
        query = sa.select(table.c.id).where(table.c.project_id == project_id, table.c.id.in_(part))
        found.update(conn.execute(query).scalars())
    return found


def _check_targets(conn: Connection, project_id: str, items: Sequence[dict[str, Any]]) -> None:
    """Every referenced step and experiment item exists in this project (else a 422 naming it)."""
    for column, table, label in (
        ("step_id", steps, "step"),
        ("experiment_item_id", experiment_items, "experiment item"),
    ):
        wanted = {item[column] for item in items if item.get(column)}
        missing = wanted - _existing(conn, table, project_id, wanted) if wanted else set()
        if missing:
            index = next(i for i, item in enumerate(items) if item.get(column) in missing)
            prefix = f"scores[{index}]." if len(items) > 1 else ""
            raise InvalidInput(
                f"{label} {items[index][column]!r} does not exist", field=prefix + column
            )


def create_many(
    conn: Connection, project_id: str, items: Sequence[dict[str, Any]], *, upsert: bool = False
) -> list[dict[str, Any]]:
    """Insert scores (validated, targets resolved) in one statement; returns them in order.

    With ``upsert`` a score whose id exists is replaced (sending a batch twice changes nothing);
    otherwise an existing id is a conflict.
    """
    if not items:
        return []
    _check_targets(conn, project_id, items)
    ids = [item.get("id") or uuid7() for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("two scores in the batch have the same id", field="scores")
    given = {i for i, item in zip(ids, items, strict=True) if item.get("id")}
    taken = _existing(conn, scores, project_id, given) if given and not upsert else set()
    if taken:
        raise Conflict(f"score {sorted(taken)[0]!r} exists", field="id")
    now = utcnow()
    rows = [
        {
            "project_id": project_id,
            "id": score_id,
            "created_at": now,
            "updated_at": now,
            **{f: item.get(f) for f in FIELDS},
            "tags": item.get("tags") or [],
        }
        for score_id, item in zip(ids, items, strict=True)
    ]
    if upsert:
        stmt = dialect_upsert(
            scores, conn.dialect.name, ("project_id", "id"), (*FIELDS, "updated_at")
        )
        conn.execute(stmt, rows)
        stored = {}
        for part in chunks(ids, 500):
            query = _SELECT.where(scores.c.project_id == project_id, scores.c.id.in_(part))
            stored.update({row._mapping["id"]: to_wire(row) for row in conn.execute(query)})
        return [stored[i] for i in ids]
    if len(rows) == 1:
        raw.execute(conn, _INSERT_ONE, raw.row_params(conn, scores, rows[0]))
    else:
        conn.execute(scores.insert(), rows)
    return [{k: v for k, v in row.items() if k != "project_id"} for row in rows]


_INSERT_ONE = raw.insert(scores, ("project_id", "id", "created_at", "updated_at", *FIELDS))


def get(conn: Connection, project_id: str, score_id: str) -> dict[str, Any]:
    row = conn.execute(_SELECT.where(_where_id(project_id, score_id))).first()
    if row is None:
        raise NotFound(f"score {score_id!r} not found")
    return to_wire(row)


def update(
    conn: Connection, project_id: str, score_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply the fields present; absent fields (e.g. the comment) are kept."""
    values = {k: changes[k] for k in UPDATABLE if k in changes}
    if "tags" in values:
        values["tags"] = values["tags"] or []
    values["updated_at"] = utcnow()
    result = conn.execute(scores.update().where(_where_id(project_id, score_id)).values(**values))
    if result.rowcount == 0:
        raise NotFound(f"score {score_id!r} not found")
    return get(conn, project_id, score_id)


def delete(conn: Connection, project_id: str, score_id: str) -> None:
    result = conn.execute(scores.delete().where(_where_id(project_id, score_id)))
    if result.rowcount == 0:
        raise NotFound(f"score {score_id!r} not found")


def for_steps(
    conn: Connection, project_id: str, step_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The scores of each step, oldest first (one query per 500 steps)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for part in chunks(sorted(set(step_ids)), 500):
        query = _SELECT.where(scores.c.project_id == project_id, scores.c.step_id.in_(part))
        for row in conn.execute(query.order_by(scores.c.created_at, scores.c.id)):
            out.setdefault(row._mapping["step_id"], []).append(to_wire(row))
    return out


def for_thread(conn: Connection, project_id: str, thread_id: str) -> list[dict[str, Any]]:
    """Every score on the thread's steps, oldest first."""
    of_thread = sa.select(steps.c.id).where(
        steps.c.project_id == project_id, steps.c.thread_id == thread_id
    )
    query = _SELECT.where(scores.c.project_id == project_id, scores.c.step_id.in_(of_thread))
    return [to_wire(r) for r in conn.execute(query.order_by(scores.c.created_at, scores.c.id))]


_OF_THREAD = raw.Reader(
    _SELECT.where(
        scores.c.project_id == sa.bindparam("project_id"),
        scores.c.step_id.in_(
            sa.select(steps.c.id).where(
                steps.c.project_id == sa.bindparam("project_id"),
                steps.c.thread_id == sa.bindparam("thread_id"),
            )
        ),
    )  # sorted here, not in SQL: an ORDER BY led SQLite to walk ix_scores_created instead
)


def of_thread_steps(conn: Connection, project_id: str, thread_id: str) -> list[dict[str, Any]]:
    """``for_thread`` in one precompiled statement (the thread read's hot path)."""
    found = _OF_THREAD.rows(conn, {"project_id": project_id, "thread_id": thread_id})
    for score in found:
        score["tags"] = score["tags"] or []
    found.sort(key=lambda s: (s["created_at"], s["id"]))
    return found


def for_experiment_items(
    conn: Connection, project_id: str, item_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for part in chunks(sorted(set(item_ids)), 500):
        query = _SELECT.where(
            scores.c.project_id == project_id, scores.c.experiment_item_id.in_(part)
        )
        for row in conn.execute(query.order_by(scores.c.created_at, scores.c.id)):
            out.setdefault(row._mapping["experiment_item_id"], []).append(to_wire(row))
    return out


def search(
    conn: Connection,
    project_id: str,
    conditions: Sequence[Condition],
    page: PageRequest,
    *,
    order_by: str = "createdAt",
) -> dict[str, Any]:
    column = ORDERABLE.get(order_by)
    if column is None:
        raise InvalidInput(
            f"cannot order scores by {order_by!r}; use createdAt or value", field="order_by.column"
        )
    where = [
        scores.c.project_id == project_id,
        *compile_conditions("scores", conditions, conn.dialect.name),
    ]
    result = paginate_where(
        conn, _SELECT, where, order_col=scores.c[column], id_col=scores.c.id, request=page
    )
    return result.wire([to_wire(row) for row in result.rows])
