"""PostgreSQL: one-row inserts that reach the database in the same turn of the event loop go
to it together.

A thread create is one statement; sent alone it costs a round trip, a commit (a WAL flush) and
the driver's per-call work. Requests that arrive together reach ``insert`` in one turn of the
loop; at the end of that turn the inserts of each statement are sent as one ``executemany`` on
one connection: one round trip, one implicit transaction, one commit (asyncpg's executemany is
atomic). Each caller is answered only after that commit. A batch that fails is re-sent row by
row, so each caller gets its own outcome (a duplicate id is that request's conflict, not its
neighbours') and nothing half-written stays: the failed batch wrote nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.storage import raw

log = logging.getLogger("threadline.storage")

#: runs a sync ``fn(conn, *args)`` on an autocommit connection (``PostgresDatabase._run``)
Runner = Callable[..., Awaitable[Any]]


@dataclass
class _Insert:
    params: dict[str, Any]
    conflict: Callable[[], Exception]
    done: asyncio.Future[None] = field(repr=False)


def _insert_many(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    raw.executemany(conn, stmt, rows)


def insert_one(
    conn: Connection, stmt: Any, params: dict[str, Any], conflict: Callable[[], Exception]
) -> None:
    """One row; a unique violation raises ``conflict()``."""
    try:
        raw.execute(conn, stmt, params)
    except sa.exc.IntegrityError:
        raise conflict() from None


class InsertBatcher:
    """Collects ``insert`` calls during one turn of the loop and sends each statement's rows
    together at its end; batches of different turns run concurrently, on their own connections.
    """

    def __init__(self, run: Runner) -> None:
        self._run = run
        self._waiting: dict[int, tuple[Any, list[_Insert]]] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def insert(
        self, stmt: Any, params: dict[str, Any], conflict: Callable[[], Exception]
    ) -> None:
        """Insert one row with ``stmt`` (a statement with no result); ``conflict()``: the error
        to raise when the row breaks a unique constraint."""
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._send_waiting)
        item = _Insert(params, conflict, loop.create_future())
        self._waiting.setdefault(id(stmt), (stmt, []))[1].append(item)
        await item.done

    def _send_waiting(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for stmt, items in waiting.values():
            task = asyncio.get_running_loop().create_task(self._send(stmt, items))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, stmt: Any, items: list[_Insert]) -> None:
        if len(items) > 1:
            try:
                await self._run(_insert_many, stmt, [item.params for item in items])
            except Exception:  # one row's conflict, or the connection: each row on its own
                log.debug("a batch of %d inserts failed; sending them one by one", len(items))
            else:
                for item in items:
                    if not item.done.done():  # a caller that went away was cancelled
                        item.done.set_result(None)
                return
        for item in items:
            try:
                await self._run(insert_one, stmt, item.params, item.conflict)
            except Exception as exc:
                if not item.done.done():
                    item.done.set_exception(exc)
            else:
                if not item.done.done():
                    item.done.set_result(None)

    async def close(self) -> None:
        """Wait for the batches being sent."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
