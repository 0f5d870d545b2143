"""Importing Literal AI threads: a thread import (``transfer``) plus their scores and attachments.

Each Literal thread is mapped to the native export shape (:mod:`threadline.core.literal_export`)
and imported like a line of ``threadline export``: ids kept, participants matched by identifier
(created with the file's id when it is free), the thread and its set of steps made what the file
says, unchanged threads not written at all. In the same transaction the scores and attachments on
its steps are upserted by id: rows that already match are not written, and none are removed (a
file says what a thread had, not what it may have gained since). Attachments keep their
``object_key`` and ``url``; the bytes stayed in Literal's storage.

So importing a file twice changes nothing, and a batch is written whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core import literal_export
from threadline.core.errors import InvalidInput
from threadline.core.literal_export import LineError
from threadline.core.timeutil import parse_timestamp, utcnow
from threadline.storage import attachments as attachment_store
from threadline.storage import scores as score_store
from threadline.storage import transfer
from threadline.storage.dialect import upsert
from threadline.storage.filestore import valid_key
from threadline.storage.pagination import chunks
from threadline.storage.schema import attachments, projects, scores

SCORE_COLUMNS = ("created_at", "updated_at", *score_store.FIELDS)
ATTACHMENT_COLUMNS = ("created_at", "updated_at", *attachment_store.FIELDS)


def _limit(column: sa.Column[Any]) -> int | None:
    length = getattr(column.type, "length", None)
    return int(length) if length is not None else None


#: (table, column) -> longest value the column takes, checked before writing (PostgreSQL
#: would refuse longer values, SQLite would keep them)
_LIMITS = {
    (table.name, column.name): limit
    for table in (scores, attachments)
    for column in table.columns
    if (limit := _limit(column)) is not None
}


@dataclass
class LiteralRecord(transfer.Record):
    """A validated Literal thread: the thread import's record plus its scores and attachments."""

    scores: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LiteralImportCounts(transfer.ImportCounts):
    scores_written: int = 0
    attachments_written: int = 0


def _time(value: str | None) -> datetime | None:
    return None if value is None else parse_timestamp(value)


def _row(
    table: sa.Table, item: dict[str, Any], columns: Sequence[str], where: str, fallback: Any
) -> dict[str, Any]:
    """Column values of one score or attachment, lengths checked, timestamps parsed."""
    for name in ("id", *columns):
        limit = _LIMITS.get((table.name, name))
        value = item.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise InvalidInput(f"{where}: {name!r} is longer than {limit} characters")
    row = {name: item[name] for name in ("id", *columns)}
    row["created_at"] = _time(item["created_at"]) or fallback
    row["updated_at"] = _time(item["updated_at"])
    return row


def parse_thread(data: Any, line: int) -> LiteralRecord:
    """Validate one Literal thread found on ``line``; errors name the line."""
    try:
        native = literal_export.thread_from_literal(data)
    except InvalidInput as exc:
        raise LineError(line, exc.message) from None
    base = transfer.parse_thread(native, line)
    where = f"line {line} (thread {base.thread['id']!r})"
    record = LiteralRecord(base.line, base.thread, base.participant, base.steps)
    seen: set[tuple[str, str]] = set()
    for step, parsed in zip(native["steps"], base.steps, strict=True):
        fallback = parsed["created_at"] or base.thread["created_at"]
        for kind, table, columns, found in (
            ("score", scores, SCORE_COLUMNS, record.scores),
            ("attachment", attachments, ATTACHMENT_COLUMNS, record.attachments),
        ):
            for item in step[f"{kind}s"]:
                at = f"{where}: step {parsed['id']!r}: {kind} {item['id']!r}"
                if (kind, item["id"]) in seen:
                    raise InvalidInput(f"{at} is listed twice")
                seen.add((kind, item["id"]))
                found.append(_row(table, item, columns, at, fallback))
    return record


def _check_object_keys(conn: Connection, project_id: str, records: Sequence[LiteralRecord]) -> None:
    """Refuse an object key that names another Threadline project's file: deleting the
    attachment would otherwise queue that file for deletion."""
    foreign: dict[str, tuple[int, dict[str, Any]]] = {}
    for record in records:
        for item in record.attachments:
            key = item["object_key"]
            if key and valid_key(key) and not key.startswith(f"{project_id}/"):
                foreign.setdefault(key.split("/", 1)[0], (record.line, item))
    for part in chunks(sorted(foreign), 500):
        query = sa.select(projects.c.id).where(projects.c.id.in_(part))
        for owner in conn.execute(query).scalars():
            line, item = foreign[owner]
            raise InvalidInput(
                f"line {line}: attachment {item['id']!r}: object key {item['object_key']!r} "
                "names a file of another project"
            )


def _write_changed(
    conn: Connection,
    project_id: str,
    table: sa.Table,
    columns: Sequence[str],
    rows: dict[str, dict[str, Any]],
) -> int:
    """Upsert the rows whose stored version differs; returns how many were written.

    A timestamp the file does not give keeps the stored one (``updated_at`` becomes now when the
    row changes), so the same file gives the same rows every time.
    """
    if not rows:
        return 0
    stored: dict[str, dict[str, Any]] = {}
    for part in chunks(sorted(rows), 500):
        query = sa.select(table.c.id, *(table.c[name] for name in columns)).where(
            table.c.project_id == project_id, table.c.id.in_(part)
        )
        for row in conn.execute(query):
            values = row._asdict()
            stored[values.pop("id")] = values
    now = utcnow()
    changed: list[dict[str, Any]] = []
    for row_id, given in rows.items():
        old = stored.get(row_id)
        values = {name: given[name] for name in columns}
        if values["created_at"] is None:
            values["created_at"] = old["created_at"] if old else now
        if values["updated_at"] is None:
            values["updated_at"] = old["updated_at"] if old else values["created_at"]
            if old is not None and old != values:
                values["updated_at"] = now
        if old != values:
            changed.append({"project_id": project_id, "id": row_id, **values})
    if changed:
        conn.execute(upsert(table, conn.dialect.name, ("project_id", "id"), columns), changed)
    return len(changed)


def import_batch(
    conn: Connection, project_id: str, records: Sequence[LiteralRecord]
) -> LiteralImportCounts:
    """Import the records' threads (see :func:`transfer.import_batch`), then their scores and
    attachments; one transaction. A score or attachment listed twice: the later one wins."""
    counts = LiteralImportCounts(**asdict(transfer.import_batch(conn, project_id, records)))
    _check_object_keys(conn, project_id, records)
    score_rows = {row["id"]: row for record in records for row in record.scores}
    file_rows = {row["id"]: row for record in records for row in record.attachments}
    counts.scores_written = _write_changed(conn, project_id, scores, SCORE_COLUMNS, score_rows)
    counts.attachments_written = _write_changed(
        conn, project_id, attachments, ATTACHMENT_COLUMNS, file_rows
    )
    return counts
