"""The fast thread search (storage/thread_search.py): both plans give the same pages and counts,
and PostgreSQL threads written before its term index existed are indexed by migration 0008."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from alembic import command
from sqlalchemy.engine import Connection

from tests.conftest import Tenant
from threadline.core.filters import Condition, equals, metadata_containment
from threadline.storage import migrate, thread_search, threads
from threadline.storage.database import Database
from threadline.storage.pagination import PageRequest

BASE = datetime(2026, 1, 1, tzinfo=UTC)
TEAMS = ("a", "b", "c", "d")


def _seed(conn: Connection, project_id: str) -> list[dict[str, Any]]:
    rows = []
    for i in range(60):
        team = TEAMS[0] if i % 2 else TEAMS[i % 4]  # a: ~3/4 of the threads, d: ~1/8
        meta = {"team": team, "shard": i % 3, "tier": {"level": "gold" if i % 5 == 0 else "x"}}
        data = {
            "metadata": meta,
            "status": "busy" if i % 7 == 0 else "idle",
            "created_at": BASE + timedelta(seconds=i),
        }
        data["id"] = threads.insert_row(conn, project_id, data)
        rows.append(data)
    return rows


def _matches(row: dict[str, Any], meta: dict[str, Any] | None, status: str | None) -> bool:
    def contains(have: Any, want: Any) -> bool:
        if isinstance(want, dict):
            return isinstance(have, dict) and all(
                k in have and contains(have[k], v) for k, v in want.items()
            )
        return bool(have == want)

    return (meta is None or contains(row["metadata"], meta)) and (
        status is None or row["status"] == status
    )


FILTERS: list[tuple[dict[str, Any] | None, str | None]] = [
    ({"team": "a"}, None),
    ({"team": "d"}, None),
    ({"team": "a", "shard": 1}, None),
    ({"team": "b", "tier": {"level": "gold"}}, None),
    ({"team": "a"}, "busy"),
    ({"team": "zzz"}, None),
    (None, "busy"),
]
PAGES = [
    PageRequest(limit=5),
    PageRequest(limit=5, offset=5),
    PageRequest(limit=7, offset=40, descending=False),
    PageRequest(limit=50, descending=False),
    PageRequest(limit=3, offset=100),
]


def _conditions(meta: dict[str, Any] | None, status: str | None) -> list[Condition]:
    found = [metadata_containment(meta)] if meta is not None else []
    return found + ([equals("status", status)] if status is not None else [])


def _results(conn: Connection, project_id: str, order_by: str = "createdAt") -> list[Any]:
    """Every filter's pages, totals and count (the seeded threads' updated_at is their
    created_at, so both orders give the same pages)."""
    out: list[Any] = []
    for meta, status in FILTERS:
        conditions = _conditions(meta, status)
        assert thread_search.plan(conditions) is not None
        for page in PAGES:
            found = threads.search(conn, project_id, conditions, page, order_by=order_by)
            out.append(
                (
                    [t["id"] for t in found["data"]],
                    found["total_count"],
                    found["page_info"]["has_next_page"],
                )
            )
        out.append(threads.count(conn, project_id, conditions))
    return out


def _expected(rows: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for meta, status in FILTERS:
        ids = [r["id"] for r in reversed(rows) if _matches(r, meta, status)]  # newest first
        for page in PAGES:
            ordered = ids if page.descending else ids[::-1]
            offset = page.offset or 0
            part = ordered[offset : offset + page.size]
            out.append((part, len(ids), len(ordered) > offset + page.size))
        out.append(len(ids))
    return out


async def test_drive_and_walk_give_the_same_pages(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = await db.write(_seed, tenant.project_id)
    expected = _expected(rows)
    chosen: list[int | None] = []
    choose = thread_search._choose

    def spy(*args: Any) -> Any:
        found = choose(*args)
        chosen.append(found.driver)
        return found

    monkeypatch.setattr(thread_search, "_choose", spy)
    for density in (1e12, 0.0):  # always drive from the rarest term / walk unless no holders
        monkeypatch.setitem(thread_search.DENSITY, db.dialect, density)
        chosen.clear()
        # (by updated_at: in created order a term's holders are read in that order instead)
        assert await db.read(_results, tenant.project_id, "updatedAt") == expected
        drove = {driver is not None for driver in chosen}
        assert drove == ({True} if density else {False, True})  # "zzz": no holders, drives


async def test_created_order_pages_read_from_the_term_index(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = await db.write(_seed, tenant.project_id)
    used: list[bool] = []
    ordered = thread_search._search_in_created_order

    def spy(*args: Any) -> Any:
        used.append(True)
        return ordered(*args)

    monkeypatch.setattr(thread_search, "_search_in_created_order", spy)
    assert await db.read(_results, tenant.project_id) == _expected(rows)
    metadata_pages = sum(1 for meta, _ in FILTERS if meta is not None) * len(PAGES)
    assert len(used) == metadata_pages


async def test_the_density_rule_picks_the_plan(db: Database) -> None:
    # 100,000 threads, a page of 21 rows: walk a filter held by 20,000, drive one held by 100
    dialect = db.dialect
    assert thread_search.drive_limit(dialect, 21, 100_000) < 20_000
    assert thread_search.drive_limit(dialect, 21, 100_000) > 100
    # deep pages drive sooner: walking to row 2,000 of 20,000 holders reads ~10,000 rows
    assert thread_search.drive_limit(dialect, 2_001, 100_000) > thread_search.drive_limit(
        dialect, 21, 100_000
    )
    assert await db.read(thread_search.size) >= 0


# --- migration 0008 ------------------------------------------------------------------------------


def _upgrade_to_0007(conn: Connection) -> None:
    """Every branch at its newest revision except the term backfill (0008)."""
    cfg = migrate._config(conn)
    for revision in ("0002_evaluation", "0003_messages", "0004_langgraph", "0007_term_counts"):
        command.upgrade(cfg, revision)


def _insert_pre_0008(conn: Connection) -> str:
    """A project and a thread as the code before 0008 left them on PostgreSQL: no terms."""
    conn.exec_driver_sql(
        "INSERT INTO projects (id, name, created_at) VALUES ('p0008', 'p0008', now())"
    )
    for i, channel in enumerate(("web", "web", "slack")):
        conn.exec_driver_sql(
            "INSERT INTO threads (project_id, id, metadata, tags, status, created_at, updated_at)"
            f" VALUES ('p0008', 't{i}', '{{\"channel\": \"{channel}\", \"n\": {i}}}', '[]',"
            f" 'idle', now() + interval '{i} seconds', now())"
        )
    return "p0008"


async def test_migration_0008_indexes_existing_postgres_threads(empty_postgres: str) -> None:
    db = Database.create(empty_postgres)
    try:
        await db.write(_upgrade_to_0007)
        project_id = await db.write(_insert_pre_0008)
        await db.run_migrations()
        assert await db.read(migrate.current_revision) == migrate.head_revision()
        web = [metadata_containment({"channel": "web"})]
        found = await db.read(threads.search, project_id, web, PageRequest(limit=10))
        assert [t["id"] for t in found["data"]] == ["t1", "t0"]
        assert found["total_count"] == 2
        assert await db.read(threads.count, project_id, web) == 2
        both = [metadata_containment({"channel": "slack", "n": 2})]
        assert await db.read(threads.count, project_id, both) == 1
    finally:
        await db.close()


def test_large_integer_ids_in_metadata_are_told_apart(http: httpx.Client) -> None:
    """Ids beyond 2^53 (Discord's, Twitter's) that round to the same float share a term in the
    index; lists and counts still answer only the thread holding the exact value."""
    ids = [2**60, 2**60 + 1, 2**64 - 1, 2**64 - 2]
    made = {n: http.post("/v1/threads", json={"metadata": {"ext": n}}).json()["id"] for n in ids}
    for n in ids:
        metadata = orjson.dumps({"ext": n}).decode()
        page = http.get("/v1/threads", params={"metadata": metadata}).json()
        assert [t["id"] for t in page["data"]] == [made[n]], n
        assert page["total_count"] == 1
        count = http.post("/v1/threads/count", json={"metadata": {"ext": n}}).json()
        assert count == {"count": 1}, n
