"""Threadline: a self-hosted thread server for LLM applications, and its Python SDK.

``from threadline import Client`` needs only the SDK's dependencies (httpx, pydantic).
"""

from threadline._version import __version__
from threadline.client import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    NotFoundError,
    ThreadlineError,
    UnprocessableEntityError,
    types,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "NotFoundError",
    "ThreadlineError",
    "UnprocessableEntityError",
    "__version__",
    "types",
]
