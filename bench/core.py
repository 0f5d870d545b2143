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
    finally:
        await db.close()
    if db.dialect == "postgresql":
        # What autovacuum does to a table soon after a bulk load: statistics for the planner, and
        # the GIN index's pending list merged (an unmerged list costs every @> query ~4 ms at
        # 100,000 threads). Doing it now keeps autovacuum from starting in the middle of a row.
        await pg_admin(db_url, "VACUUM (ANALYZE)", database=pg_database_name(db_url))
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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


class LocalServer:
    """One uvicorn process this benchmark starts (and may restart) on a fixed loopback port."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str | None,
        api_key: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.api_key = api_key
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "THREADLINE_DATA_DIR": str(self.data_dir),
            "THREADLINE_BOOTSTRAP_API_KEY": self.api_key,
            **self.env,
        }
        env.pop("THREADLINE_DATABASE_URL", None)
        if self.database_url:
            env["THREADLINE_DATABASE_URL"] = self.database_url
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "threadline.api.app:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with self.log.open("ab") as out:
            return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    async def start(self) -> None:
        """Spawn the server and wait until GET /health answers 200."""
        self.process = process = self._spawn()
        async with LoadGenerator(self.url) as gen:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {process.returncode}:\n{log_tail(self.log)}"
                    )
                try:
                    status, _ = await gen.send(Request("GET", "/health"), seconds=2)
                    if status == 200:
                        return
                except (aiohttp.ClientError, OSError, TimeoutError):
                    pass  # not listening yet
                await asyncio.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer /health within 60 s:\n{log_tail(self.log)}")

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    async def restart(self) -> None:
        """Kill a server stuck in a runaway query (same database, same port)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        await self.start()

    def died(self) -> bool:
        return self.process is not None and self.process.poll() is not None


def sqlite_url(data_dir: Path) -> str:
    """Where the server puts its SQLite database when THREADLINE_DATABASE_URL is unset."""
    return "sqlite:///" + str(data_dir.resolve() / "threadline.db")


async def pg_admin(url: str, statement: str, *, database: str = "postgres") -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE, VACUUM)."""
    import asyncpg
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=database,
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


def pg_backend_cpu(database: str | None) -> dict[int, float]:
    """CPU seconds of each local PostgreSQL backend serving ``database`` (by process title)."""
    if not database:
        return {}
    out = {}
    marker = f" {database} "
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and marker in title:
            out[int(entry.name)] = cpu_seconds(int(entry.name))
    return out


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine (all cores) since boot; NaN if unknown."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return math.nan
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    busy = sum(fields[:8]) - idle  # user..steal; guest time is already counted in user
    return busy / os.sysconf("SC_CLK_TCK")


async def wait_for_quiet(max_wait: float, threshold: float = 0.3) -> float:
    """Wait (up to ``max_wait`` s) until the machine is nearly idle; returns the seconds waited.

    Between rows nothing of ours is running, so CPU in use is someone else's (or the server
    finishing background work); measuring then would disturb the numbers.
    """
    started = time.perf_counter()
    while True:
        before = machine_busy_seconds()
        await asyncio.sleep(0.5)
        busy = (machine_busy_seconds() - before) / 0.5
        waited = time.perf_counter() - started
        if math.isnan(busy) or busy < threshold or waited >= max_wait:
            return waited


@dataclass
class Target:
    backend: str
    url: str
    api_key: str
    local: LocalServer | None = None
    quiet_waits: float = 0.0
    pg_database: str | None = None  # a local PostgreSQL database whose backends we account for
    remote_pid: int | None = None  # --server-pid of a server given with --url

    @property
    def server_pid(self) -> int | None:
        return self.local.pid if self.local is not None else self.remote_pid


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
    server_cpu: float = math.nan
    db_cpu: float = math.nan
    other_cpu: float = math.nan
    probe_problem: str | None = None
    skipped: str | None = None
    warmup_errors: list[str] = field(default_factory=list)

    @property
    def cpu_ms_per_op(self) -> float:
        """Server (+ PostgreSQL) CPU milliseconds per request: robust to other load."""
        cores = sum(v for v in (self.server_cpu, self.db_cpu) if not math.isnan(v))
        if math.isnan(self.server_cpu) or not self.result.ok:
            return math.nan
        return 1000.0 * cores / self.result.ops_per_s


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


async def measure(gen: LoadGenerator, op: Op, target: Target, args: argparse.Namespace) -> Row:
    """Probe once (checks the answer, times one request), warm up, then measure under load.

    An operation whose single probe request takes longer than ``--slow-limit`` is not load-tested
    (16 such requests in flight would take minutes); its row shows the one request's latency.
    """
    req = op.factory(0)
    problem = None
    sent = time.perf_counter()
    try:
        status, body = await gen.send(req, seconds=args.probe_timeout)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        waited = time.perf_counter() - sent
        kind = f"{type(exc).__name__}: {exc}" if str(exc) else f"{type(exc).__name__} (no answer)"
        result = LoadResult(0, 1, waited, [], Counter({kind: 1}))
        note = f"the probe request got no answer within {waited:.0f} s"
        if target.local is not None:
            await target.local.restart()  # the server is still running the query: start afresh
            note += "; server restarted"
        return Row(op, result, skipped=note)
    probe_s = time.perf_counter() - sent
    if status not in req.ok:
        problem = f"probe: HTTP {status}: {body[:200]!r}"
    elif op.probe is not None:
        problem = op.probe(0, body)
    if probe_s > args.slow_limit:
        ok = status in req.ok
        result = LoadResult(int(ok), int(not ok), probe_s, [probe_s * 1000] if ok else [])
        note = f"one request took {probe_s:.1f} s (> --slow-limit {args.slow_limit:g} s)"
        return Row(op, result, probe_problem=problem, skipped=note)
    concurrency = args.concurrency
    target.quiet_waits += await wait_for_quiet(args.quiet_wait)
    warmup_errors: list[str] = []
    if args.warmup > 0:
        warm = await gen.run(op.factory, concurrency=concurrency, duration=args.warmup)
        if warm.errors:
            warmup_errors = [f"{warm.errors} of {warm.requests}", *warm.error_summary(3)]
    pid = target.server_pid
    cpu_before, busy_before = cpu_seconds(pid), machine_busy_seconds()
    db_before = pg_backend_cpu(target.pg_database)
    result = await gen.run(
        op.factory, concurrency=concurrency, duration=args.duration, units_per_op=op.units_per_op
    )
    seconds = result.seconds
    server_cpu = (cpu_seconds(pid) - cpu_before) / seconds
    db_after = pg_backend_cpu(target.pg_database)
    db_cpu = math.nan
    if target.pg_database:
        db_cpu = sum(v - db_before.get(k, 0.0) for k, v in db_after.items()) / seconds
    machine_cpu = (machine_busy_seconds() - busy_before) / seconds
    ours = result.client_cpu + sum(v for v in (server_cpu, db_cpu) if not math.isnan(v))
    other = max(machine_cpu - ours, 0.0)
    return Row(op, result, server_cpu, db_cpu, other, problem, warmup_errors=warmup_errors)


# --- output ----------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    if math.isnan(value):
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


HEADER = (
    "operation",
    "ops/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "cpu ms",
    "server",
    "pg",
    "lg",
    "other",
)
WIDTHS = (36, 8, 8, 8, 6, 6, 6, 4, 4, 5)


def table_line(cells: Sequence[str]) -> str:
    first, *rest = cells
    return first.ljust(WIDTHS[0]) + "".join(
        c.rjust(w + 2) for c, w in zip(rest, WIDTHS[1:], strict=True)
    )


def row_cells(row: Row) -> list[str]:
    result = row.result
    if row.skipped:
        label = row.op.label.rstrip(" *") + " [1 req]"
        cells = [label, "skipped", fmt(result.p50_ms), "-", str(result.errors)]
        return cells + ["-"] * (len(HEADER) - len(cells))
    return [
        row.op.label,
        fmt(result.units_per_s),
        fmt(result.p50_ms, 2),
        fmt(result.p99_ms, 2),
        str(result.errors),
        fmt(row.cpu_ms_per_op, 2),
        fmt(row.server_cpu, 2),
        fmt(row.db_cpu, 1),
        fmt(result.client_cpu, 1),
        fmt(row.other_cpu, 1),
    ]


@dataclass
class Goal:
    key: str
    text: str
    unit: str
    value: Callable[[LoadResult], float]
    passes: Callable[[float], bool]
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    min_size: int = 0


GOALS = (
    Goal("create", "create >= 3,000/s", "/s", lambda r: r.ops_per_s, lambda v: v >= 3000),
    Goal("get", "get p99 < 15 ms", "ms", lambda r: r.p99_ms, lambda v: v < 15),
    Goal(
        "list",
        "filtered list p99 < 20 ms",
        "ms",
        lambda r: r.p99_ms,
        lambda v: v < 20,
        min_size=100_000,
    ),
    Goal(
        "count", "count p99 < 20 ms", "ms", lambda r: r.p99_ms, lambda v: v < 20, min_size=100_000
    ),
    Goal(
        "ingest",
        "ingest >= 20,000 steps/s",
        "steps/s",
        lambda r: r.units_per_s,
        lambda v: v >= 20000,
        backends=("sqlite",),
    ),
)


def targets_footer(rows: dict[str, Row], backend: str, size: int) -> list[str]:
    lines = []
    for goal in GOALS:
        row = rows.get(goal.key)
        if row is None or backend not in goal.backends:
            continue
        if row.skipped:
            got, ok = goal.value(row.result), False
        else:
            got = goal.value(row.result)
            ok = goal.passes(got) and not row.result.errors and not row.probe_problem
        scope = "" if size >= goal.min_size else f" (the target is at {goal.min_size:,})"
        lines.append(
            f"  {goal.text:<27} {fmt(got):>9} {goal.unit:<8} {'ok' if ok else 'MISS'}{scope}"
        )
    return lines


def print_table(
    title: str, notes: list[str], ceiling: Row, rows: list[Row], size: int, backend: str
) -> None:
    rule = "-" * (sum(WIDTHS) + 2 * (len(WIDTHS) - 1))
    print()
    print(f"== {title} ==")
    for note in notes:
        print(f"   {note}")
    print(rule)
    print(table_line(HEADER))
    print(rule)
    print(table_line(row_cells(ceiling)))
    print(rule)
    for row in rows:
        print(table_line(row_cells(row)))
    print(rule)
    ingest = next((r for r in rows if r.op.key == "ingest" and not r.skipped), None)
    if ingest is not None:
        print(
            f"* ingest: the ops/s cell is steps/s ({fmt(ingest.result.ops_per_s)} requests/s of "
            f"{BATCH_STEPS:,} steps); p50/p99 are per request."
        )
    print(
        "cpu ms: server (+ PostgreSQL) CPU time per request. server / pg / lg / other: CPU cores"
        " busy in the server process / its PostgreSQL backends / this load generator / anything"
        " else on the machine, during the row (2 cores)"
    )
    footer = targets_footer({r.op.key: r for r in rows}, backend, size)
    if footer:
        print("targets:")
        for line in footer:
            print(line)
    for row in [ceiling, *rows]:
        if row.skipped:
            print(f"NOT LOAD-TESTED {row.op.label.rstrip(' *')}: {row.skipped}")
        if row.result.errors:
            print(
                f"ERRORS in {row.op.label}: {row.result.errors} of {row.result.requests} requests"
            )
            for line in row.result.error_summary(5):
                print(f"    {line}")
        if row.probe_problem:
            print(f"WRONG ANSWER from {row.op.label}: {row.probe_problem}")
        if row.warmup_errors:
            first, *kinds = row.warmup_errors
            print(f"ERRORS during the warm-up of {row.op.label}: {first} requests")
            for line in kinds:
                print(f"    {line}")
    sys.stdout.flush()


def row_json(row: Row) -> dict[str, Any]:
    return {
        **describe(row.result),
        "server_cpu": None if math.isnan(row.server_cpu) else round(row.server_cpu, 3),
        "pg_cpu": None if math.isnan(row.db_cpu) else round(row.db_cpu, 3),
        "cpu_ms_per_op": None if math.isnan(row.cpu_ms_per_op) else round(row.cpu_ms_per_op, 3),
        "other_cpu": None if math.isnan(row.other_cpu) else round(row.other_cpu, 3),
        "skipped": row.skipped,
        "wrong_answer": row.probe_problem,
        "warmup_errors": row.warmup_errors,
    }


# --- runs ------------------------------------------------------------------------------------


async def bench_target(
    target: Target,
    size: int,
    seeded: Seeded,
    args: argparse.Namespace,
    results: list[dict[str, Any]],
) -> None:
    if len(seeded.thread_ids) < GET_THREADS + THREADS_PER_BATCH:
        print(f"\nSKIPPED {target.backend}, {size:,}: only {len(seeded.thread_ids)} threads seeded")
        return
    headers = {"x-api-key": target.api_key}
    async with LoadGenerator(target.url, headers=headers, max_connections=args.concurrency) as gen:
        spread = max(1, len(seeded.thread_ids) // (GET_THREADS + 1))
        get_ids = seeded.thread_ids[spread::spread][:GET_THREADS]
        get_set = set(get_ids)
        ingest_ids = [t for t in seeded.thread_ids[-2000:] if t not in get_set]
        started = time.perf_counter()
        step_errors = await seed_get_threads(gen, get_ids) if "get" in args.ops else 0
        steps_seconds = time.perf_counter() - started
        ops = [op for op in build_ops(seeded, get_ids, ingest_ids) if op.key in args.ops]
        livez = Op(
            "livez", "load generator ceiling: GET /livez", lambda i: Request("GET", "/livez")
        )
        ceiling = await measure(gen, livez, target, args)
        rows = [await measure(gen, op, target, args) for op in ops]
    total = f"{seeded.total:,}" if seeded.exact else f"about {seeded.total:,}"
    notes = [
        f"{total} threads seeded in {seeded.seconds:.1f} s via {seeded.how}"
        + ("" if seeded.complete else " (TIME BOX HIT: fewer threads than asked)"),
        f"{len(get_ids)} threads x {STEPS_PER_GET_THREAD} steps for get, seeded in "
        f"{steps_seconds:.1f} s via POST /v1/steps/batch"
        + (f" ({step_errors} batches FAILED)" if step_errors else ""),
        f"concurrency {args.concurrency}, {args.duration:g} s per row after {args.warmup:g} s of "
        f"warm-up; one server process at {target.url}",
    ]
    if target.backend == "sqlite" and target.local is not None:
        mode = os.environ.get("THREADLINE_SQLITE_SYNCHRONOUS", "NORMAL (the default)")
        notes.append(f"SQLite synchronous={mode} (THREADLINE_SQLITE_SYNCHRONOUS)")
    if target.quiet_waits >= 1:
        notes.append(f"waited {target.quiet_waits:.0f} s in all for other CPU load to settle")
    title = f"{target.backend}, {size:,} threads"
    if seeded.total != size:
        title = f"{target.backend}, {seeded.total:,} threads (asked for {size:,})"
    if target.local is None and target.remote_pid is None:
        notes.append("the server's CPU is not known here (give --server-pid): it is in 'other'")
    print_table(title, notes, ceiling, rows, size, target.backend)
    results.append(
        {
            "backend": target.backend,
            "size": size,
            "seeded": seeded.total,
            "seed_seconds": round(seeded.seconds, 2),
            "concurrency": args.concurrency,
            "duration": args.duration,
            "ceiling": row_json(ceiling),
            "rows": {r.op.key: row_json(r) for r in rows},
        }
    )


async def run_local(
    backend: str, size: int, args: argparse.Namespace, results: list[dict[str, Any]]
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"threadline-bench-{backend}-"))
    api_key = args.api_key or "bench-" + secrets.token_hex(20)
    database_url: str | None = None
    pg_name = None
    try:
        if backend == "postgres":
            pg_name = pg_database_name(args.pg_url)
            await pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await pg_admin(args.pg_url, f'CREATE DATABASE "{pg_name}"')
            database_url = seed_url = args.pg_url
        else:
            seed_url = sqlite_url(workdir)
        print(f"\n[{backend}, {size:,} threads] seeding ...", flush=True)
        server = LocalServer(workdir, database_url, api_key)
        if args.seed == "storage":
            seeded = await seed_storage(seed_url, api_key, size, args.seed_timeout)
            await server.start()
        else:
            await server.start()
            async with LoadGenerator(server.url, headers={"x-api-key": api_key}) as gen:
                seeded = await seed_api(gen, size, args.seed_timeout, args.concurrency, size)
        try:
            name = "postgresql" if backend == "postgres" else "sqlite"
            print(f"  server pid {server.pid} at {server.url}; measuring ...", flush=True)
            target = Target(name, server.url, api_key, server, pg_database=pg_name)
            await bench_target(target, size, seeded, args, results)
        finally:
            died = server.died()
            server.stop()
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
    backend = "unknown"
    existing = 0
    async with LoadGenerator(args.url, headers=headers) as gen:
        status, body = await gen.send(Request("GET", "/health"))
        if status != 200:
            raise SystemExit(f"{args.url}/health answered {status}: {body[:200]!r}")
        backend = orjson.loads(body).get("database", backend)
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
        # Threads that were there before (or from earlier sizes) make expected counts unknown.
        seeded.exact = existing == 0 and have == 0
        seeded.total += have
        target = Target(backend, args.url, args.api_key, remote_pid=args.server_pid)
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
    parser.add_argument(
        "--api-key", help="API key for --url (else: the bootstrap key of the servers started)"
    )
    parser.add_argument(
        "--server-pid", type=int, help="with --url: the server's process id, for its CPU column"
    )
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
    parser.add_argument(
        "--slow-limit",
        type=float,
        default=2.0,
        help="seconds; an operation whose single probe request is slower is not load-tested",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=5.0,
        help="before each row, wait up to this many seconds for the machine to be idle",
    )
    parser.add_argument(
        "--probe-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for a probe request (a started server is restarted after it)",
    )
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
