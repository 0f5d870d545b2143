"""PostgreSQL: one-row inserts that arrive while the previous ones are being written go to the
database together, as one statement and one commit.

A thread create is one statement; sent alone it costs a round trip, a commit (a WAL flush:
~0.55 ms here under load) and the database's per-statement work. One sender writes the inserts
that are waiting, waits for that write to commit, then writes the ones that arrived meanwhile
(group commit): under load each write carries the requests that came during the previous one
(7-8 of 16 concurrent creates here, where a new write per turn of the event loop carried 3-4),
and a lone request is written at once. A planned insert's statement takes its rows as one JSON
array (``raw.recordset``): the same statement for one row or many, one plan and one run of its
statement triggers per group, and one parameter to encode (less than half the driver's CPU
of a column array per value). It is atomic (autocommit: one implicit transaction); each caller
is answered only after that commit. A write that fails wrote nothing; its rows are then written
one by one, so each caller gets its own outcome (a duplicate id is that request's conflict, not
its neighbours') and nothing half-written stays.
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


@dataclass(frozen=True)
class PlannedInsert:
    """One row to insert: ``stmt`` inserts the rows of its JSON array parameter ``rows``
    (``raw.recordset``); ``row`` is this one (column name -> value) of ``table``; ``conflict()``
    is the error when the row breaks a unique constraint. Inserts with the same ``stmt``
    object are written together."""

    stmt: Any
    row: dict[str, Any]
    table: sa.Table
    conflict: Callable[[], Exception]


@dataclass
class _Waiting:
    plan: PlannedInsert
    done: asyncio.Future[None] = field(repr=False)


def insert_rows(conn: Connection, plans: list[PlannedInsert]) -> None:
    """Rows planned with the same statement, as that one statement."""
    first = plans[0]
    rows = raw.json_rows(first.table, [plan.row for plan in plans])
    raw.execute(conn, first.stmt, {"rows": rows})


def insert_one(conn: Connection, plan: PlannedInsert) -> None:
    """One row; a unique violation raises ``plan.conflict()``."""
    try:
        insert_rows(conn, [plan])
    except sa.exc.IntegrityError:
        raise plan.conflict() from None


class InsertBatcher:
    """Writes inserts in groups: one write at a time; what arrives during a write waits for it
    and goes in the next (grouped by statement)."""

    def __init__(self, run: Runner) -> None:
        self._run = run
        self._waiting: dict[int, list[_Waiting]] = {}
        self._sender: asyncio.Task[None] | None = None

    async def insert(self, plan: PlannedInsert) -> None:
        """Insert one row as planned; returns once it is committed."""
        loop = asyncio.get_running_loop()
        item = _Waiting(plan, loop.create_future())
        self._waiting.setdefault(id(plan.stmt), []).append(item)
        if self._sender is None:  # starts after this turn: the turn's other inserts go too
            self._sender = loop.create_task(self._send_waiting())
        await item.done

    async def _send_waiting(self) -> None:
        sending: list[_Waiting] = []
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, {}
                for items in waiting.values():
                    sending = items
                    await self._send(items)
        except asyncio.CancelledError:  # shutting down: no caller waits forever
            for item in [*sending, *(i for items in self._waiting.values() for i in items)]:
                item.done.cancel()
            self._waiting = {}
            raise
        finally:
            self._sender = None

    async def _send(self, items: list[_Waiting]) -> None:
        if len(items) > 1:
            try:
                await self._run(insert_rows, [item.plan for item in items])
            except Exception:  # one row's conflict, or the connection: each row on its own
                log.debug("a batch of %d inserts failed; sending them one by one", len(items))
            else:
                for item in items:
                    if not item.done.done():  # a caller that went away was cancelled
                        item.done.set_result(None)
                return
        for item in items:
            try:
                await self._run(insert_one, item.plan)
            except Exception as exc:
                if not item.done.done():
                    item.done.set_exception(exc)
            else:
                if not item.done.done():
                    item.done.set_result(None)

    async def close(self) -> None:
        """Wait for the inserts being written."""
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)
