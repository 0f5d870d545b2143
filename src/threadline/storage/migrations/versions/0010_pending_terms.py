"""SQLite appends a new thread's metadata terms to a pending list, merged into the index in bulk.

Inserting each term into ``thread_metadata_terms`` as the thread is created dirtied one random
page of the index and of its secondary indexes per term, each written to the WAL at every group
commit: two thirds of a thread create's time in the writer. A row per thread appended here
costs one sequential insert; ``storage/pending_terms.py`` merges the list into the index in
term order, and before any read of the index. PostgreSQL gets the table too (the schema is the
same on both databases) but never writes to it.

Revision ID: 0010_pending_terms
Revises: 0009_term_created
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.storage.columns import UTCDateTime

revision = "0010_pending_terms"
down_revision = "0009_term_created"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thread_metadata_pending",
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("thread_id", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime()),
        sa.Column("terms", sa.Text, nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # the terms go to the index (triggers count them)
        op.execute(
            "INSERT INTO thread_metadata_terms (term, project_id, thread_id, created_at) "
            "SELECT j.value, p.project_id, p.thread_id, p.created_at "
            "FROM thread_metadata_pending AS p, json_each(p.terms) AS j"
        )
    op.drop_table("thread_metadata_pending")
