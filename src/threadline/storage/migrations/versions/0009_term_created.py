"""The metadata term index carries each thread's creation time, in an index by term and time.

A metadata search ordered by creation time (the default everywhere) then reads one term's
holders newest first straight from ``ix_thread_metadata_terms_created`` and stops when the page
is full, whatever the number of holders: before, a selective term's holders were all read and
sorted (O(holders)), a broad one's found by walking every thread in created order. Threads never
change their creation time, so the copy cannot go stale.

Revision ID: 0009_term_created
Revises: 0008_pg_terms
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.storage.columns import UTCDateTime

revision = "0009_term_created"
down_revision = "0008_pg_terms"
branch_labels = None
depends_on = None

INDEX = "ix_thread_metadata_terms_created"


def upgrade() -> None:
    op.add_column("thread_metadata_terms", sa.Column("created_at", UTCDateTime()))
    op.execute(
        "UPDATE thread_metadata_terms SET created_at = (SELECT threads.created_at FROM threads "
        "WHERE threads.project_id = thread_metadata_terms.project_id "
        "AND threads.id = thread_metadata_terms.thread_id)"
    )
    op.create_index(
        INDEX, "thread_metadata_terms", ["project_id", "term", "created_at", "thread_id"]
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="thread_metadata_terms")
    op.drop_column("thread_metadata_terms", "created_at")
