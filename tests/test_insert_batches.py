"""Thread creates that arrive together (storage/insert_batches.py: PostgreSQL writes the creates
that arrive during a write in the next one, as one statement; SQLite commits them as one
group): each request gets its own outcome, and what is stored is exactly what was
acknowledged. Both databases, and PostgreSQL's grouping itself."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.conftest import Tenant
from threadline.client import types as t
from threadline.core.errors import Conflict, InvalidInput
from threadline.core.service import Service
from threadline.storage import insert_batches, threads
from threadline.storage.database import Database


async def _together(service: Service, tenant: Tenant, bodies: list[dict[str, Any]]) -> list[Any]:
    """Create ``bodies`` concurrently, all started in one turn of the loop."""
    return await asyncio.gather(
        *(service.create_thread(tenant.project_id, t.ThreadCreate(**b)) for b in bodies),
        return_exceptions=True,
    )


async def _count(service: Service, tenant: Tenant, metadata: dict[str, Any]) -> int:
    return await service.count_threads(tenant.project_id, t.ThreadCount(metadata=metadata))


_FIELDS = ("id", "name", "metadata", "tags", "environment", "status", "created_at", "updated_at")


async def test_creates_sent_together_are_all_stored(service: Service, tenant: Tenant) -> None:
    batch = uuid.uuid4().hex
    bodies: list[dict[str, Any]] = [
        {
            "id": f"{batch}-{i}",
            "name": f"chat {i}" if i % 2 else None,
            "metadata": {"batch": batch, "i": i, "nested": {"deep": [i, "x"]}},
            "tags": ["t", str(i)],
            "environment": "prod" if i % 3 else None,
            "status": "busy" if i == 5 else "idle",
        }
        for i in range(30)
    ]
    bodies += [{"name": "no metadata"} for _ in range(3)]  # another statement: another batch
    results = await _together(service, tenant, bodies)
    assert [r["id"] for r in results[:30]] == [b["id"] for b in bodies[:30]]
    assert await _count(service, tenant, {"batch": batch}) == 30
    assert await _count(service, tenant, {"batch": batch, "i": 7}) == 1
    assert await _count(service, tenant, {"nested": {"deep": [7]}}) == 1
    for body, created in zip(bodies, results, strict=True):
        got = await service.get_thread(tenant.project_id, created["id"])
        assert {k: got[k] for k in _FIELDS} == {k: created[k] for k in _FIELDS}
        assert {k: got[k] for k in body} == body


async def test_a_taken_id_fails_only_its_own_create(service: Service, tenant: Tenant) -> None:
    """A batch with a duplicate id fails as a whole in the database; its rows are then sent one
    by one, so the duplicate is that request's 409 and its neighbours are created."""
    batch = uuid.uuid4().hex
    taken = f"{batch}-taken"
    await service.create_thread(tenant.project_id, t.ThreadCreate(id=taken))
    bodies = [{"id": f"{batch}-{i}", "metadata": {"batch": batch}} for i in range(10)]
    bodies.insert(4, {"id": taken, "metadata": {"batch": batch}})
    bodies += [{"id": f"{batch}-twin", "metadata": {"batch": batch, "twin": n}} for n in (1, 2)]
    results = await _together(service, tenant, bodies)

    refused = results[4]
    assert isinstance(refused, Conflict) and refused.field == "id" and taken in str(refused)
    twins = results[-2:]
    assert sum(isinstance(r, Conflict) for r in twins) == 1, twins
    created = [r for r in results if not isinstance(r, Exception)]
    assert len(created) == 11
    assert await _count(service, tenant, {"batch": batch}) == 11  # the taken one kept its own
    twin = await service.get_thread(tenant.project_id, f"{batch}-twin")
    winner = next(r for r in twins if not isinstance(r, Exception))
    assert twin["metadata"] == winner["metadata"]


async def test_a_value_the_database_refuses_fails_only_its_own_create(
    db: Database, service: Service, tenant: Tenant
) -> None:
    """PostgreSQL text cannot hold a NUL character: that create is a 4xx naming the value, the
    others in its batch are stored (SQLite stores it)."""
    batch = uuid.uuid4().hex
    bodies = [{"metadata": {"batch": batch}} for _ in range(5)]
    bodies.insert(2, {"name": "nul\x00name", "metadata": {"batch": batch}})
    results = await _together(service, tenant, bodies)
    if db.dialect == "postgresql":
        assert isinstance(results[2], InvalidInput), results[2]
        assert await _count(service, tenant, {"batch": batch}) == 5
    else:
        assert results[2]["name"] == "nul\x00name"
        assert await _count(service, tenant, {"batch": batch}) == 6
    assert not any(isinstance(r, Exception) for i, r in enumerate(results) if i != 2)


class _Writes:
    """A runner for an ``InsertBatcher`` that writes through ``db`` and records how many rows
    each write carried; ``hold`` (when set) keeps the next write from starting until released."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows: list[int] = []
        self.started = asyncio.Event()
        self.hold: asyncio.Event | None = None

    async def __call__(self, fn: Any, plans: Any) -> Any:
        self.rows.append(len(plans) if isinstance(plans, list) else 1)
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        return await self.db.write(fn, plans, one_statement=True)


def _plans(tenant: Tenant, marker: str, n: int) -> list[insert_batches.PlannedInsert]:
    return [
        threads.planned_create(tenant.project_id, {"metadata": {"m": marker}})[0] for _ in range(n)
    ]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_creates_arriving_during_a_write_go_in_the_next_write(
    db: Database, service: Service, tenant: Tenant
) -> None:
    """Group commit: creates of one turn are one write; creates that arrive while it runs wait
    for it and go together in the next one; a create on its own is written at once."""
    writes = _Writes(db)
    batcher = insert_batches.InsertBatcher(writes)
    marker = uuid.uuid4().hex
    writes.hold = asyncio.Event()
    first = [asyncio.create_task(batcher.insert(p)) for p in _plans(tenant, marker, 5)]
    await asyncio.wait_for(writes.started.wait(), 5)
    second = [asyncio.create_task(batcher.insert(p)) for p in _plans(tenant, marker, 7)]
    await asyncio.sleep(0.05)  # the second group waits for the first write, however long
    assert writes.rows == [5] and not any(task.done() for task in first + second)
    writes.hold.set()
    await asyncio.wait_for(asyncio.gather(*first, *second), 10)
    await asyncio.wait_for(batcher.insert(_plans(tenant, marker, 1)[0]), 10)
    assert writes.rows == [5, 7, 1]
    assert await _count(service, tenant, {"m": marker}) == 13


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_stopped_sender_leaves_no_create_waiting(db: Database, tenant: Tenant) -> None:
    """If the sender is cancelled (the server shutting down), every create it held is
    cancelled too rather than waiting forever for an answer."""
    writes = _Writes(db)
    writes.hold = asyncio.Event()  # never released: the first write never finishes
    batcher = insert_batches.InsertBatcher(writes)
    marker = uuid.uuid4().hex
    first = [asyncio.create_task(batcher.insert(p)) for p in _plans(tenant, marker, 3)]
    await asyncio.wait_for(writes.started.wait(), 5)
    second = [asyncio.create_task(batcher.insert(p)) for p in _plans(tenant, marker, 2)]
    await asyncio.sleep(0)
    assert batcher._sender is not None
    batcher._sender.cancel()
    results = await asyncio.wait_for(asyncio.gather(*first, *second, return_exceptions=True), 5)
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results
    await batcher.close()
