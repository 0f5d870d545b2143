"""Per-thread analytics of Tyler messages, computed by the database.

The rules are those of ``threadline.client.thread.Thread`` (and narrator's ``Thread``), computed
over the thread's message steps: tokens from ``metrics.usage``, per model from ``metrics.model``,
latency from ``metrics.timing.latency`` (only non-zero numbers count), counts by role, and tool
calls from ``output.tool_calls[*].function.name`` of assistant messages. Values that are not
JSON numbers (or, for names, non-empty strings) are ignored, on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from threadline.core.errors import NotFound
from threadline.storage.messages import TYPE_ROLES, is_message, threads_exists
from threadline.storage.schema import steps

TOKEN_KEYS = ("completion_tokens", "prompt_tokens", "total_tokens")


def _number(value: Any) -> int | float:
    """A SUM from either database as the int or float Python's own sum would give."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        return float(value)
    if isinstance(value, int | float):
        return value
    return float(value)


def json_number(col: Any, path: Sequence[str], dialect: str) -> ColumnElement[Any]:
    """The JSON number at ``path`` in ``col``, or NULL when it is missing or not a number."""
    if dialect == "postgresql":
        target = col[tuple(path)]
        return sa.case(
            (sa.func.jsonb_typeof(target) == "number", sa.cast(target.as_string(), sa.Numeric)),
            else_=sa.null(),
        )
    json_path = "$." + ".".join(f'"{p}"' for p in path)
    return sa.case(
        (
            sa.func.json_type(col, json_path).in_(("integer", "real")),
            sa.func.json_extract(col, json_path),
        ),
        else_=sa.null(),
    )


def json_text(col: Any, path: Sequence[str], dialect: str) -> ColumnElement[Any]:
    """The JSON string at ``path`` in ``col`` when it is a non-empty string, else NULL."""
    if dialect == "postgresql":
        target = col[tuple(path)]
        ok = sa.and_(sa.func.jsonb_typeof(target) == "string", target.as_string() != "")
        return sa.case((ok, target.as_string()), else_=sa.null())
    json_path = "$." + ".".join(f'"{p}"' for p in path)
    ok = sa.and_(
        sa.func.json_type(col, json_path) == "text", sa.func.json_extract(col, json_path) != ""
    )
    return sa.case((ok, sa.func.json_extract(col, json_path)), else_=sa.null())


def _tokens(row: Any) -> dict[str, int | float]:
    return {key: _number(row._mapping[key]) for key in TOKEN_KEYS}


def thread_analytics(conn: Connection, project_id: str, thread_id: str) -> dict[str, Any]:
    if not threads_exists(conn, project_id, thread_id):
        raise NotFound(f"thread {thread_id!r} not found")
    dialect = conn.dialect.name
    where = [steps.c.project_id == project_id, steps.c.thread_id == thread_id, is_message(dialect)]
    # one row per message with the values that count, then plain aggregates over it
    per_message = (
        sa.select(
            steps.c.type.label("type"),
            json_text(steps.c.metrics, ("model",), dialect).label("model"),
            json_number(steps.c.metrics, ("timing", "latency"), dialect).label("latency"),
            *(
                sa.func.coalesce(json_number(steps.c.metrics, ("usage", key), dialect), 0).label(
                    key
                )
                for key in TOKEN_KEYS
            ),
        )
        .where(*where)
        .subquery("m")
    )
    sums = [sa.func.sum(per_message.c[key]).label(key) for key in TOKEN_KEYS]
    overall = conn.execute(sa.select(*sums)).one()
    by_model_rows = conn.execute(
        sa.select(per_message.c.model, sa.func.count().label("calls"), *sums)
        .where(per_message.c.model.is_not(None))
        .group_by(per_message.c.model)
        .order_by(per_message.c.model)
    ).all()
    timing = conn.execute(
        sa.select(
            sa.func.sum(per_message.c.latency).label("total"),
            sa.func.count(per_message.c.latency).label("n"),
        ).where(per_message.c.latency != 0)
    ).one()
    counts = {"system": 0, "user": 0, "assistant": 0, "tool": 0}
    for step_type, n in conn.execute(
        sa.select(per_message.c.type, sa.func.count()).group_by(per_message.c.type)
    ):
        counts[TYPE_ROLES[step_type]] += int(n)

    by_model = {row.model: _tokens(row) for row in by_model_rows}
    model_usage = {row.model: {"calls": int(row.calls), **_tokens(row)} for row in by_model_rows}
    total_latency = _number(timing.total)
    n = int(timing.n)
    return {
        "tokens": {"overall": _tokens(overall), "by_model": by_model},
        "model_usage": model_usage,
        "timing": {
            "total_latency": total_latency,
            "average_latency": total_latency / n if n else 0,
            "message_count": n,
        },
        "message_counts": counts,
        "tool_usage": _tool_usage(conn, where, dialect),
    }


def _tool_usage(conn: Connection, where: list[Any], dialect: str) -> dict[str, Any]:
    if dialect == "postgresql":
        calls = steps.c.output["tool_calls"]
        array = sa.case(
            (sa.func.jsonb_typeof(calls) == "array", calls),
            else_=sa.cast(sa.literal("[]"), JSONB),
        )
        each = sa.func.jsonb_array_elements(array).table_valued(
            sa.column("value", JSONB), name="call"
        )
        name = json_text(each.c.value, ("function", "name"), dialect)
        extra = []
    else:
        each = sa.func.json_each(steps.c.output, "$.tool_calls").table_valued("value", name="call")
        name = json_text(each.c.value, ("function", "name"), dialect)
        extra = [sa.func.json_type(steps.c.output, "$.tool_calls") == "array"]
    names = (
        sa.select(name.label("name"))
        .select_from(steps, each)
        .where(*where, steps.c.type == "assistant_message", *extra)
        .subquery("calls")
    )
    rows = conn.execute(
        sa.select(names.c.name, sa.func.count().label("n"))
        .where(names.c.name.is_not(None))
        .group_by(names.c.name)
        .order_by(names.c.name)
    ).all()
    tools = {row.name: int(row.n) for row in rows}
    return {"tools": tools, "total_calls": sum(tools.values())}
