"""Participants (``client.users``) through the SDK on a real server, on both databases."""

from __future__ import annotations

import pytest

from threadline import Client, ConflictError, NotFoundError


def test_participant_crud(client: Client) -> None:
    user = client.users.create(identifier="alice@example.com", metadata={"plan": "pro"})
    assert client.users.get(user.id).metadata == {"plan": "pro"}
    assert client.users.get_by_identifier("alice@example.com").id == user.id
    with pytest.raises(ConflictError) as err:
        client.users.create(identifier="alice@example.com")
    assert err.value.field == "identifier"

    renamed = client.users.update(user.id, identifier="alice@new.example")
    assert renamed.identifier == "alice@new.example" and renamed.metadata == {"plan": "pro"}
    assert client.users.update(user.id, metadata={"plan": "free"}).metadata == {"plan": "free"}
    with pytest.raises(NotFoundError):
        client.users.get_by_identifier("alice@example.com")

    client.users.delete(user.id)
    with pytest.raises(NotFoundError):
        client.users.get(user.id)
    with pytest.raises(NotFoundError):
        client.users.delete(user.id)


def test_get_or_create(client: Client) -> None:
    first = client.users.get_or_create(identifier="bob", metadata={"a": 1})
    second = client.users.get_or_create(identifier="bob", metadata={"ignored": True})
    assert first.id == second.id and second.metadata == {"a": 1}


def test_rename_onto_taken_identifier_conflicts(client: Client) -> None:
    client.users.create(identifier="one")
    two = client.users.create(identifier="two")
    with pytest.raises(ConflictError):
        client.users.update(two.id, identifier="one")


def test_deleting_a_participant_keeps_their_threads(client: Client) -> None:
    thread = client.threads.create(participant_identifier="leaving")
    assert thread.participant_id is not None
    client.users.delete(thread.participant_id)
    kept = client.threads.get(thread.id)
    assert kept.participant_id is None and kept.participant is None


def test_list_participants_pages(client: Client) -> None:
    made = {client.users.create(identifier=f"p{i}").id for i in range(12)}
    page = client.users.list(first=5)
    assert page.total_count == 12
    assert {p.id for p in page} == made
