"""Step ingestion with what hangs off the steps: their scores and attachments, one transaction.

This is what instrumentation sends (Literal AI's ``ingestStep`` batches): steps are upserted and
merged (fields present replace stored ones, absent ones are kept), threads named by the steps are
created when missing, parents need not exist yet. Scores and attachments given with a step are
added or updated by id, never replaced as a set, so re-sending a batch changes nothing.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import Any

from threadline.client import types as t
from threadline.core.attachments import Files, _name_from_url
from threadline.core.evaluation import score_values
from threadline.core.service import batch_values
from threadline.storage import attachments, scores, steps
from threadline.storage.database import Database

#: attachment fields an ingested attachment may change on an existing one
_ATTACHMENT_CHANGES = ("name", "mime", "metadata", "url", "object_key", "size")


class Ingestion:
    def __init__(self, db: Database, files: Files) -> None:
        self.db = db
        self.files = files

    async def ingest(
        self,
        project_id: str,
        batch: t.StepBatch,
        score_list: Sequence[t.ScoreCreate] = (),
        attachment_list: Sequence[t.AttachmentCreate] = (),
    ) -> dict[str, Any]:
        """Upsert the steps, then their scores (by id) and attachments (by id)."""
        items = batch_values(batch)
        score_rows = [score_values(s, i) for i, s in enumerate(score_list)]
        files: list[tuple[dict[str, Any], set[str]]] = []
        for body in attachment_list:
            data = body.model_dump(exclude={"content_base64"})
            given = set(body.model_fields_set) - {"id", "thread_id", "step_id", "content_base64"}
            if body.object_key is not None:
                data["size"] = await self.files.uploaded_size(project_id, body.object_key)
                given.add("size")
            files.append((data, given))

        def run(conn: Any) -> tuple[dict[str, Any], bool]:
            result = steps.upsert_batch(conn, project_id, items)
            if score_rows:
                scores.create_many(conn, project_id, score_rows, upsert=True)
            replaced = False
            for data, given in files:
                if data.get("id") and attachments.exists(conn, project_id, data["id"]):
                    changes = {k: data[k] for k in _ATTACHMENT_CHANGES if k in given}
                    if changes:
                        _, old_key = attachments.update(conn, project_id, data["id"], changes)
                        replaced = replaced or old_key is not None
                    continue
                data["name"] = data.get("name") or (
                    _name_from_url(data["url"]) if data.get("url") else "file"
                )
                if data.get("mime") is None:
                    data["mime"] = mimetypes.guess_type(data["name"])[0]
                attachments.create(conn, project_id, data)
            return result, replaced

        result, replaced = await self.db.write(run)
        if replaced:
            self.files.kick()
        return result
