"""SQLite: how many threads hold each metadata term, kept by triggers on the term index.

The planner of metadata searches reads the rarest term of a filter from here in one lookup,
and a one-term count is this number (previously: a scan of the term's index range, ~1 ms per
20,000 threads). Triggers keep it exact whatever code path writes the term index. PostgreSQL
answers containment from its GIN index and leaves the table empty.

Revision ID: 0007_term_counts
Revises: 0001_core
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_term_counts"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TRIGGERS = (
    """
    CREATE TRIGGER thread_metadata_terms_counted AFTER INSERT ON thread_metadata_terms
    BEGIN
        INSERT INTO thread_metadata_term_counts (project_id, term, threads)
        VALUES (NEW.project_id, NEW.term, 1)
        ON CONFLICT (project_id, term) DO UPDATE SET threads = threads + 1;
    END
    """,
    """
    CREATE TRIGGER thread_metadata_terms_uncounted AFTER DELETE ON thread_metadata_terms
    BEGIN
        UPDATE thread_metadata_term_counts SET threads = threads - 1
        WHERE project_id = OLD.project_id AND term = OLD.term;
    END
    """,
)


def upgrade() -> None:
    op.create_table(
        "thread_metadata_term_counts",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("term", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "INSERT INTO thread_metadata_term_counts (project_id, term, threads) "
        "SELECT project_id, term, count(*) FROM thread_metadata_terms GROUP BY project_id, term"
    )
    for trigger in TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS thread_metadata_terms_counted")
        op.execute("DROP TRIGGER IF EXISTS thread_metadata_terms_uncounted")
    op.drop_table("thread_metadata_term_counts")
