"""Every public method of literalai's ``LiteralClient.api`` and ``AsyncLiteralClient.api``
(literalai 0.1.300, unmodified) against a real Threadline server, on SQLite and PostgreSQL.

Each test runs twice per backend: with the sync API and with the async one (``call`` awaits the
async results). Assertions are round trips: what was created reads back equal, filters select the
right rows, pages cover every row once, updates and deletes take effect.
"""

from __future__ import annotations

import inspect
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from threadline import Client


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, literal: Any, aliteral: Any) -> Any:
    return literal.api if request.param == "sync" else aliteral.api


async def call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    result = method(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


async def all_pages(method: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """Walk ``first/after`` pages until ``hasNextPage`` is false; every item once."""
    seen: list[Any] = []
    after = None
    for _ in range(50):
        page = await call(method, after=after, **kwargs)
        seen.extend(page.data)
        if not page.page_info.has_next_page:
            return seen
        after = page.page_info.end_cursor
    raise AssertionError("pagination did not end")


async def fetch(url: str) -> httpx.Response:
    """GET a file URL the way a browser would: no API key."""
    async with httpx.AsyncClient() as http:
        return await http.get(url)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- users ------------------------------------------------------------------------------------


async def test_users_round_trip(api: Any) -> None:
    alice = await call(api.create_user, "alice@example.com", {"plan": "pro"})
    assert (
        alice.id and alice.identifier == "alice@example.com" and alice.metadata == {"plan": "pro"}
    )
    by_id = await call(api.get_user, id=alice.id)
    by_identifier = await call(api.get_user, identifier="alice@example.com")
    assert by_id.id == by_identifier.id == alice.id
    assert by_id.metadata == {"plan": "pro"}

    updated = await call(api.update_user, alice.id, metadata={"plan": "team"})
    assert updated.identifier == "alice@example.com" and updated.metadata == {"plan": "team"}
    again = await call(api.get_or_create_user, "alice@example.com", {"ignored": True})
    assert again.id == alice.id and again.metadata == {"plan": "team"}
    bob = await call(api.get_or_create_user, "bob@example.com")
    assert bob.id != alice.id and bob.metadata == {}
    assert await call(api.get_user, identifier="nobody@example.com") is None

    for i in range(3):
        await call(api.create_user, f"user-{i}@example.com")
    everyone = await all_pages(api.get_users, first=2)
    assert sorted(u.identifier for u in everyone) == sorted(
        ["alice@example.com", "bob@example.com", *(f"user-{i}@example.com" for i in range(3))]
    )
    one = await call(api.get_users, first=1)
    assert len(one.data) == 1 and one.total_count == 5 and one.page_info.has_next_page
    found = await call(
        api.get_users,
        filters=[{"field": "identifier", "operator": "eq", "value": "bob@example.com"}],
    )
    assert [u.id for u in found.data] == [bob.id]

    deleted = await call(api.delete_user, bob.id)
    assert deleted == bob.id
    assert await call(api.get_user, id=bob.id) is None


async def test_user_aggregates(api: Any) -> None:
    user = await call(api.create_user, uid("agg"))
    thread = await call(api.create_thread, name="with tokens", participant_id=user.id)
    await call(
        api.send_steps,
        [
            {
                "id": uid("llm"),
                "threadId": thread.id,
                "type": "llm",
                "startTime": "2024-01-01T00:00:00Z",
                "endTime": "2024-01-01T00:00:02.5Z",
                "generation": {"type": "CHAT", "model": "gpt-4o", "tokenCount": 42},
            }
        ],
    )
    # the SDK's User drops the aggregates; read them as get_users' document selects them
    query = """query Users($filters: [participantsInputType!]) {
        participants(filters: $filters) { edges { node { threadCount tokenCount lastEngaged } } }
    }"""
    variables = {"filters": [{"field": "identifier", "operator": "eq", "value": user.identifier}]}
    raw = await call(api.make_gql_call, "get users", query, variables)
    (edge,) = raw["data"]["participants"]["edges"]
    assert edge["node"]["threadCount"] == 1 and edge["node"]["tokenCount"] == 42
    assert edge["node"]["lastEngaged"].endswith("Z")


# --- threads ----------------------------------------------------------------------------------


async def test_threads_round_trip(api: Any) -> None:
    user = await call(api.create_user, uid("u"))
    created = await call(
        api.create_thread,
        name="Refund",
        metadata={"channel": "web"},
        participant_id=user.id,
        tags=["a"],
    )
    assert created.id and created.participant_id == user.id
    read = await call(api.get_thread, created.id)
    assert (read.name, read.metadata, read.tags) == ("Refund", {"channel": "web"}, ["a"])
    assert read.participant_id == user.id and read.steps == []

    updated = await call(api.update_thread, created.id, tags=["b", "c"])
    assert updated.tags == ["b", "c"] and updated.name == "Refund"
    assert (await call(api.get_thread, created.id)).tags == ["b", "c"]

    own_id = str(uuid.uuid4())
    up = await call(api.upsert_thread, own_id, name="first", tags=["x"])
    assert up.id == own_id and up.name == "first"
    up = await call(api.upsert_thread, own_id, name="second")
    assert up.name == "second" and up.tags == ["x"]  # absent means unchanged

    assert await call(api.delete_thread, own_id) is True
    assert await call(api.get_thread, own_id) is None
    assert await call(api.delete_thread, own_id) is False


async def test_threads_filters_order_and_pages(api: Any) -> None:
    ids = []
    for i in range(5):
        thread = await call(
            api.create_thread,
            name=f"t{i}",
            metadata={"i": i, "kind": "even" if i % 2 == 0 else "odd"},
            tags=["even"] if i % 2 == 0 else ["odd"],
        )
        ids.append(thread.id)
    newest = await call(
        api.get_threads, first=1, order_by={"column": "createdAt", "direction": "DESC"}
    )
    assert [t.id for t in newest.data] == [ids[-1]] and newest.total_count == 5
    oldest = await call(
        api.list_threads, first=1, order_by={"column": "createdAt", "direction": "ASC"}
    )
    assert [t.id for t in oldest.data] == [ids[0]]

    walked = await all_pages(api.get_threads, first=2)
    assert sorted(t.id for t in walked) == sorted(ids)
    listed = await all_pages(api.list_threads, first=2)
    assert [t.id for t in listed] == [t.id for t in walked]

    evens = await call(
        api.get_threads, filters=[{"field": "tags", "operator": "in", "value": ["even"]}]
    )
    assert sorted(t.id for t in evens.data) == sorted(ids[0::2])
    odd_meta = await call(
        api.list_threads,
        filters=[{"field": "metadata", "operator": "eq", "value": "odd", "path": "kind"}],
    )
    assert sorted(t.id for t in odd_meta.data) == sorted(ids[1::2])
    named = await call(
        api.get_threads, filters=[{"field": "name", "operator": "ilike", "value": "T3"}]
    )
    assert [t.id for t in named.data] == [ids[3]]


async def test_thread_steps_kept_and_aggregates(api: Any) -> None:
    thread_id = str(uuid.uuid4())
    await call(
        api.send_steps,
        [
            {
                "id": uid("msg"),
                "threadId": thread_id,
                "type": "user_message",
                "output": {"content": "hi"},
                "startTime": "2024-01-01T00:00:00Z",
                "endTime": "2024-01-01T00:00:00Z",
            },
            {
                "id": uid("llm"),
                "threadId": thread_id,
                "type": "llm",
                "startTime": "2024-01-01T00:00:01Z",
                "endTime": "2024-01-01T00:00:03Z",
                "generation": {"type": "CHAT", "model": "m", "tokenCount": 7},
            },
        ],
    )
    page = await call(
        api.get_threads,
        filters=[{"field": "id", "operator": "eq", "value": thread_id}],
        step_types_to_keep=["user_message"],
    )
    (thread,) = page.data
    assert [s.type for s in thread.steps] == ["user_message"]
    listed = await call(
        api.list_threads, filters=[{"field": "tokenCount", "operator": "gt", "value": 5}]
    )
    assert [t.id for t in listed.data] == [thread_id]
    # the SDK's Thread drops the aggregates Chainlit's list reads; read them as selected
    query = """query T($id: String!) { threadDetail(id: $id) { tokenCount duration } }"""
    raw = await call(api.make_gql_call, "get thread", query, {"id": thread_id})
    assert raw["data"]["threadDetail"] == {"tokenCount": 7, "duration": pytest.approx(3.0)}


# --- steps ------------------------------------------------------------------------------------


async def test_steps_round_trip(api: Any) -> None:
    thread = await call(api.create_thread, name="steps")
    step = await call(
        api.create_step,
        thread_id=thread.id,
        type="tool",
        name="search",
        input={"q": "refund"},
        metadata={"k": 1},
        tags=["t1"],
        start_time="2024-05-01T10:00:00Z",
    )
    assert step.id and step.thread_id == thread.id
    read = await call(api.get_step, step.id)
    assert (read.name, read.type, read.input, read.metadata, read.tags) == (
        "search",
        "tool",
        {"q": "refund"},
        {"k": 1},
        ["t1"],
    )
    assert read.start_time == "2024-05-01T10:00:00.000000Z"

    # update_step sends every argument, unset ones as null: null means unchanged
    await call(api.update_step, step.id, output={"content": "found"})
    read = await call(api.get_step, step.id)
    assert read.output == {"content": "found"} and read.input == {"q": "refund"}
    assert read.name == "search" and read.metadata == {"k": 1} and read.tags == ["t1"]
    changed = await call(api.update_step, step.id, metadata={"k": 2}, tags=["t2"])
    assert changed.metadata == {"k": 2} and changed.tags == ["t2"]

    other = await call(api.create_step, thread_id=thread.id, type="run", name="other")
    tagged = await call(
        api.get_steps, filters=[{"field": "tags", "operator": "in", "value": ["t2"]}]
    )
    assert [s.id for s in tagged.data] == [step.id]
    in_thread = await all_pages(
        api.get_steps,
        first=1,
        filters=[{"field": "threadId", "operator": "eq", "value": thread.id}],
    )
    assert sorted(s.id for s in in_thread) == sorted([step.id, other.id])
    newest = await call(
        api.get_steps, first=1, order_by={"column": "createdAt", "direction": "DESC"}
    )
    assert newest.data[0].id == other.id

    assert await call(api.delete_step, step.id) is True
    assert await call(api.get_step, step.id) is None
    assert await call(api.delete_step, step.id) is False


async def test_send_steps_is_an_idempotent_merging_upsert(api: Any) -> None:
    thread_id = str(uuid.uuid4())
    parent, child = uid("parent"), "5683994988638824770"  # an OTel decimal span id
    batch = [
        {"id": child, "threadId": thread_id, "parentId": parent, "type": "llm", "name": "gpt"},
        {"id": parent, "threadId": thread_id, "type": "run", "name": "agent", "input": {"a": 1}},
    ]
    result = await call(api.send_steps, batch)
    assert set(result["data"]) == {"step0", "step1"}
    await call(api.send_steps, batch)  # the SDK retries a batch once: nothing changes
    # a later partial upsert keeps what it does not name
    await call(api.send_steps, [{"id": parent, "threadId": thread_id, "output": {"b": 2}}])
    thread = await call(api.get_thread, thread_id)
    assert sorted(s.id for s in thread.steps) == sorted([parent, child])
    by_id = {s.id: s for s in thread.steps}
    assert by_id[child].parent_id == parent
    assert by_id[parent].input == {"a": 1} and by_id[parent].output == {"b": 2}
    assert by_id[parent].name == "agent"
    await call(api.upsert_thread, thread_id, name="named later")
    assert (await call(api.get_thread, thread_id)).name == "named later"


# --- scores -----------------------------------------------------------------------------------


async def test_scores_round_trip(api: Any) -> None:
    thread = await call(api.create_thread, name="scored")
    step = await call(api.create_step, thread_id=thread.id, type="llm", name="answer")
    first = await call(
        api.create_score,
        name="relevance",
        value=0.5,
        type="AI",
        step_id=step.id,
        comment="ok",
        tags=["auto"],
    )
    assert first.id and (first.name, first.value, first.type, first.comment, first.tags) == (
        "relevance",
        0.5,
        "AI",
        "ok",
        ["auto"],
    )
    updated = await call(api.update_score, first.id, {"value": 0})
    assert updated.value == 0 and updated.comment == "ok"  # absent comment is kept

    made = await call(
        api.create_scores,
        [
            {"name": "user-feedback", "type": "HUMAN", "value": 1, "stepId": step.id},
            {"name": "latency", "type": "CODE", "value": 120.0, "stepId": step.id, "label": "ms"},
        ],
    )
    assert len(made) == 2
    assert await call(api.create_scores, []) == []
    newest = await call(
        api.get_scores, first=1, order_by={"column": "createdAt", "direction": "DESC"}
    )
    assert newest.data[0].name in ("user-feedback", "latency") and newest.total_count == 3
    human = await call(
        api.get_scores, filters=[{"field": "type", "operator": "eq", "value": "HUMAN"}]
    )
    assert [s.name for s in human.data] == ["user-feedback"]
    big = await call(api.get_scores, filters=[{"field": "value", "operator": "gt", "value": 50}])
    assert [s.name for s in big.data] == ["latency"]
    on_step = await call(api.get_step, step.id)
    assert sorted(s.name for s in on_step.scores) == ["latency", "relevance", "user-feedback"]

    await call(api.delete_score, first.id)
    remaining = await all_pages(api.get_scores, first=1)
    assert sorted(s.name for s in remaining) == ["latency", "user-feedback"]


# --- attachments ------------------------------------------------------------------------------


# literalai uploads raw bytes with httpx's deprecated ``data=bytes``
@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
async def test_attachments_round_trip(api: Any) -> None:
    thread = await call(api.create_thread, name="files")
    step = await call(api.create_step, thread_id=thread.id, type="run", name="r")
    link = await call(
        api.create_attachment,
        step_id=step.id,
        name="doc",
        url="https://example.com/doc.pdf",
        mime="application/pdf",
        metadata={"pages": 3},
    )
    assert link.id and link.thread_id == thread.id and link.url == "https://example.com/doc.pdf"
    read = await call(api.get_attachment, link.id)
    assert (read.name, read.mime, read.metadata) == ("doc", "application/pdf", {"pages": 3})
    renamed = await call(api.update_attachment, link.id, {"name": "manual"})
    assert renamed.name == "manual" and renamed.metadata == {"pages": 3}

    stored = await call(
        api.create_attachment,
        step_id=step.id,
        name="hello.txt",
        content=b"hello bytes",
        mime="text/plain",
    )
    assert stored.object_key and stored.url
    fetched = await fetch(stored.url)  # no API key: the URL is signed
    assert fetched.status_code == 200 and fetched.content == b"hello bytes"
    thread_read = await call(api.get_thread, thread.id)
    (read_step,) = thread_read.steps
    assert sorted(a.name for a in read_step.attachments) == ["hello.txt", "manual"]
    again = next(a for a in read_step.attachments if a.name == "hello.txt")
    assert (await fetch(again.url)).content == b"hello bytes"

    uploaded = await call(api.upload_file, b"raw", thread_id=thread.id, mime="image/png")
    assert uploaded["object_key"] and (await fetch(uploaded["url"])).content == b"raw"

    await call(api.delete_attachment, link.id)
    assert await call(api.get_attachment, link.id) is None


# --- generations ------------------------------------------------------------------------------


async def test_generations_round_trip(api: Any) -> None:
    from tests.compat.literal import literalai

    chat = literalai.ChatGeneration(
        model="gpt-4o",
        provider="openai",
        messages=[{"role": "user", "content": "hi"}],
        message_completion={"role": "assistant", "content": "hello"},
        token_count=12,
        settings={"temperature": 0},
        tags=["chat"],
    )
    made = await call(api.create_generation, chat)
    assert made.id
    completion = literalai.CompletionGeneration(
        model="text-model", prompt="1+1=", completion="2", token_count=3
    )
    made2 = await call(api.create_generation, completion)
    newest = await call(
        api.get_generations, first=1, order_by={"column": "createdAt", "direction": "DESC"}
    )
    assert [g.id for g in newest.data] == [made2.id]
    assert newest.data[0].completion == "2"
    by_model = await call(
        api.get_generations, filters=[{"field": "model", "operator": "eq", "value": "gpt-4o"}]
    )
    (gen,) = by_model.data
    assert gen.id == made.id and gen.token_count == 12 and gen.provider == "openai"
    assert gen.messages == [{"role": "user", "content": "hi"}]
    assert gen.message_completion == {"role": "assistant", "content": "hello"}
    everything = await all_pages(api.get_generations, first=1)
    assert sorted(g.id for g in everything) == sorted([made.id, made2.id])


# --- datasets and experiments -----------------------------------------------------------------


async def test_datasets_round_trip(api: Any) -> None:
    name = uid("ds")
    ds = await call(api.create_dataset, name, description="d", metadata={"m": 1})
    assert ds.id and ds.name == name and ds.type == "key_value"
    updated = await call(api.update_dataset, ds.id, description="new")
    assert updated.description == "new" and updated.name == name and updated.metadata == {"m": 1}

    item = await call(api.create_dataset_item, ds.id, {"q": "x"}, {"a": "y"}, {"src": "test"})
    assert (item.input, item.expected_output, item.metadata) == (
        {"q": "x"},
        {"a": "y"},
        {"src": "test"},
    )
    assert (await call(api.get_dataset_item, item.id)).input == {"q": "x"}

    thread = await call(api.create_thread, name="source")
    step = await call(
        api.create_step, thread_id=thread.id, type="run", input={"in": 1}, output={"out": 2}
    )
    from_step = await call(api.add_step_to_dataset, ds.id, step.id, {"how": "step"})
    assert from_step.input == {"in": 1} and from_step.expected_output == {"out": 2}

    from tests.compat.literal import literalai

    gen = await call(
        api.create_generation,
        literalai.ChatGeneration(
            model="m",
            messages=[{"role": "user", "content": "q"}],
            message_completion={"role": "assistant", "content": "a"},
        ),
    )
    from_gen = await call(api.add_generation_to_dataset, ds.id, gen.id)
    assert from_gen.input == {"messages": [{"role": "user", "content": "q"}]}
    assert from_gen.expected_output == {"role": "assistant", "content": "a"}

    read = await call(api.get_dataset, id=ds.id)
    assert sorted(i.id for i in read.items) == sorted([item.id, from_step.id, from_gen.id])
    assert (await call(api.get_dataset, name=name)).id == ds.id
    await call(api.delete_dataset_item, item.id)
    assert len((await call(api.get_dataset, id=ds.id)).items) == 2

    await call(api.delete_dataset, ds.id)
    assert await call(api.get_dataset, id=ds.id) is None
    assert await call(api.get_dataset, name="test-dataset") is None


async def test_experiments(api: Any, client: Client) -> None:
    from literalai.evaluation.dataset_experiment import DatasetExperimentItem

    ds = await call(api.create_dataset, uid("exp-ds"))
    item = await call(api.create_dataset_item, ds.id, {"q": 1})
    experiment = await call(api.create_experiment, "run-1", dataset_id=ds.id)
    assert experiment.id and experiment.name == "run-1" and experiment.params is None
    scored = await call(
        api.create_experiment_item,
        DatasetExperimentItem(
            id="",
            dataset_experiment_id=experiment.id,
            dataset_item_id=item.id,
            experiment_run_id=None,
            scores=[{"name": "exact", "type": "CODE", "value": 1}],
            input={"q": 1},
            output={"a": 2},
        ),
    )
    assert scored.id and scored.dataset_item_id == item.id and len(scored.scores) == 1
    bare = await call(
        api.create_experiment_item,
        DatasetExperimentItem(
            id="",
            dataset_experiment_id=experiment.id,
            dataset_item_id=None,
            experiment_run_id=None,
            scores=[],
            input=None,
            output=None,
        ),
    )
    assert bare.id and bare.scores == []
    native = client.experiments.get(experiment.id)  # the same rows through the native API
    assert sorted(i.id for i in native.items or []) == sorted([scored.id, bare.id])
    (with_score,) = [i for i in native.items or [] if i.id == scored.id]
    assert [(s.name, s.value) for s in with_score.scores] == [("exact", 1.0)]


# --- prompts ----------------------------------------------------------------------------------

TEMPLATE = [
    {"role": "system", "content": "Hello, this is a {{test_var}}"},
    {"role": "user", "content": "{{question}}"},
]


async def test_prompts_round_trip(api: Any) -> None:
    name = uid("prompt")
    lineage = await call(api.get_or_create_prompt_lineage, name, "a prompt")
    assert lineage["name"] == name and lineage["id"]
    again = await call(api.get_or_create_prompt_lineage, name)
    assert again["id"] == lineage["id"]

    settings = {"provider": "openai", "model": "gpt-4o", "temperature": 0}
    v0 = await call(api.get_or_create_prompt, name, TEMPLATE, dict(settings))
    assert v0.name == name and v0.version == 0 and v0.provider == "openai"
    same = await call(
        api.get_or_create_prompt, name, TEMPLATE, {"model": "gpt-4o", "temperature": 0}
    )
    assert same.id == v0.id  # provider is not part of a prompt's identity
    v1 = await call(api.get_or_create_prompt, name, TEMPLATE, {**settings, "temperature": 1})
    assert v1.version == 1

    latest = await call(api.get_prompt, name=name)
    assert latest.id == v1.id
    assert (await call(api.get_prompt, name=name, version=0)).id == v0.id
    by_id = await call(api.get_prompt, id=v0.id)
    assert by_id.template_messages == TEMPLATE and by_id.settings["model"] == "gpt-4o"
    assert by_id.url.endswith(f"playground?name={name}&version=0")
    assert by_id.format_messages(test_var="test", question="why?")[1]["content"] == "why?"

    variant = await call(api.create_prompt_variant, name, TEMPLATE, {"model": "other"})
    assert variant
    await call(
        api.update_prompt_ab_testing,
        name,
        [{"version": 0, "rollout": 30}, {"version": 1, "rollout": 70}],
    )
    rollouts = await call(api.get_prompt_ab_testing, name)
    assert sorted((r["version"], r["rollout"]) for r in rollouts) == [(0, 30), (1, 70)]

    with warnings.catch_warnings():  # the deprecated aliases still work
        warnings.simplefilter("ignore", DeprecationWarning)
        old = await call(api.create_prompt, name, TEMPLATE, dict(settings))
        assert old.id == v0.id
        assert (await call(api.create_prompt_lineage, name))["id"] == lineage["id"]


async def test_my_project_id(api: Any, tenant: Tenant) -> None:
    assert await call(api.get_my_project_id) == tenant.project_id
