"""``/v1/scores``: scores on steps, generations and experiment items."""

from __future__ import annotations

from typing import Any

from threadline.api.routing import Ctx, QueryParam, Router, parse_query, validate
from threadline.client import types as t
from threadline.core.evaluation import Evaluation

router = Router("/v1", tag="scores")

LIST_QUERY = [
    QueryParam("step_id", "Only scores on this step (or generation)."),
    QueryParam("experiment_item_id", "Only scores on this experiment item."),
    QueryParam("first", "Cursor page size (1-1000).", "integer"),
    QueryParam("after", "Cursor: page after this end_cursor."),
    QueryParam("before", "Cursor: page before this start_cursor."),
    QueryParam("limit", "Offset page size (1-1000).", "integer"),
    QueryParam("offset", "Rows to skip.", "integer"),
    QueryParam("order_by", "createdAt (default) or value."),
    QueryParam("order", "desc (default) or asc."),
    QueryParam("filters", "JSON list of {field, operator, value, path?}.", "json"),
    QueryParam("include_total", "Include total_count (default true).", "boolean"),
]


def evaluation(ctx: Ctx) -> Evaluation:
    service: Evaluation = ctx.request.app.state.evaluation
    return service


def order_params(params: dict[str, Any]) -> dict[str, Any]:
    """``order_by`` + ``order`` query parameters as the body's ``order_by`` object."""
    column, direction = params.pop("order_by", None), params.pop("order", None)
    if column is not None or direction is not None:
        params["order_by"] = {
            "column": column or "createdAt",
            "direction": (direction or "desc").upper(),
        }
    return params


@router.post("/scores", body=t.ScoreCreate, response=t.Score, status=201)
async def create_score(ctx: Ctx, body: t.ScoreCreate) -> Any:
    """Score a step, a generation or an experiment item (type HUMAN, AI or CODE)."""
    return await evaluation(ctx).create_score(ctx.project_id, body)


@router.post("/scores/batch", body=t.ScoreBatch, response=list[t.Score], status=201)
async def create_scores(ctx: Ctx, body: t.ScoreBatch) -> Any:
    """Create up to 1,000 scores in one transaction (all or none)."""
    return await evaluation(ctx).create_scores(ctx.project_id, body)


@router.get("/scores/{score_id}", response=t.Score)
async def get_score(ctx: Ctx, _: None) -> Any:
    """Get a score."""
    return await evaluation(ctx).get_score(ctx.project_id, ctx.path("score_id"))


@router.patch("/scores/{score_id}", body=t.ScoreUpdate, response=t.Score)
async def update_score(ctx: Ctx, body: t.ScoreUpdate) -> Any:
    """Change the fields present (e.g. the value); the others, such as the comment, are kept."""
    return await evaluation(ctx).update_score(ctx.project_id, ctx.path("score_id"), body)


@router.delete("/scores/{score_id}")
async def delete_score(ctx: Ctx, _: None) -> Any:
    """Delete a score."""
    await evaluation(ctx).delete_score(ctx.project_id, ctx.path("score_id"))


@router.get("/scores", response=t.Page[t.Score], query=LIST_QUERY)
async def list_scores(ctx: Ctx, _: None) -> Any:
    """List scores, newest first, with filters."""
    params = order_params(parse_query(ctx.request, LIST_QUERY))
    return await evaluation(ctx).search_scores(ctx.project_id, validate(t.ScoreSearch, params))


@router.post("/scores/search", body=t.ScoreSearch, response=t.Page[t.Score])
async def search_scores(ctx: Ctx, body: t.ScoreSearch) -> Any:
    """List scores matching filters given in the body."""
    return await evaluation(ctx).search_scores(ctx.project_id, body)
