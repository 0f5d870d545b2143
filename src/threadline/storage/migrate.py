"""Alembic migrations, run at start-up (and by ``threadline migrate``) on the open connection.

Each feature adds its revisions on a branch off ``0001_core``; ``upgrade heads`` applies them all.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 7_263_541_001  # pg advisory lock: one process migrates, the others wait


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def upgrade(conn: Connection) -> None:
    """Upgrade the schema to the newest revision; safe when several processes start at once."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
    command.upgrade(_config(conn), "heads")


def current_revision(conn: Connection) -> str | None:
    """The applied revisions, comma-separated (features add independent branches off core)."""
    heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) if heads else None


def head_revision() -> str | None:
    """The newest revisions, comma-separated, in the same form as :func:`current_revision`."""
    heads = ScriptDirectory.from_config(_config()).get_heads()
    return ",".join(sorted(heads)) if heads else None
