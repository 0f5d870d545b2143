"""A server killed with SIGKILL in the middle of batched ingest loses no acknowledged batch."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx

from tests.conftest import Tenant, start_server, stop_server

BATCH = 200


def _batch(n: int) -> dict[str, object]:
    return {
        "steps": [
            {
                "id": f"b{n}-s{i}",
                "thread_id": f"kill-{n % 7}",
                "type": "assistant_message",
                "output": {"content": "x" * 200, "i": i},
            }
            for i in range(BATCH)
        ]
    }


def test_sigkill_during_ingest_keeps_acknowledged_batches(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    server = start_server(database_url, tmp_path)
    acknowledged: list[int] = []
    lock = threading.Lock()
    counter = iter(range(10_000))
    stop = threading.Event()

    def sender() -> None:
        with httpx.Client(
            base_url=server.url, headers={"x-api-key": tenant.api_key}, timeout=10
        ) as http:
            while not stop.is_set():
                with lock:
                    n = next(counter)
                try:
                    response = http.post("/v1/steps/batch", json=_batch(n))
                except httpx.HTTPError:
                    return  # the server died mid-request: this batch was never acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged.append(n)

    workers = [threading.Thread(target=sender) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        while True:
            with lock:
                if len(acknowledged) >= 15:
                    break
            if not any(w.is_alive() for w in workers):
                raise AssertionError(f"senders stopped early: {server.log.read_text()[-2000:]}")
            threading.Event().wait(0.02)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
    finally:
        stop.set()
        for w in workers:
            w.join(15)
    with lock:
        acked = list(acknowledged)
        sent = next(counter)
    assert len(acked) >= 15

    revived = start_server(database_url, tmp_path)
    try:
        with httpx.Client(base_url=revived.url, headers={"x-api-key": tenant.api_key}) as http:
            for n in range(sent):
                found = http.post(
                    "/v1/steps/search",
                    json={
                        "filters": [
                            {
                                "field": "id",
                                "operator": "in",
                                "value": [f"b{n}-s{i}" for i in range(BATCH)],
                            }
                        ],
                        "limit": 1,
                        "include_total": True,
                    },
                ).json()["total_count"]
                if n in acked:
                    assert found == BATCH, f"acknowledged batch {n} lost rows ({found}/{BATCH})"
                else:
                    assert found in (0, BATCH), f"batch {n} half-written ({found}/{BATCH})"
    finally:
        stop_server(revived)
