"""Migration 0014_step_wire on a database with steps: on SQLite it rebuilds the steps table, which
must not cascade to the rows that refer to steps (scores, reactions, platform references), and
both databases must render the steps written before it as a thread read renders them."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command

from tests.test_thread_reads import _comparable, _steps
from threadline.api.responses import dumps
from threadline.client import types as t
from threadline.core.service import Service, batch_values
from threadline.storage import messages, migrate, projects, scores
from threadline.storage import steps as step_store
from threadline.storage import threads as thread_store
from threadline.storage.database import Database
from threadline.storage.schema import scores as scores_table
from threadline.storage.schema import step_platform_refs, step_reactions

BEFORE = ("0002_evaluation", "0004_langgraph", "0013_pg_term_counts", "0003_messages")


def _counts(conn: Any) -> list[int]:
    tables = (scores_table, step_reactions, step_platform_refs)
    return [
        int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in tables
    ]


async def test_upgrade_keeps_what_refers_to_steps_and_renders_old_steps(
    empty_database: str,
) -> None:
    db = Database.create(empty_database)
    try:

        def previous_release(conn: Any) -> str:
            cfg = migrate._config(conn)
            for revision in BEFORE:
                command.upgrade(cfg, revision)
            project_id = str(projects.create_project(conn, "old")["id"])
            for tid in ("annotated", "plain"):
                thread_store.insert_row(conn, project_id, {"id": tid, "metadata": {}})
                batch = t.StepBatch.model_validate({"steps": _steps(tid)})
                step_store.upsert_batch(conn, project_id, batch_values(batch))
            scores.create_many(
                conn,
                project_id,
                [{"step_id": "annotated-llm", "name": "q", "type": "HUMAN", "value": 1.0}],
            )
            messages.add_reaction(conn, project_id, "annotated-user", "👍", "u1")
            return project_id

        project_id = await db.write(previous_release)
        before = await db.read(_counts)
        assert before[:2] == [1, 1] and before[2] > 0  # a score, a reaction, slack references

        await db.run_migrations()
        assert await db.read(migrate.current_revision) == migrate.head_revision()
        assert await db.read(_counts) == before

        service = Service(db)
        for tid in ("annotated", "plain"):
            slow = await service.get_thread(project_id, tid)
            fast = await service.get_thread(project_id, tid, wire=True)
            assert len(slow["steps"]) == 5
            assert _comparable(dumps(fast)) == _comparable(dumps(slow))
        plain = await service.get_thread(project_id, "plain", wire=True)
        assert isinstance(plain["steps"], orjson.Fragment), "rendered by the migration"
        annotated = orjson.loads(dumps(await service.get_thread(project_id, "annotated")))
        assert [s["name"] for s in annotated["scores"]] == ["q"]
    finally:
        await db.close()
