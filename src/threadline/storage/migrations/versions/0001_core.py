"""Core tables: projects, api_keys, participants, threads, steps.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.storage.columns import UTCDateTime, json_type

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(256)
PROJECT = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", PROJECT, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "project_id",
            PROJECT,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(200)),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime()),
        sa.Column("revoked_at", UTCDateTime()),
    )
    op.create_table(
        "participants",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("identifier", sa.String(512), nullable=False),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("project_id", "identifier", name="uq_participants_identifier"),
    )
    op.create_index("ix_participants_created", "participants", ["project_id", "created_at", "id"])
    op.create_table(
        "threads",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("tags", json_type(), nullable=False),
        sa.Column("participant_id", ID),
        sa.Column("environment", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_threads_created", "threads", ["project_id", "created_at", "id"])
    op.create_index("ix_threads_updated", "threads", ["project_id", "updated_at", "id"])
    op.create_index(
        "ix_threads_participant", "threads", ["project_id", "participant_id", "created_at"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_threads_metadata_gin",
            "threads",
            [sa.text("metadata jsonb_path_ops")],
            postgresql_using="gin",
            # no pending list: bulk-loaded rows would otherwise slow every @> query until vacuum
            postgresql_with={"fastupdate": "off"},
        )
    op.create_table(
        "thread_metadata_terms",
        sa.Column("term", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("thread_id", ID, primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_thread_metadata_terms_thread", "thread_metadata_terms", ["project_id", "thread_id"]
    )
    op.create_table(
        "steps",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("thread_id", ID),
        sa.Column("parent_id", ID),
        sa.Column("root_run_id", ID),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("input", json_type(none_as_null=True)),
        sa.Column("output", json_type(none_as_null=True)),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("tags", json_type(), nullable=False),
        sa.Column("start_time", UTCDateTime()),
        sa.Column("end_time", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("environment", sa.String(100)),
        sa.Column("generation", json_type(none_as_null=True)),
        sa.ForeignKeyConstraint(
            ["project_id", "thread_id"],
            ["threads.project_id", "threads.id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_steps_thread", "steps", ["project_id", "thread_id", "start_time"])
    op.create_index("ix_steps_created", "steps", ["project_id", "created_at", "id"])
    op.create_index("ix_steps_parent", "steps", ["project_id", "parent_id"])


def downgrade() -> None:
    for table in (
        "steps",
        "thread_metadata_terms",
        "threads",
        "participants",
        "api_keys",
        "projects",
    ):
        op.drop_table(table)
