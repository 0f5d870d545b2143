"""``/v1/experiments``: experiments on a dataset (optionally a prompt) and their scored items."""

from __future__ import annotations

from typing import Any

from threadline.api.datasets import PAGE_QUERY
from threadline.api.routing import Ctx, QueryParam, Router, parse_query, validate
from threadline.api.scores import evaluation
from threadline.client import types as t

router = Router("/v1", tag="experiments")

LIST_QUERY = [QueryParam("dataset_id", "Only experiments on this dataset."), *PAGE_QUERY]


@router.post("/experiments", body=t.ExperimentCreate, response=t.Experiment, status=201)
async def create_experiment(ctx: Ctx, body: t.ExperimentCreate) -> Any:
    """Create an experiment, on a dataset and a prompt version if given."""
    return await evaluation(ctx).create_experiment(ctx.project_id, body)


@router.get("/experiments", response=t.Page[t.Experiment], query=LIST_QUERY)
async def list_experiments(ctx: Ctx, _: None) -> Any:
    """List experiments, newest first (without their items)."""
    q = validate(t.ExperimentSearch, parse_query(ctx.request, LIST_QUERY))
    return await evaluation(ctx).list_experiments(ctx.project_id, q)


@router.get("/experiments/{experiment_id}", response=t.Experiment)
async def get_experiment(ctx: Ctx, _: None) -> Any:
    """Get an experiment with its items and their scores."""
    return await evaluation(ctx).get_experiment(ctx.project_id, ctx.path("experiment_id"))


@router.delete("/experiments/{experiment_id}")
async def delete_experiment(ctx: Ctx, _: None) -> Any:
    """Delete an experiment with its items and their scores."""
    await evaluation(ctx).delete_experiment(ctx.project_id, ctx.path("experiment_id"))


@router.post(
    "/experiments/{experiment_id}/items",
    body=t.ExperimentItemCreate,
    response=t.ExperimentItem,
    status=201,
)
async def add_experiment_item(ctx: Ctx, body: t.ExperimentItemCreate) -> Any:
    """Record one result: input, output, the dataset item it came from, and its scores."""
    return await evaluation(ctx).add_experiment_item(
        ctx.project_id, ctx.path("experiment_id"), body
    )
