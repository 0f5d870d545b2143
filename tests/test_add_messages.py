"""The ``add_messages`` reducer (core/state.py) against a plain reading of its rule: every
message coerced, then each incoming one appended, or replacing the first message with its id,
or removing by id. The reducer skips coercing messages already in their stored form and finds
ids through an index; what it returns must not change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from threadline.core.state import REMOVE_ALL_MESSAGES, add_messages, coerce_message


def rule(left: list[Any], right: list[Any]) -> list[Any]:
    """The reducer as LangGraph states it, without shortcuts."""
    current = [coerce_message(m) for m in left]
    for message in (coerce_message(m) for m in right):
        if message["type"] == "remove":
            if message["id"] == REMOVE_ALL_MESSAGES:
                current = []
            else:
                current = [m for m in current if m.get("id") != message["id"]]
            continue
        for index, existing in enumerate(current):
            if existing.get("id") == message["id"]:
                current[index] = message
                break
        else:
            current.append(message)
    return current


STORED = [  # as a checkpoint holds them: already coerced
    coerce_message({"role": "user", "content": "hi", "id": "u1"}),
    coerce_message({"role": "assistant", "content": "hello", "id": "a1", "tool_calls": []}),
    coerce_message({"type": "tool", "content": "42", "id": "t1", "tool_call_id": "c1"}),
    coerce_message({"role": "system", "content": "be brief", "id": "s1"}),
]
RAW = [  # written into the channel some other way: each needs coercing
    {"role": "user", "content": "role, not type", "id": "r1"},
    {"type": "ai", "content": "no kwargs", "id": "r2"},
    {"type": "human", "content": "kwargs null", "id": "r3", "additional_kwargs": None},
    {"type": "ai", "content": "tool calls null", "id": "r4", "tool_calls": None},
    {"type": "tool", "content": "no status", "id": "r5", "tool_call_id": "c9"},
    {**STORED[0], "id": "r6", "extra": {"kept": True}},
    # stored form but for one field: coercing still changes them
    {**STORED[0], "id": "r7", "additional_kwargs": None},
    {**STORED[0], "id": "r8", "response_metadata": None},
    {**STORED[1], "id": "r9", "tool_calls": None},
    {**STORED[1], "id": "r10", "invalid_tool_calls": None},
    {**{k: v for k, v in STORED[2].items() if k != "status"}, "id": "r11"},
    {**STORED[3], "id": "r12", "role": "system"},
    ["user", "a pair"],
    "a bare string",
]


@pytest.mark.parametrize(
    "right",
    [
        [{"role": "user", "content": "new", "id": "n1"}],
        [{"role": "assistant", "content": "replaced", "id": "a1"}],
        [{"type": "remove", "id": "u1"}, {"role": "user", "content": "after", "id": "n2"}],
        [
            {"type": "remove", "id": REMOVE_ALL_MESSAGES},
            {"role": "user", "content": "x", "id": "n3"},
        ],
        [
            {"role": "user", "content": "twice", "id": "d1"},
            {"role": "ai", "content": "d", "id": "d1"},
        ],
        [
            {"role": "user", "content": "dup", "id": "u1"},
            {"role": "user", "content": "n", "id": "n4"},
        ],
    ],
)
@pytest.mark.parametrize("left", [STORED, RAW[:-2], STORED + RAW[:-2], STORED + STORED, []])
def test_the_reducer_follows_the_rule(left: list[Any], right: list[Any]) -> None:
    before = copy.deepcopy(left)
    assert add_messages(left, right) == rule(left, right)
    assert left == before  # the channel's old value is not changed in place


def test_messages_without_an_id_get_one_and_keep_their_order() -> None:
    out = add_messages(STORED, [*RAW[-2:], {"role": "user", "content": "no id"}])
    assert [m["content"] for m in out[len(STORED) :]] == ["a pair", "a bare string", "no id"]
    assert all(m["id"] for m in out) and len({m["id"] for m in out}) == len(out)
    assert out[: len(STORED)] == STORED
