"""Rendering core threads and states as LangGraph's ``Thread`` and ``ThreadState`` objects."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from starlette.responses import Response

from threadline.compat.langgraph.validation import fail

THREAD_FIELDS = (
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "status",
    "values",
    "interrupts",
)
#: accepted by ``select`` but not a field of ours (the SDK offers it, the reference rejects it)
IGNORED_SELECT = ("context", "error")
EXTRACT_ROOTS = ("config", "interrupts", "metadata", "values")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def iso(value: datetime | str | None) -> str | None:
    """ISO-8601 with a ``+00:00`` offset and microseconds, as LangGraph writes timestamps."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type="application/json",
    )


def thread(t: Mapping[str, Any], *, include_ttl: bool = False) -> dict[str, Any]:
    out = {
        "thread_id": t["id"],
        "created_at": iso(t["created_at"]),
        "updated_at": iso(t["updated_at"]),
        "state_updated_at": iso(t["state_updated_at"]),
        "metadata": t["metadata"],
        "status": t["status"],
        "config": t["config"],
        "values": t["values"],
        "error": t["error"],
        "interrupts": t["interrupts"],
    }
    if include_ttl and t.get("ttl"):
        ttl = t["ttl"]
        out["ttl"] = {
            "strategy": ttl["strategy"],
            "ttl_minutes": ttl["ttl_minutes"],
            "expires_at": iso(ttl["expires_at"]),
        }
    return out


def checkpoint_ref(thread_id: str, checkpoint_id: str, ns: str | None) -> dict[str, Any]:
    ref: dict[str, Any] = {"checkpoint_id": checkpoint_id, "thread_id": thread_id}
    if ns is not None:
        ref["checkpoint_ns"] = ns
    return ref


def _task(task: Mapping[str, Any], thread_id: str) -> dict[str, Any]:
    out = dict(task)
    if isinstance(out.get("state"), dict) and "checkpoint_id" in out["state"]:
        out["state"] = state(out["state"], thread_id)
    return out


def state(s: Mapping[str, Any], thread_id: str, *, with_ns: bool = True) -> dict[str, Any]:
    """A core state snapshot as ThreadState (``with_ns=False``: looked up without a namespace)."""
    ns = s["checkpoint_ns"]
    parent = s["parent_checkpoint_id"]
    return {
        "values": s["values"],
        "next": s["next"],
        "tasks": [_task(t, thread_id) for t in s["tasks"]],
        "metadata": s["metadata"],
        "created_at": iso(s["created_at"]),
        "checkpoint": checkpoint_ref(thread_id, s["checkpoint_id"], ns if with_ns else None),
        "parent_checkpoint": checkpoint_ref(thread_id, parent, ns) if parent else None,
        "interrupts": s["interrupts"],
        "checkpoint_id": s["checkpoint_id"],
        "parent_checkpoint_id": parent,
    }


def empty_state(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    """A thread without state (or an unknown checkpoint id): 200 with empty values."""
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "metadata": None,
        "created_at": None,
        "checkpoint": checkpoint_ref(thread_id, checkpoint_id, None) if checkpoint_id else None,
        "parent_checkpoint": None,
        "interrupts": [],
        "checkpoint_id": checkpoint_id,
        "parent_checkpoint_id": None,
    }


def select_state(s: dict[str, Any], select: Sequence[str]) -> dict[str, Any]:
    """``select``: top-level ThreadState keys, or ``values.<key>`` to keep only those values."""
    if not select:
        return s
    keys = [f for f in select if not f.startswith("values.")]
    value_keys = [f.split(".", 1)[1] for f in select if f.startswith("values.")]
    out = {k: v for k, v in s.items() if k in keys} if keys else dict(s)
    if value_keys:
        values = s.get("values")
        out["values"] = (
            {k: values[k] for k in value_keys if k in values}
            if isinstance(values, dict)
            else values
        )
    return out


# --- search: select and extract ----------------------------------------------------------------


def check_select(select: Any) -> list[str]:
    if not isinstance(select, list) or not all(isinstance(f, str) for f in select):
        fail(f'{_dumps(select)} is not of type "array" of strings')
    for name in select:
        if name not in THREAD_FIELDS and name not in IGNORED_SELECT:
            fail(
                f"{_dumps(name)} is not one of "
                + ", ".join(f'"{f}"' for f in THREAD_FIELDS)
                + '\n\nFailed validating "enum" in schema["properties"]["select"]["items"]'
            )
    return [f for f in select if f in THREAD_FIELDS]


def check_extract(extract: Any) -> dict[str, list[str | int]]:
    if not isinstance(extract, dict):
        fail(f'{_dumps(extract)} is not of type "object"')
    if len(extract) > 10:
        fail("extract accepts at most 10 paths")
    parsed: dict[str, list[str | int]] = {}
    for alias, path in extract.items():
        if not _ALIAS.match(alias):
            fail(f"Extract alias '{alias}' must match ^[A-Za-z_][A-Za-z0-9_]*$")
        if alias in THREAD_FIELDS or alias in ("error", "extracted", "ttl"):
            fail(f"Extract alias '{alias}' conflicts with a thread field")
        if not isinstance(path, str) or not path:
            fail(f"Extract path for '{alias}' must be a non-empty string")
        segments = _parse_path(path)
        if not segments or segments[0] not in EXTRACT_ROOTS:
            fail(f"Extract path '{path}' must start with one of: {', '.join(EXTRACT_ROOTS)}")
        parsed[alias] = segments
    return parsed


def _parse_path(path: str) -> list[str | int]:
    segments: list[str | int] = []
    position = 0
    for match in _SEGMENT.finditer(path):
        between = path[position : match.start()]
        if between not in ("", "."):
            fail(f"Extract path '{path}' is not valid")
        key, index = match.groups()
        segments.append(int(index) if index is not None else key)
        position = match.end()
    if path[position:] not in ("",):
        fail(f"Extract path '{path}' is not valid")
    return segments


def extracted(t: Mapping[str, Any], paths: Mapping[str, list[str | int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for alias, segments in paths.items():
        value: Any = t
        for segment in segments:
            if isinstance(segment, str):
                if segment.startswith("_") or not isinstance(value, dict):
                    value = None
                    break
                value = value.get(segment)
            else:
                if not isinstance(value, list) or not -len(value) <= segment < len(value):
                    value = None
                    break
                value = value[segment]
            if value is None:
                break
        out[alias] = value
    return out


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
