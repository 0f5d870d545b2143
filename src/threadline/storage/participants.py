"""Participants (Literal's users, Tyler's human message sources): one identifier per project."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.errors import Conflict, NotFound
from threadline.core.filters import Condition
from threadline.core.ids import uuid7
from threadline.core.timeutil import utcnow
from threadline.storage import aggregates
from threadline.storage.columns import AnyRow
from threadline.storage.filtering import compile_conditions
from threadline.storage.pagination import PageRequest, paginate_where
from threadline.storage.schema import participants, threads

COLUMNS = (
    participants.c.id,
    participants.c.identifier,
    participants.c.metadata,
    participants.c.created_at,
    participants.c.updated_at,
)


def to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    out = {
        "id": m["id"],
        "identifier": m["identifier"],
        "metadata": m["metadata"] or {},
        "created_at": m["created_at"],
        "updated_at": m["updated_at"],
    }
    for name in ("thread_count", "last_engaged", "token_count"):
        if name in m:
            out[name] = m[name]
    return out


#: activity aggregates read with a participant: threads, last activity, generation tokens
_COUNTED = sa.select(
    *COLUMNS,
    aggregates.participant_thread_count().label("thread_count"),
    aggregates.participant_last_engaged().label("last_engaged"),
    aggregates.participant_token_count().label("token_count"),
)


def _where_id(project_id: str, participant_id: str) -> Any:
    return sa.and_(participants.c.project_id == project_id, participants.c.id == participant_id)


def _by_identifier(conn: Connection, project_id: str, identifier: str) -> AnyRow | None:
    return conn.execute(
        sa.select(*COLUMNS).where(
            participants.c.project_id == project_id, participants.c.identifier == identifier
        )
    ).first()


def create(conn: Connection, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
    if _by_identifier(conn, project_id, data["identifier"]) is not None:
        raise Conflict(
            f"a participant with identifier {data['identifier']!r} exists", field="identifier"
        )
    pid = data.get("id") or uuid7()
    if conn.execute(sa.select(participants.c.id).where(_where_id(project_id, pid))).first():
        raise Conflict(f"participant {pid!r} exists", field="id")
    now = utcnow()
    row = {
        "project_id": project_id,
        "id": pid,
        "identifier": data["identifier"],
        "metadata": data.get("metadata") or {},
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(participants.insert(), row)
    return {k: v for k, v in row.items() if k != "project_id"}


def get(conn: Connection, project_id: str, participant_id: str) -> dict[str, Any]:
    row = conn.execute(_COUNTED.where(_where_id(project_id, participant_id))).first()
    if row is None:
        raise NotFound(f"participant {participant_id!r} not found")
    return to_wire(row)


def get_by_identifier(conn: Connection, project_id: str, identifier: str) -> dict[str, Any]:
    row = conn.execute(
        _COUNTED.where(
            participants.c.project_id == project_id, participants.c.identifier == identifier
        )
    ).first()
    if row is None:
        raise NotFound(f"participant with identifier {identifier!r} not found")
    return to_wire(row)


def get_or_create(
    conn: Connection, project_id: str, data: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    row = _by_identifier(conn, project_id, data["identifier"])
    if row is not None:
        return to_wire(row), False
    return create(conn, project_id, data), True


def ensure(conn: Connection, project_id: str, identifier: str) -> str:
    """The id of the participant with ``identifier``, created if missing."""
    row = _by_identifier(conn, project_id, identifier)
    if row is not None:
        return str(row._mapping["id"])
    return str(create(conn, project_id, {"identifier": identifier})["id"])


def exists(conn: Connection, project_id: str, participant_id: str) -> bool:
    query = sa.select(participants.c.id).where(_where_id(project_id, participant_id))
    return conn.execute(query).first() is not None


def update(
    conn: Connection, project_id: str, participant_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    current = get(conn, project_id, participant_id)
    values: dict[str, Any] = {}
    if changes.get("identifier") is not None and changes["identifier"] != current["identifier"]:
        if _by_identifier(conn, project_id, changes["identifier"]) is not None:
            raise Conflict(
                f"a participant with identifier {changes['identifier']!r} exists",
                field="identifier",
            )
        values["identifier"] = changes["identifier"]
    if "metadata" in changes:
        values["metadata"] = changes["metadata"] or {}
    if values:
        values["updated_at"] = utcnow()
        conn.execute(participants.update().where(_where_id(project_id, participant_id)), values)
        current.update(values)
    return current


def delete(conn: Connection, project_id: str, participant_id: str) -> None:
    result = conn.execute(participants.delete().where(_where_id(project_id, participant_id)))
    if result.rowcount == 0:
        raise NotFound(f"participant {participant_id!r} not found")
    conn.execute(
        threads.update()
        .where(threads.c.project_id == project_id, threads.c.participant_id == participant_id)
        .values(participant_id=None)
    )


def search(
    conn: Connection, project_id: str, conditions: list[Condition], page: PageRequest
) -> dict[str, Any]:
    where = [
        participants.c.project_id == project_id,
        *compile_conditions("participants", conditions, conn.dialect.name),
    ]
    result = paginate_where(
        conn,
        _COUNTED,
        where,
        order_col=participants.c.created_at,
        id_col=participants.c.id,
        request=page,
    )
    return result.wire([to_wire(row) for row in result.rows])
