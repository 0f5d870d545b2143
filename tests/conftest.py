"""Shared fixtures: real databases (SQLite files and PostgreSQL) and real server processes.

Every storage-backed fixture is parametrized over ``sqlite`` and ``postgres``. PostgreSQL tests
use a fresh database created from ``THREADLINE_TEST_POSTGRES_URL`` for the test session (dropped
afterwards); without that variable they are skipped locally. ``.ci/run`` sets it, so CI runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from threadline import AsyncClient, Client
from threadline.core.service import Service
from threadline.storage import projects
from threadline.storage.database import Database

PG_ENV = "THREADLINE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str | None]:
    """A fresh, empty PostgreSQL database for this test session (None when not configured)."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    with scratch_postgres(base, "threadline_test") as url:
        yield url


@contextlib.contextmanager
def scratch_postgres(base: str, prefix: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``base`` (a URL), dropped at the end; yields
    its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _pg_admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield str(sa.make_url(base).set(database=name).render_as_string(hide_password=False))
    finally:
        _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(base: str, statement: str) -> None:
    import asyncpg

    url = sa.make_url(base)

    async def run() -> None:
        conn = await asyncpg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            database=url.database or "postgres",
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database, for migration tests (a fresh PostgreSQL database is created and
    dropped)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    yield from _empty_postgres()


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database (skipped when none is configured)."""
    yield from _empty_postgres()


def _empty_postgres() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    with scratch_postgres(base, "threadline_mig") as url:
        yield url


@pytest.fixture(scope="session")
def database_urls(
    tmp_path_factory: pytest.TempPathFactory, postgres_server_url: str | None
) -> dict[str, str | None]:
    sqlite_path = tmp_path_factory.mktemp("sqlite") / "threadline.db"
    return {"sqlite": f"sqlite:///{sqlite_path}", "postgres": postgres_server_url}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, database_urls: dict[str, str | None]) -> str:
    if database_urls[request.param] is None:
        pytest.skip(f"{PG_ENV} is not set")
    return str(request.param)


@pytest.fixture
def database_url(backend: str, database_urls: dict[str, str | None]) -> str:
    url = database_urls[backend]
    assert url is not None
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on the backend under test (shared by the whole session)."""
    database = Database.create(database_url)
    await database.run_migrations()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def service(db: Database) -> Service:
    return Service(db)


@dataclass
class Tenant:
    """A fresh project with an API key: tests never see each other's rows."""

    project_id: str
    api_key: str


async def new_tenant(db: Database) -> Tenant:
    def run(conn: Any) -> Tenant:
        project = projects.create_project(conn, f"test-{uuid.uuid4().hex[:12]}")
        key = projects.create_key(conn, project["id"], "test")
        return Tenant(project["id"], key["key"])

    return await db.write(run)


@pytest.fixture
async def tenant(db: Database) -> Tenant:
    return await new_tenant(db)


@dataclass
class Server:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_server(
    database_url: str, data_dir: Path, *, env: dict[str, str] | None = None, port: int | None = None
) -> Server:
    """``threadline serve`` in a real process on a loopback port; waits for /health."""
    port = port or free_port()
    log = data_dir / f"server-{port}.log"
    full_env = {
        **os.environ,
        "THREADLINE_DATA_DIR": str(data_dir),
        "THREADLINE_BOOTSTRAP_API_KEY": "bootstrap-" + secrets.token_hex(16),
        **(env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "threadline",
                "serve",
                "--port",
                str(port),
                "--database",
                database_url,
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Server(url, database_url, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become healthy: {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def servers(
    tmp_path_factory: pytest.TempPathFactory, database_urls: dict[str, str | None]
) -> Iterator[dict[str, Server]]:
    """One real server process per backend for the session, started on first use."""
    started: dict[str, Server] = {}

    class Lazy(dict[str, Server]):
        def __missing__(self, backend: str) -> Server:
            url = database_urls[backend]
            assert url is not None
            server = start_server(url, tmp_path_factory.mktemp(f"server-{backend}"))
            started[backend] = server
            self[backend] = server
            return server

    yield Lazy()
    for server in started.values():
        stop_server(server)


@pytest.fixture
def server(servers: dict[str, Server], backend: str) -> Server:
    return servers[backend]


@pytest.fixture
def http(server: Server, tenant: Tenant) -> Iterator[httpx.Client]:
    """A plain HTTP client on the real server, authenticated as the test's fresh project."""
    with httpx.Client(
        base_url=server.url, headers={"x-api-key": tenant.api_key}, timeout=30
    ) as client:
        yield client


@pytest.fixture
def client(server: Server, tenant: Tenant) -> Iterator[Client]:
    """The SDK's sync client on the real server, as the test's fresh project."""
    with Client(server.url, tenant.api_key) as sdk:
        yield sdk


@pytest.fixture
async def async_client(server: Server, tenant: Tenant) -> AsyncIterator[AsyncClient]:
    """The SDK's async client on the real server, as the test's fresh project."""
    async with AsyncClient(server.url, tenant.api_key) as sdk:
        yield sdk
