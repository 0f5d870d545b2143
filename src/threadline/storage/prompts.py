"""Prompt lineages (by name), their numbered versions, and A/B rollouts between versions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.errors import InvalidInput, NotFound
from threadline.core.ids import uuid7
from threadline.core.timeutil import utcnow
from threadline.storage.columns import AnyRow
from threadline.storage.dialect import insert
from threadline.storage.pagination import PageRequest, paginate_where
from threadline.storage.schema import prompt_lineages, prompt_rollouts, prompt_versions

VERSION_FIELDS = (
    "lineage_id",
    "version",
    "type",
    "template_messages",
    "settings",
    "tools",
    "variables",
    "variables_default_values",
    "description",
    "content_hash",
)
_JOIN = prompt_versions.join(
    prompt_lineages,
    sa.and_(
        prompt_lineages.c.project_id == prompt_versions.c.project_id,
        prompt_lineages.c.id == prompt_versions.c.lineage_id,
    ),
)
_VERSIONS = sa.select(
    prompt_versions.c.id,
    prompt_versions.c.created_at,
    *(prompt_versions.c[f] for f in VERSION_FIELDS),
    prompt_lineages.c.name.label("lineage_name"),
    prompt_lineages.c.description.label("lineage_description"),
).select_from(_JOIN)
_LINEAGES = sa.select(
    prompt_lineages.c.id,
    prompt_lineages.c.name,
    prompt_lineages.c.description,
    prompt_lineages.c.created_at,
    prompt_lineages.c.updated_at,
)

#: chooses the served version number from a lineage id and its rollout [(version, percentage)]
Chooser = Callable[[str, Sequence[tuple[int, int]]], int]


def version_to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    out = {f: m[f] for f in ("id", "created_at", *VERSION_FIELDS)}
    out["name"] = m["lineage_name"]
    out["lineage"] = {
        "id": m["lineage_id"],
        "name": m["lineage_name"],
        "description": m["lineage_description"],
    }
    out["settings"] = out["settings"] or {}
    return out


def lineage_to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    out = {f: m[f] for f in ("id", "name", "description", "created_at", "updated_at")}
    out["latest_version"] = m.get("latest_version")
    return out


def _latest() -> Any:
    """The lineage's highest version number (None without versions), as a column."""
    return (
        sa.select(sa.func.max(prompt_versions.c.version))
        .where(
            prompt_versions.c.project_id == prompt_lineages.c.project_id,
            prompt_versions.c.lineage_id == prompt_lineages.c.id,
        )
        .scalar_subquery()
        .label("latest_version")
    )


def _lineage_by_name(
    conn: Connection, project_id: str, name: str, *, lock: bool = False
) -> AnyRow | None:
    query = _LINEAGES.where(
        prompt_lineages.c.project_id == project_id, prompt_lineages.c.name == name
    )
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def get_or_create_lineage(
    conn: Connection, project_id: str, name: str, description: str | None = None
) -> tuple[dict[str, Any], bool]:
    """The lineage called ``name`` (locked for this transaction), created if missing."""
    now = utcnow()
    stmt = insert(prompt_lineages, conn.dialect.name).on_conflict_do_nothing()
    result = conn.execute(
        stmt,
        {
            "project_id": project_id,
            "id": uuid7(),
            "name": name,
            "description": description,
            "created_at": now,
            "updated_at": now,
        },
    )
    _lineage_by_name(conn, project_id, name, lock=True)
    row = conn.execute(
        _LINEAGES.add_columns(_latest()).where(
            prompt_lineages.c.project_id == project_id, prompt_lineages.c.name == name
        )
    ).one()
    return lineage_to_wire(row), bool(result.rowcount)


def get_lineage(conn: Connection, project_id: str, lineage_id: str) -> dict[str, Any]:
    row = conn.execute(
        _LINEAGES.add_columns(_latest()).where(
            prompt_lineages.c.project_id == project_id, prompt_lineages.c.id == lineage_id
        )
    ).first()
    if row is None:
        raise NotFound(f"prompt lineage {lineage_id!r} not found")
    return lineage_to_wire(row)


def find_by_hash(
    conn: Connection, project_id: str, name: str, content_hash: str
) -> dict[str, Any] | None:
    """The version of lineage ``name`` with this content, if there is one (oldest first)."""
    row = conn.execute(
        _VERSIONS.where(
            prompt_lineages.c.project_id == project_id,
            prompt_lineages.c.name == name,
            prompt_versions.c.content_hash == content_hash,
        )
        .order_by(prompt_versions.c.version)
        .limit(1)
    ).first()
    return version_to_wire(row) if row is not None else None


def get_or_create(
    conn: Connection, project_id: str, name: str, data: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The version of lineage ``name`` with ``data["content_hash"]``, else a new next version.

    The lineage row is locked (PostgreSQL ``FOR UPDATE``; SQLite has a single writer), so two
    concurrent calls agree on the version number.
    """
    lineage, _ = get_or_create_lineage(conn, project_id, name, data.get("lineage_description"))
    existing = find_by_hash(conn, project_id, name, data["content_hash"])
    if existing is not None:
        return existing, False
    latest = conn.execute(
        sa.select(sa.func.max(prompt_versions.c.version)).where(
            prompt_versions.c.project_id == project_id,
            prompt_versions.c.lineage_id == lineage["id"],
        )
    ).scalar()
    version_id = uuid7()
    conn.execute(
        prompt_versions.insert(),
        {
            "project_id": project_id,
            "id": version_id,
            "created_at": utcnow(),
            **{f: data.get(f) for f in VERSION_FIELDS},
            "lineage_id": lineage["id"],
            "version": 0 if latest is None else int(latest) + 1,
            "settings": data.get("settings") or {},
        },
    )
    conn.execute(
        prompt_lineages.update()
        .where(prompt_lineages.c.project_id == project_id, prompt_lineages.c.id == lineage["id"])
        .values(updated_at=utcnow())
    )
    return get(conn, project_id, version_id), True


def get(conn: Connection, project_id: str, version_id: str) -> dict[str, Any]:
    row = conn.execute(
        _VERSIONS.where(
            prompt_versions.c.project_id == project_id, prompt_versions.c.id == version_id
        )
    ).first()
    if row is None:
        raise NotFound(f"prompt {version_id!r} not found")
    return version_to_wire(row)


def _version_of(conn: Connection, project_id: str, name: str, version: int | None) -> AnyRow | None:
    query = _VERSIONS.where(
        prompt_lineages.c.project_id == project_id, prompt_lineages.c.name == name
    )
    if version is not None:
        query = query.where(prompt_versions.c.version == version)
    return conn.execute(query.order_by(prompt_versions.c.version.desc()).limit(1)).first()


def get_by_name(
    conn: Connection,
    project_id: str,
    name: str,
    version: int | None = None,
    choose: Chooser | None = None,
) -> dict[str, Any]:
    """Version ``version`` of lineage ``name``; without one, the rollout's pick (``choose``) when
    the lineage has a rollout, else the latest version."""
    if version is None and choose is not None:
        lineage = _lineage_by_name(conn, project_id, name)
        if lineage is not None:
            rollout = _rollout(conn, project_id, lineage._mapping["id"])
            if rollout:
                version = choose(lineage._mapping["id"], rollout)
    row = _version_of(conn, project_id, name, version)
    if row is None:
        which = (
            f"version {version} of prompt {name!r}" if version is not None else f"prompt {name!r}"
        )
        raise NotFound(f"{which} not found")
    return version_to_wire(row)


def _rollout(conn: Connection, project_id: str, lineage_id: str) -> list[tuple[int, int]]:
    rows = conn.execute(
        sa.select(prompt_rollouts.c.version, prompt_rollouts.c.percentage)
        .where(
            prompt_rollouts.c.project_id == project_id, prompt_rollouts.c.lineage_id == lineage_id
        )
        .order_by(prompt_rollouts.c.version)
    ).all()
    return [(int(r[0]), int(r[1])) for r in rows]


def _lineage_or_404(conn: Connection, project_id: str, name: str) -> dict[str, Any]:
    row = _lineage_by_name(conn, project_id, name)
    if row is None:
        raise NotFound(f"prompt {name!r} not found")
    return lineage_to_wire(row)


def get_lineage_by_name(conn: Connection, project_id: str, name: str) -> dict[str, Any]:
    return _lineage_or_404(conn, project_id, name)


def get_rollouts(conn: Connection, project_id: str, name: str) -> list[dict[str, int]]:
    lineage = _lineage_or_404(conn, project_id, name)
    return [{"version": v, "percentage": p} for v, p in _rollout(conn, project_id, lineage["id"])]


def set_rollouts(
    conn: Connection, project_id: str, name: str, rollouts: Sequence[tuple[int, int]]
) -> list[dict[str, int]]:
    """Replace the lineage's rollout (already checked to sum to 100); versions must exist."""
    lineage = _lineage_or_404(conn, project_id, name)
    wanted = [v for v, _ in rollouts]
    known = set(
        conn.execute(
            sa.select(prompt_versions.c.version).where(
                prompt_versions.c.project_id == project_id,
                prompt_versions.c.lineage_id == lineage["id"],
                prompt_versions.c.version.in_(wanted),
            )
        ).scalars()
    )
    for index, version in enumerate(wanted):
        if version not in known:
            raise InvalidInput(
                f"prompt {name!r} has no version {version}", field=f"rollouts[{index}].version"
            )
    where = [
        prompt_rollouts.c.project_id == project_id,
        prompt_rollouts.c.lineage_id == lineage["id"],
    ]
    conn.execute(prompt_rollouts.delete().where(*where))
    if rollouts:
        conn.execute(
            prompt_rollouts.insert(),
            [
                {
                    "project_id": project_id,
                    "lineage_id": lineage["id"],
                    "version": v,
                    "percentage": p,
                }
                for v, p in rollouts
            ],
        )
    return get_rollouts(conn, project_id, name)


def versions(conn: Connection, project_id: str, name: str) -> list[dict[str, Any]]:
    """Every version of lineage ``name``, newest first."""
    _lineage_or_404(conn, project_id, name)
    rows = conn.execute(
        _VERSIONS.where(
            prompt_lineages.c.project_id == project_id, prompt_lineages.c.name == name
        ).order_by(prompt_versions.c.version.desc())
    )
    return [version_to_wire(r) for r in rows]


def search_lineages(conn: Connection, project_id: str, page: PageRequest) -> dict[str, Any]:
    where = [prompt_lineages.c.project_id == project_id]
    result = paginate_where(
        conn,
        _LINEAGES.add_columns(_latest()),
        where,
        order_col=prompt_lineages.c.created_at,
        id_col=prompt_lineages.c.id,
        request=page,
    )
    return result.wire([lineage_to_wire(row) for row in result.rows])


def delete_lineage(conn: Connection, project_id: str, name: str) -> None:
    """Delete a lineage with all its versions and its rollout."""
    lineage = _lineage_or_404(conn, project_id, name)
    conn.execute(
        prompt_lineages.delete().where(
            prompt_lineages.c.project_id == project_id, prompt_lineages.c.id == lineage["id"]
        )
    )
