"""Table definitions (SQLAlchemy Core). Migrations create them; queries use these objects."""

from __future__ import annotations

import sqlalchemy as sa

from threadline.storage.columns import UTCDateTime, json_type

metadata = sa.MetaData()

ID = sa.String(256)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "project_id",
        sa.String(64),
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

participants = sa.Table(
    "participants",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("identifier", sa.String(512), nullable=False),
    sa.Column("metadata", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("project_id", "identifier", name="uq_participants_identifier"),
    sa.Index("ix_participants_created", "project_id", "created_at", "id"),
)

threads = sa.Table(
    "threads",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
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
    sa.Index("ix_threads_created", "project_id", "created_at", "id"),
    sa.Index("ix_threads_updated", "project_id", "updated_at", "id"),
    sa.Index("ix_threads_participant", "project_id", "participant_id", "created_at"),
)

# SQLite has no GIN index: this inverted index of metadata leaves (hashed path + typed value)
# narrows containment filters to candidate rows; the exact containment test then runs on those.
# On PostgreSQL the table stays empty and a GIN (jsonb_path_ops) index serves instead.
thread_metadata_terms = sa.Table(
    "thread_metadata_terms",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("term", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("thread_id", ID, primary_key=True),
    sa.Index("ix_thread_metadata_terms_thread", "project_id", "thread_id"),
    sqlite_with_rowid=False,
)

steps = sa.Table(
    "steps",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
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
        ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
    ),
    sa.Index("ix_steps_thread", "project_id", "thread_id", "start_time"),
    sa.Index("ix_steps_created", "project_id", "created_at", "id"),
    sa.Index("ix_steps_parent", "project_id", "parent_id"),
)
