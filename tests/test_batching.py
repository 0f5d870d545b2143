"""The SDK's client-side group commit (``threadline.client.batching.Batcher``): what callers on
several threads see when their items share requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from threadline.client.batching import Batcher


class Recorder:
    """A ``send`` that records each batch; the first batch is slow, so others queue behind it."""

    def __init__(self, first_delay: float = 0.05) -> None:
        self.batches: list[list[str]] = []
        self.first_delay = first_delay
        self.in_flight = threading.Event()

    def __call__(self, items: list[str]) -> Sequence[str | BaseException]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.in_flight.set()
            time.sleep(self.first_delay)
        return [ValueError(i) if i.startswith("bad") else i.upper() for i in items]


def run_threads(calls: list[Callable[[], object]], gap: float = 0.002) -> list[object]:
    """Start each call on its own thread, ``gap`` seconds apart; their results or exceptions."""
    results: list[object] = [None] * len(calls)

    def runner(i: int) -> None:
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
        time.sleep(gap)
    for thread in threads:
        thread.join(5)
    return results


def test_items_queued_behind_a_request_share_the_next_one_in_order() -> None:
    send = Recorder()
    batcher: Batcher[str, str] = Batcher(send)
    first = threading.Thread(target=batcher.submit, args=("a",))
    first.start()
    assert send.in_flight.wait(2)
    results = run_threads([lambda i=i: batcher.submit(i) for i in "bcde"])
    first.join(2)
    assert send.batches == [["a"], ["b", "c", "d", "e"]]
    assert results == ["B", "C", "D", "E"]


def test_each_caller_gets_its_own_outcome() -> None:
    send = Recorder()
    batcher: Batcher[str, str] = Batcher(send)
    first = threading.Thread(target=batcher.submit, args=("a",))
    first.start()
    assert send.in_flight.wait(2)
    results = run_threads([lambda i=i: batcher.submit(i) for i in ("b", "bad-c", "d")])
    first.join(2)
    assert send.batches[1] == ["b", "bad-c", "d"]
    assert results[0] == "B" and results[2] == "D"
    assert isinstance(results[1], ValueError) and str(results[1]) == "bad-c"


def test_a_failing_send_fails_its_batch_only() -> None:
    calls: list[list[str]] = []

    def send(items: list[str]) -> Sequence[str]:
        calls.append(items)
        if len(calls) == 1:
            raise ConnectionError("down")
        return [i.upper() for i in items]

    batcher: Batcher[str, str] = Batcher(send)
    with pytest.raises(ConnectionError):
        batcher.submit("a")
    assert batcher.submit("b") == "B"  # the batcher is not left busy


def test_a_lone_caller_is_sent_at_once() -> None:
    send = Recorder(first_delay=0)
    batcher: Batcher[str, str] = Batcher(send)
    assert [batcher.submit(i) for i in "abc"] == ["A", "B", "C"]
    assert send.batches == [["a"], ["b"], ["c"]]


def test_linger_waits_for_a_companion() -> None:
    send = Recorder(first_delay=0)
    batcher: Batcher[str, str] = Batcher(send)
    results = run_threads(
        [lambda: batcher.submit("w", linger=0.5), lambda: batcher.submit("p")], gap=0.01
    )
    assert results == ["W", "P"]
    assert send.batches == [["w", "p"]]
    started = time.perf_counter()
    assert batcher.submit("alone", linger=0.02) == "ALONE"  # nobody comes: sent after linger
    assert 0.015 < time.perf_counter() - started < 0.5


def test_batches_are_capped_by_count_and_weight() -> None:
    send = Recorder()
    batcher: Batcher[str, str] = Batcher(send, weight=len, max_items=3, max_weight=10)
    first = threading.Thread(target=batcher.submit, args=("a",))
    first.start()
    assert send.in_flight.wait(2)
    results = run_threads(
        [lambda i=i: batcher.submit(i) for i in ("b", "c", "d", "e", "ffffffffff", "g")]
    )
    first.join(2)
    assert send.batches == [["a"], ["b", "c", "d"], ["e"], ["ffffffffff"], ["g"]]
    assert results == ["B", "C", "D", "E", "FFFFFFFFFF", "G"]
