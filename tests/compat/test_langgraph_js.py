"""Requests shaped the way LangGraph's JS SDK (ThreadsClient) sends them, over plain HTTP.

The JS client JSON-stringifies non-scalar query params (``include=["ttl"]``,
``stream_mode=["a","b"]``), always sends ``metadata`` on create, sends history cursors as
``{"configurable": {...}}``, parses every 2xx body except 202/204 as JSON, and retries 5xx.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Server, Tenant


@pytest.fixture
def js(lg_server: Server, tenant: Tenant) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=lg_server.url,
        headers={"x-api-key": tenant.api_key, "content-type": "application/json"},
        timeout=30,
    ) as client:
        yield client


def q(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def test_js_shaped_requests(js: httpx.Client) -> None:
    created = js.post(
        "/threads",
        json={"metadata": {}, "graph_id": "ignored-top-level", "ttl": {"ttl": 30}},
    )
    assert created.status_code == 200
    thread = created.json()
    tid = thread["thread_id"]
    assert thread["metadata"] == {}

    with_ttl = js.get(f"/threads/{tid}", params={"include": q(["ttl"])}).json()
    assert with_ttl["ttl"]["strategy"] == "delete" and with_ttl["ttl"]["ttl_minutes"] == 30

    assert js.patch(f"/threads/{tid}", json={"metadata": {"graph_id": "chat"}}).status_code == 200
    ids = []
    for i in range(3):
        answer = js.post(f"/threads/{tid}/state", json={"values": {"i": i}, "as_node": "a"})
        assert answer.status_code == 200
        assert answer.json()["configurable"]["checkpoint_id"] == answer.json()["checkpoint_id"]
        ids.append(answer.json()["checkpoint_id"])

    cursor = {"configurable": {"thread_id": tid, "checkpoint_ns": "", "checkpoint_id": ids[2]}}
    older = js.post(f"/threads/{tid}/history", json={"limit": 10, "before": cursor}).json()
    assert [s["checkpoint_id"] for s in older] == [ids[1], ids[0]]
    by_get = js.get(f"/threads/{tid}/history", params={"limit": 1, "before": ids[2]}).json()
    assert [s["checkpoint_id"] for s in by_get] == [ids[1]]
    bad_limit = js.get(f"/threads/{tid}/history", params={"limit": "abc"})
    assert (bad_limit.status_code, bad_limit.json()) == (422, {"detail": "Invalid limit abc"})
    assert len(js.post(f"/threads/{tid}/history", json={}).json()) == 1  # server default 1

    state = js.get(
        f"/threads/{tid}/state", params={"subgraphs": "true", "select": q(["values.i"])}
    ).json()
    assert state["values"] == {"i": 2}
    at = js.get(f"/threads/{tid}/state/{ids[0]}").json()
    assert at["values"] == {"i": 0}
    posted = js.post(
        f"/threads/{tid}/state/checkpoint",
        json={"checkpoint": {"checkpoint_id": ids[1]}, "subgraphs": False},
    ).json()
    assert posted["values"] == {"i": 1}

    search = js.post(
        "/threads/search",
        json={
            "metadata": {"graph_id": "chat"},
            "limit": 10,
            "offset": 0,
            "sort_by": "updated_at",
            "sort_order": "desc",
            "select": ["thread_id", "values", "context"],
        },
    )
    assert search.json() == [{"thread_id": tid, "values": {"i": 2}}]
    assert js.post("/threads/count", json={"values": {"i": 2}}).json() == 1

    # JS patchState: PATCH /threads/{id}/state is not part of the protocol (405 in LangGraph)
    patch_state = js.patch(f"/threads/{tid}/state", json={"metadata": {"a": 1}})
    assert (patch_state.status_code, patch_state.json()) == (
        405,
        {"detail": "Method Not Allowed"},
    )
    assert js.put(f"/threads/{tid}", json={}).status_code == 405

    with js.stream(
        "GET",
        f"/threads/{tid}/stream",
        params={"stream_mode": q(["state_update", "lifecycle"])},
        headers={"last-event-id": "-", "accept": "text/event-stream"},
    ) as stream:
        assert stream.status_code == 200
        lines = []
        for line in stream.iter_lines():
            lines.append(line)
            if len([x for x in lines if x.startswith("event: ")]) == 3:
                break
    assert [x for x in lines if x.startswith("event: ")] == ["event: state_update"] * 3

    copied = js.post(f"/threads/{tid}/copy")  # no body, no content-type
    assert copied.status_code == 200 and copied.json()["values"] == {"i": 2}
    pruned = js.post(
        "/threads/prune", json={"thread_ids": [copied.json()["thread_id"]], "strategy": "delete"}
    )
    assert pruned.json() == {"pruned_count": 1}
    deleted = js.delete(f"/threads/{tid}")
    assert (deleted.status_code, deleted.content) == (204, b"")


def test_js_error_bodies(js: httpx.Client) -> None:
    for response, status in (
        (js.post("/threads", content=b"{not json"), 422),
        (js.post("/threads", content=b""), 422),
        (js.post("/threads", json={"metadata": None}), 422),
        (js.post("/threads", json={"metadata": "x"}), 422),
        (js.get(f"/threads/{uuid.uuid4()}"), 404),
        (js.post("/threads/not-a-uuid/copy"), 400),
        (js.post("/threads/count", content=b""), 422),
        (js.post("/threads/prune", json={"thread_ids": ["x"]}), 422),
    ):
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"detail"} and isinstance(body["detail"], str)
    anonymous = httpx.get(f"{js.base_url}/threads/{uuid.uuid4()}")
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"detail"}
