"""Thread creates that arrive together (storage/insert_batches.py: PostgreSQL sends the creates
of one turn of the event loop as one batch; SQLite commits them as one group): each request
gets its own outcome, and what is stored is exactly what was acknowledged. Both databases."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.conftest import Tenant
from threadline.client import types as t
from threadline.core.errors import Conflict, InvalidInput
from threadline.core.service import Service
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
