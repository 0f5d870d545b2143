"""How many threads hold each metadata term: what the planners of metadata searches read.

SQLite keeps the number per (project, term) with triggers (migration 0007_term_counts), so it
is one lookup; PostgreSQL counts the term index (index-only), capped when only an estimate is
needed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.storage import raw
from threadline.storage.schema import thread_metadata_term_counts as term_counts
from threadline.storage.schema import thread_metadata_terms as terms_table

_COUNT_ONE = (
    sa.select(sa.func.count())
    .select_from(terms_table)
    .where(
        terms_table.c.project_id == sa.bindparam("project_id"),
        terms_table.c.term == sa.bindparam("term"),
    )
)


_HOLDERS = sa.select(term_counts.c.threads).where(
    term_counts.c.project_id == sa.bindparam("project_id"),
    term_counts.c.term == sa.bindparam("term"),
)
_HOLDERS_CAPPED = sa.select(sa.func.count()).select_from(
    sa.select(sa.literal_column("1").label("one"))
    .where(
        terms_table.c.project_id == sa.bindparam("project_id"),
        terms_table.c.term == sa.bindparam("term"),
    )
    .limit(sa.bindparam("cap"))
    .subquery()
)


def holders(conn: Connection, project_id: str, term: int, cap: int | None = None) -> int:
    """How many threads hold ``term``: exact on SQLite (triggers keep the number); on PostgreSQL
    counted from the term index, at most ``cap`` (exact when below it)."""
    params: dict[str, Any] = {"project_id": project_id, "term": term}
    if conn.dialect.name == "sqlite":
        found = raw.fetchall(conn, _HOLDERS, params)
        return int(found[0][0]) if found else 0
    if cap is None:
        return int(raw.fetchall(conn, _COUNT_ONE, params)[0][0])
    params["cap"] = cap
    return int(raw.fetchall(conn, _HOLDERS_CAPPED, params)[0][0])


def rarest(
    conn: Connection, project_id: str, terms: list[int], cap: int | None = None
) -> tuple[int, int]:
    """The term held by fewest threads, and how many hold it (capped as in :func:`holders`)."""
    best = (terms[0], -1)
    for term in terms:
        held = holders(conn, project_id, term, cap)
        if best[1] < 0 or held < best[1]:
            best = (term, held)
        if held == 0:
            break
    return best
