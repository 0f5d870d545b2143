"""SQLite's pending list of metadata terms (storage/pending_terms.py): a thread create queues its
terms, and searches, counts, metadata changes, deletes and imports still see exactly the
metadata each thread has. Run on both databases (PostgreSQL writes its terms directly)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Tenant
from threadline.client import types as t
from threadline.core.service import Service
from threadline.storage import pending_terms, transfer
from threadline.storage.database import Database


async def _pending(db: Database) -> int:
    """Threads whose terms wait in the list (0 on PostgreSQL, which never uses it)."""

    def run(conn: Any) -> int:
        found = conn.exec_driver_sql("SELECT count(*) FROM thread_metadata_pending").scalar()
        return int(found)

    return await db.read(run)


async def _count(service: Service, tenant: Tenant, metadata: dict[str, Any]) -> int:
    return await service.count_threads(tenant.project_id, t.ThreadCount(metadata=metadata))


async def _ids(service: Service, tenant: Tenant, metadata: dict[str, Any]) -> list[str]:
    page = await service.search_threads(
        tenant.project_id, t.ThreadSearch(metadata=metadata, limit=50)
    )
    return [thread["id"] for thread in page["data"]]


async def _create(service: Service, tenant: Tenant, metadata: dict[str, Any]) -> str:
    body = t.ThreadCreate(metadata=metadata)
    return str((await service.create_thread(tenant.project_id, body))["id"])


async def test_new_threads_are_found_while_their_terms_wait(
    db: Database, service: Service, tenant: Tenant
) -> None:
    team = uuid.uuid4().hex
    ids = [await _create(service, tenant, {"team": team, "n": i}) for i in range(5)]
    if db.dialect == "sqlite":
        assert await _pending(db) >= 5  # the creates queued their terms
    assert await _count(service, tenant, {"team": team}) == 5
    assert await _pending(db) == 0  # the count merged them first
    second = await _create(service, tenant, {"team": team, "n": 5})
    assert await _ids(service, tenant, {"team": team}) == [second, *reversed(ids)]
    assert await _ids(service, tenant, {"team": team, "n": 3}) == [ids[3]]


async def test_metadata_change_of_a_waiting_thread_replaces_its_terms(
    db: Database, service: Service, tenant: Tenant
) -> None:
    old, new, newer = (uuid.uuid4().hex for _ in range(3))
    thread_id = await _create(service, tenant, {"team": old})
    other = await _create(service, tenant, {"team": old})
    await service.update_thread(
        tenant.project_id, thread_id, t.ThreadUpdate(metadata={"team": new})
    )
    if db.dialect == "sqlite":
        assert await _pending(db) >= 2  # both still wait: the update rewrote its row
    assert await _ids(service, tenant, {"team": old}) == [other]
    assert await _ids(service, tenant, {"team": new}) == [thread_id]
    # now merged: the next change goes through the index itself
    await service.update_thread(
        tenant.project_id, thread_id, t.ThreadUpdate(metadata={"team": newer})
    )
    assert await _count(service, tenant, {"team": new}) == 0
    assert await _count(service, tenant, {"team": newer}) == 1


async def test_deleted_waiting_thread_leaves_no_terms(
    db: Database, service: Service, tenant: Tenant
) -> None:
    team = uuid.uuid4().hex
    kept = await _create(service, tenant, {"team": team})
    gone = await _create(service, tenant, {"team": team})
    await service.delete_thread(tenant.project_id, gone)
    assert await _count(service, tenant, {"team": team}) == 1
    assert await _ids(service, tenant, {"team": team}) == [kept]
    # the same id again: a fresh thread with its own terms
    await service.create_thread(
        tenant.project_id, t.ThreadCreate(id=gone, metadata={"team": team, "again": True})
    )
    assert await _ids(service, tenant, {"again": True}) == [gone]
    assert await _count(service, tenant, {"team": team}) == 2


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # PostgreSQL never queues terms
async def test_the_writer_merges_the_list_as_it_grows(
    db: Database, service: Service, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = uuid.uuid4().hex
    await _count(service, tenant, {"team": team})  # starts from an empty list
    monkeypatch.setattr(pending_terms, "MERGE_EVERY", 4)
    await asyncio.gather(*(_create(service, tenant, {"team": team}) for _ in range(10)))
    for _ in range(50):  # the merge is a write of its own, queued after the creates
        if await _pending(db) < 4:
            break
        await asyncio.sleep(0.02)
    assert await _pending(db) < 4
    assert await _count(service, tenant, {"team": team}) == 10


async def test_import_over_a_waiting_thread(db: Database, service: Service, tenant: Tenant) -> None:
    old, new = uuid.uuid4().hex, uuid.uuid4().hex
    thread_id = await _create(service, tenant, {"team": old})
    record = transfer.parse_thread({"id": thread_id, "metadata": {"team": new}, "steps": []}, 1)
    await db.write(transfer.import_batch, tenant.project_id, [record])
    assert await _count(service, tenant, {"team": old}) == 0
    assert await _ids(service, tenant, {"team": new}) == [thread_id]


async def test_import_that_moves_a_thread_in_time_moves_its_terms(
    db: Database, service: Service, tenant: Tenant
) -> None:
    team = uuid.uuid4().hex
    first = await _create(service, tenant, {"team": team, "kind": "x"})
    second = await _create(service, tenant, {"team": team, "kind": "x"})
    assert await _ids(service, tenant, {"team": team}) == [second, first]
    later = {"id": first, "metadata": {"team": team, "kind": "x"}, "steps": []}
    later["created_at"] = "2099-01-01T00:00:00Z"
    await db.write(transfer.import_batch, tenant.project_id, [transfer.parse_thread(later, 1)])
    assert await _ids(service, tenant, {"team": team}) == [first, second]
    assert await _ids(service, tenant, {"team": team, "kind": "x"}) == [first, second]
    assert await _count(service, tenant, {"team": team, "kind": "x"}) == 2


async def test_counts_stay_exact_through_every_kind_of_write(
    db: Database, service: Service, tenant: Tenant
) -> None:
    """A one-key count is answered from SQLite's per-term numbers: creates (pending, then
    merged), metadata changes and deletes on both sides of a merge, and an import."""
    team = uuid.uuid4().hex
    colors = ("red", "blue", "green")
    have: dict[str, str] = {}  # thread id -> color
    for i in range(9):
        have[await _create(service, tenant, {"team": team, "color": colors[i % 3]})] = colors[i % 3]
    ids = list(have)

    async def check() -> None:
        for color in colors:
            want = sum(1 for c in have.values() if c == color)
            assert await _count(service, tenant, {"color": color, "team": team}) == want
            assert await _count(service, tenant, {"color": color}) == want
        assert await _count(service, tenant, {"team": team}) == len(have)

    async def recolor(thread_id: str, color: str) -> None:
        body = t.ThreadUpdate(metadata={"team": team, "color": color})
        await service.update_thread(tenant.project_id, thread_id, body)
        have[thread_id] = color

    async def delete(thread_id: str) -> None:
        await service.delete_thread(tenant.project_id, thread_id)
        del have[thread_id]

    await recolor(ids[0], "blue")  # still pending
    await delete(ids[1])  # still pending
    await check()  # merges
    await recolor(ids[2], "red")  # in the index
    await delete(ids[3])  # in the index
    await check()
    line = {"id": ids[4], "metadata": {"team": team, "color": "green"}, "steps": []}
    await db.write(transfer.import_batch, tenant.project_id, [transfer.parse_thread(line, 1)])
    have[ids[4]] = "green"
    fresh = {"id": uuid.uuid4().hex, "metadata": {"team": team, "color": "red"}, "steps": []}
    await db.write(transfer.import_batch, tenant.project_id, [transfer.parse_thread(fresh, 1)])
    have[fresh["id"]] = "red"
    await check()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # PostgreSQL keeps no counts
async def test_a_value_no_thread_holds_any_more_leaves_no_count_behind(
    db: Database, service: Service, tenant: Tenant
) -> None:
    """Metadata with a value unique to each change (a counter, a request id) must not grow
    SQLite's per-term counts forever."""

    def rows(conn: Any) -> int:
        query = "SELECT count(*) FROM thread_metadata_term_counts WHERE project_id = ?"
        return int(conn.exec_driver_sql(query, (tenant.project_id,)).scalar())

    thread_id = await _create(service, tenant, {"seen": 0})
    await _count(service, tenant, {"seen": 0})  # merged: its terms are in the index
    before = await db.read(rows)
    for i in range(1, 6):
        body = t.ThreadUpdate(metadata={"seen": i})
        await service.update_thread(tenant.project_id, thread_id, body)
    assert await db.read(rows) == before
    assert await _count(service, tenant, {"seen": 5}) == 1
    assert await _count(service, tenant, {"seen": 0}) == 0


async def test_a_thread_created_without_metadata_is_found_once_it_has_some(
    db: Database, service: Service, tenant: Tenant
) -> None:
    thread_id = str((await service.create_thread(tenant.project_id, t.ThreadCreate()))["id"])
    team = uuid.uuid4().hex
    await service.update_thread(
        tenant.project_id, thread_id, t.ThreadUpdate(metadata={"team": team})
    )
    assert await _ids(service, tenant, {"team": team}) == [thread_id]
    assert await _count(service, tenant, {"team": team}) == 1


async def test_a_waiting_thread_is_found_by_index_not_by_scanning_the_list(
    tmp_path: Path,
) -> None:
    """Every metadata change and delete looks for the thread's pending row (SQLite only): a scan
    of a list of up to MERGE_EVERY rows on each of them made updates slower as the list filled."""
    db = Database.create(f"sqlite:///{tmp_path / 'plans.db'}")
    await db.run_migrations()

    def plan(conn: Any, statement: str, params: tuple[str, ...]) -> str:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        return " ".join(str(row[-1]) for row in rows)

    try:
        for statement, params in (
            (pending_terms._REPLACE, ("[]", "p", "t")),
            (pending_terms._FORGET, ("p", "t")),
        ):
            found = await db.read(plan, statement, params)
            assert "USING INDEX ix_thread_metadata_pending_thread" in found, found
    finally:
        await db.close()
