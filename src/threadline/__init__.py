"""Threadline: a self-hosted thread server for LLM applications, and its Python SDK.

``from threadline import Client`` needs only the SDK's dependencies (httpx, pydantic). The SDK is
imported on first use, so that the server and the CLI start without loading it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from threadline._version import __version__

if TYPE_CHECKING:
    from threadline.client import (
        APIConnectionError,
        APIError,
        APIStatusError,
        AsyncClient,
        Attachment,
        AuthenticationError,
        BadRequestError,
        Client,
        ConflictError,
        Message,
        NotFoundError,
        Thread,
        ThreadlineError,
        UnprocessableEntityError,
        types,
    )

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "AsyncClient",
    "Attachment",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "Message",
    "NotFoundError",
    "Thread",
    "ThreadlineError",
    "UnprocessableEntityError",
    "__version__",
    "types",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("threadline.client"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'threadline' has no attribute {name!r}")
