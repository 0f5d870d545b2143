"""What both clients share: configuration, request building, response handling, retry policy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson
import tenacity

from threadline._version import __version__
from threadline.client._ops import Op, encode
from threadline.client.errors import (
    APIConnectionError,
    APIStatusError,
    ThreadlineError,
    error_for_status,
)

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8787"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_READ_ONLY_POSTS = ("/search", "/count", "/export", "/steps/batch")


@dataclass(frozen=True)
class Config:
    base_url: str
    api_key: str
    timeout: float
    max_retries: int

    @classmethod
    def resolve(
        cls, base_url: str | None, api_key: str | None, timeout: float, max_retries: int
    ) -> Config:
        """Arguments first, then ``THREADLINE_URL`` / ``THREADLINE_API_KEY``."""
        url = base_url or os.environ.get("THREADLINE_URL") or DEFAULT_URL
        key = api_key or os.environ.get("THREADLINE_API_KEY")
        if not key:
            raise ThreadlineError(
                "no API key: pass api_key=... or set THREADLINE_API_KEY "
                "(`threadline keys create` makes one)"
            )
        return cls(url.rstrip("/"), key, timeout, max_retries)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "x-api-key": self.api_key,
            "user-agent": f"threadline-python/{__version__}",
            "accept": "application/json",
        }


def request_args(op: Op[Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"method": op.method, "url": op.path}
    if op.params:
        args["params"] = op.params
    if op.json is not None:
        args["content"] = encode(op.json)
        args["headers"] = {"content-type": "application/json"}
    return args


def handle_response(op: Op[T], status: int, content: bytes) -> T:
    """Parse a response into the op's result, or raise the typed error."""
    body: Any = None
    if content:
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            body = content.decode("utf-8", "replace")
    if status >= 400:
        raise error_for_status(status, body)
    return op.parse(body)


def transport_error(exc: httpx.TransportError) -> APIConnectionError:
    from threadline.client.errors import APITimeoutError

    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out: {exc}")
    return APIConnectionError(f"could not reach the server: {exc}")


def is_idempotent(op: Op[Any]) -> bool:
    if op.method in ("GET", "PUT", "DELETE", "HEAD"):
        return True
    return op.method == "POST" and op.path.endswith(_READ_ONLY_POSTS)


def retry_policy(op: Op[Any], max_retries: int) -> dict[str, Any]:
    """tenacity arguments: retry connection failures, and 429/502/503/504 on idempotent ops."""
    idempotent = is_idempotent(op)

    def retryable(exc: BaseException) -> bool:
        if isinstance(exc, APIConnectionError):
            return idempotent or not isinstance(
                exc.__cause__, httpx.ReadError | httpx.TimeoutException
            )
        return isinstance(exc, APIStatusError) and idempotent and exc.status_code in RETRY_STATUSES

    return {
        "stop": tenacity.stop_after_attempt(max_retries + 1),
        "wait": tenacity.wait_random_exponential(multiplier=0.2, max=5),
        "retry": tenacity.retry_if_exception(retryable),
        "reraise": True,
    }
