"""``/v1`` checkpoints: what a LangGraph checkpointer (``threadline.langgraph.ThreadlineSaver``)
stores and reads.

They are the same checkpoints the threads API serves as state and history: each carries
LangGraph's exact serialized form (base64 in ``serialized.data``) next to its JSON view.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from threadline.api.routing import Ctx, Router
from threadline.client import types as t
from threadline.core.errors import InvalidInput
from threadline.core.state_service import CheckpointOperation, StateService, TaskWrites

router = Router("/v1", tag="checkpoints")


def states(ctx: Ctx) -> StateService:
    service: StateService = ctx.request.app.state.states
    return service


def _decode(value: t.SerializedValue | None, field: str) -> tuple[str | None, bytes | None]:
    if value is None:
        return None, None
    try:
        return value.type, base64.b64decode(value.data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("must be base64", field=f"{field}.data") from None


def _encode(kind: str | None, blob: bytes | None) -> dict[str, str] | None:
    if kind is None or blob is None:
        return None
    return {"type": kind, "data": base64.b64encode(blob).decode("ascii")}


def _checkpoint_row(checkpoint_id: str, body: t.CheckpointPut, field: str) -> dict[str, Any]:
    kind, blob = _decode(body.serialized, f"{field}serialized")
    return {
        "checkpoint_ns": body.checkpoint_ns,
        "checkpoint_id": checkpoint_id,
        "parent_checkpoint_id": body.parent_checkpoint_id,
        "values": body.values,
        "metadata": body.metadata,
        "next": body.next,
        "tasks": body.tasks,
        "checkpoint_type": kind,
        "checkpoint_blob": blob,
    }


def _task_writes(body: t.CheckpointWritesPut, field: str) -> TaskWrites:
    writes = []
    for i, write in enumerate(body.writes):
        kind, blob = _decode(write.serialized, f"{field}writes[{i}].serialized")
        writes.append(
            {
                "idx": write.idx,
                "channel": write.channel,
                "value": write.value,
                "value_type": kind,
                "value_blob": blob,
            }
        )
    return {
        "checkpoint_ns": body.checkpoint_ns,
        "task_id": body.task_id,
        "task_path": body.task_path,
        "writes": writes,
    }


@router.put(
    "/threads/{thread_id}/checkpoints/{checkpoint_id}",
    body=t.CheckpointPut,
    response=t.CheckpointRef,
)
async def put_checkpoint(ctx: Ctx, body: t.CheckpointPut) -> Any:
    """Store a checkpoint (replacing one with this id); creates the thread on its first one."""
    checkpoint_id = ctx.path("checkpoint_id")
    if not 1 <= len(checkpoint_id) <= 64:
        raise InvalidInput("checkpoint_id must be 1 to 64 characters", field="checkpoint_id")
    row = _checkpoint_row(checkpoint_id, body, "")
    return await states(ctx).put_checkpoint(ctx.project_id, ctx.path("thread_id"), row)


@router.put("/threads/{thread_id}/checkpoints/{checkpoint_id}/writes", body=t.CheckpointWritesPut)
async def put_checkpoint_writes(ctx: Ctx, body: t.CheckpointWritesPut) -> Any:
    """Store a task's pending writes on a checkpoint (idempotent per task and index)."""
    await states(ctx).put_writes(
        ctx.project_id, ctx.path("thread_id"), ctx.path("checkpoint_id"), _task_writes(body, "")
    )


@router.post("/checkpoints/batch", body=t.CheckpointBatch, response=list[t.CheckpointRef | None])
async def apply_checkpoint_batch(ctx: Ctx, body: t.CheckpointBatch) -> Any:
    """Store checkpoints and task writes, in order, in one transaction (all or none): each
    result is the checkpoint's reference, or null for a write set. Writes may follow their
    checkpoint in the same batch."""
    operations = []
    for i, op in enumerate(body.operations):
        field = f"operations[{i}]."
        operations.append(
            CheckpointOperation(
                thread_id=op.thread_id,
                checkpoint_id=op.checkpoint_id,
                checkpoint=(
                    _checkpoint_row(op.checkpoint_id, op.checkpoint, field + "checkpoint.")
                    if op.checkpoint is not None
                    else None
                ),
                writes=(
                    _task_writes(op.writes, field + "writes.") if op.writes is not None else None
                ),
            )
        )
    return await states(ctx).apply_checkpoint_batch(ctx.project_id, operations)


@router.post("/checkpoints/search", body=t.CheckpointSearch, response=list[t.StoredCheckpoint])
async def search_checkpoints(ctx: Ctx, body: t.CheckpointSearch) -> Any:
    """Checkpoints newest first, with their serialized form and pending writes."""
    found = await states(ctx).search_checkpoints(
        ctx.project_id,
        thread_id=body.thread_id,
        checkpoint_ns=body.checkpoint_ns,
        checkpoint_id=body.checkpoint_id,
        before=body.before,
        metadata=body.metadata,
        limit=body.limit,
    )
    return [
        {
            "thread_id": cp["thread_id"],
            "checkpoint_ns": cp["checkpoint_ns"],
            "checkpoint_id": cp["checkpoint_id"],
            "parent_checkpoint_id": cp["parent_checkpoint_id"],
            "values": cp["values"],
            "metadata": cp["metadata"],
            "next": cp["next"],
            "tasks": cp["tasks"],
            "serialized": _encode(cp["checkpoint_type"], cp["checkpoint_blob"]),
            "created_at": cp["created_at"],
            "pending_writes": [
                {
                    "task_id": w["task_id"],
                    "idx": w["idx"],
                    "channel": w["channel"],
                    "task_path": w["task_path"],
                    "value": w["value"],
                    "serialized": _encode(w["value_type"], w["value_blob"]),
                }
                for w in cp["pending_writes"]
            ],
        }
        for cp in found
    ]


@router.delete("/threads/{thread_id}/checkpoints")
async def delete_checkpoints(ctx: Ctx, _: None) -> Any:
    """Delete a thread's checkpoints and pending writes (the thread itself stays)."""
    await states(ctx).delete_checkpoints(ctx.project_id, ctx.path("thread_id"))


@router.post("/checkpoints/delete-runs", body=t.CheckpointRunsDelete)
async def delete_checkpoints_for_runs(ctx: Ctx, body: t.CheckpointRunsDelete) -> Any:
    """Delete every checkpoint (with its writes) whose ``metadata.run_id`` is one of these."""
    await states(ctx).delete_checkpoints_for_runs(ctx.project_id, body.run_ids)


@router.post("/threads/{thread_id}/checkpoints/copy", body=t.CheckpointCopy)
async def copy_checkpoints(ctx: Ctx, body: t.CheckpointCopy) -> Any:
    """Copy a thread's checkpoints and writes, ids kept, to another thread (created if new)."""
    await states(ctx).copy_checkpoints(ctx.project_id, ctx.path("thread_id"), body.target_thread_id)


@router.post("/checkpoints/prune", body=t.CheckpointPrune)
async def prune_checkpoints(ctx: Ctx, body: t.CheckpointPrune) -> Any:
    """Keep only each namespace's newest checkpoint of these threads, or delete them all."""
    await states(ctx).prune_checkpoints(ctx.project_id, body.thread_ids, body.strategy)
