"""Fixtures for the compat tests: LangGraph's real SDK against real Threadline server processes.

``lg_server`` is a server process per backend started with the settings the LangGraph tests need
(per-graph reducers, a fast TTL sweeper, short stream heartbeats), on the session's database, so
the ``tenant`` fixture's fresh project and key work on it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client, get_sync_client
from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient

from tests.conftest import Server, Tenant, start_server, stop_server

REDUCERS = {
    "chat": {"messages": "add_messages", "log": "append"},
    "echo": {"messages": "add_messages"},
}
LG_ENV = {
    "THREADLINE_LANGGRAPH_REDUCERS": json.dumps(REDUCERS),
    "THREADLINE_TTL_SWEEP_SECONDS": "0.2",
    "THREADLINE_STREAM_HEARTBEAT_SECONDS": "0.5",
}


@contextlib.contextmanager
def lazy_servers(
    tmp_path_factory: pytest.TempPathFactory, database_urls: dict[str, str | None], name: str
) -> Iterator[dict[str, Server]]:
    """Server processes with :data:`LG_ENV`, one per backend, each started on first use (in a
    temporary folder named after ``name``) and all stopped at the end."""
    started: list[Server] = []

    class Lazy(dict[str, Server]):
        def __missing__(self, backend: str) -> Server:
            url = database_urls[backend]
            assert url is not None
            server = start_server(url, tmp_path_factory.mktemp(f"{name}-{backend}"), env=LG_ENV)
            started.append(server)
            self[backend] = server
            return server

    try:
        yield Lazy()
    finally:
        for server in started:
            stop_server(server)


@pytest.fixture(scope="session")
def lg_servers(
    tmp_path_factory: pytest.TempPathFactory, database_urls: dict[str, str | None]
) -> Iterator[dict[str, Server]]:
    """One server process per backend with :data:`LG_ENV`, started on first use."""
    with lazy_servers(tmp_path_factory, database_urls, "lg") as servers:
        yield servers


@pytest.fixture
def lg_server(lg_servers: dict[str, Server], backend: str) -> Server:
    return lg_servers[backend]


@pytest.fixture
async def lg(lg_server: Server, tenant: Tenant) -> AsyncIterator[LangGraphClient]:
    """langgraph-sdk's async client on the real server, as the test's fresh project."""
    client = get_client(url=lg_server.url, api_key=tenant.api_key)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def lg_sync(lg_server: Server, tenant: Tenant) -> Iterator[SyncLangGraphClient]:
    """langgraph-sdk's sync client on the real server, as the test's fresh project."""
    client = get_sync_client(url=lg_server.url, api_key=tenant.api_key)
    try:
        yield client
    finally:
        client.close()


def message_contents(values: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["type"], m["content"]) for m in values.get("messages", [])]


@pytest.fixture
def literal(server: Server, tenant: Tenant) -> Iterator[Any]:
    """literalai's sync ``LiteralClient`` on the real server, as the test's fresh project."""
    from tests.compat.literal import LiteralClient

    client = LiteralClient(api_key=tenant.api_key, url=server.url)
    try:
        yield client
    finally:
        client.flush_and_stop()


@pytest.fixture
async def aliteral(server: Server, tenant: Tenant) -> AsyncIterator[Any]:
    """literalai's ``AsyncLiteralClient`` on the real server, as the test's fresh project."""
    from tests.compat.literal import AsyncLiteralClient

    client = AsyncLiteralClient(api_key=tenant.api_key, url=server.url)
    try:
        yield client
    finally:
        client.flush_and_stop()
