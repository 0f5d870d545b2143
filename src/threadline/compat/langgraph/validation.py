"""Request parsing for the LangGraph surface, with the reference server's statuses and wording.

The reference validates bodies against its OpenAPI schema (422 with a jsonschema message); these
helpers check the same rules and word the first line of the message the same way.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any, NoReturn

import orjson
from starlette.requests import Request

from threadline.core.integers import INT64_MAX


class LangGraphError(Exception):
    """An error rendered as ``{"detail": message}`` with ``status``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def fail(detail: str, status: int = 422) -> NoReturn:
    raise LangGraphError(status, detail)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def thread_id(value: Any, *, status: int = 422) -> str:
    """A canonical UUID string, or the reference's error (copy answers 400)."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError):
        fail("Invalid thread ID: must be a UUID", status)


async def body(request: Request) -> dict[str, Any]:
    """The JSON object in the body; 422 for an empty or malformed body or a non-object."""
    limit = int(request.app.state.settings.max_body_bytes)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        fail(f"Request body over the {limit}-byte limit", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            fail(f"Request body over the {limit}-byte limit", 413)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        data = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        data = None
    else:
        if data is not None and not isinstance(data, dict):
            fail(f'{_dumps(data)} is not of type "object"')
    if data is None:
        fail("Invalid JSON in request body")
    return data


def type_error(value: Any, kind: str, field: str) -> NoReturn:
    fail(
        f'{_dumps(value)} is not of type "{kind}"\n\n'
        f'Failed validating "type" in schema["properties"]["{field}"]'
    )


def optional_object(data: dict[str, Any], field: str) -> dict[str, Any] | None:
    if field not in data:
        return None
    value = data[field]
    if not isinstance(value, dict):
        type_error(value, "object", field)
    return value


def optional_string(data: dict[str, Any], field: str) -> str | None:
    if field not in data or data[field] is None:
        return None
    value = data[field]
    if not isinstance(value, str):
        type_error(value, "string", field)
    return value


def enum(data: dict[str, Any], field: str, options: Sequence[str], default: str | None) -> Any:
    if field not in data:
        return default
    value = data[field]
    if value not in options:
        if len(options) > 3:
            listed = f'"{options[0]}", "{options[1]}" or {len(options) - 2} other candidates'
        else:
            listed = ", ".join(f'"{o}"' for o in options[:-1]) + f' or "{options[-1]}"'
        fail(
            f"{_dumps(value)} is not one of {listed}\n\n"
            f'Failed validating "enum" in schema["properties"]["{field}"]'
        )
    return value


def integer(
    data: dict[str, Any], field: str, default: int, minimum: int, maximum: int = INT64_MAX
) -> int:
    """``data[field]``, an integer within bounds (by default: what a 64-bit column holds)."""
    if field not in data:
        return default
    value = data[field]
    if not isinstance(value, int) or isinstance(value, bool):
        type_error(value, "integer", field)
    if value < minimum:
        fail(
            f"{value} is less than the minimum of {minimum}\n\n"
            f'Failed validating "minimum" in schema["properties"]["{field}"]'
        )
    if value > maximum:
        fail(
            f"{value} is greater than the maximum of {maximum}\n\n"
            f'Failed validating "maximum" in schema["properties"]["{field}"]'
        )
    return value


#: the longest TTL, in minutes (~7,600 years): an expiry time past it is not a date either
#: database or Python holds
MAX_TTL_MINUTES = 4_000_000_000


def ttl(data: dict[str, Any]) -> tuple[float, str] | None:
    """``ttl``: minutes, or ``{ttl: minutes, strategy: delete | keep_latest}``."""
    if "ttl" not in data or data["ttl"] is None:
        return None
    value = data["ttl"]
    strategy = "delete"
    if isinstance(value, dict):
        strategy = enum(value, "strategy", ("delete", "keep_latest"), "delete")
        value = value.get("ttl")
    elif not isinstance(value, int | float) or isinstance(value, bool):
        type_error(value, "object", "ttl")
    if not isinstance(value, int | float) or isinstance(value, bool):
        type_error(value, "number", "ttl")
    minutes = float(value)
    if minutes < 0:
        fail(f"{minutes} is less than the minimum of 0")
    if minutes > MAX_TTL_MINUTES:
        fail(f"{minutes} is greater than the maximum of {MAX_TTL_MINUTES}")
    return float(minutes), strategy


_STREAM_ID = re.compile(r"^\d+(-\d+)?$")


def multi(request: Request, *names: str) -> list[str] | None:
    """All values of the first present query key: repeated, comma-separated or a JSON array."""
    for name in names:
        raw = request.query_params.getlist(name)
        if not raw:
            continue
        values: list[str] = []
        for item in raw:
            text = item.strip()
            if text.startswith("["):
                try:
                    parsed = orjson.loads(text)
                except orjson.JSONDecodeError:
                    parsed = None
                if isinstance(parsed, list):
                    values.extend(str(v) for v in parsed)
                    continue
            values.extend(part.strip() for part in text.split(",") if part.strip())
        return values
    return None


def last_event_id(request: Request) -> int | None:
    """The event number to resume after: ``-`` means from the start; None if not given."""
    raw = request.headers.get("last-event-id")
    if raw is None or raw == "":
        return None
    raw = raw.strip()
    if raw == "-":
        return 0
    if not _STREAM_ID.match(raw):
        fail("Invalid last-event-id: must be a valid Redis stream ID")
    return int(raw.rsplit("-", 1)[-1]) if "-" in raw else int(raw)


def checkpoint_of(value: Any, field: str) -> tuple[str | None, str]:
    """(checkpoint_id, checkpoint_ns) of a Checkpoint: flat, ``{"configurable": ...}`` or an id."""
    if value is None:
        return None, ""
    if isinstance(value, str):
        return value, ""
    if not isinstance(value, dict):
        type_error(value, "object", field)
    if isinstance(value.get("configurable"), dict):
        value = value["configurable"]
    cid = value.get("checkpoint_id")
    ns = value.get("checkpoint_ns") or ""
    if cid is not None and not isinstance(cid, str):
        type_error(cid, "string", f"{field}.checkpoint_id")
    if not isinstance(ns, str):
        type_error(ns, "string", f"{field}.checkpoint_ns")
    return cid, ns
