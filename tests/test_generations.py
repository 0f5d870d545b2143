"""Generations (``client.generations``) and participant activity, through the SDK on a real
server, on both databases."""

from __future__ import annotations

import pytest

from tests.conftest import Server, new_tenant
from threadline import Client, NotFoundError, UnprocessableEntityError
from threadline.storage.database import Database

MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]


def test_chat_and_completion_generations(client: Client) -> None:
    chat = client.generations.create(
        model="gpt-4o-mini",
        provider="openai",
        messages=MESSAGES,
        message_completion={"role": "assistant", "content": "4"},
        settings={"temperature": 0},
        token_count=20,
        input_token_count=15,
        output_token_count=5,
        tt_first_token=120.5,
        duration=0.8,
        token_throughput_in_seconds=25.0,
        tags=["math"],
        metadata={"release": "v1"},
    )
    assert chat.type == "llm" and chat.thread_id is None and chat.name == "gpt-4o-mini"
    g = chat.generation
    assert g is not None and g.type == "chat" and g.messages == MESSAGES
    assert (g.token_count, g.input_token_count, g.output_token_count) == (20, 15, 5)
    assert (g.tt_first_token, g.duration, g.token_throughput_in_seconds) == (120.5, 0.8, 25.0)
    assert chat.tags == ["math"] and chat.metadata == {"release": "v1"}

    completion = client.generations.create(
        type="completion", model="davinci", prompt="2 + 2 =", completion=" 4", thread_id="t-gen"
    )
    assert completion.thread_id == "t-gen"  # the thread is created with it
    assert client.threads.get("t-gen").steps[0].generation.completion == " 4"  # type: ignore[index,union-attr]
    assert client.generations.get(chat.id).generation == g

    plain = client.steps.create(thread_id="t-gen", type="run")
    with pytest.raises(NotFoundError):
        client.generations.get(plain.id)
    with pytest.raises(UnprocessableEntityError) as err:
        client.generations.create(type="image", model="x")  # type: ignore[arg-type]
    assert err.value.field == "type"
    with pytest.raises(UnprocessableEntityError) as err:
        client.generations.create(model="x", token_count=-1)
    assert err.value.field == "token_count"


def test_list_generations_with_filters_and_order(client: Client) -> None:
    prompt = client.prompts.get_or_create(
        name="qa", template_messages=[{"role": "user", "content": "{{q}}"}]
    )
    client.threads.create(id="t-alice", participant_identifier="alice")
    made = [
        client.generations.create(model="gpt-4o", provider="openai", token_count=100),
        client.generations.create(
            model="claude", provider="anthropic", token_count=10, thread_id="t-alice"
        ),
        client.generations.create(
            model="gpt-4o", token_count=50, prompt_id=prompt.id, error="timeout", tags=["slow"]
        ),
    ]
    client.steps.create(type="run", name="not a generation")
    client.scores.create(name="quality", value=0.2, type="AI", generation_id=made[0].id)
    client.scores.create(name="quality", value=0.9, type="AI", generation_id=made[1].id)

    def ids(**kw: object) -> list[str]:
        return [s.id for s in client.generations.list(**kw)]  # type: ignore[arg-type]

    first, second, third = (m.id for m in made)
    assert ids() == [third, second, first]
    assert ids(order_by="tokenCount", order="asc") == [second, third, first]
    assert ids(filters=[{"field": "model", "operator": "eq", "value": "gpt-4o"}]) == [third, first]
    assert ids(filters=[{"field": "tokenCount", "operator": "gte", "value": 50}]) == [third, first]
    assert ids(filters=[{"field": "provider", "operator": "ilike", "value": "anthrop"}]) == [second]
    assert ids(filters=[{"field": "participant", "operator": "eq", "value": "alice"}]) == [second]
    assert ids(filters=[{"field": "promptLineage", "operator": "eq", "value": "qa"}]) == [third]
    assert ids(filters=[{"field": "promptVersion", "operator": "eq", "value": 0}]) == [third]
    assert ids(filters=[{"field": "error", "operator": "eq", "value": "timeout"}]) == [third]
    assert ids(filters=[{"field": "tags", "operator": "in", "value": ["slow"]}]) == [third]
    good = {"field": "score", "operator": "gt", "value": 0.5, "path": "quality"}
    assert ids(filters=[good]) == [second]
    assert ids(thread_id="t-alice") == [second]
    page = client.generations.list(first=2)
    assert page.total_count == 3 and len(page.data) == 2 and len(list(page)) == 3
    with pytest.raises(UnprocessableEntityError) as err:
        client.generations.list(order_by="name")
    assert err.value.field == "order_by.column"
    with pytest.raises(UnprocessableEntityError) as err:
        client.generations.list(filters=[{"field": "colour", "operator": "eq", "value": "x"}])
    assert err.value.field == "filters[0].field"


def test_participants_report_their_activity(client: Client) -> None:
    user = client.users.create(identifier="dana")
    assert (user.thread_count, user.token_count) in ((None, None), (0, 0))
    fresh = client.users.get(user.id)
    assert (fresh.thread_count, fresh.token_count, fresh.last_engaged) == (0, 0, None)

    for thread_id, tokens in (("t-d1", 30), ("t-d2", 12)):
        client.threads.create(id=thread_id, participant_id=user.id)
        client.generations.create(model="m", token_count=tokens, thread_id=thread_id)
    busy = client.users.get(user.id)
    assert (busy.thread_count, busy.token_count) == (2, 42)
    assert busy.last_engaged is not None
    by_identifier = client.users.get_by_identifier("dana")
    assert (by_identifier.thread_count, by_identifier.token_count) == (2, 42)
    listed = next(u for u in client.users.list() if u.id == user.id)
    assert (listed.thread_count, listed.token_count) == (2, 42)
    heavy = {"field": "tokenCount", "operator": "gt", "value": 40}
    assert [u.identifier for u in client.users.list(filters=[heavy])] == ["dana"]


async def test_generations_are_isolated_between_projects(
    client: Client, server: Server, db: Database
) -> None:
    mine = client.generations.create(model="m", token_count=1)
    other = await new_tenant(db)
    with Client(server.url, other.api_key) as theirs:
        with pytest.raises(NotFoundError):
            theirs.generations.get(mine.id)
        assert theirs.generations.list().total_count == 0
        theirs.generations.create(model="theirs")
    assert [g.id for g in client.generations.list()] == [mine.id]
