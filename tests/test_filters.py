"""The one filter engine: JSON containment (PostgreSQL semantics on both databases) and the
Literal AI filter grammar, exercised through the SDK on a real server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from threadline import Client, UnprocessableEntityError

DOCS: dict[str, dict[str, Any]] = {
    "a": {
        "user": "u1",
        "n": 5,
        "flag": True,
        "tags": ["x", "y", "z"],
        "nested": {"k": "v", "d": {"e": 1}},
    },
    "b": {"user": "u2", "n": "5", "flag": False, "tags": ["y"], "nested": {"k": "w"}},
    "c": {"user": "u1", "n": 5.0, "none": None, "items": [{"id": 1, "tag": "p"}, {"id": 2}]},
    "d": {},
}


@pytest.fixture
def seeded(client: Client) -> dict[str, str]:
    return {key: client.threads.create(name=key, metadata=doc).id for key, doc in DOCS.items()}


def names(client: Client, **query: Any) -> set[str]:
    return {t.name or "" for t in client.threads.list(**query, first=100).data}


@pytest.mark.parametrize(
    ("containment", "expected"),
    [
        ({"user": "u1"}, {"a", "c"}),
        ({"n": 5}, {"a", "c"}),  # numbers compare numerically, 5 == 5.0
        ({"n": "5"}, {"b"}),  # type-strict: the string "5" is not the number 5
        ({"flag": True}, {"a"}),
        ({"flag": False}, {"b"}),
        ({"none": None}, {"c"}),
        ({"nested": {"k": "v"}}, {"a"}),  # recursive into objects
        ({"nested": {"d": {"e": 1}}}, {"a"}),
        ({"tags": ["z", "x"]}, {"a"}),  # array subset, any order
        ({"tags": ["y"]}, {"a", "b"}),
        ({"tags": []}, {"a", "b"}),  # empty array: any array
        ({"tags": "y"}, set()),  # a scalar does not match an array
        ({"items": [{"id": 2}]}, {"c"}),  # objects inside arrays
        ({"items": [{"id": 1, "tag": "p"}]}, {"c"}),
        ({"items": [{"id": 2, "tag": "p"}]}, set()),  # both keys in the same element
        ({"user": "u1", "n": 5}, {"a", "c"}),
        ({"user": "u3"}, set()),
        ({}, {"a", "b", "c", "d"}),
        ({"nested": {}}, {"a", "b"}),
    ],
)
def test_metadata_containment(
    client: Client, seeded: dict[str, str], containment: dict[str, Any], expected: set[str]
) -> None:
    assert names(client, metadata=containment) == expected
    assert client.threads.count(metadata=containment) == len(expected)


def test_containment_follows_updates(client: Client, seeded: dict[str, str]) -> None:
    client.threads.update(seeded["b"], metadata={"user": "u1"})
    assert names(client, metadata={"user": "u1"}) == {"a", "b", "c"}
    client.threads.delete(seeded["a"])
    assert names(client, metadata={"user": "u1"}) == {"b", "c"}


def test_wide_metadata_still_found(client: Client) -> None:
    """Rows with more leaves than the SQLite term index keeps are still matched exactly."""
    wide = {f"k{i}": i for i in range(400)}
    client.threads.create(name="wide", metadata=wide)
    client.threads.create(name="narrow", metadata={"k399": 399})
    assert names(client, metadata={"k399": 399}) == {"wide", "narrow"}
    assert client.threads.count(metadata={"k399": 399}) == 2
    assert client.threads.list(metadata={"k399": 399}).total_count == 2
    assert names(client, metadata={"k399": 398}) == set()
    assert client.threads.count(metadata={"k399": 398, "k1": 1}) == 0


def lit(field: str, operator: str, value: Any, path: str | None = None) -> dict[str, Any]:
    f = {"field": field, "operator": operator, "value": value}
    if path is not None:
        f["path"] = path
    return f


def test_literal_grammar_on_threads(client: Client) -> None:
    alice = client.threads.create(
        name="Billing question",
        tags=["billing", "vip"],
        participant_identifier="alice",
        metadata={"score": 7, "lang": "en"},
    )
    bob = client.threads.create(
        name="Login issue",
        tags=["auth"],
        participant_identifier="bob",
        metadata={"score": 3, "lang": "fr"},
    )
    anon = client.threads.create(name=None, metadata={"lang": "en"})
    client.steps.ingest(
        [
            {
                "id": "a1",
                "thread_id": alice.id,
                "type": "user_message",
                "name": "alice",
                "output": {"content": "My invoice is wrong"},
            },
            {
                "id": "a2",
                "thread_id": alice.id,
                "type": "llm",
                "name": "gpt",
                "generation": {"type": "chat", "model": "gpt-4o", "token_count": 120},
            },
            {
                "id": "b1",
                "thread_id": bob.id,
                "type": "user_message",
                "output": {"content": "cannot log in"},
            },
            {
                "id": "b2",
                "thread_id": bob.id,
                "type": "llm",
                "generation": {"type": "chat", "model": "gpt-4o", "token_count": 30},
            },
        ]
    )

    def ids(*filters: dict[str, Any]) -> set[str]:
        return {t.id for t in client.threads.list(filters=list(filters), first=50).data}

    assert ids(lit("name", "ilike", "BILLING")) == {alice.id}
    assert ids(lit("name", "nilike", "billing")) == {bob.id, anon.id}
    assert ids(lit("name", "eq", "Login issue")) == {bob.id}
    assert ids(lit("name", "neq", "Login issue")) == {alice.id, anon.id}
    assert ids(lit("tags", "in", ["vip", "auth"])) == {alice.id, bob.id}
    assert ids(lit("tags", "nin", ["vip"])) == {bob.id, anon.id}
    assert ids(lit("participantIdentifiers", "in", ["bob"])) == {bob.id}
    assert ids(lit("participantId", "eq", alice.participant_id)) == {alice.id}
    assert ids(lit("id", "in", [alice.id, anon.id])) == {alice.id, anon.id}
    assert ids(lit("stepType", "eq", "llm")) == {alice.id, bob.id}
    assert ids(lit("stepName", "eq", "gpt")) == {alice.id}
    assert ids(lit("stepOutput", "ilike", "invoice", "content")) == {alice.id}
    assert ids(lit("stepOutput", "ilike", "log in", "content")) == {bob.id}
    assert ids(lit("tokenCount", "gt", 100)) == {alice.id}
    assert ids(lit("tokenCount", "lte", 30)) == {bob.id, anon.id}
    assert ids(lit("metadata", "eq", "en", "lang")) == {alice.id, anon.id}
    assert ids(lit("metadata", "gt", 5, "score")) == {alice.id}
    assert ids(lit("metadata", "in", ["fr"], "lang")) == {bob.id}
    assert ids(lit("metadata", "eq", {"lang": "fr"})) == {bob.id}
    assert ids(lit("createdAt", "gt", "2000-01-01")) == {alice.id, bob.id, anon.id}
    assert ids(lit("createdAt", "lt", datetime(2000, 1, 1, tzinfo=UTC).isoformat())) == set()
    # AND of several filters
    assert ids(lit("metadata", "eq", "en", "lang"), lit("stepType", "eq", "llm")) == {alice.id}


def test_literal_grammar_on_steps(client: Client) -> None:
    thread = client.threads.create(participant_identifier="carol")
    client.steps.ingest(
        [
            {
                "id": "s1",
                "thread_id": thread.id,
                "type": "run",
                "name": "agent",
                "tags": ["to_score"],
                "metadata": {"v": 2},
            },
            {
                "id": "s2",
                "thread_id": thread.id,
                "parent_id": "s1",
                "type": "tool",
                "name": "search",
                "error": "timeout",
                "input": {"q": "weather"},
            },
            {"id": "s3", "type": "llm", "name": "free-standing"},
        ]
    )

    def ids(*filters: dict[str, Any]) -> set[str]:
        return {s.id for s in client.steps.list(filters=list(filters)).data}

    assert ids(lit("tags", "in", ["to_score"])) == {"s1"}
    assert ids(lit("parentId", "eq", "s1")) == {"s2"}
    assert ids(lit("threadId", "eq", thread.id)) == {"s1", "s2"}
    assert ids(lit("name", "ilike", "SEARCH")) == {"s2"}
    assert ids(lit("error", "eq", "timeout")) == {"s2"}
    assert ids(lit("input", "eq", "weather", "q")) == {"s2"}
    assert ids(lit("metadata", "gte", 2, "v")) == {"s1"}
    assert ids(lit("participantIdentifier", "eq", "carol")) == {"s1", "s2"}
    assert {s.id for s in client.steps.list(type="llm").data} == {"s3"}


def test_literal_grammar_on_participants(client: Client) -> None:
    busy = client.users.create(identifier="busy", metadata={"tier": "gold"})
    client.users.create(identifier="idle")
    for _ in range(3):
        client.threads.create(participant_id=busy.id)

    def idents(*filters: dict[str, Any]) -> set[str]:
        return {p.identifier for p in client.users.list(filters=list(filters)).data}

    assert idents(lit("threadCount", "gte", 2)) == {"busy"}
    assert idents(lit("threadCount", "eq", 0)) == {"idle"}
    assert idents(lit("identifier", "ilike", "BUS")) == {"busy"}
    assert idents(lit("metadata", "eq", "gold", "tier")) == {"busy"}
    listed = {p.identifier: p for p in client.users.list().data}
    assert listed["busy"].thread_count == 3 and listed["busy"].last_engaged is not None
    assert listed["idle"].thread_count == 0 and listed["idle"].last_engaged is None


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (lit("nope", "eq", "x"), "filters[0].field"),
        (lit("name", "gt", "x"), "filters[0].operator"),
        (lit("tags", "in", "not-a-list"), "filters[0].value"),
        (lit("createdAt", "gt", "yesterday"), "filters[0].value"),
        (lit("tokenCount", "gt", "many"), "filters[0].value"),
        (lit("name", "eq", "x", "deep.path"), "filters[0].path"),
        (lit("metadata", "ilike", "x"), "filters[0].operator"),
    ],
)
def test_bad_filters_are_422_naming_the_part(
    client: Client, bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(UnprocessableEntityError) as err:
        client.threads.list(filters=[bad])
    assert err.value.field == field
    with pytest.raises(UnprocessableEntityError):
        client.threads.count(filters=[bad])


def test_literal_path_filters_tell_large_integer_ids_apart(client: Client) -> None:
    """``eq``/``neq`` on an integer beyond 2^53 match its exact value, not the neighbours that
    share its float (nor, on SQLite, those beyond 64 bits that SQLite reads as one float)."""
    made = {
        n: client.threads.create(metadata={"ext": n}).id
        for n in (2**60, 2**60 + 1, 2**64 - 1, 2**64 - 2)
    }
    text = client.threads.create(metadata={"ext": str(2**60)}).id

    def ids(operator: str, value: int) -> set[str]:
        found = client.threads.list(filters=[lit("metadata", operator, value, "ext")], first=50)
        return {t.id for t in found.data}

    assert ids("eq", 2**60) == {made[2**60], text}, "the number, or a string of its digits"
    assert ids("eq", 2**64 - 2) == {made[2**64 - 2]}
    assert ids("neq", 2**64 - 1) == set(made.values()) - {made[2**64 - 1]} | {text}
