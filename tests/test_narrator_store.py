"""``ThreadlineThreadStore`` against the real slide-narrator 6.4.0: the same operations on
narrator's own in-memory ``ThreadStore`` and on a Threadline server give equal threads."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from narrator import Attachment, FileStore, Message, Thread, ThreadStore
from pydantic import BaseModel, ConfigDict

from tests.conftest import Server, Tenant
from threadline import AuthenticationError
from threadline.narrator import ThreadlineThreadStore


@pytest.fixture
async def store(server: Server, tenant: Tenant) -> AsyncIterator[ThreadlineThreadStore]:
    threadline_store = ThreadlineThreadStore(server.url, tenant.api_key)
    yield threadline_store
    await threadline_store.aclose()


def view(thread: Thread | None) -> dict[str, Any] | None:
    """What must be equal: everything but updated_at (each store keeps its own)."""
    if thread is None:
        return None
    dump = thread.model_dump()
    del dump["updated_at"]
    return dump


async def same_in_both(memory: ThreadStore, store: ThreadStore, thread_id: str) -> Thread:
    expected, got = await memory.get(thread_id), await store.get(thread_id)
    assert view(got) == view(expected)
    assert got is not None
    return got


def llm_metrics(model: str, tokens: int, latency: int) -> dict[str, Any]:
    return {
        "model": model,
        "timing": {"started_at": None, "ended_at": None, "latency": latency},
        "usage": {"completion_tokens": tokens, "prompt_tokens": tokens, "total_tokens": 2 * tokens},
    }


async def test_same_operations_same_threads(store: ThreadlineThreadStore) -> None:
    memory = ThreadStore()  # narrator's own in-memory store
    thread = Thread(
        title="Slack thread",
        attributes={"customer": "c-1", "priority": 2},
        platforms={"slack": {"channel": "C1", "thread_ts": "1700000000.000100"}},
    )
    thread.add_message(Message(role="system", content="You are Tyler."))
    thread.add_message(
        Message(
            role="user",
            content="What is the weather in Paris?",
            source={"id": "U1", "name": "Ada", "type": "user"},
            platforms={"slack": {"channel": "C1", "ts": "1700000000.000100"}},
        )
    )

    async def save_both() -> Thread:
        await memory.save(thread)
        await store.save(thread)
        return await same_in_both(memory, store, thread.id)

    got = await save_both()
    assert [m.role for m in got.messages] == ["user"], "system messages are not stored"

    thread.add_message(
        Message(
            role="assistant",
            content="",
            tool_calls=[
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
            metrics=llm_metrics("gpt-4.1", 10, 300),
        )
    )
    await save_both()
    thread.add_message(
        Message(role="tool", name="weather", tool_call_id="c1", content="18C, sunny"),
        same_turn=True,
    )
    thread.add_message(
        Message(role="assistant", content="18C and sunny.", metrics=llm_metrics("gpt-4.1", 7, 200))
    )
    got = await save_both()
    assert [(m.role, m.sequence, m.turn) for m in got.messages] == [
        ("user", 1, 1),
        ("assistant", 2, 2),
        ("tool", 3, 2),
        ("assistant", 4, 3),
    ]

    answer = thread.messages[-1].id
    thread.add_reaction(answer, ":thumbsup:", "U1")
    thread.add_reaction(answer, ":thumbsup:", "U2")
    thread.add_reaction(answer, ":heart:", "U1")
    got = await save_both()
    assert got.get_reactions(answer) == {":thumbsup:": ["U1", "U2"], ":heart:": ["U1"]}
    thread.remove_reaction(answer, ":thumbsup:", "U1")
    thread.add_reaction(answer, ":thumbsup:", "U1")
    await save_both()

    thread.title = "Weather in Paris"
    thread.attributes["resolved"] = True
    thread.platforms["teams"] = {"conversation": "T-1"}
    await save_both()

    thread.add_message(
        Message(
            role="user",
            content="Here is my itinerary",
            attachments=[Attachment(filename="plan.txt", content=b"day 1: Louvre")],
        )
    )
    got = await save_both()
    attachment = got.messages[-1].attachments[0]
    assert attachment.content == b"day 1: Louvre" and attachment.status == "pending"
    assert attachment.id == thread.messages[-1].attachments[0].id

    assert got.get_total_tokens() == thread.get_total_tokens()
    assert got.get_tool_usage() == {"tools": {"weather": 1}, "total_calls": 1}
    assert await got.get_messages_for_chat_completion() == [
        m for m in await thread.get_messages_for_chat_completion()
    ]

    thread.clear_messages()
    thread.add_message(Message(role="user", content="start over"))
    got = await save_both()
    assert [m.content for m in got.messages] == ["start over"]

    # a second store (another process) reads the same thread
    other = ThreadlineThreadStore(store.database_url, store._backend._config.api_key)
    assert view(await other.get(thread.id)) == view(await memory.get(thread.id))
    await other.aclose()


async def test_lookups_match_narrators_memory_store(store: ThreadlineThreadStore) -> None:
    memory = ThreadStore()
    threads = [
        Thread(
            attributes={"team": "a", "n": 1, "tags": ["x", "y"]},
            platforms={"slack": {"channel": "C1", "thread_ts": "1.1"}},
        ),
        Thread(
            attributes={"team": "a", "n": 2, "owner": None},
            platforms={"slack": {"channel": "C1", "thread_ts": "2.2"}, "teams": {"id": "T"}},
        ),
        Thread(attributes={"team": "b", "tags": ["x"]}),
    ]
    for i, thread in enumerate(threads):
        thread.add_message(
            Message(
                role="user",
                content=f"message {i}",
                source={"id": f"U{i}", "type": "user"},
                platforms={"slack": {"channel": "C1", "ts": f"{i}.5"}},
            )
        )
        await memory.save(thread)
        await store.save(thread)

    def ids(found: list[Thread]) -> set[str]:
        return {t.id for t in found}

    for platform, properties in [
        ("slack", {"thread_ts": "2.2"}),
        ("slack", {"channel": "C1"}),
        ("slack", {}),
        ("teams", {"id": "T"}),
        ("slack", {"channel": "C1", "thread_ts": "1.1"}),
        ("slack", {"thread_ts": "9.9"}),
        ("slack", {"thread_ts": 1.1}),  # not a string: never equal
        ("slack", {"missing": None}),  # None equals a missing key, as in the memory store
        ("discord", {}),
    ]:
        expected = ids(await memory.find_by_platform(platform, properties))
        assert ids(await store.find_by_platform(platform, properties)) == expected, properties

    for attributes in [
        {"team": "a"},
        {"team": "a", "n": 2},
        {"n": 1},
        {"tags": ["x"]},  # equality, not containment
        {"owner": None},
        {"team": "z"},
        {},
    ]:
        expected = ids(await memory.find_by_attributes(attributes))
        assert ids(await store.find_by_attributes(attributes)) == expected, attributes

    for path, value in [
        ("platforms.slack.ts", "1.5"),  # what space-monkey looks up
        ("source.id", "U2"),
        ("content", "message 0"),
        ("role", "user"),
        ("platforms.slack.ts", "nope"),
    ]:
        expected_ids = {m.id for m in await memory.find_messages_by_attribute(path, value)}
        found = await store.find_messages_by_attribute(path, value)
        assert {m.id for m in found} == expected_ids, path

    message_id = threads[1].messages[0].id
    assert view(await store.get_thread_by_message_id(message_id)) == view(
        await memory.get_thread_by_message_id(message_id)
    )
    assert await store.get_thread_by_message_id("no-such-message") is None

    assert [t.id for t in await store.list_recent()] == [t.id for t in await memory.list_recent()]
    assert [t.id for t in await store.list(limit=2, offset=1)] == [
        t.id for t in await memory.list(limit=2, offset=1)
    ]
    assert await store.delete(threads[0].id) is True
    assert await store.delete(threads[0].id) is False
    assert await store.get(threads[0].id) is None


async def test_the_message_lookup_narrators_sql_backend_gets_wrong(
    store: ThreadlineThreadStore, tmp_path: Path
) -> None:
    sql = await ThreadStore.create(f"sqlite+aiosqlite:///{tmp_path / 'narrator.db'}")
    thread = Thread(platforms={"slack": {"channel": "C1", "thread_ts": "42.0"}})
    thread.add_message(
        Message(role="user", content="hi", platforms={"slack": {"channel": "C1", "ts": "42.1"}})
    )
    await sql.save(thread)
    await store.save(thread)
    # narrator's SQL backend only looks inside ``source``: the Slack message is not found
    assert await sql.find_messages_by_attribute("platforms.slack.ts", "42.1") == []
    found = await store.find_messages_by_attribute("platforms.slack.ts", "42.1")
    assert [m.id for m in found] == [thread.messages[0].id]
    assert [t.id for t in await store.find_by_platform("slack", {"thread_ts": "42.0"})] == [
        thread.id
    ]
    await sql.engine.dispose()


async def test_an_agent_takes_it_and_its_save_loop_works(store: ThreadlineThreadStore) -> None:
    class AgentLike(BaseModel):
        """Tyler's Agent declares ``thread_store: Optional[ThreadStore]`` exactly like this."""

        model_config = ConfigDict(arbitrary_types_allowed=True)
        thread_store: ThreadStore | None = None

    agent = AgentLike(thread_store=store)
    assert agent.thread_store is store
    # Tyler's loop: get, add, save after every message and tool result
    assert await store.get("conversation-1") is None
    thread = Thread(id="conversation-1")
    thread.add_message(Message(role="system", content="system prompt"))
    for turn in range(3):
        thread.add_message(Message(role="user", content=f"question {turn}"))
        await store.save(thread)
        call = {"id": f"c{turn}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        thread.add_message(Message(role="assistant", content="", tool_calls=[call]))
        await store.save(thread)
        thread.add_message(
            Message(role="tool", name="f", tool_call_id=f"c{turn}", content="ok"), same_turn=True
        )
        await store.save(thread)
        thread.add_message(Message(role="assistant", content=f"answer {turn}"))
        await store.save(thread)
    loaded = await store.get("conversation-1")
    assert loaded is not None
    assert [m.content for m in loaded.messages if m.role == "assistant" and m.content] == [
        "answer 0",
        "answer 1",
        "answer 2",
    ]
    assert loaded.get_current_turn() == thread.get_current_turn() == 9
    assert [m.id for m in loaded.messages] == [m.id for m in thread.messages[1:]]


async def test_attachments_go_to_the_given_file_store(
    server: Server, tenant: Tenant, tmp_path: Path
) -> None:
    files = FileStore(base_path=str(tmp_path / "files"))
    store = ThreadlineThreadStore(server.url, tenant.api_key, file_store=files)
    thread = Thread()
    thread.add_message(
        Message(role="user", content="see file", file_content=b"hello file", filename="a.txt")
    )
    await store.save(thread)
    loaded = await store.get(thread.id)
    assert loaded is not None
    stored = loaded.messages[0].attachments[0]
    assert stored.status == "stored" and stored.content is None
    assert stored.attributes is not None and stored.attributes["text"] == "hello file"
    assert (tmp_path / "files" / stored.storage_path).read_bytes() == b"hello file"
    chat = await loaded.get_messages_for_chat_completion()
    assert (
        chat[0]["content"].startswith("see file\n\n[File: ")
        and "(text/plain)]" in chat[0]["content"]
    )
    await store.aclose()


async def test_configuration(
    server: Server, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_URL", server.url)
    monkeypatch.setenv("THREADLINE_API_KEY", tenant.api_key)
    from_env = await ThreadlineThreadStore.create()
    assert from_env.database_url == server.url
    await from_env.aclose()
    bad = ThreadlineThreadStore(server.url, "tl_wrong_key_0000000000")
    with pytest.raises(AuthenticationError):
        await bad.initialize()
    await bad.aclose()


def test_the_server_and_sdk_do_not_import_narrator() -> None:
    code = (
        "import sys, threadline, threadline.api.app, threadline.cli\n"
        "threadline.Thread, threadline.Client\n"
        "assert 'narrator' not in sys.modules, 'narrator imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_readme_example_runs(server: Server, tenant: Tenant, tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    script = tmp_path / "tyler_example.py"
    script.write_text(next(b for b in blocks if "ThreadlineThreadStore" in b))
    result = subprocess.run(
        [sys.executable, str(script)],
        env={"THREADLINE_URL": server.url, "THREADLINE_API_KEY": tenant.api_key, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "{'system': 0, 'user': 1, 'assistant': 0, 'tool': 0}\nHello from Slack\n"
    )
