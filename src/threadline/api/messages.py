"""Tyler-style messages: reactions, platform and attribute lookups, analytics, titles.

Messages themselves are steps (``/v1/steps``, ``/v1/steps/batch``); this router adds what a
Tyler thread needs on top of them.
"""

from __future__ import annotations

from typing import Any

from threadline.api.routing import Ctx, QueryParam, Router, parse_query
from threadline.client import types as t
from threadline.core.errors import BadRequest
from threadline.core.messages import Messages

router = Router("/v1", tag="messages")

REMOVE_QUERY = [
    QueryParam("emoji", "The reaction's emoji, e.g. :thumbsup:.", required=True),
    QueryParam("user_id", "The user whose reaction is removed.", required=True),
]


def _messages(ctx: Ctx) -> Messages:
    return Messages(ctx.service.db)


@router.get("/steps/{step_id}/reactions", response=dict[str, list[str]])
async def get_reactions(ctx: Ctx, _: None) -> Any:
    """Reactions of a step: emoji -> user ids, in the order they reacted."""
    return await _messages(ctx).get_reactions(ctx.project_id, ctx.path("step_id"))


@router.post("/steps/{step_id}/reactions", body=t.ReactionCreate, response=t.ReactionResult)
async def add_reaction(ctx: Ctx, body: t.ReactionCreate) -> Any:
    """Add a user's reaction (idempotent: ``changed`` is false if it was there)."""
    return await _messages(ctx).add_reaction(ctx.project_id, ctx.path("step_id"), body)


@router.delete("/steps/{step_id}/reactions", response=t.ReactionResult, query=REMOVE_QUERY)
async def remove_reaction(ctx: Ctx, _: None) -> Any:
    """Remove a user's reaction (``changed`` is false if there was none)."""
    params = parse_query(ctx.request, REMOVE_QUERY)
    for qp in REMOVE_QUERY:
        if not params.get(qp.name):
            raise BadRequest(f"the {qp.name} query parameter is required", field=qp.name)
    return await _messages(ctx).remove_reaction(
        ctx.project_id, ctx.path("step_id"), params["emoji"], params["user_id"]
    )


@router.post("/threads/{thread_id}/reactions", body=t.ReactionBatch, response=t.ReactionBatchResult)
async def apply_reactions(ctx: Ctx, body: t.ReactionBatch) -> Any:
    """Remove, then add, reactions on steps of a thread in one transaction."""
    return await _messages(ctx).apply_reactions(ctx.project_id, ctx.path("thread_id"), body)


@router.post("/threads/{thread_id}/steps/delete", body=t.StepIds, response=t.Count)
async def delete_thread_steps(ctx: Ctx, body: t.StepIds) -> Any:
    """Delete these steps of the thread (with their reactions); returns how many went."""
    count = await _messages(ctx).delete_steps(ctx.project_id, ctx.path("thread_id"), body.ids)
    return {"count": count}


@router.post("/threads/by-platform", body=t.PlatformSearch, response=t.ThreadList)
async def threads_by_platform(ctx: Ctx, body: t.PlatformSearch) -> Any:
    """Threads referenced on a platform, e.g. ``slack`` with ``{"thread_ts": "..."}``."""
    return {"data": await _messages(ctx).threads_by_platform(ctx.project_id, body)}


@router.post("/threads/by-attributes", body=t.AttributeSearch, response=t.ThreadList)
async def threads_by_attributes(ctx: Ctx, body: t.AttributeSearch) -> Any:
    """Threads whose metadata contains the given attributes, newest first."""
    return {"data": await _messages(ctx).threads_by_attributes(ctx.project_id, body)}


@router.post("/messages/search", body=t.MessageSearch, response=t.StepList)
async def search_messages(ctx: Ctx, body: t.MessageSearch) -> Any:
    """Message steps whose field at a dot path equals a value (e.g. platforms.slack.ts)."""
    return {"data": await _messages(ctx).find_messages(ctx.project_id, body)}


@router.get("/threads/{thread_id}/analytics", response=t.ThreadAnalytics)
async def thread_analytics(ctx: Ctx, _: None) -> Any:
    """Token usage (overall, by model), latency, message counts and tool calls of a thread."""
    return await _messages(ctx).analytics(ctx.project_id, ctx.path("thread_id"))


@router.post("/threads/{thread_id}/title", response=t.ThreadTitle)
async def generate_title(ctx: Ctx, _: None) -> Any:
    """Generate the thread's title (LLM if configured, else its first user message) and set it."""
    settings = ctx.request.app.state.settings
    return await _messages(ctx).generate_title(ctx.project_id, ctx.path("thread_id"), settings)
