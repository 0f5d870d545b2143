"""``client.threads.export(filters=..., page=...)``: Literal AI's export loop, on both databases.

Threads get known creation times (``PUT /v1/threads/{id}`` with ``created_at``), then both SDK
clients page through them with Literal-style ``createdAt`` filters, as Literal's docs show:

    filters = ThreadFilter(createdAt=DateTimeFilter(operator="gt", value="2023-12-14"))
    result = client.api.export_threads(page=1, filters=filters)
    while result.hasNextPage: ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from threadline import AsyncClient, Client, UnprocessableEntityError
from threadline.client import types as t

#: thread id -> created_at: a year of threads, one per month (created out of order)
CREATED = {f"m{month:02d}": f"2024-{month:02d}-15T12:00:00Z" for month in (3, 1, 7, 12, 5, 9, 2)}
ORDERED = sorted(CREATED, key=CREATED.__getitem__)


@dataclass
class DateTimeFilter:
    """The shape of Literal's old ``DateTimeFilter`` (an object with operator and value)."""

    operator: str
    value: str


@pytest.fixture
def threads(http: httpx.Client) -> list[str]:
    for thread_id, created_at in CREATED.items():
        body = {"name": thread_id, "created_at": created_at, "tags": ["export"]}
        assert http.put(f"/v1/threads/{thread_id}", json=body).status_code == 201
        step = {"thread_id": thread_id, "type": "user_message", "output": {"content": thread_id}}
        assert http.post("/v1/steps", json=step).status_code == 201
    return ORDERED


def export_all(client: Client, filters: Any, page_size: int = 2) -> list[str]:
    """Literal's loop, verbatim apart from the client: page 1, then while hasNextPage."""
    page = 1
    result = client.threads.export(page=page, filters=filters, page_size=page_size)
    ids = [th.id for th in result.data]
    while result.hasNextPage:
        page += 1
        result = client.threads.export(page=page, filters=filters, page_size=page_size)
        ids += [th.id for th in result.data]
    return ids


def test_created_at_filters_select_and_pages_cover_each_thread_once(
    client: Client, threads: list[str]
) -> None:
    assert export_all(client, None) == threads, "oldest first, each thread once"
    assert export_all(client, None, page_size=500) == threads

    after_april = {"createdAt": {"operator": "gt", "value": "2024-04-01"}}  # a date alone
    assert export_all(client, after_april) == ["m05", "m07", "m09", "m12"]
    assert export_all(client, {"createdAt": DateTimeFilter("gt", "2024-04-01")}) == [
        "m05",
        "m07",
        "m09",
        "m12",
    ]
    spring = {
        "createdAt": [
            {"operator": "gte", "value": "2024-02-15T12:00:00Z"},
            {"operator": "lt", "value": "2024-06-01T00:00:00+02:00"},
        ]
    }
    assert export_all(client, spring) == ["m02", "m03", "m05"]
    before = [t.Filter(field="createdAt", operator="lt", value="2024-03-01")]
    assert export_all(client, before) == ["m01", "m02"]
    assert export_all(client, {"createdAt": DateTimeFilter("gt", "2030-01-01")}) == []

    combined = {
        "createdAt": {"operator": "gt", "value": "2024-04-01"},
        "name": {"operator": "ilike", "value": "M1"},
    }
    assert export_all(client, combined) == ["m12"]


def test_pages_carry_the_steps_and_their_numbers(client: Client, threads: list[str]) -> None:
    first = client.threads.export(page=1, page_size=3)
    assert (first.page, first.page_size, first.has_next_page, first.hasNextPage) == (
        1,
        3,
        True,
        True,
    )
    assert [th.id for th in first.data] == threads[:3]
    for th in first.data:
        assert th.steps is not None and [s.output for s in th.steps] == [{"content": th.id}]
        assert th.tags == ["export"]
    last = client.threads.export(page=3, page_size=3)
    assert [th.id for th in last.data] == threads[6:] and not last.has_next_page
    beyond = client.threads.export(page=4, page_size=3)
    assert beyond.data == [] and not beyond.hasNextPage


def test_bad_filters_are_named(client: Client, threads: list[str]) -> None:
    with pytest.raises(UnprocessableEntityError) as bad:
        client.threads.export(filters={"createdAt": {"operator": "ilike", "value": "2024"}})
    assert bad.value.field == "filters[0].operator"
    with pytest.raises(UnprocessableEntityError) as bad:
        client.threads.export(filters={"createdAt": {"operator": "gt", "value": "soon"}})
    assert bad.value.field == "filters[0].value"


async def test_async_client_exports_the_same_pages(
    async_client: AsyncClient, client: Client, threads: list[str]
) -> None:
    filters = {"createdAt": DateTimeFilter("gt", "2024-01-31")}
    page = 1
    ids: list[str] = []
    while True:
        result = await async_client.threads.export(page=page, filters=filters, page_size=2)
        ids += [th.id for th in result.data]
        if not result.has_next_page:
            break
        page += 1
    assert ids == threads[1:] == export_all(client, filters)
