"""UTC timestamps: lenient parsing of what clients send, one canonical form out."""

from __future__ import annotations

from datetime import UTC, datetime

from threadline.core.errors import InvalidInput


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_timestamp(value: str | datetime | int | float, *, field: str | None = None) -> datetime:
    """Parse an ISO-8601 string (``Z`` or offset, date only allowed) or epoch seconds into UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise InvalidInput(f"{field or 'timestamp'}: expected a timestamp", field=field)
    elif isinstance(value, int | float):
        parsed = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"{field or 'timestamp'}: {value!r} is not an ISO-8601 timestamp", field=field
            ) from None
    else:
        raise InvalidInput(f"{field or 'timestamp'}: expected a timestamp", field=field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def isoformat(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z`` suffix and microseconds, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
