"""Tyler-style messages on steps: reactions, platform reference indexes, message lookups.

A message is a step of a message type (``user_message``, ``assistant_message``,
``system_message``, or ``tool`` with an ``output.tool_call_id``). Reactions are rows of
``step_reactions``: adding one is an idempotent insert and removing one a delete, so concurrent
reactions by different users never overwrite each other. ``platforms`` maps (``{platform: {key:
value}}``) of threads and steps are mirrored into ``*_platform_refs`` on every write, which makes
"the thread whose slack thread_ts is X" an index lookup on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from threadline.core.errors import InvalidInput, NotFound
from threadline.core.timeutil import utcnow
from threadline.storage import attached, raw
from threadline.storage.dialect import insert
from threadline.storage.filtering import json_path_compare
from threadline.storage.pagination import chunks
from threadline.storage.schema import (
    step_platform_refs,
    step_reactions,
    steps,
    thread_platform_refs,
    threads,
)

MESSAGE_TYPES = ("user_message", "assistant_message", "system_message")
ROLE_TYPES = {
    "user": "user_message",
    "assistant": "assistant_message",
    "system": "system_message",
    "tool": "tool",
}
TYPE_ROLES = {v: k for k, v in ROLE_TYPES.items()}


def is_message(dialect: str) -> ColumnElement[bool]:
    """Steps that are Tyler messages: the three message types, and tool results."""
    if dialect == "postgresql":
        tool_call = sa.func.jsonb_typeof(steps.c.output["tool_call_id"]) == "string"
    else:
        tool_call = sa.func.json_type(steps.c.output, "$.tool_call_id") == "text"
    return sa.or_(steps.c.type.in_(MESSAGE_TYPES), sa.and_(steps.c.type == "tool", tool_call))


# --- platform reference indexes --------------------------------------------------------------


def _ref_rows(platforms: Any) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if not isinstance(platforms, Mapping):
        return rows
    for platform, refs in platforms.items():
        rows.append((platform, "", ""))
        if isinstance(refs, Mapping):
            rows.extend((platform, key, value) for key, value in refs.items())
    return rows


def index_thread_platforms(
    conn: Connection, project_id: str, thread_id: str, platforms: Any, *, replace: bool = True
) -> None:
    """Rewrite a thread's rows in ``thread_platform_refs`` (same transaction as the write)."""
    table = thread_platform_refs
    if replace:
        conn.execute(
            table.delete().where(table.c.project_id == project_id, table.c.thread_id == thread_id)
        )
    rows = _ref_rows(platforms)
    if rows:
        conn.execute(
            table.insert(),
            [
                {
                    "project_id": project_id,
                    "platform": p,
                    "key": k,
                    "value": v,
                    "thread_id": thread_id,
                }
                for p, k, v in rows
            ],
        )


def index_step_platforms(conn: Connection, project_id: str, by_step: Mapping[str, Any]) -> None:
    """Rewrite the ``step_platform_refs`` rows of these steps (step id -> platforms)."""
    if not by_step:
        return
    table = step_platform_refs
    for part in chunks(sorted(by_step), 500):
        conn.execute(
            table.delete().where(table.c.project_id == project_id, table.c.step_id.in_(part))
        )
    rows = [
        {"project_id": project_id, "platform": p, "key": k, "value": v, "step_id": step_id}
        for step_id, platforms in by_step.items()
        for p, k, v in _ref_rows(platforms)
    ]
    if rows:
        conn.execute(table.insert(), rows)


def thread_ids_by_platform(
    conn: Connection, project_id: str, platform: str, properties: Mapping[str, str], limit: int
) -> list[str]:
    """Ids of threads that have ``platform`` with every ``key: value`` of ``properties``."""
    table = thread_platform_refs
    wanted = list(properties.items()) or [("", "")]
    query = None
    for key, value in wanted:
        part = sa.select(table.c.thread_id).where(
            table.c.project_id == project_id,
            table.c.platform == platform,
            table.c.key == key,
            table.c.value == value,
        )
        query = part if query is None else query.where(table.c.thread_id.in_(part))
    assert query is not None
    return list(conn.execute(query.order_by(table.c.thread_id).limit(limit)).scalars())


# --- reactions -------------------------------------------------------------------------------


def _check_step(conn: Connection, project_id: str, step_id: str) -> str | None:
    row = conn.execute(
        sa.select(steps.c.thread_id).where(steps.c.project_id == project_id, steps.c.id == step_id)
    ).first()
    if row is None:
        raise NotFound(f"step {step_id!r} not found")
    return row._mapping["thread_id"]  # type: ignore[no-any-return]


def _touch(conn: Connection, project_id: str, thread_ids: Iterable[str | None]) -> None:
    ids = sorted({t for t in thread_ids if t})
    if ids:
        conn.execute(
            threads.update()
            .where(threads.c.project_id == project_id, threads.c.id.in_(ids))
            .values(updated_at=utcnow())
        )


def reactions_of(
    conn: Connection, project_id: str, step_ids: Sequence[str]
) -> dict[str, dict[str, list[str]]]:
    """Reactions per step: ``{step_id: {emoji: [user_id, ...]}}``, users in the order they
    reacted, emojis in the order of their earliest remaining reaction."""
    table = step_reactions
    out: dict[str, dict[str, list[str]]] = {}
    for part in chunks(list(step_ids), 500):
        rows = conn.execute(
            sa.select(table.c.step_id, table.c.emoji, table.c.user_id)
            .where(table.c.project_id == project_id, table.c.step_id.in_(part))
            .order_by(table.c.step_id, table.c.created_at, table.c.emoji, table.c.user_id)
        )
        for step_id, emoji, user_id in rows:
            out.setdefault(step_id, {}).setdefault(emoji, []).append(user_id)
    return out


def _reactions_of_thread_query() -> Any:
    table = step_reactions
    return (
        sa.select(table.c.step_id, table.c.emoji, table.c.user_id)
        .where(
            table.c.project_id == sa.bindparam("project_id"),
            table.c.step_id.in_(
                sa.select(steps.c.id).where(
                    steps.c.project_id == sa.bindparam("project_id"),
                    steps.c.thread_id == sa.bindparam("thread_id"),
                )
            ),
        )
        .order_by(table.c.step_id, table.c.created_at, table.c.emoji, table.c.user_id)
    )


_REACTIONS_OF_THREAD = _reactions_of_thread_query()


def reactions_of_thread(
    conn: Connection, project_id: str, thread_id: str
) -> dict[str, dict[str, list[str]]]:
    """``reactions_of`` for every step of a thread, in one precompiled statement."""
    out: dict[str, dict[str, list[str]]] = {}
    params = {"project_id": project_id, "thread_id": thread_id}
    for step_id, emoji, user_id in raw.fetchall(conn, _REACTIONS_OF_THREAD, params):
        out.setdefault(step_id, {}).setdefault(emoji, []).append(user_id)
    return out


def attach_reactions(conn: Connection, project_id: str, items: Sequence[dict[str, Any]]) -> None:
    """Set ``reactions`` on step dicts (wire form) from ``step_reactions``."""
    if not items:
        return
    found = reactions_of(conn, project_id, [s["id"] for s in items])
    for item in items:
        item["reactions"] = found.get(item["id"], {})


def replace_reactions(
    conn: Connection, project_id: str, by_step: Mapping[str, Mapping[str, Sequence[str]]]
) -> None:
    """Make each step's reactions exactly ``{emoji: [user_id, ...]}`` (import), keeping order."""
    if not by_step:
        return
    table = step_reactions
    for part in chunks(sorted(by_step), 500):
        conn.execute(
            table.delete().where(table.c.project_id == project_id, table.c.step_id.in_(part))
        )
    now = utcnow()
    pairs = [
        (step_id, emoji, user)
        for step_id, reactions in by_step.items()
        for emoji, users in reactions.items()
        for user in users
    ]
    if pairs:
        conn.execute(
            table.insert(),
            [
                {
                    "project_id": project_id,
                    "step_id": step_id,
                    "emoji": emoji,
                    "user_id": user,
                    "created_at": now + timedelta(microseconds=n),
                }
                for n, (step_id, emoji, user) in enumerate(pairs)
            ],
        )


def _insert_reaction(
    conn: Connection, project_id: str, step_id: str, emoji: str, user_id: str, at: Any
) -> bool:
    stmt = (
        insert(step_reactions, conn.dialect.name)
        .values(project_id=project_id, step_id=step_id, emoji=emoji, user_id=user_id, created_at=at)
        .on_conflict_do_nothing(index_elements=["project_id", "step_id", "emoji", "user_id"])
        .returning(step_reactions.c.step_id)
    )
    return conn.execute(stmt).first() is not None


def _delete_reaction(
    conn: Connection, project_id: str, step_id: str, emoji: str, user_id: str
) -> bool:
    table = step_reactions
    result = conn.execute(
        table.delete().where(
            table.c.project_id == project_id,
            table.c.step_id == step_id,
            table.c.emoji == emoji,
            table.c.user_id == user_id,
        )
    )
    return bool(result.rowcount)


def add_reaction(
    conn: Connection, project_id: str, step_id: str, emoji: str, user_id: str
) -> dict[str, Any]:
    """Add a reaction; ``changed`` is False when this user already reacted with this emoji."""
    thread_id = _check_step(conn, project_id, step_id)
    changed = _insert_reaction(conn, project_id, step_id, emoji, user_id, utcnow())
    if changed:
        _touch(conn, project_id, [thread_id])
    reactions = reactions_of(conn, project_id, [step_id]).get(step_id, {})
    return {"changed": changed, "reactions": reactions}


def remove_reaction(
    conn: Connection, project_id: str, step_id: str, emoji: str, user_id: str
) -> dict[str, Any]:
    """Remove a reaction; ``changed`` is False when there was no such reaction."""
    thread_id = _check_step(conn, project_id, step_id)
    changed = _delete_reaction(conn, project_id, step_id, emoji, user_id)
    if changed:
        _touch(conn, project_id, [thread_id])
    reactions = reactions_of(conn, project_id, [step_id]).get(step_id, {})
    return {"changed": changed, "reactions": reactions}


def get_reactions(conn: Connection, project_id: str, step_id: str) -> dict[str, list[str]]:
    _check_step(conn, project_id, step_id)
    return reactions_of(conn, project_id, [step_id]).get(step_id, {})


def apply_reactions(
    conn: Connection,
    project_id: str,
    thread_id: str,
    remove: Sequence[Mapping[str, str]],
    add: Sequence[Mapping[str, str]],
) -> dict[str, int]:
    """Remove then add reactions on steps of one thread, in one transaction (in list order)."""
    named = {r["step_id"] for r in (*remove, *add)}
    known: set[str] = set()
    for part in chunks(sorted(named), 500):
        known.update(
            conn.execute(
                sa.select(steps.c.id).where(
                    steps.c.project_id == project_id,
                    steps.c.thread_id == thread_id,
                    steps.c.id.in_(part),
                )
            ).scalars()
        )
    for name, items in (("remove", remove), ("add", add)):
        for index, item in enumerate(items):
            if item["step_id"] not in known:
                raise NotFound(
                    f"step {item['step_id']!r} not found in thread {thread_id!r}",
                    field=f"{name}[{index}].step_id",
                )
    removed = sum(
        _delete_reaction(conn, project_id, r["step_id"], r["emoji"], r["user_id"]) for r in remove
    )
    now = utcnow()
    added = sum(
        _insert_reaction(
            conn,
            project_id,
            r["step_id"],
            r["emoji"],
            r["user_id"],
            now + timedelta(microseconds=index),
        )
        for index, r in enumerate(add)
    )
    if added or removed:
        _touch(conn, project_id, [thread_id])
    return {"added": added, "removed": removed}


# --- bulk delete and lookups -----------------------------------------------------------------


def delete_thread_steps(
    conn: Connection, project_id: str, thread_id: str, step_ids: Sequence[str]
) -> int:
    """Delete these steps of the thread (ids of other threads are ignored); returns how many."""
    if not threads_exists(conn, project_id, thread_id):
        raise NotFound(f"thread {thread_id!r} not found")
    deleted = 0
    for part in chunks(sorted(set(step_ids)), 500):
        attached.before_delete(conn, project_id, step_ids=part)  # their files, for the sweeper
        result = conn.execute(
            steps.delete().where(
                steps.c.project_id == project_id,
                steps.c.thread_id == thread_id,
                steps.c.id.in_(part),
            )
        )
        deleted += result.rowcount or 0
    if deleted:
        _touch(conn, project_id, [thread_id])
    return deleted


def threads_exists(conn: Connection, project_id: str, thread_id: str) -> bool:
    query = sa.select(threads.c.id).where(
        threads.c.project_id == project_id, threads.c.id == thread_id
    )
    return conn.execute(query).first() is not None


_COLUMN_PATHS = {"source": "source", "metrics": "metrics", "attributes": "metadata"}
_OUTPUT_KEYS = ("content", "tool_call_id", "reasoning_content")


def message_condition(dialect: str, path: str, value: Any) -> ColumnElement[bool]:
    """SQL for "the message's field at dot-``path`` equals ``value``" (the memory backend's rule).

    ``platforms.<platform>.<key>`` with a string value uses the platform index.
    """
    parts = [p for p in path.split(".") if p]
    if not parts:
        raise InvalidInput("path must name a message field", field="path")
    head, rest = parts[0], parts[1:]
    if value is not None and not isinstance(value, str | int | float | bool):
        raise InvalidInput("value must be a string, number, boolean or null", field="value")
    if head == "platforms" and len(rest) == 2 and isinstance(value, str):
        refs = step_platform_refs
        return steps.c.id.in_(
            sa.select(refs.c.step_id).where(
                refs.c.project_id == steps.c.project_id,
                refs.c.platform == rest[0],
                refs.c.key == rest[1],
                refs.c.value == value,
            )
        )
    column: Any = None
    if head in _COLUMN_PATHS or head == "platforms":
        column = steps.c[_COLUMN_PATHS.get(head, head)]
    elif head in _OUTPUT_KEYS and not rest:
        column, rest = steps.c.output, [head]
    if column is not None:
        if not rest:
            raise InvalidInput(f"path {path!r} needs a key after {head!r}", field="path")
        op = "is" if value is None else "eq"
        return json_path_compare(column, rest, op, value, dialect)
    if rest:
        raise InvalidInput(f"{head!r} has no keys to follow in {path!r}", field="path")
    if head == "role":
        return steps.c.type == ROLE_TYPES.get(str(value), "?")
    if head in ("id", "name", "sequence", "turn"):
        scalar: sa.Column[Any] = steps.c[head]
        if value is None:
            return scalar.is_(None)
        if head in ("id", "name"):
            return scalar == str(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return sa.false()
        return scalar == value
    raise InvalidInput(
        f"unknown message field {head!r}; use id, role, content, name, tool_call_id, "
        "sequence, turn, source.*, platforms.*, metrics.* or attributes.*",
        field="path",
    )


def find_message_ids(
    conn: Connection, project_id: str, path: str, value: Any, limit: int
) -> list[str]:
    dialect = conn.dialect.name
    query = (
        sa.select(steps.c.id)
        .where(
            steps.c.project_id == project_id,
            is_message(dialect),
            message_condition(dialect, path, value),
        )
        .order_by(steps.c.created_at, steps.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())
