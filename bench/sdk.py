"""How fast the SDK clients can talk to a server: the client must not be the bottleneck.

Starts a Threadline server on SQLite (or uses --url/--api-key), creates one thread, then measures
``threads.get`` (no steps) and ``threads.create`` with:

* the aiohttp load generator (the ceiling: what the server answers at all),
* ``threadline.AsyncClient`` (httpx API over the httpx-aiohttp transport), concurrency C,
* ``threadline.AsyncClient`` forced onto httpx's own async pool, concurrency C (the alternative),
* ``threadline.Client`` (sync), sequential, one thread.

Run: ``python bench/sdk.py [--duration 5] [--concurrency 16]``. Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import LoadGenerator, Request, percentile
from core import LocalServer
from threadline import AsyncClient, Client


def row(
    name: str, op: str, latencies: list[float], seconds: float
) -> tuple[str, str, float, float, float]:
    latencies.sort()
    return (
        name,
        op,
        len(latencies) / seconds,
        percentile(latencies, 50),
        percentile(latencies, 99),
    )


async def closed_loop(
    call: Callable[[], Awaitable[Any]], concurrency: int, duration: float
) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start


async def measure(url: str, key: str, duration: float, concurrency: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    with Client(url, key) as sync:
        thread_id = sync.threads.create(name="bench").id

    async with LoadGenerator(url, headers={"x-api-key": key}) as gen:
        for op, factory in (
            ("livez", lambda i: Request("GET", "/livez")),
            (
                "threads.get",
                lambda i: Request("GET", f"/v1/threads/{thread_id}?include_steps=false"),
            ),
        ):
            result = await gen.run(factory, concurrency=concurrency, duration=duration)
            rows.append(("aiohttp (ceiling)", op, result.ops_per_s, result.p50_ms, result.p99_ms))

    clients = {
        "AsyncClient (httpx-aiohttp)": lambda: AsyncClient(url, key),
        "AsyncClient (httpx pool)": lambda: AsyncClient(
            url,
            key,
            http_client=httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)),
        ),
    }
    for name, make in clients.items():
        async with make() as client:
            for op, call in (
                ("threads.get", lambda c=client: c.threads.get(thread_id, include_steps=False)),
                ("threads.create", lambda c=client: c.threads.create(metadata={"b": 1})),
            ):
                latencies, seconds = await closed_loop(call, concurrency, duration)
                rows.append(row(name, op, latencies, seconds))

    with Client(url, key) as client:
        for op, sync_call in (
            ("threads.get", lambda: client.threads.get(thread_id, include_steps=False)),
            ("threads.create", lambda: client.threads.create(metadata={"b": 1})),
        ):
            latencies = []
            start = time.perf_counter()
            while time.perf_counter() - start < duration:
                t0 = time.perf_counter()
                sync_call()
                latencies.append((time.perf_counter() - t0) * 1000)
            rows.append(
                row("Client (sync, sequential)", op, latencies, time.perf_counter() - start)
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url")
    parser.add_argument("--api-key")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    server = None
    url, key = args.url, args.api_key
    tmp = tempfile.TemporaryDirectory()
    if url is None:
        key = "bench-" + secrets.token_hex(16)
        server = LocalServer(Path(tmp.name), None, key)
        asyncio.run(server.start())
        url = server.url
    try:
        rows = asyncio.run(measure(url, key, args.duration, args.concurrency))
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()
    print(f"\nSDK clients against {url} (concurrency {args.concurrency} for async clients)")
    print(f"{'client':<30} {'operation':<16} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, op, ops, p50, p99 in rows:
        print(f"{name:<30} {op:<16} {ops:>9.0f} {p50:>8.2f} {p99:>8.2f}")


if __name__ == "__main__":
    main()
