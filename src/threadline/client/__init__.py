"""The Threadline Python SDK: ``Client`` and ``AsyncClient`` over the native ``/v1`` API."""

from threadline.client._async import AsyncClient
from threadline.client._ops import NOT_GIVEN
from threadline.client._sync import Client
from threadline.client.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ThreadlineError,
    UnprocessableEntityError,
)
from threadline.client.pagination import AsyncPage, SyncPage

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPage",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "SyncPage",
    "ThreadlineError",
    "UnprocessableEntityError",
]
