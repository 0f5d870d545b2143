"""join_stream (SSE) through the real langgraph-sdk and raw HTTP, across two server processes,
and the TTL sweeper, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError
from langgraph_sdk.schema import StreamPart

from tests.compat.conftest import lazy_servers
from tests.conftest import Server, Tenant
from threadline import Client
from threadline.core.state_service import StateService
from threadline.storage.database import Database
from threadline.storage.schema import thread_events

STREAM_ID = re.compile(r"^(\d+)-(\d+)$")


async def take(stream: Any, count: int, seconds: float = 15) -> list[StreamPart]:
    """The first ``count`` parts of a join_stream (which never ends on its own)."""
    parts: list[StreamPart] = []

    async def run() -> None:
        async for part in await stream:
            parts.append(part)
            if len(parts) >= count:
                return

    await asyncio.wait_for(run(), seconds)
    return parts


def publish_run(server: Server, api_key: str, thread_id: str, run_id: str) -> None:
    """What a run on the thread publishes: start, its values, run_done (native /v1 API)."""
    with Client(server.url, api_key) as native:
        native.threads.publish_event(
            thread_id, event="metadata", data={"run_id": run_id, "attempt": 1}, mode="lifecycle"
        )
        native.threads.publish_event(thread_id, event="values", data={"n": 1}, mode="run")
        native.threads.publish_event(
            thread_id,
            event="metadata",
            data={"status": "run_done", "run_id": run_id},
            mode="lifecycle",
        )


async def test_state_updates_stream_with_unique_increasing_ids(lg: LangGraphClient) -> None:
    tid = (await lg.threads.create(graph_id="chat"))["thread_id"]
    for i in range(3):
        await lg.threads.update_state(tid, {"i": i}, as_node="a")
    parts = await take(
        lg.threads.join_stream(tid, stream_mode="state_update", last_event_id="-"), 3
    )
    assert [p.event for p in parts] == ["state_update"] * 3
    assert [p.data["state"]["values"] for p in parts] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert all(p.data["thread_id"] == tid for p in parts)
    assert parts[2].data["state"]["checkpoint"]["thread_id"] == tid
    seqs = [int(STREAM_ID.match(p.id).group(2)) for p in parts]  # type: ignore[union-attr]
    assert seqs == sorted(set(seqs))
    # resuming after the first event replays exactly the later ones
    resumed = await take(
        lg.threads.join_stream(tid, stream_mode="state_update", last_event_id=parts[0].id), 2
    )
    assert [p.id for p in resumed] == [p.id for p in parts[1:]]


async def test_modes_select_events(lg: LangGraphClient, lg_server: Server, tenant: Tenant) -> None:
    tid = (await lg.threads.create(graph_id="chat"))["thread_id"]
    await lg.threads.update_state(tid, {"x": 1}, as_node="a")
    await asyncio.to_thread(publish_run, lg_server, tenant.api_key, tid, "run-1")

    default = await take(lg.threads.join_stream(tid, last_event_id="-"), 3)  # run_modes
    assert [(p.event, p.data) for p in default] == [
        ("metadata", {"run_id": "run-1", "attempt": 1}),
        ("values", {"n": 1}),
        ("metadata", {"status": "run_done", "run_id": "run-1"}),
    ]
    lifecycle = await take(
        lg.threads.join_stream(tid, stream_mode="lifecycle", last_event_id="-"), 2
    )
    assert [p.data.get("status") for p in lifecycle] == [None, "run_done"]
    # LangGraph's server reads `stream_modes`; it wins over the SDK's `stream_mode`
    via_params = await take(
        lg.threads.join_stream(tid, last_event_id="-", params={"stream_modes": "lifecycle"}), 2
    )
    assert [p.event for p in via_params] == ["metadata", "metadata"]
    both = await take(
        lg.threads.join_stream(tid, stream_mode=["state_update", "lifecycle"], last_event_id="-"),
        3,
    )
    assert [p.event for p in both] == ["state_update", "metadata", "metadata"]


async def test_stream_errors(lg: LangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        await take(lg.threads.join_stream(str(uuid.uuid4())), 1)
    tid = (await lg.threads.create())["thread_id"]
    with pytest.raises(UnprocessableEntityError) as bad_mode:
        await take(lg.threads.join_stream(tid, params={"stream_modes": "bogus"}), 1)
    assert bad_mode.value.body == {"detail": "Invalid stream mode: bogus"}
    with pytest.raises(UnprocessableEntityError) as bad_id:
        await take(lg.threads.join_stream(tid, last_event_id="abc"), 1)
    assert bad_id.value.body == {"detail": "Invalid last-event-id: must be a valid Redis stream ID"}


@pytest.fixture(scope="session")
def second_servers(
    tmp_path_factory: pytest.TempPathFactory, database_urls: dict[str, str | None]
) -> Iterator[dict[str, Server]]:
    """A second server process per backend on the same database as ``lg_server``."""
    with lazy_servers(tmp_path_factory, database_urls, "lg2") as servers:
        yield servers


async def _frames(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    frame: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            key, _, value = line.partition(": ")
            frame[key] = value


async def test_events_reach_a_stream_on_another_process(
    backend: str,
    lg_server: Server,
    second_servers: dict[str, Server],
    tenant: Tenant,
    lg: LangGraphClient,
) -> None:
    """Joined on process A; the writes go through process B; A delivers them live.

    PostgreSQL delivers through LISTEN/NOTIFY (its fallback poll is 5 s, so sub-second arrival
    shows NOTIFY at work); SQLite, which has no NOTIFY, through its 1 s fallback poll.
    """
    other = second_servers[backend]
    tid = (await lg.threads.create(graph_id="chat"))["thread_id"]
    headers = {"x-api-key": tenant.api_key, "accept": "text/event-stream"}
    url = f"{lg_server.url}/threads/{tid}/stream?stream_modes=state_update,lifecycle"
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert "location" not in response.headers
        frames = _frames(response)
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=other.url, headers=headers) as writer:
            written = await writer.post(
                f"/threads/{tid}/state", json={"values": {"from": "B"}, "as_node": "a"}
            )
            assert written.status_code == 200
        events = []
        async for frame in frames:
            if "event" in frame:
                events.append(frame)
                break
        latency = time.monotonic() - started
        assert events[0]["event"] == "state_update"
        assert '"from":"B"' in events[0]["data"]
        assert latency < (1.0 if backend == "postgres" else 3.0), latency

        await asyncio.to_thread(publish_run, other, tenant.api_key, tid, "run-b")
        seen = []
        async for frame in frames:
            if "event" in frame:
                seen.append(frame)
            if len(seen) == 2:
                break
        assert [f["event"] for f in seen] == ["metadata", "metadata"]
        ids = [events[0]["id"], *(f["id"] for f in seen)]
        seqs = [int(STREAM_ID.match(i).group(2)) for i in ids]  # type: ignore[union-attr]
        assert seqs == sorted(set(seqs))

        # an idle stream gets heartbeats (every 0.5 s on this server)
        async for frame in frames:
            if frame.get("comment") == "heartbeat":
                break


async def test_ttl_delete_and_keep_latest(lg: LangGraphClient) -> None:
    """The sweeper (every 0.2 s on this server) applies expired TTLs on both databases."""
    gone = await lg.threads.create(ttl={"ttl": 0.01, "strategy": "delete"})  # 0.6 s
    kept = await lg.threads.create(graph_id="chat", ttl={"ttl": 0.01, "strategy": "keep_latest"})
    stays = await lg.threads.create(ttl=60)
    for i in range(3):
        await lg.threads.update_state(kept["thread_id"], {"i": i}, as_node="a")
    assert len(await lg.threads.get_history(kept["thread_id"])) == 3
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        history = await lg.threads.get_history(kept["thread_id"])
        try:
            await lg.threads.get(gone["thread_id"])
        except NotFoundError:
            if len(history) == 1:
                break
        await asyncio.sleep(0.2)
    with pytest.raises(NotFoundError):
        await lg.threads.get(gone["thread_id"])
    history = await lg.threads.get_history(kept["thread_id"])
    assert [s["values"] for s in history] == [{"i": 2}]
    trimmed = await lg.threads.get(kept["thread_id"], include=["ttl"])
    assert trimmed["values"] == {"i": 2}
    assert trimmed["ttl"]["expires_at"] is None  # applied once
    assert (await lg.threads.get(stays["thread_id"]))["thread_id"] == stays["thread_id"]


async def test_events_older_than_the_retention_window_are_purged(
    db: Database, tenant: Tenant
) -> None:
    """The sweeper drops stream events past their window, so a resume no longer replays them."""
    states = StateService(db, event_retention_seconds=60)
    try:
        thread, _ = await states.create_thread(tenant.project_id)
        tid = thread["id"]
        for n in range(3):
            await states.publish(tenant.project_id, tid, event="values", data={"n": n})
        two_minutes_ago = datetime.now(UTC) - timedelta(minutes=2)

        def age(conn: Any) -> None:  # the first two events are two minutes old
            conn.execute(
                thread_events.update()
                .where(thread_events.c.project_id == tenant.project_id, thread_events.c.seq < 3)
                .values(created_at=two_minutes_ago)
            )

        await db.write(age)
        assert (await states.sweep())["events_purged"] == 2
        left = await states.events_after(tenant.project_id, tid, 0, ["run"])
        assert [e["data"] for e in left] == [{"n": 2}]
    finally:
        await states.close()
