"""Export and import: a project's threads with all their steps, as JSON Lines.

The file has one thread per line, in the shape of the native API's ``Thread`` with ``steps``: every
column of the thread and of each step, ids and timestamps as stored, and the thread's participant
(id, identifier, metadata, timestamps). Lines are ordered oldest thread first.

Import is ID-preserving and idempotent. A batch of lines is applied in one transaction: each thread
in it becomes exactly what its line says (its row and its set of steps; steps of that thread that
the line does not list are removed), and threads whose stored content already matches are not
written at all, so importing a file twice changes nothing, ``updated_at`` included. Participants
are matched by identifier and created when missing (keeping the file's id when it is free).

Like every store operation these are synchronous ``fn(conn, ...)`` functions, written once for
SQLite and PostgreSQL; the CLI streams pages and batches through ``Database.read``/``write``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from threadline.core.errors import InvalidInput
from threadline.core.ids import uuid7
from threadline.core.timeutil import parse_timestamp, utcnow
from threadline.storage import attached, pending_terms, raw
from threadline.storage import messages as message_store
from threadline.storage import steps as step_store
from threadline.storage import threads as thread_store
from threadline.storage.columns import UTCDateTime
from threadline.storage.dialect import upsert
from threadline.storage.metadata_index import row_terms
from threadline.storage.pagination import chunks
from threadline.storage.schema import participants, steps, threads

PAGE_SIZE = 200
"""Threads per export page (one read each)."""

THREAD_COLUMNS = (
    "name",
    "metadata",
    "tags",
    "participant_id",
    "environment",
    "status",
    "created_at",
    "updated_at",
    "platforms",
)
STEP_COLUMNS = ("created_at", *step_store.FIELDS, *step_store.MESSAGE_FIELDS)

Cursor = tuple[datetime, str]
"""Where an export page ends: the last thread's (created_at, id)."""


def _max_length(column: sa.Column[Any]) -> int | None:
    length = getattr(column.type, "length", None)
    return int(length) if length is not None else None


ID_MAX = _max_length(threads.c.id)
ENVIRONMENT_MAX = _max_length(threads.c.environment)
STATUS_MAX = _max_length(threads.c.status)
STEP_TYPE_MAX = _max_length(steps.c.type)
IDENTIFIER_MAX = _max_length(participants.c.identifier)

# --- export --------------------------------------------------------------------------------------

_EXPORT: sa.Select[Any] = sa.select(
    threads.c.id,
    *(threads.c[name] for name in THREAD_COLUMNS),
    participants.c.identifier.label("participant_identifier"),
    participants.c.metadata.label("participant_metadata"),
    participants.c.created_at.label("participant_created_at"),
    participants.c.updated_at.label("participant_updated_at"),
).select_from(
    threads.outerjoin(
        participants,
        sa.and_(
            participants.c.project_id == threads.c.project_id,
            participants.c.id == threads.c.participant_id,
        ),
    )
)


def _export_where(project_id: str, since: datetime | None) -> list[Any]:
    where: list[Any] = [threads.c.project_id == project_id]
    if since is not None:
        where.append(threads.c.updated_at >= since)
    return where


def count_threads(conn: Connection, project_id: str, since: datetime | None = None) -> int:
    """How many threads :func:`export_page` will return in all (for a progress bar)."""
    query = sa.select(sa.func.count()).select_from(threads).where(*_export_where(project_id, since))
    return int(conn.execute(query).scalar_one())


def _exported_thread(row: Row[Any]) -> dict[str, Any]:
    """A thread as ``threads.from_mapping`` reads it, with its participant's timestamps."""
    m = row._mapping
    thread = thread_store.from_mapping(m)
    if thread["participant"] is not None:
        thread["participant"]["created_at"] = m["participant_created_at"]
        thread["participant"]["updated_at"] = m["participant_updated_at"]
    return thread


def export_page(
    conn: Connection,
    project_id: str,
    since: datetime | None = None,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Up to ``limit`` threads with their steps, oldest first, starting after ``after``.

    ``since`` keeps threads whose ``updated_at`` is at or after it. Pages are keyed on
    (created_at, id), so rows written while an export runs never shift later pages.
    """
    query = _EXPORT.where(*_export_where(project_id, since))
    if after is not None:
        query = query.where(
            sa.tuple_(threads.c.created_at, threads.c.id)
            > sa.tuple_(
                sa.literal(after[0], UTCDateTime()), sa.literal(after[1], threads.c.id.type)
            )
        )
    rows = conn.execute(query.order_by(threads.c.created_at, threads.c.id).limit(limit)).all()
    data = [_exported_thread(row) for row in rows]
    if data:
        by_thread = step_store.for_threads(conn, project_id, [t["id"] for t in data])
        for thread in data:
            thread["steps"] = by_thread.get(thread["id"], [])
            for step in thread["steps"]:
                # scores and attachments are entities of their own, not part of the export
                step.pop("scores", None)
                step.pop("attachments", None)
    return data


def cursor_after(page: Sequence[dict[str, Any]]) -> Cursor:
    """The cursor for the page after ``page`` (which must not be empty)."""
    last = page[-1]
    return last["created_at"], last["id"]


def dump_line(thread: dict[str, Any]) -> bytes:
    """One line of the file: compact JSON, UTC timestamps with a ``Z``, then a newline."""
    return orjson.dumps(thread, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS) + b"\n"


# --- parsing and validating a line ---------------------------------------------------------------


@dataclass
class Record:
    """One validated line: a thread, its participant and its steps (column values)."""

    line: int
    thread: dict[str, Any]
    participant: dict[str, Any] | None
    steps: list[dict[str, Any]]


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def _text(
    obj: dict[str, Any],
    key: str,
    where: str,
    *,
    max_length: int | None = None,
    required: bool = False,
) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{where}: {key!r} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: {key!r} must be a string, not {_kind(value)}")
    if required and not value:
        raise InvalidInput(f"{where}: {key!r} must not be empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(f"{where}: {key!r} is longer than {max_length} characters")
    return value


def _object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: {key!r} must be an object, not {_kind(value)}")
    return value


def _tags(obj: dict[str, Any], key: str, where: str) -> list[str]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}: {key!r} must be a list of strings")
    return value


def _time(obj: dict[str, Any], key: str, where: str) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise InvalidInput(f"{where}: {key!r} must be an ISO-8601 timestamp")
    try:
        return parse_timestamp(value)
    except (InvalidInput, ValueError, OverflowError, OSError):
        raise InvalidInput(f"{where}: {key!r} is not a timestamp: {value!r}") from None


def _int(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{where}: {key!r} must be an integer, not {_kind(value)}")
    return value


def _maybe_object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    return None if obj.get(key) is None else _object(obj, key, where)


def _reactions(item: dict[str, Any], where: str) -> dict[str, list[str]]:
    value = item.get("reactions") or {}
    if not isinstance(value, dict) or not all(
        isinstance(users, list) and all(isinstance(u, str) for u in users)
        for users in value.values()
    ):
        raise InvalidInput(f"{where}: 'reactions' must map each emoji to a list of user ids")
    return {str(emoji): list(users) for emoji, users in value.items()}


def _parse_step(item: Any, index: int, thread_id: str, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: step {index} must be an object, not {_kind(item)}")
    at = f"{where}: step {index}"
    step_id = _text(item, "id", at, max_length=ID_MAX, required=True)
    at = f"{where}: step {step_id!r}"
    owner = _text(item, "thread_id", at)
    if owner is not None and owner != thread_id:
        raise InvalidInput(f"{at}: its thread_id {owner!r} is not the thread {thread_id!r}")
    generation = item.get("generation")
    if generation is not None and not isinstance(generation, dict):
        raise InvalidInput(f"{at}: 'generation' must be an object, not {_kind(generation)}")
    return {
        "id": step_id,
        "thread_id": thread_id,
        "parent_id": _text(item, "parent_id", at, max_length=ID_MAX),
        "root_run_id": _text(item, "root_run_id", at, max_length=ID_MAX),
        "type": _text(item, "type", at, max_length=STEP_TYPE_MAX) or "undefined",
        "name": _text(item, "name", at),
        "input": item.get("input"),
        "output": item.get("output"),
        "metadata": _object(item, "metadata", at),
        "tags": _tags(item, "tags", at),
        "start_time": _time(item, "start_time", at),
        "end_time": _time(item, "end_time", at),
        "created_at": _time(item, "created_at", at),
        "error": _text(item, "error", at),
        "environment": _text(item, "environment", at, max_length=ENVIRONMENT_MAX),
        "generation": generation,
        "sequence": _int(item, "sequence", at),
        "turn": _int(item, "turn", at),
        "source": _maybe_object(item, "source", at),
        "metrics": _maybe_object(item, "metrics", at),
        "platforms": _maybe_object(item, "platforms", at),
        "reactions": _reactions(item, at),
    }


def _parse_participant(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    at = f"{where}: participant"
    if not isinstance(value, dict):
        raise InvalidInput(f"{at} must be an object, not {_kind(value)}")
    return {
        "id": _text(value, "id", at, max_length=ID_MAX),
        "identifier": _text(value, "identifier", at, max_length=IDENTIFIER_MAX, required=True),
        "metadata": _object(value, "metadata", at),
        "created_at": _time(value, "created_at", at),
        "updated_at": _time(value, "updated_at", at),
    }


def parse_line(raw: bytes | str, line: int) -> Record:
    """Validate one line of an export file; errors name the line (``InvalidInput``)."""
    where = f"line {line}"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{where}: malformed JSON ({exc.msg} at column {exc.colno})") from None
    return parse_thread(data, line)


def parse_thread(data: Any, line: int) -> Record:
    """Validate one thread (decoded JSON, the shape of an export line); errors name the line."""
    where = f"line {line}"
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected a JSON object (one thread), not {_kind(data)}")
    thread_id = _text(data, "id", where, max_length=ID_MAX, required=True)
    assert thread_id is not None
    where = f"line {line} (thread {thread_id!r})"
    raw_steps = data.get("steps")
    if raw_steps is None:
        raw_steps = []
    if not isinstance(raw_steps, list):
        raise InvalidInput(f"{where}: 'steps' must be a list, not {_kind(raw_steps)}")
    step_rows = [_parse_step(item, i, thread_id, where) for i, item in enumerate(raw_steps, 1)]
    seen: set[str] = set()
    for step in step_rows:
        if step["id"] in seen:
            raise InvalidInput(f"{where}: step {step['id']!r} is listed twice")
        seen.add(step["id"])
    thread = {
        "id": thread_id,
        "name": _text(data, "name", where),
        "metadata": _object(data, "metadata", where),
        "tags": _tags(data, "tags", where),
        "participant_id": _text(data, "participant_id", where, max_length=ID_MAX),
        "environment": _text(data, "environment", where, max_length=ENVIRONMENT_MAX),
        "status": _text(data, "status", where, max_length=STATUS_MAX) or "idle",
        "created_at": _time(data, "created_at", where),
        "updated_at": _time(data, "updated_at", where),
        "platforms": _maybe_object(data, "platforms", where),
    }
    participant = _parse_participant(data.get("participant"), where)
    return Record(line, thread, participant, step_rows)


# --- import --------------------------------------------------------------------------------------


@dataclass
class ImportCounts:
    threads_created: int = 0
    threads_updated: int = 0
    threads_unchanged: int = 0
    steps_written: int = 0
    steps_removed: int = 0
    participants_created: int = 0

    @property
    def threads(self) -> int:
        return self.threads_created + self.threads_updated + self.threads_unchanged

    def add(self, other: ImportCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _resolve_participants(
    conn: Connection, project_id: str, records: Sequence[Record], counts: ImportCounts
) -> dict[str, str | None]:
    """Participant id for each record's thread: matched by identifier, created when missing."""
    wanted = {r.participant["identifier"]: r.participant for r in records if r.participant}
    by_identifier: dict[str, str] = {}
    for part in chunks(sorted(wanted), 500):
        query = sa.select(participants.c.identifier, participants.c.id).where(
            participants.c.project_id == project_id, participants.c.identifier.in_(part)
        )
        by_identifier.update({row.identifier: row.id for row in conn.execute(query)})
    now = utcnow()
    for identifier, p in wanted.items():
        if identifier in by_identifier:
            continue
        pid = p["id"]
        if pid is None or _participant_ids(conn, project_id, [pid]):
            pid = uuid7()
        created = p["created_at"] or now
        conn.execute(
            participants.insert(),
            {
                "project_id": project_id,
                "id": pid,
                "identifier": identifier,
                "metadata": p["metadata"],
                "created_at": created,
                "updated_at": p["updated_at"] or created,
            },
        )
        by_identifier[identifier] = pid
        counts.participants_created += 1

    bare = [r for r in records if r.participant is None and r.thread["participant_id"]]
    known = _participant_ids(conn, project_id, [r.thread["participant_id"] for r in bare])
    for r in bare:
        if r.thread["participant_id"] not in known:
            raise InvalidInput(
                f"line {r.line}: participant {r.thread['participant_id']!r} does not exist in "
                "this project; give the thread a 'participant' object with its identifier"
            )
    out: dict[str, str | None] = {}
    for r in records:
        if r.participant is not None:
            out[r.thread["id"]] = by_identifier[r.participant["identifier"]]
        else:
            out[r.thread["id"]] = r.thread["participant_id"]
    return out


def _participant_ids(conn: Connection, project_id: str, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(sorted(set(ids)), 500):
        query = sa.select(participants.c.id).where(
            participants.c.project_id == project_id, participants.c.id.in_(part)
        )
        found.update(conn.execute(query).scalars())
    return found


def _stored_threads(
    conn: Connection, project_id: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    columns = [threads.c[name] for name in THREAD_COLUMNS]
    for part in chunks(list(ids), 500):
        query = sa.select(threads.c.id, *columns).where(
            threads.c.project_id == project_id, threads.c.id.in_(part)
        )
        for row in conn.execute(query):
            values = row._asdict()
            out[values.pop("id")] = values
    return out


def _stored_steps(
    conn: Connection, project_id: str, thread_ids: Sequence[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """thread id -> step id -> column values, for the steps of these threads."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    columns = [steps.c[name] for name in STEP_COLUMNS]
    for part in chunks(list(thread_ids), 500):
        query = sa.select(steps.c.id, *columns).where(
            steps.c.project_id == project_id, steps.c.thread_id.in_(part)
        )
        for row in conn.execute(query):
            values = row._asdict()
            out.setdefault(values["thread_id"], {})[values.pop("id")] = values
    ids = [sid for found in out.values() for sid in found]
    reactions = message_store.reactions_of(conn, project_id, ids)
    for found in out.values():
        for sid, values in found.items():
            values["reactions"] = reactions.get(sid, {})
    return out


def _thread_values(
    record: Record, participant_id: str | None, stored: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    t = record.thread
    created = t["created_at"] or (stored["created_at"] if stored else now)
    updated = t["updated_at"] or (stored["updated_at"] if stored else created)
    return {
        "name": t["name"],
        "metadata": t["metadata"],
        "tags": t["tags"],
        "participant_id": participant_id,
        "environment": t["environment"],
        "status": t["status"],
        "created_at": created,
        "updated_at": updated,
        "platforms": t["platforms"] or None,
    }


def _step_values(
    step: dict[str, Any], stored: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    values = {name: step[name] for name in (*STEP_COLUMNS, "reactions")}
    if values["created_at"] is None:
        values["created_at"] = stored["created_at"] if stored else now
    return values


def _check_distinct(records: Sequence[Record]) -> None:
    thread_lines: dict[str, int] = {}
    step_lines: dict[str, int] = {}
    for r in records:
        first = thread_lines.setdefault(r.thread["id"], r.line)
        if first != r.line:
            raise InvalidInput(
                f"line {r.line}: thread {r.thread['id']!r} is also on line {first} of this batch"
            )
        for step in r.steps:
            first = step_lines.setdefault(step["id"], r.line)
            if first != r.line:
                raise InvalidInput(
                    f"line {r.line}: step {step['id']!r} is also on line {first} of this batch"
                )


def import_batch(conn: Connection, project_id: str, records: Sequence[Record]) -> ImportCounts:
    """Make each record's thread exactly what the record says; see the module docstring.

    Thread ids and step ids must be distinct within one batch (the caller starts a new batch
    when a line repeats an id, so that later lines win).
    """
    _check_distinct(records)
    counts = ImportCounts()
    if not records:
        return counts
    participant_ids = _resolve_participants(conn, project_id, records, counts)
    ids = [r.thread["id"] for r in records]
    stored_threads = _stored_threads(conn, project_id, ids)
    stored_steps = _stored_steps(conn, project_id, ids)
    now = utcnow()

    thread_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    removed: list[str] = []
    reindex: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
    for r in records:
        thread_id = r.thread["id"]
        stored = stored_threads.get(thread_id)
        old_steps = stored_steps.get(thread_id, {})
        values = _thread_values(r, participant_ids[thread_id], stored, now)
        new_steps = {s["id"]: _step_values(s, old_steps.get(s["id"]), now) for s in r.steps}
        changed = [(sid, s) for sid, s in new_steps.items() if old_steps.get(sid) != s]
        gone = [sid for sid in old_steps if sid not in new_steps]
        if stored is None:
            counts.threads_created += 1
        elif stored == values and not changed and not gone:
            counts.threads_unchanged += 1
            continue
        else:
            counts.threads_updated += 1
        thread_rows.append({"project_id": project_id, "id": thread_id, **values})
        if stored is None or any(stored[k] != values[k] for k in ("metadata", "created_at")):
            reindex[thread_id] = (stored, values)
        step_rows.extend({"project_id": project_id, "id": sid, **s} for sid, s in changed)
        removed.extend(gone)

    dialect = conn.dialect.name
    if thread_rows:
        conn.execute(upsert(threads, dialect, ("project_id", "id"), THREAD_COLUMNS), thread_rows)
    # Removals first: a step may move from one thread of the batch to another.
    for part in chunks(removed, 500):
        attached.before_delete(conn, project_id, step_ids=part)  # their files, for the sweeper
        conn.execute(steps.delete().where(steps.c.project_id == project_id, steps.c.id.in_(part)))
    reactions = {row["id"]: row.pop("reactions") for row in step_rows}
    if step_rows:
        conn.execute(upsert(steps, dialect, ("project_id", "id"), STEP_COLUMNS), step_rows)
    _reindex_metadata(conn, project_id, reindex)
    for row in thread_rows:
        message_store.index_thread_platforms(conn, project_id, row["id"], row["platforms"])
    message_store.index_step_platforms(
        conn, project_id, {row["id"]: row["platforms"] for row in step_rows}
    )
    message_store.replace_reactions(conn, project_id, reactions)
    counts.steps_written = len(step_rows)
    counts.steps_removed = len(removed)
    return counts


def _reindex_metadata(
    conn: Connection,
    project_id: str,
    changed: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]],
) -> None:
    """Keep the metadata term index in step (threads id -> (stored values or None, new values)):
    the old terms go, keyed by the old creation time, and the new ones come."""
    if not changed:
        return
    pending_terms.require_merged(conn)  # every old term is then in the index
    gone: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for thread_id, (stored, values) in changed.items():
        ids = {"project_id": project_id, "thread_id": thread_id}
        if stored is not None:
            created = raw.time_param(conn, stored["created_at"])
            for term in row_terms(stored["metadata"] or {}):
                gone.append({**ids, "term": term, "created_at": created})
        created = raw.time_param(conn, values["created_at"])
        for term in row_terms(values["metadata"] or {}):
            new.append({**ids, "term": term, "created_at": created})
    raw.executemany(conn, thread_store.TERM_DELETE, gone)
    raw.executemany(conn, thread_store.TERM_INSERT, new)


def analyze(conn: Connection) -> None:
    """Refresh PostgreSQL's planner statistics during and after a bulk import.

    Without them the planner keeps the estimates of the (nearly) empty tables it last saw and
    may scan a whole project per batch; SQLite's planner needs no statistics for these queries.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE participants, threads, steps")
