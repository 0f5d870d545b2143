"""``/v1/steps``: create, get, update, delete, list/search and batched ingest."""

from __future__ import annotations

from typing import Any

from threadline.api.routing import Ctx, QueryParam, Router, parse_query, validate
from threadline.client import types as t

router = Router("/v1", tag="steps")

LIST_QUERY = [
    QueryParam("thread_id", "Only this thread's steps."),
    QueryParam("type", "Only steps of this type."),
    QueryParam("first", "Cursor page size (1-1000).", "integer"),
    QueryParam("after", "Cursor: page after this end_cursor."),
    QueryParam("before", "Cursor: page before this start_cursor."),
    QueryParam("limit", "Offset page size (1-1000).", "integer"),
    QueryParam("offset", "Rows to skip.", "integer"),
    QueryParam("order", "desc (default) or asc, by creation time."),
    QueryParam("filters", "JSON list of {field, operator, value, path?}.", "json"),
    QueryParam("include_total", "Include total_count (default true).", "boolean"),
]


@router.post("/steps", body=t.StepCreate, response=t.Step, status=201)
async def create_step(ctx: Ctx, body: t.StepCreate) -> Any:
    """Create a step; its thread is created if it does not exist yet."""
    return await ctx.service.create_step(ctx.project_id, body)


@router.post("/steps/batch", body=t.StepBatch, response=t.BatchResult)
async def ingest_steps(ctx: Ctx, body: t.StepBatch) -> Any:
    """Upsert up to 1,000 steps in one transaction (idempotent; threads auto-created)."""
    return await ctx.service.ingest_steps(ctx.project_id, body)


@router.get("/steps/{step_id}", response=t.Step)
async def get_step(ctx: Ctx, _: None) -> Any:
    """Get a step."""
    return await ctx.service.get_step(ctx.project_id, ctx.path("step_id"))


@router.patch("/steps/{step_id}", body=t.StepUpdate, response=t.Step)
async def update_step(ctx: Ctx, body: t.StepUpdate) -> Any:
    """Update the fields present in the body."""
    return await ctx.service.update_step(ctx.project_id, ctx.path("step_id"), body)


@router.delete("/steps/{step_id}")
async def delete_step(ctx: Ctx, _: None) -> Any:
    """Delete a step."""
    await ctx.service.delete_step(ctx.project_id, ctx.path("step_id"))


@router.get("/steps", response=t.Page[t.Step], query=LIST_QUERY)
async def list_steps(ctx: Ctx, _: None) -> Any:
    """List steps, newest first, with filters."""
    params = parse_query(ctx.request, LIST_QUERY)
    order = params.pop("order", None)
    if order is not None:
        params["order_by"] = {"column": "createdAt", "direction": order.upper()}
    return await ctx.service.search_steps(ctx.project_id, validate(t.StepSearch, params))


@router.post("/steps/search", body=t.StepSearch, response=t.Page[t.Step])
async def search_steps(ctx: Ctx, body: t.StepSearch) -> Any:
    """List steps matching filters given in the body."""
    return await ctx.service.search_steps(ctx.project_id, body)
