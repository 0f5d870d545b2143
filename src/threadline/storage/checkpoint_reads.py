"""Checkpoint reads for responses: the head, one by id, a page of history, through ``raw``.

The same rows as :mod:`threadline.storage.checkpoints` reads, for the threads API's hottest reads
(``get_state`` and ``get_history``): statements compiled once, run on the driver's cursor, and the
large JSON columns (``values``, ``metadata``, ``next``) read as their text and left as
``orjson.Fragment`` for the response, never decoded. ``tasks`` is decoded (a state's interrupts
come from it) and ``created_at`` is the ISO text LangGraph writes (``+00:00``, as
``datetime.isoformat`` gives it). The rows can only be rendered, not inspected.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.storage import raw
from threadline.storage.schema import checkpoints

_c = checkpoints.c
_SELECT = sa.select(
    _c.checkpoint_ns,
    _c.checkpoint_id,
    _c.parent_checkpoint_id,
    sa.cast(_c["values"], sa.Text).label("values"),
    sa.cast(_c.metadata, sa.Text).label("metadata"),
    sa.cast(_c.next, sa.Text).label("next"),
    _c.tasks,
    _c.created_at,
)
_THREAD = (
    _c.project_id == sa.bindparam("project_id"),
    _c.thread_id == sa.bindparam("thread_id"),
)
_IN_NS = (*_THREAD, _c.checkpoint_ns == sa.bindparam("ns"))
_NEWEST = _c.checkpoint_id.desc()
_LIMIT: Any = sa.bindparam("limit")

_HEAD = raw.Reader(_SELECT.where(*_IN_NS).order_by(_NEWEST).limit(1))
_BY_ID = raw.Reader(_SELECT.where(*_IN_NS, _c.checkpoint_id == sa.bindparam("id")).limit(1))
_BY_ID_ANY_NS = raw.Reader(_SELECT.where(*_THREAD, _c.checkpoint_id == sa.bindparam("id")).limit(1))
_HISTORY = raw.Reader(_SELECT.where(*_IN_NS).order_by(_NEWEST).limit(_LIMIT))
_HISTORY_BEFORE = raw.Reader(
    _SELECT.where(*_IN_NS, _c.checkpoint_id < sa.bindparam("before"))
    .order_by(_NEWEST)
    .limit(_LIMIT)
)

_EMPTY_OBJECT = orjson.Fragment(b"{}")
_EMPTY_ARRAY = orjson.Fragment(b"[]")


def _json(text: str | None, empty: orjson.Fragment) -> orjson.Fragment:
    """A JSON column's text as a fragment; SQL NULL and JSON ``null`` become ``empty``."""
    if text is None or text == "null":
        return empty
    return orjson.Fragment(text)


def _view(row: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint as :func:`checkpoints.get` shapes it, with JSON fragments and ISO text."""
    return {
        "checkpoint_ns": row["checkpoint_ns"],
        "checkpoint_id": row["checkpoint_id"],
        "parent_checkpoint_id": row["parent_checkpoint_id"],
        "values": _json(row["values"], _EMPTY_OBJECT),
        "metadata": _json(row["metadata"], _EMPTY_OBJECT),
        "next": _json(row["next"], _EMPTY_ARRAY),
        "tasks": row["tasks"] or [],
        "created_at": row["created_at"].isoformat(),  # aware UTC, as the views give it
    }


def head(conn: Connection, project_id: str, thread_id: str, ns: str = "") -> dict[str, Any] | None:
    """The newest checkpoint in ``ns``."""
    found = _HEAD.rows(conn, {"project_id": project_id, "thread_id": thread_id, "ns": ns})
    return _view(found[0]) if found else None


def get(
    conn: Connection, project_id: str, thread_id: str, checkpoint_id: str, ns: str | None = ""
) -> dict[str, Any] | None:
    """One checkpoint by id; ``ns=None`` finds it in any namespace."""
    params = {"project_id": project_id, "thread_id": thread_id, "ns": ns, "id": checkpoint_id}
    found = (_BY_ID_ANY_NS if ns is None else _BY_ID).rows(conn, params)
    return _view(found[0]) if found else None


def history(
    conn: Connection,
    project_id: str,
    thread_id: str,
    *,
    ns: str = "",
    limit: int = 10,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """Checkpoints newest first (all branches), strictly before ``before`` if given."""
    params = {
        "project_id": project_id,
        "thread_id": thread_id,
        "ns": ns,
        "limit": limit,
        "before": before,
    }
    reader = _HISTORY if before is None else _HISTORY_BEFORE
    return [_view(row) for row in reader.rows(conn, params)]
