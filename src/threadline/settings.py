"""Server configuration. Precedence: CLI flag > ``THREADLINE_*`` environment variable > default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
    db_pool_size: int = Field(10, ge=1, description="PostgreSQL connection pool size.")
    key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a process trusts a checked API key (revocation delay)."
    )
    log_level: str = Field("info", description="uvicorn log level.")

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
