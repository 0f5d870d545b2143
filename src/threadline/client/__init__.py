"""The Threadline Python SDK: ``Client`` and ``AsyncClient`` over the native ``/v1`` API.

Submodules load on first use: the server imports ``threadline.client.types`` (the wire models)
without paying for the HTTP clients.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadline.client import types
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
    from threadline.client.thread import Attachment, Message, Thread

_HOMES = {
    "AsyncClient": "threadline.client._async",
    "Client": "threadline.client._sync",
    "NOT_GIVEN": "threadline.client._ops",
    "AsyncPage": "threadline.client.pagination",
    "SyncPage": "threadline.client.pagination",
    "types": "threadline.client",
    "Attachment": "threadline.client.thread",
    "Message": "threadline.client.thread",
    "Thread": "threadline.client.thread",
}

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPage",
    "Attachment",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "InternalServerError",
    "Message",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "SyncPage",
    "Thread",
    "ThreadlineError",
    "UnprocessableEntityError",
    "types",
]


def __getattr__(name: str) -> Any:
    if name == "types":
        return importlib.import_module("threadline.client.types")
    if name in __all__:
        module = importlib.import_module(_HOMES.get(name, "threadline.client.errors"))
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'threadline.client' has no attribute {name!r}")
