"""Threads through the SDK on a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from threadline import AsyncClient, Client, ConflictError, NotFoundError, UnprocessableEntityError


def test_create_get_update_delete(client: Client) -> None:
    created = client.threads.create(
        name="Support chat",
        metadata={"user": "u1", "plan": {"tier": "pro"}},
        tags=["support"],
        participant_identifier="alice@example.com",
        environment="prod",
    )
    assert created.name == "Support chat"
    assert created.participant is not None
    assert created.participant.identifier == "alice@example.com"
    assert created.created_at.tzinfo is not None

    got = client.threads.get(created.id)
    assert got.metadata == {"user": "u1", "plan": {"tier": "pro"}}
    assert got.tags == ["support"]
    assert got.environment == "prod"
    assert got.steps == []

    updated = client.threads.update(created.id, name="Renamed", tags=["a", "b"])
    assert updated.name == "Renamed"
    assert updated.tags == ["a", "b"]
    assert updated.metadata == {"user": "u1", "plan": {"tier": "pro"}}, "absent fields are kept"
    assert updated.participant_id == created.participant_id
    assert updated.updated_at >= created.updated_at

    cleared = client.threads.update(created.id, name=None, metadata={"x": 1})
    assert cleared.name is None
    assert cleared.metadata == {"x": 1}

    client.threads.delete(created.id)
    with pytest.raises(NotFoundError):
        client.threads.get(created.id)
    with pytest.raises(NotFoundError):
        client.threads.delete(created.id)


def test_client_chosen_ids_any_string(client: Client) -> None:
    for thread_id in ("t-1", "1234567890123456789", "with space/and?slash", "üñïçødé"):
        client.threads.create(id=thread_id)
        assert client.threads.get(thread_id).id == thread_id
    with pytest.raises(ConflictError) as err:
        client.threads.create(id="t-1")
    assert err.value.field == "id"


def test_generated_ids_are_uuid7(client: Client) -> None:
    before = time.time()
    ids = []
    for _ in range(3):
        ids.append(client.threads.create().id)
        time.sleep(0.002)  # ids of one millisecond are random among themselves
    for thread_id in ids:
        parsed = uuid.UUID(thread_id)
        assert str(parsed) == thread_id  # the canonical lowercase 8-4-4-4-12 form
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before - 1 <= (parsed.int >> 80) / 1000 <= time.time() + 1  # ms since the epoch
    assert ids == sorted(ids)  # made later, sorts later


def test_create_answers_what_get_reads(client: Client) -> None:
    for fields in (
        {},
        {"name": "n", "metadata": {"a": [1]}, "tags": ["t"], "environment": "e"},
        {"participant_identifier": "someone"},
    ):
        created = client.threads.create(**fields)
        assert created == client.threads.get(created.id, include_steps=False)


def test_upsert_creates_then_updates(client: Client) -> None:
    first = client.threads.upsert("up-1", name="one", metadata={"k": 1})
    assert first.name == "one"
    second = client.threads.upsert("up-1", tags=["t"])
    assert second.name == "one" and second.tags == ["t"] and second.metadata == {"k": 1}
    assert second.created_at == first.created_at


def test_steps_come_back_in_order(client: Client) -> None:
    thread = client.threads.create()
    base = datetime(2025, 1, 1, tzinfo=UTC)
    steps = [
        {
            "id": f"s{i}",
            "thread_id": thread.id,
            "type": "user_message",
            "start_time": (base + timedelta(seconds=60 - i)).isoformat(),
            "output": {"content": i},
        }
        for i in range(50)
    ]
    client.steps.ingest(steps)
    got = client.threads.get(thread.id)
    assert got.steps is not None
    assert [s.id for s in got.steps] == [f"s{i}" for i in reversed(range(50))]
    assert client.threads.get(thread.id, include_steps=False).steps is None


def test_delete_cascades_to_steps(client: Client) -> None:
    thread = client.threads.create()
    step = client.steps.create(thread_id=thread.id, type="run", name="root")
    client.threads.delete(thread.id)
    with pytest.raises(NotFoundError):
        client.steps.get(step.id)


def test_participant_must_exist(client: Client) -> None:
    with pytest.raises(UnprocessableEntityError) as err:
        client.threads.create(participant_id="nobody")
    assert err.value.field == "participant_id"


def test_cursor_pagination_covers_every_row_once(client: Client) -> None:
    ids = {client.threads.create(metadata={"batch": "p"}).id for _ in range(23)}
    page = client.threads.list(metadata={"batch": "p"}, first=5)
    assert page.total_count == 23
    assert len(page.data) == 5 and page.page_info.has_next_page
    seen = [t.id for t in page]
    assert len(seen) == 23 and set(seen) == ids
    created = [client.threads.get(i).created_at for i in seen]
    assert created == sorted(created, reverse=True), "newest first"

    # walking back with `before` from the second page returns the first page
    second = client.threads.list(metadata={"batch": "p"}, first=5, after=page.page_info.end_cursor)
    back = client.threads.list(
        metadata={"batch": "p"}, first=5, before=second.page_info.start_cursor
    )
    assert [t.id for t in back.data] == [t.id for t in page.data]
    assert back.page_info.has_next_page


def test_offset_pagination_and_ascending_order(client: Client) -> None:
    made = [client.threads.create(metadata={"batch": "o"}).id for _ in range(7)]
    page = client.threads.list(metadata={"batch": "o"}, limit=3, offset=2, order="asc")
    assert [t.id for t in page.data] == made[2:5]
    assert [t.id for t in page] == made[2:]


def test_order_by_updated_at(client: Client) -> None:
    a = client.threads.create(metadata={"batch": "u"})
    b = client.threads.create(metadata={"batch": "u"})
    client.threads.update(a.id, name="touched")
    page = client.threads.list(metadata={"batch": "u"}, order_by="updatedAt")
    assert [t.id for t in page.data] == [a.id, b.id]
    with pytest.raises(UnprocessableEntityError):
        client.threads.list(order_by="name")


def test_count_and_equality_filters(client: Client) -> None:
    client.threads.create(environment="prod", participant_identifier="bob")
    client.threads.create(environment="prod")
    client.threads.create(environment="dev", status="busy")
    assert client.threads.count() == 3
    assert client.threads.count(environment="prod") == 2
    assert client.threads.count(status="busy") == 1
    bob = client.users.get_by_identifier("bob")
    assert client.threads.count(participant_id=bob.id) == 1


def test_metadata_search_follows_updates_and_deletes(client: Client) -> None:
    """The indexed metadata searches (and SQLite's per-term thread counts) stay exact as
    threads are created, re-tagged and deleted."""
    a = [client.threads.create(metadata={"team": "a", "n": i}) for i in range(4)]
    gold = client.threads.create(metadata={"team": "a", "tier": {"level": "gold"}})
    b = [client.threads.create(metadata={"team": "b"}, status="busy") for _ in range(2)]
    assert client.threads.count(metadata={"team": "a"}) == 5
    assert client.threads.count(metadata={"team": "a", "tier": {"level": "gold"}}) == 1
    assert client.threads.count(metadata={"team": "b"}, status="busy") == 2
    assert client.threads.count(metadata={"team": "c"}) == 0

    client.threads.update(a[0].id, metadata={"team": "b"})
    client.threads.delete(b[0].id)
    assert client.threads.count(metadata={"team": "a"}) == 4
    assert client.threads.count(metadata={"team": "b"}) == 2
    page = client.threads.list(metadata={"team": "b"}, limit=1)
    assert page.total_count == 2
    assert [t.id for t in page.data] == [b[1].id]  # newest first
    assert page.page_info.has_next_page
    rest = client.threads.list(metadata={"team": "b"}, limit=1, offset=1)
    assert [t.id for t in rest.data] == [a[0].id]
    assert not rest.page_info.has_next_page
    assert rest.page_info.has_previous_page
    oldest = client.threads.list(metadata={"team": "a"}, order="asc", limit=2)
    assert [t.id for t in oldest.data] == [a[1].id, a[2].id]
    assert [t.id for t in client.threads.list(metadata={"tier": {"level": "gold"}})] == [gold.id]
    # paging on from a page of the fast path covers the rest exactly once
    seen = [t.id for t in client.threads.list(metadata={"team": "a"}, first=2)]
    assert sorted(seen) == sorted([t.id for t in a[1:]] + [gold.id])


def test_metadata_search_of_a_thread_too_wide_to_index(client: Client) -> None:
    """A thread with more metadata leaves than the term index keeps is still found."""
    wide = client.threads.create(metadata={"team": "a", **{f"k{i}": i for i in range(300)}})
    narrow = client.threads.create(metadata={"team": "a"})
    client.threads.create(metadata={"team": "b"})
    assert client.threads.count(metadata={"team": "a"}) == 2
    assert client.threads.count(metadata={"k299": 299}) == 1
    found = client.threads.list(metadata={"team": "a"})
    assert [t.id for t in found.data] == [narrow.id, wide.id]
    assert found.total_count == 2


def test_export_pages_with_steps(client: Client) -> None:
    for i in range(5):
        t = client.threads.create(name=f"e{i}")
        client.steps.create(thread_id=t.id, type="user_message", output={"content": "hi"})
    first = client.threads.export(page=1, page_size=2)
    assert first.has_next_page and len(first.data) == 2
    assert all(t.steps and len(t.steps) == 1 for t in first.data)
    names = []
    page = 1
    while True:
        result = client.threads.export(page=page, page_size=2)
        names += [t.name for t in result.data]
        if not result.has_next_page:
            break
        page += 1
    assert names == [f"e{i}" for i in range(5)], "oldest first, every thread once"


def test_export_date_filters(client: Client) -> None:
    client.threads.create(name="old")
    cutoff = datetime.now(UTC)
    client.threads.create(name="new")
    after = client.threads.export(
        filters=[{"field": "createdAt", "operator": "gt", "value": cutoff.isoformat()}]
    )
    assert [t.name for t in after.data] == ["new"]
    before = client.threads.export(
        filters=[{"field": "createdAt", "operator": "lt", "value": cutoff.isoformat()}]
    )
    assert [t.name for t in before.data] == ["old"]


async def test_async_client_same_behaviour(async_client: AsyncClient) -> None:
    thread = await async_client.threads.create(name="async", metadata={"k": "v"})
    await async_client.steps.ingest(
        [{"id": f"a{i}", "thread_id": thread.id, "type": "assistant_message"} for i in range(12)]
    )
    got = await async_client.threads.get(thread.id)
    assert got.steps is not None and len(got.steps) == 12
    page = await async_client.threads.list(metadata={"k": "v"})
    assert [t.id for t in page.data] == [thread.id]
    steps = [s.id async for s in await async_client.steps.list(thread_id=thread.id, first=5)]
    assert sorted(steps) == sorted(f"a{i}" for i in range(12))
    assert await async_client.threads.count(metadata={"k": "v"}) == 1
    await async_client.threads.delete(thread.id)
    with pytest.raises(NotFoundError):
        await async_client.threads.get(thread.id)
