"""Each step keeps its wire object as JSON text, rendered by the database when it is written.

A thread read rendered its steps with ``json_object`` (SQLite) or ``row_to_json`` (PostgreSQL)
on every read: on SQLite that was 270 of the 330 µs that reading a 100-step thread's steps cost
(measured with the standard ``sqlite3`` module, SQLite 3.40), and the thread read's p99 at
concurrency 16 was over 15 ms. ``steps.wire`` is a stored generated column holding the same
text (``steps._STEP_JSON`` renders the same object; tests/test_step_wire.py checks that they
agree), so a read fetches it as it is and the database renders a step once per write: about
1 µs per inserted step on SQLite.

SQLite cannot add a stored generated column to a table, so the table is rebuilt (Alembic's batch
mode); SQLiteDatabase runs migrations with foreign keys off, so that dropping the old table
does not cascade to the steps' scores, reactions, references and attachments. PostgreSQL
requires an immutable generation expression, and ``to_char`` and ``row_to_json`` are only
stable (their output could depend on settings; with these explicit formats it does not), so the
expression calls ``threadline_step_wire``, declared immutable.

``ix_steps_thread`` becomes an index in the order a thread read returns its steps.

Revision ID: 0014_step_wire
Revises: 0013_pg_term_counts, 0003_messages
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_step_wire"
down_revision = ("0013_pg_term_counts", "0003_messages")  # it renders 0003's message columns
branch_labels = None
depends_on = None

_SQLITE_WIRE = """json_object(
    'id', id, 'created_at', replace(created_at, ' ', 'T') || 'Z', 'thread_id', thread_id,
    'parent_id', parent_id, 'root_run_id', root_run_id, 'type', type, 'name', name,
    'input', json(input), 'output', json(output),
    'metadata', json(coalesce(nullif(metadata, 'null'), '{}')),
    'tags', json(coalesce(nullif(tags, 'null'), '[]')),
    'start_time', replace(start_time, ' ', 'T') || 'Z',
    'end_time', replace(end_time, ' ', 'T') || 'Z', 'error', error, 'environment', environment,
    'generation', json(generation), 'sequence', sequence, 'turn', turn, 'source', json(source),
    'metrics', json(metrics), 'platforms', json(platforms))"""

_PG_COLUMNS = (
    "id, created_at, thread_id, parent_id, root_run_id, type, name, input, output, metadata, "
    "tags, start_time, end_time, error, environment, generation, sequence, turn, source, "
    "metrics, platforms"
)

_PG_FUNCTIONS = (
    # orjson's form of a UTC timestamp: no fraction when it is zero
    """
    CREATE FUNCTION threadline_wire_time(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN date_trunc('second', t) = t
            THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            ELSE to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END
    $$
    """,
    """
    CREATE FUNCTION threadline_step_wire(
        id text, created_at timestamptz, thread_id text, parent_id text, root_run_id text,
        type text, name text, input jsonb, output jsonb, metadata jsonb, tags jsonb,
        start_time timestamptz, end_time timestamptz, error text, environment text,
        generation jsonb, sequence integer, turn integer, source jsonb, metrics jsonb,
        platforms jsonb
    ) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE
        rendered text;
    BEGIN
        SELECT CAST(row_to_json(_row) AS TEXT) INTO rendered FROM (SELECT
            id AS "id", threadline_wire_time(created_at) AS "created_at",
            thread_id AS "thread_id", parent_id AS "parent_id", root_run_id AS "root_run_id",
            type AS "type", name AS "name", input AS "input", output AS "output",
            coalesce(nullif(metadata, 'null'::jsonb), '{}'::jsonb) AS "metadata",
            coalesce(nullif(tags, 'null'::jsonb), '[]'::jsonb) AS "tags",
            threadline_wire_time(start_time) AS "start_time",
            threadline_wire_time(end_time) AS "end_time", error AS "error",
            environment AS "environment", generation AS "generation", sequence AS "sequence",
            turn AS "turn", source AS "source", metrics AS "metrics", platforms AS "platforms"
        ) AS _row;
        RETURN rendered;
    END $$
    """,
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("steps", recreate="always") as batch:
            batch.add_column(sa.Column("wire", sa.Text, sa.Computed(_SQLITE_WIRE, persisted=True)))
    else:
        for statement in _PG_FUNCTIONS:
            op.execute(statement)
        op.add_column(
            "steps",
            sa.Column(
                "wire",
                sa.Text,
                sa.Computed(f"threadline_step_wire({_PG_COLUMNS})", persisted=True),
            ),
        )
    # in the thread read's order, which the database then need not sort (SQLite: 90 -> 66 µs
    # for a 100-step thread's steps); it replaces the index by start time alone
    op.drop_index("ix_steps_thread", "steps")
    op.execute(
        "CREATE INDEX ix_steps_thread ON steps"
        " (project_id, thread_id, coalesce(start_time, created_at), created_at, id)"
    )


def downgrade() -> None:
    op.drop_index("ix_steps_thread", "steps")
    op.create_index("ix_steps_thread", "steps", ["project_id", "thread_id", "start_time"])
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("steps", recreate="always") as batch:
            batch.drop_column("wire")
        return
    op.drop_column("steps", "wire")
    op.execute("DROP FUNCTION threadline_step_wire")
    op.execute("DROP FUNCTION threadline_wire_time")
