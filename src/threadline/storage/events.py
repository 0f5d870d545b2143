"""A thread's event stream: append (numbered per thread in commit order), read after, purge.

``append`` increments ``threads.event_seq`` in the writing transaction; the row lock it takes
orders concurrent writers, so a reader that has seen event ``n`` has seen every event before it
(resuming with ``Last-Event-ID`` never skips one). On PostgreSQL it also sends ``NOTIFY`` on
:data:`CHANNEL`, which PostgreSQL delivers at commit to every process listening
(:class:`NotifyListener`), so a stream joined on one server process wakes up for events written
by another. SQLite has no NOTIFY: streams there are woken in-process and poll as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.timeutil import utcnow
from threadline.storage import raw
from threadline.storage.schema import thread_events, threads

CHANNEL = "threadline_events"
log = logging.getLogger("threadline.events")


_NEXT_SEQ = (
    threads.update()
    .where(
        threads.c.project_id == sa.bindparam("p_project"),
        threads.c.id == sa.bindparam("p_thread"),
    )
    .values(event_seq=threads.c.event_seq + 1)
    .returning(threads.c.event_seq)
)


_INSERT = raw.insert(
    thread_events, ("project_id", "thread_id", "seq", "event", "mode", "data", "created_at")
)


def notify_key(project_id: str, thread_id: str) -> str:
    return orjson.dumps([project_id, thread_id]).decode()


def append(
    conn: Connection,
    project_id: str,
    thread_id: str,
    event: str,
    mode: str,
    data: Any,
    *,
    seq: int | None = None,
) -> dict[str, Any] | None:
    """Append an event to a thread's stream; None if the thread does not exist. ``seq``: its
    number, already taken from the thread row (``thread_state.set_state(next_event=True)``)."""
    if seq is None:
        found = raw.fetchall(conn, _NEXT_SEQ, {"p_project": project_id, "p_thread": thread_id})
        if not found:
            return None
        seq = found[0][0]
    now = utcnow()  # after the row lock: events of a thread are stamped in order too
    row = {
        "project_id": project_id,
        "thread_id": thread_id,
        "seq": seq,
        "event": event,
        "mode": mode,
        "data": data,
        "created_at": now,
    }
    raw.execute(conn, _INSERT, raw.row_params(conn, thread_events, row))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, notify_key(project_id, thread_id))))
    return {"seq": int(seq), "event": event, "mode": mode, "data": data, "created_at": now}


def current_seq(conn: Connection, project_id: str, thread_id: str) -> int | None:
    """The number of the thread's newest event (0 if none); None if the thread does not exist."""
    value = conn.execute(
        sa.select(threads.c.event_seq).where(
            threads.c.project_id == project_id, threads.c.id == thread_id
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


def after(
    conn: Connection,
    project_id: str,
    thread_id: str,
    seq: int,
    modes: Sequence[str],
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Stored events numbered above ``seq`` in the given modes, oldest first."""
    rows = conn.execute(
        sa.select(
            thread_events.c.seq,
            thread_events.c.event,
            thread_events.c.mode,
            thread_events.c.data,
            thread_events.c.created_at,
        )
        .where(
            thread_events.c.project_id == project_id,
            thread_events.c.thread_id == thread_id,
            thread_events.c.seq > seq,
            thread_events.c.mode.in_(list(modes)),
        )
        .order_by(thread_events.c.seq)
        .limit(limit)
    ).all()
    return [dict(r._mapping) for r in rows]


def purge(conn: Connection, before: datetime, limit: int = 10_000) -> int:
    """Delete up to ``limit`` events older than ``before`` (the retention window)."""
    old = (
        sa.select(thread_events.c.project_id, thread_events.c.thread_id, thread_events.c.seq)
        .where(thread_events.c.created_at < before)
        .limit(limit)
    )
    keys = conn.execute(old).all()
    if not keys:
        return 0
    key = sa.tuple_(thread_events.c.project_id, thread_events.c.thread_id, thread_events.c.seq)
    deleted = 0
    for start in range(0, len(keys), 500):
        chunk = [tuple(k) for k in keys[start : start + 500]]
        deleted += conn.execute(thread_events.delete().where(key.in_(chunk))).rowcount
    return deleted


class NotifyListener:
    """``LISTEN`` on PostgreSQL through a dedicated asyncpg connection, reconnecting on loss.

    ``on_key(project_id, thread_id)`` runs for every notification; ``on_reset()`` after each
    (re)connect, since notifications sent while disconnected are lost (subscribers re-read).
    """

    def __init__(
        self,
        url: str,
        on_key: Callable[[str, str], None],
        on_reset: Callable[[], None],
    ) -> None:
        self.url = sa.make_url(url)
        self.on_key = on_key
        self.on_reset = on_reset
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(
                    host=self.url.host or "127.0.0.1",
                    port=self.url.port or 5432,
                    user=self.url.username,
                    password=self.url.password,
                    database=self.url.database,
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self.connected.set()
                self.on_reset()
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN connection failed; retrying", exc_info=True)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(1.0)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            project_id, thread_id = orjson.loads(payload)
        except (orjson.JSONDecodeError, ValueError):
            return
        self.on_key(str(project_id), str(thread_id))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
