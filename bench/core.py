"""Core benchmark of the native /v1 API: create, get, filtered list, count and batched ingest.

For each backend (SQLite, PostgreSQL) and each size (10,000 and 100,000 threads by default) it
builds a fresh database, seeds it, starts one server process (uvicorn, single worker), measures
every operation at a fixed concurrency with the aiohttp load generator in ``_load.py``, and
prints a table. Before each table it measures the load generator's own ceiling against
``GET /livez`` (no database work), so a reader can tell a server limit from a client limit.

    .venv/bin/python bench/core.py                     # both backends, 10k and 100k threads
    .venv/bin/python bench/core.py --backend sqlite --sizes 10000 --duration 3
    .venv/bin/python bench/core.py --url http://127.0.0.1:8787 --api-key KEY

See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import LoadGenerator, LoadResult, Request, describe

CHANNELS = ("web", "slack", "email", "api", "mobile")
USERS = 1000
GET_THREADS = 32  # threads given 100 steps each, read by the "get" row
STEPS_PER_GET_THREAD = 100
BATCH_STEPS = 1000
THREADS_PER_BATCH = 10  # an ingest request carries 100 steps for each of 10 threads
SEED_BATCH = 1000
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/threadline_bench"

TEXTS = (
    "Can you summarise the attached quarterly report and list the three biggest risks?",
    "Sure. Revenue grew 12% quarter over quarter, driven by the enterprise tier. The three "
    "biggest risks are customer concentration, a pending pricing change, and hiring delays in "
    "the support team, which already shows in longer first-response times.",
    "What would you change first?",
    "I would start with support staffing: it is the cheapest fix and it protects renewals, "
    "which matter most given how concentrated revenue is in the top ten accounts.",
)


# --- data ------------------------------------------------------------------------------------


def thread_metadata(rng: random.Random, n: int) -> dict[str, Any]:
    """Realistic metadata: ~1,000 users, 5 channels, a counter."""
    return {"user_id": f"u{rng.randrange(USERS)}", "channel": rng.choice(CHANNELS), "n": n}


@dataclass
class Seeded:
    """What the database holds, as far as the benchmark knows (exact when it seeded it all)."""

    total: int
    thread_ids: list[str]
    users: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    exact: bool = True
    seconds: float = 0.0
    how: str = ""
    complete: bool = True

    def add(self, thread_id: str, meta: dict[str, Any]) -> None:
        self.thread_ids.append(thread_id)
        self.users[meta["user_id"]] += 1
        self.channels[meta["channel"]] += 1
        self.total += 1


def message_steps(thread_id: str, prefix: str, count: int, start: datetime) -> list[dict[str, Any]]:
    """``count`` alternating user/assistant message steps of one thread."""
    out = []
    for j in range(count):
        user = j % 2 == 0
        step: dict[str, Any] = {
            "id": f"{prefix}-{j}",
            "thread_id": thread_id,
            "type": "user_message" if user else "assistant_message",
            "name": "user" if user else "assistant",
            "start_time": (start + timedelta(milliseconds=500 * j)).isoformat(),
            "metadata": {"turn": j // 2},
        }
        step["input" if user else "output"] = {"content": TEXTS[j % len(TEXTS)]}
        out.append(step)
    return out


def steps_batch_body(thread_ids: Sequence[str], prefix: str, per_thread: int) -> bytes:
    start = datetime.now(UTC)
    steps: list[dict[str, Any]] = []
    for k, thread_id in enumerate(thread_ids):
        steps.extend(message_steps(thread_id, f"{prefix}-{k}", per_thread, start))
    return orjson.dumps({"steps": steps})


# --- seeding ---------------------------------------------------------------------------------


async def seed_storage(db_url: str, api_key: str, size: int, time_box: float) -> Seeded:
    """Migrate, register ``api_key`` for the default project and insert ``size`` threads.

    Runs in this process through the storage layer (``threads.insert_row``, which also keeps
    SQLite's metadata term index), ``SEED_BATCH`` rows per transaction.
    """
    from threadline.core.service import Service
    from threadline.storage import threads
    from threadline.storage.database import Database

    started = time.perf_counter()
    rng = random.Random(size)
    seeded = Seeded(total=0, thread_ids=[], how="storage layer")
    db = Database.create(db_url)
    try:
        await db.run_migrations()
        project, secret = await Service(db).bootstrap(api_key)
        if secret != api_key:
            raise RuntimeError("the database already had API keys: not a fresh database")
        project_id = project["id"]
        base = datetime.now(UTC) - timedelta(seconds=size)

        def insert(conn: Any, rows: list[dict[str, Any]]) -> list[str]:
            return [threads.insert_row(conn, project_id, row) for row in rows]

        for first in range(0, size, SEED_BATCH):
            if time.perf_counter() - started > time_box:
                seeded.complete = False
                break
            rows = [
                {"metadata": thread_metadata(rng, k), "created_at": base + timedelta(seconds=k)}
                for k in range(first, min(first + SEED_BATCH, size))
            ]
            ids = await db.write(insert, rows)
            for thread_id, row in zip(ids, rows, strict=True):
                seeded.add(thread_id, row["metadata"])
        if db.dialect == "postgresql":
            # A running server gets this from autovacuum; a fresh bulk load has no statistics yet.
            await db.write(lambda c: c.exec_driver_sql("ANALYZE"))
    finally:
        await db.close()
    seeded.seconds = time.perf_counter() - started
    return seeded


async def seed_api(
    gen: LoadGenerator, count: int, time_box: float, concurrency: int, seed: int
) -> Seeded:
    """Create ``count`` threads with POST /v1/threads (client-chosen ids, so we know them)."""
    rng = random.Random(seed)
    plan = [(str(uuid.uuid4()), thread_metadata(rng, k)) for k in range(count)]
    started = time.perf_counter()

    def create(i: int) -> Request:
        thread_id, meta = plan[i]
        body = orjson.dumps({"id": thread_id, "metadata": meta})
        return Request("POST", "/v1/threads", body, ok=(201,))

    created: list[int] = []

    def collect(i: int, status: int, _: bytes) -> None:
        if status == 201:
            created.append(i)

    result = await gen.run(
        create, concurrency=concurrency, requests=count, duration=time_box, on_response=collect
    )
    if result.errors:
        print(f"  seeding errors: {result.errors}: {'; '.join(result.error_summary())}")
    seeded = Seeded(total=0, thread_ids=[], how="POST /v1/threads")
    for i in sorted(created):
        seeded.add(*plan[i])
    seeded.complete = result.requests == count and not result.errors
    seeded.seconds = time.perf_counter() - started
    return seeded


async def seed_get_threads(gen: LoadGenerator, thread_ids: Sequence[str]) -> int:
    """Give each of ``thread_ids`` 100 message steps through POST /v1/steps/batch."""
    errors = 0
    for first in range(0, len(thread_ids), THREADS_PER_BATCH):
        part = thread_ids[first : first + THREADS_PER_BATCH]
        body = steps_batch_body(part, f"seed-{uuid.uuid4().hex[:8]}", STEPS_PER_GET_THREAD)
        status, payload = await gen.send(Request("POST", "/v1/steps/batch", body))
        if status != 200:
            errors += 1
            print(f"  step seeding failed: HTTP {status}: {payload[:200]!r}")
    return errors


# --- servers and databases -------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn_server(data_dir: Path, database_url: str | None, api_key: str) -> Server:
    """``uvicorn`` on a free loopback port, one process; SQLite lives in ``data_dir``."""
    port = free_port()
    env = {
        **os.environ,
        "THREADLINE_DATA_DIR": str(data_dir),
        "THREADLINE_BOOTSTRAP_API_KEY": api_key,
    }
    env.pop("THREADLINE_DATABASE_URL", None)
    if database_url:
        env["THREADLINE_DATABASE_URL"] = database_url
    log = data_dir / "server.log"
    command = [
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
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    return Server(f"http://127.0.0.1:{port}", process, log)


async def start_server(data_dir: Path, database_url: str | None, api_key: str) -> Server:
    """Spawn the server and wait until GET /health answers 200."""
    server = spawn_server(data_dir, database_url, api_key)
    process, log = server.process, server.log
    async with LoadGenerator(server.url) as gen:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{log_tail(log)}")
            try:
                status, _ = await gen.send(Request("GET", "/health"))
                if status == 200:
                    return server
            except (aiohttp.ClientError, OSError):
                pass  # not listening yet
            await asyncio.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"server did not answer /health within 60 s:\n{log_tail(log)}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def sqlite_url(data_dir: Path) -> str:
    """Where the server puts its SQLite database when THREADLINE_DATABASE_URL is unset."""
    return "sqlite:///" + str(data_dir.resolve() / "threadline.db")


async def pg_admin(url: str, statement: str) -> None:
    import asyncpg
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database="postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def pg_database_name(url: str) -> str:
    import sqlalchemy as sa

    name = sa.make_url(url).database
    if not name or name == "postgres":
        raise SystemExit("--pg-url must name a scratch database (it is dropped and re-created)")
    return name


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a local process (all its threads); NaN if unknown."""
    if pid is None:
        return math.nan
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- measurements ----------------------------------------------------------------------------


@dataclass
class Op:
    key: str
    label: str
    factory: Callable[[int], Request]
    units_per_op: int = 1
    probe: Callable[[int, bytes], str | None] | None = None


@dataclass
class Row:
    op: Op
    result: LoadResult
    server_cpu: float
    probe_problem: str | None = None


def _json_query(value: Any) -> str:
    return urllib.parse.quote(orjson.dumps(value).decode(), safe="")


def build_ops(seeded: Seeded, get_ids: Sequence[str], ingest_ids: Sequence[str]) -> list[Op]:
    users = [f"u{(k * 7919) % USERS}" for k in range(USERS)]  # a fixed, shuffled order

    def get(i: int) -> Request:
        return Request("GET", f"/v1/threads/{get_ids[i % len(get_ids)]}")

    def list_user(i: int) -> Request:
        meta = _json_query({"user_id": users[i % USERS]})
        return Request("GET", f"/v1/threads?limit=20&metadata={meta}")

    def list_channel(i: int) -> Request:
        meta = _json_query({"channel": CHANNELS[i % len(CHANNELS)]})
        return Request("GET", f"/v1/threads?limit=20&metadata={meta}")

    def count_user(i: int) -> Request:
        body = orjson.dumps({"metadata": {"user_id": users[i % USERS]}})
        return Request("POST", "/v1/threads/count", body)

    def count_channel(i: int) -> Request:
        body = orjson.dumps({"metadata": {"channel": CHANNELS[i % len(CHANNELS)]}})
        return Request("POST", "/v1/threads/count", body)

    create_rng = random.Random(7)
    run_id = uuid.uuid4().hex[:8]

    def create(i: int) -> Request:
        body = orjson.dumps({"metadata": thread_metadata(create_rng, i)})
        return Request("POST", "/v1/threads", body, ok=(201,))

    def ingest(i: int) -> Request:
        first = (i * THREADS_PER_BATCH) % max(1, len(ingest_ids) - THREADS_PER_BATCH)
        part = ingest_ids[first : first + THREADS_PER_BATCH]
        per_thread = BATCH_STEPS // len(part)
        return Request(
            "POST", "/v1/steps/batch", steps_batch_body(part, f"ing-{run_id}-{i}", per_thread)
        )

    def probe_get(_: int, body: bytes) -> str | None:
        steps = orjson.loads(body).get("steps") or []
        if len(steps) != STEPS_PER_GET_THREAD:
            return f"get returned {len(steps)} steps, expected {STEPS_PER_GET_THREAD}"
        return None

    def probe_list(key: str, expected: Callable[[int], int]) -> Callable[[int, bytes], str | None]:
        def check(i: int, body: bytes) -> str | None:
            page = orjson.loads(body)
            want = users[i % USERS] if key == "user_id" else CHANNELS[i % len(CHANNELS)]
            wrong = [t["id"] for t in page["data"] if t["metadata"].get(key) != want]
            if wrong or len(page["data"]) > 20:
                return f"list returned {len(page['data'])} rows, {len(wrong)} not matching"
            if seeded.exact and page.get("total_count") != expected(i):
                return f"list total_count {page.get('total_count')}, expected {expected(i)}"
            return None

        return check

    def probe_count(expected: Callable[[int], int]) -> Callable[[int, bytes], str | None]:
        def check(i: int, body: bytes) -> str | None:
            got = orjson.loads(body)["count"]
            if seeded.exact and got != expected(i):
                return f"count {got}, expected {expected(i)}"
            return None

        return check

    def user_n(i: int) -> int:
        return seeded.users[users[i % USERS]]

    def channel_n(i: int) -> int:
        return seeded.channels[CHANNELS[i % len(CHANNELS)]]

    user_pct = 100 / USERS
    channel_pct = 100 / len(CHANNELS)
    return [
        Op("get", f"get thread ({STEPS_PER_GET_THREAD} steps)", get, probe=probe_get),
        Op(
            "list",
            f"list limit=20, user_id (~{user_pct:g}%)",
            list_user,
            probe=probe_list("user_id", user_n),
        ),
        Op(
            "list_channel",
            f"list limit=20, channel (~{channel_pct:g}%)",
            list_channel,
            probe=probe_list("channel", channel_n),
        ),
        Op("count", f"count, user_id (~{user_pct:g}%)", count_user, probe=probe_count(user_n)),
        Op(
            "count_channel",
            f"count, channel (~{channel_pct:g}%)",
            count_channel,
            probe=probe_count(channel_n),
        ),
        Op("create", "create thread", create),
        Op("ingest", f"ingest steps/batch ({BATCH_STEPS:,}/req) *", ingest, BATCH_STEPS),
    ]


async def measure(
    gen: LoadGenerator,
    op: Op,
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    server_pid: int | None,
) -> Row:
    problem = None
    if op.probe is not None:
        req = op.factory(0)
        status, body = await gen.send(req)
        if status not in req.ok:
            problem = f"probe: HTTP {status}: {body[:200]!r}"
        else:
            problem = op.probe(0, body)
    if warmup > 0:
        await gen.run(op.factory, concurrency=concurrency, duration=warmup)
    cpu_before = cpu_seconds(server_pid)
    result = await gen.run(
        op.factory, concurrency=concurrency, duration=duration, units_per_op=op.units_per_op
    )
    server_cpu = (cpu_seconds(server_pid) - cpu_before) / result.seconds
    return Row(op, result, server_cpu, problem)


# --- output ----------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    if math.isnan(value):
        return "-"
    if digits == 0 or value >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


HEADER = ("operation", "ops/s", "p50 ms", "p99 ms", "errors", "srv cpu", "lg cpu")
WIDTHS = (36, 9, 8, 8, 7, 8, 7)


def table_line(cells: Sequence[str]) -> str:
    first, *rest = cells
    return first.ljust(WIDTHS[0]) + "".join(
        c.rjust(w + 2) for c, w in zip(rest, WIDTHS[1:], strict=True)
    )


def row_cells(label: str, result: LoadResult, server_cpu: float) -> list[str]:
    return [
        label,
        fmt(result.units_per_s, 0),
        fmt(result.p50_ms, 2),
        fmt(result.p99_ms, 2),
        str(result.errors),
        fmt(server_cpu, 2),
        fmt(result.client_cpu, 2),
    ]


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def targets_footer(rows: dict[str, Row], backend: str, size: int) -> list[str]:
    lines = []

    def add(
        key: str,
        text: str,
        value: Callable[[LoadResult], float],
        passes: Callable[[float], bool],
        unit: str,
    ) -> None:
        row = rows.get(key)
        if row is None:
            return
        got = value(row.result)
        lines.append(f"  {text:<38} {fmt(got, 1):>9} {unit:<7} {verdict(passes(got))}")

    add("create", "create >= 3,000/s", lambda r: r.ops_per_s, lambda v: v >= 3000, "/s")
    add("get", "get p99 < 15 ms", lambda r: r.p99_ms, lambda v: v < 15, "ms")
    note = "" if size >= 100_000 else " (target is at 100,000)"
    add("list", f"filtered list p99 < 20 ms{note}", lambda r: r.p99_ms, lambda v: v < 20, "ms")
    add("count", f"count p99 < 20 ms{note}", lambda r: r.p99_ms, lambda v: v < 20, "ms")
    if backend == "sqlite":
        add(
            "ingest",
            "ingest >= 20,000 steps/s (SQLite)",
            lambda r: r.units_per_s,
            lambda v: v >= 20000,
            "steps/s",
        )
    return lines


def print_table(
    title: str,
    ceiling: Row,
    rows: list[Row],
    backend: str,
    size: int,
    notes: list[str],
) -> None:
    rule = "-" * (sum(WIDTHS) + 2 * (len(WIDTHS) - 1))
    print()
    print(f"== {title} ==")
    for note in notes:
        print(f"   {note}")
    print(rule)
    print(table_line(HEADER))
    print(rule)
    print(
        table_line(
            row_cells("load generator ceiling: GET /livez", ceiling.result, ceiling.server_cpu)
        )
    )
    print(rule)
    for row in rows:
        print(table_line(row_cells(row.op.label, row.result, row.server_cpu)))
    print(rule)
    ingest = next((r for r in rows if r.op.key == "ingest"), None)
    if ingest is not None:
        print(
            f"* ingest ops/s column is steps/s ({fmt(ingest.result.ops_per_s, 1)} requests/s of "
            f"{BATCH_STEPS:,} steps); its p50/p99 are per request."
        )
    print("srv cpu / lg cpu: cores used by the server process / by this load generator (2 cores).")
    footer = targets_footer({r.op.key: r for r in rows}, backend, size)
    if footer:
        print("targets:")
        for line in footer:
            print(line)
    problems = [r for r in [ceiling, *rows] if r.result.errors or r.probe_problem]
    for row in problems:
        if row.result.errors:
            print(
                f"ERRORS in {row.op.label}: {row.result.errors} of {row.result.requests} requests"
            )
            for line in row.result.error_summary(5):
                print(f"    {line}")
        if row.probe_problem:
            print(f"WRONG ANSWER in {row.op.label}: {row.probe_problem}")
    sys.stdout.flush()


# --- runs ------------------------------------------------------------------------------------


@dataclass
class Target:
    backend: str
    url: str
    api_key: str
    server_pid: int | None


async def bench_target(
    target: Target,
    size: int,
    seeded: Seeded,
    args: argparse.Namespace,
    results: list[dict[str, Any]],
) -> None:
    headers = {"x-api-key": target.api_key}
    async with LoadGenerator(target.url, headers=headers, max_connections=args.concurrency) as gen:
        spread = max(1, len(seeded.thread_ids) // (GET_THREADS + 1))
        get_ids = seeded.thread_ids[spread::spread][:GET_THREADS]
        get_set = set(get_ids)
        ingest_ids = [t for t in seeded.thread_ids[-2000:] if t not in get_set]
        started = time.perf_counter()
        step_errors = await seed_get_threads(gen, get_ids)
        steps_seconds = time.perf_counter() - started
        ops = [op for op in build_ops(seeded, get_ids, ingest_ids) if op.key in args.ops]
        run = {
            "concurrency": args.concurrency,
            "duration": args.duration,
            "warmup": args.warmup,
            "server_pid": target.server_pid,
        }
        livez = Op("livez", "GET /livez", lambda i: Request("GET", "/livez"))
        ceiling = await measure(gen, livez, **run)
        rows = []
        for op in ops:
            rows.append(await measure(gen, op, **run))
    total = f"{seeded.total:,}" if seeded.exact else f">= {seeded.total:,}"
    notes = [
        f"{total} threads seeded in {seeded.seconds:.1f} s via {seeded.how}"
        + ("" if seeded.complete else " (TIME BOX HIT: fewer threads than asked)"),
        f"{len(get_ids)} threads x {STEPS_PER_GET_THREAD} steps for get, seeded in "
        f"{steps_seconds:.1f} s via POST /v1/steps/batch"
        + (f" ({step_errors} batches FAILED)" if step_errors else ""),
        f"concurrency {args.concurrency}, {args.duration:g} s per row after {args.warmup:g} s "
        f"warm-up; one server process at {target.url}",
    ]
    title = f"{target.backend}, {size:,} threads"
    print_table(title, ceiling, rows, target.backend, size, notes)
    results.append(
        {
            "backend": target.backend,
            "size": size,
            "seeded": seeded.total,
            "seed_seconds": round(seeded.seconds, 2),
            "ceiling": describe(ceiling.result),
            "rows": {
                r.op.key: {**describe(r.result), "server_cpu": round(r.server_cpu, 3)} for r in rows
            },
        }
    )


async def run_local(
    backend: str, size: int, args: argparse.Namespace, results: list[dict[str, Any]]
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"threadline-bench-{backend}-"))
    api_key = "bench-" + secrets.token_hex(20)
    database_url: str | None = None
    pg_name = None
    try:
        if backend == "postgres":
            pg_name = pg_database_name(args.pg_url)
            await pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await pg_admin(args.pg_url, f'CREATE DATABASE "{pg_name}"')
            database_url = args.pg_url
            seed_url = args.pg_url
        else:
            seed_url = sqlite_url(workdir)
        print(f"\n[{backend}, {size:,} threads] seeding ...", flush=True)
        if args.seed == "storage":
            seeded = await seed_storage(seed_url, api_key, size, args.seed_timeout)
            server = await start_server(workdir, database_url, api_key)
        else:
            server = await start_server(workdir, database_url, api_key)
            async with LoadGenerator(server.url, headers={"x-api-key": api_key}) as gen:
                seeded = await seed_api(gen, size, args.seed_timeout, args.concurrency, size)
        try:
            name = "postgresql" if backend == "postgres" else "sqlite"
            target = Target(name, server.url, api_key, server.process.pid)
            print(f"  server pid {server.process.pid} at {server.url}; measuring ...", flush=True)
            await bench_target(target, size, seeded, args, results)
        finally:
            died = server.process.poll() is not None
            stop_server(server)
            if died:
                print(f"SERVER DIED during the run:\n{log_tail(server.log)}")
    finally:
        if args.keep:
            print(f"  kept {workdir}" + (f" and database {pg_name}" if pg_name else ""))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            if pg_name:
                await pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


async def run_remote(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    """Against a running server: top it up to each size through the API, then measure."""
    headers = {"x-api-key": args.api_key}
    async with LoadGenerator(args.url, headers=headers) as gen:
        status, body = await gen.send(Request("GET", "/health"))
        if status != 200:
            raise SystemExit(f"{args.url}/health answered {status}: {body[:200]!r}")
        backend = orjson.loads(body).get("database", "unknown")
        status, body = await gen.send(Request("POST", "/v1/threads/count", b"{}"))
        if status != 200:
            raise SystemExit(f"POST /v1/threads/count answered {status}: {body[:200]!r}")
        existing = orjson.loads(body)["count"]
    for size in args.sizes:
        async with LoadGenerator(args.url, headers=headers) as gen:
            status, body = await gen.send(Request("POST", "/v1/threads/count", b"{}"))
            have = orjson.loads(body)["count"] if status == 200 else 0
            wanted = max(size - have, 2 * GET_THREADS + THREADS_PER_BATCH)
            print(
                f"\n[{backend} at {args.url}] {have:,} threads; creating {wanted:,} ...", flush=True
            )
            seeded = await seed_api(gen, wanted, args.seed_timeout, args.concurrency, size)
        # Other threads (pre-existing or from earlier sizes) make the expected counts unknown.
        seeded.exact = existing == 0 and have == 0
        seeded.total = have + seeded.total
        target = Target(backend, args.url, args.api_key, None)
        await bench_target(target, size, seeded, args, results)


ALL_OPS = ("get", "list", "list_channel", "count", "count_channel", "create", "ingest")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--sizes", default="10000,100000", help="thread counts, comma separated")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--url", help="measure this running server instead of starting one")
    parser.add_argument("--api-key", help="API key for --url")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("THREADLINE_BENCH_PG_URL", DEFAULT_PG_URL),
        help="scratch PostgreSQL database (DROPPED and re-created for each size)",
    )
    parser.add_argument(
        "--seed",
        choices=("storage", "api"),
        default="storage",
        help="seed through the storage layer in this process (fast) or POST /v1/threads",
    )
    parser.add_argument("--seed-timeout", type=float, default=240.0, help="time box for seeding")
    parser.add_argument("--ops", default=",".join(ALL_OPS), help=f"subset of {','.join(ALL_OPS)}")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and database")
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    unknown = set(args.ops) - set(ALL_OPS)
    if unknown:
        parser.error(f"unknown --ops {', '.join(sorted(unknown))}")
    if args.url and not args.api_key:
        parser.error("--url needs --api-key")
    if args.concurrency < 1 or args.duration <= 0:
        parser.error("--concurrency and --duration must be positive")
    return args


async def amain(args: argparse.Namespace) -> None:
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    if args.url:
        await run_remote(args, results)
    else:
        backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
        for backend in backends:
            for size in args.sizes:
                await run_local(backend, size, args, results)
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(amain(args))
    else:
        uvloop.run(amain(args))


if __name__ == "__main__":
    main()
