"""Per-row aggregates computed by the database (token counts, durations, activity)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from threadline.storage.schema import participants, steps, threads


def _step_tokens() -> ColumnElement[Any]:
    return sa.func.coalesce(steps.c.generation["token_count"].as_integer(), 0)


def thread_token_count() -> ColumnElement[Any]:
    """Sum of the generation token counts of a thread's steps."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(_step_tokens()), 0))
        .where(steps.c.project_id == threads.c.project_id, steps.c.thread_id == threads.c.id)
        .scalar_subquery()
    )


def thread_duration(dialect: str) -> ColumnElement[Any]:
    """Seconds from a thread's first step start to its last step end (0 without steps)."""
    first = sa.func.min(sa.func.coalesce(steps.c.start_time, steps.c.created_at))
    last = sa.func.max(sa.func.coalesce(steps.c.end_time, steps.c.start_time, steps.c.created_at))
    if dialect == "postgresql":
        seconds: ColumnElement[Any] = sa.func.extract("epoch", last - first)
    else:
        seconds = (sa.func.julianday(last) - sa.func.julianday(first)) * 86400.0
    return (
        sa.select(sa.func.coalesce(seconds, 0))
        .where(steps.c.project_id == threads.c.project_id, steps.c.thread_id == threads.c.id)
        .scalar_subquery()
    )


def participant_thread_count() -> ColumnElement[Any]:
    return (
        sa.select(sa.func.count())
        .where(
            threads.c.project_id == participants.c.project_id,
            threads.c.participant_id == participants.c.id,
        )
        .scalar_subquery()
    )


def participant_last_engaged() -> ColumnElement[Any]:
    return (
        sa.select(sa.func.max(threads.c.updated_at))
        .where(
            threads.c.project_id == participants.c.project_id,
            threads.c.participant_id == participants.c.id,
        )
        .scalar_subquery()
    )


def participant_token_count() -> ColumnElement[Any]:
    return (
        sa.select(sa.func.coalesce(sa.func.sum(_step_tokens()), 0))
        .select_from(
            steps.join(
                threads,
                sa.and_(
                    threads.c.project_id == steps.c.project_id, threads.c.id == steps.c.thread_id
                ),
            )
        )
        .where(
            threads.c.project_id == participants.c.project_id,
            threads.c.participant_id == participants.c.id,
        )
        .scalar_subquery()
    )


def thread_totals(
    conn: Any, project_id: str, thread_ids: list[str]
) -> dict[str, tuple[int, float]]:
    """(token count, duration in seconds) of each thread, in one grouped query per 500 ids."""
    first = sa.func.min(sa.func.coalesce(steps.c.start_time, steps.c.created_at))
    last = sa.func.max(sa.func.coalesce(steps.c.end_time, steps.c.start_time, steps.c.created_at))
    if conn.dialect.name == "postgresql":
        seconds: ColumnElement[Any] = sa.func.extract("epoch", last - first)
    else:
        seconds = (sa.func.julianday(last) - sa.func.julianday(first)) * 86400.0
    out: dict[str, tuple[int, float]] = {}
    for start in range(0, len(thread_ids), 500):
        part = thread_ids[start : start + 500]
        query = (
            sa.select(steps.c.thread_id, sa.func.sum(_step_tokens()), seconds)
            .where(steps.c.project_id == project_id, steps.c.thread_id.in_(part))
            .group_by(steps.c.thread_id)
        )
        for thread_id, tokens, duration in conn.execute(query):
            # milliseconds: SQLite computes through julianday floats (3.0 s reads 2.99998)
            out[thread_id] = (int(tokens or 0), round(float(duration or 0), 3))
    return out
