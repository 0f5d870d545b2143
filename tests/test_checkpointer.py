"""ThreadlineSaver, the LangGraph checkpointer: the public conformance suite, exact round trips
and the /v1 checkpoint endpoints' errors, on both databases against the session's servers."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)

from tests.conftest import Server, Tenant, new_tenant
from threadline import AsyncClient, Client
from threadline.client.errors import NotFoundError
from threadline.langgraph import ThreadlineSaver
from threadline.storage.database import Database

CAPABILITIES = (
    "put",
    "put_writes",
    "get_tuple",
    "list",
    "delete_thread",
    "delete_for_runs",
    "copy_thread",
    "prune",
)


async def test_conformance_suite(server: Server, db: Database, backend: str) -> None:
    """langgraph-checkpoint-conformance: every capability detected and every check passing."""

    @checkpointer_test(name=f"ThreadlineSaver[{backend}]")
    async def factory() -> AsyncGenerator[ThreadlineSaver, None]:
        # each capability suite gets a fresh project: the suites reuse thread ids
        tenant = await new_tenant(db)
        saver = ThreadlineSaver(client=AsyncClient(server.url, tenant.api_key))
        try:
            yield saver
        finally:
            await saver.aclose()

    report: CapabilityReport = await validate(factory)
    summary = {
        name: (result.tests_passed, result.tests_failed, result.failures)
        for name, result in report.results.items()
    }
    print(f"\nconformance on {backend}:", summary)
    assert set(report.results) == set(CAPABILITIES)
    for name in CAPABILITIES:
        result = report.results[name]
        assert result.detected, name
        assert result.passed, (name, result.failures)
    assert report.passed_all()


@pytest.fixture
def saver(server: Server, tenant: Tenant) -> Iterator[ThreadlineSaver]:
    """The saver on the session's server as the test's fresh project (from URL and key)."""
    saver = ThreadlineSaver(server.url, tenant.api_key)
    try:
        yield saver
    finally:
        saver.close()


def test_messages_round_trip_exactly_and_show_as_json(
    saver: ThreadlineSaver, server: Server, tenant: Tenant
) -> None:
    """LangChain messages come back as the same objects; the state reads as their dict form."""
    thread_id = str(uuid.uuid4())
    messages = [
        HumanMessage("hi", id="m1"),
        AIMessage(
            "",
            id="m2",
            tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "c1", "type": "tool_call"}],
        ),
        ToolMessage("found", tool_call_id="c1", id="m3"),
    ]
    values: dict[str, Any] = {"messages": messages, "count": 3, "raw": b"\x00\xff", "tags": {"a"}}
    checkpoint = generate_checkpoint(channel_values=values)
    checkpoint["channel_versions"] = {k: 1 for k in values}
    stored = saver.put(generate_config(thread_id), checkpoint, generate_metadata(step=0), {})

    got = saver.get_tuple(stored)
    assert got is not None
    assert got.checkpoint["channel_values"] == values
    assert isinstance(got.checkpoint["channel_values"]["messages"][1], AIMessage)
    assert got.checkpoint["channel_values"]["messages"][1].tool_calls[0]["id"] == "c1"

    with Client(server.url, tenant.api_key) as client:
        state = client.threads.state(thread_id)
    view = state.values
    assert [m["type"] for m in view["messages"]] == ["human", "ai", "tool"]
    assert view["messages"][0]["content"] == "hi"
    assert view["messages"][2]["tool_call_id"] == "c1"
    assert view["count"] == 3
    assert view["tags"] == ["a"]
    assert state.checkpoint_id == checkpoint["id"]


def test_sync_methods(saver: ThreadlineSaver) -> None:
    """The sync half: put, put_writes, get_tuple, list with filter/before/limit, copy, prune."""
    thread_id = str(uuid.uuid4())
    parent = None
    ids = []
    for step in range(3):
        config = generate_config(thread_id)
        if parent is not None:
            config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
        checkpoint = generate_checkpoint(channel_values={"n": step})
        checkpoint["channel_versions"] = {"n": step + 1}
        metadata = generate_metadata(source="loop" if step else "input", step=step)
        parent = saver.put(config, checkpoint, metadata, {"n": step + 1})
        ids.append(checkpoint["id"])
    assert parent is not None
    saver.put_writes(parent, [("n", 7), ("__interrupt__", "stop")], "task-1", "~__pregel_pull, a")

    head = saver.get_tuple(generate_config(thread_id))
    assert head is not None
    assert head.checkpoint["id"] == ids[-1]
    assert head.parent_config is not None
    assert head.parent_config["configurable"]["checkpoint_id"] == ids[1]
    assert sorted(head.pending_writes or []) == [
        ("task-1", "__interrupt__", "stop"),
        ("task-1", "n", 7),
    ]
    listed = [c.checkpoint["id"] for c in saver.list(generate_config(thread_id))]
    assert listed == ids[::-1]
    assert [c.metadata["step"] for c in saver.list(None, filter={"source": "loop"})] == [2, 1]
    before = generate_config(thread_id, checkpoint_id=ids[2])
    assert [c.checkpoint["id"] for c in saver.list(None, before=before, limit=1)] == [ids[1]]

    target = str(uuid.uuid4())
    saver.copy_thread(thread_id, target)
    assert [c.checkpoint["id"] for c in saver.list(generate_config(target))] == ids[::-1]
    saver.copy_thread(str(uuid.uuid4()), str(uuid.uuid4()))  # no source: nothing happens
    saver.prune([target])
    assert [c.checkpoint["id"] for c in saver.list(generate_config(target))] == [ids[-1]]
    saver.delete_for_runs([])
    saver.delete_thread(thread_id)
    assert saver.get_tuple(generate_config(thread_id)) is None


def test_interrupt_writes_mark_the_thread_interrupted(
    saver: ThreadlineSaver, server: Server, tenant: Tenant
) -> None:
    """An interrupt written on the head shows on its task and as the thread's status."""
    thread_id = str(uuid.uuid4())
    checkpoint = generate_checkpoint(channel_values={"branch:to:ask": None, "topic": "x"})
    checkpoint["channel_versions"] = {"branch:to:ask": 2, "topic": 2}
    checkpoint["versions_seen"] = {"ask": {"branch:to:ask": 1}}
    stored = saver.put(generate_config(thread_id), checkpoint, generate_metadata(step=1), {})
    with Client(server.url, tenant.api_key) as client:
        state = client.threads.state(thread_id)
        assert state.next == ["ask"]
        assert state.values == {"topic": "x"}
        task_id = state.tasks[0]["id"]
        saver.put_writes(
            stored,
            [("__interrupt__", [{"value": "why?", "id": "i1"}])],
            task_id,
            "~__pregel_pull, ask",
        )
        state = client.threads.state(thread_id)
        assert state.tasks[0]["interrupts"] == [{"value": "why?", "id": "i1"}]
        assert state.interrupts == [{"value": "why?", "id": "i1"}]
        assert client.threads.get(thread_id).status == "interrupted"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        (
            "PUT",
            "/v1/threads/t1/checkpoints/c1",
            {"serialized": {"type": "msgpack", "data": "not base64!"}},
            422,
            "serialized.data",
        ),
        ("PUT", "/v1/threads/t1/checkpoints/c1", {"next": "a"}, 422, "next"),
        ("PUT", "/v1/threads/t1/checkpoints/c1", {"bogus": 1}, 422, "bogus"),
        (
            "PUT",
            "/v1/threads/t1/checkpoints/nope/writes",
            {"task_id": "t", "writes": [{"idx": 0, "channel": "a", "value": 1}]},
            404,
            None,
        ),
        (
            "PUT",
            "/v1/threads/t1/checkpoints/c1/writes",
            {"task_id": "t", "writes": [{"idx": "x", "channel": "a"}]},
            422,
            "writes[0].idx",
        ),
        ("POST", "/v1/checkpoints/batch", {"operations": []}, 422, "operations"),
        (
            "POST",
            "/v1/checkpoints/batch",
            {"operations": [{"thread_id": "t1", "checkpoint_id": "c1"}]},
            422,
            "operations[0]",
        ),
        (
            "POST",
            "/v1/checkpoints/batch",
            {
                "operations": [
                    {
                        "thread_id": "t1",
                        "checkpoint_id": "c1",
                        "checkpoint": {"serialized": {"type": "msgpack", "data": "no!"}},
                    }
                ]
            },
            422,
            "operations[0].checkpoint.serialized.data",
        ),
        (
            "POST",
            "/v1/checkpoints/batch",
            {
                "operations": [
                    {"thread_id": "t1", "checkpoint_id": "c1", "checkpoint": {}},
                    {
                        "thread_id": "t1",
                        "checkpoint_id": "nope",
                        "writes": {"task_id": "t", "writes": []},
                    },
                ]
            },
            404,
            "operations[1]",
        ),
        ("POST", "/v1/checkpoints/search", {"limit": 0}, 422, "limit"),
        ("POST", "/v1/checkpoints/search", {"metadata": [1]}, 422, "metadata"),
        ("POST", "/v1/checkpoints/prune", {"thread_ids": ["a"], "strategy": "x"}, 422, "strategy"),
        ("POST", "/v1/checkpoints/delete-runs", {"run_ids": "r"}, 422, "run_ids"),
        ("POST", "/v1/threads/nope/checkpoints/copy", {"target_thread_id": "b"}, 404, None),
    ],
)
def test_endpoint_errors(
    http: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    response = http.request(method, path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    if field is not None:
        assert error.get("field") == field, error


def test_put_and_read_through_the_sdk(client: Client) -> None:
    """The SDK's checkpoints resource speaks the same endpoints the saver uses."""
    blob = base64.b64encode(b"\x01\x02").decode()
    ref = client.checkpoints.put(
        "sdk-thread",
        "c1",
        values={"a": 1},
        next=["n"],
        serialized={"type": "bytes", "data": blob},
        metadata={"source": "loop", "step": 0},
    )
    assert ref == {"thread_id": "sdk-thread", "checkpoint_ns": "", "checkpoint_id": "c1"}
    client.checkpoints.put_writes(
        "sdk-thread", "c1", task_id="t", writes=[{"idx": 0, "channel": "a", "value": 2}]
    )
    found = client.checkpoints.search(thread_id="sdk-thread")
    assert [(c.checkpoint_id, c.values, c.serialized) for c in found] == [
        ("c1", {"a": 1}, {"type": "bytes", "data": blob})
    ]
    assert [(w.channel, w.value) for w in found[0].pending_writes] == [("a", 2)]
    assert client.threads.state("sdk-thread").values == {"a": 1}
    client.checkpoints.delete("sdk-thread")
    assert client.checkpoints.search(thread_id="sdk-thread") == []


def test_batch_applies_checkpoints_and_writes_in_order_all_or_nothing(client: Client) -> None:
    """One request stores a checkpoint, writes on it, and the next checkpoint; a batch with one
    bad operation stores nothing and names that operation."""
    blob = base64.b64encode(b"\x01").decode()
    ops: list[dict[str, Any]] = [
        {
            "thread_id": "batched",
            "checkpoint_id": "c1",
            "checkpoint": {"values": {"a": 1}, "serialized": {"type": "bytes", "data": blob}},
        },
        {
            "thread_id": "batched",
            "checkpoint_id": "c1",
            "writes": {"task_id": "t", "writes": [{"idx": 0, "channel": "a", "value": 2}]},
        },
        {
            "thread_id": "batched",
            "checkpoint_id": "c2",
            "checkpoint": {"parent_checkpoint_id": "c1", "values": {"a": 2}},
        },
    ]
    assert client.checkpoints.batch(ops) == [
        {"thread_id": "batched", "checkpoint_ns": "", "checkpoint_id": "c1"},
        None,
        {"thread_id": "batched", "checkpoint_ns": "", "checkpoint_id": "c2"},
    ]
    found = client.checkpoints.search(thread_id="batched")
    assert [(c.checkpoint_id, c.parent_checkpoint_id) for c in found] == [
        ("c2", "c1"),
        ("c1", None),
    ]
    assert [(w.channel, w.value) for w in found[1].pending_writes] == [("a", 2)]
    assert client.threads.state("batched").values == {"a": 2}

    bad = [
        {"thread_id": "batched", "checkpoint_id": "c3", "checkpoint": {"values": {"a": 3}}},
        {"thread_id": "batched", "checkpoint_id": "c9", "writes": {"task_id": "t", "writes": []}},
    ]
    with pytest.raises(NotFoundError) as caught:
        client.checkpoints.batch(bad)
    assert caught.value.field == "operations[1]"
    assert [c.checkpoint_id for c in client.checkpoints.search(thread_id="batched")] == [
        "c2",
        "c1",
    ]
    assert client.threads.state("batched").values == {"a": 2}


def test_concurrent_sync_calls_share_requests_and_keep_their_own_outcomes(
    saver: ThreadlineSaver,
) -> None:
    """LangGraph calls a sync saver from several threads at once: calls made while a request is
    in flight go together in the next one, and each still gets its own answer (a write to a
    checkpoint nobody stores fails alone)."""
    threads = [str(uuid.uuid4()) for _ in range(12)]
    checkpoints = [generate_checkpoint(channel_values={"n": i}) for i in range(12)]
    barrier = threading.Barrier(13)
    outcomes: dict[int, Any] = {}

    def put(i: int) -> None:
        barrier.wait()
        outcomes[i] = saver.put(
            generate_config(threads[i]), checkpoints[i], generate_metadata(step=i), {}
        )

    def orphan_writes() -> None:
        barrier.wait()
        try:
            saver.put_writes(
                generate_config(str(uuid.uuid4()), checkpoint_id="missing"), [("n", 1)], "t"
            )
        except NotFoundError as exc:
            outcomes[-1] = exc

    workers = [threading.Thread(target=put, args=(i,)) for i in range(12)]
    workers.append(threading.Thread(target=orphan_writes))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert isinstance(outcomes.pop(-1), NotFoundError)
    for i in range(12):
        assert outcomes[i]["configurable"]["checkpoint_id"] == checkpoints[i]["id"]
        stored = saver.get_tuple(generate_config(threads[i]))
        assert stored is not None and stored.checkpoint["channel_values"] == {"n": i}


def test_core_package_does_not_need_langgraph() -> None:
    """``import threadline`` (server and SDK) works without LangGraph; the saver says what to
    install."""
    code = (
        "import sys\n"
        "for name in ('langgraph', 'langchain_core'): sys.modules[name] = None\n"
        "import threadline, threadline.client, threadline.api.app\n"
        "try:\n"
        "    import threadline.langgraph\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'threadline[langgraph]'" in out.stdout, out.stderr
