"""Literal AI ingestion benchmark: steps/s persisted through ``/api/graphql``, on SQLite.

Starts one server process on a fresh SQLite database (with ``core.py``'s ``LocalServer``) and
measures two rows:

1. **SDK decorators**: ``--threads`` threads of 20 steps each (one ``client.run`` holding 9
   ``client.step`` tool calls and 10 ``client.message`` messages) built with the real
   ``literalai`` SDK's decorators in one process, then ``client.flush()``. The SDK sends them from
   its single background thread in ``AddStep`` documents of 5 (its default ``batch_size``), with a
   new httpx connection per call; the figure is steps persisted (counted on the server
   afterwards) per second of wall time from the first decorator to the end of ``flush()``.
2. **ingestStep batches**: ``AddStep`` documents of ``--batch`` steps (the SDK's exact document
   text, built with its own query builder) posted with aiohttp at ``--concurrency`` for
   ``--duration`` seconds, 20 steps per thread. A response with GraphQL ``errors`` counts as an
   error; the persisted step count is checked against what was acknowledged.

The load generator's ceiling (``GET /livez``) is printed beside them, as in the other benches.

    .venv/bin/python bench/literal.py
    .venv/bin/python bench/literal.py --threads 100 --batch 200 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import LoadGenerator, LoadResult, Request
from core import LocalServer, cpu_seconds
from core import machine_busy_seconds as machine_busy

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from literalai import LiteralClient
    from literalai.api.helpers import gql

STEPS_PER_THREAD = 20
COUNT_STEPS = "query { steps(first: 1) { totalCount } }"


def sdk_workload(url: str, api_key: str, threads: int) -> tuple[float, int]:
    """Build ``threads`` threads of 20 steps with the SDK's decorators; (seconds, steps made)."""
    client = LiteralClient(api_key=api_key, url=url)

    @client.step(type="tool", name="lookup")
    def lookup(q: str, k: int) -> list[str]:
        return [q] * k

    @client.run(name="agent")
    def agent(question: str) -> str:
        for i in range(9):
            lookup(question, i)
        return "done"

    started = time.perf_counter()
    for n in range(threads):
        with client.thread(name=f"bench {n}"):
            for i in range(10):
                client.message(content=f"message {i}", type="user_message", name="user")
            agent("where is my refund?")
    client.flush()
    seconds = time.perf_counter() - started
    client.flush_and_stop()
    return seconds, threads * STEPS_PER_THREAD


def add_step_body(index: int, batch: int, run_id: str) -> bytes:
    """One ``AddStep`` document of ``batch`` steps, as the SDK sends it (``<field>_<i>``)."""
    steps: list[dict[str, Any]] = []
    for i in range(batch):
        n = index * batch + i
        thread = n // STEPS_PER_THREAD
        parent = f"{run_id}-{thread}-0" if n % STEPS_PER_THREAD else None
        step = {
            "id": f"{run_id}-{thread}-{n % STEPS_PER_THREAD}",
            "threadId": f"{run_id}-thread-{thread}",
            "parentId": parent,
            "type": "run" if parent is None else ("tool" if i % 2 else "assistant_message"),
            "name": "agent" if parent is None else "lookup",
            "startTime": "2025-01-01T00:00:00.000000Z",
            "endTime": "2025-01-01T00:00:01.000000Z",
            "input": {"content": f"input {n}", "k": i},
            "output": {"content": f"output {n}"},
            "metadata": {"bench": True},
            "tags": ["bench"],
            "scores": [],
            "attachments": [],
        }
        steps.append(step)
    variables = {
        f"{key}_{i}": value
        for i, step in enumerate(steps)
        for key, value in step.items()
        if value is not None
    }
    return orjson.dumps({"query": gql.steps_query_builder(steps), "variables": variables})


async def persisted_steps(gen: LoadGenerator) -> int:
    status, body = await gen.send(
        Request("POST", "/api/graphql", orjson.dumps({"query": COUNT_STEPS})), seconds=120
    )
    if status != 200:
        raise RuntimeError(f"counting steps failed: HTTP {status} {body[:200]!r}")
    return int(orjson.loads(body)["data"]["steps"]["totalCount"])


async def run(args: argparse.Namespace) -> None:
    api_key = "bench-" + secrets.token_hex(16)
    data_dir = Path(tempfile.mkdtemp(prefix="tl-literal-bench-"))
    server = LocalServer(data_dir, None, api_key)
    try:
        await server.start()
        pid = server.pid
        headers = {"x-api-key": api_key, "content-type": "application/json"}
        async with LoadGenerator(server.url, headers=headers) as gen:
            livez = await gen.run(
                lambda i: Request("GET", "/livez"), concurrency=args.concurrency, duration=3
            )

            before = await persisted_steps(gen)
            sdk_seconds, sdk_sent = await asyncio.to_thread(
                sdk_workload, server.url, api_key, args.threads
            )
            sdk_persisted = await persisted_steps(gen) - before

            run_id = uuid.uuid4().hex[:8]
            bad: list[bytes] = []

            def check(_: int, status: int, body: bytes) -> None:
                if status == 200 and b'"errors"' in body and len(bad) < 3:
                    bad.append(body[:300])

            warm = f"{run_id}w"
            await gen.run(
                lambda i: Request("POST", "/api/graphql", add_step_body(i, args.batch, warm)),
                concurrency=args.concurrency,
                duration=args.warmup,
            )
            before = await persisted_steps(gen)
            cpu_before, busy_before, started = cpu_seconds(pid), machine_busy(), time.perf_counter()
            ingest = await gen.run(
                lambda i: Request("POST", "/api/graphql", add_step_body(i, args.batch, run_id)),
                concurrency=args.concurrency,
                duration=args.duration,
                units_per_op=args.batch,
                on_response=check,
            )
            elapsed = time.perf_counter() - started
            server_cpu = (cpu_seconds(pid) - cpu_before) / elapsed
            machine = (machine_busy() - busy_before) / elapsed
            persisted = await persisted_steps(gen) - before
        print_table(args, livez, sdk_seconds, sdk_sent, sdk_persisted, ingest, persisted)
        print(f"ingest row: server cpu {server_cpu:.2f} cores, machine {machine:.2f} cores busy")
        for body in bad:
            print(f"    ! GraphQL errors: {body.decode('utf-8', 'replace')}")
        for line in ingest.error_summary():
            print(f"    ! {line}")
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def print_table(
    args: argparse.Namespace,
    livez: LoadResult,
    sdk_seconds: float,
    sdk_sent: int,
    sdk_persisted: int,
    ingest: LoadResult,
    persisted: int,
) -> None:
    print(
        f"SQLite, 1 server process; load generator ceiling (GET /livez, concurrency "
        f"{args.concurrency}): {livez.ops_per_s:,.0f} req/s; 1-min load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    header = f"{'row':<40}{'steps/s':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'persisted':>12}"
    print(header)
    print("-" * len(header))
    sdk_label = f"SDK decorators + flush ({args.threads} x 20)"
    print(
        f"{sdk_label:<40}{sdk_persisted / sdk_seconds:>10,.0f}{'':>9}{'':>9}{'':>9}"
        f"{f'{sdk_persisted}/{sdk_sent}':>12}"
    )
    acked = ingest.ok * args.batch
    ingest_label = f"ingestStep x{args.batch}, aiohttp c={args.concurrency}"
    print(
        f"{ingest_label:<40}{persisted / ingest.seconds:>10,.0f}{ingest.ops_per_s:>9,.0f}"
        f"{ingest.p50_ms:>9.1f}{ingest.p99_ms:>9.1f}{f'{persisted}/{acked}':>12}"
    )
    print(f"target: >= 10,000 steps/s for the ingestStep row; errors: {ingest.errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=100, help="threads for the SDK row")
    parser.add_argument("--batch", type=int, default=500, help="steps per AddStep document")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds (ingest)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds (ingest)")
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
