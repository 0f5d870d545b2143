"""``/v1/participants``: the users of an app (Literal's participants)."""

from __future__ import annotations

from typing import Any

from threadline.api.responses import json_response
from threadline.api.routing import Ctx, QueryParam, Router, parse_query, validate
from threadline.client import types as t

router = Router("/v1", tag="participants")

LIST_QUERY = [
    QueryParam("first", "Cursor page size (1-1000).", "integer"),
    QueryParam("after", "Cursor: page after this end_cursor."),
    QueryParam("before", "Cursor: page before this start_cursor."),
    QueryParam("limit", "Offset page size (1-1000).", "integer"),
    QueryParam("offset", "Rows to skip.", "integer"),
    QueryParam("filters", "JSON list of {field, operator, value, path?}.", "json"),
    QueryParam("include_total", "Include total_count (default true).", "boolean"),
]


@router.post("/participants", body=t.ParticipantCreate, response=t.Participant, status=201)
async def create_participant(ctx: Ctx, body: t.ParticipantCreate) -> Any:
    """Create a participant (409 if the identifier is taken)."""
    return await ctx.service.create_participant(ctx.project_id, body)


@router.post(
    "/participants/get-or-create", body=t.ParticipantCreate, response=t.Participant, also=(201,)
)
async def get_or_create_participant(ctx: Ctx, body: t.ParticipantCreate) -> Any:
    """The participant with this identifier, created (201) if missing."""
    participant, created = await ctx.service.get_or_create_participant(ctx.project_id, body)
    return json_response(participant, status=201 if created else 200)


@router.get("/participants/by-identifier/{identifier}", response=t.Participant)
async def get_participant_by_identifier(ctx: Ctx, _: None) -> Any:
    """Get a participant by its identifier."""
    return await ctx.service.get_participant_by_identifier(ctx.project_id, ctx.path("identifier"))


@router.get("/participants/{participant_id}", response=t.Participant)
async def get_participant(ctx: Ctx, _: None) -> Any:
    """Get a participant by id."""
    return await ctx.service.get_participant(ctx.project_id, ctx.path("participant_id"))


@router.patch("/participants/{participant_id}", body=t.ParticipantUpdate, response=t.Participant)
async def update_participant(ctx: Ctx, body: t.ParticipantUpdate) -> Any:
    """Update a participant's identifier or metadata."""
    return await ctx.service.update_participant(ctx.project_id, ctx.path("participant_id"), body)


@router.delete("/participants/{participant_id}")
async def delete_participant(ctx: Ctx, _: None) -> Any:
    """Delete a participant; their threads are kept without a participant."""
    await ctx.service.delete_participant(ctx.project_id, ctx.path("participant_id"))


@router.get("/participants", response=t.Page[t.Participant], query=LIST_QUERY)
async def list_participants(ctx: Ctx, _: None) -> Any:
    """List participants, newest first."""
    params = parse_query(ctx.request, LIST_QUERY)
    return await ctx.service.search_participants(
        ctx.project_id, validate(t.ParticipantSearch, params)
    )


@router.post("/participants/search", body=t.ParticipantSearch, response=t.Page[t.Participant])
async def search_participants(ctx: Ctx, body: t.ParticipantSearch) -> Any:
    """List participants matching filters given in the body."""
    return await ctx.service.search_participants(ctx.project_id, body)
