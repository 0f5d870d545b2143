"""``threadline.Thread`` / ``Message`` / ``Attachment`` behave like Tyler's (slide-narrator
6.4.0): the same operations on both models give the same dumps, ids and analytics."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import narrator
import pytest
from pydantic import ValidationError

import threadline
from threadline import Attachment, Message, Thread

T0 = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)


def metrics(model: str | None, prompt: int, completion: int, latency: float) -> dict[str, Any]:
    return {
        "model": model,
        "timing": {"started_at": None, "ended_at": None, "latency": latency},
        "usage": {
            "completion_tokens": completion,
            "prompt_tokens": prompt,
            "total_tokens": prompt + completion,
        },
        "weave_call": {"id": "", "ui_url": ""},
    }


def build(module: Any) -> Any:
    """The same conversation, built with threadline's model or narrator's."""
    at = iter(T0 + timedelta(seconds=i) for i in range(100))
    thread = module.Thread(
        id="t-1",
        title="Trip",
        created_at=T0,
        updated_at=T0,
        attributes={"customer": "c1"},
        platforms={"slack": {"channel": "C1", "thread_ts": "1.1"}},
    )
    m = module.Message
    thread.add_message(
        m(
            role="user",
            content="Plan a trip to Paris for me, with museums and food!",
            timestamp=next(at),
            source={"id": "U1", "type": "user"},
        )
    )
    thread.add_message(m(role="system", content="You are a travel agent.", timestamp=next(at)))
    call = {"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
    call2 = {"id": "c2", "type": "function", "function": {"name": "book", "arguments": "{}"}}
    thread.add_message(
        m(
            role="assistant",
            content="",
            tool_calls=[call, call2],
            timestamp=next(at),
            metrics=metrics("gpt-4.1", 100, 20, 300),
        )
    )
    thread.add_message(
        m(role="tool", name="search", tool_call_id="c1", content="museums", timestamp=next(at)),
        same_turn=True,
    )
    thread.add_message(
        m(role="tool", name="book", tool_call_id="c2", content="booked", timestamp=next(at)),
        same_turn=True,
    )
    thread.add_message(
        m(
            role="assistant",
            content="Done.",
            reasoning_content="thinking",
            timestamp=next(at),
            metrics=metrics("gpt-4.1-mini", 30, 10, 120),
            attachments=[
                module.Attachment(
                    filename="plan.pdf",
                    mime_type="application/pdf",
                    storage_path="ab/plan.pdf",
                    status="stored",
                    attributes={"url": "https://files.example/plan.pdf"},
                )
            ],
        )
    )
    thread.add_messages_batch(
        [
            m(
                role="user",
                content=[
                    {"type": "text", "text": "and this"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
                ],
                timestamp=next(at),
                attachments=[
                    module.Attachment(
                        filename="photo.png",
                        mime_type="image/png",
                        storage_path="cd/photo.png",
                        status="stored",
                    )
                ],
            ),
            m(role="user", content="and that", timestamp=next(at), attributes={"k": "v"}),
        ]
    )
    answer = thread.messages[-3].id
    assert thread.add_reaction(answer, ":thumbsup:", "U1")
    assert thread.add_reaction(answer, ":thumbsup:", "U2")
    assert not thread.add_reaction(answer, ":thumbsup:", "U2")
    assert thread.add_reaction(answer, ":heart:", "U1")
    assert thread.remove_reaction(answer, ":heart:", "U1")
    assert not thread.remove_reaction(answer, ":heart:", "U1")
    assert not thread.add_reaction("missing", ":x:", "U1")
    thread.updated_at = T0
    return thread


@pytest.fixture
def pair() -> tuple[Thread, Any]:
    return build(threadline), build(narrator)


def test_sequences_turns_and_ids_match_narrator(pair: tuple[Thread, Any]) -> None:
    ours, theirs = pair
    assert [(m.role, m.sequence, m.turn) for m in ours.messages] == [
        ("system", 0, 0),
        ("user", 1, 1),
        ("assistant", 2, 2),
        ("tool", 3, 2),
        ("tool", 4, 2),
        ("assistant", 5, 3),
        ("user", 6, 4),
        ("user", 7, 4),
    ]
    assert [m.id for m in ours.messages] == [m.id for m in theirs.messages]
    assert all(len(m.id) == 64 for m in ours.messages)


def test_dumps_match_narrator(pair: tuple[Thread, Any]) -> None:
    ours, theirs = pair
    assert ours.model_dump() == theirs.model_dump()
    assert ours.model_dump(mode="python") == theirs.model_dump(mode="python")
    assert ours.to_dict() == theirs.to_dict()
    dump = ours.model_dump()
    assert dump["created_at"] == "2026-11-22T10:00:00.123456+00:00"
    assert isinstance(ours.model_dump(mode="python")["created_at"], datetime)
    assert list(dump) == [
        "id",
        "title",
        "messages",
        "created_at",
        "updated_at",
        "attributes",
        "platforms",
    ]
    assert list(dump["messages"][1]) == [
        "id",
        "role",
        "sequence",
        "turn",
        "content",
        "timestamp",
        "source",
        "platforms",
        "metrics",
        "reactions",
    ]
    # with keyword arguments: pydantic's own dump (no legacy reshaping, None values dropped)
    pydantic_dump = ours.model_dump(exclude_none=True)
    assert set(pydantic_dump) == set(theirs.model_dump(exclude_none=True))
    assert "tool_calls" not in pydantic_dump["messages"][1]
    assert pydantic_dump["messages"][2]["tool_calls"][0]["id"] == "c1"


async def test_chat_completion_messages_match_narrator(
    pair: tuple[Thread, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ours, theirs = pair
    # narrator turns a storage path into a URL with its local FileStore's base path
    monkeypatch.setenv("NARRATOR_FILE_STORAGE_PATH", str(tmp_path))
    expected = await theirs.get_messages_for_chat_completion()
    assert await ours.get_messages_for_chat_completion(file_store=narrator.FileStore) == expected
    # without a file store, the storage path itself stands for the URL
    plain = await ours.get_messages_for_chat_completion()
    assert plain[5]["content"] == "[File: cd/photo.png (image/png)]"
    assert plain[:5] == expected[:5]
    assert expected[0] == {
        "role": "user",
        "content": "Plan a trip to Paris for me, with museums and food!",
        "sequence": 1,
    }
    assert expected[4]["content"] == (
        "Done.\n\nGenerated Files:\n[File: https://files.example/plan.pdf (application/pdf)]"
    )
    assert expected[5]["content"].startswith("[File: ") and expected[5]["content"].endswith(
        "cd/photo.png (image/png)]"
    )


def test_analytics_match_narrator(pair: tuple[Thread, Any]) -> None:
    ours, theirs = pair
    for name in (
        "get_total_tokens",
        "get_model_usage",
        "get_message_timing_stats",
        "get_message_counts",
        "get_tool_usage",
        "get_current_turn",
        "get_turns_summary",
    ):
        assert getattr(ours, name)() == getattr(theirs, name)(), name
    assert (
        ours.get_model_usage("gpt-4.1")
        == theirs.get_model_usage("gpt-4.1")
        == {
            "calls": 1,
            "completion_tokens": 20,
            "prompt_tokens": 100,
            "total_tokens": 120,
        }
    )
    assert ours.get_model_usage("nope") == theirs.get_model_usage("nope")
    assert ours.get_message_timing_stats() == {
        "total_latency": 420,
        "average_latency": 210.0,
        "message_count": 2,
    }
    assert ours.get_tool_usage() == {"tools": {"search": 1, "book": 1}, "total_calls": 2}
    assert ours.analytics()["message_counts"] == {"system": 1, "user": 3, "assistant": 2, "tool": 2}
    empty, empty_theirs = Thread(), narrator.Thread()
    assert empty.analytics()["timing"] == empty_theirs.get_message_timing_stats()
    assert empty.get_total_tokens() == empty_theirs.get_total_tokens()


def test_lookups_match_narrator(pair: tuple[Thread, Any]) -> None:
    ours, theirs = pair

    def ids(found: Any) -> Any:
        if found is None:
            return None
        return [m.id for m in found] if isinstance(found, list) else found.id

    calls: list[Callable[[Any], Any]] = [
        lambda t: t.get_system_message(),
        lambda t: t.get_last_message_by_role("user"),
        lambda t: t.get_last_message_by_role("tool"),
        lambda t: t.get_last_message_by_role("system"),
        lambda t: t.get_messages_in_sequence(),
        lambda t: t.get_messages_by_turn(2),
        lambda t: t.get_message_by_id(t.messages[3].id),
        lambda t: t.get_message_by_id("missing"),
    ]
    for call in calls:
        assert ids(call(ours)) == ids(call(theirs))
    answer = ours.messages[5].id
    assert (
        ours.get_reactions(answer) == theirs.get_reactions(answer) == {":thumbsup:": ["U1", "U2"]}
    )
    assert ours.get_reactions("missing") == {}
    assert ours.has_reaction(answer, ":thumbsup:", "U2")
    assert ours.messages[5].get_reaction_counts() == {":thumbsup:": 2}
    assert Thread().get_last_message_by_role("user") is None


def test_titles_match_narrator() -> None:
    for contents in (
        [],
        ["short"],
        ["x" * 50],
        ["y" * 51],
        [[{"type": "text", "text": "list content"}], "second"],
    ):
        ours, theirs = Thread(), narrator.Thread()
        for content in contents:
            ours.add_message(Message(role="user", content=content))
            theirs.add_message(narrator.Message(role="user", content=content))
        assert ours.generate_title() == theirs.generate_title()
        assert ours.title == theirs.title
    only_assistant = Thread()
    only_assistant.add_message(Message(role="assistant", content="hi"))
    assert only_assistant.generate_title() == "Untitled Thread"


def test_timestamps_are_timezone_aware() -> None:
    naive = datetime(2026, 1, 1, 12, 0, 0)
    thread = Thread(created_at=naive, updated_at=naive)
    assert thread.created_at == naive.replace(tzinfo=UTC)
    message = Message(role="user", content="x", timestamp=naive)
    assert message.timestamp.tzinfo is UTC
    paris = timezone(timedelta(hours=1))
    assert Message(
        role="user", content="x", timestamp=naive.replace(tzinfo=paris)
    ).timestamp.utcoffset() == timedelta(hours=1)
    before = thread.updated_at
    thread.add_message(message)
    assert thread.updated_at > before and thread.updated_at.tzinfo is not None


def test_attachments_match_narrator() -> None:
    raw = b"\x89PNG data"
    for kwargs in (
        {"filename": "a.png", "content": raw},
        {"filename": "a.txt", "content": base64.b64encode(b"text").decode()},
        {"filename": "a.txt", "content": "plain text, not base64!"},
        {"filename": "empty.bin", "mime_type": "application/octet-stream"},
    ):
        ours, theirs = Attachment(**kwargs), narrator.Attachment(**kwargs)
        assert ours.id == theirs.id
        assert ours.model_dump() == theirs.model_dump()
    shortcut = Message(role="user", content="file", file_content=raw, filename="a.png")
    assert shortcut.attachments[0].content == raw and shortcut.attachments[0].filename == "a.png"
    message = Message(role="user", content="x")
    message.add_attachment(raw, filename="b.png")
    message.add_attachment(Attachment(filename="c.txt"))
    assert [a.filename for a in message.attachments] == ["b.png", "c.txt"]
    with pytest.raises(ValueError, match="filename"):
        message.add_attachment(raw)


def test_invalid_messages_are_rejected_like_narrator() -> None:
    for kwargs in (
        {"role": "tool", "content": "x"},  # needs tool_call_id
        {"role": "robot", "content": "x"},
        {"role": "assistant", "tool_calls": ["not a dict"]},
        {"role": "assistant", "tool_calls": [{"id": "1", "type": "function"}]},
        {"role": "user", "source": {"name": "no id"}},
        {"role": "user", "source": {"id": "1", "type": "alien"}},
        {"role": "user", "unknown_field": 1},
        {"role": "user", "platforms": {"slack": {"ts": 1}}},
    ):
        with pytest.raises(ValidationError):
            Message(**kwargs)
        with pytest.raises((ValidationError, ValueError)):
            narrator.Message(**kwargs)
