"""Server configuration. Precedence: CLI flag > ``THREADLINE_*`` environment variable > default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

ENV_PREFIX = "THREADLINE_"


class Settings(BaseModel):
    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8787, ge=0, le=65535, description="TCP port.")
    data_dir: Path = Field(
        Path("~/.threadline"), description="Folder for the SQLite database and files."
    )
    database_url: str | None = Field(
        None,
        description="postgresql://user@host/db for PostgreSQL; default: SQLite in the data dir.",
    )
    workers: int = Field(1, ge=1, description="Server processes (use PostgreSQL beyond one).")
    bootstrap_api_key: str | None = Field(
        None, description="Registered for the default project when the database has no keys."
    )
    max_body_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    db_readers: int = Field(4, ge=1, description="SQLite reader threads.")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "NORMAL",
        description="SQLite commit durability. NORMAL: a write is acknowledged once the OS has "
        "it (survives a killed server; a power cut may lose the last commits, never corrupts). "
        "FULL: once on disk (an fsync, ~0.7 ms here, per group commit; ~20% fewer writes/s).",
    )
    db_pool_size: int = Field(20, ge=1, description="PostgreSQL connection pool size.")
    key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a process trusts a checked API key (revocation delay)."
    )
    log_level: str = Field("info", description="uvicorn log level.")
    langgraph_reducers: str | None = Field(
        None,
        description='JSON {"graph_id": {"channel": "add_messages" | "append" | "last"}}; '
        'graph "*" applies to all. Channels not named keep the last value written.',
    )
    ttl_sweep_seconds: float = Field(
        300.0, gt=0, description="How often expired thread TTLs are applied."
    )
    stream_heartbeat_seconds: float = Field(
        5.0, gt=0, description="Seconds between heartbeats on an idle thread event stream."
    )
    event_retention_seconds: float = Field(
        3600.0, gt=0, description="How long thread stream events are kept for resuming."
    )
    llm_url: str | None = Field(
        None, description="OpenAI-compatible chat endpoint for thread titles (none: first message)."
    )
    llm_api_key: str | None = Field(None, description="Bearer key for the title endpoint.")
    llm_model: str = Field("gpt-4.1", description="Model asked for thread titles.")
    # attachments and files (issue 5)
    file_store: Literal["local", "s3"] = Field(
        "local", description="Where attachment bytes live: the data dir's files/ folder, or S3."
    )
    max_file_bytes: int = Field(
        32 * 1024 * 1024, ge=1, description="Largest attachment accepted (413 above)."
    )
    file_url_seconds: int = Field(
        3600, ge=1, description="How long a signed file URL handed out on a read stays valid."
    )
    signing_secret: str | None = Field(
        None,
        description="HMAC key of signed file URLs; default: generated once, kept in the database.",
    )
    public_url: str | None = Field(
        None, description="Base URL put in front of signed file links (default: relative links)."
    )
    file_sweep_seconds: float = Field(
        2.0, gt=0, description="How often files of deleted threads and steps are removed."
    )
    s3_bucket: str | None = Field(None, description="Bucket for file_store=s3.")
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (MinIO, R2, ...); default: AWS."
    )
    s3_region: str | None = Field(None, description="S3 region.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket.")
    s3_access_key_id: str | None = Field(None, description="Default: the AWS credential chain.")
    s3_secret_access_key: str | None = Field(None, description="Default: the AWS credential chain.")

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Defaults, then environment variables, then the given (non-None) overrides."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            env = os.environ.get(ENV_PREFIX + name.upper())
            if env not in (None, ""):
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(self.data_dir.expanduser().resolve() / "threadline.db")

    @property
    def files_dir(self) -> Path:
        return self.data_dir.expanduser().resolve() / "files"
