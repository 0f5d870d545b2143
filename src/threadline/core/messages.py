"""Tyler-style messages: reactions, platform and attribute lookups, analytics, titles.

Each method is one read or one write transaction, like :class:`threadline.core.service.Service`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from threadline.client import types as t
from threadline.core import titles
from threadline.core.filters import Condition, metadata_containment
from threadline.settings import Settings
from threadline.storage import message_analytics
from threadline.storage import messages as store
from threadline.storage import steps as step_store
from threadline.storage import threads as thread_store
from threadline.storage.database import Database
from threadline.storage.pagination import PageRequest


def _threads_by_id(
    conn: Connection, project_id: str, ids: list[str], *, include_steps: bool
) -> list[dict[str, Any]]:
    if not ids:
        return []
    page = PageRequest(limit=len(ids), include_total=False)
    found = thread_store.search(
        conn, project_id, [Condition("id", "id", "in", ids)], page, include_steps=include_steps
    )
    return list(found["data"])


class Messages:
    """Operations on one database; ``project_id`` scopes every call."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reactions ---------------------------------------------------------------------------

    async def get_reactions(self, project_id: str, step_id: str) -> dict[str, list[str]]:
        return await self.db.read(store.get_reactions, project_id, step_id)

    async def add_reaction(
        self, project_id: str, step_id: str, body: t.ReactionCreate
    ) -> dict[str, Any]:
        return await self.db.write(
            store.add_reaction, project_id, step_id, body.emoji, body.user_id
        )

    async def remove_reaction(
        self, project_id: str, step_id: str, emoji: str, user_id: str
    ) -> dict[str, Any]:
        return await self.db.write(store.remove_reaction, project_id, step_id, emoji, user_id)

    async def apply_reactions(
        self, project_id: str, thread_id: str, body: t.ReactionBatch
    ) -> dict[str, int]:
        remove = [r.model_dump() for r in body.remove]
        add = [r.model_dump() for r in body.add]
        return await self.db.write(store.apply_reactions, project_id, thread_id, remove, add)

    # --- messages ----------------------------------------------------------------------------

    async def delete_steps(self, project_id: str, thread_id: str, ids: list[str]) -> int:
        return await self.db.write(store.delete_thread_steps, project_id, thread_id, ids)

    async def find_messages(self, project_id: str, q: t.MessageSearch) -> list[dict[str, Any]]:
        def run(conn: Connection) -> list[dict[str, Any]]:
            ids = store.find_message_ids(conn, project_id, q.path, q.value, q.limit)
            if not ids:
                return []
            page = PageRequest(limit=len(ids), include_total=False, descending=False)
            found = step_store.search(conn, project_id, [Condition("id", "id", "in", ids)], page)
            return list(found["data"])

        return await self.db.read(run)

    # --- thread lookups ----------------------------------------------------------------------

    async def threads_by_platform(
        self, project_id: str, q: t.PlatformSearch
    ) -> list[dict[str, Any]]:
        def run(conn: Connection) -> list[dict[str, Any]]:
            ids = store.thread_ids_by_platform(conn, project_id, q.platform, q.properties, q.limit)
            return _threads_by_id(conn, project_id, ids, include_steps=q.include_steps)

        return await self.db.read(run)

    async def threads_by_attributes(
        self, project_id: str, q: t.AttributeSearch
    ) -> list[dict[str, Any]]:
        """Threads whose metadata contains ``attributes`` (the one filter engine's containment)."""
        conditions = [metadata_containment(q.attributes, field="attributes")]
        page = PageRequest(limit=q.limit, offset=q.offset, include_total=False)
        found = await self.db.read(
            lambda c: thread_store.search(
                c, project_id, conditions, page, order_by=q.order_by, include_steps=q.include_steps
            )
        )
        return list(found["data"])

    # --- analytics and titles ----------------------------------------------------------------

    async def analytics(self, project_id: str, thread_id: str) -> dict[str, Any]:
        return await self.db.read(message_analytics.thread_analytics, project_id, thread_id)

    async def generate_title(
        self, project_id: str, thread_id: str, settings: Settings
    ) -> dict[str, Any]:
        thread = await self.db.read(thread_store.get, project_id, thread_id)
        conversation = titles.conversation(thread.get("steps") or [])
        title, generated_by = await titles.make_title(conversation, settings)
        if generated_by != "none":
            thread = await self.db.write(
                thread_store.update, project_id, thread_id, {"name": title}
            )
        thread.pop("steps", None)
        return {"title": title, "generated_by": generated_by, "thread": thread}
