"""Server-wide secrets, generated once and shared through the database by every process."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.timeutil import utcnow
from threadline.storage.dialect import insert
from threadline.storage.schema import server_secrets


def get_or_create(conn: Connection, name: str, nbytes: int = 32) -> str:
    """The secret called ``name``; the first process to ask creates it, the others read it."""
    stmt = insert(server_secrets, conn.dialect.name).on_conflict_do_nothing()
    conn.execute(
        stmt, {"name": name, "value": secrets.token_urlsafe(nbytes), "created_at": utcnow()}
    )
    value = conn.execute(
        sa.select(server_secrets.c.value).where(server_secrets.c.name == name)
    ).scalar_one()
    return str(value)
