"""Projects (tenants) and their API keys. Only a SHA-256 of each key is stored."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.ids import api_key_secret, uuid7
from threadline.core.timeutil import utcnow
from threadline.storage.columns import AnyRow
from threadline.storage.schema import api_keys, projects

DEFAULT_PROJECT = "default"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _project(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    return {"id": m["id"], "name": m["name"], "created_at": m["created_at"]}


def _key(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"],
        "project_id": m["project_id"],
        "name": m["name"],
        "prefix": m["prefix"],
        "created_at": m["created_at"],
        "last_used_at": m["last_used_at"],
        "revoked_at": m["revoked_at"],
    }


def create_project(conn: Connection, name: str) -> dict[str, Any]:
    name = name.strip()
    if not name:
        raise InvalidInput("project name must not be empty", field="name")
    if conn.execute(sa.select(projects.c.id).where(projects.c.name == name)).first():
        raise Conflict(f"project {name!r} exists", field="name")
    row = {"id": uuid7(), "name": name, "created_at": utcnow()}
    conn.execute(projects.insert(), row)
    return row


def list_projects(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(projects).order_by(projects.c.created_at, projects.c.id))
    return [_project(r) for r in rows]


def get_project(conn: Connection, id_or_name: str) -> dict[str, Any]:
    row = conn.execute(
        sa.select(projects).where(
            sa.or_(projects.c.id == id_or_name, projects.c.name == id_or_name)
        )
    ).first()
    if row is None:
        raise NotFound(f"project {id_or_name!r} not found")
    return _project(row)


def ensure_default_project(conn: Connection) -> dict[str, Any]:
    row = conn.execute(sa.select(projects).where(projects.c.name == DEFAULT_PROJECT)).first()
    if row is not None:
        return _project(row)
    return create_project(conn, DEFAULT_PROJECT)


def create_key(
    conn: Connection, project_id: str, name: str | None = None, secret: str | None = None
) -> dict[str, Any]:
    """A new key for the project; the returned ``key`` is the only time the secret is shown."""
    get_project(conn, project_id)
    secret = secret or api_key_secret()
    if len(secret) < 16:
        raise InvalidInput("an API key must have at least 16 characters", field="key")
    digest = hash_key(secret)
    if conn.execute(sa.select(api_keys.c.id).where(api_keys.c.secret_hash == digest)).first():
        raise Conflict("that API key is already registered", field="key")
    row = {
        "id": uuid7(),
        "project_id": project_id,
        "name": name,
        "prefix": secret[:10],
        "secret_hash": digest,
        "created_at": utcnow(),
        "last_used_at": None,
        "revoked_at": None,
    }
    conn.execute(api_keys.insert(), row)
    out = {k: v for k, v in row.items() if k != "secret_hash"}
    out["key"] = secret
    return out


def any_keys(conn: Connection) -> bool:
    return conn.execute(sa.select(api_keys.c.id).limit(1)).first() is not None


def list_keys(conn: Connection, project_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
    if project_id is not None:
        query = query.where(api_keys.c.project_id == project_id)
    return [_key(r) for r in conn.execute(query)]


def revoke_key(conn: Connection, key_id: str, project_id: str | None = None) -> dict[str, Any]:
    """Revoke by key id or by its displayed prefix."""
    query = sa.select(api_keys).where(sa.or_(api_keys.c.id == key_id, api_keys.c.prefix == key_id))
    if project_id is not None:
        query = query.where(api_keys.c.project_id == project_id)
    rows = conn.execute(query).all()
    if not rows:
        raise NotFound(f"API key {key_id!r} not found")
    if len(rows) > 1:
        raise Conflict(f"{key_id!r} matches several keys; use the key id")
    key = _key(rows[0])
    if key["revoked_at"] is None:
        key["revoked_at"] = utcnow()
        conn.execute(
            api_keys.update().where(api_keys.c.id == key["id"]).values(revoked_at=key["revoked_at"])
        )
    return key


def authenticate(conn: Connection, secret: str) -> dict[str, Any] | None:
    """The key record for ``secret`` if it exists and is not revoked."""
    row = conn.execute(
        sa.select(api_keys).where(api_keys.c.secret_hash == hash_key(secret))
    ).first()
    if row is None or row._mapping["revoked_at"] is not None:
        return None
    return _key(row)


def touch_key(conn: Connection, key_id: str) -> None:
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=utcnow()))
