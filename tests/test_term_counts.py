"""Per-term thread counts (storage/term_stats.py): a one-term count is a lookup on both
databases. PostgreSQL's statement triggers append deltas that ``compact`` folds every second;
the count is exact before, during and after a fold, and a value nobody holds leaves no row."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa

from tests.conftest import Tenant
from threadline.client import types as t
from threadline.core.service import Service
from threadline.storage import term_stats
from threadline.storage.database import Database
from threadline.storage.schema import thread_metadata_term_counts, thread_metadata_term_deltas


async def _count(service: Service, tenant: Tenant, metadata: dict[str, Any]) -> int:
    return await service.count_threads(tenant.project_id, t.ThreadCount(metadata=metadata))


def _rows(conn: Any, project_id: str) -> tuple[int, int]:
    """(count rows, delta rows) of the project."""
    found = []
    for table in (thread_metadata_term_counts, thread_metadata_term_deltas):
        query = sa.select(sa.func.count()).where(table.c.project_id == project_id)
        found.append(int(conn.execute(query).scalar_one()))
    return found[0], found[1]


def _fold(conn: Any) -> int:
    """Fold now, after any fold the database itself is running."""
    return term_stats.compact(conn, wait=True)


async def test_counts_stay_exact_through_writes_and_folds(
    db: Database, service: Service, tenant: Tenant
) -> None:
    team = uuid.uuid4().hex

    async def create(i: int) -> str:
        body = t.ThreadCreate(metadata={"team": team, "k": i % 3})
        return str((await service.create_thread(tenant.project_id, body))["id"])

    ids = await asyncio.gather(*(create(i) for i in range(30)))
    for tid in ids[:5]:
        await service.delete_thread(tenant.project_id, tid)
    for tid in ids[5:10]:  # k moves to 7
        await service.update_thread(
            tenant.project_id, tid, t.ThreadUpdate(metadata={"team": team, "k": 7})
        )
    expected = {0: 0, 1: 0, 2: 0, 7: 5}
    for i, _ in enumerate(ids[10:], start=10):
        expected[i % 3] += 1

    async def check() -> None:
        assert await _count(service, tenant, {"team": team}) == 25
        for k, n in expected.items():
            assert await _count(service, tenant, {"team": team, "k": k}) == n

    await check()  # whether or not the database's own folding has run yet
    await db.write(_fold)
    await check()
    if db.dialect == "postgresql":
        assert (await db.read(_rows, tenant.project_id))[1] == 0  # all folded

    for tid in ids[5:]:
        await service.delete_thread(tenant.project_id, tid)
    await db.write(_fold)
    assert await _count(service, tenant, {"team": team}) == 0
    assert await db.read(_rows, tenant.project_id) == (0, 0)  # no row for a value nobody holds
