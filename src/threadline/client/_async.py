"""``AsyncClient``: the asyncio SDK, method for method the same as ``Client`` (see ``_sync.py``).

HTTP goes through httpx over the ``httpx-aiohttp`` transport: httpx's own async pool managed
~620 req/s here against a constant answer, aiohttp's ~3,600 (bench/sdk.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx
import tenacity
from httpx_aiohttp import AiohttpTransport

from threadline.client import _ops as ops
from threadline.client import types as t
from threadline.client._base import (
    Config,
    handle_response,
    request_args,
    retry_policy,
    transport_error,
)
from threadline.client._ops import NOT_GIVEN, Op
from threadline.client.pagination import AsyncPage

T = TypeVar("T")
Filters = Sequence[Mapping[str, Any] | t.Filter] | None


class Threads:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def create(
        self,
        *,
        id: str | None = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        tags: list[str] = NOT_GIVEN,
        participant_id: str | None = NOT_GIVEN,
        participant_identifier: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        status: t.ThreadStatus = NOT_GIVEN,
    ) -> t.Thread:
        """Create a thread (``ConflictError`` if ``id`` is taken)."""
        return await self._c._send(
            ops.create_thread(
                id=id,
                name=name,
                metadata=metadata,
                tags=tags,
                participant_id=participant_id,
                participant_identifier=participant_identifier,
                environment=environment,
                status=status,
            )
        )

    async def get(self, thread_id: str, *, include_steps: bool = True) -> t.Thread:
        """A thread with its steps in order (``NotFoundError`` if missing)."""
        return await self._c._send(ops.get_thread(thread_id, include_steps=include_steps))

    async def update(
        self,
        thread_id: str,
        *,
        name: str | None = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
        tags: list[str] | None = NOT_GIVEN,
        participant_id: str | None = NOT_GIVEN,
        participant_identifier: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        status: t.ThreadStatus = NOT_GIVEN,
    ) -> t.Thread:
        """Change the given fields; the others are kept."""
        return await self._c._send(
            ops.update_thread(
                thread_id,
                name=name,
                metadata=metadata,
                tags=tags,
                participant_id=participant_id,
                participant_identifier=participant_identifier,
                environment=environment,
                status=status,
            )
        )

    async def upsert(
        self,
        thread_id: str,
        *,
        name: str | None = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
        tags: list[str] | None = NOT_GIVEN,
        participant_id: str | None = NOT_GIVEN,
        participant_identifier: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        status: t.ThreadStatus = NOT_GIVEN,
    ) -> t.Thread:
        """Create the thread with this id, or change the given fields if it exists."""
        return await self._c._send(
            ops.upsert_thread(
                thread_id,
                name=name,
                metadata=metadata,
                tags=tags,
                participant_id=participant_id,
                participant_identifier=participant_identifier,
                environment=environment,
                status=status,
            )
        )

    async def delete(self, thread_id: str) -> None:
        """Delete a thread and its steps."""
        return await self._c._send(ops.delete_thread(thread_id))

    async def list(
        self,
        *,
        filters: Filters = None,
        metadata: dict[str, Any] | None = None,
        participant_id: str | None = None,
        environment: str | None = None,
        status: t.ThreadStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order_by: str | None = None,
        order: str | None = None,
        include_total: bool = True,
    ) -> AsyncPage[t.Thread]:
        """Threads matching the filters, newest first; iterate the page to walk all pages."""
        return await self._c._page(
            ops.search_threads(
                filters=filters,
                metadata=metadata,
                participant_id=participant_id,
                environment=environment,
                status=status,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                order_by=order_by,
                order=order,
                include_total=include_total,
            )
        )

    async def count(
        self,
        *,
        filters: Filters = None,
        metadata: dict[str, Any] | None = None,
        participant_id: str | None = None,
        environment: str | None = None,
        status: t.ThreadStatus | None = None,
    ) -> int:
        """How many threads match the filters."""
        return await self._c._send(
            ops.count_threads(
                filters=filters,
                metadata=metadata,
                participant_id=participant_id,
                environment=environment,
                status=status,
            )
        )

    async def export(
        self,
        *,
        filters: Filters = None,
        metadata: dict[str, Any] | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> t.ExportPage:
        """Page ``page`` of threads with their steps, oldest first (see ``has_next_page``)."""
        return await self._c._send(
            ops.export_threads(filters=filters, metadata=metadata, page=page, page_size=page_size)
        )


class Steps:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def create(
        self,
        *,
        id: str | None = NOT_GIVEN,
        thread_id: str | None = NOT_GIVEN,
        parent_id: str | None = NOT_GIVEN,
        root_run_id: str | None = NOT_GIVEN,
        type: t.StepType = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        input: Any = NOT_GIVEN,
        output: Any = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        tags: list[str] = NOT_GIVEN,
        start_time: Any = NOT_GIVEN,
        end_time: Any = NOT_GIVEN,
        error: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        generation: t.Generation | dict[str, Any] | None = NOT_GIVEN,
    ) -> t.Step:
        """Create a step; its thread is created if missing."""
        return await self._c._send(
            ops.create_step(
                id=id,
                thread_id=thread_id,
                parent_id=parent_id,
                root_run_id=root_run_id,
                type=type,
                name=name,
                input=input,
                output=output,
                metadata=metadata,
                tags=tags,
                start_time=start_time,
                end_time=end_time,
                error=error,
                environment=environment,
                generation=generation,
            )
        )

    async def get(self, step_id: str) -> t.Step:
        """A step (``NotFoundError`` if missing)."""
        return await self._c._send(ops.get_step(step_id))

    async def update(
        self,
        step_id: str,
        *,
        thread_id: str | None = NOT_GIVEN,
        parent_id: str | None = NOT_GIVEN,
        root_run_id: str | None = NOT_GIVEN,
        type: t.StepType = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        input: Any = NOT_GIVEN,
        output: Any = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
        tags: list[str] | None = NOT_GIVEN,
        start_time: Any = NOT_GIVEN,
        end_time: Any = NOT_GIVEN,
        error: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        generation: t.Generation | dict[str, Any] | None = NOT_GIVEN,
    ) -> t.Step:
        """Change the given fields; the others are kept."""
        return await self._c._send(
            ops.update_step(
                step_id,
                thread_id=thread_id,
                parent_id=parent_id,
                root_run_id=root_run_id,
                type=type,
                name=name,
                input=input,
                output=output,
                metadata=metadata,
                tags=tags,
                start_time=start_time,
                end_time=end_time,
                error=error,
                environment=environment,
                generation=generation,
            )
        )

    async def delete(self, step_id: str) -> None:
        """Delete a step."""
        return await self._c._send(ops.delete_step(step_id))

    async def ingest(self, steps: Sequence[Mapping[str, Any] | t.StepCreate]) -> t.BatchResult:
        """Upsert up to 1,000 steps in one request (each needs an ``id``; idempotent)."""
        return await self._c._send(ops.ingest_steps(steps))

    async def list(
        self,
        *,
        thread_id: str | None = None,
        type: t.StepType | None = None,
        filters: Filters = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order: str | None = None,
        include_total: bool = True,
    ) -> AsyncPage[t.Step]:
        """Steps matching the filters, newest first; iterate the page to walk all pages."""
        return await self._c._page(
            ops.search_steps(
                thread_id=thread_id,
                type=type,
                filters=filters,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                order_by=None,
                order=order,
                include_total=include_total,
            )
        )


class Users:
    """Participants: the end users of an application."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def create(
        self, *, identifier: str, metadata: dict[str, Any] = NOT_GIVEN, id: str | None = NOT_GIVEN
    ) -> t.Participant:
        """Create a participant (``ConflictError`` if the identifier is taken)."""
        return await self._c._send(
            ops.create_participant(identifier=identifier, metadata=metadata, id=id)
        )

    async def get_or_create(
        self, *, identifier: str, metadata: dict[str, Any] = NOT_GIVEN
    ) -> t.Participant:
        """The participant with this identifier, created if missing."""
        return await self._c._send(
            ops.get_or_create_participant(identifier=identifier, metadata=metadata)
        )

    async def get(self, participant_id: str) -> t.Participant:
        """A participant by id."""
        return await self._c._send(ops.get_participant(participant_id))

    async def get_by_identifier(self, identifier: str) -> t.Participant:
        """A participant by identifier."""
        return await self._c._send(ops.get_participant_by_identifier(identifier))

    async def update(
        self,
        participant_id: str,
        *,
        identifier: str = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
    ) -> t.Participant:
        """Change the identifier or metadata."""
        return await self._c._send(
            ops.update_participant(participant_id, identifier=identifier, metadata=metadata)
        )

    async def delete(self, participant_id: str) -> None:
        """Delete a participant; their threads remain, without a participant."""
        return await self._c._send(ops.delete_participant(participant_id))

    async def list(
        self,
        *,
        filters: Filters = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        include_total: bool = True,
    ) -> AsyncPage[t.Participant]:
        """Participants, newest first; iterate the page to walk all pages."""
        return await self._c._page(
            ops.search_participants(
                filters=filters,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                order_by=None,
                order=None,
                include_total=include_total,
            )
        )


class Keys:
    """The API keys of the client's project."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def list(self) -> list[t.ApiKeyInfo]:
        """The project's keys (never their secrets)."""
        return await self._c._send(ops.list_keys())

    async def create(self, *, name: str | None = None) -> t.ApiKeyCreated:
        """A new key; its secret (``.key``) is returned only this once."""
        return await self._c._send(ops.create_key(name))

    async def revoke(self, key_id: str) -> t.ApiKeyInfo:
        """Revoke a key by id or prefix."""
        return await self._c._send(ops.revoke_key(key_id))


class AsyncClient:
    """Asynchronous Threadline client (use ``async with`` or ``await client.close()``).

    ``base_url`` and ``api_key`` default to ``THREADLINE_URL`` and ``THREADLINE_API_KEY``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._config = Config.resolve(base_url, api_key, timeout, max_retries)
        self._http = http_client or httpx.AsyncClient(timeout=timeout, transport=AiohttpTransport())
        self._http.base_url = httpx.URL(self._config.base_url)
        self._http.headers.update(self._config.headers)
        self.threads = Threads(self)
        self.steps = Steps(self)
        self.users = Users(self)
        self.keys = Keys(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    async def _send(self, op: Op[T]) -> T:
        async for attempt in tenacity.AsyncRetrying(**retry_policy(op, self._config.max_retries)):
            with attempt:
                try:
                    response = await self._http.request(**request_args(op))
                except httpx.TransportError as exc:
                    raise transport_error(exc) from exc
                return handle_response(op, response.status_code, response.content)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _page(self, op: Op[ops.PageData[Any]]) -> AsyncPage[Any]:
        return AsyncPage(await self._send(op), op, self._send)

    async def project(self) -> t.Project:
        """The project this client's API key belongs to."""
        return await self._send(ops.get_project())

    async def health(self) -> dict[str, Any]:
        """The server's health (database reachable, version)."""
        return await self._send(ops.health())

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
