"""``/v1/prompts``: prompt lineages, versions (get-or-create by content) and A/B rollouts."""

from __future__ import annotations

from typing import Any

from threadline.api.datasets import PAGE_QUERY
from threadline.api.responses import json_response
from threadline.api.routing import Ctx, QueryParam, Router, parse_query, validate
from threadline.client import types as t
from threadline.core.prompts import Prompts

router = Router("/v1", tag="prompts")

PICK_QUERY = [
    QueryParam("version", "This version; without it, the rollout's pick or the latest.", "integer"),
    QueryParam("participant_id", "Sticky rollout pick for this participant."),
    QueryParam("thread_id", "Sticky rollout pick for this thread (if no participant_id)."),
]


def prompts(ctx: Ctx) -> Prompts:
    service: Prompts = ctx.request.app.state.prompts
    return service


@router.post("/prompts/get-or-create", body=t.PromptCreate, response=t.Prompt, also=(201,))
async def get_or_create_prompt(ctx: Ctx, body: t.PromptCreate) -> Any:
    """The version with this content (200), or a new version of the lineage (201)."""
    prompt, created = await prompts(ctx).get_or_create(ctx.project_id, body)
    return json_response(prompt, status=201 if created else 200)


@router.post("/prompts/lineages", body=t.PromptLineageCreate, response=t.PromptLineage, also=(201,))
async def get_or_create_prompt_lineage(ctx: Ctx, body: t.PromptLineageCreate) -> Any:
    """The lineage with this name (200), or a new one without versions yet (201)."""
    lineage, created = await prompts(ctx).get_or_create_lineage(ctx.project_id, body)
    return json_response(lineage, status=201 if created else 200)


@router.get("/prompts/lineages/{lineage_id}", response=t.PromptLineage)
async def get_prompt_lineage(ctx: Ctx, _: None) -> Any:
    """Get a prompt lineage by id."""
    return await prompts(ctx).get_lineage(ctx.project_id, ctx.path("lineage_id"))


@router.get("/prompts", response=t.Page[t.PromptLineage], query=PAGE_QUERY)
async def list_prompts(ctx: Ctx, _: None) -> Any:
    """List prompt lineages, newest first, with their latest version number."""
    q = validate(t.PageQuery, parse_query(ctx.request, PAGE_QUERY))
    return await prompts(ctx).list_lineages(ctx.project_id, q)


@router.get("/prompts/by-name/{name}", response=t.Prompt, query=PICK_QUERY)
async def get_prompt_by_name(ctx: Ctx, _: None) -> Any:
    """A version by number; else the A/B rollout's pick (sticky per id); else the latest."""
    params = parse_query(ctx.request, PICK_QUERY)
    return await prompts(ctx).get_by_name(
        ctx.project_id,
        ctx.path("name"),
        version=params.get("version"),
        thread_id=params.get("thread_id"),
        participant_id=params.get("participant_id"),
    )


@router.get("/prompts/by-name/{name}/versions", response=list[t.Prompt])
async def list_prompt_versions(ctx: Ctx, _: None) -> Any:
    """Every version of a lineage, newest first."""
    return await prompts(ctx).versions(ctx.project_id, ctx.path("name"))


@router.delete("/prompts/by-name/{name}")
async def delete_prompt(ctx: Ctx, _: None) -> Any:
    """Delete a lineage with all its versions and its rollout."""
    await prompts(ctx).delete_lineage(ctx.project_id, ctx.path("name"))


@router.get("/prompts/by-name/{name}/rollouts", response=list[t.Rollout])
async def get_prompt_rollouts(ctx: Ctx, _: None) -> Any:
    """The lineage's A/B rollout (empty: the latest version is served)."""
    return await prompts(ctx).get_rollouts(ctx.project_id, ctx.path("name"))


@router.put("/prompts/by-name/{name}/rollouts", body=t.RolloutUpdate, response=list[t.Rollout])
async def set_prompt_rollouts(ctx: Ctx, body: t.RolloutUpdate) -> Any:
    """Replace the rollout: versions and percentages summing to 100 (else 422)."""
    return await prompts(ctx).set_rollouts(ctx.project_id, ctx.path("name"), body)


@router.get("/prompts/{prompt_id}", response=t.Prompt)
async def get_prompt(ctx: Ctx, _: None) -> Any:
    """Get a prompt version by id."""
    return await prompts(ctx).get(ctx.project_id, ctx.path("prompt_id"))
