"""Tyler's save pattern: a 200-message conversation saved after every message.

Compares ``threadline.narrator.ThreadlineThreadStore`` (through a Threadline server on a loopback
port: HTTP, JSON, the server's own transaction per save) with narrator's own ``ThreadStore`` on
SQLite (in-process, no network). Tyler calls ``save`` after every message; narrator rewrites
every message row on each save, Threadline sends only the new or changed messages.

Each conversation alternates user and assistant messages (with model metrics); every fifth
assistant message calls a tool, and the tool result is added in the same turn. After the run the
two stores' copies of each conversation are compared.

Run: ``python bench/tyler.py [--messages 200] [--conversations 3]``; add ``--pg-url
postgresql://postgres@127.0.0.1:5432/postgres`` to also run both on PostgreSQL (a scratch
database is created and dropped). Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from narrator import Message, Thread, ThreadStore

from threadline.narrator import ThreadlineThreadStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    data_dir: str, key: str, database_url: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "THREADLINE_DATA_DIR": data_dir, "THREADLINE_BOOTSTRAP_API_KEY": key}
    env.pop("THREADLINE_DATABASE_URL", None)
    if database_url:
        env["THREADLINE_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "threadline.api.app:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


def script(n: int, seed: int) -> list[tuple[Message, bool]]:
    """The messages of one conversation and whether each joins the previous turn."""
    out: list[tuple[Message, bool]] = []
    i = 0
    while len(out) < n:
        out.append(
            (
                Message(
                    role="user",
                    content=f"Question {i} of conversation {seed}: " + "lorem ipsum " * 12,
                ),
                False,
            )
        )
        if i % 5 == 4 and len(out) + 2 < n:
            call = {
                "id": f"call-{seed}-{i}",
                "type": "function",
                "function": {"name": "search", "arguments": '{"q": "x"}'},
            }
            out.append(
                (
                    Message(role="assistant", content="", tool_calls=[call], metrics=metrics(i)),
                    False,
                )
            )
            out.append(
                (
                    Message(
                        role="tool", name="search", tool_call_id=call["id"], content="result " * 30
                    ),
                    True,
                )
            )
        out.append(
            (
                Message(
                    role="assistant",
                    content=f"Answer {i}: " + "dolor sit amet " * 15,
                    metrics=metrics(i),
                ),
                False,
            )
        )
        i += 1
    return out[:n]


def metrics(i: int) -> dict[str, Any]:
    return {
        "model": "gpt-4.1",
        "timing": {"started_at": None, "ended_at": None, "latency": 200 + i},
        "usage": {"completion_tokens": 50, "prompt_tokens": 400 + i, "total_tokens": 450 + i},
        "weave_call": {"id": "", "ui_url": ""},
    }


async def run(
    store: ThreadStore, conversations: int, messages: int
) -> tuple[list[float], list[str]]:
    """Save after every message; returns each save's seconds and the thread ids."""
    timings: list[float] = []
    ids: list[str] = []
    for c in range(conversations):
        thread = Thread(title=f"bench {c}", attributes={"bench": True})
        thread.add_message(Message(role="system", content="You are a helpful agent."))
        ids.append(thread.id)
        for message, same_turn in script(messages, c):
            thread.add_message(message, same_turn=same_turn)
            start = time.perf_counter()
            await store.save(thread)
            timings.append(time.perf_counter() - start)
    return timings, ids


def summary(name: str, timings: list[float], per_conversation: int) -> tuple[Any, ...]:
    ordered = sorted(timings)
    total = sum(timings)
    tail = [t for i, t in enumerate(timings) if i % per_conversation >= per_conversation - 20]
    return (
        name,
        len(timings),
        total,
        len(timings) / total,
        statistics.median(ordered) * 1000,
        ordered[int(0.99 * (len(ordered) - 1))] * 1000,
        statistics.mean(tail) * 1000,
    )


def view(thread: Thread | None) -> Any:
    assert thread is not None
    return [(m.id, m.role, m.sequence, m.turn, m.content) for m in thread.messages]


async def compare(
    name: str, threadline_url: str, key: str, narrator_url: str, args: argparse.Namespace
) -> list[tuple[Any, ...]]:
    ours = ThreadlineThreadStore(threadline_url, key)
    theirs = await ThreadStore.create(narrator_url)
    rows = []
    try:
        await ours.initialize()
        ours_t, ours_ids = await run(ours, args.conversations, args.messages)
        theirs_t, theirs_ids = await run(theirs, args.conversations, args.messages)
        rows.append(summary(f"threadline ThreadlineThreadStore ({name})", ours_t, args.messages))
        rows.append(summary(f"narrator ThreadStore ({name})", theirs_t, args.messages))
        # same conversation content in both (ids differ: each message hashes its timestamp)
        for a, b in zip(ours_ids, theirs_ids, strict=True):
            got_ours, got_theirs = view(await ours.get(a)), view(await theirs.get(b))
            assert [x[1:] for x in got_ours] == [x[1:] for x in got_theirs], "stores disagree"
            assert len(got_ours) == args.messages
    finally:
        await ours.aclose()
        await theirs._backend.engine.dispose()
    return rows


def pg_admin(url: str, statement: str) -> None:
    import asyncpg

    parts = httpx.URL(url.replace("postgresql://", "http://", 1))

    async def go() -> None:
        conn = await asyncpg.connect(
            host=parts.host,
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            database=parts.path.lstrip("/") or "postgres",
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=3)
    parser.add_argument("--pg-url", default=None, help="also run both stores on PostgreSQL")
    args = parser.parse_args()
    rows: list[tuple[Any, ...]] = []
    key = "bench-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(tmp, key, None)
        try:
            rows += asyncio.run(
                compare(
                    "sqlite", url, key, f"sqlite+aiosqlite:///{Path(tmp) / 'narrator.db'}", args
                )
            )
        finally:
            process.terminate()
            process.wait(10)
        if args.pg_url:
            names = [f"tyler_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
            base = args.pg_url.rsplit("/", 1)[0]
            for name in names:
                pg_admin(args.pg_url, f'CREATE DATABASE "{name}"')
            process, url = start_server(tmp, key, f"{base}/{names[0]}")
            try:
                narrator_url = f"{base}/{names[1]}".replace(
                    "postgresql://", "postgresql+asyncpg://", 1
                )
                rows += asyncio.run(compare("postgres", url, key, narrator_url, args))
            finally:
                process.terminate()
                process.wait(10)
                for name in names:
                    pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    n, m = args.conversations, args.messages
    print(f"\n{n} conversations x {m} messages, saved after every message\n")
    header = ("store", "saves", "seconds", "saves/s", "p50 ms", "p99 ms", "last 20 ms")
    print(
        f"{header[0]:<46}{header[1]:>7}{header[2]:>9}{header[3]:>9}{header[4]:>8}{header[5]:>8}{header[6]:>11}"
    )
    for name, saves, seconds, rate, p50, p99, tail in rows:
        print(f"{name:<46}{saves:>7}{seconds:>9.2f}{rate:>9.1f}{p50:>8.2f}{p99:>8.2f}{tail:>11.2f}")


if __name__ == "__main__":
    main()
