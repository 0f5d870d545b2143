"""``/v1/datasets`` and ``/v1/dataset-items``: datasets and their items."""

from __future__ import annotations

from typing import Any

from threadline.api.routing import Ctx, QueryParam, Router, parse_query, validate
from threadline.api.scores import evaluation
from threadline.client import types as t

router = Router("/v1", tag="datasets")

PAGE_QUERY = [
    QueryParam("first", "Cursor page size (1-1000).", "integer"),
    QueryParam("after", "Cursor: page after this end_cursor."),
    QueryParam("before", "Cursor: page before this start_cursor."),
    QueryParam("limit", "Offset page size (1-1000).", "integer"),
    QueryParam("offset", "Rows to skip.", "integer"),
    QueryParam("include_total", "Include total_count (default true).", "boolean"),
]


@router.post("/datasets", body=t.DatasetCreate, response=t.Dataset, status=201)
async def create_dataset(ctx: Ctx, body: t.DatasetCreate) -> Any:
    """Create a dataset (key_value or generation); 409 if the name is taken."""
    return await evaluation(ctx).create_dataset(ctx.project_id, body)


@router.get("/datasets", response=t.Page[t.Dataset], query=PAGE_QUERY)
async def list_datasets(ctx: Ctx, _: None) -> Any:
    """List datasets, newest first (without their items)."""
    q = validate(t.PageQuery, parse_query(ctx.request, PAGE_QUERY))
    return await evaluation(ctx).list_datasets(ctx.project_id, q)


@router.get("/datasets/by-name/{name}", response=t.Dataset)
async def get_dataset_by_name(ctx: Ctx, _: None) -> Any:
    """Get a dataset by name, with its items."""
    return await evaluation(ctx).get_dataset_by_name(ctx.project_id, ctx.path("name"))


@router.get("/datasets/{dataset_id}", response=t.Dataset)
async def get_dataset(ctx: Ctx, _: None) -> Any:
    """Get a dataset with its items."""
    return await evaluation(ctx).get_dataset(ctx.project_id, ctx.path("dataset_id"))


@router.patch("/datasets/{dataset_id}", body=t.DatasetUpdate, response=t.Dataset)
async def update_dataset(ctx: Ctx, body: t.DatasetUpdate) -> Any:
    """Change the name, description or metadata (fields present only)."""
    return await evaluation(ctx).update_dataset(ctx.project_id, ctx.path("dataset_id"), body)


@router.delete("/datasets/{dataset_id}")
async def delete_dataset(ctx: Ctx, _: None) -> Any:
    """Delete a dataset with its items and its experiments."""
    await evaluation(ctx).delete_dataset(ctx.project_id, ctx.path("dataset_id"))


@router.post(
    "/datasets/{dataset_id}/items", body=t.DatasetItemCreate, response=t.DatasetItem, status=201
)
async def create_dataset_item(ctx: Ctx, body: t.DatasetItemCreate) -> Any:
    """Add an item (input, expected output, metadata)."""
    return await evaluation(ctx).create_dataset_item(ctx.project_id, ctx.path("dataset_id"), body)


@router.post(
    "/datasets/{dataset_id}/items/from-step",
    body=t.DatasetItemFromStep,
    response=t.DatasetItem,
    status=201,
)
async def add_step_to_dataset(ctx: Ctx, body: t.DatasetItemFromStep) -> Any:
    """Add an item copying a step's input and output (the copy outlives the step)."""
    return await evaluation(ctx).add_step_to_dataset(ctx.project_id, ctx.path("dataset_id"), body)


@router.post(
    "/datasets/{dataset_id}/items/from-generation",
    body=t.DatasetItemFromGeneration,
    response=t.DatasetItem,
    status=201,
)
async def add_generation_to_dataset(ctx: Ctx, body: t.DatasetItemFromGeneration) -> Any:
    """Add an item copying a generation's messages and completion."""
    return await evaluation(ctx).add_generation_to_dataset(
        ctx.project_id, ctx.path("dataset_id"), body
    )


@router.get("/dataset-items/{item_id}", response=t.DatasetItem)
async def get_dataset_item(ctx: Ctx, _: None) -> Any:
    """Get a dataset item."""
    return await evaluation(ctx).get_dataset_item(ctx.project_id, ctx.path("item_id"))


@router.delete("/dataset-items/{item_id}")
async def delete_dataset_item(ctx: Ctx, _: None) -> Any:
    """Delete a dataset item."""
    await evaluation(ctx).delete_dataset_item(ctx.project_id, ctx.path("item_id"))
