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
    # LangGraph thread state (migration 0004): a mirror of the head checkpoint, plus TTL
    sa.Column("values", json_type(none_as_null=True)),  # threads.c["values"]: .c.values is a method
    sa.Column("interrupts", json_type(none_as_null=True)),
    sa.Column("config", json_type(none_as_null=True)),
    sa.Column("error", json_type(none_as_null=True)),
    sa.Column("state_updated_at", UTCDateTime()),
    sa.Column("expires_at", UTCDateTime()),
    sa.Column("ttl_strategy", sa.String(16)),
    sa.Column("ttl_minutes", sa.Float),
    sa.Column("event_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("platforms", json_type(none_as_null=True)),  # Tyler platform refs (0003)
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
    sa.Index("ix_threads_created", "project_id", "created_at", "id"),
    sa.Index("ix_threads_state_updated", "project_id", "state_updated_at", "id"),
    sa.Index("ix_threads_status", "project_id", "status", "created_at", "id"),
    sa.Index("ix_threads_expires", "expires_at"),
    sa.Index("ix_threads_updated", "project_id", "updated_at", "id"),
    sa.Index("ix_threads_participant", "project_id", "participant_id", "created_at"),
)

# An inverted index of metadata leaves (hashed path + typed value), kept on both databases:
# thread_search answers simple containment filters from it alone, and SQLite's general filters
# narrow to candidate rows with it (PostgreSQL's use its GIN jsonb_path_ops index). One B-tree
# (0011_terms_by_time): a term's holders in creation order, a probe of one thread by its
# creation time and id, and holder counts all read its primary key.
thread_metadata_terms = sa.Table(
    "thread_metadata_terms",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("term", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("created_at", UTCDateTime(), primary_key=True),  # the thread's
    sa.Column("thread_id", ID, primary_key=True),
    sqlite_with_rowid=False,
)

# SQLite: new threads' terms waiting to be merged into thread_metadata_terms in bulk, one row per
# thread (storage/pending_terms.py, migration 0010_pending_terms); stays empty on PostgreSQL.
thread_metadata_pending = sa.Table(
    "thread_metadata_pending",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True),  # SQLite's rowid: rows are appended in order
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("thread_id", ID, nullable=False),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("terms", sa.Text, nullable=False),  # a JSON array of the thread's terms
    sa.Index("ix_thread_metadata_pending_thread", "thread_id"),  # 0012_pending_by_thread
)

# how many threads hold each term: kept exact by triggers on SQLite (0007_term_counts); on
# PostgreSQL folded from thread_metadata_term_deltas (0013_pg_term_counts, term_stats.compact)
thread_metadata_term_counts = sa.Table(
    "thread_metadata_term_counts",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("term", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("threads", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

# PostgreSQL: changes of the per-term counts not yet folded into thread_metadata_term_counts,
# appended by statement triggers (migration 0013_pg_term_counts); stays empty on SQLite.
thread_metadata_term_deltas = sa.Table(
    "thread_metadata_term_deltas",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("term", sa.BigInteger, nullable=False),
    sa.Column("delta", sa.Integer, nullable=False),
    sa.Index("ix_thread_metadata_term_deltas_term", "project_id", "term"),
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
    # Tyler message fields (migration 0003)
    sa.Column("sequence", sa.Integer),
    sa.Column("turn", sa.Integer),
    sa.Column("source", json_type(none_as_null=True)),
    sa.Column("metrics", json_type(none_as_null=True)),
    sa.Column("platforms", json_type(none_as_null=True)),
    # the step's wire object as JSON text, generated by the database from the columns above on
    # every write (migration 0014_step_wire); never written by the application
    sa.Column("wire", sa.Text),
    sa.ForeignKeyConstraint(
        ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
    ),
    sa.Index("ix_steps_thread", "project_id", "thread_id", "start_time"),
    sa.Index("ix_steps_created", "project_id", "created_at", "id"),
    sa.Index("ix_steps_parent", "project_id", "parent_id"),
)

# --- LangGraph thread state (migration 0004_langgraph) -------------------------------------------

CHECKPOINT_ID = sa.String(64)

# One row per checkpoint: the JSON view every surface reads (values, next, tasks, metadata), and
# room for LangGraph's exact serialized checkpoint (type + blob) next to it, for a checkpointer.
checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("thread_id", ID, primary_key=True),
    sa.Column("checkpoint_ns", sa.String(512), primary_key=True),
    sa.Column("checkpoint_id", CHECKPOINT_ID, primary_key=True),
    sa.Column("parent_checkpoint_id", CHECKPOINT_ID),
    sa.Column("values", json_type(none_as_null=True)),
    sa.Column("metadata", json_type(), nullable=False),
    sa.Column("next", json_type(), nullable=False),
    sa.Column("tasks", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("checkpoint_type", sa.String(64)),
    sa.Column("checkpoint_blob", sa.LargeBinary),
    sa.ForeignKeyConstraint(
        ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
    ),
)

# Pending writes of a checkpoint (e.g. the input an ``__input__`` update leaves for ``__start__``):
# a JSON value, and LangGraph's serialized form (type + blob) for a checkpointer.
checkpoint_writes = sa.Table(
    "checkpoint_writes",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("thread_id", ID, primary_key=True),
    sa.Column("checkpoint_ns", sa.String(512), primary_key=True),
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

# A thread's event stream (join_stream): ``seq`` comes from ``threads.event_seq``, incremented in
# the writing transaction, so a thread's events are numbered in commit order. Kept for a window.
thread_events = sa.Table(
    "thread_events",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("thread_id", ID, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event", sa.String(128), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("data", json_type(none_as_null=True)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
    ),
    sa.Index("ix_thread_events_created", "created_at"),
)

# --- Tyler messages (migration 0003): reactions as rows, platform reference indexes --------------

# One row per (step, emoji, user): adding is an idempotent insert, removing a delete, so concurrent
# reactions never overwrite each other.
step_reactions = sa.Table(
    "step_reactions",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("step_id", ID, primary_key=True),
    sa.Column("emoji", sa.String(64), primary_key=True),
    sa.Column("user_id", ID, primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["project_id", "step_id"], ["steps.project_id", "steps.id"], ondelete="CASCADE"
    ),
)

# Reverse lookup of ``platforms`` ({platform: {key: value}}): one row per key/value, plus a row with
# key "" and value "" per platform, so "threads on slack" and "thread with slack thread_ts X" are
# index lookups. Rewritten with every platforms write.
thread_platform_refs = sa.Table(
    "thread_platform_refs",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", ID, primary_key=True),
    sa.Column("thread_id", ID, primary_key=True),
    sa.ForeignKeyConstraint(
        ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
    ),
    sa.Index("ix_thread_platform_refs_thread", "project_id", "thread_id"),
)

step_platform_refs = sa.Table(
    "step_platform_refs",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", ID, primary_key=True),
    sa.Column("step_id", ID, primary_key=True),
    sa.ForeignKeyConstraint(
        ["project_id", "step_id"], ["steps.project_id", "steps.id"], ondelete="CASCADE"
    ),
    sa.Index("ix_step_platform_refs_step", "project_id", "step_id"),
)

# --- Evaluation and prompts (migration 0002_evaluation) ------------------------------------------
# Scores, attachments, datasets, experiments and prompts. Rows that hang off a step or a thread
# cascade with it; dataset items and experiment items *copy* what they were made from, so deleting
# the source never leaves them dangling.

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),  # HUMAN | AI | CODE
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("scorer", sa.Text),
    sa.Column("comment", sa.Text),
    sa.Column("tags", json_type(), nullable=False),
    sa.Column("step_id", ID),  # a step, or a generation (an llm step)
    sa.Column("experiment_item_id", ID),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["project_id", "step_id"], ["steps.project_id", "steps.id"], ondelete="CASCADE"
    ),
    sa.ForeignKeyConstraint(
        ["project_id", "experiment_item_id"],
        ["experiment_items.project_id", "experiment_items.id"],
        ondelete="CASCADE",
    ),
    sa.Index("ix_scores_created", "project_id", "created_at", "id"),
    sa.Index("ix_scores_step", "project_id", "step_id"),
    sa.Index("ix_scores_experiment_item", "project_id", "experiment_item_id"),
)

# The bytes live in the file store under ``object_key`` (always prefixed by the project id); an
# attachment made from a URL has ``url`` and no object key.
attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
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
    sa.ForeignKeyConstraint(
        ["project_id", "thread_id"], ["threads.project_id", "threads.id"], ondelete="CASCADE"
    ),
    sa.ForeignKeyConstraint(
        ["project_id", "step_id"], ["steps.project_id", "steps.id"], ondelete="CASCADE"
    ),
    sa.Index("ix_attachments_thread", "project_id", "thread_id"),
    sa.Index("ix_attachments_step", "project_id", "step_id"),
    sa.Index("ix_attachments_object_key", "project_id", "object_key"),
)

# Outbox of files to delete from the file store: written in the transaction that deletes their
# attachments (directly or by cascade), emptied by the file sweeper after the bytes are gone.
file_deletions = sa.Table(
    "file_deletions",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("object_key", sa.String(1024), primary_key=True),
    sa.Column("queued_at", UTCDateTime(), nullable=False),
)

# Server-wide secrets generated once and shared by every process (e.g. the file-URL signing key).
server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("metadata", json_type(), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),  # key_value | generation
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("project_id", "name", name="uq_datasets_name"),
    sa.Index("ix_datasets_created", "project_id", "created_at", "id"),
)

dataset_items = sa.Table(
    "dataset_items",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("dataset_id", ID, nullable=False),
    sa.Column("input", json_type(none_as_null=True)),
    sa.Column("expected_output", json_type(none_as_null=True)),
    sa.Column("intermediary_steps", json_type(none_as_null=True)),
    sa.Column("metadata", json_type(), nullable=False),
    sa.Column("step_id", ID),  # where it was copied from (kept as a plain reference)
    sa.Column("generation_id", ID),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["project_id", "dataset_id"], ["datasets.project_id", "datasets.id"], ondelete="CASCADE"
    ),
    sa.Index("ix_dataset_items_dataset", "project_id", "dataset_id", "created_at", "id"),
)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("dataset_id", ID),
    sa.Column("prompt_id", ID),  # a prompt version (plain reference)
    sa.Column("params", json_type(none_as_null=True)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["project_id", "dataset_id"], ["datasets.project_id", "datasets.id"], ondelete="CASCADE"
    ),
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
    sa.Index("ix_experiments_created", "project_id", "created_at", "id"),
    sa.Index("ix_experiments_dataset", "project_id", "dataset_id"),
)

experiment_items = sa.Table(
    "experiment_items",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("experiment_id", ID, nullable=False),
    sa.Column("dataset_item_id", ID),  # plain reference: the item survives its dataset item
    sa.Column("experiment_run_id", ID),  # the run step that produced it, if any
    sa.Column("input", json_type(none_as_null=True)),
    sa.Column("output", json_type(none_as_null=True)),
    sa.Column("metadata", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["project_id", "experiment_id"],
        ["experiments.project_id", "experiments.id"],
        ondelete="CASCADE",
    ),
    sa.Index("ix_experiment_items_experiment", "project_id", "experiment_id", "created_at", "id"),
)

prompt_lineages = sa.Table(
    "prompt_lineages",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("project_id", "name", name="uq_prompt_lineages_name"),
)

# ``content_hash`` identifies a version's content (template messages, settings without the
# provider, tools) independently of key order; get-or-create looks it up.
prompt_versions = sa.Table(
    "prompt_versions",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("lineage_id", ID, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),  # chat | completion
    sa.Column("template_messages", json_type(), nullable=False),
    sa.Column("settings", json_type(), nullable=False),
    sa.Column("tools", json_type(none_as_null=True)),
    sa.Column("variables", json_type(none_as_null=True)),
    sa.Column("variables_default_values", json_type(none_as_null=True)),
    sa.Column("description", sa.Text),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["project_id", "lineage_id"],
        ["prompt_lineages.project_id", "prompt_lineages.id"],
        ondelete="CASCADE",
    ),
    sa.UniqueConstraint("project_id", "lineage_id", "version", name="uq_prompt_versions_version"),
    sa.Index("ix_prompt_versions_hash", "project_id", "lineage_id", "content_hash"),
)

# A lineage's A/B rollout: which versions ``get by name`` serves, with what share (sums to 100).
prompt_rollouts = sa.Table(
    "prompt_rollouts",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("lineage_id", ID, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("percentage", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(
        ["project_id", "lineage_id"],
        ["prompt_lineages.project_id", "prompt_lineages.id"],
        ondelete="CASCADE",
    ),
)
