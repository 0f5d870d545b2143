"""Migration 0003_messages upgrades a database of the previous release, on both databases:
threads and message steps written before it load as Tyler threads afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command

from threadline.client._tyler import Models, thread_from_json
from threadline.storage import migrate, projects
from threadline.storage import threads as thread_store
from threadline.storage.database import Database
from threadline.storage.schema import steps, threads


async def test_upgrade_from_the_core_release_keeps_old_threads(empty_database: str) -> None:
    db = Database.create(empty_database)
    try:
        await db.write(lambda c: command.upgrade(migrate._config(c), "0001_core"))
        now = datetime(2026, 11, 1, tzinfo=UTC)

        def old_release(conn: Any) -> str:
            project = projects.create_project(conn, "old")
            conn.execute(
                threads.insert().values(
                    project_id=project["id"],
                    id="t-old",
                    name="before",
                    metadata={"k": "v"},
                    tags=[],
                    status="idle",
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                steps.insert().values(
                    project_id=project["id"],
                    id="s-old",
                    thread_id="t-old",
                    type="user_message",
                    output={"content": "hello from before"},
                    metadata={},
                    tags=[],
                    start_time=now,
                    created_at=now,
                )
            )
            return str(project["id"])

        project_id = await db.write(old_release)
        await db.run_migrations()
        body = await db.read(thread_store.get, project_id, "t-old")
        assert body["platforms"] == {}
        assert body["steps"][0]["sequence"] is None and body["steps"][0]["reactions"] == {}
        thread, _ = thread_from_json(body, Models())
        assert thread.title == "before" and thread.attributes == {"k": "v"}
        assert [(m.role, m.content, m.sequence) for m in thread.messages] == [
            ("user", "hello from before", None)
        ]
        revisions = await db.read(migrate.current_revision)
        assert revisions == migrate.head_revision()  # 0003_messages merged into 0014_step_wire
    finally:
        await db.close()
