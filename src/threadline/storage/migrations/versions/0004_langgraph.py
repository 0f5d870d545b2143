"""LangGraph thread state: state columns and TTL on threads, checkpoints, pending writes, events.

Revision ID: 0004_langgraph
Revises: 0001_core
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.storage.columns import UTCDateTime, json_type

revision = "0004_langgraph"
down_revision = "0001_core"
branch_labels = None
depends_on = None

ID = sa.String(256)
PROJECT = sa.String(64)
CHECKPOINT_ID = sa.String(64)
NS = sa.String(512)


def thread_columns() -> list[sa.Column[object]]:
    """Fresh Column objects each time (a Column can belong to one table only)."""
    return [
        sa.Column("values", json_type(none_as_null=True)),
        sa.Column("interrupts", json_type(none_as_null=True)),
        sa.Column("config", json_type(none_as_null=True)),
        sa.Column("error", json_type(none_as_null=True)),
        sa.Column("state_updated_at", UTCDateTime()),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("ttl_strategy", sa.String(16)),
        sa.Column("ttl_minutes", sa.Float),
        sa.Column("event_seq", sa.BigInteger, nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    for column in thread_columns():
        op.add_column("threads", column)
    op.execute("UPDATE threads SET state_updated_at = updated_at WHERE state_updated_at IS NULL")
    op.create_index("ix_threads_state_updated", "threads", ["project_id", "state_updated_at", "id"])
    op.create_index("ix_threads_status", "threads", ["project_id", "status", "created_at", "id"])
    op.create_index("ix_threads_expires", "threads", ["expires_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_threads_values_gin",
            "threads",
            [sa.text('"values" jsonb_path_ops')],
            postgresql_using="gin",
        )
    thread_fk = sa.ForeignKeyConstraint(
        ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
    )
    op.create_table(
        "checkpoints",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("thread_id", ID, primary_key=True),
        sa.Column("checkpoint_ns", NS, primary_key=True),
        sa.Column("checkpoint_id", CHECKPOINT_ID, primary_key=True),
        sa.Column("parent_checkpoint_id", CHECKPOINT_ID),
        sa.Column("values", json_type(none_as_null=True)),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("next", json_type(), nullable=False),
        sa.Column("tasks", json_type(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("checkpoint_type", sa.String(64)),
        sa.Column("checkpoint_blob", sa.LargeBinary),
        thread_fk,
    )
    op.create_table(
        "checkpoint_writes",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("thread_id", ID, primary_key=True),
        sa.Column("checkpoint_ns", NS, primary_key=True),
        sa.Column("checkpoint_id", CHECKPOINT_ID, primary_key=True),
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("channel", sa.String(256), nullable=False),
        sa.Column("value", json_type(none_as_null=True)),
        sa.Column("value_type", sa.String(64)),
        sa.Column("value_blob", sa.LargeBinary),
        sa.Column("task_path", sa.Text),
        sa.ForeignKeyConstraint(
            ["project_id", "thread_id", "checkpoint_ns", "checkpoint_id"],
            [
                "checkpoints.project_id",
                "checkpoints.thread_id",
                "checkpoints.checkpoint_ns",
                "checkpoints.checkpoint_id",
            ],
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "thread_events",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("thread_id", ID, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("data", json_type(none_as_null=True)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
        ),
    )
    op.create_index("ix_thread_events_created", "thread_events", ["created_at"])


def downgrade() -> None:
    for table in ("thread_events", "checkpoint_writes", "checkpoints"):
        op.drop_table(table)
    for index in ("ix_threads_expires", "ix_threads_status", "ix_threads_state_updated"):
        op.drop_index(index, table_name="threads")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_threads_values_gin", table_name="threads")
    with op.batch_alter_table("threads") as batch:
        for column in reversed(thread_columns()):
            batch.drop_column(column.name)
