"""SQLite's pending list of metadata terms gets an index by thread.

A metadata change or a delete of a thread looks for the thread's pending row (to rewrite or drop
it) before it touches the term index. Without an index that was a scan of the whole list, up to
1,024 rows, on every update of every thread, pending or not: at ~950 pending rows it was a
quarter of a LangGraph ``PATCH /threads/{id}``'s server time (0.54 ms per request; 0.40 with
the index). The index costs a thread create one insert into a B-tree of at most a few dozen
pages, emptied with the list at each merge.

Revision ID: 0012_pending_by_thread
Revises: 0011_terms_by_time
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012_pending_by_thread"
down_revision = "0011_terms_by_time"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_thread_metadata_pending_thread", "thread_metadata_pending", ["thread_id"])


def downgrade() -> None:
    op.drop_index("ix_thread_metadata_pending_thread", "thread_metadata_pending")
