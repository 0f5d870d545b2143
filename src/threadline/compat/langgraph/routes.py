"""The ``/threads`` endpoints LangGraph's SDKs call, mapped onto the core state service.

Every handler validates its request (the reference server's 422/400 rules), calls
:class:`~threadline.core.state_service.StateService` once, and renders LangGraph's objects.
Errors are ``{"detail": "..."}`` with the reference's status codes; an unknown method on a known
path is 405 ``{"detail": "Method Not Allowed"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.compat.langgraph import validation as v
from threadline.compat.langgraph import wire
from threadline.compat.langgraph.stream import join_stream
from threadline.compat.langgraph.validation import LangGraphError, fail
from threadline.core.errors import DomainError, NotFound
from threadline.core.state import Update
from threadline.core.state_service import TTL, StateService

log = logging.getLogger("threadline.langgraph")

STATUSES = ("idle", "busy", "interrupted", "error")
SORT_BY = ("thread_id", "status", "created_at", "updated_at", "state_updated_at")
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

Handler = Callable[[Request, str], Awaitable[Response]]


def _states(request: Request) -> StateService:
    states: StateService = request.app.state.states
    return states


def _path_thread(request: Request, status: int = 422) -> str:
    return v.thread_id(request.path_params["thread_id"], status=status)


def _ttl(data: dict[str, Any]) -> TTL | None:
    parsed = v.ttl(data)
    return TTL(parsed[0], parsed[1]) if parsed else None


def _state_values(data: dict[str, Any], field: str = "values") -> Any:
    value = data.get(field)
    if value is not None and not isinstance(value, dict | list):
        v.type_error(value, "object", field)
    return value


# --- threads -------------------------------------------------------------------------------------


def _supersteps(raw: Any) -> list[list[Update]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        v.type_error(raw, "array", "supersteps")
    steps: list[list[Update]] = []
    for step in raw:
        updates = step.get("updates") if isinstance(step, dict) else None
        if not isinstance(updates, list):
            fail("'updates' is a required property of each superstep")
        parsed = []
        for item in updates:
            if not isinstance(item, dict) or not isinstance(item.get("as_node"), str):
                fail("'as_node' is a required property")
            command = item.get("command")
            if command is not None and not isinstance(command, dict):
                v.type_error(command, "object", "command")
            parsed.append(Update(_state_values(item), item["as_node"], command))
        steps.append(parsed)
    return steps


async def create_thread(request: Request, project_id: str) -> Response:
    data = await v.body(request)
    thread_id = v.thread_id(data["thread_id"]) if data.get("thread_id") is not None else None
    metadata = v.optional_object(data, "metadata")
    if_exists = v.enum(data, "if_exists", ("raise", "do_nothing"), "raise")
    ttl = _ttl(data)
    supersteps = _supersteps(data.get("supersteps"))
    thread, problem = await _states(request).create_thread(
        project_id,
        thread_id=thread_id,
        metadata=metadata,
        if_exists=if_exists,
        ttl=ttl,
        supersteps=supersteps,
    )
    if problem is not None:
        detail = (
            f"Thread {thread['id']} was created, but there were problems updating the state: "
            + problem
        )
        return wire.json({"detail": detail}, status=201)
    return wire.json(wire.thread(thread))


async def get_thread(request: Request, project_id: str) -> Response:
    thread_id = _path_thread(request)
    include = v.multi(request, "include") or []
    thread = await _states(request).get_thread(project_id, thread_id)
    return wire.json(wire.thread(thread, include_ttl="ttl" in include))


async def update_thread(request: Request, project_id: str) -> Response:
    thread_id = _path_thread(request)
    data = await v.body(request)
    metadata = v.optional_object(data, "metadata")
    ttl = _ttl(data)
    thread = await _states(request).patch_thread(project_id, thread_id, metadata=metadata, ttl=ttl)
    if thread is None:
        fail("Not Found", 404)
    if "return=minimal" in request.headers.get("prefer", ""):
        return Response(status_code=204)
    return wire.json(wire.thread(thread))


async def delete_thread(request: Request, project_id: str) -> Response:
    await _states(request).delete_thread(project_id, _path_thread(request))
    return Response(status_code=204)


def _ids(data: dict[str, Any]) -> list[str] | None:
    raw = data.get("ids")
    if raw is None:
        return None
    if not isinstance(raw, list):
        v.type_error(raw, "array", "ids")
    ids = []
    for item in raw:
        try:
            ids.append(v.thread_id(item))
        except LangGraphError:
            fail(f"Invalid thread ID {item}", 400)
    return ids


async def search_threads(request: Request, project_id: str) -> Response:
    data = await v.body(request)
    metadata = v.optional_object(data, "metadata")
    values = v.optional_object(data, "values")
    ids = _ids(data)
    status = v.enum(data, "status", STATUSES, None)
    limit = v.integer(data, "limit", 10, 1, 1000)
    offset = v.integer(data, "offset", 0, 0)
    sort_by = v.enum(data, "sort_by", SORT_BY, "created_at")
    sort_order = v.enum(data, "sort_order", ("asc", "desc"), "desc")
    select = wire.check_select(data["select"]) if data.get("select") is not None else None
    extract = wire.check_extract(data["extract"]) if data.get("extract") is not None else None
    rows, more = await _states(request).search_threads(
        project_id,
        metadata=metadata,
        values=values,
        ids=ids,
        status=status,
        limit=limit,
        offset=offset,
        sort_by=sort_by,
        descending=sort_order == "desc",
    )
    out = []
    for row in rows:
        item = wire.thread(row)
        if select:
            item = {k: item[k] for k in select}
        if extract:
            item["extracted"] = wire.extracted(wire.thread(row), extract)
        out.append(item)
    # X-Pagination-Total is "next + 1" when more rows follow (not a count), as LangGraph sends it
    headers = {"X-Pagination-Total": str(offset + limit + 1 if more else offset + len(rows))}
    if more:
        headers["X-Pagination-Next"] = str(offset + limit)
    return wire.json(out, headers=headers)


async def count_threads(request: Request, project_id: str) -> Response:
    data = await v.body(request)
    count = await _states(request).count_threads(
        project_id,
        metadata=v.optional_object(data, "metadata"),
        values=v.optional_object(data, "values"),
        status=v.enum(data, "status", STATUSES, None),
    )
    return wire.json(count)


async def copy_thread(request: Request, project_id: str) -> Response:
    thread_id = _path_thread(request, status=400)
    try:
        thread = await _states(request).copy_thread(project_id, thread_id)
    except NotFound:
        fail("Conflict", 409)
    return wire.json(wire.thread(thread))


async def prune_threads(request: Request, project_id: str) -> Response:
    data = await v.body(request)
    raw = data.get("thread_ids")
    if not isinstance(raw, list):
        if "thread_ids" not in data:
            fail("'thread_ids' is a required property")
        v.type_error(raw, "array", "thread_ids")
    ids = [v.thread_id(item) for item in raw]
    strategy = v.enum(data, "strategy", ("delete", "keep_latest"), "delete")
    pruned = await _states(request).prune_threads(project_id, ids, strategy)
    return wire.json({"pruned_count": pruned})


# --- state ---------------------------------------------------------------------------------------


def _subgraphs(request: Request) -> bool:
    return request.query_params.get("subgraphs", "false") in ("true", "True")


def _as_fragments(select: list[str]) -> bool:
    """Whether states may come with their JSON as response fragments (``wire=True``): not when
    ``select`` picks keys out of the values."""
    return not any(f.startswith("values.") for f in select)


async def get_state(request: Request, project_id: str) -> Response:
    thread_id = _path_thread(request)
    select = v.multi(request, "select") or []
    state = await _states(request).get_state(
        project_id, thread_id, subgraphs=_subgraphs(request), wire=_as_fragments(select)
    )
    body = wire.state(state, thread_id) if state else wire.empty_state(thread_id)
    return wire.json(wire.select_state(body, select))


async def state_at(request: Request, project_id: str) -> Response:
    """GET ``/state/{checkpoint_id}``, or POST ``/state/checkpoint`` with a Checkpoint body."""
    thread_id = _path_thread(request)
    select = v.multi(request, "select") or []
    if request.method == "POST":
        if request.path_params["checkpoint_id"] != "checkpoint":
            fail("Method Not Allowed", 405)
        data = await v.body(request)
        if "checkpoint" not in data:
            fail("'checkpoint' is a required property")
        checkpoint_id, ns = v.checkpoint_of(data["checkpoint"], "checkpoint")
        subgraphs = data.get("subgraphs") is True
        if isinstance(data.get("select"), list):
            select = [str(s) for s in data["select"]]
        with_ns: bool = True
        lookup_ns: str | None = ns
    else:
        checkpoint_id = request.path_params["checkpoint_id"]
        subgraphs = _subgraphs(request)
        with_ns, lookup_ns = False, None
    state = await _states(request).get_state(
        project_id,
        thread_id,
        checkpoint_id=checkpoint_id,
        checkpoint_ns=lookup_ns,
        subgraphs=subgraphs,
        wire=_as_fragments(select),
    )
    if state is None:
        body = wire.empty_state(thread_id, checkpoint_id)
    else:
        body = wire.state(state, thread_id, with_ns=with_ns)
    return wire.json(wire.select_state(body, select))


async def update_state(request: Request, project_id: str) -> Response:
    thread_id = _path_thread(request)
    data = await v.body(request)
    values = _state_values(data)
    as_node = v.optional_string(data, "as_node")
    checkpoint_id, ns = v.checkpoint_of(data.get("checkpoint"), "checkpoint")
    if checkpoint_id is None:
        checkpoint_id = v.optional_string(data, "checkpoint_id")
    command = v.optional_object(data, "command")
    state = await _states(request).update_state(
        project_id,
        thread_id,
        values=values,
        as_node=as_node,
        checkpoint_id=checkpoint_id,
        checkpoint_ns=ns,
        command=command,
    )
    ref = {
        "thread_id": thread_id,
        "checkpoint_ns": state["checkpoint_ns"],
        "checkpoint_id": state["checkpoint_id"],
    }
    return wire.json(
        {"checkpoint": ref, "configurable": ref, "checkpoint_id": ref["checkpoint_id"]}
    )


async def history(request: Request, project_id: str) -> Response:
    thread_id = _path_thread(request)
    select: list[str] = []
    if request.method == "GET":
        raw_limit = request.query_params.get("limit", "1")
        try:
            limit = int(raw_limit)
        except ValueError:
            fail(f"Invalid limit {raw_limit}")
        if not 1 <= limit <= 1000:
            fail(f"Invalid limit {raw_limit}")
        before = request.query_params.get("before") or None
        metadata = None
        if request.query_params.get("metadata"):
            try:
                metadata = orjson.loads(request.query_params["metadata"])
            except orjson.JSONDecodeError:
                fail("Invalid metadata: must be a JSON object")
            if not isinstance(metadata, dict):
                fail("Invalid metadata: must be a JSON object")
        checkpoint_id, ns = None, ""
    else:
        data = await v.body(request)
        limit = v.integer(data, "limit", 1, 1, 1000)
        before, _ = v.checkpoint_of(data.get("before"), "before")
        metadata = v.optional_object(data, "metadata")
        checkpoint_id, ns = v.checkpoint_of(data.get("checkpoint"), "checkpoint")
        if isinstance(data.get("select"), list):
            select = [str(s) for s in data["select"]]
    states = await _states(request).history(
        project_id,
        thread_id,
        checkpoint_ns=ns,
        limit=limit,
        before=before,
        metadata=metadata,
        checkpoint_id=checkpoint_id,
        wire=_as_fragments(select),
    )
    return wire.json([wire.select_state(wire.state(s, thread_id), select) for s in states])


async def stream(request: Request, project_id: str) -> Response:
    return await join_stream(request, project_id, _path_thread(request))


# --- routing -------------------------------------------------------------------------------------


def _error(status: int, detail: str) -> Response:
    return wire.json({"detail": detail}, status=status)


def _route(path: str, handlers: dict[str, Handler]) -> Route:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        handler = handlers.get(method)
        if handler is None:
            return _error(405, "Method Not Allowed")
        try:
            project_id, _ = await request.app.state.auth.check(request)
            return await handler(request, project_id)
        except LangGraphError as exc:
            return _error(exc.status, exc.detail)
        except DomainError as exc:
            return _error(exc.status, exc.message)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return _error(500, "Internal Server Error")

    return Route(path, endpoint, methods=METHODS, name=f"langgraph {path}")


def routes() -> list[Route]:
    """The routes, most specific first (``/threads/search`` before ``/threads/{thread_id}``)."""
    return [
        _route("/threads", {"POST": create_thread}),
        _route("/threads/search", {"POST": search_threads}),
        _route("/threads/count", {"POST": count_threads}),
        _route("/threads/prune", {"POST": prune_threads}),
        _route(
            "/threads/{thread_id}",
            {"GET": get_thread, "PATCH": update_thread, "DELETE": delete_thread},
        ),
        _route("/threads/{thread_id}/copy", {"POST": copy_thread}),
        _route("/threads/{thread_id}/state", {"GET": get_state, "POST": update_state}),
        _route("/threads/{thread_id}/state/{checkpoint_id}", {"GET": state_at, "POST": state_at}),
        _route("/threads/{thread_id}/history", {"GET": history, "POST": history}),
        _route("/threads/{thread_id}/stream", {"GET": stream}),
    ]
