"""PostgreSQL counts the holders of each metadata term too, without a hot row per term.

A one-term count (``POST /threads/count`` by a broad value, a list's ``totalCount``) counted the
term's range of the index: 9 ms of the database's CPU for a value held by 20,000 threads here,
growing with the number of holders. SQLite keeps a count per term with triggers (0007), but
on PostgreSQL a counter row per term would make every create of a thread with a common value
wait for the one before it to commit. Instead, statement-level triggers append the change of
each statement (one row per term it touched) to ``thread_metadata_term_deltas``, which
concurrent writers do without waiting on each other, and ``term_stats.compact`` folds the
deltas into ``thread_metadata_term_counts`` every second (a write of its own, one process at a
time). A count is the folded number plus the deltas not yet folded, read in one statement.
SQLite gets the table too (the schema is the same on both databases) but never writes to it.

Revision ID: 0013_pg_term_counts
Revises: 0012_pending_by_thread
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_pg_term_counts"
down_revision = "0012_pending_by_thread"
branch_labels = None
depends_on = None

_FUNCTIONS = (
    """
    CREATE FUNCTION threadline_terms_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO thread_metadata_term_deltas (project_id, term, delta)
        SELECT project_id, term, count(*) FROM threadline_added GROUP BY project_id, term;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION threadline_terms_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO thread_metadata_term_deltas (project_id, term, delta)
        SELECT project_id, term, -count(*) FROM threadline_removed GROUP BY project_id, term;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER thread_metadata_terms_added AFTER INSERT ON thread_metadata_terms
    REFERENCING NEW TABLE AS threadline_added
    FOR EACH STATEMENT EXECUTE FUNCTION threadline_terms_added()
    """,
    """
    CREATE TRIGGER thread_metadata_terms_removed AFTER DELETE ON thread_metadata_terms
    REFERENCING OLD TABLE AS threadline_removed
    FOR EACH STATEMENT EXECUTE FUNCTION threadline_terms_removed()
    """,
)


def upgrade() -> None:
    op.create_table(
        "thread_metadata_term_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("term", sa.BigInteger, nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_thread_metadata_term_deltas_term",
        "thread_metadata_term_deltas",
        ["project_id", "term"],
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "INSERT INTO thread_metadata_term_counts (project_id, term, threads) "
        "SELECT project_id, term, count(*) FROM thread_metadata_terms GROUP BY project_id, term"
    )
    for statement in _FUNCTIONS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS thread_metadata_terms_added ON thread_metadata_terms")
        op.execute("DROP TRIGGER IF EXISTS thread_metadata_terms_removed ON thread_metadata_terms")
        op.execute("DROP FUNCTION IF EXISTS threadline_terms_added()")
        op.execute("DROP FUNCTION IF EXISTS threadline_terms_removed()")
        op.execute("DELETE FROM thread_metadata_term_counts")
    op.drop_index("ix_thread_metadata_term_deltas_term", "thread_metadata_term_deltas")
    op.drop_table("thread_metadata_term_deltas")
