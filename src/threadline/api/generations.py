"""``/v1/generations``: LLM calls (chat or completion), stored as llm steps."""

from __future__ import annotations

from typing import Any

from threadline.api.routing import Ctx, QueryParam, Router, parse_query, validate
from threadline.api.scores import evaluation, order_params
from threadline.client import types as t

router = Router("/v1", tag="generations")

LIST_QUERY = [
    QueryParam("thread_id", "Only this thread's generations."),
    QueryParam("first", "Cursor page size (1-1000).", "integer"),
    QueryParam("after", "Cursor: page after this end_cursor."),
    QueryParam("before", "Cursor: page before this start_cursor."),
    QueryParam("limit", "Offset page size (1-1000).", "integer"),
    QueryParam("offset", "Rows to skip.", "integer"),
    QueryParam("order_by", "createdAt (default), tokenCount, duration, model or provider."),
    QueryParam("order", "desc (default) or asc."),
    QueryParam("filters", "JSON list of {field, operator, value, path?}.", "json"),
    QueryParam("include_total", "Include total_count (default true).", "boolean"),
]


@router.post("/generations", body=t.GenerationCreate, response=t.Step, status=201)
async def create_generation(ctx: Ctx, body: t.GenerationCreate) -> Any:
    """Log a generation: an llm step, in a thread (created if missing) or on its own."""
    return await evaluation(ctx).create_generation(ctx.project_id, body)


@router.get("/generations/{generation_id}", response=t.Step)
async def get_generation(ctx: Ctx, _: None) -> Any:
    """Get a generation (the llm step carrying it)."""
    return await evaluation(ctx).get_generation(ctx.project_id, ctx.path("generation_id"))


@router.get("/generations", response=t.Page[t.Step], query=LIST_QUERY)
async def list_generations(ctx: Ctx, _: None) -> Any:
    """List generations, newest first, with filters."""
    params = order_params(parse_query(ctx.request, LIST_QUERY))
    q = validate(t.GenerationSearch, params)
    return await evaluation(ctx).search_generations(ctx.project_id, q)


@router.post("/generations/search", body=t.GenerationSearch, response=t.Page[t.Step])
async def search_generations(ctx: Ctx, body: t.GenerationSearch) -> Any:
    """List generations matching filters given in the body."""
    return await evaluation(ctx).search_generations(ctx.project_id, body)
