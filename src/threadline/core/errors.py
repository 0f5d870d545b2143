"""Domain errors raised by core and storage, rendered by each wire surface in its own format."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client can cause; never a server fault."""

    status = 400
    type = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The request is well-formed JSON but a value is not acceptable."""

    status = 422
    type = "invalid_request"


class BadRequest(DomainError):
    """The request cannot be parsed at all (malformed JSON, wrong content)."""

    status = 400
    type = "bad_request"


class Unauthorized(DomainError):
    status = 401
    type = "unauthorized"


class Forbidden(DomainError):
    status = 403
    type = "forbidden"


class NotFound(DomainError):
    status = 404
    type = "not_found"


class Conflict(DomainError):
    status = 409
    type = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    type = "payload_too_large"
