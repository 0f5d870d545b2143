"""Sans-I/O description of every endpoint: ``Op(method, path, params, json, parse)``.

Both ``Client`` and ``AsyncClient`` only send these; all request building and response parsing
lives here, once. ``NOT_GIVEN`` distinguishes "leave unchanged" from ``None`` ("set to null").
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import orjson
from pydantic import BaseModel

from threadline.client import types as t

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class _NotGiven:
    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()


@dataclass(frozen=True)
class Op(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    #: for list operations: the op that fetches the page after (or None at the end)
    next_op: Callable[[Any], Op[Any] | None] | None = field(default=None, compare=False)


def _seg(value: str) -> str:
    return quote(value, safe="")


def _given(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not NOT_GIVEN}


def _model(cls: type[M]) -> Callable[[Any], M]:
    return cls.model_validate


def _nothing(_: Any) -> None:
    return None


#: a filter list, or Literal AI's ``ThreadFilter`` mapping (see :func:`_filters`)
FilterArg = Sequence[Mapping[str, Any] | t.Filter] | Mapping[str, Any] | None


def _condition(field: str, condition: Any) -> dict[str, Any]:
    if isinstance(condition, Mapping):
        return {"field": field, **condition}
    found = {k: getattr(condition, k, None) for k in ("operator", "value", "path")}
    return {"field": field, **{k: v for k, v in found.items() if v is not None}}


def _filters(
    filters: FilterArg,
) -> list[dict[str, Any]]:
    """The filter list. A mapping is Literal AI's ``ThreadFilter`` spelling, one field per key:
    ``{"createdAt": {"operator": "gt", "value": "2024-01-01"}}`` (a list of conditions, or
    objects with ``operator``/``value``/``path`` attributes, work too)."""
    if isinstance(filters, Mapping):
        return [
            _condition(field, condition)
            for field, given in filters.items()
            if given is not None
            for condition in (given if isinstance(given, list | tuple) else [given])
        ]
    return [
        f.model_dump(exclude_none=True) if isinstance(f, t.Filter) else dict(f)
        for f in filters or []
    ]


@dataclass
class PageData(Generic[M]):
    """A parsed page plus what is needed to fetch the next one."""

    data: list[M]
    page_info: t.PageInfo
    total_count: int | None


def _page_parser(cls: type[M]) -> Callable[[Any], PageData[M]]:
    def parse(body: Any) -> PageData[M]:
        return PageData(
            data=[cls.model_validate(item) for item in body["data"]],
            page_info=t.PageInfo.model_validate(body.get("page_info") or {}),
            total_count=body.get("total_count"),
        )

    return parse


def _paged(method: str, path: str, cls: type[M], body: dict[str, Any]) -> Op[PageData[M]]:
    """A POST search op whose next page continues from the end cursor (or the offset)."""

    def next_op(page: PageData[M]) -> Op[Any] | None:
        if not page.page_info.has_next_page or not page.data:
            return None
        following = dict(body)
        if body.get("limit") is not None or body.get("offset") is not None:
            following["offset"] = (body.get("offset") or 0) + len(page.data)
        else:
            following["after"] = page.page_info.end_cursor
            following.pop("before", None)
        return _paged(method, path, cls, following)

    return Op(method, path, _page_parser(cls), json=body, next_op=next_op)


def _search_body(
    *,
    filters: FilterArg,
    first: int | None,
    after: str | None,
    before: str | None,
    limit: int | None,
    offset: int | None,
    order_by: str | None,
    order: str | None,
    include_total: bool,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"filters": _filters(filters), "include_total": include_total}
    for key, value in (
        ("first", first),
        ("after", after),
        ("before", before),
        ("limit", limit),
        ("offset", offset),
        *extra.items(),
    ):
        if value is not None:
            body[key] = value
    if order_by is not None or order is not None:
        body["order_by"] = {
            "column": order_by or "createdAt",
            "direction": (order or "desc").upper(),
        }
    return body


# --- threads -----------------------------------------------------------------------------------


def create_thread(**fields: Any) -> Op[t.Thread]:
    return Op("POST", "/v1/threads", _model(t.Thread), json=_given(**fields))


def get_thread(thread_id: str, *, include_steps: bool = True) -> Op[t.Thread]:
    params = None if include_steps else {"include_steps": "false"}
    return Op("GET", f"/v1/threads/{_seg(thread_id)}", _model(t.Thread), params=params)


def update_thread(thread_id: str, **fields: Any) -> Op[t.Thread]:
    return Op("PATCH", f"/v1/threads/{_seg(thread_id)}", _model(t.Thread), json=_given(**fields))


def upsert_thread(thread_id: str, **fields: Any) -> Op[t.Thread]:
    return Op("PUT", f"/v1/threads/{_seg(thread_id)}", _model(t.Thread), json=_given(**fields))


def delete_thread(thread_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/threads/{_seg(thread_id)}", _nothing)


def search_threads(**query: Any) -> Op[PageData[t.Thread]]:
    return _paged("POST", "/v1/threads/search", t.Thread, _search_body(**query))


def count_threads(
    *,
    filters: FilterArg = None,
    **equals: Any,
) -> Op[int]:
    body = {"filters": _filters(filters), **{k: v for k, v in equals.items() if v is not None}}
    return Op("POST", "/v1/threads/count", lambda b: int(b["count"]), json=body)


def export_threads(
    *,
    filters: FilterArg = None,
    metadata: dict[str, Any] | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Op[t.ExportPage]:
    body: dict[str, Any] = {"filters": _filters(filters), "page": page, "page_size": page_size}
    if metadata is not None:
        body["metadata"] = metadata
    return Op("POST", "/v1/threads/export", _model(t.ExportPage), json=body)


def get_thread_state(thread_id: str, *, checkpoint_id: str | None = None) -> Op[t.ThreadState]:
    params = {"checkpoint_id": checkpoint_id} if checkpoint_id else None
    path = f"/v1/threads/{_seg(thread_id)}/state"
    return Op("GET", path, _model(t.ThreadState), params=params)


def get_thread_history(
    thread_id: str, *, limit: int = 10, before: str | None = None
) -> Op[list[t.ThreadState]]:
    params: dict[str, Any] = {"limit": limit}
    if before is not None:
        params["before"] = before
    return Op(
        "GET",
        f"/v1/threads/{_seg(thread_id)}/history",
        lambda body: [t.ThreadState.model_validate(s) for s in body],
        params=params,
    )


def publish_thread_event(
    thread_id: str, *, event: str, data: Any = None, mode: str = "run"
) -> Op[t.ThreadEvent]:
    body = {"event": event, "data": data, "mode": mode}
    path = f"/v1/threads/{_seg(thread_id)}/events"
    return Op("POST", path, _model(t.ThreadEvent), json=body)


# --- steps -------------------------------------------------------------------------------------


def _step_json(fields: dict[str, Any]) -> dict[str, Any]:
    body = _given(**fields)
    generation = body.get("generation")
    if isinstance(generation, BaseModel):
        body["generation"] = generation.model_dump(mode="json", exclude_none=True)
    return body


def create_step(**fields: Any) -> Op[t.Step]:
    return Op("POST", "/v1/steps", _model(t.Step), json=_step_json(fields))


def get_step(step_id: str) -> Op[t.Step]:
    return Op("GET", f"/v1/steps/{_seg(step_id)}", _model(t.Step))


def update_step(step_id: str, **fields: Any) -> Op[t.Step]:
    return Op("PATCH", f"/v1/steps/{_seg(step_id)}", _model(t.Step), json=_step_json(fields))


def delete_step(step_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/steps/{_seg(step_id)}", _nothing)


def ingest_steps(steps: Sequence[Mapping[str, Any] | t.StepCreate]) -> Op[t.BatchResult]:
    items = [
        s.model_dump(mode="json", exclude_unset=True)
        if isinstance(s, BaseModel)
        else _step_json(dict(s))
        for s in steps
    ]
    return Op("POST", "/v1/steps/batch", _model(t.BatchResult), json={"steps": items})


def search_steps(**query: Any) -> Op[PageData[t.Step]]:
    return _paged("POST", "/v1/steps/search", t.Step, _search_body(**query))


# --- participants ------------------------------------------------------------------------------


def create_participant(**fields: Any) -> Op[t.Participant]:
    return Op("POST", "/v1/participants", _model(t.Participant), json=_given(**fields))


def get_or_create_participant(**fields: Any) -> Op[t.Participant]:
    return Op(
        "POST", "/v1/participants/get-or-create", _model(t.Participant), json=_given(**fields)
    )


def get_participant(participant_id: str) -> Op[t.Participant]:
    return Op("GET", f"/v1/participants/{_seg(participant_id)}", _model(t.Participant))


def get_participant_by_identifier(identifier: str) -> Op[t.Participant]:
    return Op("GET", f"/v1/participants/by-identifier/{_seg(identifier)}", _model(t.Participant))


def update_participant(participant_id: str, **fields: Any) -> Op[t.Participant]:
    return Op(
        "PATCH",
        f"/v1/participants/{_seg(participant_id)}",
        _model(t.Participant),
        json=_given(**fields),
    )


def delete_participant(participant_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/participants/{_seg(participant_id)}", _nothing)


def search_participants(**query: Any) -> Op[PageData[t.Participant]]:
    return _paged("POST", "/v1/participants/search", t.Participant, _search_body(**query))


# --- project, keys, health ---------------------------------------------------------------------


def get_project() -> Op[t.Project]:
    return Op("GET", "/v1/project", _model(t.Project))


def list_keys() -> Op[list[t.ApiKeyInfo]]:
    return Op("GET", "/v1/keys", lambda body: [t.ApiKeyInfo.model_validate(k) for k in body])


def create_key(name: str | None = None) -> Op[t.ApiKeyCreated]:
    return Op("POST", "/v1/keys", _model(t.ApiKeyCreated), json={"name": name})


def revoke_key(key_id: str) -> Op[t.ApiKeyInfo]:
    return Op("DELETE", f"/v1/keys/{_seg(key_id)}", _model(t.ApiKeyInfo))


def health() -> Op[dict[str, Any]]:
    return Op("GET", "/health", dict)


def encode(body: Any) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


# --- Tyler messages: reactions, platform and attribute lookups, analytics, titles -------------


def _json(body: Any) -> Any:
    return body


def get_thread_json(thread_id: str) -> Op[dict[str, Any]]:
    """A thread with its steps as plain JSON (the Tyler model builds its own objects)."""
    return Op("GET", f"/v1/threads/{_seg(thread_id)}", _json)


def get_reactions(step_id: str) -> Op[dict[str, list[str]]]:
    return Op("GET", f"/v1/steps/{_seg(step_id)}/reactions", dict)


def add_reaction(step_id: str, emoji: str, user_id: str) -> Op[t.ReactionResult]:
    body = {"emoji": emoji, "user_id": user_id}
    return Op("POST", f"/v1/steps/{_seg(step_id)}/reactions", _model(t.ReactionResult), json=body)


def remove_reaction(step_id: str, emoji: str, user_id: str) -> Op[t.ReactionResult]:
    params = {"emoji": emoji, "user_id": user_id}
    return Op(
        "DELETE",
        f"/v1/steps/{_seg(step_id)}/reactions",
        _model(t.ReactionResult),
        params=params,
    )


def apply_reactions(
    thread_id: str, *, remove: Sequence[Mapping[str, str]], add: Sequence[Mapping[str, str]]
) -> Op[t.ReactionBatchResult]:
    body = {"remove": [dict(r) for r in remove], "add": [dict(a) for a in add]}
    return Op(
        "POST",
        f"/v1/threads/{_seg(thread_id)}/reactions",
        _model(t.ReactionBatchResult),
        json=body,
    )


def delete_thread_steps(thread_id: str, ids: Sequence[str]) -> Op[int]:
    return Op(
        "POST",
        f"/v1/threads/{_seg(thread_id)}/steps/delete",
        lambda b: int(b["count"]),
        json={"ids": list(ids)},
    )


def threads_by_platform_json(
    platform: str, properties: Mapping[str, str], *, include_steps: bool, limit: int
) -> Op[list[dict[str, Any]]]:
    body = {
        "platform": platform,
        "properties": dict(properties),
        "include_steps": include_steps,
        "limit": limit,
    }
    return Op("POST", "/v1/threads/by-platform", lambda b: list(b["data"]), json=body)


def threads_by_platform(
    platform: str, properties: Mapping[str, str] | None = None, *, limit: int = 100
) -> Op[list[t.Thread]]:
    op = threads_by_platform_json(platform, properties or {}, include_steps=False, limit=limit)
    return Op(
        op.method, op.path, lambda b: [t.Thread.model_validate(x) for x in b["data"]], json=op.json
    )


def threads_by_attributes_json(
    attributes: Mapping[str, Any],
    *,
    include_steps: bool,
    limit: int,
    offset: int = 0,
    order_by: str = "created_at",
) -> Op[list[dict[str, Any]]]:
    body = {
        "attributes": dict(attributes),
        "include_steps": include_steps,
        "limit": limit,
        "offset": offset,
        "order_by": order_by,
    }
    return Op("POST", "/v1/threads/by-attributes", lambda b: list(b["data"]), json=body)


def search_messages_json(path: str, value: Any, *, limit: int) -> Op[list[dict[str, Any]]]:
    body = {"path": path, "value": value, "limit": limit}
    return Op("POST", "/v1/messages/search", lambda b: list(b["data"]), json=body)


def thread_analytics(thread_id: str) -> Op[t.ThreadAnalytics]:
    return Op("GET", f"/v1/threads/{_seg(thread_id)}/analytics", _model(t.ThreadAnalytics))


def generate_title(thread_id: str) -> Op[t.ThreadTitle]:
    return Op("POST", f"/v1/threads/{_seg(thread_id)}/title", _model(t.ThreadTitle))


# --- evaluation: scores, attachments, generations, datasets, experiments, prompts ----------------


def _paged_get(path: str, cls: type[M], params: dict[str, Any]) -> Op[PageData[M]]:
    """A GET list op (query parameters) whose next page continues from the end cursor."""
    params = {k: v for k, v in params.items() if v is not None}

    def next_op(page: PageData[M]) -> Op[Any] | None:
        if not page.page_info.has_next_page or not page.data:
            return None
        following = dict(params)
        if params.get("limit") is not None or params.get("offset") is not None:
            following["offset"] = (params.get("offset") or 0) + len(page.data)
        else:
            following["after"] = page.page_info.end_cursor
            following.pop("before", None)
        return _paged_get(path, cls, following)

    return Op("GET", path, _page_parser(cls), params=params, next_op=next_op)


def _list_of(cls: type[M]) -> Callable[[Any], list[M]]:
    return lambda body: [cls.model_validate(item) for item in body]


def _dump(item: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(item, BaseModel):
        return item.model_dump(mode="json", exclude_unset=True)
    return dict(item)


def create_score(**fields: Any) -> Op[t.Score]:
    return Op("POST", "/v1/scores", _model(t.Score), json=_given(**fields))


def create_scores(
    scores: Sequence[Mapping[str, Any] | t.ScoreCreate], *, upsert: bool = False
) -> Op[list[t.Score]]:
    body = {"scores": [_dump(s) for s in scores], "upsert": upsert}
    return Op("POST", "/v1/scores/batch", _list_of(t.Score), json=body)


def get_score(score_id: str) -> Op[t.Score]:
    return Op("GET", f"/v1/scores/{_seg(score_id)}", _model(t.Score))


def update_score(score_id: str, **fields: Any) -> Op[t.Score]:
    return Op("PATCH", f"/v1/scores/{_seg(score_id)}", _model(t.Score), json=_given(**fields))


def delete_score(score_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/scores/{_seg(score_id)}", _nothing)


def search_scores(**query: Any) -> Op[PageData[t.Score]]:
    return _paged("POST", "/v1/scores/search", t.Score, _search_body(**query))


def create_attachment(
    *,
    content: bytes | str | None,
    path: str | os.PathLike[str] | None,
    upsert_id: str | None = None,
    **fields: Any,
) -> Op[t.Attachment]:
    """``content`` (bytes, or text sent as UTF-8) or the file at ``path`` is sent base64-encoded;
    the name defaults to the file's (the server guesses the type from it). With ``upsert_id``: PUT
    (create that attachment, or change the fields given)."""
    body = _given(**fields)
    if content is not None and path is not None:
        raise ValueError("give content or path, not both")
    if path is not None:
        with open(path, "rb") as handle:
            content = handle.read()
        body.setdefault("name", os.path.basename(os.fspath(path)))
    if content is not None:
        data = content.encode() if isinstance(content, str) else content
        body["content_base64"] = base64.b64encode(data).decode()
    if upsert_id is not None:
        path_ = f"/v1/attachments/{_seg(upsert_id)}"
        return Op("PUT", path_, _model(t.Attachment), json=body)
    return Op("POST", "/v1/attachments", _model(t.Attachment), json=body)


def get_attachment(attachment_id: str) -> Op[t.Attachment]:
    return Op("GET", f"/v1/attachments/{_seg(attachment_id)}", _model(t.Attachment))


def update_attachment(attachment_id: str, **fields: Any) -> Op[t.Attachment]:
    path = f"/v1/attachments/{_seg(attachment_id)}"
    return Op("PATCH", path, _model(t.Attachment), json=_given(**fields))


def delete_attachment(attachment_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/attachments/{_seg(attachment_id)}", _nothing)


def list_attachments(**params: Any) -> Op[PageData[t.Attachment]]:
    return _paged_get("/v1/attachments", t.Attachment, params)


def attachment_url(attachment_id: str, *, expires_in: int | None = None) -> Op[t.SignedUrl]:
    params = {"expires_in": expires_in} if expires_in is not None else None
    path = f"/v1/attachments/{_seg(attachment_id)}/url"
    return Op("GET", path, _model(t.SignedUrl), params=params)


def download_attachment(attachment_id: str) -> Op[bytes]:
    path = f"/v1/attachments/{_seg(attachment_id)}/content"
    return Op("GET", path, _decoded_content, params={"encoding": "base64"})


def _decoded_content(body: Any) -> bytes:
    return base64.b64decode(t.AttachmentContent.model_validate(body).content_base64)


def create_file_upload(**fields: Any) -> Op[t.FileUpload]:
    return Op("POST", "/v1/files", _model(t.FileUpload), json=_given(**fields))


def create_generation(**fields: Any) -> Op[t.Step]:
    return Op("POST", "/v1/generations", _model(t.Step), json=_given(**fields))


def get_generation(generation_id: str) -> Op[t.Step]:
    return Op("GET", f"/v1/generations/{_seg(generation_id)}", _model(t.Step))


def search_generations(**query: Any) -> Op[PageData[t.Step]]:
    return _paged("POST", "/v1/generations/search", t.Step, _search_body(**query))


def create_dataset(**fields: Any) -> Op[t.Dataset]:
    return Op("POST", "/v1/datasets", _model(t.Dataset), json=_given(**fields))


def get_dataset(dataset_id: str) -> Op[t.Dataset]:
    return Op("GET", f"/v1/datasets/{_seg(dataset_id)}", _model(t.Dataset))


def get_dataset_by_name(name: str) -> Op[t.Dataset]:
    return Op("GET", f"/v1/datasets/by-name/{_seg(name)}", _model(t.Dataset))


def update_dataset(dataset_id: str, **fields: Any) -> Op[t.Dataset]:
    path = f"/v1/datasets/{_seg(dataset_id)}"
    return Op("PATCH", path, _model(t.Dataset), json=_given(**fields))


def delete_dataset(dataset_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/datasets/{_seg(dataset_id)}", _nothing)


def list_datasets(**params: Any) -> Op[PageData[t.Dataset]]:
    return _paged_get("/v1/datasets", t.Dataset, params)


def create_dataset_item(dataset_id: str, **fields: Any) -> Op[t.DatasetItem]:
    path = f"/v1/datasets/{_seg(dataset_id)}/items"
    return Op("POST", path, _model(t.DatasetItem), json=_given(**fields))


def add_to_dataset(dataset_id: str, source: str, **fields: Any) -> Op[t.DatasetItem]:
    """``source`` is ``step`` or ``generation``: copy its input and output into a new item."""
    path = f"/v1/datasets/{_seg(dataset_id)}/items/from-{source}"
    return Op("POST", path, _model(t.DatasetItem), json=_given(**fields))


def get_dataset_item(item_id: str) -> Op[t.DatasetItem]:
    return Op("GET", f"/v1/dataset-items/{_seg(item_id)}", _model(t.DatasetItem))


def delete_dataset_item(item_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/dataset-items/{_seg(item_id)}", _nothing)


def create_experiment(**fields: Any) -> Op[t.Experiment]:
    return Op("POST", "/v1/experiments", _model(t.Experiment), json=_given(**fields))


def get_experiment(experiment_id: str) -> Op[t.Experiment]:
    return Op("GET", f"/v1/experiments/{_seg(experiment_id)}", _model(t.Experiment))


def list_experiments(**params: Any) -> Op[PageData[t.Experiment]]:
    return _paged_get("/v1/experiments", t.Experiment, params)


def delete_experiment(experiment_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/experiments/{_seg(experiment_id)}", _nothing)


def add_experiment_item(experiment_id: str, **fields: Any) -> Op[t.ExperimentItem]:
    body = _given(**fields)
    if "scores" in body:
        body["scores"] = [_dump(s) for s in body["scores"] or []]
    path = f"/v1/experiments/{_seg(experiment_id)}/items"
    return Op("POST", path, _model(t.ExperimentItem), json=body)


def get_or_create_prompt(**fields: Any) -> Op[t.Prompt]:
    return Op("POST", "/v1/prompts/get-or-create", _model(t.Prompt), json=_given(**fields))


def get_or_create_prompt_lineage(**fields: Any) -> Op[t.PromptLineage]:
    return Op("POST", "/v1/prompts/lineages", _model(t.PromptLineage), json=_given(**fields))


def get_prompt_lineage(lineage_id: str) -> Op[t.PromptLineage]:
    return Op("GET", f"/v1/prompts/lineages/{_seg(lineage_id)}", _model(t.PromptLineage))


def get_prompt(prompt_id: str) -> Op[t.Prompt]:
    return Op("GET", f"/v1/prompts/{_seg(prompt_id)}", _model(t.Prompt))


def get_prompt_by_name(
    name: str,
    *,
    version: int | None = None,
    thread_id: str | None = None,
    participant_id: str | None = None,
) -> Op[t.Prompt]:
    params = {
        k: v
        for k, v in (
            ("version", version),
            ("thread_id", thread_id),
            ("participant_id", participant_id),
        )
        if v is not None
    }
    return Op("GET", f"/v1/prompts/by-name/{_seg(name)}", _model(t.Prompt), params=params or None)


def list_prompt_versions(name: str) -> Op[list[t.Prompt]]:
    return Op("GET", f"/v1/prompts/by-name/{_seg(name)}/versions", _list_of(t.Prompt))


def list_prompts(**params: Any) -> Op[PageData[t.PromptLineage]]:
    return _paged_get("/v1/prompts", t.PromptLineage, params)


def delete_prompt(name: str) -> Op[None]:
    return Op("DELETE", f"/v1/prompts/by-name/{_seg(name)}", _nothing)


def get_prompt_rollouts(name: str) -> Op[list[t.Rollout]]:
    return Op("GET", f"/v1/prompts/by-name/{_seg(name)}/rollouts", _list_of(t.Rollout))


def set_prompt_rollouts(
    name: str, rollouts: Sequence[Mapping[str, Any] | t.RolloutItem]
) -> Op[list[t.Rollout]]:
    body = {"rollouts": [_dump(r) for r in rollouts]}
    path = f"/v1/prompts/by-name/{_seg(name)}/rollouts"
    return Op("PUT", path, _list_of(t.Rollout), json=body)


# --- LangGraph checkpointer: checkpoints with LangGraph's serialized form -----------------------


def put_checkpoint(thread_id: str, checkpoint_id: str, **fields: Any) -> Op[dict[str, Any]]:
    path = f"/v1/threads/{_seg(thread_id)}/checkpoints/{_seg(checkpoint_id)}"
    return Op("PUT", path, _json, json=fields)


def put_checkpoint_writes(
    thread_id: str,
    checkpoint_id: str,
    *,
    task_id: str,
    writes: Sequence[Mapping[str, Any]],
    checkpoint_ns: str = "",
    task_path: str = "",
) -> Op[None]:
    path = f"/v1/threads/{_seg(thread_id)}/checkpoints/{_seg(checkpoint_id)}/writes"
    body = {
        "checkpoint_ns": checkpoint_ns,
        "task_id": task_id,
        "task_path": task_path,
        "writes": list(writes),
    }
    return Op("PUT", path, _nothing, json=body)


def apply_checkpoint_batch(
    operations: Sequence[Mapping[str, Any]],
) -> Op[list[dict[str, Any] | None]]:
    return Op("POST", "/v1/checkpoints/batch", _json, json={"operations": list(operations)})


def _stored_checkpoints(body: Any) -> list[t.StoredCheckpoint]:
    return [t.StoredCheckpoint.model_validate(item) for item in body]


def search_checkpoints(**query: Any) -> Op[list[t.StoredCheckpoint]]:
    body = {k: v for k, v in query.items() if v is not None}
    return Op("POST", "/v1/checkpoints/search", _stored_checkpoints, json=body)


def delete_checkpoints(thread_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/threads/{_seg(thread_id)}/checkpoints", _nothing)


def delete_checkpoints_for_runs(run_ids: Sequence[str]) -> Op[None]:
    body = {"run_ids": list(run_ids)}
    return Op("POST", "/v1/checkpoints/delete-runs", _nothing, json=body)


def copy_checkpoints(thread_id: str, target_thread_id: str) -> Op[None]:
    path = f"/v1/threads/{_seg(thread_id)}/checkpoints/copy"
    return Op("POST", path, _nothing, json={"target_thread_id": target_thread_id})


def prune_checkpoints(thread_ids: Sequence[str], strategy: str = "keep_latest") -> Op[None]:
    body = {"thread_ids": list(thread_ids), "strategy": strategy}
    return Op("POST", "/v1/checkpoints/prune", _nothing, json=body)
