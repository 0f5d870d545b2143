"""Tyler-style messages: sequence, turn, source, metrics and platforms on steps; platforms on
threads; reactions as rows; reverse-lookup indexes of platform references.

Revision ID: 0003_messages
Revises: 0001_core
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.storage.columns import UTCDateTime, json_type

revision = "0003_messages"
down_revision = "0001_core"
branch_labels = None
depends_on = None

ID = sa.String(256)
PROJECT = sa.String(64)
NAME = sa.String(64)


def upgrade() -> None:
    op.add_column("steps", sa.Column("sequence", sa.Integer))
    op.add_column("steps", sa.Column("turn", sa.Integer))
    op.add_column("steps", sa.Column("source", json_type(none_as_null=True)))
    op.add_column("steps", sa.Column("metrics", json_type(none_as_null=True)))
    op.add_column("steps", sa.Column("platforms", json_type(none_as_null=True)))
    op.add_column("threads", sa.Column("platforms", json_type(none_as_null=True)))
    op.create_table(
        "step_reactions",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("step_id", ID, primary_key=True),
        sa.Column("emoji", NAME, primary_key=True),
        sa.Column("user_id", ID, primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id", "step_id"], ["steps.project_id", "steps.id"], ondelete="CASCADE"
        ),
    )
    op.create_table(
        "thread_platform_refs",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("platform", NAME, primary_key=True),
        sa.Column("key", NAME, primary_key=True),
        sa.Column("value", ID, primary_key=True),
        sa.Column("thread_id", ID, primary_key=True),
        sa.ForeignKeyConstraint(
            ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_thread_platform_refs_thread", "thread_platform_refs", ["project_id", "thread_id"]
    )
    op.create_table(
        "step_platform_refs",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("platform", NAME, primary_key=True),
        sa.Column("key", NAME, primary_key=True),
        sa.Column("value", ID, primary_key=True),
        sa.Column("step_id", ID, primary_key=True),
        sa.ForeignKeyConstraint(
            ["project_id", "step_id"], ["steps.project_id", "steps.id"], ondelete="CASCADE"
        ),
    )
    op.create_index("ix_step_platform_refs_step", "step_platform_refs", ["project_id", "step_id"])


def downgrade() -> None:
    for table in ("step_platform_refs", "thread_platform_refs", "step_reactions"):
        op.drop_table(table)
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("platforms")
    with op.batch_alter_table("steps") as batch:
        for column in ("platforms", "metrics", "source", "turn", "sequence"):
            batch.drop_column(column)
