"""Thread state through the real langgraph-sdk: update_state, get_state, history, supersteps.

The server runs with reducers declared for graph ``chat`` (``messages``: add_messages, ``log``:
append; see tests/compat/conftest.py); other channels keep the last value written.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)

from tests.compat.conftest import message_contents
from tests.conftest import Server, Tenant, start_server
from threadline import Client


async def test_state_of_a_new_thread_is_empty(lg: LangGraphClient) -> None:
    thread = await lg.threads.create(graph_id="chat")
    state = await lg.threads.get_state(thread["thread_id"])
    assert state == {
        "values": {},
        "next": [],
        "tasks": [],
        "metadata": None,
        "created_at": None,
        "checkpoint": None,
        "parent_checkpoint": None,
        "interrupts": [],
        "checkpoint_id": None,
        "parent_checkpoint_id": None,
    }
    assert await lg.threads.get_history(thread["thread_id"]) == []
    with pytest.raises(NotFoundError) as missing:
        await lg.threads.get_state(str(uuid.uuid4()))
    assert missing.value.body["detail"].endswith("not found")


async def test_update_state_writes_checkpoints_with_reducers(lg: LangGraphClient) -> None:
    thread = await lg.threads.create(graph_id="chat")
    tid = thread["thread_id"]
    first = await lg.threads.update_state(
        tid,
        {"messages": [{"role": "user", "content": "hi", "id": "m1"}], "log": ["a"], "n": 1},
        as_node="agent",
    )
    assert set(first) == {"checkpoint", "configurable", "checkpoint_id"}
    assert first["checkpoint"] == first["configurable"]
    assert first["checkpoint"] == {
        "thread_id": tid,
        "checkpoint_ns": "",
        "checkpoint_id": first["checkpoint_id"],
    }
    await lg.threads.update_state(
        tid,
        {"messages": [{"role": "assistant", "content": "hello"}], "log": "b", "n": 2},
        as_node="agent",
    )
    # add_messages replaces by id and removes with {"type": "remove"}
    await lg.threads.update_state(
        tid, {"messages": [{"role": "user", "content": "hi again", "id": "m1"}]}, as_node="agent"
    )
    state = await lg.threads.get_state(tid)
    assert message_contents(state["values"]) == [("human", "hi again"), ("ai", "hello")]
    assert state["values"]["log"] == ["a", "b"]  # append
    assert state["values"]["n"] == 2  # last value
    ai = state["values"]["messages"][1]
    assert ai["tool_calls"] == [] and ai["id"]
    assert state["metadata"]["source"] == "update"
    assert state["metadata"]["step"] == 2
    assert state["metadata"]["writes"] == {
        "agent": {"messages": [{"role": "user", "content": "hi again", "id": "m1"}]}
    }
    assert state["metadata"]["parents"] == {}
    await lg.threads.update_state(tid, {"messages": [{"type": "remove", "id": "m1"}]})
    assert message_contents((await lg.threads.get(tid))["values"]) == [("ai", "hello")]

    # the thread mirrors its head checkpoint
    row = await lg.threads.get(tid)
    assert row["status"] == "idle"
    assert row["state_updated_at"] > thread["state_updated_at"]

    # a graph without declared reducers keeps the last value of every channel
    other = await lg.threads.create(graph_id="plain")
    await lg.threads.update_state(other["thread_id"], {"log": ["a"]})
    await lg.threads.update_state(other["thread_id"], {"log": ["b"]})
    assert (await lg.threads.get(other["thread_id"]))["values"] == {"log": ["b"]}


async def test_state_by_checkpoint_and_forks(lg: LangGraphClient) -> None:
    tid = (await lg.threads.create(graph_id="chat"))["thread_id"]
    one = await lg.threads.update_state(tid, {"topic": "one"}, as_node="a")
    two = await lg.threads.update_state(tid, {"topic": "two"}, as_node="a")

    by_id = await lg.threads.get_state(tid, checkpoint_id=one["checkpoint_id"])
    assert by_id["values"] == {"topic": "one"}
    assert "checkpoint_ns" not in by_id["checkpoint"]  # looked up without a namespace
    by_object = await lg.threads.get_state(tid, checkpoint=one["checkpoint"])
    assert by_object["values"] == {"topic": "one"}
    assert by_object["checkpoint"]["checkpoint_ns"] == ""
    unknown = await lg.threads.get_state(tid, checkpoint_id=str(uuid.uuid4()))
    assert unknown["values"] == {} and unknown["checkpoint"]["thread_id"] == tid
    assert (await lg.threads.get_state(tid, subgraphs=True))["checkpoint_id"] == (
        two["checkpoint_id"]
    )
    selected = await lg.threads.get_state(tid, select=["values.topic"])
    assert selected["values"] == {"topic": "two"}

    fork = await lg.threads.update_state(tid, {"extra": 1}, checkpoint=one["checkpoint"])
    head = await lg.threads.get_state(tid)
    assert head["checkpoint_id"] == fork["checkpoint_id"]  # the fork is the newest: the head
    assert head["values"] == {"topic": "one", "extra": 1}
    assert head["parent_checkpoint_id"] == one["checkpoint_id"]
    assert head["metadata"]["checkpoint_id"] == one["checkpoint_id"]
    assert (await lg.threads.get(tid))["values"] == {"topic": "one", "extra": 1}

    history = await lg.threads.get_history(tid)
    ids = [fork["checkpoint_id"], two["checkpoint_id"], one["checkpoint_id"]]
    assert [s["checkpoint_id"] for s in history] == ids  # every branch, newest first


async def test_history_cursors_and_filters(lg: LangGraphClient) -> None:
    tid = (await lg.threads.create(graph_id="chat"))["thread_id"]
    made = [
        await lg.threads.update_state(tid, {"i": i}, as_node="a" if i % 2 else "b")
        for i in range(5)
    ]
    ids = [m["checkpoint_id"] for m in reversed(made)]
    assert [s["checkpoint_id"] for s in await lg.threads.get_history(tid)] == ids
    assert [s["checkpoint_id"] for s in await lg.threads.get_history(tid, limit=2)] == ids[:2]
    cursor = made[2]["checkpoint"]
    for before in (cursor["checkpoint_id"], cursor, {"configurable": cursor}):
        older = await lg.threads.get_history(tid, before=before)  # type: ignore[arg-type]
        assert [s["checkpoint_id"] for s in older] == ids[3:]
    steps = await lg.threads.get_history(tid, metadata={"step": 1})
    assert [s["checkpoint_id"] for s in steps] == [made[1]["checkpoint_id"]]
    sources = await lg.threads.get_history(tid, metadata={"source": "update"})
    assert len(sources) == 5
    first = await lg.threads.get_history(tid, limit=1)
    assert first[0]["parent_checkpoint"]["checkpoint_id"] == made[3]["checkpoint_id"]
    with pytest.raises(NotFoundError):
        await lg.threads.get_history(str(uuid.uuid4()))
    with pytest.raises(UnprocessableEntityError):
        await lg.threads.get_history(tid, limit=0)


async def test_namespaces(lg: LangGraphClient) -> None:
    tid = (await lg.threads.create(graph_id="chat"))["thread_id"]
    await lg.threads.update_state(tid, {"root": 1}, as_node="a")
    sub = await lg.threads.update_state(
        tid, {"inner": 1}, as_node="b", checkpoint={"checkpoint_ns": "child:1"}
    )
    assert sub["checkpoint"]["checkpoint_ns"] == "child:1"
    assert (await lg.threads.get(tid))["values"] == {"root": 1}  # the thread mirrors the root
    inner = await lg.threads.get_history(tid, checkpoint={"checkpoint_ns": "child:1"})
    assert [s["values"] for s in inner] == [{"inner": 1}]
    root = await lg.threads.get_history(tid, checkpoint={"checkpoint_ns": ""})
    assert [s["values"] for s in root] == [{"root": 1}]


async def test_supersteps_replay_a_thread(lg: LangGraphClient) -> None:
    thread = await lg.threads.create(
        graph_id="chat",
        supersteps=[
            {"updates": [{"values": {"messages": [{"role": "user", "content": "hi"}]},
                          "as_node": "__input__"}]},
            {"updates": [{"values": None, "as_node": "__start__"}]},
            {"updates": [{"values": {"messages": [{"role": "ai", "content": "hello"}]},
                          "as_node": "agent"}]},
        ],
    )  # fmt: skip
    assert message_contents(thread["values"]) == [("human", "hi"), ("ai", "hello")]
    assert thread["status"] == "idle"
    assert thread["updated_at"] > thread["created_at"]
    history = await lg.threads.get_history(thread["thread_id"])
    assert [(s["metadata"]["source"], s["metadata"]["step"]) for s in history] == [
        ("update", 1),
        ("update", 0),
        ("input", -1),
    ]
    assert history[-1]["next"] == ["__start__"]
    assert history[-1]["tasks"][0]["name"] == "__start__"

    # a command's goto leaves the thread with pending nodes: interrupted
    pending = await lg.threads.create(
        graph_id="chat",
        supersteps=[
            {"updates": [{"values": None, "as_node": "agent",
                          "command": {"update": {"topic": "cmd"}, "goto": "tools"}}]},
        ],
    )  # fmt: skip
    assert pending["status"] == "interrupted"
    assert pending["values"] == {"topic": "cmd"}
    assert (await lg.threads.get_state(pending["thread_id"]))["next"] == ["tools"]
    assert await lg.threads.search(status="interrupted") == [pending]
    # updating it as the pending node clears the interruption
    await lg.threads.update_state(pending["thread_id"], {"done": True}, as_node="tools")
    assert (await lg.threads.get(pending["thread_id"]))["status"] == "idle"


async def test_update_state_errors(lg: LangGraphClient, lg_server: Server, tenant: Tenant) -> None:
    plain = await lg.threads.create()
    with pytest.raises(BadRequestError) as no_graph:
        await lg.threads.update_state(plain["thread_id"], {"x": 1})
    assert "has no assigned graph ID" in no_graph.value.body["detail"]
    with pytest.raises(NotFoundError):
        await lg.threads.update_state(str(uuid.uuid4()), {"x": 1})
    graph = await lg.threads.create(graph_id="chat")
    with pytest.raises(NotFoundError):
        await lg.threads.update_state(graph["thread_id"], {"x": 1}, checkpoint_id=str(uuid.uuid4()))

    # supersteps on a thread without graph_id: created anyway, 201 with the problem
    headers = {"x-api-key": tenant.api_key}
    async with httpx.AsyncClient(base_url=lg_server.url, headers=headers) as http:
        response = await http.post(
            "/threads",
            json={"supersteps": [{"updates": [{"values": {"a": 1}, "as_node": "n"}]}]},
        )
        assert response.status_code == 201
        detail = response.json()["detail"]
        assert "was created, but there were problems updating the state" in detail
        bad = await http.post(f"/threads/{graph['thread_id']}/state", json={"values": 5})
        assert bad.status_code == 422 and isinstance(bad.json()["detail"], str)

    # a busy thread (a run in flight, set here through the native API) refuses state updates
    with Client(lg_server.url, tenant.api_key) as native:
        native.threads.update(graph["thread_id"], status="busy")
    assert (await lg.threads.search(status="busy"))[0]["thread_id"] == graph["thread_id"]
    with pytest.raises(ConflictError) as busy:
        await lg.threads.update_state(graph["thread_id"], {"x": 1})
    assert "in-flight runs" in busy.value.body["detail"]


def test_invalid_reducer_configuration_stops_the_server(tmp_path: Path) -> None:
    bad = {"THREADLINE_LANGGRAPH_REDUCERS": '{"chat": {"messages": "merge"}}'}
    with pytest.raises(RuntimeError, match="THREADLINE_LANGGRAPH_REDUCERS"):
        start_server(f"sqlite:///{tmp_path / 'bad.db'}", tmp_path, env=bad)
