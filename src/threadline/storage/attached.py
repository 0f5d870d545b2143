"""What hangs off steps and threads when they are read: their scores and attachments.

Loaded in batches (one query per kind per 500 steps), never one query per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from threadline.storage import attachments, scores


def annotate_steps(conn: Connection, project_id: str, steps: Sequence[dict[str, Any]]) -> None:
    """Set ``scores`` and ``attachments`` on each step dict (in place)."""
    if not steps:
        return
    ids = [s["id"] for s in steps]
    by_score = scores.for_steps(conn, project_id, ids)
    by_file = attachments.for_steps(conn, project_id, ids)
    for step in steps:
        step["scores"] = by_score.get(step["id"], [])
        step["attachments"] = by_file.get(step["id"], [])


def annotate_thread_steps(
    conn: Connection, project_id: str, thread_id: str, steps: Sequence[dict[str, Any]]
) -> None:
    """``annotate_steps`` for all the steps of one thread, by thread rather than by step ids."""
    by_score: dict[str, list[dict[str, Any]]] = {}
    for score in scores.of_thread_steps(conn, project_id, thread_id):
        by_score.setdefault(score["step_id"], []).append(score)
    by_file: dict[str, list[dict[str, Any]]] = {}
    for item in attachments.of_thread(conn, project_id, thread_id):
        if item["step_id"] is not None:
            by_file.setdefault(item["step_id"], []).append(item)
    for step in steps:
        step["scores"] = by_score.get(step["id"], [])
        step["attachments"] = by_file.get(step["id"], [])


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
