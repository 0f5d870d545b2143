"""What hangs off steps and threads when they are read: their scores and attachments.

Loaded in batches (one query per kind per 500 steps), never one query per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.storage import attachments, scores
from threadline.storage.schema import attachments as attachments_table
from threadline.storage.schema import scores as scores_table
from threadline.storage.schema import step_reactions
from threadline.storage.schema import steps as steps_table


def annotate_steps(
    conn: Connection,
    project_id: str,
    steps: Sequence[dict[str, Any]],
    *,
    with_scores: bool = True,
    with_attachments: bool = True,
) -> None:
    """Set ``scores`` and ``attachments`` on each step dict (in place); ``with_...=False``: the
    caller knows they have none of that kind."""
    if not steps:
        return
    ids = [s["id"] for s in steps]
    by_score = scores.for_steps(conn, project_id, ids) if with_scores else {}
    by_file = attachments.for_steps(conn, project_id, ids) if with_attachments else {}
    for step in steps:
        step["scores"] = by_score.get(step["id"], [])
        step["attachments"] = by_file.get(step["id"], [])


def step_present_columns() -> list[Any]:
    """Columns of a single-step read (``steps`` in its FROM) telling whether the step has
    reactions, scores, attachments: each kind's query runs only when it has some."""
    ids = (steps_table.c.project_id, steps_table.c.id)

    def has(table: Any) -> Any:
        query: Any = sa.select(sa.literal_column("1")).where(
            table.c.project_id == ids[0], table.c.step_id == ids[1]
        )
        return query.exists()

    return [
        has(step_reactions).label("has_reactions"),
        has(scores_table).label("has_scores"),
        has(attachments_table).label("has_attachments"),
    ]


@dataclass(frozen=True)
class Present:
    """Which kinds of annotations a thread has (when known, their queries can be skipped)."""

    reactions: bool = True
    scores: bool = True
    attachments: bool = True


UNKNOWN = Present()
NONE = Present(reactions=False, scores=False, attachments=False)


def present_columns(project_id: Any, thread_id: Any) -> list[Any]:
    """Columns telling whether the thread has reactions, scores, attachments: read with the
    thread row, they spare a thread read up to three queries (a round trip each on PG)."""
    files: Any = sa.select(sa.literal_column("1")).where(
        attachments_table.c.project_id == project_id, attachments_table.c.thread_id == thread_id
    )
    return [
        _steps_have(step_reactions, project_id, thread_id).label("has_reactions"),
        _steps_have(scores_table, project_id, thread_id).label("has_scores"),
        files.exists().label("has_attachments"),
    ]


def step_attachments_present(project_id: Any, thread_id: Any) -> Any:
    """Whether any step of the thread has attachments (its own attachments aside)."""
    return _steps_have(attachments_table, project_id, thread_id).label("has_step_attachments")


def _steps_have(table: sa.Table, project_id: Any, thread_id: Any) -> Any:
    """Whether ``table`` has a row for some step of the thread. A project with no such rows at
    all answers in one index lookup instead of one per step of the thread (46 -> 8 µs for a
    100-step thread)."""
    of_thread = sa.select(steps_table.c.id).where(
        steps_table.c.project_id == project_id, steps_table.c.thread_id == thread_id
    )
    any_in_project: Any = sa.select(sa.literal_column("1")).where(
        table.c.project_id == project_id, table.c.step_id.is_not(None)
    )
    in_thread: Any = sa.select(sa.literal_column("1")).where(
        table.c.project_id == project_id, table.c.step_id.in_(of_thread)
    )
    return _if_any(any_in_project, in_thread)


def _if_any(project_has: Any, thread_has: Any) -> Any:
    """``thread_has`` exists, asked only when ``project_has`` does."""
    return sa.case((project_has.exists(), thread_has.exists()), else_=sa.false())


def annotate_thread_steps(
    conn: Connection,
    project_id: str,
    thread_id: str,
    steps: Sequence[dict[str, Any]],
    has: Present = UNKNOWN,
) -> list[dict[str, Any]]:
    """``annotate_steps`` for all the steps of one thread, by thread rather than by step ids;
    returns all the thread's attachments (its own and its steps')."""
    by_score: dict[str, list[dict[str, Any]]] = {}
    if has.scores:
        for score in scores.of_thread_steps(conn, project_id, thread_id):
            by_score.setdefault(score["step_id"], []).append(score)
    files = attachments.of_thread(conn, project_id, thread_id) if has.attachments else []
    by_file: dict[str, list[dict[str, Any]]] = {}
    for item in files:
        if item["step_id"] is not None:
            by_file.setdefault(item["step_id"], []).append(item)
    for step in steps:
        step["scores"] = by_score.get(step["id"], [])
        step["attachments"] = by_file.get(step["id"], [])
    return files


def annotate_thread(conn: Connection, project_id: str, thread: dict[str, Any]) -> None:
    """Set ``scores`` (of all its steps) and ``attachments`` (all of them) on a thread dict; the
    scores come from its annotated ``steps`` when it has them."""
    steps = thread.get("steps")
    if steps is not None and all("scores" in s for s in steps):
        found = [score for step in steps for score in step["scores"]]
        thread["scores"] = sorted(found, key=lambda s: (s["created_at"], s["id"]))
    else:
        thread["scores"] = scores.for_thread(conn, project_id, thread["id"])
    thread["attachments"] = attachments.of_thread(conn, project_id, thread["id"])


def before_delete(
    conn: Connection,
    project_id: str,
    *,
    thread_id: str | None = None,
    step_id: str | None = None,
    step_ids: Sequence[str] = (),
) -> None:
    """Call in the transaction that deletes a thread or steps (before the DELETE): queues the
    files of the attachments the delete will cascade away, for the file sweeper."""
    wanted = [*step_ids, *([step_id] if step_id is not None else [])]
    attachments.queue_files_of(conn, project_id, thread_id=thread_id, step_ids=wanted)
