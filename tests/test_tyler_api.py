"""Tyler-style threads through the SDK on a real server, on SQLite and PostgreSQL: saving only
what changed, reactions, platform and attribute lookups, analytics, titles."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, Tenant, new_tenant, start_server, stop_server
from threadline import (
    AsyncClient,
    Attachment,
    Client,
    Message,
    NotFoundError,
    Thread,
)
from threadline.client import _async, _sync, _tyler
from threadline.storage.database import Database


def metrics(model: str | None, prompt: int, completion: int, latency: float) -> dict[str, Any]:
    return {
        "model": model,
        "timing": {"started_at": None, "ended_at": None, "latency": latency},
        "usage": {
            "completion_tokens": completion,
            "prompt_tokens": prompt,
            "total_tokens": prompt + completion,
        },
    }


def conversation() -> Thread:
    """A thread with every kind of message and field a Tyler thread carries."""
    thread = Thread(
        title="Order status",
        attributes={"customer": "c-42", "tier": "gold", "n": 3},
        platforms={"slack": {"channel": "C1", "thread_ts": "1700000000.000100"}},
    )
    thread.add_message(Message(role="system", content="You are helpful."))
    thread.add_message(
        Message(
            role="user",
            content="Where is my order 1234? It has been two weeks since I ordered it online.",
            source={"id": "U1", "name": "Ada", "type": "user"},
            platforms={"slack": {"channel": "C1", "ts": "1700000000.000100"}},
            attributes={"lang": "en"},
        )
    )
    thread.add_message(
        Message(
            role="assistant",
            content="",
            tool_calls=[
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "eta", "arguments": "{}"}},
            ],
            metrics=metrics("gpt-4.1", 100, 20, 250),
            source={"id": "agent-1", "type": "agent"},
        )
    )
    thread.add_message(
        Message(role="tool", name="lookup", tool_call_id="c1", content="shipped"), same_turn=True
    )
    thread.add_message(
        Message(role="tool", name="eta", tool_call_id="c2", content="tomorrow"), same_turn=True
    )
    thread.add_message(
        Message(
            role="assistant",
            content="It ships tomorrow.",
            reasoning_content="the tools said so",
            metrics=metrics("gpt-4.1-mini", 40, 10, 120.5),
        )
    )
    thread.add_message(
        Message(
            role="user",
            content=[{"type": "text", "text": "thanks"}],
            attachments=[
                Attachment(filename="note.txt", content=b"hello file", mime_type="text/plain")
            ],
        )
    )
    thread.add_reaction(thread.messages[-2].id, ":thumbsup:", "U1")
    thread.add_reaction(thread.messages[-2].id, ":thumbsup:", "U2")
    thread.add_reaction(thread.messages[-2].id, ":heart:", "U1")
    return thread


def same(a: Thread, b: Thread) -> bool:
    """Equal apart from updated_at, which the server keeps (it changes with every write)."""
    left, right = a.model_dump(), b.model_dump()
    del left["updated_at"], right["updated_at"]
    return left == right


class Recorder:
    """Counts the HTTP requests an SDK client sends (real requests, observed by httpx)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> None:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))

    def take(self) -> list[tuple[str, str, Any]]:
        out, self.requests = self.requests, []
        return out


@pytest.fixture
def recorded(server: Server, tenant: Tenant) -> Iterator[tuple[Client, Recorder]]:
    recorder = Recorder()
    http = httpx.Client(timeout=30, event_hooks={"request": [recorder]})
    with Client(server.url, tenant.api_key, http_client=http) as sdk:
        yield sdk, recorder


def test_round_trip_keeps_every_field(client: Client, server: Server, tenant: Tenant) -> None:
    thread = conversation()
    client.tyler.save(thread)
    with Client(server.url, tenant.api_key) as other:
        loaded = other.tyler.load(thread.id)
    assert same(loaded, thread)
    assert loaded.created_at == thread.created_at
    assert [(m.role, m.sequence, m.turn) for m in loaded.messages] == [
        ("system", 0, 0),
        ("user", 1, 1),
        ("assistant", 2, 2),
        ("tool", 3, 2),
        ("tool", 4, 2),
        ("assistant", 5, 3),
        ("user", 6, 4),
    ]
    attachment = loaded.messages[-1].attachments[0]
    assert (
        attachment.content == b"hello file"
        and attachment.id == thread.messages[-1].attachments[0].id
    )
    assert loaded.get_reactions(thread.messages[-2].id) == {
        ":thumbsup:": ["U1", "U2"],
        ":heart:": ["U1"],
    }
    # the same thread on the native API: messages are steps of the message types
    native = client.threads.get(thread.id)
    assert native.name == "Order status" and native.metadata["customer"] == "c-42"
    assert native.platforms == {"slack": {"channel": "C1", "thread_ts": "1700000000.000100"}}
    assert [s.type for s in native.steps or []].count("tool") == 2
    assistant = client.steps.get(thread.messages[2].id)
    assert assistant.type == "assistant_message" and assistant.turn == 2
    assert assistant.generation is not None and assistant.generation.token_count == 120
    assert client.steps.get(thread.messages[1].id).output == {"content": thread.messages[1].content}


def test_save_sends_only_what_changed(recorded: tuple[Client, Recorder]) -> None:
    sdk, recorder = recorded
    thread = Thread(title="support")
    thread.add_message(Message(role="user", content="hi"))
    sdk.tyler.save(thread)
    path = f"/v1/threads/{thread.id}"
    # a thread new to this client: one read (404), then the thread and its messages
    assert [(m, p) for m, p, _ in recorder.take()] == [
        ("GET", path),
        ("PUT", path),
        ("POST", "/v1/steps/batch"),
    ]
    sdk.tyler.save(thread)
    assert recorder.take() == [], "nothing changed, nothing sent"

    for i in range(4):
        thread.add_message(Message(role="assistant" if i % 2 == 0 else "user", content=f"m{i}"))
        sdk.tyler.save(thread)
        sent = recorder.take()
        assert [(m, p) for m, p, _ in sent] == [("POST", "/v1/steps/batch")]
        assert [s["id"] for s in sent[0][2]["steps"]] == [thread.messages[-1].id]

    # a change made in place inside a message is noticed
    thread.messages[1].metrics["usage"]["prompt_tokens"] = 7
    sdk.tyler.save(thread)
    sent = recorder.take()
    assert [s["id"] for s in sent[0][2]["steps"]] == [thread.messages[1].id]

    thread.add_reaction(thread.messages[0].id, ":+1:", "u1")
    sdk.tyler.save(thread)
    assert [(m, p, b) for m, p, b in recorder.take()] == [
        (
            "POST",
            path + "/reactions",
            {
                "remove": [],
                "add": [{"step_id": thread.messages[0].id, "emoji": ":+1:", "user_id": "u1"}],
            },
        )
    ]
    thread.title = "renamed"
    sdk.tyler.save(thread)
    assert [(m, p) for m, p, _ in recorder.take()] == [("PUT", path)]

    thread.clear_messages()
    thread.add_message(Message(role="user", content="again"))
    sdk.tyler.save(thread)
    assert [(m, p) for m, p, _ in recorder.take()] == [
        ("POST", "/v1/steps/batch"),
        ("POST", path + "/steps/delete"),
    ]
    loaded = sdk.tyler.load(thread.id)
    assert [m.content for m in loaded.messages] == ["again"] and loaded.title == "renamed"


def test_a_client_that_never_saw_the_thread_reads_it_once(
    client: Client, recorded: tuple[Client, Recorder]
) -> None:
    thread = conversation()
    client.tyler.save(thread)
    sdk, recorder = recorded
    thread.add_message(Message(role="user", content="one more"))
    sdk.tyler.save(thread)
    sent = recorder.take()
    assert [(m, p) for m, p, _ in sent] == [
        ("GET", f"/v1/threads/{thread.id}"),
        ("POST", "/v1/steps/batch"),
    ]
    assert len(sent[1][2]["steps"]) == 1
    assert same(client.tyler.load(thread.id), thread)


async def test_concurrent_reactions_are_never_lost(
    async_client: AsyncClient, server: Server, tenant: Tenant
) -> None:
    thread = Thread()
    thread.add_message(Message(role="user", content="react to me"))
    await async_client.tyler.save(thread)
    step_id = thread.messages[0].id
    users = [f"u{i}" for i in range(25)]
    results = await asyncio.gather(
        *(async_client.steps.add_reaction(step_id, ":+1:", u) for u in users for _ in range(2))
    )
    assert sum(r.changed for r in results) == len(users), "each user's reaction added once"
    assert sorted((await async_client.steps.get_reactions(step_id))[":+1:"]) == sorted(users)

    removed, kept = users[:10], users[10:]
    results = await asyncio.gather(
        *(async_client.steps.remove_reaction(step_id, ":+1:", u) for u in removed),
        *(async_client.steps.add_reaction(step_id, ":heart:", u) for u in users),
    )
    assert all(r.changed for r in results)
    final = await async_client.steps.get_reactions(step_id)
    assert sorted(final[":+1:"]) == sorted(kept) and sorted(final[":heart:"]) == sorted(users)

    # two Tyler clients holding the same thread each add a reaction: both survive
    async with (
        AsyncClient(server.url, tenant.api_key) as a,
        AsyncClient(server.url, tenant.api_key) as b,
    ):
        mine, theirs = await asyncio.gather(a.tyler.load(thread.id), b.tyler.load(thread.id))
        mine.add_reaction(step_id, ":eyes:", "alice")
        theirs.add_reaction(step_id, ":eyes:", "bob")
        await asyncio.gather(a.tyler.save(mine), b.tyler.save(theirs))
    final = await async_client.steps.get_reactions(step_id)
    assert sorted(final[":eyes:"]) == ["alice", "bob"]
    # order of users is the order they reacted in
    await async_client.steps.add_reaction(step_id, ":tada:", "zed")
    await async_client.steps.add_reaction(step_id, ":tada:", "amy")
    assert (await async_client.steps.get_reactions(step_id))[":tada:"] == ["zed", "amy"]


def test_reactions_through_the_model(client: Client) -> None:
    thread = conversation()
    client.tyler.save(thread)
    target = thread.messages[-2].id
    assert not thread.add_reaction(target, ":thumbsup:", "U1"), "no duplicates"
    assert thread.remove_reaction(target, ":thumbsup:", "U1")
    thread.add_reaction(target, ":thumbsup:", "U1")  # back, now after U2
    thread.add_reaction(thread.messages[1].id, ":wave:", "U9")
    client.tyler.save(thread)
    loaded = client.tyler.load(thread.id)
    assert loaded.get_reactions(target) == {":thumbsup:": ["U2", "U1"], ":heart:": ["U1"]}
    assert loaded.get_reactions(thread.messages[1].id) == {":wave:": ["U9"]}
    assert client.steps.remove_reaction(target, ":heart:", "nobody").changed is False


def test_analytics_from_the_database_equal_the_models(client: Client) -> None:
    thread = conversation()
    # odd metrics: none, empty, a model without usage, non-numbers, zero latency
    thread.add_message(Message(role="user", content="x", metrics={}))
    thread.add_message(Message(role="assistant", content="y", metrics={"model": "gpt-4.1"}))
    thread.add_message(
        Message(
            role="assistant",
            content="z",
            metrics={"model": "", "usage": {"total_tokens": "many"}, "timing": {"latency": 0}},
            tool_calls=[
                {"id": "c3", "type": "function", "function": {"name": "lookup", "arguments": ""}}
            ],
        )
    )
    thread.add_message(Message(role="assistant", content="w", metrics=metrics("gpt-4.1", 5, 5, 1)))
    client.tyler.save(thread)
    # a tool run of another surface with metrics is not a message and does not count
    run = {"id": "run-1", "thread_id": thread.id, "type": "tool", "metrics": metrics("m", 9, 9, 9)}
    client.steps.ingest([run])

    local = thread.analytics()
    server = client.threads.analytics(thread.id).model_dump()
    assert server == local
    assert local["tokens"] == {
        "overall": {"completion_tokens": 35, "prompt_tokens": 145, "total_tokens": 180},
        "by_model": {
            "gpt-4.1": {"completion_tokens": 25, "prompt_tokens": 105, "total_tokens": 130},
            "gpt-4.1-mini": {"completion_tokens": 10, "prompt_tokens": 40, "total_tokens": 50},
        },
    }
    assert local["model_usage"]["gpt-4.1"]["calls"] == 3
    assert local["timing"] == {
        "total_latency": 371.5,
        "average_latency": 371.5 / 3,
        "message_count": 3,
    }
    assert local["message_counts"] == {"system": 1, "user": 3, "assistant": 5, "tool": 2}
    assert local["tool_usage"] == {"tools": {"lookup": 2, "eta": 1}, "total_calls": 3}
    assert client.tyler.load(thread.id).analytics() == server

    empty = Thread()
    client.tyler.save(empty)
    assert client.threads.analytics(empty.id).model_dump() == empty.analytics()


async def test_platform_and_attribute_lookups(
    async_client: AsyncClient, server: Server, db: Database
) -> None:
    a = Thread(
        attributes={"team": "x", "n": 1},
        platforms={"slack": {"channel": "C1", "thread_ts": "111.1"}},
    )
    b = Thread(
        attributes={"team": "x", "n": 2},
        platforms={"slack": {"channel": "C1", "thread_ts": "222.2"}, "teams": {"id": "T9"}},
    )
    c = Thread(attributes={"team": "y"})
    c.add_message(Message(role="user", content="hi", platforms={"slack": {"ts": "333.3"}}))
    for thread in (a, b, c):
        await async_client.tyler.save(thread)

    async def ids(platform: str, properties: dict[str, Any] | None = None) -> set[str]:
        return {t.id for t in await async_client.tyler.find_by_platform(platform, properties)}

    assert await ids("slack", {"thread_ts": "222.2"}) == {b.id}
    assert await ids("slack", {"channel": "C1"}) == {a.id, b.id}
    assert await ids("slack", {"channel": "C1", "thread_ts": "111.1"}) == {a.id}
    assert await ids("teams") == {b.id}
    assert await ids("slack", {"thread_ts": "nope"}) == set()
    native = await async_client.threads.find_by_platform("slack", {"thread_ts": "111.1"})
    assert [t.id for t in native] == [a.id] and native[0].platforms["slack"]["channel"] == "C1"

    b.platforms = {"teams": {"id": "T9"}}  # moved off slack: the index follows
    await async_client.tyler.save(b)
    assert await ids("slack", {"thread_ts": "222.2"}) == set()
    assert await ids("teams", {"id": "T9"}) == {b.id}

    found = await async_client.tyler.find_by_attributes({"team": "x"})
    assert {t.id for t in found} == {a.id, b.id}
    assert [t.id for t in await async_client.tyler.find_by_attributes({"team": "x", "n": 2})] == [
        b.id
    ]
    assert await async_client.tyler.find_by_attributes({"team": "x", "n": 3}) == []

    messages = await async_client.tyler.find_messages("platforms.slack.ts", "333.3")
    assert [m.id for m in messages] == [c.messages[0].id]
    assert [m.content for m in await async_client.tyler.find_messages("content", "hi")] == ["hi"]
    thread = await async_client.tyler.get_thread_by_message_id(c.messages[0].id)
    assert thread is not None and thread.id == c.id

    # another project sees none of it
    other = await new_tenant(db)
    async with AsyncClient(server.url, other.api_key) as stranger:
        assert await stranger.tyler.find_by_platform("teams", {"id": "T9"}) == []
        assert await stranger.tyler.find_by_attributes({"team": "x"}) == []
        assert await stranger.tyler.find_messages("platforms.slack.ts", "333.3") == []
        with pytest.raises(NotFoundError):
            await stranger.steps.add_reaction(c.messages[0].id, ":x:", "me")


def test_deleting_a_thread_deletes_its_messages_and_references(client: Client) -> None:
    thread = conversation()
    client.tyler.save(thread)
    assert client.tyler.delete(thread.id) is True
    assert client.tyler.delete(thread.id) is False
    assert client.tyler.get(thread.id) is None
    assert client.tyler.find_by_platform("slack", {"channel": "C1"}) == []
    with pytest.raises(NotFoundError):
        client.steps.get_reactions(thread.messages[-2].id)
    client.tyler.save(thread)  # saved again from scratch after the delete
    assert same(client.tyler.load(thread.id), thread)


def test_title_without_an_llm_is_the_first_user_message(client: Client) -> None:
    thread = conversation()
    client.tyler.save(thread)
    expected = thread.messages[1].content[:50] + "..."
    result = client.threads.generate_title(thread.id)
    assert (result.title, result.generated_by, result.thread.name) == (
        expected,
        "first_message",
        expected,
    )
    assert client.tyler.generate_title(thread) == expected == thread.title
    local = conversation()
    assert local.generate_title() == expected
    empty = Thread(title="kept")
    client.tyler.save(empty)
    result = client.threads.generate_title(empty.id)
    assert (result.title, result.generated_by, result.thread.name) == (
        "Empty Thread",
        "none",
        "kept",
    )


def test_bad_input_is_4xx_naming_the_field(http: httpx.Client) -> None:
    def error(response: httpx.Response, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"error"}
        return body["error"]  # type: ignore[no-any-return]

    bad = {"slack": {"ts": 1}}
    assert (
        error(http.post("/v1/threads", json={"platforms": bad}), 422)["field"]
        == "platforms.slack.ts"
    )
    long = {"slack": {"ts": "x" * 257}}
    assert (
        error(http.put("/v1/threads/t1", json={"platforms": long}), 422)["field"]
        == "platforms.slack.ts"
    )
    step = {"id": "s1", "thread_id": "t1", "type": "user_message", "sequence": -1}
    assert (
        error(http.post("/v1/steps/batch", json={"steps": [step]}), 422)["field"]
        == "steps[0].sequence"
    )
    http.post("/v1/steps", json={"id": "s1", "thread_id": "t1", "type": "user_message"})
    assert (
        error(http.delete("/v1/steps/s1/reactions", params={"emoji": ":x:"}), 400)["field"]
        == "user_id"
    )
    assert (
        error(http.post("/v1/steps/s1/reactions", json={"emoji": "e" * 65, "user_id": "u"}), 422)[
            "field"
        ]
        == "emoji"
    )
    assert error(http.post("/v1/steps/nope/reactions", json={"emoji": ":x:", "user_id": "u"}), 404)
    batch = {"add": [{"step_id": "nope", "emoji": ":x:", "user_id": "u"}]}
    assert (
        error(http.post("/v1/threads/t1/reactions", json=batch), 404)["field"] == "add[0].step_id"
    )
    for body in ({"path": "bogus"}, {"path": "source"}, {"path": "id.x"}):
        assert error(http.post("/v1/messages/search", json=body), 422)["field"] == "path"
    assert error(http.post("/v1/messages/search", json={"path": "id", "value": [1]}), 422)["field"]
    assert error(http.get("/v1/threads/missing/analytics"), 404)["type"] == "not_found"
    assert error(http.post("/v1/threads/missing/title"), 404)["type"] == "not_found"
    assert error(http.post("/v1/threads/missing/steps/delete", json={"ids": ["a"]}), 404)
    assert (
        error(http.post("/v1/threads/by-attributes", json={"attributes": []}), 422)["field"]
        == "attributes"
    )


def test_tyler_resources_have_the_same_methods_sync_and_async() -> None:
    compared = 0
    for sync_cls, async_cls in (
        (_tyler.Tyler, _tyler.AsyncTyler),
        (_sync.Client, _async.AsyncClient),
    ):
        for name, member in vars(sync_cls).items():
            if name.startswith("_") or not callable(member):
                continue
            other = getattr(async_cls, name)
            sync_sig, async_sig = map(__import__("inspect").signature, (member, other))
            assert list(sync_sig.parameters) == list(async_sig.parameters), name
            assert [p.default for p in sync_sig.parameters.values()] == [
                p.default for p in async_sig.parameters.values()
            ], name
            compared += 1
    assert compared >= 12
    assert isinstance(Client("http://127.0.0.1:1", "k" * 20).tyler, _tyler.Tyler)


# --- titles from an LLM: a small OpenAI-compatible server on a loopback port ---------------------


class FakeLLM:
    """An OpenAI-compatible ``/v1/chat/completions`` that answers with ``reply`` (or fails)."""

    def __init__(self) -> None:
        self.reply: str | None = '"Order 1234 shipping delay"'
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if self.path != "/v1/chat/completions" or fake.reply is None:
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "model overloaded"}}')
                    return
                answer = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": int(datetime.now(UTC).timestamp()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": fake.reply},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    llm = FakeLLM()
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def llm_servers(
    tmp_path_factory: pytest.TempPathFactory,
    database_urls: dict[str, str | None],
    fake_llm: FakeLLM,
) -> Iterator[dict[str, Server]]:
    """A server per backend configured with the fake LLM, started on first use."""
    started: dict[str, Server] = {}

    class Lazy(dict[str, Server]):
        def __missing__(self, backend: str) -> Server:
            url = database_urls[backend]
            assert url is not None
            env = {
                "THREADLINE_LLM_URL": fake_llm.url,
                "THREADLINE_LLM_API_KEY": "sk-test",
                "THREADLINE_LLM_MODEL": "tiny-title-model",
            }
            folder: Path = tmp_path_factory.mktemp(f"llm-server-{backend}")
            self[backend] = started[backend] = start_server(url, folder, env=env)
            return self[backend]

    yield Lazy()
    for server in started.values():
        stop_server(server)


def test_title_from_an_openai_compatible_endpoint(
    llm_servers: dict[str, Server], backend: str, tenant: Tenant, fake_llm: FakeLLM
) -> None:
    server = llm_servers[backend]
    thread = conversation()
    with Client(server.url, tenant.api_key) as sdk:
        sdk.tyler.save(thread)
        fake_llm.requests.clear()
        result = sdk.threads.generate_title(thread.id)
        assert (result.title, result.generated_by) == ("Order 1234 shipping delay", "llm")
        assert sdk.threads.get(thread.id, include_steps=False).name == "Order 1234 shipping delay"
        headers, body = fake_llm.requests[-1]
        assert headers["authorization"] == "Bearer sk-test"
        assert body["model"] == "tiny-title-model"
        transcript = body["messages"][-1]["content"]
        assert "user: Where is my order 1234?" in transcript and "You are helpful" not in transcript
        assert sdk.tyler.generate_title(thread) == "Order 1234 shipping delay" == thread.title

        fake_llm.reply = None  # the model fails: a 502 with the native error body
        try:
            response = httpx.post(
                f"{server.url}/v1/threads/{thread.id}/title",
                headers={"x-api-key": tenant.api_key},
            )
        finally:
            fake_llm.reply = '"Order 1234 shipping delay"'
        assert response.status_code == 502
        assert response.json()["error"]["type"] == "upstream_error"
        assert "500" in response.json()["error"]["message"]
