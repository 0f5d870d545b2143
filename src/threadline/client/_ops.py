"""Sans-I/O description of every endpoint: ``Op(method, path, params, json, parse)``.

Both ``Client`` and ``AsyncClient`` only send these; all request building and response parsing
lives here, once. ``NOT_GIVEN`` distinguishes "leave unchanged" from ``None`` ("set to null").
"""

from __future__ import annotations

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


def _filters(filters: Sequence[Mapping[str, Any] | t.Filter] | None) -> list[dict[str, Any]]:
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
    filters: Sequence[Mapping[str, Any] | t.Filter] | None,
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
    filters: Sequence[Mapping[str, Any] | t.Filter] | None = None,
    **equals: Any,
) -> Op[int]:
    body = {"filters": _filters(filters), **{k: v for k, v in equals.items() if v is not None}}
    return Op("POST", "/v1/threads/count", lambda b: int(b["count"]), json=body)


def export_threads(
    *,
    filters: Sequence[Mapping[str, Any] | t.Filter] | None = None,
    metadata: dict[str, Any] | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Op[t.ExportPage]:
    body: dict[str, Any] = {"filters": _filters(filters), "page": page, "page_size": page_size}
    if metadata is not None:
        body["metadata"] = metadata
    return Op("POST", "/v1/threads/export", _model(t.ExportPage), json=body)


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
