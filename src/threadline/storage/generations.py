"""Generations: LLM calls, stored as steps whose ``generation`` column holds the payload.

A generation logged on its own is an ``llm`` step without a thread; one logged inside a thread is
the same step with a thread. Listing them is a step search restricted to steps with a payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from threadline.core.errors import InvalidInput
from threadline.core.filters import Condition
from threadline.storage import attached
from threadline.storage import steps as step_store
from threadline.storage.filtering import compile_conditions
from threadline.storage.pagination import PageRequest, paginate_where
from threadline.storage.schema import steps

#: order_by column -> (sort expression, keyset cursor?); JSON values page by offset
ORDERABLE: dict[str, tuple[Any, bool]] = {
    "createdAt": (steps.c.created_at, True),
    "tokenCount": (steps.c.generation["token_count"].as_float(), False),
    "duration": (steps.c.generation["duration"].as_float(), False),
    "model": (steps.c.generation["model"].as_string(), False),
    "provider": (steps.c.generation["provider"].as_string(), False),
}


def search(
    conn: Connection,
    project_id: str,
    conditions: Sequence[Condition],
    page: PageRequest,
    *,
    order_by: str = "createdAt",
) -> dict[str, Any]:
    if order_by not in ORDERABLE:
        raise InvalidInput(
            f"cannot order generations by {order_by!r}; use {', '.join(ORDERABLE)}",
            field="order_by.column",
        )
    column, keyset = ORDERABLE[order_by]
    where = [
        steps.c.project_id == project_id,
        steps.c.generation.is_not(None),
        *compile_conditions("generations", conditions, conn.dialect.name),
    ]
    result = paginate_where(
        conn,
        step_store._SELECT,  # the same columns as a step read
        where,
        order_col=column,
        id_col=steps.c.id,
        request=page,
        keyset=keyset,
    )
    data = [step_store.to_wire(row) for row in result.rows]
    attached.annotate_steps(conn, project_id, data)
    return result.wire(data)
