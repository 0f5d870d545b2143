"""``ThreadlineThreadStore``: narrator's ``ThreadStore`` backed by a Threadline server.

Install with ``pip install 'threadline[tyler]'``. A Tyler agent takes it unchanged::

    from threadline.narrator import ThreadlineThreadStore
    store = ThreadlineThreadStore("http://127.0.0.1:8787", api_key="...")  # or THREADLINE_*
    agent = Agent(model_name="gpt-4.1", thread_store=store)

It subclasses ``narrator.ThreadStore`` (Tyler's ``Agent`` checks ``isinstance``) and swaps the
storage backend for one that talks to the server's native API, so everything narrator's facade
does (dropping system messages on save, the ``find_*`` helpers) behaves as documented. The
differences from narrator's SQL backend:

* ``save`` sends only what changed since this store last saw the thread (one request per save
  in the steady state), instead of rewriting every message. Sequences are kept as the thread
  has them (narrator's SQL backend renumbers them 1..n on save; its memory backend does not).
* Reactions are stored one row per user and emoji, so concurrent reactions never overwrite each
  other; last writer wins for everything else.
* ``find_messages_by_attribute`` searches the whole message (``platforms.slack.ts``,
  ``source.id``, ``attributes.x``, ...), like narrator's memory backend; narrator's SQL backend
  only looks inside ``source``.
* Attachments: with a ``file_store`` (narrator ``FileStore``) pending attachments are stored
  there before saving, as narrator's SQL backend does with its default store; without one their
  bytes are kept with the message on the server.

The core ``threadline`` package never imports this module or narrator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from narrator import Attachment as NarratorAttachment
from narrator import Message as NarratorMessage
from narrator import Thread as NarratorThread
from narrator import ThreadStore
from narrator.database.storage_backend import StorageBackend

from threadline.client import _ops as ops
from threadline.client._async import AsyncClient
from threadline.client._base import Config
from threadline.client._tyler import Models, Plan, _State, drive_async

__all__ = ["ThreadlineBackend", "ThreadlineThreadStore"]

NARRATOR_MODELS = Models(
    thread=NarratorThread, message=NarratorMessage, attachment=NarratorAttachment
)
R = TypeVar("R")
Threads = list[Any]  # ``list`` is also a method name below


class ThreadlineBackend(StorageBackend):  # type: ignore[misc]
    """narrator's ``StorageBackend`` over the Threadline API."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        file_store: Any = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        max_threads: int = 256,
    ) -> None:
        # resolved now, so that a missing key fails at construction (THREADLINE_* as fallbacks)
        self._config = Config.resolve(base_url, api_key, timeout, max_retries)
        self.database_url = self._config.base_url
        self._client: AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.file_store = file_store
        self._state = _State(NARRATOR_MODELS, max_threads, include_system=False)

    def _send(self) -> Callable[[ops.Op[Any]], Awaitable[Any]]:
        """The client of the running event loop (an HTTP client belongs to one loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            config = self._config
            self._client = AsyncClient(
                config.base_url,
                config.api_key,
                timeout=config.timeout,
                max_retries=config.max_retries,
            )
            self._loop = loop
        return self._client._send

    async def _run(self, plan: Plan[R]) -> R:
        return await drive_async(plan, self._send())

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = None
        self._loop = None

    # --- StorageBackend ----------------------------------------------------------------------

    async def initialize(self) -> None:
        """Check that the server answers and the key is valid."""
        await self._send()(ops.get_project())

    async def save(self, thread: Any) -> Any:
        if self.file_store is not None:
            for message in thread.messages:
                for attachment in message.attachments:
                    if attachment.status != "stored" and attachment.content is not None:
                        await attachment.process_and_store(self.file_store)
        return await self._run(self._state.save(thread))

    async def get(self, thread_id: str) -> Any:
        return await self._run(self._state.get(thread_id))

    async def delete(self, thread_id: str) -> bool:
        return await self._run(self._state.delete(thread_id))

    async def list(self, limit: int = 100, offset: int = 0) -> Threads:
        return await self._run(self._state.recent(limit, offset))

    async def list_recent(self, limit: int | None = None) -> Threads:
        return await self._run(self._state.recent(limit))

    async def find_by_attributes(self, attributes: dict[str, Any]) -> Threads:
        return await self._run(self._state.find_by_attributes(attributes, 1000))

    async def find_by_platform(self, platform_name: str, properties: dict[str, Any]) -> Threads:
        return await self._run(self._state.find_by_platform(platform_name, properties, 1000))

    async def find_messages_by_attribute(self, path: str, value: Any) -> Threads:
        return await self._run(self._state.find_messages(path, value, 1000))

    async def get_thread_by_message_id(self, message_id: str) -> Any:
        return await self._run(self._state.thread_of_message(message_id))


class ThreadlineThreadStore(ThreadStore):  # type: ignore[misc]
    """A ``narrator.ThreadStore`` whose threads live on a Threadline server.

    ``base_url`` and ``api_key`` default to ``THREADLINE_URL`` and ``THREADLINE_API_KEY``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        file_store: Any = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        # narrator's constructor would set up its own memory or SQL backend: not wanted here
        self._backend = ThreadlineBackend(
            base_url, api_key, file_store=file_store, timeout=timeout, max_retries=max_retries
        )
        self._initialized = False

    @classmethod
    async def create(
        cls, base_url: str | None = None, api_key: str | None = None, **kwargs: Any
    ) -> ThreadlineThreadStore:
        """A store that has already checked the server and the key."""
        store = cls(base_url, api_key, **kwargs)
        await store.initialize()
        return store

    async def aclose(self) -> None:
        """Close the HTTP connections (optional: they are also dropped with the store)."""
        await self._backend.aclose()
