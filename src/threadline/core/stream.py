"""Wake-ups for thread event streams, within a process and across processes.

A stream reader keeps a cursor (the last event number it sent) and re-reads the thread's stored
events after it whenever it is woken; the events table is the single source of truth, so a
wake-up carries no data and a lost or duplicated one costs at most one extra read.

Who wakes a reader:

* the service, right after a write that appended events commits in this process;
* on PostgreSQL, ``LISTEN``: every process gets the ``NOTIFY`` sent by the writing transaction
  (delivered at commit), so a client joined on one process sees events written through another;
* a fallback poll (``poll_seconds``): on SQLite, the only way to see events written by another
  process on the same file; on PostgreSQL a safety net while the LISTEN connection reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from threadline.storage.database import Database
from threadline.storage.events import NotifyListener

Key = tuple[str, str]


class EventHub:
    def __init__(self, db: Database, *, poll_seconds: float | None = None) -> None:
        self.db = db
        postgres = db.dialect == "postgresql"
        self.poll_seconds = poll_seconds or (5.0 if postgres else 1.0)
        self._subscribers: dict[Key, set[asyncio.Event]] = {}
        self._listener: NotifyListener | None = None
        if postgres:
            self._listener = NotifyListener(db.url, self.wake, self.wake_all)

    def wake(self, project_id: str, thread_id: str) -> None:
        for event in self._subscribers.get((project_id, thread_id), ()):
            event.set()

    def wake_all(self) -> None:
        for events in self._subscribers.values():
            for event in events:
                event.set()

    @contextlib.asynccontextmanager
    async def subscribe(self, project_id: str, thread_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever the thread may have new events (clear it after reading)."""
        if self._listener is not None:
            self._listener.start()  # one LISTEN connection per process, opened on first use
        key = (project_id, thread_id)
        event = asyncio.Event()
        self._subscribers.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(event)
                if not subscribers:
                    del self._subscribers[key]

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait for a wake-up, at most ``seconds`` (capped by the fallback poll); clear it."""
        try:
            await asyncio.wait_for(event.wait(), min(seconds, self.poll_seconds))
        except TimeoutError:
            return False
        finally:
            event.clear()
        return True

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
