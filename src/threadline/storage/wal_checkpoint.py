"""Checkpoints SQLite's write-ahead log on a thread of its own, not in a request's commit.

By default SQLite checkpoints in the COMMIT that takes the log past 1,000 pages: that commit
copies the log's pages into the database file and syncs both, and for a group of quick writes
it runs on the event loop's thread, which stands still meanwhile (the p99 of writes).
:class:`WalCheckpointer` runs a PASSIVE checkpoint on a connection of its own every
``interval`` seconds instead (one with nothing to copy costs next to nothing): it waits for no
reader or writer, and the thread releases the GIL while SQLite works. The writer's own
threshold moves to ``database.WRITER_CHECKPOINT_PAGES`` (32 MB): checkpoints that overlap a
steady stream of writes never leave the log fully copied, so without the writer's occasional
one (mostly copied already, so cheap) the log would never restart and would grow without end.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

__all__ = ["WalCheckpointer"]

log = logging.getLogger("threadline.storage")

#: a failing checkpoint is logged at most this often (it is retried every interval)
LOG_EVERY_SECONDS = 60.0


class WalCheckpointer:
    """A daemon thread that checkpoints ``database``'s log while it is open."""

    def __init__(self, database: str, *, interval: float = 0.1) -> None:
        self._database = database
        self._wal = database + "-wal"
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="threadline-wal-checkpoint", daemon=True
        )
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the thread is running (it stops only at :meth:`close`)."""
        return self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        last_logged = -LOG_EVERY_SECONDS
        try:
            while not self._stop.wait(self._interval):
                if not os.path.exists(self._wal):
                    continue
                try:
                    if conn is None:
                        conn = sqlite3.connect(self._database, isolation_level=None, timeout=1)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # the next round tries again (the writer's own checkpoint
                    # at WRITER_CHECKPOINT_PAGES still bounds the log); logged once a minute
                    if time.monotonic() - last_logged >= LOG_EVERY_SECONDS:
                        last_logged = time.monotonic()
                        log.exception("checkpointing %s failed", self._wal)
                    if conn is not None:
                        conn.close()
                        conn = None
        finally:
            if conn is not None:
                conn.close()
