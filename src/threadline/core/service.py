"""The domain service every surface calls: one method per operation, each one transaction.

The native API, the Literal AI and LangGraph layers and the CLI all go through here, so that a
thread written by one is the thread the others read.
"""

from __future__ import annotations

from typing import Any

from threadline.client import types as t
from threadline.core.files import FileLinks
from threadline.core.filters import Condition, equals, metadata_containment, parse_filters
from threadline.storage import aggregates, participants, projects, steps, thread_search, threads
from threadline.storage.database import Database
from threadline.storage.pagination import PageRequest


def _page(q: Any) -> PageRequest:
    order = q.order_by
    return PageRequest(
        first=q.first,
        after=q.after,
        before=q.before,
        limit=q.limit,
        offset=q.offset,
        descending=order is None or order.direction.upper() == "DESC",
        include_total=q.include_total,
    )


def thread_conditions(q: t.ThreadSearch | t.ThreadCount | t.ThreadExport) -> list[Condition]:
    conditions = parse_filters("threads", q.filters)
    if q.metadata is not None:
        conditions.append(metadata_containment(q.metadata))
    for name, field in (
        ("participant_id", "participantId"),
        ("environment", "environment"),
        ("status", "status"),
    ):
        value = getattr(q, name, None)
        if value is not None:
            conditions.append(equals(field, value))
    return conditions


def _step_values(body: t.StepCreate | t.StepUpdate) -> dict[str, Any]:
    """The fields the client sent; a generation is kept whole (with its type)."""
    values = body.model_dump(exclude_unset=True)
    if body.generation is not None:
        values["generation"] = body.generation.model_dump(exclude_none=True)
    return values


def batch_values(batch: t.StepBatch) -> list[dict[str, Any]]:
    """``_step_values`` of every step, from one dump of the whole batch (a dump per step cost
    14% of an ingest)."""
    items: list[dict[str, Any]] = batch.model_dump(exclude_unset=True)["steps"]
    for item, step in zip(items, batch.steps, strict=True):
        if step.generation is not None:  # kept whole, with its type (as _step_values does)
            item["generation"] = step.generation.model_dump(exclude_none=True)
    return items


def _add_totals(conn: Any, project_id: str, found: list[dict[str, Any]]) -> None:
    sums = aggregates.thread_totals(conn, project_id, [t["id"] for t in found])
    for thread in found:
        thread["token_count"], thread["duration"] = sums.get(thread["id"], (0, 0.0))


class Service:
    """Operations on one database; ``project_id`` scopes every call."""

    def __init__(self, db: Database) -> None:
        self.db = db
        #: set by the app when files are configured: fills attachments' signed URLs on reads
        self.links: FileLinks | None = None

    def _signed(self, result: dict[str, Any]) -> dict[str, Any]:
        if self.links is not None:
            self.links.sign(result)
        return result

    # --- threads -----------------------------------------------------------------------------

    async def create_thread(self, project_id: str, body: t.ThreadCreate) -> dict[str, Any]:
        data = body.model_dump(exclude_unset=True)
        alone = threads.one_statement_create(data)
        if alone and self.db.dialect == "postgresql":  # sent with the creates beside it
            plan, created = threads.planned_create(project_id, data)
            await self.db.insert_together(plan)
            return created
        return await self.db.write(
            threads.create, project_id, data, quick=True, one_statement=alone
        )

    async def get_thread(
        self,
        project_id: str,
        thread_id: str,
        *,
        include_steps: bool = True,
        totals: bool = False,
        wire: bool = False,
    ) -> dict[str, Any]:
        """The thread; with ``totals`` also its ``token_count`` and ``duration`` (seconds).
        ``wire``: the result only goes into a JSON response (its steps' JSON stays unparsed)."""

        def run(conn: Any) -> dict[str, Any]:
            thread = threads.get(
                conn, project_id, thread_id, include_steps=include_steps, wire=wire
            )
            if totals:
                _add_totals(conn, project_id, [thread])
            return thread

        return self._signed(await self.db.read(run, quick=True))

    async def update_thread(
        self,
        project_id: str,
        thread_id: str,
        body: t.ThreadUpdate,
        *,
        merge_metadata: bool = False,
    ) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        return await self.db.write(
            lambda c: threads.update(
                c, project_id, thread_id, changes, merge_metadata=merge_metadata
            ),
            quick=True,
        )

    async def upsert_thread(
        self, project_id: str, thread_id: str, body: t.ThreadUpdate
    ) -> tuple[dict[str, Any], bool]:
        changes = body.model_dump(exclude_unset=True)
        return await self.db.write(threads.upsert, project_id, thread_id, changes, quick=True)

    async def delete_thread(self, project_id: str, thread_id: str) -> None:
        await self.db.write(threads.delete, project_id, thread_id)

    async def search_threads(
        self,
        project_id: str,
        q: t.ThreadSearch,
        *,
        include_steps: bool = False,
        totals: bool = False,
    ) -> dict[str, Any]:
        """A page of threads; with ``totals`` each has ``token_count`` and ``duration``."""
        conditions = thread_conditions(q)
        order = q.order_by.column if q.order_by else "createdAt"
        page = _page(q)

        def run(conn: Any) -> dict[str, Any]:
            found = threads.search(
                conn, project_id, conditions, page, order_by=order, include_steps=include_steps
            )
            if totals:
                _add_totals(conn, project_id, found["data"])
            return found

        quick = not include_steps and thread_search.plan(conditions) is not None
        return self._signed(await self.db.read(run, quick=quick))

    async def count_threads(self, project_id: str, q: t.ThreadCount) -> int:
        conditions = thread_conditions(q)
        quick = thread_search.plan(conditions) is not None
        return await self.db.read(threads.count, project_id, conditions, quick=quick)

    async def export_threads(self, project_id: str, q: t.ThreadExport) -> dict[str, Any]:
        conditions = thread_conditions(q)
        return self._signed(
            await self.db.read(threads.export_page, project_id, conditions, q.page, q.page_size)
        )

    # --- steps -------------------------------------------------------------------------------

    async def create_step(self, project_id: str, body: t.StepCreate) -> dict[str, Any]:
        return await self.db.write(steps.create, project_id, _step_values(body), quick=True)

    async def get_step(self, project_id: str, step_id: str) -> dict[str, Any]:
        return self._signed(await self.db.read(steps.get, project_id, step_id, quick=True))

    async def update_step(
        self, project_id: str, step_id: str, body: t.StepUpdate
    ) -> dict[str, Any]:
        return await self.db.write(
            steps.update, project_id, step_id, _step_values(body), quick=True
        )

    async def delete_step(self, project_id: str, step_id: str) -> None:
        await self.db.write(steps.delete, project_id, step_id)

    async def ingest_steps(self, project_id: str, body: t.StepBatch) -> dict[str, Any]:
        return await self.db.write(steps.upsert_batch, project_id, batch_values(body))

    async def search_steps(self, project_id: str, q: t.StepSearch) -> dict[str, Any]:
        conditions = parse_filters("steps", q.filters)
        if q.thread_id is not None:
            conditions.append(equals("threadId", q.thread_id))
        if q.type is not None:
            conditions.append(Condition("type", "string", "eq", q.type))
        page = _page(q)
        quick = steps.one_thread(conditions, page) is not None  # prepared, one page
        return self._signed(
            await self.db.read(steps.search, project_id, conditions, page, quick=quick)
        )

    # --- participants ------------------------------------------------------------------------

    async def create_participant(
        self, project_id: str, body: t.ParticipantCreate
    ) -> dict[str, Any]:
        return await self.db.write(participants.create, project_id, body.model_dump(), quick=True)

    async def get_participant(self, project_id: str, participant_id: str) -> dict[str, Any]:
        return await self.db.read(participants.get, project_id, participant_id)

    async def get_participant_by_identifier(
        self, project_id: str, identifier: str
    ) -> dict[str, Any]:
        return await self.db.read(participants.get_by_identifier, project_id, identifier)

    async def get_or_create_participant(
        self, project_id: str, body: t.ParticipantCreate
    ) -> tuple[dict[str, Any], bool]:
        return await self.db.write(
            participants.get_or_create, project_id, body.model_dump(), quick=True
        )

    async def update_participant(
        self, project_id: str, participant_id: str, body: t.ParticipantUpdate
    ) -> dict[str, Any]:
        return await self.db.write(
            participants.update,
            project_id,
            participant_id,
            body.model_dump(exclude_unset=True),
            quick=True,
        )

    async def delete_participant(self, project_id: str, participant_id: str) -> None:
        await self.db.write(participants.delete, project_id, participant_id)

    async def search_participants(self, project_id: str, q: t.ParticipantSearch) -> dict[str, Any]:
        conditions = parse_filters("participants", q.filters)
        page = _page(q)
        return await self.db.read(participants.search, project_id, conditions, page)

    # --- projects and keys -------------------------------------------------------------------

    async def get_project(self, project_id: str) -> dict[str, Any]:
        return await self.db.read(projects.get_project, project_id)

    async def authenticate(self, secret: str) -> dict[str, Any] | None:
        return await self.db.read(projects.authenticate, secret)

    async def touch_key(self, key_id: str) -> None:
        await self.db.write(projects.touch_key, key_id, quick=True)

    async def list_keys(self, project_id: str) -> list[dict[str, Any]]:
        return await self.db.read(projects.list_keys, project_id)

    async def create_key(self, project_id: str, name: str | None) -> dict[str, Any]:
        return await self.db.write(projects.create_key, project_id, name)

    async def revoke_key(self, project_id: str, key_id: str) -> dict[str, Any]:
        return await self.db.write(projects.revoke_key, key_id, project_id)

    async def bootstrap(self, bootstrap_key: str | None) -> tuple[dict[str, Any], str | None]:
        """Ensure the default project; register a first key if there are none.

        Returns the default project and the new key's secret (None if keys existed already).
        """

        def run(conn: Any) -> tuple[dict[str, Any], str | None]:
            project = projects.ensure_default_project(conn)
            if projects.any_keys(conn):
                return project, None
            key = projects.create_key(conn, project["id"], "bootstrap", bootstrap_key)
            return project, str(key["key"])

        return await self.db.write(run)
