"""LangGraph checkpointer benchmark: ThreadlineSaver against langgraph-checkpoint-sqlite's saver.

Each run is one thread's 20-step graph run: a StateGraph whose one node appends an AI message
(``add_messages``) and loops back to itself until it has run 20 times, so a run writes 22
checkpoints (input, ``__start__``, 20 steps) and 21 sets of pending writes. ``--threads`` runs
(200 by default) go through each saver, ``--concurrency`` at a time with ``ainvoke`` (the async
savers) and one at a time with ``invoke`` (the sync savers):

* local: ``AsyncSqliteSaver`` / ``SqliteSaver`` on a SQLite file in a temporary directory, in
  the benchmark's own process (no network, no server);
* threadline: ``ThreadlineSaver`` on one Threadline server process (``bench/core.py``'s
  ``LocalServer``) on a loopback port, on SQLite by default (``--backend postgres`` for the
  scratch database named by ``--pg-url``, dropped and re-created first).

It prints runs/s for both and the ratio: what the network hop to the server costs.

    .venv/bin/python bench/checkpointer.py
    .venv/bin/python bench/checkpointer.py --threads 50 --modes async
    .venv/bin/python bench/checkpointer.py --backend postgres
"""

# ruff: noqa: E402 (bench/ leaves the path before langgraph is imported: see below)
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

# bench/langgraph.py would shadow the (namespace) langgraph package wherever this folder is on
# the path: it is added only once langgraph is imported
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from threadline import AsyncClient, Client
from threadline.langgraph import ThreadlineSaver

sys.path.append(str(_HERE))
from core import LocalServer, cpu_seconds

STEPS = 20
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/threadline_bench"


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    count: int


def step(state: State) -> dict[str, Any]:
    count = state.get("count", 0) + 1
    return {"count": count, "messages": [AIMessage(f"step {count}", id=f"m{count}")]}


def build(saver: BaseCheckpointSaver[Any]) -> Any:
    graph = StateGraph(State)
    graph.add_node("step", step)
    graph.add_edge(START, "step")
    graph.add_conditional_edges("step", lambda s: "step" if s["count"] < STEPS else END)
    return graph.compile(checkpointer=saver)


def run_input() -> dict[str, Any]:
    return {"messages": [HumanMessage("go", id="m0")], "count": 0}


class Result:
    def __init__(self, seconds: float, latencies: list[float], server_cpu: float | None) -> None:
        self.seconds = seconds
        self.latencies = latencies
        self.server_cpu = server_cpu

    @property
    def runs_per_s(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000


async def run_async(graph: Any, threads: int, concurrency: int, pid: int | None) -> Result:
    ids = [str(uuid.uuid4()) for _ in range(threads)]
    latencies: list[float] = []
    queue = list(reversed(ids))

    async def worker() -> None:
        while queue:
            thread_id = queue.pop()
            started = time.perf_counter()
            out = await graph.ainvoke(run_input(), {"configurable": {"thread_id": thread_id}})
            assert out["count"] == STEPS and len(out["messages"]) == STEPS + 1
            latencies.append(time.perf_counter() - started)

    await graph.ainvoke(run_input(), {"configurable": {"thread_id": str(uuid.uuid4())}})  # warm
    cpu_before = cpu_seconds(pid) if pid else 0.0
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu = (cpu_seconds(pid) - cpu_before) / elapsed if pid else None
    return Result(elapsed, latencies, cpu)


def run_sync(graph: Any, threads: int, pid: int | None) -> Result:
    latencies: list[float] = []
    graph.invoke(run_input(), {"configurable": {"thread_id": str(uuid.uuid4())}})  # warm up
    cpu_before = cpu_seconds(pid) if pid else 0.0
    started = time.perf_counter()
    for _ in range(threads):
        begun = time.perf_counter()
        out = graph.invoke(run_input(), {"configurable": {"thread_id": str(uuid.uuid4())}})
        assert out["count"] == STEPS
        latencies.append(time.perf_counter() - begun)
    elapsed = time.perf_counter() - started
    cpu = (cpu_seconds(pid) - cpu_before) / elapsed if pid else None
    return Result(elapsed, latencies, cpu)


async def reset_postgres(url: str) -> None:
    import asyncpg

    base, name = url.rsplit("/", 1)
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=200, help="runs (one thread each)")
    parser.add_argument("--concurrency", type=int, default=8, help="runs at once (async)")
    parser.add_argument("--modes", default="async,sync", help="async, sync or both")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("THREADLINE_BENCH_PG_URL", DEFAULT_PG))
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    data_dir = Path(tempfile.mkdtemp(prefix="tl-cp-bench-"))
    api_key = "bench-" + secrets.token_hex(16)
    database_url = None
    if args.backend == "postgres":
        await reset_postgres(args.pg_url)
        database_url = args.pg_url
    server = LocalServer(data_dir, database_url, api_key)
    await server.start()
    rows: list[tuple[str, str, Result]] = []
    try:
        for mode in modes:
            label = (
                f"ainvoke, {args.concurrency} at once" if mode == "async" else "invoke, 1 at once"
            )
            local_file = str(data_dir / f"local-{mode}.db")
            if mode == "async":
                async with AsyncSqliteSaver.from_conn_string(local_file) as local:
                    await local.setup()
                    result = await run_async(build(local), args.threads, args.concurrency, None)
                rows.append(("local SQLite saver", label, result))
                remote = ThreadlineSaver(client=AsyncClient(server.url, api_key))
                graph = build(remote)
                result = await run_async(graph, args.threads, args.concurrency, server.pid)
                rows.append((f"ThreadlineSaver ({args.backend})", label, result))
                await remote.aclose()
            else:
                with SqliteSaver.from_conn_string(local_file) as sync_local:
                    sync_local.setup()
                    result = run_sync(build(sync_local), args.threads, None)
                rows.append(("local SQLite saver", label, result))
                with Client(server.url, api_key) as client:
                    sync_remote = ThreadlineSaver(client=client)
                    result = run_sync(build(sync_remote), args.threads, server.pid)
                rows.append((f"ThreadlineSaver ({args.backend})", label, result))
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    print(
        f"\n{args.threads} runs of a {STEPS}-step graph (22 checkpoints, 21 write sets each); "
        f"1 server process; {os.cpu_count()} cores, 1-min load average {os.getloadavg()[0]:.1f}"
    )
    header = (
        f"{'saver':<28}{'mode':<24}{'runs/s':>9}{'steps/s':>10}{'p50 ms/run':>12}"
        f"{'srv cpu':>9}{'local/it':>10}"
    )
    print(header)
    print("-" * len(header))
    local_rate: dict[str, float] = {}
    for saver, mode, result in rows:
        if saver.startswith("local"):
            local_rate[mode] = result.runs_per_s
        ratio = local_rate[mode] / result.runs_per_s
        cpu = f"{result.server_cpu:.2f}" if result.server_cpu is not None else "-"
        print(
            f"{saver:<28}{mode:<24}{result.runs_per_s:>9.1f}{result.runs_per_s * STEPS:>10.0f}"
            f"{result.p50_ms:>12.1f}{cpu:>9}{ratio:>9.2f}x"
        )
    print(
        "local/it: the local saver's runs/s over this row's (target for ThreadlineSaver: < 3x); "
        "srv cpu: cores busy in the server process"
    )


if __name__ == "__main__":
    asyncio.run(main())
