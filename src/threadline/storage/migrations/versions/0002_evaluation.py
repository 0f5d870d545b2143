"""Evaluation and prompts: scores, attachments (and the file-deletion outbox), server secrets,
datasets and their items, experiments and their items, prompt lineages, versions and rollouts.

Revision ID: 0002_evaluation
Revises: 0001_core
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.storage.columns import UTCDateTime, json_type

revision = "0002_evaluation"
down_revision = "0001_core"
branch_labels = None
depends_on = None

ID = sa.String(256)
PROJECT = sa.String(64)


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("id", ID, primary_key=True),
    ]


def _cascade(columns: list[str], table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id", *columns], [f"{table}.project_id", f"{table}.id"], ondelete="CASCADE"
    )


def _project() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "datasets",
        *_key(),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _project(),
        sa.UniqueConstraint("project_id", "name", name="uq_datasets_name"),
    )
    op.create_index("ix_datasets_created", "datasets", ["project_id", "created_at", "id"])
    op.create_table(
        "dataset_items",
        *_key(),
        sa.Column("dataset_id", ID, nullable=False),
        sa.Column("input", json_type(none_as_null=True)),
        sa.Column("expected_output", json_type(none_as_null=True)),
        sa.Column("intermediary_steps", json_type(none_as_null=True)),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("step_id", ID),
        sa.Column("generation_id", ID),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _cascade(["dataset_id"], "datasets"),
    )
    op.create_index(
        "ix_dataset_items_dataset",
        "dataset_items",
        ["project_id", "dataset_id", "created_at", "id"],
    )
    op.create_table(
        "experiments",
        *_key(),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("dataset_id", ID),
        sa.Column("prompt_id", ID),
        sa.Column("params", json_type(none_as_null=True)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _cascade(["dataset_id"], "datasets"),
        _project(),
    )
    op.create_index("ix_experiments_created", "experiments", ["project_id", "created_at", "id"])
    op.create_index("ix_experiments_dataset", "experiments", ["project_id", "dataset_id"])
    op.create_table(
        "experiment_items",
        *_key(),
        sa.Column("experiment_id", ID, nullable=False),
        sa.Column("dataset_item_id", ID),
        sa.Column("experiment_run_id", ID),
        sa.Column("input", json_type(none_as_null=True)),
        sa.Column("output", json_type(none_as_null=True)),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _cascade(["experiment_id"], "experiments"),
    )
    op.create_index(
        "ix_experiment_items_experiment",
        "experiment_items",
        ["project_id", "experiment_id", "created_at", "id"],
    )
    op.create_table(
        "scores",
        *_key(),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("scorer", sa.Text),
        sa.Column("comment", sa.Text),
        sa.Column("tags", json_type(), nullable=False),
        sa.Column("step_id", ID),
        sa.Column("experiment_item_id", ID),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _cascade(["step_id"], "steps"),
        _cascade(["experiment_item_id"], "experiment_items"),
    )
    op.create_index("ix_scores_created", "scores", ["project_id", "created_at", "id"])
    op.create_index("ix_scores_step", "scores", ["project_id", "step_id"])
    op.create_index("ix_scores_experiment_item", "scores", ["project_id", "experiment_item_id"])
    op.create_table(
        "attachments",
        *_key(),
        sa.Column("thread_id", ID),
        sa.Column("step_id", ID),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("mime", sa.String(255)),
        sa.Column("size", sa.BigInteger),
        sa.Column("object_key", sa.String(1024)),
        sa.Column("url", sa.Text),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _cascade(["thread_id"], "threads"),
        _cascade(["step_id"], "steps"),
    )
    op.create_index("ix_attachments_thread", "attachments", ["project_id", "thread_id"])
    op.create_index("ix_attachments_step", "attachments", ["project_id", "step_id"])
    op.create_index("ix_attachments_object_key", "attachments", ["project_id", "object_key"])
    op.create_table(
        "file_deletions",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("object_key", sa.String(1024), primary_key=True),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "prompt_lineages",
        *_key(),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _project(),
        sa.UniqueConstraint("project_id", "name", name="uq_prompt_lineages_name"),
    )
    op.create_table(
        "prompt_versions",
        *_key(),
        sa.Column("lineage_id", ID, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("template_messages", json_type(), nullable=False),
        sa.Column("settings", json_type(), nullable=False),
        sa.Column("tools", json_type(none_as_null=True)),
        sa.Column("variables", json_type(none_as_null=True)),
        sa.Column("variables_default_values", json_type(none_as_null=True)),
        sa.Column("description", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _cascade(["lineage_id"], "prompt_lineages"),
        sa.UniqueConstraint(
            "project_id", "lineage_id", "version", name="uq_prompt_versions_version"
        ),
    )
    op.create_index(
        "ix_prompt_versions_hash", "prompt_versions", ["project_id", "lineage_id", "content_hash"]
    )
    op.create_table(
        "prompt_rollouts",
        sa.Column("project_id", PROJECT, primary_key=True),
        sa.Column("lineage_id", ID, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("percentage", sa.Integer, nullable=False),
        _cascade(["lineage_id"], "prompt_lineages"),
    )


def downgrade() -> None:
    for table in (
        "prompt_rollouts",
        "prompt_versions",
        "prompt_lineages",
        "server_secrets",
        "file_deletions",
        "attachments",
        "scores",
        "experiment_items",
        "experiments",
        "dataset_items",
        "datasets",
    ):
        op.drop_table(table)
