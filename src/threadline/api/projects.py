"""``/v1/project`` and ``/v1/keys``: the caller's project and its API keys."""

from __future__ import annotations

from typing import Any

from threadline.api.routing import Ctx, Router
from threadline.client import types as t

router = Router("/v1", tag="projects")


@router.get("/project", response=t.Project)
async def get_project(ctx: Ctx, _: None) -> Any:
    """The project the API key belongs to."""
    return await ctx.service.get_project(ctx.project_id)


@router.get("/keys", response=list[t.ApiKeyInfo])
async def list_keys(ctx: Ctx, _: None) -> Any:
    """The project's API keys (never their secrets)."""
    return await ctx.service.list_keys(ctx.project_id)


@router.post("/keys", body=t.ApiKeyCreate, response=t.ApiKeyCreated, status=201)
async def create_key(ctx: Ctx, body: t.ApiKeyCreate) -> Any:
    """A new API key for this project; the secret is in this response only."""
    return await ctx.service.create_key(ctx.project_id, body.name)


@router.delete("/keys/{key_id}", response=t.ApiKeyInfo, status=200)
async def revoke_key(ctx: Ctx, _: None) -> Any:
    """Revoke one of this project's API keys."""
    return await ctx.service.revoke_key(ctx.project_id, ctx.path("key_id"))
