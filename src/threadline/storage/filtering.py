"""Compiles core filter conditions to SQLAlchemy expressions, for SQLite and PostgreSQL.

The only dialect branches are JSON containment and array overlap (PostgreSQL's jsonb operators
versus SQLite's ``json_each``) and date arithmetic; everything else is portable Core.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from threadline.core.filters import Condition
from threadline.storage import aggregates
from threadline.storage.metadata_index import OVERFLOW, filter_terms
from threadline.storage.schema import participants, steps, thread_metadata_terms, threads

Expr = ColumnElement[Any]
_alias_counter = itertools.count()


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_SCALAR_OPS: dict[str, Callable[[Expr, Any], Expr]] = {
    "eq": lambda col, value: col == value,
    "neq": lambda col, value: col.is_distinct_from(value),
    "gt": lambda col, value: col > value,
    "gte": lambda col, value: col >= value,
    "lt": lambda col, value: col < value,
    "lte": lambda col, value: col <= value,
    "in": lambda col, value: col.in_(value),
    "nin": lambda col, value: sa.or_(col.is_(None), col.not_in(value)),
    "ilike": lambda col, value: col.ilike(_like_pattern(value), escape="\\"),
    "nilike": lambda col, value: sa.or_(
        col.is_(None), sa.not_(col.ilike(_like_pattern(value), escape="\\"))
    ),
}


def _compare(col: Expr, op: str, value: Any) -> Expr:
    """Scalar comparison with null-inclusive negations (``neq`` keeps rows where col is null)."""
    return _SCALAR_OPS[op](col, value)


def _positive(op: str) -> str:
    return {"neq": "eq", "nin": "in", "nilike": "ilike", "nis": "is"}.get(op, op)


def json_path_compare(col: Any, path: Sequence[str], op: str, value: Any) -> Expr:
    """Compare the JSON value at ``path`` inside ``col`` (Literal's ``path`` filters)."""
    target = col[tuple(path)] if len(path) > 1 else col[path[0]]
    if op in ("is", "nis"):
        if value is None:
            cond: Expr = target.as_string().is_(None)
        else:
            cond = target.as_boolean() == value
        return sa.not_(cond) if op == "nis" else cond
    if op in ("in", "nin"):
        return _compare(target.as_string(), op, [str(v) for v in value])
    if isinstance(value, bool):
        return _compare(target.as_boolean(), op, value)
    if isinstance(value, int | float) and op in ("eq", "neq", "gt", "gte", "lt", "lte"):
        return _compare(target.as_float(), op, float(value))
    return _compare(target.as_string(), op, value)


def json_contains(col: Expr, value: dict[str, Any], dialect: str) -> Expr:
    """``col @> value`` with PostgreSQL jsonb semantics, on both databases."""
    if dialect == "postgresql":
        return col.op("@>")(sa.bindparam(None, value, type_=JSONB))
    return _sqlite_contains(col, value)


def _sqlite_contains(expr: Any, value: Any) -> Expr:
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            each = sa.func.json_each(expr).table_valued(
                "key", "value", "type", "atom", name=f"je{next(_alias_counter)}"
            )
            parts.append(
                sa.select(sa.literal(1))
                .select_from(each)
                .where(each.c.key == key, _sqlite_element(each, item))
                .exists()
            )
        return sa.and_(sa.true(), *parts)
    if isinstance(value, list):
        parts = []
        for item in value:
            each = sa.func.json_each(expr).table_valued(
                "key", "value", "type", "atom", name=f"je{next(_alias_counter)}"
            )
            parts.append(
                sa.select(sa.literal(1))
                .select_from(each)
                .where(_sqlite_element(each, item))
                .exists()
            )
        return sa.and_(sa.true(), *parts)
    raise ValueError("containment needs an object or array")


def _sqlite_element(each: Any, value: Any) -> Expr:
    kind_col: Expr = each.c.type
    if value is None:
        return kind_col == "null"
    if isinstance(value, bool):
        return kind_col == ("true" if value else "false")
    if isinstance(value, int | float):
        return sa.and_(each.c.type.in_(("integer", "real")), each.c.atom == value)
    if isinstance(value, str):
        return sa.and_(each.c.type == "text", each.c.atom == value)
    kind = "object" if isinstance(value, dict) else "array"
    return sa.case((each.c.type == kind, _sqlite_contains(each.c.value, value)), else_=sa.false())


def json_array_overlaps(col: Expr, values: list[str], dialect: str) -> Expr:
    """The JSON array in ``col`` shares at least one string with ``values``."""
    if dialect == "postgresql":
        return col.op("?|")(sa.cast(sa.literal(values, type_=sa.ARRAY(sa.Text)), sa.ARRAY(sa.Text)))
    each = sa.func.json_each(col).table_valued("value", name=f"je{next(_alias_counter)}")
    return sa.select(sa.literal(1)).select_from(each).where(each.c.value.in_(values)).exists()


def thread_metadata_contains(value: dict[str, Any], dialect: str) -> Expr:
    """Containment on threads.metadata; on SQLite narrowed by the term index first."""
    exact = json_contains(threads.c.metadata, value, dialect)
    if dialect == "postgresql":
        return exact
    terms = filter_terms(value)
    if not terms:
        return exact
    indexed = [
        threads.c.id.in_(
            sa.select(thread_metadata_terms.c.thread_id).where(
                thread_metadata_terms.c.project_id == threads.c.project_id,
                thread_metadata_terms.c.term == term,
            )
        )
        for term in terms
    ]
    overflow = threads.c.id.in_(
        sa.select(thread_metadata_terms.c.thread_id).where(
            thread_metadata_terms.c.project_id == threads.c.project_id,
            thread_metadata_terms.c.term == OVERFLOW,
        )
    )
    return sa.and_(sa.or_(sa.and_(*indexed), overflow), exact)


def _json_field(col: Any, cond: Condition, dialect: str, *, metadata_index: bool = False) -> Expr:
    if cond.path:
        return json_path_compare(col, cond.path, cond.operator, cond.value)
    contains = (
        thread_metadata_contains(cond.value, dialect)
        if metadata_index
        else json_contains(col, cond.value, dialect)
    )
    return sa.not_(contains) if cond.operator == "neq" else contains


def _step_match(cond: Condition, dialect: str) -> Expr:
    op = _positive(cond.operator)
    if cond.field == "stepType":
        inner = _compare(steps.c.type, op, cond.value)
    elif cond.field == "stepName":
        inner = _compare(steps.c.name, op, cond.value)
    elif cond.path:
        inner = json_path_compare(steps.c.output, cond.path, op, cond.value)
    else:
        inner = _compare(sa.cast(steps.c.output, sa.Text), op, cond.value)
    exists = (
        sa.select(sa.literal(1))
        .where(
            steps.c.project_id == threads.c.project_id,
            steps.c.thread_id == threads.c.id,
            inner,
        )
        .exists()
    )
    return exists if op == cond.operator else sa.not_(exists)


def _list_field(col: Any, cond: Condition, dialect: str) -> Expr:
    overlap = json_array_overlaps(col, cond.value, dialect)
    return overlap if cond.operator == "in" else sa.not_(overlap)


def _thread_condition(cond: Condition, dialect: str) -> Expr:
    simple: dict[str, Any] = {
        "id": threads.c.id,
        "createdAt": threads.c.created_at,
        "updatedAt": threads.c.updated_at,
        "name": threads.c.name,
        "environment": threads.c.environment,
        "status": threads.c.status,
        "participantId": threads.c.participant_id,
    }
    if cond.field in simple:
        return _compare(simple[cond.field], cond.operator, cond.value)
    if cond.field == "metadata":
        return _json_field(threads.c.metadata, cond, dialect, metadata_index=True)
    if cond.field == "tags":
        return _list_field(threads.c.tags, cond, dialect)
    if cond.field == "participantIdentifiers":
        people = participants.alias("filter_participants")  # the outer query joins participants
        matching = sa.select(people.c.id).where(
            people.c.project_id == threads.c.project_id,
            people.c.identifier.in_(cond.value),
        )
        if cond.operator == "in":
            return threads.c.participant_id.in_(matching)
        return sa.or_(threads.c.participant_id.is_(None), threads.c.participant_id.not_in(matching))
    if cond.field in ("stepType", "stepName", "stepOutput"):
        return _step_match(cond, dialect)
    if cond.field == "tokenCount":
        return _compare(aggregates.thread_token_count(), cond.operator, cond.value)
    if cond.field == "duration":
        return _compare(aggregates.thread_duration(dialect), cond.operator, cond.value)
    raise ValueError(f"thread field {cond.field}")


def _step_condition(cond: Condition, dialect: str) -> Expr:
    simple: dict[str, Any] = {
        "id": steps.c.id,
        "name": steps.c.name,
        "type": steps.c.type,
        "environment": steps.c.environment,
        "createdAt": steps.c.created_at,
        "startTime": steps.c.start_time,
        "endTime": steps.c.end_time,
        "parentId": steps.c.parent_id,
        "threadId": steps.c.thread_id,
        "error": steps.c.error,
    }
    if cond.field in simple:
        return _compare(simple[cond.field], cond.operator, cond.value)
    if cond.field in ("input", "output", "metadata"):
        return _json_field(steps.c[cond.field], cond, dialect)
    if cond.field == "tags":
        return _list_field(steps.c.tags, cond, dialect)
    if cond.field == "participantIdentifier":
        identifier = (
            sa.select(participants.c.identifier)
            .select_from(threads.join(participants, participants.c.id == threads.c.participant_id))
            .where(
                threads.c.project_id == steps.c.project_id,
                threads.c.id == steps.c.thread_id,
                participants.c.project_id == steps.c.project_id,
            )
            .scalar_subquery()
        )
        return _compare(identifier, cond.operator, cond.value)
    raise ValueError(f"step field {cond.field}")


def _participant_condition(cond: Condition, dialect: str) -> Expr:
    simple: dict[str, Any] = {
        "id": participants.c.id,
        "createdAt": participants.c.created_at,
        "identifier": participants.c.identifier,
    }
    if cond.field in simple:
        return _compare(simple[cond.field], cond.operator, cond.value)
    if cond.field == "metadata":
        return _json_field(participants.c.metadata, cond, dialect)
    if cond.field == "lastEngaged":
        return _compare(aggregates.participant_last_engaged(), cond.operator, cond.value)
    if cond.field == "threadCount":
        return _compare(aggregates.participant_thread_count(), cond.operator, cond.value)
    if cond.field == "tokenCount":
        return _compare(aggregates.participant_token_count(), cond.operator, cond.value)
    raise ValueError(f"participant field {cond.field}")


_COMPILERS: dict[str, Callable[[Condition, str], Expr]] = {
    "threads": _thread_condition,
    "steps": _step_condition,
    "participants": _participant_condition,
}


def compile_conditions(resource: str, conditions: Sequence[Condition], dialect: str) -> list[Expr]:
    """SQL expressions (to AND together) for the parsed conditions on ``resource``."""
    compile_one = _COMPILERS[resource]
    return [compile_one(cond, dialect) for cond in conditions]
