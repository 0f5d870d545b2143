"""States read for a response (``wire=True``: JSON left as fragments, storage/checkpoint_reads.py)
render exactly as the decoded ones do, on both databases: pending writes, interrupts, commands,
subgraph namespaces and their expansion, lookups by id, history pages and cursors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.conftest import Tenant
from threadline.compat.langgraph import wire
from threadline.core import state as rules
from threadline.core.errors import NotFound
from threadline.core.state_service import StateService
from threadline.storage.database import Database

SUB_NS = "child:6f1c"


def rendered(state: dict[str, Any] | None, thread_id: str, *, with_ns: bool = True) -> Any:
    if state is None:
        return None
    return orjson.loads(orjson.dumps(wire.state(state, thread_id, with_ns=with_ns)))


async def _thread_with_history(states: StateService, project_id: str) -> tuple[str, list[str]]:
    """A thread whose checkpoints cover what a state can hold; returns it and its root ids."""
    thread, _ = await states.create_thread(project_id, metadata={"graph_id": "chat"})
    tid = thread["id"]
    hello = {"role": "user", "content": "hello", "extra": {"k": [1, 2]}}
    await states.update_state(project_id, tid, values={"messages": [hello], "n": 1}, as_node="a")
    await states.update_state(project_id, tid, values={"topic": "x"}, as_node=rules.INPUT)
    await states.update_state(project_id, tid, values={"n": 2}, as_node=rules.START)
    await states.update_state(
        project_id, tid, values=None, as_node="b", command={"goto": ["c", "d"], "update": {"k": 1}}
    )
    # a subgraph checkpoint, and a root head whose task points to it and is interrupted
    parent = await states.get_state(project_id, tid)
    assert parent is not None
    sub_id = rules.checkpoint_id(0)
    await states.put_checkpoint(
        project_id,
        tid,
        {
            "checkpoint_ns": SUB_NS,
            "checkpoint_id": sub_id,
            "parent_checkpoint_id": None,
            "values": {"inner": [1, {"deep": None}]},
            "metadata": {"step": 0, "source": "loop"},
            "next": ["inner_node"],
            "tasks": [],
        },
    )
    head_id = rules.checkpoint_id(5)
    await states.put_checkpoint(
        project_id,
        tid,
        {
            "checkpoint_ns": "",
            "checkpoint_id": head_id,
            "parent_checkpoint_id": parent["checkpoint_id"],
            "values": None,
            "metadata": {"step": 5, "source": "loop", "writes": None},
            "next": ["child"],
            "tasks": [
                {
                    "id": "task-1",
                    "name": "child",
                    "path": ["__pregel_pull", "child"],
                    "error": None,
                    "interrupts": [],
                    "checkpoint": {"checkpoint_ns": SUB_NS},
                    "state": None,
                    "result": None,
                }
            ],
        },
    )
    interrupt = {
        "idx": -3,
        "channel": "__interrupt__",
        "value": [{"value": "why?", "id": "i1"}],
        "value_type": None,
        "value_blob": None,
    }
    await states.put_writes(
        project_id,
        tid,
        head_id,
        {
            "checkpoint_ns": "",
            "task_id": "task-1",
            "task_path": "~__pregel_pull, child",
            "writes": [interrupt],
        },
    )
    history = await states.history(project_id, tid, limit=100)
    return tid, [s["checkpoint_id"] for s in history]


async def test_wire_states_render_like_decoded_ones(db: Database, tenant: Tenant) -> None:
    states = StateService(db, reducers={"chat": {"messages": "add_messages"}})
    p = tenant.project_id
    tid, ids = await _thread_with_history(states, p)
    assert len(ids) == 5

    async def same_state(**kwargs: Any) -> Any:
        with_ns = kwargs.pop("with_ns", True)
        slow = rendered(await states.get_state(p, tid, **kwargs), tid, with_ns=with_ns)
        fast = rendered(await states.get_state(p, tid, wire=True, **kwargs), tid, with_ns=with_ns)
        assert fast == slow
        return fast

    head = await same_state()
    assert head["interrupts"] == [{"value": "why?", "id": "i1"}]
    assert head["values"] == {}
    expanded = await same_state(subgraphs=True)
    assert expanded["tasks"][0]["state"]["values"] == {"inner": [1, {"deep": None}]}
    assert (await same_state(checkpoint_ns=SUB_NS))["next"] == ["inner_node"]
    for checkpoint_id in ids:
        await same_state(checkpoint_id=checkpoint_id)
        await same_state(checkpoint_id=checkpoint_id, checkpoint_ns=None, with_ns=False)
    assert await same_state(checkpoint_id=rules.checkpoint_id(1)) is None

    async def same_history(**kwargs: Any) -> list[Any]:
        slow = await states.history(p, tid, **kwargs)
        fast = await states.history(p, tid, wire=True, **kwargs)
        out = [rendered(s, tid) for s in fast]
        assert out == [rendered(s, tid) for s in slow]
        return out

    assert [s["checkpoint_id"] for s in await same_history(limit=10)] == ids
    for limit in (1, 2, 4):
        for before in (None, *ids):
            await same_history(limit=limit, before=before)
    assert len(await same_history(checkpoint_ns=SUB_NS)) == 1
    # a metadata filter or a checkpoint id takes the decoded path, with the same result
    assert len(await same_history(metadata={"source": "update"})) == 3
    assert len(await same_history(checkpoint_id=ids[1])) == 1


async def test_wire_reads_of_missing_threads_and_states(db: Database, tenant: Tenant) -> None:
    states = StateService(db)
    p = tenant.project_id
    thread, _ = await states.create_thread(p)
    for wired in (False, True):
        assert await states.get_state(p, thread["id"], wire=wired) is None
        assert await states.history(p, thread["id"], wire=wired) == []
        missing = "00000000-0000-4000-8000-000000000000"
        with pytest.raises(NotFound):
            await states.get_state(p, missing, wire=wired)
        with pytest.raises(NotFound):
            await states.history(p, missing, wire=wired)
