"""One native error body everywhere: ``{"error": {"type", "message", "field"?}}``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from threadline.api.responses import json_response
from threadline.core.errors import BadRequest, DomainError, InvalidInput


def error_body(type_: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type_, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def error_response(exc: DomainError, headers: dict[str, str] | None = None) -> Response:
    return json_response(
        error_body(exc.type, exc.message, exc.field), status=exc.status, headers=headers
    )


def _loc(loc: tuple[int | str, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def from_validation(exc: ValidationError, *, prefix: str = "") -> DomainError:
    """The first problem of a pydantic error as a domain error naming the field."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        return BadRequest(f"malformed JSON: {first['msg']}", field=prefix or None)
    field = _loc(tuple(first["loc"]), prefix)
    message = f"{field}: {first['msg']}" if field else str(first["msg"])
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return InvalidInput(message, field=field or None)
