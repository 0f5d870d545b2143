"""Core rows in Literal AI's shapes (camelCase, never-null fields filled) and back.

Literal's SDK reads these with pydantic and dataclasses that crash on a few nulls (see the wire
doc's gotcha 11): ``metadata`` is always an object, score ``name/type/value`` and generation
``type`` (upper case) are always set, ``pageInfo.hasNextPage`` is a bool.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from threadline.core.timeutil import isoformat

Row = dict[str, Any]


def ts(value: datetime | None) -> str | None:
    return isoformat(value)


def participant(p: Row) -> Row:
    return {
        "id": p["id"],
        "identifier": p["identifier"],
        "metadata": p.get("metadata") or {},
        "createdAt": ts(p.get("created_at")),
        "lastEngaged": ts(p.get("last_engaged")),
        "threadCount": int(p.get("thread_count") or 0),
        "tokenCount": int(p.get("token_count") or 0),
    }


def score(s: Row) -> Row:
    return {
        "id": s["id"],
        "name": s["name"],
        "type": s["type"],
        "value": s["value"],
        "label": s.get("label"),
        "scorer": s.get("scorer"),
        "comment": s.get("comment"),
        "tags": s.get("tags") or [],
        "stepId": s.get("step_id"),
        "datasetExperimentItemId": s.get("experiment_item_id"),
        "createdAt": ts(s.get("created_at")),
        "updatedAt": ts(s.get("updated_at")),
    }


def attachment(a: Row, absolute: Callable[[str | None], str | None]) -> Row:
    return {
        "id": a["id"],
        "threadId": a.get("thread_id"),
        "stepId": a.get("step_id"),
        "metadata": a.get("metadata") or {},
        "mime": a.get("mime"),
        "name": a.get("name"),
        "objectKey": a.get("object_key"),
        "url": absolute(a.get("url")),
    }


_GENERATION_KEYS = {
    "prompt": "prompt",
    "completion": "completion",
    "provider": "provider",
    "model": "model",
    "variables": "variables",
    "messages": "messages",
    "message_completion": "messageCompletion",
    "tools": "tools",
    "settings": "settings",
    "token_count": "tokenCount",
    "input_token_count": "inputTokenCount",
    "output_token_count": "outputTokenCount",
    "tt_first_token": "ttFirstToken",
    "duration": "duration",
    "token_throughput_in_seconds": "tokenThroughputInSeconds",
    "error": "error",
}


def generation(step_row: Row, literal_step: Row | None = None) -> Row | None:
    """A step's generation as Literal's Generation (its id is the step's: a generation is one)."""
    payload = step_row.get("generation")
    if payload is None:
        return None
    out: Row = {v: payload.get(k) for k, v in _GENERATION_KEYS.items()}
    for key in ("tokenCount", "inputTokenCount", "outputTokenCount"):
        if out[key] is not None:
            out[key] = int(out[key])
    out.update(
        id=step_row["id"],
        stepId=step_row["id"],
        createdAt=ts(step_row.get("created_at")),
        type=str(payload.get("type") or "chat").upper(),
        tags=payload.get("tags") or step_row.get("tags") or [],
        metadata=payload.get("metadata") or step_row.get("metadata") or {},
        step=literal_step,
    )
    return out


def step(s: Row, absolute: Callable[[str | None], str | None]) -> Row:
    out: Row = {
        "id": s["id"],
        "threadId": s.get("thread_id"),
        "rootRunId": s.get("root_run_id"),
        "parentId": s.get("parent_id"),
        "startTime": ts(s.get("start_time")),
        "endTime": ts(s.get("end_time")),
        "createdAt": ts(s.get("created_at")),
        "type": s.get("type") or "undefined",
        "error": s.get("error"),
        "input": s.get("input"),
        "output": s.get("output"),
        "metadata": s.get("metadata") or {},
        "environment": s.get("environment"),
        "scores": [score(x) for x in s.get("scores") or []],
        "tags": s.get("tags") or [],
        "name": s.get("name"),
        "attachments": [attachment(a, absolute) for a in s.get("attachments") or []],
    }
    out["generation"] = generation(s, out)
    return out


def thread(th: Row, absolute: Callable[[str | None], str | None]) -> Row:
    p = th.get("participant")
    out: Row = {
        "id": th["id"],
        "name": th.get("name"),
        "metadata": th.get("metadata") or {},
        "tags": th.get("tags") or [],
        "createdAt": ts(th.get("created_at")),
        "participant": (
            {"id": p["id"], "identifier": p["identifier"], "metadata": p.get("metadata") or {}}
            if p
            else None
        ),
        "tokenCount": int(th.get("token_count") or 0),
        "duration": float(th.get("duration") or 0),
    }
    if th.get("steps") is not None:
        out["steps"] = [step(s, absolute) for s in th["steps"]]
    return out


def connection(page: Row, node: Callable[[Row], Row]) -> Row:
    """A Relay connection from a core page; each edge's cursor resumes after that node."""
    info = page.get("page_info") or {}
    nodes = [node(row) for row in page.get("data") or []]
    edges = []
    for index, item in enumerate(nodes):
        if index == len(nodes) - 1:
            cursor = info.get("end_cursor")
        elif index == 0:
            cursor = info.get("start_cursor")
        else:
            cursor = None
        edges.append({"cursor": cursor or item["id"], "node": item})
    return {
        "pageInfo": {
            "hasNextPage": bool(info.get("has_next_page")),
            "hasPreviousPage": bool(info.get("has_previous_page")),
            "startCursor": info.get("start_cursor"),
            "endCursor": info.get("end_cursor"),
        },
        "totalCount": page.get("total_count") if page.get("total_count") is not None else 0,
        "edges": edges,
    }


def dataset(d: Row) -> Row:
    out = {
        "id": d["id"],
        "createdAt": ts(d.get("created_at")),
        "name": d.get("name"),
        "description": d.get("description"),
        "metadata": d.get("metadata") or {},
        "type": d.get("type") or "key_value",
    }
    if d.get("items") is not None:
        out["items"] = [dataset_item(i) for i in d["items"]]
    return out


def dataset_item(i: Row) -> Row:
    return {
        "id": i["id"],
        "createdAt": ts(i.get("created_at")),
        "datasetId": i["dataset_id"],
        "metadata": i.get("metadata") or {},
        "input": i.get("input"),
        "expectedOutput": i.get("expected_output"),
        "intermediarySteps": i.get("intermediary_steps") or [],
        "stepId": i.get("step_id") or i.get("generation_id"),
    }


def experiment(e: Row) -> Row:
    return {
        "id": e["id"],
        "name": e["name"],
        "datasetId": e.get("dataset_id"),
        "promptExperimentId": e.get("prompt_id"),
        "params": e.get("params"),
    }


def experiment_item(i: Row) -> Row:
    return {
        "id": i["id"],
        "input": i.get("input"),
        "output": i.get("output"),
        "datasetExperimentId": i["experiment_id"],
        "experimentRunId": i.get("experiment_run_id"),
        "datasetItemId": i.get("dataset_item_id"),
    }


def lineage(lin: Row) -> Row:
    return {"id": lin["id"], "name": lin["name"], "deletedAt": None}


def prompt_version(p: Row, base_url: str, project_id: str) -> Row:
    name = p["lineage"]["name"]
    return {
        "id": p["id"],
        "createdAt": ts(p.get("created_at")),
        "updatedAt": ts(p.get("created_at")),
        "label": None,
        "settings": p.get("settings") or {},
        "status": "PUBLISHED",
        "tags": [],
        "templateMessages": p.get("template_messages") or [],
        "tools": p.get("tools"),
        "type": str(p.get("type") or "chat").upper(),
        "url": f"{base_url}/projects/{project_id}/playground?"
        + urlencode({"name": name, "version": p["version"]}),
        "variables": p.get("variables") or [],
        "variablesDefaultValues": p.get("variables_default_values"),
        "version": p["version"],
        "lineage": lineage(p["lineage"]),
    }
