"""Prompts: content identity, get-or-create, reads by id or name, and sticky A/B rollouts.

A version's identity is a SHA-256 of its canonical content: template messages, settings without
``provider`` (Literal's SDK strips it from settings it received and sends the rest back) and tools,
serialised with sorted keys, so key order never makes a new version.

A rollout maps versions of a lineage to percentages summing to 100. ``get by name`` without a
version serves the rollout's pick: sticky for a participant (or else a thread) id, because the id
is hashed with the lineage id into a bucket 0-99; random when no id is given.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from typing import Any

import orjson

from threadline.client import types as t
from threadline.core.attachments import page_of
from threadline.core.errors import InvalidInput
from threadline.storage import prompts
from threadline.storage.database import Database

IGNORED_SETTINGS = frozenset({"provider"})


def _canonical(value: Any) -> Any:
    """Integral floats as ints (``1.0`` and ``1`` are the same setting), recursively; those
    beyond 64 bits (``1e300``) stay floats, which the hash's JSON encoding can hold."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def content_hash(
    template_messages: Sequence[Any], settings: dict[str, Any] | None, tools: Any
) -> str:
    content = {
        "template_messages": list(template_messages),
        "settings": {k: v for k, v in (settings or {}).items() if k not in IGNORED_SETTINGS},
        "tools": tools or None,
    }
    text = orjson.dumps(_canonical(content), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()


def check_rollouts(items: Sequence[t.RolloutItem]) -> list[tuple[int, int]]:
    """(version, percentage) pairs; 422 unless they sum to 100 with each version once."""
    seen: set[int] = set()
    for index, item in enumerate(items):
        if item.version in seen:
            raise InvalidInput(
                f"version {item.version} appears twice", field=f"rollouts[{index}].version"
            )
        seen.add(item.version)
    total = sum(item.percentage for item in items)
    if items and total != 100:
        raise InvalidInput(f"rollout percentages must sum to 100, not {total}", field="rollouts")
    return sorted((item.version, item.percentage) for item in items)


def bucket(lineage_id: str, sticky_key: str) -> int:
    """A stable number 0-99 for this lineage and id (the same on every process and restart)."""
    digest = hashlib.sha256(f"{lineage_id}\n{sticky_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def pick(rollout: Sequence[tuple[int, int]], point: int) -> int:
    """The version whose share of 0-99 (in version order) contains ``point``."""
    upto = 0
    for version, percentage in rollout:
        upto += percentage
        if point < upto:
            return version
    return rollout[-1][0]


def chooser(sticky_key: str | None) -> prompts.Chooser:
    def choose(lineage_id: str, rollout: Sequence[tuple[int, int]]) -> int:
        point = bucket(lineage_id, sticky_key) if sticky_key else random.randrange(100)
        return pick(rollout, point)

    return choose


class Prompts:
    """Prompt operations. ``get_or_create`` hits for known content are answered from a small
    per-process cache for ``cache_seconds`` (a version never changes; a lineage deleted by another
    process may be served that long, as a revoked API key is)."""

    def __init__(self, db: Database, *, cache_seconds: float = 10.0) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._known: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}

    async def get_or_create(
        self, project_id: str, body: t.PromptCreate
    ) -> tuple[dict[str, Any], bool]:
        """The version with this content (a read, the common case), else a new next version."""
        digest = content_hash(body.template_messages, body.settings, body.tools)
        key = (project_id, body.name, digest)
        cached = self._known.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1], False
        known = await self.db.read(prompts.find_by_hash, project_id, body.name, digest)
        if known is not None:
            found, created = known, False
        else:
            data = body.model_dump(exclude={"name"})
            data["content_hash"] = digest
            found, created = await self.db.write(prompts.get_or_create, project_id, body.name, data)
        if len(self._known) >= 10_000:
            self._known.clear()
        self._known[key] = (time.monotonic() + self.cache_seconds, found)
        return found, created

    async def get_or_create_lineage(
        self, project_id: str, body: t.PromptLineageCreate
    ) -> tuple[dict[str, Any], bool]:
        return await self.db.write(
            prompts.get_or_create_lineage, project_id, body.name, body.description
        )

    async def get_lineage(self, project_id: str, lineage_id: str) -> dict[str, Any]:
        return await self.db.read(prompts.get_lineage, project_id, lineage_id)

    async def get_lineage_by_name(self, project_id: str, name: str) -> dict[str, Any]:
        return await self.db.read(prompts.get_lineage_by_name, project_id, name)

    async def get(self, project_id: str, prompt_id: str) -> dict[str, Any]:
        return await self.db.read(prompts.get, project_id, prompt_id)

    async def get_by_name(
        self,
        project_id: str,
        name: str,
        *,
        version: int | None = None,
        thread_id: str | None = None,
        participant_id: str | None = None,
    ) -> dict[str, Any]:
        """Version ``version``; else the rollout's pick (sticky per participant, else thread)."""
        key = f"participant:{participant_id}" if participant_id else None
        key = key or (f"thread:{thread_id}" if thread_id else None)
        return await self.db.read(prompts.get_by_name, project_id, name, version, chooser(key))

    async def versions(self, project_id: str, name: str) -> list[dict[str, Any]]:
        return await self.db.read(prompts.versions, project_id, name)

    async def list_lineages(self, project_id: str, q: t.PageQuery) -> dict[str, Any]:
        return await self.db.read(prompts.search_lineages, project_id, page_of(q))

    async def delete_lineage(self, project_id: str, name: str) -> None:
        await self.db.write(prompts.delete_lineage, project_id, name)
        for key in [k for k in self._known if k[:2] == (project_id, name)]:
            self._known.pop(key, None)

    async def get_rollouts(self, project_id: str, name: str) -> list[dict[str, int]]:
        return await self.db.read(prompts.get_rollouts, project_id, name)

    async def set_rollouts(
        self, project_id: str, name: str, body: t.RolloutUpdate
    ) -> list[dict[str, int]]:
        pairs = check_rollouts(body.rollouts)
        return await self.db.write(prompts.set_rollouts, project_id, name, pairs)
