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

An index in the thread read's order (``coalesce(start_time, created_at), created_at, id``)
would spare the read its sort (SQLite: 79 -> 64 µs for a 100-step thread's steps), but its
wider entries cost batch ingest ~10% more CPU per 1,000 steps (68-70 vs 60-66 ms, A/B), so
``ix_steps_thread`` stays as it was.

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


def _pg_time(t: str) -> str:
    """orjson's form of a UTC timestamp: no fraction when it is zero."""
    return (
        f"CASE WHEN date_trunc('second', {t}) = {t}"
        f" THEN to_char({t} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        f" ELSE to_char({t} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END"
    )


# One simple expression (row_to_json of a row of a named type, for the keys): PL/pgSQL evaluates
# it without running a query; the same rendering as a SELECT ... INTO cost 14 µs per inserted
# step, and halved batch ingest.
_PG_FUNCTIONS = (
    """
    CREATE TYPE threadline_step_wire_row AS (
        id text, created_at text, thread_id text, parent_id text, root_run_id text, type text,
        name text, input jsonb, output jsonb, metadata jsonb, tags jsonb, start_time text,
        end_time text, error text, environment text, generation jsonb, sequence integer,
        turn integer, source jsonb, metrics jsonb, platforms jsonb
    )
    """,
    f"""
    CREATE FUNCTION threadline_step_wire(
        id text, created_at timestamptz, thread_id text, parent_id text, root_run_id text,
        type text, name text, input jsonb, output jsonb, metadata jsonb, tags jsonb,
        start_time timestamptz, end_time timestamptz, error text, environment text,
        generation jsonb, sequence integer, turn integer, source jsonb, metrics jsonb,
        platforms jsonb
    ) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    BEGIN
        RETURN CAST(row_to_json(ROW(
            id, {_pg_time("created_at")}, thread_id, parent_id, root_run_id, type, name,
            input, output, coalesce(nullif(metadata, 'null'::jsonb), '{{}}'::jsonb),
            coalesce(nullif(tags, 'null'::jsonb), '[]'::jsonb),
            {_pg_time("start_time")}, {_pg_time("end_time")}, error, environment,
            generation, sequence, turn, source, metrics, platforms
        )::threadline_step_wire_row) AS text);
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


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("steps", recreate="always") as batch:
            batch.drop_column("wire")
        return
    op.drop_column("steps", "wire")
    op.execute("DROP FUNCTION threadline_step_wire")
    op.execute("DROP TYPE threadline_step_wire_row")
