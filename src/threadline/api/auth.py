"""API key authentication: ``x-api-key`` or ``Authorization: Bearer``, cached briefly."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

from starlette.requests import Request

from threadline.core.errors import Unauthorized
from threadline.core.service import Service

log = logging.getLogger("threadline.auth")


def key_from_headers(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class KeyChecker:
    """Resolves a key to its project; a revoked key stops working within ``ttl`` seconds."""

    def __init__(self, service: Service, ttl: float) -> None:
        self.service = service
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def check(self, request: Request) -> tuple[str, str | None]:
        secret = key_from_headers(request)
        if not secret:
            raise Unauthorized("missing API key: send it as x-api-key or Authorization: Bearer")
        digest = hashlib.sha256(secret.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is None or cached[0] < now:
            record = await self.service.authenticate(secret)
            self._cache[digest] = (now + self.ttl, record)
            if len(self._cache) > 10_000:
                self._cache.clear()
            if record is not None:
                self._touch(record["id"])
        else:
            record = cached[1]
        if record is None:
            raise Unauthorized("invalid or revoked API key")
        return str(record["project_id"]), str(record["id"])

    def _touch(self, key_id: str) -> None:
        async def run() -> None:
            try:
                await self.service.touch_key(key_id)
            except Exception:
                log.warning("could not record API key use", exc_info=True)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
