"""The metadata term index becomes one B-tree keyed (project, term, thread created_at, thread).

Each term of a thread was written to three B-trees (the primary key by term, an index by thread,
an index by term and time): three random page writes per term, which made the pending-list
merges (0010) stall writes for ~100 ms at 100,000 threads. One B-tree now serves both uses: the
holders of a term in creation order (a page of a search) and a probe of one thread (``term = ?
AND created_at = thread's AND thread_id = thread's``). Deleting a thread's terms needs its
metadata and creation time, which every caller has. SQLite's per-term counts (0007) stay: a
broad term's count from them is one lookup, from the index a scan of its range (~1 ms per
20,000 holders); their triggers are re-created on the new table, and a term's row now goes
when its last holder does. (Counting in the merge of pending terms instead, one upsert per
distinct term rather than per row, measured the same: ~80 ms per 1,024 threads at 100,000,
most of it writing the pages to the WAL at commit.)

Revision ID: 0011_terms_by_time
Revises: 0010_pending_terms
Create Date: 2026-12-07
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import sqlalchemy as sa
from alembic import op

from threadline.storage.columns import UTCDateTime

revision = "0011_terms_by_time"
down_revision = "0010_pending_terms"
branch_labels = None
depends_on = None

TABLE = "thread_metadata_terms"
_MERGE_PENDING = (
    "INSERT INTO thread_metadata_terms (term, project_id, thread_id, created_at) "
    "SELECT j.value, p.project_id, p.thread_id, p.created_at "
    "FROM thread_metadata_pending AS p, json_each(p.terms) AS j",
    "DELETE FROM thread_metadata_pending",
)
_OLD_INDEXES = (
    "ix_thread_metadata_terms_thread",
    "ix_thread_metadata_terms_created",
    "ix_thread_metadata_terms_count",  # PostgreSQL only (0008)
)


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("term", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("created_at", UTCDateTime(), primary_key=True),
        sa.Column("thread_id", sa.String(256), primary_key=True),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _MERGE_PENDING:
            op.execute(statement)
        op.execute("DROP TRIGGER IF EXISTS thread_metadata_terms_counted")
        op.execute("DROP TRIGGER IF EXISTS thread_metadata_terms_uncounted")
        op.create_table("thread_metadata_terms_new", *_columns(), sqlite_with_rowid=False)
        op.execute(
            "INSERT INTO thread_metadata_terms_new (project_id, term, created_at, thread_id) "
            "SELECT project_id, term, created_at, thread_id FROM thread_metadata_terms "
            "WHERE created_at IS NOT NULL ORDER BY 1, 2, 3, 4"
        )
        op.drop_table(TABLE)  # and its indexes
        op.rename_table("thread_metadata_terms_new", TABLE)
        op.execute(_counts().TRIGGERS[0])
        op.execute(UNCOUNTED)
        op.execute("DELETE FROM thread_metadata_term_counts WHERE threads <= 0")
    else:
        op.execute("DELETE FROM thread_metadata_terms WHERE created_at IS NULL")  # none expected
        op.alter_column(TABLE, "created_at", nullable=False)
        op.drop_constraint("thread_metadata_terms_pkey", TABLE, type_="primary")
        for name in _OLD_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.create_primary_key(
            "thread_metadata_terms_pkey", TABLE, ["project_id", "term", "created_at", "thread_id"]
        )


#: as 0007's, and a term no thread holds any more loses its row: metadata with a unique value
#: per thread (a request id, a counter) would otherwise leave a zero behind for every value
UNCOUNTED = """
    CREATE TRIGGER thread_metadata_terms_uncounted AFTER DELETE ON thread_metadata_terms
    BEGIN
        UPDATE thread_metadata_term_counts SET threads = threads - 1
        WHERE project_id = OLD.project_id AND term = OLD.term;
        DELETE FROM thread_metadata_term_counts
        WHERE project_id = OLD.project_id AND term = OLD.term AND threads <= 0;
    END
"""


def _counts() -> Any:
    """Migration 0007, whose triggers keep SQLite's per-term counts."""
    return import_module("threadline.storage.migrations.versions.0007_term_counts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_table(
            "thread_metadata_terms_old",
            sa.Column("term", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("project_id", sa.String(64), primary_key=True),
            sa.Column("thread_id", sa.String(256), primary_key=True),
            sa.Column("created_at", UTCDateTime()),
            sqlite_with_rowid=False,
        )
        op.execute(
            "INSERT INTO thread_metadata_terms_old (term, project_id, thread_id, created_at) "
            "SELECT term, project_id, thread_id, created_at FROM thread_metadata_terms"
        )
        op.drop_table(TABLE)  # and its triggers
        op.rename_table("thread_metadata_terms_old", TABLE)
        for trigger in _counts().TRIGGERS:
            op.execute(trigger)
    else:
        op.drop_constraint("thread_metadata_terms_pkey", TABLE, type_="primary")
        op.create_primary_key(
            "thread_metadata_terms_pkey", TABLE, ["term", "project_id", "thread_id"]
        )
        op.alter_column(TABLE, "created_at", nullable=True)
        op.create_index("ix_thread_metadata_terms_count", TABLE, ["project_id", "term"])
    op.create_index("ix_thread_metadata_terms_thread", TABLE, ["project_id", "thread_id"])
    op.create_index(
        "ix_thread_metadata_terms_created", TABLE, ["project_id", "term", "created_at", "thread_id"]
    )
