"""The SQL that differs between SQLite and PostgreSQL besides JSON filters: upserts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert(table: sa.Table, dialect: str) -> Any:
    """An INSERT that supports ``on_conflict_do_update`` / ``on_conflict_do_nothing``."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def upsert(table: sa.Table, dialect: str, key: Iterable[str], update: Iterable[str]) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET each of ``update`` to the inserted value."""
    stmt = insert(table, dialect)
    columns = list(update)
    if not columns:
        return stmt.on_conflict_do_nothing(index_elements=list(key))
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
    )
