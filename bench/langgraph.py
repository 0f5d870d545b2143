"""LangGraph threads API benchmark: the requests langgraph-sdk sends, driven by aiohttp.

For each size (2,000 and 20,000 threads by default; add 200000 with ``--sizes``) it builds a fresh
SQLite database, seeds it through the storage layer (threads with ``{"user_id", "channel", "n",
"graph_id"}`` metadata, 1,000 users; the first 1,000 threads get three checkpoints each), starts
one server process, and measures each operation for ``--duration`` seconds at ``--concurrency``
with the load generator in ``_load.py`` (langgraph-sdk's own httpx client tops out near 650
req/s here, whatever the server, so the bodies it sends are replayed with aiohttp instead).
It prints the table with LangGraph's reference figures beside it: the ones recorded in issue 3,
or, with ``--reference-url``, figures measured in the same run on a reference server started as
``../shared/reference/langgraph-reference-server.md`` says (a fresh ``langgraph dev``). The
reference is then topped up through its API to each size up to ``--reference-max`` (its threads
carry ``graph_id`` ``echo``, a graph of that project with the same ``messages`` reducer) and
measured with the same requests, so that both columns come from the same machine and minute.

    .venv/bin/python bench/langgraph.py
    .venv/bin/python bench/langgraph.py --sizes 2000,20000,200000 --duration 5
    .venv/bin/python bench/langgraph.py --sizes 2000 --ops get,search --duration 2
    .venv/bin/python bench/langgraph.py --reference-url http://127.0.0.1:28124 \
        --reference-pid "$(cat $REF/server.pid)"

Read rows run before write rows, so that every read sees exactly N threads; the table keeps
the reference's order.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import LoadGenerator, LoadResult, Request
from core import LocalServer, cpu_seconds
from core import machine_busy_seconds as machine_busy

USERS = 1000
CHANNELS = ("web", "slack", "email", "api", "mobile")
STATE_THREADS = 1000  # threads given checkpoints, read by get_state / get_history
SEED_BATCH = 1000
REDUCERS = '{"agent": {"messages": "add_messages"}}'

# LangGraph's in-memory reference server (`langgraph dev`), 2 cores, 2,000 threads, measured with
# the same aiohttp driver (issue 3); its search is a linear scan: ~25/s at 20,000 threads.
REFERENCE = {
    "create": 1347,
    "get": 1675,
    "update": 1051,
    "search": 648,
    "count": 910,
    "update_state": 528,
    "get_state": 1032,
    "get_history": 703,
}
REFERENCE_SEARCH_20K = 25
REFERENCE_GRAPH = "echo"  # a graph of ../shared/reference/langgraph-reference/langgraph.json
ORDER = list(REFERENCE)
READS = ("get", "search", "count", "get_state", "get_history")
WRITES = ("update", "update_state", "create")


def metadata(rng: random.Random, n: int, graph: str = "agent") -> dict[str, Any]:
    return {
        "user_id": f"u{rng.randrange(USERS)}",
        "channel": rng.choice(CHANNELS),
        "n": n,
        "graph_id": graph,
    }


async def seed(db_url: str, api_key: str, size: int) -> tuple[list[str], list[str], float]:
    """Insert ``size`` threads and give the first STATE_THREADS three checkpoints each."""
    from threadline.core.service import Service
    from threadline.core.state_service import StateService
    from threadline.storage import threads
    from threadline.storage.database import Database

    started = time.perf_counter()
    rng = random.Random(size)
    db = Database.create(db_url)
    ids: list[str] = []
    try:
        await db.run_migrations()
        project, _ = await Service(db).bootstrap(api_key)
        project_id = project["id"]
        base = datetime.now(UTC) - timedelta(seconds=size)

        def insert(conn: Any, rows: list[dict[str, Any]]) -> list[str]:
            return [threads.insert_row(conn, project_id, row) for row in rows]

        for first in range(0, size, SEED_BATCH):
            rows = [
                {
                    "id": str(_uuid(rng)),
                    "metadata": metadata(rng, k),
                    "config": {},
                    "created_at": base + timedelta(seconds=k),
                }
                for k in range(first, min(first + SEED_BATCH, size))
            ]
            ids.extend(await db.write(insert, rows))
        states = StateService(db, reducers={"agent": {"messages": "add_messages"}})
        with_state = ids[:STATE_THREADS]
        for turn in range(3):
            await asyncio.gather(
                *(
                    states.update_state(
                        project_id,
                        tid,
                        values={"messages": [{"role": "user", "content": f"turn {turn}"}]},
                        as_node="agent",
                    )
                    for tid in with_state
                )
            )
    finally:
        await db.close()
    return ids, ids[:STATE_THREADS], time.perf_counter() - started


def _uuid(rng: random.Random) -> Any:
    import uuid

    return uuid.UUID(int=rng.getrandbits(128), version=4)


def factories(
    ids: list[str], state_ids: list[str], seed: int, graph: str = "agent"
) -> dict[str, Callable[[int], Request]]:
    """The request each operation sends, as langgraph-sdk 0.4.14 encodes it."""
    rng = random.Random(seed)
    pick = lambda pool: pool[rng.randrange(len(pool))]  # noqa: E731

    def body(data: Any) -> bytes:
        return orjson.dumps(data)

    def create(i: int) -> Request:
        meta = {"user_id": f"u{rng.randrange(USERS)}", "channel": "web", "graph_id": graph}
        return Request("POST", "/threads", body({"metadata": meta}))

    def get(i: int) -> Request:
        return Request("GET", f"/threads/{pick(ids)}")

    def update(i: int) -> Request:
        return Request("PATCH", f"/threads/{pick(ids)}", body({"metadata": {"seen": i}}))

    def search(i: int) -> Request:
        query = {"limit": 10, "offset": 0, "metadata": {"user_id": f"u{rng.randrange(USERS)}"}}
        return Request("POST", "/threads/search", body(query))

    def count(i: int) -> Request:
        query = {"metadata": {"user_id": f"u{rng.randrange(USERS)}"}}
        return Request("POST", "/threads/count", body(query))

    def update_state(i: int) -> Request:
        values = {"messages": [{"role": "user", "content": f"message {i}"}], "counter": i}
        return Request(
            "POST",
            f"/threads/{pick(state_ids)}/state",
            body({"values": values, "as_node": graph}),
        )

    def get_state(i: int) -> Request:
        return Request("GET", f"/threads/{pick(state_ids)}/state?subgraphs=false")

    def get_history(i: int) -> Request:
        return Request("POST", f"/threads/{pick(state_ids)}/history", body({"limit": 10}))

    return {
        "create": create,
        "get": get,
        "update": update,
        "search": search,
        "count": count,
        "update_state": update_state,
        "get_state": get_state,
        "get_history": get_history,
    }


async def measure(
    gen: LoadGenerator,
    factory: Callable[[int], Request],
    pid: int | None,
    *,
    duration: float,
    warmup: float,
    concurrency: int,
) -> tuple[LoadResult, float, float]:
    if warmup > 0:
        await gen.run(factory, concurrency=concurrency, duration=warmup)
    cpu_before, busy_before, started = cpu_seconds(pid), machine_busy(), time.perf_counter()
    result = await gen.run(factory, concurrency=concurrency, duration=duration)
    elapsed = time.perf_counter() - started
    server_cpu = (cpu_seconds(pid) - cpu_before) / elapsed
    machine = (machine_busy() - busy_before) / elapsed
    return result, server_cpu, machine


async def run_size(size: int, args: argparse.Namespace) -> Rows:
    api_key = "bench-" + secrets.token_hex(16)
    data_dir = Path(tempfile.mkdtemp(prefix=f"tl-lg-bench-{size}-"))
    try:
        db_url = f"sqlite:///{data_dir / 'threadline.db'}"
        ids, state_ids, seeded = await seed(db_url, api_key, size)
        print(f"\nN = {size:,} threads: seeded in {seeded:.1f} s", flush=True)
        server = LocalServer(data_dir, None, api_key, {"THREADLINE_LANGGRAPH_REDUCERS": REDUCERS})
        await server.start()
        assert server.process is not None
        try:
            headers = {"x-api-key": api_key, "user-agent": "langgraph-sdk-py/0.4.14"}
            return await measure_all(
                server.url, headers, server.process.pid, factories(ids, state_ids, size), args
            )
        finally:
            server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


Rows = dict[str, tuple[LoadResult, float, float]]


async def measure_all(
    url: str,
    headers: dict[str, str],
    pid: int | None,
    make: dict[str, Callable[[int], Request]],
    args: argparse.Namespace,
    ceiling_path: str = "/livez",
) -> Rows:
    """The load generator's ceiling on a trivial path (``ceiling`` row), then every operation."""
    async with LoadGenerator(url, headers=headers) as gen:
        rows: Rows = {
            "ceiling": await measure(
                gen,
                lambda i: Request("GET", ceiling_path),
                pid,
                duration=min(args.duration, 3),
                warmup=0.5,
                concurrency=args.concurrency,
            )
        }
        for op in (*READS, *WRITES):
            if op in args.ops:
                rows[op] = await measure(
                    gen,
                    make[op],
                    pid,
                    duration=args.duration,
                    warmup=args.warmup,
                    concurrency=args.concurrency,
                )
    return rows


class Reference:
    """A running LangGraph reference server, topped up through its API to each size."""

    def __init__(self, url: str, pid: int | None) -> None:
        self.url = url
        self.pid = pid
        self.ids: list[str] = []
        self.state_ids: list[str] = []

    async def top_up(self, size: int, concurrency: int) -> float:
        started = time.perf_counter()
        rng = random.Random(size)
        async with LoadGenerator(self.url) as gen:
            queue = iter(range(len(self.ids), size))

            async def worker() -> None:
                for k in queue:
                    body = orjson.dumps({"metadata": metadata(rng, k, REFERENCE_GRAPH)})
                    _, answer = await gen.send(Request("POST", "/threads", body))
                    self.ids.append(orjson.loads(answer)["thread_id"])

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            if not self.state_ids:
                self.state_ids = self.ids[:STATE_THREADS]
                for turn in range(3):
                    turns = iter(self.state_ids)

                    async def update(turn: int = turn, turns: Any = turns) -> None:
                        for tid in turns:
                            values = {"messages": [{"role": "user", "content": f"turn {turn}"}]}
                            body = orjson.dumps({"values": values, "as_node": REFERENCE_GRAPH})
                            await gen.send(Request("POST", f"/threads/{tid}/state", body))

                    await asyncio.gather(*(update() for _ in range(concurrency)))
        return time.perf_counter() - started

    async def measure(self, size: int, args: argparse.Namespace) -> Rows:
        seconds = await self.top_up(size, args.concurrency)
        print(f"reference at {size:,} threads: topped up in {seconds:.1f} s", flush=True)
        make = factories(self.ids, self.state_ids, size, graph=REFERENCE_GRAPH)
        return await measure_all(self.url, {}, self.pid, make, args, ceiling_path="/ok")


def print_table(size: int, rows: Rows, reference: Rows | None) -> None:
    ceiling = rows["ceiling"][0]
    print(
        f"SQLite, 1 server process, concurrency 16; load generator ceiling (GET /livez): "
        f"{ceiling.ops_per_s:,.0f}/s; 1-min load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    header = (
        f"{'operation':<14}{'ops/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'srv cpu':>9}{'machine':>9}{'reference':>11}{'x ref':>8}"
    )
    print(header)
    print("-" * len(header))
    for op in ORDER:
        if op not in rows:
            continue
        result, server_cpu, machine = rows[op]
        ref: float | None = None
        if reference is not None and op in reference:
            ref = reference[op][0].ops_per_s
        elif size == 2000:
            ref = REFERENCE[op]
        elif op == "search" and size == 20000:
            ref = REFERENCE_SEARCH_20K
        ref_text = f"{ref:,.0f}" if ref else "-"
        ratio = f"{result.ops_per_s / ref:.1f}x" if ref else ""
        print(
            f"{op:<14}{result.ops_per_s:>9,.0f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
            f"{result.errors:>8}{server_cpu:>9.2f}{machine:>9.2f}{ref_text:>11}{ratio:>8}"
        )
        for line in result.error_summary():
            print(f"    ! {line}")
    if reference is not None:
        ref_ceiling = reference["ceiling"][0]
        print(
            f"reference: measured now on the LangGraph server at {size:,} threads (its GET /ok: "
            f"{ref_ceiling.ops_per_s:,.0f}/s)"
        )
        for op in ORDER:
            if op in reference:
                result, server_cpu, _ = reference[op]
                errors = f", {result.errors} errors" if result.errors else ""
                print(
                    f"    {op:<14}{result.ops_per_s:>9,.0f}/s  p50 {result.p50_ms:.2f} "
                    f"p99 {result.p99_ms:.2f} ms  srv cpu {server_cpu:.2f}{errors}"
                )
                for line in result.error_summary():
                    print(f"    ! {line}")
    else:
        print(
            "reference: LangGraph's in-memory server at 2,000 threads as issue 3 records it "
            "(search ~25/s at 20,000)"
        )
    print("srv cpu / machine: cores busy in the server / in the whole machine")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,20000", help="comma-separated thread counts")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per row")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per row")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--ops", default=",".join(ORDER), help="operations to measure")
    parser.add_argument(
        "--reference-url", help="a fresh LangGraph reference server to measure beside Threadline"
    )
    parser.add_argument("--reference-pid", type=int, help="its process id, to show its CPU")
    parser.add_argument(
        "--reference-max",
        type=int,
        default=20000,
        help="measure the reference only up to this size (its search is a linear scan)",
    )
    args = parser.parse_args()
    args.ops = set(args.ops.split(","))
    unknown = args.ops - set(ORDER)
    if unknown:
        raise SystemExit(f"unknown operations: {', '.join(sorted(unknown))}")
    reference = Reference(args.reference_url, args.reference_pid) if args.reference_url else None
    results: dict[int, dict[str, float]] = {}
    for size in sorted(int(s) for s in args.sizes.split(",")):
        rows = await run_size(size, args)
        ref_rows = None
        if reference is not None and size <= args.reference_max:
            ref_rows = await reference.measure(size, args)
        print_table(size, rows, ref_rows)
        results[size] = {op: row[0].ops_per_s for op, row in rows.items()}
    if len(results) > 1:
        sizes = sorted(results)
        print("\nflatness: ops/s at each size relative to the smallest")
        print(f"{'operation':<14}" + "".join(f"{s:>12,}" for s in sizes))
        for op in ORDER:
            if op in results[sizes[0]]:
                base = results[sizes[0]][op]
                cells = "".join(f"{results[s][op] / base:>12.2f}" for s in sizes)
                print(f"{op:<14}{cells}")


if __name__ == "__main__":
    asyncio.run(main())
