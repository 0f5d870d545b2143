"""LangGraph thread CRUD, search, count, copy and prune through the real langgraph-sdk.

Every test runs on SQLite and PostgreSQL against a real server process.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

from tests.compat.conftest import message_contents
from tests.conftest import Server, Tenant
from threadline import Client


async def test_create_get_and_duplicates(lg: LangGraphClient) -> None:
    thread_id = str(uuid.uuid4())
    created = await lg.threads.create(
        thread_id=thread_id,
        metadata={"user": "alice", "tags": ["a", "b"], "nested": {"k": 1}, "n": 5},
        if_exists="raise",
    )
    assert created["thread_id"] == thread_id
    assert created["status"] == "idle"
    assert created["values"] is None and created["interrupts"] == {} and created["error"] is None
    assert created["created_at"].endswith("+00:00")
    assert created == await lg.threads.get(thread_id)

    with pytest.raises(ConflictError) as conflict:
        await lg.threads.create(thread_id=thread_id)
    assert conflict.value.body == {"detail": f"Thread with ID {thread_id} already exists"}

    same = await lg.threads.create(thread_id=thread_id, if_exists="do_nothing", metadata={"x": 1})
    assert same["metadata"] == created["metadata"]  # the existing thread, unchanged

    generated = await lg.threads.create()
    assert uuid.UUID(generated["thread_id"]).version == 7


async def test_reserved_metadata_graph_id_and_ttl(lg: LangGraphClient) -> None:
    thread = await lg.threads.create(
        metadata={"thread_id": "x", "assistant_id": "y", "run_id": "z", "ok": True},
        graph_id="echo",
        ttl=60,
    )
    assert thread["metadata"] == {"ok": True, "graph_id": "echo"}
    assert "ttl" not in thread
    with_ttl = await lg.threads.get(thread["thread_id"], include=["ttl"])
    assert with_ttl["ttl"]["strategy"] == "delete"
    assert with_ttl["ttl"]["ttl_minutes"] == 60
    assert with_ttl["ttl"]["expires_at"] > thread["created_at"]

    keep = await lg.threads.create(ttl={"ttl": 5, "strategy": "keep_latest"})
    assert (await lg.threads.get(keep["thread_id"], include=["ttl"]))["ttl"]["strategy"] == (
        "keep_latest"
    )


async def test_update_merges_shallowly_and_resets_ttl(lg: LangGraphClient) -> None:
    thread = await lg.threads.create(metadata={"user": "alice", "nested": {"k": 1, "j": "x"}})
    tid = thread["thread_id"]
    updated = await lg.threads.update(
        tid, metadata={"user": "bob", "nested": {"z": 2}, "thread_id": "hijack"}
    )
    assert updated["metadata"] == {"user": "bob", "nested": {"z": 2}}
    assert updated["updated_at"] > thread["updated_at"]
    assert updated["state_updated_at"] == thread["state_updated_at"]

    nulled = await lg.threads.update(tid, metadata={"user": None})
    assert nulled["metadata"] == {"user": None, "nested": {"z": 2}}  # stored as null, not deleted

    assert await lg.threads.update(tid, metadata={"m": 1}, ttl=30, return_minimal=True) is None
    after = await lg.threads.get(tid, include=["ttl"])
    assert after["metadata"]["m"] == 1
    assert after["ttl"]["ttl_minutes"] == 30

    # searches see the merged metadata: only the keys that changed were re-indexed
    async def found(metadata: dict[str, object]) -> list[str]:
        return [t["thread_id"] for t in await lg.threads.search(metadata=metadata)]

    assert await found({"nested": {"z": 2}, "m": 1}) == [tid]
    assert await found({"user": None}) == [tid]
    assert await found({"user": "bob"}) == []
    assert await found({"nested": {"k": 1}}) == []
    assert await lg.threads.count(metadata={"m": 1, "nested": {"z": 2}}) == 1

    with pytest.raises(NotFoundError) as missing:
        await lg.threads.update(str(uuid.uuid4()), metadata={"a": 1})
    assert missing.value.body == {"detail": "Not Found"}


async def test_delete(lg: LangGraphClient) -> None:
    thread = await lg.threads.create()
    assert await lg.threads.delete(thread["thread_id"]) is None
    with pytest.raises(NotFoundError):
        await lg.threads.get(thread["thread_id"])
    with pytest.raises(NotFoundError) as again:
        await lg.threads.delete(thread["thread_id"])
    assert again.value.body == {"detail": f"Thread with ID {thread['thread_id']} not found"}


async def test_invalid_requests_are_422_with_detail(lg: LangGraphClient) -> None:
    for call in (
        lg.threads.create(thread_id="my-thread"),
        lg.threads.get("not-a-uuid"),
        lg.threads.delete("nope"),
    ):
        with pytest.raises(UnprocessableEntityError) as exc:
            await call
        assert exc.value.body == {"detail": "Invalid thread ID: must be a UUID"}
    for kwargs in (
        {"if_exists": "bogus"},
        {"ttl": {"ttl": 5, "strategy": "forever"}},
    ):
        with pytest.raises(UnprocessableEntityError) as exc:
            await lg.threads.create(**kwargs)
        assert isinstance(exc.value.body["detail"], str)
    for search in (
        {"limit": 0},
        {"limit": 1001},
        {"status": "done"},
        {"sort_by": "name"},
        {"select": ["thread_id", "bogus"]},
        {"extract": {"x": "status"}},
    ):
        with pytest.raises(UnprocessableEntityError):
            await lg.threads.search(**search)
    with pytest.raises(UnprocessableEntityError):
        await lg.threads.count(status="bogus")


async def test_numbers_beyond_what_the_database_holds(lg: LangGraphClient) -> None:
    """Too large an offset or TTL is a 422 naming the maximum; a 64-bit unsigned metadata value
    is kept and found by search on both databases."""
    for kwargs, maximum in (({"offset": 2**63}, 2**63 - 1),):
        with pytest.raises(UnprocessableEntityError) as exc:
            await lg.threads.search(**kwargs)  # type: ignore[arg-type]
        assert f"is greater than the maximum of {maximum}" in exc.value.body["detail"]
    for ttl in (1e300, {"ttl": 10.0**12, "strategy": "delete"}):
        with pytest.raises(UnprocessableEntityError) as exc:
            await lg.threads.create(ttl=ttl)  # type: ignore[arg-type]
        assert "is greater than the maximum of" in exc.value.body["detail"]
    tag = uuid.uuid4().hex
    made = await lg.threads.create(metadata={"tag": tag, "u64": 2**64 - 1}, graph_id="echo")
    assert made["metadata"]["u64"] == 2**64 - 1
    found = await lg.threads.search(metadata={"tag": tag, "u64": 2**64 - 1})
    assert [t["thread_id"] for t in found] == [made["thread_id"]]
    await lg.threads.update_state(made["thread_id"], {"n": 2**64 - 1}, as_node="n")
    assert await lg.threads.search(values={"n": 2**64 - 1}, metadata={"tag": tag})
    assert await lg.threads.count(metadata={"tag": tag, "u64": 2**64 - 2}) == 0


async def _seed(lg: LangGraphClient) -> dict[str, Any]:
    a = await lg.threads.create(metadata={"user": "alice", "tags": ["a", "b"], "n": 5})
    b = await lg.threads.create(metadata={"user": "bob", "nested": {"k": 1, "j": "x"}})
    c = await lg.threads.create(metadata={"user": "carol"}, graph_id="chat")
    await lg.threads.update_state(c["thread_id"], {"counter": 1, "topic": "x"}, as_node="n")
    d = await lg.threads.create(metadata={"user": "dave"}, graph_id="chat")
    await lg.threads.update_state(
        d["thread_id"], None, as_node="n"
    )  # no values: still a checkpoint
    return {"a": a, "b": b, "c": c, "d": d}


async def test_search_filters(lg: LangGraphClient) -> None:
    t = await _seed(lg)
    ids = lambda rows: {r["thread_id"] for r in rows}  # noqa: E731
    assert ids(await lg.threads.search(metadata={"user": "bob"})) == {t["b"]["thread_id"]}
    # jsonb containment: nested objects, array subset in any order, type-strict
    assert ids(await lg.threads.search(metadata={"nested": {"k": 1}})) == {t["b"]["thread_id"]}
    assert ids(await lg.threads.search(metadata={"tags": ["b"]})) == {t["a"]["thread_id"]}
    assert ids(await lg.threads.search(metadata={"tags": ["b", "a"]})) == {t["a"]["thread_id"]}
    assert await lg.threads.search(metadata={"n": "5"}) == []
    assert ids(await lg.threads.search(values={"counter": 1})) == {t["c"]["thread_id"]}
    assert await lg.threads.search(values={"counter": 2}) == []
    missing = str(uuid.uuid4())
    chosen = await lg.threads.search(ids=[t["a"]["thread_id"], t["c"]["thread_id"], missing])
    assert ids(chosen) == {t["a"]["thread_id"], t["c"]["thread_id"]}
    assert len(await lg.threads.search(status="idle", limit=100)) == 4
    assert await lg.threads.search(status="interrupted") == []
    # a thread with more metadata than SQLite's term index holds is still found
    wide = await lg.threads.create(metadata={f"k{i}": i for i in range(300)} | {"user": "wide"})
    found = await lg.threads.search(metadata={"k7": 7, "user": "wide"})
    assert ids(found) == {wide["thread_id"]}
    assert await lg.threads.count(metadata={"k299": 299}) == 1
    await lg.threads.delete(wide["thread_id"])
    assert await lg.threads.count() == 4
    assert await lg.threads.count(metadata={"user": "alice"}) == 1
    assert await lg.threads.count(values={"topic": "x"}) == 1
    assert await lg.threads.count(status="busy") == 0


async def test_search_order_pages_select_extract(
    lg: LangGraphClient, lg_server: Server, tenant: Tenant
) -> None:
    t = await _seed(lg)
    newest_first = [t[k]["thread_id"] for k in "dcba"]
    assert [r["thread_id"] for r in await lg.threads.search()] == newest_first
    asc = await lg.threads.search(sort_by="created_at", sort_order="asc")
    assert [r["thread_id"] for r in asc] == newest_first[::-1]
    by_id = await lg.threads.search(sort_by="thread_id")
    assert [r["thread_id"] for r in by_id] == sorted(newest_first, reverse=True)
    by_state = await lg.threads.search(sort_by="state_updated_at", sort_order="desc", limit=2)
    assert {r["thread_id"] for r in by_state} == {t["c"]["thread_id"], t["d"]["thread_id"]}

    page = await lg.threads.search(limit=2, offset=1)
    assert [r["thread_id"] for r in page] == newest_first[1:3]

    selected = await lg.threads.search(select=["thread_id", "status", "metadata"], limit=1)
    assert set(selected[0]) == {"thread_id", "status", "metadata"}

    extracted = await lg.threads.search(
        ids=[t["c"]["thread_id"]],
        extract={"topic": "values.topic", "user": "metadata.user", "missing": "values.nope"},
    )
    assert extracted[0]["extracted"] == {"topic": "x", "user": "carol", "missing": None}

    # pagination headers: LangGraph's "next + 1" total when more rows follow
    headers = {"x-api-key": tenant.api_key}
    async with httpx.AsyncClient(base_url=lg_server.url, headers=headers) as http:
        more = await http.post("/threads/search", json={"limit": 3, "offset": 0})
        assert more.headers["x-pagination-next"] == "3"
        assert more.headers["x-pagination-total"] == "4"
        last = await http.post("/threads/search", json={"limit": 3, "offset": 3})
        assert "x-pagination-next" not in last.headers
        assert last.headers["x-pagination-total"] == "4"
        bad = await http.post("/threads/search", json={"ids": ["nope"]})
        assert (bad.status_code, bad.json()) == (400, {"detail": "Invalid thread ID nope"})


async def test_copy_copies_metadata_state_and_checkpoints(lg: LangGraphClient) -> None:
    source = await lg.threads.create(metadata={"k": {"deep": [1]}}, graph_id="chat")
    sid = source["thread_id"]
    await lg.threads.update_state(
        sid, {"messages": [{"role": "user", "content": "hi"}]}, as_node="a"
    )
    await lg.threads.update_state(sid, {"topic": "t"}, as_node="a")
    copied = await lg.threads.copy(sid)
    assert isinstance(copied, dict)
    cid = copied["thread_id"]
    assert cid != sid
    assert copied["metadata"] == {"k": {"deep": [1]}, "graph_id": "chat"}
    assert copied["values"]["topic"] == "t"
    source_history = await lg.threads.get_history(sid)
    copy_history = await lg.threads.get_history(cid)
    assert [s["checkpoint_id"] for s in copy_history] == [
        s["checkpoint_id"] for s in source_history
    ]
    assert all(s["checkpoint"]["thread_id"] == cid for s in copy_history)
    assert message_contents((await lg.threads.get_state(cid))["values"]) == [("human", "hi")]
    # the copy is its own thread: writing to it leaves the source alone
    await lg.threads.update_state(cid, {"topic": "changed"}, as_node="a")
    assert (await lg.threads.get(sid))["values"]["topic"] == "t"

    with pytest.raises(ConflictError) as missing:
        await lg.threads.copy(str(uuid.uuid4()))
    assert missing.value.body == {"detail": "Conflict"}


async def test_prune(lg: LangGraphClient) -> None:
    a = await lg.threads.create()
    b = await lg.threads.create()
    kept = await lg.threads.create(graph_id="chat")
    for n in range(3):
        await lg.threads.update_state(kept["thread_id"], {"n": n}, as_node="a")
    result = await lg.threads.prune([a["thread_id"], b["thread_id"], str(uuid.uuid4())])
    assert result == {"pruned_count": 2}
    with pytest.raises(NotFoundError):
        await lg.threads.get(a["thread_id"])
    assert await lg.threads.prune([]) == {"pruned_count": 0}

    trimmed = await lg.threads.prune([kept["thread_id"]], strategy="keep_latest")
    assert trimmed == {"pruned_count": 1}
    history = await lg.threads.get_history(kept["thread_id"])
    assert len(history) == 1 and history[0]["values"] == {"n": 2}
    assert (await lg.threads.get(kept["thread_id"]))["values"] == {"n": 2}
    with pytest.raises(UnprocessableEntityError):
        await lg.threads.prune(["not-a-uuid"])


def test_sync_client(lg_sync: SyncLangGraphClient) -> None:
    thread = lg_sync.threads.create(metadata={"via": "sync"}, graph_id="chat")
    tid = thread["thread_id"]
    assert lg_sync.threads.get(tid)["metadata"] == {"via": "sync", "graph_id": "chat"}
    assert lg_sync.threads.update(tid, metadata={"x": 1})["metadata"]["x"] == 1
    assert [t["thread_id"] for t in lg_sync.threads.search(metadata={"via": "sync"})] == [tid]
    assert lg_sync.threads.count(metadata={"via": "sync"}) == 1
    update = lg_sync.threads.update_state(
        tid, {"messages": [{"role": "user", "content": "hello"}]}, as_node="a"
    )
    state = lg_sync.threads.get_state(tid)
    assert state["checkpoint_id"] == update["checkpoint_id"]
    assert message_contents(state["values"]) == [("human", "hello")]
    assert len(lg_sync.threads.get_history(tid)) == 1
    copy = lg_sync.threads.copy(tid)
    assert lg_sync.threads.prune([copy["thread_id"]]) == {"pruned_count": 1}
    lg_sync.threads.delete(tid)
    with pytest.raises(NotFoundError):
        lg_sync.threads.get_state(tid)


async def test_same_threads_through_native_api(
    lg: LangGraphClient, lg_server: Server, tenant: Tenant
) -> None:
    thread = await lg.threads.create(metadata={"user": "alice"}, graph_id="chat")
    tid = thread["thread_id"]
    first = await lg.threads.update_state(
        tid, {"messages": [{"role": "user", "content": "hi"}]}, as_node="a"
    )
    await lg.threads.update_state(tid, {"topic": "t"}, as_node="a")
    with Client(lg_server.url, tenant.api_key) as native:
        seen = native.threads.get(tid, include_steps=False)
        assert seen.metadata == {"user": "alice", "graph_id": "chat"}
        state = native.threads.state(tid)
        assert state.values["topic"] == "t"
        assert state.parent_checkpoint_id == first["checkpoint_id"]
        history = native.threads.history(tid, limit=10)
        assert [s.checkpoint_id for s in history][1] == first["checkpoint_id"]
        older = native.threads.state(tid, checkpoint_id=first["checkpoint_id"])
        assert "topic" not in older.values
        assert native.threads.history(tid, before=first["checkpoint_id"]) == []
        # a thread made natively reads as an empty LangGraph state, and can be found by metadata
        made = native.threads.create(metadata={"origin": "native"})
    assert (await lg.threads.get_state(made.id))["values"] == {}
    found = await lg.threads.search(metadata={"origin": "native"})
    assert [t["thread_id"] for t in found] == [made.id]
