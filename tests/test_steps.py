"""Steps and batched ingest through the SDK on a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from threadline import Client, ConflictError, NotFoundError, UnprocessableEntityError
from threadline.client.types import Generation
from threadline.core.filters import Condition, equals
from threadline.storage import attachments, messages, scores, steps
from threadline.storage.database import Database
from threadline.storage.pagination import PageRequest


def test_step_crud(client: Client) -> None:
    thread = client.threads.create()
    step = client.steps.create(
        thread_id=thread.id,
        type="llm",
        name="gpt-call",
        input={"content": "hi"},
        output={"content": "hello"},
        metadata={"k": 1},
        tags=["a"],
        start_time="2025-01-01T00:00:00Z",
        end_time="2025-01-01T00:00:02.5Z",
        environment="prod",
        generation=Generation(
            model="gpt-4o",
            provider="openai",
            messages=[{"role": "user", "content": "hi"}],
            message_completion={"role": "assistant", "content": "hello"},
            token_count=12,
            input_token_count=5,
            output_token_count=7,
            duration=2.5,
        ),
    )
    got = client.steps.get(step.id)
    assert got.thread_id == thread.id and got.type == "llm" and got.name == "gpt-call"
    assert got.input == {"content": "hi"} and got.output == {"content": "hello"}
    assert got.start_time is not None and got.end_time is not None
    assert (got.end_time - got.start_time).total_seconds() == 2.5
    assert got.generation is not None
    assert got.generation.type == "chat" and got.generation.token_count == 12
    assert got.generation.messages == [{"role": "user", "content": "hi"}]

    updated = client.steps.update(step.id, output={"content": "bye"}, tags=["b"])
    assert updated.output == {"content": "bye"} and updated.tags == ["b"]
    assert updated.input == {"content": "hi"}, "absent fields are kept"
    assert client.steps.update(step.id, error=None).error is None

    client.steps.delete(step.id)
    with pytest.raises(NotFoundError):
        client.steps.get(step.id)
    with pytest.raises(NotFoundError):
        client.steps.update(step.id, name="x")


def test_create_step_creates_missing_thread(client: Client) -> None:
    step = client.steps.create(id="lonely", thread_id="new-thread", type="user_message")
    assert client.threads.get("new-thread").steps[0].id == step.id  # type: ignore[index]
    with pytest.raises(ConflictError):
        client.steps.create(id="lonely")


def test_steps_without_a_thread(client: Client) -> None:
    step = client.steps.create(
        type="llm", generation={"type": "completion", "prompt": "2+2=", "completion": "4"}
    )
    got = client.steps.get(step.id)
    assert got.thread_id is None and got.generation is not None
    assert got.generation.type == "completion" and got.generation.completion == "4"


def test_batch_ingest_is_idempotent_and_accepts_children_first(client: Client) -> None:
    batch = [
        {"id": "child", "thread_id": "bt", "parent_id": "root", "type": "tool", "name": "search"},
        {"id": "root", "thread_id": "bt", "type": "run", "name": "agent"},
        {"id": "other", "thread_id": "bt2", "type": "user_message", "output": {"content": "x"}},
    ]
    first = client.steps.ingest(batch)
    assert first.count == 3 and first.threads_created == 2
    before = client.threads.get("bt")
    second = client.steps.ingest(batch)
    assert second.count == 3 and second.threads_created == 0
    after = client.threads.get("bt")
    assert [s.model_dump() for s in after.steps or []] == [
        s.model_dump() for s in before.steps or []
    ]
    assert client.steps.get("child").parent_id == "root"
    assert client.steps.list(thread_id="bt").total_count == 2


def test_batch_merges_fields_present(client: Client) -> None:
    client.steps.ingest(
        [{"id": "m", "thread_id": "mt", "type": "run", "name": "n", "input": {"a": 1}}]
    )
    client.steps.ingest([{"id": "m", "output": {"b": 2}}])
    got = client.steps.get("m")
    assert got.name == "n" and got.input == {"a": 1} and got.output == {"b": 2}
    assert got.thread_id == "mt"


def test_batch_of_one_thousand(client: Client) -> None:
    result = client.steps.ingest(
        [
            {"id": f"k{i}", "thread_id": f"kt{i % 10}", "type": "assistant_message"}
            for i in range(1000)
        ]
    )
    assert result.count == 1000 and result.threads_created == 10
    assert client.threads.count() == 10
    assert client.steps.list(limit=1).total_count == 1000


def test_batch_limits_and_validation(client: Client) -> None:
    with pytest.raises(UnprocessableEntityError) as err:
        client.steps.ingest([{"id": f"x{i}"} for i in range(1001)])
    assert err.value.field == "steps"
    with pytest.raises(UnprocessableEntityError) as err:
        client.steps.ingest([{"id": "ok", "thread_id": "vt"}, {"thread_id": "vt"}])
    assert err.value.field == "steps[1].id"
    with pytest.raises(UnprocessableEntityError) as err:
        client.steps.ingest([{"id": "ok", "type": "not-a-type"}])
    assert err.value.field == "steps[0].type"
    # nothing of the rejected batches was written
    with pytest.raises(NotFoundError):
        client.threads.get("vt")
    with pytest.raises(NotFoundError):
        client.steps.get("ok")


def test_list_steps_by_thread_and_type(client: Client) -> None:
    client.steps.ingest(
        [
            {
                "id": f"l{i}",
                "thread_id": "lt",
                "type": "user_message" if i % 2 else "assistant_message",
            }
            for i in range(10)
        ]
    )
    page = client.steps.list(thread_id="lt", type="user_message", first=2)
    assert page.total_count == 5
    assert sorted(s.id for s in page) == ["l1", "l3", "l5", "l7", "l9"]
    asc = client.steps.list(thread_id="lt", order="asc", limit=10).data
    desc = client.steps.list(thread_id="lt", order="desc", limit=10).data
    assert [s.id for s in asc] == [s.id for s in reversed(desc)]


def test_unicode_and_large_payloads(client: Client) -> None:
    text = "日本語 🧵 ünïcödé " * 2000
    big = {"content": text, "list": list(range(5000))}
    step = client.steps.create(thread_id="u", type="user_message", output=big, name="名前")
    got = client.steps.get(step.id)
    assert got.output == big and got.name == "名前"


def test_a_created_step_is_answered_as_a_read_of_it_answers(http: httpx.Client) -> None:
    """POST /v1/steps answers the step as GET /v1/steps/{id} does (same keys, same values),
    and the step's existing thread counts as updated."""
    thread = http.post("/v1/threads", json={}).json()
    body = {
        "thread_id": thread["id"],
        "type": "assistant_message",
        "name": "bot",
        "output": {"content": "hello", "n": 1.5},
        "metadata": {"k": [1, 2]},
        "tags": ["x"],
        "start_time": "2025-01-01T00:00:00.25Z",
        "platforms": {"slack": {"ts": "1.2"}},
    }
    created = http.post("/v1/steps", json=body)
    assert created.status_code == 201, created.text
    read = http.get(f"/v1/steps/{created.json()['id']}")
    assert created.json() == read.json()
    assert list(created.json()) == list(read.json())
    later = http.get(f"/v1/threads/{thread['id']}").json()
    assert later["updated_at"] > thread["updated_at"]


async def test_one_threads_steps_page_as_the_general_search_pages_it(
    db: Database, tenant: Tenant
) -> None:
    """The prepared one-thread list (steps.one_thread) answers every page exactly as the
    general search does (the extra condition below forces that path)."""
    project = tenant.project_id

    def seed(conn: Any) -> str:
        rows = [
            {"id": f"s{i}", "thread_id": "t1", "type": "user_message", "metadata": {"i": i}}
            for i in range(7)
        ]
        steps.upsert_batch(conn, project, rows)
        steps.upsert_batch(conn, project, [{"id": "other", "thread_id": "t2", "type": "run"}])
        reactions = {"s2": {"👍": ["u1"]}}
        messages.replace_reactions(conn, project, reactions)
        score = {"step_id": "s3", "name": "q", "type": "HUMAN", "value": 1.0, "tags": []}
        scores.create_many(conn, project, [score])
        attachments.create(conn, project, {"step_id": "s4", "name": "a.txt", "metadata": {}})
        return "t1"

    thread_id = await db.write(seed)
    one = [equals("threadId", thread_id)]
    general = [*one, Condition("type", "string", "neq", "no-such-type")]
    assert steps.one_thread(one, PageRequest()) == thread_id
    assert steps.one_thread(general, PageRequest()) is None
    for page in (
        PageRequest(limit=3),
        PageRequest(limit=3, offset=3),
        PageRequest(limit=3, offset=6),
        PageRequest(limit=3, offset=9),
        PageRequest(limit=4, descending=False, offset=2),
        PageRequest(first=20, include_total=False),
    ):
        fast = await db.read(steps.search, project, one, page)
        slow = await db.read(steps.search, project, general, page)
        assert fast == slow, page
    first = await db.read(steps.search, project, one, PageRequest(limit=10))
    assert [s["id"] for s in first["data"]][:1] == ["s6"] and first["total_count"] == 7
    assert {s["id"]: s["reactions"] for s in first["data"]}["s2"] == {"👍": ["u1"]}
    by_id = {s["id"]: s for s in first["data"]}
    assert [x["name"] for x in by_id["s3"]["scores"]] == ["q"]
    assert [x["name"] for x in by_id["s4"]["attachments"]] == ["a.txt"]
