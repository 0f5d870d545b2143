"""Prompts (``client.prompts``): versions by content, reads, formatting and sticky A/B rollouts,
through the SDK on a real server, on both databases."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.conftest import Server, new_tenant
from threadline import AsyncClient, Client, NotFoundError, UnprocessableEntityError
from threadline.storage.database import Database

TEMPLATE = [
    {"role": "system", "content": "You are {{persona}}."},
    {
        "role": "user",
        "content": "Hello, this is a {{test_var}} and this\n\n{{#test_list}}\n* {{.}}\n"
        "{{/test_list}}\n\nis a templated list.",
    },
]
DEFAULTS = {"test_var": "test value", "test_list": ["item 0", "item 1", "item 2"]}


def test_get_or_create_dedupes_by_content(client: Client) -> None:
    first = client.prompts.get_or_create(
        name="greeter",
        template_messages=TEMPLATE,
        settings={"provider": "openai", "model": "gpt-4o", "temperature": 1},
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
        variables_default_values=DEFAULTS,
    )
    assert (first.version, first.name, first.lineage.name, first.provider) == (
        0,
        "greeter",
        "greeter",
        "openai",
    )
    # the same content: other key order, no provider (Literal's SDK strips it), 1.0 for 1
    again = client.prompts.get_or_create(
        name="greeter",
        template_messages=[{"content": m["content"], "role": m["role"]} for m in TEMPLATE],
        settings={"temperature": 1.0, "model": "gpt-4o"},
        tools=[{"function": {"parameters": {}, "name": "lookup"}, "type": "function"}],
    )
    assert again.id == first.id and again.version == 0
    changed = client.prompts.get_or_create(
        name="greeter", template_messages=TEMPLATE, settings={"model": "gpt-4o", "temperature": 0}
    )
    assert changed.version == 1 and changed.id != first.id
    other_lineage = client.prompts.get_or_create(name="other", template_messages=TEMPLATE)
    assert other_lineage.version == 0

    assert client.prompts.get(first.id) == first
    assert client.prompts.get_by_name("greeter").id == changed.id  # latest
    assert client.prompts.get_by_name("greeter", version=0).id == first.id
    assert [p.version for p in client.prompts.versions("greeter")] == [1, 0]
    lineages = {p.name: p.latest_version for p in client.prompts.list()}
    assert lineages == {"greeter": 1, "other": 0}

    for missing in (
        lambda: client.prompts.get("missing"),
        lambda: client.prompts.get_by_name("missing"),
        lambda: client.prompts.get_by_name("greeter", version=7),
    ):
        with pytest.raises(NotFoundError):
            missing()
    with pytest.raises(UnprocessableEntityError) as err:
        client.prompts.get_or_create(name="empty", template_messages=[])
    assert err.value.field == "template_messages"

    lineage = client.prompts.get_or_create_lineage("greeter", description="ignored: it exists")
    assert (lineage.id, lineage.latest_version) == (first.lineage.id, 1)
    assert client.prompts.get_lineage(lineage.id).name == "greeter"
    empty = client.prompts.get_or_create_lineage("drafts", description="no versions yet")
    assert (empty.description, empty.latest_version) == ("no versions yet", None)
    with pytest.raises(NotFoundError):
        client.prompts.get_by_name("drafts")

    client.prompts.delete("other")
    with pytest.raises(NotFoundError):
        client.prompts.get(other_lineage.id)


def test_format_messages_with_mustache(client: Client) -> None:
    prompt = client.prompts.get_or_create(
        name="fmt", template_messages=TEMPLATE, variables_default_values=DEFAULTS
    )
    system, user = prompt.format_messages(persona="a pirate")
    assert system == {"role": "system", "content": "You are a pirate."}
    assert user["content"] == (
        "Hello, this is a test value and this\n\n* item 0\n* item 1\n* item 2\n\n"
        "is a templated list."
    )
    assert prompt.format_messages(persona="x", test_list=[])[1]["content"].endswith(
        "this\n\n\nis a templated list."
    )
    parts = client.prompts.get_or_create(
        name="parts",
        template_messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi {{name}}"}, {"type": "image"}],
            }
        ],
    )
    assert parts.format_messages(name="Ann")[0]["content"] == [
        {"type": "text", "text": "Hi Ann"},
        {"type": "image"},
    ]


def test_rollouts_are_validated_and_sticky(client: Client) -> None:
    for content in ("A {{x}}", "B {{x}}", "C {{x}}"):
        client.prompts.get_or_create(
            name="ab", template_messages=[{"role": "user", "content": content}]
        )
    assert client.prompts.get_rollouts("ab") == []
    bad = [
        ([{"version": 0, "percentage": 50}, {"version": 1, "percentage": 40}], "rollouts"),
        (
            [{"version": 0, "percentage": 50}, {"version": 0, "percentage": 50}],
            "rollouts[1].version",
        ),
        (
            [{"version": 0, "percentage": 50}, {"version": 9, "percentage": 50}],
            "rollouts[1].version",
        ),
        ([{"version": 0, "percentage": 101}], "rollouts[0].percentage"),
    ]
    for rollouts, field in bad:
        with pytest.raises(UnprocessableEntityError) as err:
            client.prompts.set_rollouts("ab", rollouts)
        assert err.value.field == field, rollouts
    with pytest.raises(UnprocessableEntityError, match="sum to 100, not 10"):
        client.prompts.set_rollouts("ab", [{"version": 0, "percentage": 10}])
    with pytest.raises(NotFoundError):
        client.prompts.set_rollouts("no-such-prompt", [{"version": 0, "percentage": 100}])

    saved = client.prompts.set_rollouts(
        "ab", [{"version": 2, "percentage": 30}, {"version": 0, "percentage": 70}]
    )
    assert [(r.version, r.percentage) for r in saved] == [(0, 70), (2, 30)]
    assert client.prompts.get_rollouts("ab") == saved

    served = Counter(
        client.prompts.get_by_name("ab", thread_id=f"t{i}").version for i in range(120)
    )
    assert set(served) == {0, 2} and 60 < served[0] < 110  # about 70%
    for i in range(5):  # the same thread (or participant) always gets the same version
        picks = {client.prompts.get_by_name("ab", thread_id=f"t{i}").version for _ in range(5)}
        assert len(picks) == 1
        user = {client.prompts.get_by_name("ab", participant_id=f"u{i}").version for _ in range(5)}
        assert len(user) == 1
    assert client.prompts.get_by_name("ab", version=1).version == 1  # an explicit version wins

    assert client.prompts.set_rollouts("ab", []) == []  # cleared: the latest is served again
    assert {client.prompts.get_by_name("ab", thread_id=f"t{i}").version for i in range(20)} == {2}


async def test_concurrent_get_or_create_agree(async_client: AsyncClient) -> None:
    async def make(content: str) -> tuple[str, int]:
        prompt = await async_client.prompts.get_or_create(
            name="race", template_messages=[{"role": "user", "content": content}]
        )
        return prompt.id, prompt.version

    same = await asyncio.gather(*(make("same") for _ in range(8)))
    assert len(set(same)) == 1
    different = await asyncio.gather(*(make(f"v{i}") for i in range(6)))
    assert sorted(v for _, v in different) == [1, 2, 3, 4, 5, 6]


async def test_prompts_are_isolated_between_projects(
    client: Client, server: Server, db: Database
) -> None:
    mine = client.prompts.get_or_create(name="shared", template_messages=TEMPLATE)
    other = await new_tenant(db)
    with Client(server.url, other.api_key) as theirs:
        with pytest.raises(NotFoundError):
            theirs.prompts.get(mine.id)
        with pytest.raises(NotFoundError):
            theirs.prompts.set_rollouts("shared", [{"version": 0, "percentage": 100}])
        theirs_prompt = theirs.prompts.get_or_create(name="shared", template_messages=TEMPLATE)
        assert theirs_prompt.id != mine.id and theirs_prompt.version == 0
        theirs.prompts.get_or_create(
            name="shared", template_messages=[{"role": "user", "content": "x"}]
        )
        theirs.prompts.delete("shared")
    assert client.prompts.get_by_name("shared").id == mine.id
