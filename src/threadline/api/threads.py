"""``/v1/threads``: create, get, update, upsert, delete, list/search, count, export."""

from __future__ import annotations

from typing import Any

from threadline.api.responses import json_response
from threadline.api.routing import Ctx, QueryParam, Router, parse_query, validate
from threadline.client import types as t
from threadline.core.errors import InvalidInput

router = Router("/v1", tag="threads")

LIST_QUERY = [
    QueryParam("first", "Cursor page size (1-1000).", "integer"),
    QueryParam("after", "Cursor: page after this end_cursor."),
    QueryParam("before", "Cursor: page before this start_cursor."),
    QueryParam("limit", "Offset page size (1-1000).", "integer"),
    QueryParam("offset", "Rows to skip.", "integer"),
    QueryParam("order_by", "createdAt (default) or updatedAt."),
    QueryParam("order", "desc (default) or asc."),
    QueryParam("participant_id", "Only this participant's threads."),
    QueryParam("environment", "Only threads of this environment."),
    QueryParam("status", "idle, busy, interrupted or error."),
    QueryParam("metadata", "JSON object: metadata containment.", "json"),
    QueryParam("filters", "JSON list of {field, operator, value, path?}.", "json"),
    QueryParam("include_total", "Include total_count (default true).", "boolean"),
]


def search_from_query(ctx: Ctx) -> t.ThreadSearch:
    params = parse_query(ctx.request, LIST_QUERY)
    order_col = params.pop("order_by", None)
    order_dir = params.pop("order", None)
    if order_col is not None or order_dir is not None:
        params["order_by"] = {
            "column": order_col or "createdAt",
            "direction": (order_dir or "desc").upper(),
        }
    return validate(t.ThreadSearch, params)


@router.post("/threads", body=t.ThreadCreate, response=t.Thread, status=201)
async def create_thread(ctx: Ctx, body: t.ThreadCreate) -> Any:
    """Create a thread (409 if the id is taken)."""
    return await ctx.service.create_thread(ctx.project_id, body)


@router.get(
    "/threads/{thread_id}",
    response=t.Thread,
    query=[QueryParam("include_steps", "Include the ordered steps (default true).", "boolean")],
)
async def get_thread(ctx: Ctx, _: None) -> Any:
    """Get a thread with its steps in order."""
    params = parse_query(ctx.request, [QueryParam("include_steps", "", "boolean")])
    return await ctx.service.get_thread(
        ctx.project_id,
        ctx.path("thread_id"),
        include_steps=params.get("include_steps", True),
        wire=True,
    )


@router.patch("/threads/{thread_id}", body=t.ThreadUpdate, response=t.Thread)
async def update_thread(ctx: Ctx, body: t.ThreadUpdate) -> Any:
    """Update the fields present in the body (404 if the thread does not exist)."""
    return await ctx.service.update_thread(ctx.project_id, ctx.path("thread_id"), body)


@router.put("/threads/{thread_id}", body=t.ThreadUpdate, response=t.Thread, also=(201,))
async def upsert_thread(ctx: Ctx, body: t.ThreadUpdate) -> Any:
    """Create the thread with this id, or update the fields present if it exists."""
    thread, created = await ctx.service.upsert_thread(ctx.project_id, ctx.path("thread_id"), body)
    return json_response(thread, status=201 if created else 200)


@router.delete("/threads/{thread_id}")
async def delete_thread(ctx: Ctx, _: None) -> Any:
    """Delete a thread and its steps."""
    await ctx.service.delete_thread(ctx.project_id, ctx.path("thread_id"))


@router.get("/threads", response=t.Page[t.Thread], query=LIST_QUERY)
async def list_threads(ctx: Ctx, _: None) -> Any:
    """List threads, newest first, with filters and either pagination style."""
    return await ctx.service.search_threads(ctx.project_id, search_from_query(ctx))


@router.post("/threads/search", body=t.ThreadSearch, response=t.Page[t.Thread])
async def search_threads(ctx: Ctx, body: t.ThreadSearch) -> Any:
    """List threads matching filters given in the body."""
    return await ctx.service.search_threads(ctx.project_id, body)


@router.post("/threads/count", body=t.ThreadCount, response=t.Count)
async def count_threads(ctx: Ctx, body: t.ThreadCount) -> Any:
    """Count threads matching filters."""
    return {"count": await ctx.service.count_threads(ctx.project_id, body)}


@router.post("/threads/export", body=t.ThreadExport, response=t.ExportPage)
async def export_threads(ctx: Ctx, body: t.ThreadExport) -> Any:
    """Pages of threads with their steps, oldest first."""
    return await ctx.service.export_threads(ctx.project_id, body)


# --- thread state and events (the checkpoints LangGraph clients read through /threads) --------


def _empty_state(thread_id: str) -> dict[str, Any]:
    return {"thread_id": thread_id, "values": {}, "next": [], "tasks": [], "interrupts": []}


@router.get(
    "/threads/{thread_id}/state",
    response=t.ThreadState,
    query=[QueryParam("checkpoint_id", "The state at this checkpoint (default: the latest).")],
)
async def get_thread_state(ctx: Ctx, _: None) -> Any:
    """A thread's state: values, next nodes, tasks and checkpoint (empty if it has none)."""
    thread_id = ctx.path("thread_id")
    checkpoint_id = ctx.request.query_params.get("checkpoint_id") or None
    state = await ctx.request.app.state.states.get_state(
        ctx.project_id, thread_id, checkpoint_id=checkpoint_id
    )
    return state or _empty_state(thread_id)


@router.get(
    "/threads/{thread_id}/history",
    response=list[t.ThreadState],
    query=[
        QueryParam("limit", "Checkpoints to return, newest first (1-1000, default 10).", "integer"),
        QueryParam("before", "Only checkpoints older than this checkpoint id."),
    ],
)
async def get_thread_history(ctx: Ctx, _: None) -> Any:
    """A thread's checkpoints, newest first (every branch)."""
    params = parse_query(
        ctx.request, [QueryParam("limit", "", "integer"), QueryParam("before", "")]
    )
    limit = params.get("limit", 10)
    if not 1 <= limit <= t.MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {t.MAX_PAGE_SIZE}", field="limit")
    return await ctx.request.app.state.states.history(
        ctx.project_id, ctx.path("thread_id"), limit=limit, before=params.get("before")
    )


@router.post(
    "/threads/{thread_id}/events", body=t.ThreadEventCreate, response=t.ThreadEvent, status=201
)
async def publish_thread_event(ctx: Ctx, body: t.ThreadEventCreate) -> Any:
    """Append an event to the thread's stream (LangGraph clients get it from join_stream)."""
    return await ctx.request.app.state.states.publish(
        ctx.project_id, ctx.path("thread_id"), event=body.event, data=body.data, mode=body.mode
    )
