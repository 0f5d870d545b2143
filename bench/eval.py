"""Evaluation benchmark: scores created per second (batched) and prompt get-or-create latency.

For each backend (SQLite, PostgreSQL) it starts one server process on a fresh database (the
server helpers of ``core.py``), seeds a thread with steps to score and a prompt, then measures
with the aiohttp load generator of ``_load.py``:

* ``scores batch``: ``POST /v1/scores/batch`` with ``--batch`` scores per request (scores/s),
* ``scores single``: ``POST /v1/scores``, one score per request,
* ``prompt get_or_create``: ``POST /v1/prompts/get-or-create`` with content that exists (the
  call an app makes at start-up or per request), at concurrency 1 and at ``--concurrency``,
* ``prompt by name (A/B)``: ``GET /v1/prompts/by-name/{name}?thread_id=...`` with a 50/50
  rollout (the server-side sticky pick).

The goal checked at the end: prompt get_or_create p99 < 10 ms (at concurrency 1).

    .venv/bin/python bench/eval.py                       # both backends
    .venv/bin/python bench/eval.py --backend sqlite --duration 3
    .venv/bin/python bench/eval.py --url http://127.0.0.1:8787 --api-key KEY
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import LoadGenerator, LoadResult, Request
from core import LocalServer, fmt, log_tail, pg_admin, pg_database_name

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/threadline_bench_eval"
STEPS = 200
PROMPT = {
    "name": "support-answer",
    "template_messages": [
        {"role": "system", "content": "You are a support agent for {{product}}."},
        {"role": "user", "content": "{{question}}"},
    ],
    "settings": {"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.2},
    "variables_default_values": {"product": "Threadline"},
}
GOAL_P99_MS = 10.0


@dataclass
class Measured:
    label: str
    concurrency: int
    result: LoadResult
    unit: str = "req"


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


async def seed(gen: LoadGenerator) -> list[str]:
    """A thread with STEPS steps to score, and a prompt with two versions and a 50/50 rollout."""
    step_ids = [f"bench-step-{i}" for i in range(STEPS)]
    body = {
        "steps": [
            {"id": s, "thread_id": "bench-thread", "type": "llm", "name": "answer"}
            for s in step_ids
        ]
    }
    for request in (
        Request("POST", "/v1/steps/batch", _json(body)),
        Request("POST", "/v1/prompts/get-or-create", _json(PROMPT), ok=(200, 201)),
        Request(
            "POST",
            "/v1/prompts/get-or-create",
            _json({**PROMPT, "settings": {"model": "gpt-4o", "temperature": 0.2}}),
            ok=(200, 201),
        ),
        Request(
            "PUT",
            "/v1/prompts/by-name/support-answer/rollouts",
            _json(
                {"rollouts": [{"version": 0, "percentage": 50}, {"version": 1, "percentage": 50}]}
            ),
        ),
    ):
        status, answer = await gen.send(request)
        if status not in request.ok:
            raise SystemExit(f"seeding {request.method} {request.path}: {status} {answer[:200]!r}")
    return step_ids


def score_batch(step_ids: Sequence[str], size: int) -> Callable[[int], Request]:
    def make(i: int) -> Request:
        scores = [
            {
                "name": "quality",
                "type": "AI",
                "value": ((i * size + k) % 100) / 100,
                "step_id": step_ids[(i * size + k) % len(step_ids)],
                "tags": ["bench"],
            }
            for k in range(size)
        ]
        return Request("POST", "/v1/scores/batch", _json({"scores": scores}), ok=(201,))

    return make


def one_score(step_ids: Sequence[str]) -> Callable[[int], Request]:
    def make(i: int) -> Request:
        body = {"name": "quality", "type": "HUMAN", "value": 1, "step_id": step_ids[i % STEPS]}
        return Request("POST", "/v1/scores", _json(body), ok=(201,))

    return make


def get_or_create(_: int) -> Request:
    # key order and the provider differ from the stored version: it must still be a lookup
    body = {
        "settings": {"temperature": 0.2, "model": "gpt-4o-mini"},
        "template_messages": PROMPT["template_messages"],
        "name": "support-answer",
    }
    return Request("POST", "/v1/prompts/get-or-create", _json(body))


def livez(_: int) -> Request:
    return Request("GET", "/livez")


def by_name(i: int) -> Request:
    return Request("GET", f"/v1/prompts/by-name/support-answer?thread_id=t{i % 1000}")


async def measure(
    gen: LoadGenerator,
    label: str,
    factory: Callable[[int], Request],
    *,
    concurrency: int,
    args: argparse.Namespace,
    units: int = 1,
    unit: str = "req",
) -> Measured:
    if args.warmup > 0:
        await gen.run(factory, concurrency=concurrency, duration=args.warmup)
    result = await gen.run(
        factory, concurrency=concurrency, duration=args.duration, units_per_op=units
    )
    return Measured(label, concurrency, result, unit)


async def bench(url: str, api_key: str, backend: str, args: argparse.Namespace) -> list[Measured]:
    async with LoadGenerator(url, headers={"x-api-key": api_key}) as gen:
        step_ids = await seed(gen)
        c = args.concurrency
        rows = [
            await measure(gen, "load generator ceiling (/livez)", livez, concurrency=c, args=args),
            await measure(gen, "load generator floor (/livez)", livez, concurrency=1, args=args),
            await measure(
                gen,
                f"scores batch ({args.batch}/request)",
                score_batch(step_ids, args.batch),
                concurrency=c,
                args=args,
                units=args.batch,
                unit="score",
            ),
            await measure(
                gen, "scores single", one_score(step_ids), concurrency=c, args=args, unit="score"
            ),
            await measure(gen, "prompt get_or_create", get_or_create, concurrency=1, args=args),
            await measure(gen, "prompt get_or_create", get_or_create, concurrency=c, args=args),
            await measure(gen, "prompt by name (A/B pick)", by_name, concurrency=c, args=args),
        ]
        status, body = await gen.send(Request("GET", "/v1/scores?first=1&include_total=true"))
        total = orjson.loads(body).get("total_count") if status == 200 else None
        print(f"  {backend}: {total:,} scores stored after the run" if total else "")
        return rows


def print_table(title: str, rows: list[Measured]) -> None:
    header = f"{'operation':<34}{'conc':>6}{'req/s':>10}{'units/s':>16}{'p50 ms':>9}{'p99 ms':>9}"
    header += f"{'errors':>8}"
    print(f"\n{title}\n{header}\n{'-' * len(header)}")
    for row in rows:
        r = row.result
        units = f"{fmt(r.units_per_s)} {row.unit}s" if row.unit != "req" else "-"
        print(
            f"{row.label:<34}{row.concurrency:>6}{fmt(r.ops_per_s):>10}{units:>16}"
            f"{fmt(r.p50_ms, 2):>9}{fmt(r.p99_ms, 2):>9}{r.errors:>8}"
        )
        for problem in r.error_summary():
            print(f"    ! {problem}")
    goal = next(r for r in rows if r.label == "prompt get_or_create" and r.concurrency == 1)
    ok = goal.result.p99_ms < GOAL_P99_MS and not goal.result.errors
    print(
        f"  goal: prompt get_or_create p99 < {GOAL_P99_MS:.0f} ms (concurrency 1): "
        f"{fmt(goal.result.p99_ms, 2)} ms {'ok' if ok else 'MISS'}"
    )


async def run_local(backend: str, args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"threadline-eval-{backend}-"))
    api_key = "bench-" + secrets.token_hex(20)
    pg_name = None
    try:
        database_url = None
        if backend == "postgres":
            pg_name = pg_database_name(args.pg_url)
            await pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await pg_admin(args.pg_url, f'CREATE DATABASE "{pg_name}"')
            database_url = args.pg_url
        server = LocalServer(workdir, database_url, api_key)
        await server.start()
        try:
            rows = await bench(server.url, api_key, backend, args)
            print_table(f"[{backend}] one server process, {os.cpu_count()} cores", rows)
        finally:
            died = server.died()
            server.stop()
            if died:
                print(f"SERVER DIED during the run:\n{log_tail(server.log)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if pg_name:
            await pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100, help="scores per batch request")
    parser.add_argument("--url", help="measure this running server instead of starting one")
    parser.add_argument("--api-key", help="API key for --url")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("THREADLINE_BENCH_EVAL_PG_URL", DEFAULT_PG_URL),
        help="scratch PostgreSQL database (DROPPED and re-created)",
    )
    args = parser.parse_args(argv)
    if args.url and not args.api_key:
        parser.error("--url needs --api-key")
    if args.concurrency < 1 or args.duration <= 0 or not 1 <= args.batch <= 1000:
        parser.error("--concurrency and --duration must be positive, --batch 1..1000")
    return args


async def amain(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    if args.url:
        rows = await bench(args.url, args.api_key, "remote", args)
        print_table(f"[{args.url}]", rows)
    else:
        for backend in ["sqlite", "postgres"] if args.backend == "both" else [args.backend]:
            await run_local(backend, args)
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    main()
