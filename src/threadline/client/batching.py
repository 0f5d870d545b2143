"""Client-side group commit for blocking calls made from several threads at once.

A caller hands :meth:`Batcher.submit` one item and blocks until it is sent. One batch is in
flight at a time: items submitted meanwhile queue up, and the next batch carries all of them, in
order. A caller that finds nothing in flight sends its batch itself; when a batch returns, the
oldest queued caller is woken to send the next one. Under concurrency this turns N round trips
(and N commits on the server) into about one, while a lone caller pays nothing extra.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batcher"]

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "item", "lead", "linger", "outcome", "weight")

    def __init__(self, item: T, weight: int, linger: float) -> None:
        self.item = item
        self.weight = weight
        self.linger = linger
        self.done = threading.Event()
        self.lead = False
        self.outcome: R | BaseException | None = None


class Batcher(Generic[T, R]):
    """Sends submitted items in batches through ``send``, which gets the items in submission
    order and returns one outcome per item (its result, or the exception its caller raises).
    A batch holds at most ``max_items`` items and, past its first item, at most ``max_weight``
    in ``weight`` (e.g. bytes)."""

    def __init__(
        self,
        send: Callable[[list[T]], Sequence[R | BaseException]],
        *,
        weight: Callable[[T], int] = lambda _: 1,
        max_items: int = 256,
        max_weight: int = 8 * 1024 * 1024,
    ) -> None:
        self._send = send
        self._weight = weight
        self._max_items = max_items
        self._max_weight = max_weight
        self._lock = threading.Lock()
        self._queue: list[_Slot[T, R]] = []
        self._busy = False  # a batch is in flight (the queue is empty whenever this is False)
        self._arrived = threading.Condition(self._lock)  # notified on every submit

    def submit(
        self, item: T, *, queued: Callable[[], None] | None = None, linger: float = 0.0
    ) -> R:
        """Send ``item`` (in a batch with whatever else is queued) and return its outcome.
        ``queued`` is called once the item has its place in the order, before it is sent.
        ``linger``: when the item heads the queue alone as its batch is sent, wait up to this
        many seconds for another item to share the request (for an item that is usually
        followed at once by another)."""
        slot: _Slot[T, R] = _Slot(item, self._weight(item), linger)
        with self._lock:
            self._queue.append(slot)
            slot.lead = not self._busy
            self._busy = True
            self._arrived.notify_all()
        if queued is not None:
            queued()
        if not slot.lead:
            slot.done.wait()
        if slot.lead:  # first in line: send a batch headed by this item
            self._send_next()
        if isinstance(slot.outcome, BaseException):
            raise slot.outcome
        return slot.outcome  # type: ignore[return-value]

    def _send_next(self) -> None:
        with self._lock:
            head = self._queue[0]
            if head.linger > 0 and len(self._queue) == 1:
                self._arrived.wait_for(lambda: len(self._queue) > 1, head.linger)
            count, weight = 0, 0
            for slot in self._queue:
                if count and (count >= self._max_items or weight + slot.weight > self._max_weight):
                    break
                count += 1
                weight += slot.weight
            batch, self._queue = self._queue[:count], self._queue[count:]
        try:
            outcomes: Sequence[R | BaseException] = self._send([s.item for s in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(outcomes)} outcomes for a batch of {len(batch)}")
        except BaseException as exc:  # send itself failed: every caller in the batch sees it
            outcomes = [exc] * len(batch)
        finally:
            with self._lock:  # hand the next batch to the oldest waiting caller
                if self._queue:
                    head = self._queue[0]
                    head.lead = True
                    head.done.set()
                else:
                    self._busy = False
        for slot, outcome in zip(batch, outcomes, strict=True):
            slot.lead = False
            slot.outcome = outcome
            slot.done.set()
